//! [`ConfError`]: every way loading a config or a route file can fail.
//!
//! Display is `file:line:column: message` when the place is known (1-based line and
//! column, as compilers print them, so editors can jump there) and `file: message`
//! otherwise. Loading stops at the first error.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::quote::shorten;

/// A config or route-file error.
#[derive(thiserror::Error, Debug)]
pub enum ConfError {
    /// Reading the file failed (open, read, xz decode).
    #[error("{}: {}", path.display(), shorten(&source.to_string()))]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS or decoder error.
        #[source]
        source: io::Error,
    },
    /// Something is wrong at a known place in the file.
    #[error("{}:{line}:{column}: {}", file.display(), shorten(message))]
    At {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// Something is wrong with the file as a whole.
    #[error("{}: {}", file.display(), shorten(message))]
    File {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl ConfError {
    /// `(line, column)`, 1-based, when the error has a place.
    pub fn location(&self) -> Option<(usize, usize)> {
        match self {
            ConfError::At { line, column, .. } => Some((*line, *column)),
            _ => None,
        }
    }

    /// The message without the `file:line:column: ` prefix (long tokens cut short, as
    /// in the whole message: see [`crate::quote::shorten`]).
    pub fn message(&self) -> String {
        match self {
            ConfError::Io { source, .. } => shorten(&source.to_string()),
            ConfError::At { message, .. } | ConfError::File { message, .. } => shorten(message),
        }
    }

    pub(crate) fn at(file: &Path, line: usize, column: usize, message: impl fmt::Display) -> Self {
        ConfError::At {
            file: file.to_path_buf(),
            line,
            column,
            message: message.to_string(),
        }
    }

    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        ConfError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A serde_yaml error (syntax, type, unknown key, or one raised by our own
    /// Deserialize impls), with serde_yaml's ` at line L column C` moved to the front.
    /// `source` is the text parsed: serde places a key written twice (`duplicate field
    /// `mtu``) at the start of its mapping, and the error is moved to the second one.
    pub(crate) fn from_yaml(file: &Path, source: &str, err: &serde_yaml::Error) -> Self {
        let text = err.to_string();
        match err.location() {
            Some(loc) => {
                let (line, column) = (loc.line(), loc.column());
                let suffix = format!(" at line {line} column {column}");
                let message = match text.find(&suffix) {
                    Some(i) => format!("{}{}", &text[..i], &text[i + suffix.len()..]),
                    None => text.replace(" at position 0", ""),
                };
                let (line, column) = duplicate_key(&message)
                    .and_then(|key| second_key(source, loc.index(), key))
                    .unwrap_or((line, column));
                ConfError::at(file, line, column, message)
            }
            None => ConfError::File {
                file: file.to_path_buf(),
                message: text,
            },
        }
    }
}

/// `K` of a serde `duplicate field `K`` message.
fn duplicate_key(message: &str) -> Option<&str> {
    let rest = &message[message.find("duplicate field `")? + "duplicate field `".len()..];
    Some(&rest[..rest.find('`')?])
}

/// Line and column (1-based) of the second place at or after byte `from` where `key` is
/// written as a mapping key (`key:` in a block or flow mapping, unquoted).
fn second_key(source: &str, from: usize, key: &str) -> Option<(usize, usize)> {
    let tail = source.get(from..)?;
    let mut found = tail.match_indices(key).filter(|&(i, _)| {
        let before = tail[..i].chars().next_back();
        let after = tail[i + key.len()..].trim_start_matches([' ', '\t']);
        before.is_none_or(|c| c.is_whitespace() || "{,-?".contains(c)) && after.starts_with(':')
    });
    let (at, _) = found.nth(1)?;
    let before = &source[..from + at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Some((line, column))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_forms() {
        let f = Path::new("lab.yaml");
        assert_eq!(
            ConfError::at(f, 14, 24, "bad").to_string(),
            "lab.yaml:14:24: bad"
        );
        let e = ConfError::File {
            file: f.into(),
            message: "empty".into(),
        };
        assert_eq!(e.to_string(), "lab.yaml: empty");
        assert_eq!(e.location(), None);
        let e = ConfError::io(f, io::Error::new(io::ErrorKind::NotFound, "gone"));
        assert_eq!(e.to_string(), "lab.yaml: gone");
    }

    #[test]
    fn yaml_location_moves_to_front() {
        let err =
            serde_yaml::from_str::<std::collections::BTreeMap<String, Vec<u16>>>("a:\n- 1\n- x\n")
                .unwrap_err();
        let e = ConfError::from_yaml(Path::new("a.yaml"), "", &err);
        assert_eq!(e.location(), Some((3, 3)));
        assert_eq!(
            e.to_string(),
            "a.yaml:3:3: a[1]: invalid type: string \"x\", expected u16"
        );
    }

    #[test]
    fn a_key_written_twice_is_placed_at_the_second() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct S {
            a: u8,
            mtu: u16,
        }
        for (text, place) in [
            ("a: 1\nmtu: 2\nmtu: 3\n", (3, 1)),
            ("x:\n  a: 1\n  mtu: 2\n  amtu: 4\n  mtu : 3\n", (5, 3)),
            ("x: { a: 1, mtu: 2, mtu: 3 }\n", (1, 20)),
        ] {
            let err = if text.starts_with("x:") {
                serde_yaml::from_str::<std::collections::BTreeMap<String, S>>(text).unwrap_err()
            } else {
                serde_yaml::from_str::<S>(text).unwrap_err()
            };
            let e = ConfError::from_yaml(Path::new("a.yaml"), text, &err);
            assert!(e.message().contains("duplicate field `mtu`"), "{e}");
            assert_eq!(e.location(), Some(place), "{text:?}: {e}");
        }
    }

    #[test]
    fn yaml_syntax_error() {
        let err = serde_yaml::from_str::<serde_yaml::Value>("a: [1, 2\nb: 3\n").unwrap_err();
        let e = ConfError::from_yaml(Path::new("a.yaml"), "", &err);
        // libyaml's context keeps its own position; the problem's moves to the front.
        assert_eq!(
            e.to_string(),
            "a.yaml:2:2: did not find expected ',' or ']', while parsing a flow sequence at line 1 column 4"
        );
    }
}
