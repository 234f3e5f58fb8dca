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
    pub(crate) fn from_yaml(file: &Path, err: &serde_yaml::Error) -> Self {
        let text = err.to_string();
        match err.location() {
            Some(loc) => {
                let (line, column) = (loc.line(), loc.column());
                let suffix = format!(" at line {line} column {column}");
                let message = match text.find(&suffix) {
                    Some(i) => format!("{}{}", &text[..i], &text[i + suffix.len()..]),
                    None => text.replace(" at position 0", ""),
                };
                ConfError::at(file, line, column, message)
            }
            None => ConfError::File {
                file: file.to_path_buf(),
                message: text,
            },
        }
    }
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
        let e = ConfError::from_yaml(Path::new("a.yaml"), &err);
        assert_eq!(e.location(), Some((3, 3)));
        assert_eq!(
            e.to_string(),
            "a.yaml:3:3: a[1]: invalid type: string \"x\", expected u16"
        );
    }

    #[test]
    fn yaml_syntax_error() {
        let err = serde_yaml::from_str::<serde_yaml::Value>("a: [1, 2\nb: 3\n").unwrap_err();
        let e = ConfError::from_yaml(Path::new("a.yaml"), &err);
        // libyaml's context keeps its own position; the problem's moves to the front.
        assert_eq!(
            e.to_string(),
            "a.yaml:2:2: did not find expected ',' or ']', while parsing a flow sequence at line 1 column 4"
        );
    }
}
