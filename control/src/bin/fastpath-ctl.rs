//! `fastpath-ctl`: sends commands to a running fastpath over its control socket.
//!
//!     fastpath-ctl [--socket PATH] show port stats all
//!     echo "show fwd stats" | fastpath-ctl --socket /tmp/fp.sock
//!
//! The reply is copied to stdout as it arrives. Exit status: 0 when every reply came and
//! none was an `error:` line; 1 on an error reply, on no reply at all (the instance
//! closed the connection) or when the socket cannot be reached; 2 on bad usage (an
//! unknown option, an empty command, an argument with a newline in it). A reader that goes away
//! (`fastpath-ctl route show | head -1`) ends it quietly.

use clap::Parser;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "fastpath-ctl",
    about = "Send commands to a running fastpath (see `help`)"
)]
struct Opts {
    /// Control socket of the instance.
    #[arg(long, short, default_value = "/run/fastpath.sock")]
    socket: PathBuf,
    /// The command; without one, commands are read from stdin, one per line. Its words
    /// may start with `-` (`port config mtu 1 -1` is the instance's to refuse).
    #[arg(trailing_var_arg = true)]
    command: Vec<String>,
}

fn main() -> ExitCode {
    let o = Opts::parse();
    // The words are one command line: a newline in one would make a second command
    // (`fastpath-ctl "show fwd stats<NL>quit"`), and nothing at all is no command.
    if let Some(i) = o.command.iter().position(|w| w.contains('\n')) {
        eprintln!(
            "fastpath-ctl: argument {} has a newline: give one command (several go on stdin, one per line)",
            i + 1
        );
        return ExitCode::from(2);
    }
    if !o.command.is_empty() && o.command.iter().all(|w| w.trim().is_empty()) {
        eprintln!("fastpath-ctl: the command is empty (see `fastpath-ctl help`)");
        return ExitCode::from(2);
    }
    let mut conn = match UnixStream::connect(&o.socket) {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "fastpath-ctl: cannot connect to {}: {e} (is fastpath running? see --socket)",
                o.socket.display()
            );
            return ExitCode::from(1);
        }
    };
    let sent = if o.command.is_empty() {
        // Commands from stdin, as bytes: the instance judges what is not UTF-8.
        let mut w = match conn.try_clone() {
            Ok(w) => w,
            Err(e) => return fail(&e.to_string()),
        };
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin().lock(), &mut w);
            let _ = w.shutdown(std::net::Shutdown::Write);
        });
        Ok(())
    } else {
        let mut line = o.command.join(" ");
        line.push('\n');
        conn.write_all(line.as_bytes())
            .and_then(|_| conn.shutdown(std::net::Shutdown::Write))
    };
    // A refused command still has its answer to read (`error: ... busy`), so a failed
    // send is reported only when no answer follows.
    let sent = sent.err();
    let mut out = std::io::stdout().lock();
    let (mut got_any, mut error) = (false, false);
    let mut line = Vec::new();
    let mut r = BufReader::new(conn);
    loop {
        line.clear();
        match r.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if !got_any => {
                return fail(&format!(
                    "no reply: the instance closed the connection ({e})"
                ))
            }
            Err(e) => return fail(&e.to_string()),
        }
        got_any = true;
        error |= line.starts_with(b"error: ");
        if let Err(e) = out.write_all(&line) {
            return if e.kind() == ErrorKind::BrokenPipe {
                ExitCode::SUCCESS
            } else {
                fail(&e.to_string())
            };
        }
    }
    if let Err(e) = out.flush() {
        if e.kind() != ErrorKind::BrokenPipe {
            return fail(&e.to_string());
        }
    }
    if !got_any {
        let why = sent.map(|e| format!(" (sending: {e})")).unwrap_or_default();
        return fail(&format!(
            "no reply: the instance closed the connection{why}"
        ));
    }
    if error {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn fail(why: &str) -> ExitCode {
    eprintln!("fastpath-ctl: {why}");
    ExitCode::from(1)
}
