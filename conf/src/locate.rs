//! Find the line and column of a YAML node from its path (`routes[3].via`).
//!
//! Validation runs on typed structs, which carry no positions; when it finds a problem
//! it names the node by path and this module finds where that node starts. It needs no
//! second YAML parser: serde_yaml attaches the position of the node being deserialized
//! to any error a `Deserialize` impl raises while inside that node (`fix_mark` in its
//! `de.rs` only fills a position that is still empty, so the innermost node wins). A
//! probe walks the document along the path, skipping everything else with
//! [`IgnoredAny`], and raises a marker error as soon as it enters the target node;
//! the error's [`serde_yaml::Error::location`] is the answer.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// One step of a path: a mapping key or a sequence index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(&'static str),
    Index(usize),
}

impl From<&'static str> for Seg {
    fn from(k: &'static str) -> Self {
        Seg::Key(k)
    }
}

impl From<usize> for Seg {
    fn from(i: usize) -> Self {
        Seg::Index(i)
    }
}

/// `node!["routes", 3, "via"]`
macro_rules! node {
    ($($seg:expr),* $(,)?) => { [$($crate::locate::Seg::from($seg)),*] };
}
pub(crate) use node;

const FOUND: &str = "\u{1}conf-locate-found";

/// 1-based `(line, column)` where the node at `path` starts, if it exists.
pub(crate) fn locate(text: &str, path: &[Seg]) -> Option<(usize, usize)> {
    let de = serde_yaml::Deserializer::from_str(text);
    match (Probe { path }).deserialize(de) {
        Err(e) if e.to_string().contains(FOUND) => e.location().map(|l| (l.line(), l.column())),
        _ => None,
    }
}

/// Like [`locate`], but falls back to the nearest ancestor that exists (a key left out
/// and defaulted has no node of its own), and finally to the top of the file.
pub(crate) fn locate_nearest(text: &str, path: &[Seg]) -> (usize, usize) {
    (0..=path.len())
        .rev()
        .find_map(|n| locate(text, &path[..n]))
        .unwrap_or((1, 1))
}

struct Probe<'p> {
    path: &'p [Seg],
}

impl<'de> DeserializeSeed<'de> for Probe<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Probe<'_> {
    /// At the target the probe fails at once; elsewhere a scalar is a dead end.
    fn leaf<E: de::Error>(&self) -> Result<(), E> {
        if self.path.is_empty() {
            Err(E::custom(FOUND))
        } else {
            Ok(())
        }
    }
}

impl<'de> Visitor<'de> for Probe<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML node")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.leaf()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.leaf()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.leaf()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.leaf()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.leaf()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.leaf()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.leaf()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (want, rest) = match self.path.split_first() {
            None => return self.leaf(),
            Some((Seg::Index(i), rest)) => (Some(*i), rest),
            Some((Seg::Key(_), _)) => (None, &[][..]),
        };
        let mut i = 0;
        loop {
            let more = if Some(i) == want {
                seq.next_element_seed(Probe { path: rest })?
            } else {
                seq.next_element::<IgnoredAny>()?.map(|_| ())
            };
            if more.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (want, rest) = match self.path.split_first() {
            None => return self.leaf(),
            Some((Seg::Key(k), rest)) => (Some(*k), rest),
            Some((Seg::Index(_), _)) => (None, &[][..]),
        };
        while let Some(key) = map.next_key::<serde_yaml::Value>()? {
            if want.is_some() && key.as_str() == want {
                map.next_value_seed(Probe { path: rest })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
ports:
  - name: p0
    addresses: [10.0.1.1/24, 10.0.3.1/24]
routes:
  - { prefix: 198.51.100.0/24, via: 10.0.2.2 }
  - prefix: 0.0.0.0/0
    via: 10.0.1.2
";

    #[test]
    fn finds_nodes() {
        assert_eq!(locate(DOC, &node!["ports"]), Some((2, 3)));
        assert_eq!(locate(DOC, &node!["ports", 0]), Some((2, 5)));
        assert_eq!(locate(DOC, &node!["ports", 0, "name"]), Some((2, 11)));
        assert_eq!(
            locate(DOC, &node!["ports", 0, "addresses", 1]),
            Some((3, 30))
        );
        assert_eq!(locate(DOC, &node!["routes", 0, "via"]), Some((5, 37)));
        assert_eq!(locate(DOC, &node!["routes", 1, "via"]), Some((7, 10)));
    }

    #[test]
    fn missing_nodes_fall_back() {
        assert_eq!(locate(DOC, &node!["routes", 1, "metric"]), None);
        assert_eq!(locate_nearest(DOC, &node!["routes", 1, "metric"]), (6, 5));
        assert_eq!(locate(DOC, &node!["routes"]), Some((5, 3)));
        assert_eq!(locate_nearest(DOC, &node!["routes", 9]), (5, 3));
        assert_eq!(locate(DOC, &node![]), Some((1, 1)));
        assert_eq!(locate_nearest(DOC, &node!["nope"]), (1, 1));
        assert_eq!(locate(DOC, &node!["ports", "name"]), None);
    }
}
