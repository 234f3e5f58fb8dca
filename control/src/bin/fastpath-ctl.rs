//! `fastpath-ctl`: sends commands to a running fastpath over its control socket.
//!
//!     fastpath-ctl [--socket PATH] show port stats all
//!     echo "show fwd stats" | fastpath-ctl --socket /tmp/fp.sock

use clap::Parser;
use std::io::{BufRead, Read, Write};
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
    /// The command; without one, commands are read from stdin, one per line.
    command: Vec<String>,
}

fn main() -> ExitCode {
    let o = Opts::parse();
    let lines: Vec<String> = if o.command.is_empty() {
        std::io::stdin()
            .lock()
            .lines()
            .map_while(Result::ok)
            .collect()
    } else {
        vec![o.command.join(" ")]
    };
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
    let mut req = lines.join("\n");
    req.push('\n');
    if let Err(e) = conn
        .write_all(req.as_bytes())
        .and_then(|_| conn.shutdown(std::net::Shutdown::Write))
    {
        eprintln!("fastpath-ctl: {e}");
        return ExitCode::from(1);
    }
    let mut out = String::new();
    if let Err(e) = conn.read_to_string(&mut out) {
        eprintln!("fastpath-ctl: {e}");
        return ExitCode::from(1);
    }
    print!("{out}");
    if out.lines().any(|l| l.starts_with("error: ")) {
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
