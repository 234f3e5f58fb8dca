//! Checks on `tables` (named user tables, like iproute2's `rt_tables`): ids in range
//! and not the reserved 253/254/255, names well formed and not reserved, no duplicates.

use super::{in_range, issue, Issue, Validator};
use crate::config::{TableConf, RESERVED_TABLES};
use crate::locate::node;
use crate::schema::RawTable;

/// Longest table name.
const NAME_MAX: usize = 64;

/// Names a user table cannot take: the reserved tables', and iproute2's `unspec` (0)
/// and `all` (every table, in `ip route show table all`).
const RESERVED_NAMES: [&str; 5] = ["local", "main", "default", "unspec", "all"];

pub(super) fn tables(v: &Validator, raw: Vec<RawTable>) -> Result<Vec<TableConf>, Issue> {
    let mut out: Vec<TableConf> = Vec::with_capacity(raw.len());
    for (i, t) in raw.into_iter().enumerate() {
        let at_id = node!["tables", i, "id"];
        let id: u32 = in_range(t.id, 1, u32::MAX.into(), at_id, "table id")?;
        if let Some((name, _)) = RESERVED_TABLES.iter().find(|(_, r)| *r == id) {
            return Err(issue(
                at_id,
                format!("table id {id} is reserved for `{name}`; give a user table another id"),
            ));
        }
        let at_name = node!["tables", i, "name"];
        let name = t.name;
        if RESERVED_NAMES.contains(&name.as_str()) {
            return Err(issue(
                at_name,
                format!(
                    "table name `{name}` is reserved (local 255, main 254, default 253, unspec, all)"
                ),
            ));
        }
        let b = name.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= NAME_MAX
            && (b[0].is_ascii_alphabetic() || b[0] == b'_')
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || b"_-.".contains(c));
        if !ok {
            return Err(issue(
                at_name,
                format!(
                    "table name `{name}` must be 1 to {NAME_MAX} characters: a letter or `_`, then \
                     letters, digits, `_ - .`"
                ),
            ));
        }
        if let Some(j) = out.iter().position(|o| o.id == id) {
            let line = v.line_of(&node!["tables", j]);
            return Err(issue(
                at_id,
                format!("duplicate table id {id} (first defined at line {line})"),
            ));
        }
        if let Some(j) = out.iter().position(|o| o.name == name) {
            let line = v.line_of(&node!["tables", j]);
            return Err(issue(
                at_name,
                format!("duplicate table name `{name}` (first defined at line {line})"),
            ));
        }
        out.push(TableConf { id, name });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{err, load, BASE};

    fn tables(lines: &str) -> String {
        format!("{BASE}tables:\n{lines}")
    }

    #[test]
    fn names_and_lookups() {
        let c = load(&tables(
            "  - { id: 100, name: isp2 }\n  - { id: 4294967295, name: _last.v-2 }\n",
        ))
        .unwrap();
        assert_eq!(c.tables.len(), 2);
        assert_eq!(c.table_name(100), "isp2");
        assert_eq!(c.table_name(254), "main");
        assert_eq!(c.table_name(7), "7");
        assert_eq!(c.table_id("isp2"), Some(100));
        assert_eq!(c.table_id("_last.v-2"), Some(u32::MAX));
        assert_eq!(c.table_id("local"), Some(255));
        assert_eq!(c.table_id("default"), Some(253));
        assert_eq!(c.table_id("7"), Some(7));
        assert_eq!(c.table_id("0"), None);
        assert_eq!(c.table_id("4294967296"), None);
        assert_eq!(c.table_id("isp3"), None);
        assert_eq!(c.table_id(""), None);
    }

    #[test]
    fn id_errors() {
        assert_eq!(
            err(&tables("  - { id: 0, name: a }\n")),
            "lab.yaml:12:11: table id 0 is out of range (1 to 4294967295)"
        );
        assert_eq!(
            err(&tables("  - { id: 4294967296, name: a }\n")),
            "lab.yaml:12:11: table id 4294967296 is out of range (1 to 4294967295)"
        );
        assert_eq!(
            err(&tables("  - { id: 254, name: a }\n")),
            "lab.yaml:12:11: table id 254 is reserved for `main`; give a user table another id"
        );
        assert_eq!(
            err(&tables("  - { id: 253, name: a }\n")),
            "lab.yaml:12:11: table id 253 is reserved for `default`; give a user table another id"
        );
        assert_eq!(
            err(&tables(
                "  - { id: 100, name: a }\n  - { id: 100, name: b }\n"
            )),
            "lab.yaml:13:11: duplicate table id 100 (first defined at line 12)"
        );
    }

    #[test]
    fn name_errors() {
        assert_eq!(
            err(&tables("  - { id: 9, name: main }\n")),
            "lab.yaml:12:20: table name `main` is reserved (local 255, main 254, default 253, unspec, all)"
        );
        assert_eq!(
            err(&tables("  - { id: 9, name: all }\n")),
            "lab.yaml:12:20: table name `all` is reserved (local 255, main 254, default 253, unspec, all)"
        );
        assert_eq!(
            err(&tables("  - { id: 9, name: \"100\" }\n")),
            "lab.yaml:12:20: table name `100` must be 1 to 64 characters: a letter or `_`, then letters, digits, `_ - .`"
        );
        assert_eq!(
            err(&tables("  - { id: 9, name: \"a b\" }\n")),
            "lab.yaml:12:20: table name `a b` must be 1 to 64 characters: a letter or `_`, then letters, digits, `_ - .`"
        );
        assert_eq!(
            err(&tables("  - { id: 9, name: a }\n  - id: 10\n    name: a\n")),
            "lab.yaml:14:11: duplicate table name `a` (first defined at line 12)"
        );
    }

    #[test]
    fn shape_errors() {
        assert_eq!(
            err(&tables("  - { id: 9 }\n")),
            "lab.yaml:12:5: tables[0]: missing field `name`"
        );
        assert_eq!(
            err(&tables("  - { id: 9, name: a, nmae: b }\n")),
            "lab.yaml:12:23: tables[0]: unknown field `nmae`, expected `id` or `name`"
        );
    }
}
