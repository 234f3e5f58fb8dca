//! The interactive `fastpath>` prompt (line editing and history by rustyline). Runs on its
//! own thread and hands each line to the control core.

use crate::ctl::{ask, Request};
use rustyline::error::ReadlineError;
use std::sync::mpsc::Sender;

pub fn run(tx: Sender<Request>) {
    let mut rl = match rustyline::DefaultEditor::new() {
        Ok(rl) => rl,
        Err(e) => {
            eprintln!("error: cannot start the prompt: {e}");
            let _ = ask(&tx, "quit");
            return;
        }
    };
    loop {
        let line = match rl.readline("fastpath> ") {
            Ok(l) => l,
            Err(ReadlineError::Interrupted | ReadlineError::Eof) => "quit".to_owned(),
            Err(e) => {
                eprintln!("error: {e}");
                "quit".to_owned()
            }
        };
        if !line.trim().is_empty() {
            let _ = rl.add_history_entry(line.as_str());
        }
        match ask(&tx, &line) {
            Some(r) => {
                print!("{}", r.text);
                if r.quit {
                    return;
                }
            }
            None => return,
        }
    }
}
