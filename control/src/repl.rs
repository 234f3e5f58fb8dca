//! The interactive `fastpath>` prompt (line editing and history by rustyline). Runs on its
//! own thread and hands each line to the control core.
//!
//! As at testpmd's prompt, Ctrl-C never stops the router: at the prompt it clears the
//! line, and during a long listing (SIGINT, which the control core turns into the
//! `interrupt` flag) it stops the listing. `quit`, Ctrl-D or SIGTERM stop the router.
//! TAB completes the command words and port names ([`crate::complete`]), listing the
//! choices when there are several.

use crate::complete::Words;
use crate::ctl::{ask, Request};
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{CompletionType, Config, Editor};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;

/// Runs the prompt; `ports` are the interface names, for completion.
pub fn run(tx: Sender<Request>, interrupt: Arc<AtomicBool>, ports: Vec<String>) {
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .build();
    let mut rl = match Editor::<Words, DefaultHistory>::with_config(config) {
        Ok(mut rl) => {
            rl.set_helper(Some(Words { ports }));
            rl
        }
        Err(e) => {
            eprintln!("error: cannot start the prompt: {e}");
            let _ = ask(&tx, "quit", |_| true);
            return;
        }
    };
    loop {
        let line = match rl.readline("fastpath> ") {
            Ok(l) => l,
            // Ctrl-C: the line is dropped; a fresh prompt follows.
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => "quit".to_owned(),
            Err(e) => {
                eprintln!("error: {e}");
                "quit".to_owned()
            }
        };
        if !line.trim().is_empty() {
            let _ = rl.add_history_entry(line.as_str());
        }
        interrupt.store(false, Ordering::Relaxed);
        let mut stdout = std::io::stdout().lock();
        let quit = ask(&tx, &line, |text| {
            if interrupt.swap(false, Ordering::Relaxed) {
                let _ = writeln!(stdout, "\n^C: listing interrupted");
                return false;
            }
            stdout.write_all(text.as_bytes()).is_ok()
        });
        let _ = stdout.flush();
        drop(stdout);
        match quit {
            Some(false) => {}
            Some(true) | None => return,
        }
    }
}
