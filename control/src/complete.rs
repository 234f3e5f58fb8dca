//! TAB completion at the `fastpath>` prompt, as testpmd's cmdline completes its tokens:
//! the first word, then the words that may follow (`show port stats|info|xstats`, `show
//! config rxtx|cores|fwd`, ...), and ports (`all`, numbers, names) where a port goes.
//! Only the command words are completed; addresses and prefixes are typed.

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

/// The first words of every command (`help` lists them all).
pub const FIRST: &[&str] = &[
    "help", "show", "clear", "start", "stop", "port", "route", "rule", "nexthop", "neigh", "flush",
    "capture", "quit", "exit",
];

/// The prompt's helper: completes command words; the port names are the config's.
pub struct Words {
    /// Interface names, in port order.
    pub ports: Vec<String>,
}

/// What may come next after `prev` (the whole words before the cursor's word).
enum Next {
    Words(&'static [&'static str]),
    /// `all`, a port number or a port name.
    Port,
    /// A port name (`dev PORT`, `iif PORT`).
    PortName,
    Nothing,
}

fn next(prev: &[&str]) -> Next {
    use Next::*;
    match prev {
        [] => Words(FIRST),
        [.., "dev" | "iif"] => PortName,
        ["show"] => Words(&[
            "port",
            "config",
            "fwd",
            "memory",
            "neigh",
            "fib",
            "flows",
            "flowtable",
            "exceptions",
            "latency",
        ]),
        ["show", "port"] => Words(&["info", "stats", "xstats"]),
        ["show" | "clear", "port", _] => Port,
        ["show", "config"] => Words(&["rxtx", "cores", "fwd"]),
        ["show" | "clear", "fwd"] | ["show", "fib" | "flowtable"] => Words(&["stats"]),
        ["clear"] => Words(&["port", "fwd"]),
        ["clear", "port"] => Words(&["stats", "xstats"]),
        ["port"] => Words(&["start", "stop", "config"]),
        ["port", "start" | "stop"] | ["port", "config", "mtu"] => Port,
        ["port", "config"] => Words(&["mtu"]),
        ["route"] => Words(&["show", "get", "add", "replace", "del", "load", "flush"]),
        ["route", "show"] => Words(&["table", "cache"]),
        ["route", "flush"] => Words(&["cache"]),
        ["rule"] => Words(&["show", "add", "del"]),
        ["nexthop"] => Words(&["show", "add", "replace", "del"]),
        ["neigh"] => Words(&["show", "add", "replace", "del", "flush"]),
        ["neigh", "show" | "flush"] => Words(&["dev"]),
        ["flush"] => Words(&["flows"]),
        ["capture"] => Words(&["start", "stop", "status"]),
        ["capture", "start"] => Port,
        _ => Nothing,
    }
}

impl Words {
    /// The words that complete `word` after `prev`, each with a space after it.
    pub fn candidates(&self, prev: &[&str], word: &str) -> Vec<String> {
        let all: Vec<String> = match next(prev) {
            Next::Words(w) => w.iter().map(|s| s.to_string()).collect(),
            Next::Port => std::iter::once("all".to_string())
                .chain((0..self.ports.len()).map(|i| i.to_string()))
                .chain(self.ports.iter().cloned())
                .collect(),
            Next::PortName => self.ports.clone(),
            Next::Nothing => Vec::new(),
        };
        all.into_iter()
            .filter(|c| c.starts_with(word))
            .map(|c| c + " ")
            .collect()
    }
}

impl Completer for Words {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before.rfind(char::is_whitespace).map_or(0, |i| {
            i + before[i..].chars().next().map_or(1, char::len_utf8)
        });
        let prev: Vec<&str> = before[..start].split_whitespace().collect();
        let pairs = self
            .candidates(&prev, &before[start..])
            .into_iter()
            .map(|c| Pair {
                display: c.trim_end().to_string(),
                replacement: c,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for Words {
    type Hint = String;
}

impl Highlighter for Words {}

impl Validator for Words {}

impl Helper for Words {}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> Words {
        Words {
            ports: vec!["p0".into(), "p1".into()],
        }
    }

    #[test]
    fn first_word_then_sub_words_then_ports() {
        let w = words();
        assert_eq!(w.candidates(&[], "sho"), ["show "]);
        assert_eq!(w.candidates(&[], "st"), ["start ", "stop "]);
        assert_eq!(
            w.candidates(&["show", "port"], ""),
            ["info ", "stats ", "xstats "]
        );
        assert_eq!(w.candidates(&["show", "port"], "x"), ["xstats "]);
        assert_eq!(
            w.candidates(&["show", "config"], ""),
            ["rxtx ", "cores ", "fwd "]
        );
        assert_eq!(
            w.candidates(&["port", "stop"], ""),
            ["all ", "0 ", "1 ", "p0 ", "p1 "]
        );
        assert_eq!(w.candidates(&["port", "config"], "m"), ["mtu "]);
        assert_eq!(
            w.candidates(&["port", "config", "mtu"], "p"),
            ["p0 ", "p1 "]
        );
        assert_eq!(
            w.candidates(&["route", "get", "1.1.1.1", "iif"], "p"),
            ["p0 ", "p1 "]
        );
        assert!(w.candidates(&["route", "get"], "1").is_empty());
    }

    #[test]
    fn every_first_word_is_a_command() {
        for &f in FIRST {
            let help = crate::commands::HELP;
            let listed = help.contains(&format!("\n  {f} ")) || help.contains(&format!("| {f} "));
            assert!(listed, "{f} not in help");
        }
    }
}
