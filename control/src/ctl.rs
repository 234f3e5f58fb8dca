//! The control socket: a Unix stream socket on which each line is one command; the reply
//! text follows, then the server closes the connection after the last line. Commands run on
//! the control core like those typed at the prompt. `fastpath-ctl` is the client.

use crate::commands::Reply;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Sender};

/// A command for the control core and where to send its reply.
pub struct Request {
    pub line: String,
    pub reply: Sender<Reply>,
}

/// Sends one line to the control core and waits for its reply (None if it has exited).
pub fn ask(tx: &Sender<Request>, line: &str) -> Option<Reply> {
    let (rtx, rrx) = mpsc::channel();
    tx.send(Request {
        line: line.to_owned(),
        reply: rtx,
    })
    .ok()?;
    rrx.recv().ok()
}

/// Binds the socket, refusing to steal it from a live instance; removes a stale one.
pub fn bind(path: &Path) -> Result<UnixListener, String> {
    if path.exists() {
        if UnixStream::connect(path).is_ok() {
            return Err(format!(
                "control socket {}: another fastpath is running on it (use --ctl-socket PATH)",
                path.display()
            ));
        }
        let _ = std::fs::remove_file(path);
    }
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    UnixListener::bind(path).map_err(|e| format!("control socket {}: {e}", path.display()))
}

/// Serves connections until the control core goes away. Runs on its own thread.
pub fn serve(listener: UnixListener, tx: Sender<Request>) {
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        let tx = tx.clone();
        std::thread::spawn(move || handle(conn, &tx));
    }
}

fn handle(conn: UnixStream, tx: &Sender<Request>) {
    let Ok(mut w) = conn.try_clone() else { return };
    for line in BufReader::new(conn).lines() {
        let Ok(line) = line else { return };
        let Some(reply) = ask(tx, &line) else { return };
        if w.write_all(reply.text.as_bytes()).is_err() || reply.quit {
            return;
        }
    }
}

/// Removes the socket file when dropped.
pub struct SocketGuard(pub PathBuf);

impl Drop for SocketGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
