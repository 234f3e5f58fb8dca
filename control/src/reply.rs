//! What a command answers: the whole text, or a piece of a long listing and where to
//! resume it (as a netlink dump hands out one buffer at a time).

use fastpath::fib::Prefix;

/// The answer to a command, whole or a piece at a time.
#[derive(Debug)]
pub enum Reply {
    /// The whole answer, or its last piece; `quit`: stop once it is out.
    Done { text: String, quit: bool },
    /// A piece of a long answer; [`crate::commands::Control::resume`] with the cursor
    /// gives the next.
    Part { text: String, cursor: Cursor },
}

impl Reply {
    pub fn ok(text: String) -> Reply {
        Reply::Done { text, quit: false }
    }
}

/// Where a long listing stopped: `route show` resumes after the last prefix it showed.
#[derive(Debug, Clone, Copy)]
pub struct Cursor {
    pub(crate) table: u32,
    pub(crate) after: Prefix,
}

/// A one-line error reply, cut to a sane length whatever it quotes.
pub fn error(e: String) -> Reply {
    Reply::ok(format!("error: {}\n", conf::clip(&e)))
}
