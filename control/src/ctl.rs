//! The control socket: a Unix stream socket on which each line is one command; the reply
//! text follows, and the server closes the connection once the client has closed its
//! side and the last reply is out. Commands run on the control core like those typed at
//! the prompt. `fastpath-ctl` is the client.
//!
//! Bounded, so that no client can pin memory or lock the others out: a long reply (`route
//! show` of a full table is tens of MB) is produced a piece at a time as the client reads
//! it (each piece is asked of the control core again, as a netlink dump is); a client that
//! reads nothing for [`WRITE_TIMEOUT`] is dropped; a command line is at most [`LINE_MAX`]
//! bytes; at most [`MAX_CLIENTS`] connections are served at once, and when all are taken
//! one makes room for the newcomer: the one waiting longest for a command, else one whose
//! reader has taken nothing for a second.

use crate::metrics::Family;
use crate::reply::{Cursor, Reply};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest command line, in bytes.
pub const LINE_MAX: usize = 64 << 10;
/// Connections served at once.
pub const MAX_CLIENTS: usize = 16;
/// A client that accepts no byte of its reply for this long is dropped.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// A client that sends no command for this long is dropped.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// What a client asks the control core.
pub enum Command {
    /// A command line.
    Line(String),
    /// The next piece of a long reply.
    Resume(Cursor),
    /// Every metric family, sent on the channel given (not as a [`Reply`]): for the
    /// Prometheus endpoint and DPDK telemetry.
    Metrics(Sender<Vec<Family>>),
}

/// A command for the control core and where to send its reply.
pub struct Request {
    pub cmd: Command,
    pub reply: Sender<Reply>,
}

/// Sends one request to the control core and waits for its reply (None if it has exited).
fn ask_once(tx: &Sender<Request>, cmd: Command) -> Option<Reply> {
    let (rtx, rrx) = mpsc::channel();
    tx.send(Request { cmd, reply: rtx }).ok()?;
    rrx.recv().ok()
}

/// Asks the control core for its metrics; None if it has exited or takes longer than
/// `timeout`.
pub fn ask_metrics(tx: &Sender<Request>, timeout: Duration) -> Option<Vec<Family>> {
    let (mtx, mrx) = mpsc::channel();
    let (rtx, _) = mpsc::channel();
    tx.send(Request {
        cmd: Command::Metrics(mtx),
        reply: rtx,
    })
    .ok()?;
    mrx.recv_timeout(timeout).ok()
}

/// Runs `line` on the control core and hands each piece of the reply to `sink`, which
/// returns false to stop (the reader has gone, or the user interrupted the listing).
/// Returns whether the command was `quit`, or None if the control core has exited.
pub fn ask(tx: &Sender<Request>, line: &str, mut sink: impl FnMut(&str) -> bool) -> Option<bool> {
    let mut reply = ask_once(tx, Command::Line(line.to_owned()))?;
    loop {
        match reply {
            Reply::Done { text, quit } => {
                sink(&text);
                return Some(quit);
            }
            Reply::Part { text, cursor } => {
                if !sink(&text) {
                    return Some(false);
                }
                reply = ask_once(tx, Command::Resume(cursor))?;
            }
        }
    }
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

/// A client that made no progress for this long may be dropped to make room.
const STALLED: Duration = Duration::from_secs(1);

/// A served connection, as the acceptor sees it.
struct Client {
    id: u64,
    /// To shut it down when it must make room.
    conn: UnixStream,
    /// When it last made progress: a command read, or a piece of a reply taken.
    progress: Instant,
    /// Waiting for its next command (not running one).
    waiting: bool,
}

type Clients = Arc<Mutex<Vec<Client>>>;

/// Serves connections until the control core goes away. Runs on its own thread; each
/// connection gets a thread of its own, at most [`MAX_CLIENTS`] at once.
pub fn serve(listener: UnixListener, tx: Sender<Request>) {
    let clients: Clients = Arc::default();
    for (id, conn) in (0u64..).zip(listener.incoming()) {
        let Ok(mut conn) = conn else { continue };
        let Ok(handle) = conn.try_clone() else {
            continue;
        };
        {
            let Ok(mut list) = clients.lock() else { return };
            if list.len() >= MAX_CLIENTS {
                // Make room (see the module doc); if every client is making progress with
                // a command, the newcomer is told to come back.
                let waiting = list.iter().filter(|c| c.waiting).min_by_key(|c| c.progress);
                let stalled = || {
                    list.iter()
                        .min_by_key(|c| c.progress)
                        .filter(|c| c.progress.elapsed() >= STALLED)
                };
                match waiting.or_else(stalled) {
                    Some(old) => {
                        let _ = old.conn.shutdown(std::net::Shutdown::Both);
                        let old = old.id;
                        list.retain(|c| c.id != old);
                    }
                    None => {
                        let _ = conn.write_all(
                            format!(
                                "error: {MAX_CLIENTS} control connections are busy; try again\n"
                            )
                            .as_bytes(),
                        );
                        continue;
                    }
                }
            }
            list.push(Client {
                id,
                conn: handle,
                progress: Instant::now(),
                waiting: true,
            });
        }
        let (tx, mine) = (tx.clone(), clients.clone());
        let spawned = std::thread::Builder::new()
            .name("ctl-client".into())
            .spawn(move || {
                handle_client(conn, &tx, &mine, id);
                if let Ok(mut list) = mine.lock() {
                    list.retain(|c| c.id != id);
                }
            });
        if spawned.is_err() {
            if let Ok(mut list) = clients.lock() {
                list.retain(|c| c.id != id);
            }
        }
    }
}

fn progress(clients: &Clients, id: u64, waiting: bool) {
    if let Ok(mut list) = clients.lock() {
        if let Some(c) = list.iter_mut().find(|c| c.id == id) {
            c.progress = Instant::now();
            c.waiting = waiting;
        }
    }
}

fn handle_client(conn: UnixStream, tx: &Sender<Request>, clients: &Clients, id: u64) {
    let Ok(mut w) = conn.try_clone() else { return };
    if w.set_write_timeout(Some(WRITE_TIMEOUT)).is_err()
        || conn.set_read_timeout(Some(IDLE_TIMEOUT)).is_err()
    {
        return;
    }
    let mut lines = Lines::new(BufReader::new(conn));
    loop {
        let line = match lines.next_line() {
            Ok(Some(l)) => l,
            Ok(None) | Err(_) => return,
        };
        progress(clients, id, false);
        let mut gone = false;
        let go_on = match line {
            Ok(text) => {
                let quit = ask(tx, &text, |piece| {
                    gone = w.write_all(piece.as_bytes()).is_err();
                    progress(clients, id, false);
                    !gone
                });
                quit == Some(false) && !gone
            }
            Err(e) => w.write_all(format!("error: {e}\n").as_bytes()).is_ok(),
        };
        if !go_on {
            return;
        }
        progress(clients, id, true);
    }
}

/// Command lines of a connection, each at most [`LINE_MAX`] bytes of UTF-8.
struct Lines<R> {
    r: R,
    buf: Vec<u8>,
    /// The rest of a refused line is being skipped, up to its newline.
    skipping: bool,
}

impl<R: BufRead> Lines<R> {
    fn new(r: R) -> Self {
        Lines {
            r,
            buf: Vec::new(),
            skipping: false,
        }
    }

    /// The next command line. `Ok(None)` at the end of input; `Ok(Some(Err(why)))` for
    /// a line that is too long or not UTF-8, said as soon as that is known (a client
    /// that sends 10 MB without a newline, or binary bytes, and waits, is told at once),
    /// the rest of that line being skipped before the next one is read.
    fn next_line(&mut self) -> std::io::Result<Option<Result<String, String>>> {
        self.buf.clear();
        // How much of `buf` is known to be valid UTF-8.
        let mut valid = 0;
        loop {
            let chunk = self.r.fill_buf()?;
            if chunk.is_empty() {
                self.skipping = false;
                if self.buf.is_empty() {
                    return Ok(None);
                }
                break;
            }
            let newline = chunk.iter().position(|&b| b == b'\n');
            let take = newline.unwrap_or(chunk.len());
            if !self.skipping {
                self.buf.extend_from_slice(&chunk[..take]);
            }
            self.r.consume(take + usize::from(newline.is_some()));
            if self.skipping {
                self.skipping = newline.is_none();
                continue;
            }
            if newline.is_some() {
                break;
            }
            if self.buf.len() > LINE_MAX {
                self.skipping = true;
                return Ok(Some(Err(too_long())));
            }
            match std::str::from_utf8(&self.buf[valid..]) {
                Ok(_) => valid = self.buf.len(),
                // A character cut by the end of what has arrived: wait for the rest.
                Err(e) if e.error_len().is_none() => valid += e.valid_up_to(),
                Err(e) => {
                    self.skipping = true;
                    return Ok(Some(Err(not_utf8(&self.buf, valid + e.valid_up_to()))));
                }
            }
        }
        if self.buf.len() > LINE_MAX {
            return Ok(Some(Err(too_long())));
        }
        Ok(Some(match std::str::from_utf8(&self.buf) {
            Ok(s) => Ok(s.to_owned()),
            Err(e) => Err(not_utf8(&self.buf, e.valid_up_to())),
        }))
    }
}

fn too_long() -> String {
    format!("command line longer than {LINE_MAX} bytes (the longest the control socket takes)")
}

fn not_utf8(line: &[u8], at: usize) -> String {
    format!(
        "the command is not valid UTF-8 (byte {} of the line is {:#04x})",
        at + 1,
        line[at]
    )
}

/// Removes the socket file when dropped.
pub struct SocketGuard(pub PathBuf);

impl Drop for SocketGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn lines(input: &[u8]) -> Vec<Result<String, String>> {
        let mut l = Lines::new(BufReader::new(input));
        std::iter::from_fn(|| l.next_line().unwrap()).collect()
    }

    /// A reader that hands out `parts` one `fill_buf` at a time, then blocks: what a
    /// client that sends and waits looks like.
    struct Trickle(Vec<Vec<u8>>);

    impl Read for Trickle {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            unreachable!("read through BufRead")
        }
    }

    impl BufRead for Trickle {
        fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
            match self.0.first() {
                Some(_) => Ok(&self.0[0]),
                None => Err(std::io::ErrorKind::WouldBlock.into()),
            }
        }
        fn consume(&mut self, n: usize) {
            self.0[0].drain(..n);
            if self.0[0].is_empty() {
                self.0.remove(0);
            }
        }
    }

    #[test]
    fn bad_lines_are_told_before_their_newline() {
        // Binary bytes and no newline: the error comes without waiting for one.
        let mut l = Lines::new(Trickle(vec![b"\x00\x01\xfe\xff".to_vec()]));
        assert_eq!(
            l.next_line().unwrap(),
            Some(Err(
                "the command is not valid UTF-8 (byte 3 of the line is 0xfe)".into()
            ))
        );
        // Likewise a line over LINE_MAX; the rest of it, when it comes, is skipped.
        let big = vec![b'x'; 8192];
        let mut parts = vec![big; LINE_MAX / 8192 + 1];
        parts.push(b"xx\nhelp\n".to_vec());
        let mut l = Lines::new(Trickle(parts));
        assert_eq!(l.next_line().unwrap(), Some(Err(too_long())));
        assert_eq!(l.next_line().unwrap(), Some(Ok("help".into())));
        assert!(l.next_line().is_err(), "then it waits for more");
        // A character cut between two reads is not an error.
        let mut l = Lines::new(Trickle(vec![b"show \xc3".to_vec(), b"\xa9\n".to_vec()]));
        assert_eq!(l.next_line().unwrap(), Some(Ok("show \u{e9}".into())));
    }

    #[test]
    fn lines_are_bounded_and_checked() {
        let mut input = b"help\nshow \xff\xfe x\n".to_vec();
        input.extend(std::iter::repeat_n(b'a', 3 * LINE_MAX));
        input.extend(b"\nquit");
        let got = lines(&input);
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(got[0], Ok("help".into()));
        assert_eq!(
            got[1],
            Err("the command is not valid UTF-8 (byte 6 of the line is 0xff)".into())
        );
        assert_eq!(got[2], Err(too_long()));
        assert_eq!(
            got[3],
            Ok("quit".into()),
            "the line after a long one is read whole"
        );
    }
}
