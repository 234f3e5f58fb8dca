//! Pass 0 of loading: cheap limits on the raw text, checked before serde_yaml sees it.
//!
//! libyaml (under serde_yaml) does work proportional to the flow nesting depth for every
//! token: `yaml_parser_fetch_more_tokens` walks the stack of possible simple keys, which
//! has one entry per open `[` or `{`. `ports: [[[[...` 16,000 deep took 0.5 s, and 200,000
//! deep did not finish in a minute. A config needs three levels of brackets at most
//! (`routes: [{ via: [{ address: ... }] }]`), so [`MAX_DEPTH`] is far above any real file
//! and keeps the scanner linear; the error points at the bracket that went too deep.
//!
//! Block nesting (indentation, compact `- - -` sequences) costs libyaml linear time:
//! 8,000 levels of indentation (32 MB) load in 0.35 s and 1,000,000 compact `- ` levels
//! (2 MB) in 0.5 s, the same rate as flat text. What bounds it, and the memory serde_yaml
//! spends on events (about 60 bytes of RAM per byte of `[1,1,1,...`), is [`MAX_BYTES`].
//!
//! The depth scan is a small YAML tokenizer that knows only what can hide a bracket:
//! quoted scalars (`'it''s [1'`, `"a \" [b"`, across lines too), comments (`# [`), block
//! scalars (`key: |` and its more-indented lines), and plain scalars: in block context
//! `name: a[1]` is text, and a bracket opens a collection only where a node starts (after
//! `key: `, `- `, `? `, at the start of a line, or after an anchor or tag); in flow
//! context every `[` and `{` outside quotes is an indicator, as libyaml scans them. It
//! errs towards counting too little (a plain scalar continued on the next line in block
//! context may be taken for a new node), never towards refusing a file libyaml takes.

use std::path::Path;

use crate::error::ConfError;

/// The deepest flow nesting (`[` and `{` inside one another) a config may have.
pub const MAX_DEPTH: usize = 64;

/// The largest config file, in bytes (16 MiB). A 200,000-route `routes:` list is about
/// 9 MB and loads in under a second; a full table belongs in `route_files`.
pub const MAX_BYTES: usize = 16 << 20;

/// `text` fits both limits, or the error: `file: ...` for the size, `file:line:column:
/// ...` at the bracket that opens level [`MAX_DEPTH`] + 1.
pub(crate) fn check(text: &str, file: &Path) -> Result<(), ConfError> {
    if text.len() > MAX_BYTES {
        return Err(too_big(file, text.len() as u64));
    }
    match too_deep(text, MAX_DEPTH) {
        Some((line, column, bracket)) => Err(ConfError::at(
            file,
            line,
            column,
            format!(
                "nesting too deep: this `{bracket}` opens level {} of brackets, and a config may have at most {MAX_DEPTH}",
                MAX_DEPTH + 1
            ),
        )),
        None => Ok(()),
    }
}

/// The error for a file of `len` bytes, over [`MAX_BYTES`].
pub(crate) fn too_big(file: &Path, len: u64) -> ConfError {
    ConfError::File {
        file: file.to_path_buf(),
        message: format!(
            "the config is {len} bytes, more than the {} MiB a config may have (bulk routes belong in route_files)",
            MAX_BYTES >> 20
        ),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    Single,
    Double,
}

fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r')
}

fn is_flow_indicator(c: u8) -> bool {
    matches!(c, b'[' | b']' | b'{' | b'}' | b',')
}

/// Where the first `[` or `{` that opens flow level `max + 1` is: 1-based line and column
/// (in characters, as libyaml counts them) and the bracket.
fn too_deep(text: &str, max: usize) -> Option<(usize, usize, char)> {
    let b = text.as_bytes();
    let mut i = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut line = 1;
    let mut depth = 0usize;
    let mut quote = Quote::None;
    // The next non-blank character starts a node (quote, bracket, block scalar, ...).
    let mut node_start = true;
    // The last token was a quoted scalar or a closed collection: in flow context a `:`
    // right after it is a value indicator (`{"a":[1]}`).
    let mut after_close = false;
    // Inside a block scalar whose header line had this indentation.
    let mut block_scalar: Option<usize> = None;

    while i < b.len() {
        let start = i;
        let end = b[i..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(b.len(), |n| i + n);
        i = end + 1;
        let at = move |k: usize| (line, text[start..k].chars().count() + 1);
        line += 1;

        let indent = b[start..end].iter().take_while(|&&c| c == b' ').count();
        let mut k = start;
        if quote == Quote::None {
            if let Some(n) = block_scalar {
                if b[start..end].iter().all(|&c| is_blank(c)) || indent > n {
                    continue;
                }
                block_scalar = None;
            }
            k = start + indent;
            if depth == 0 {
                node_start = true;
                let rest = &b[k..end];
                if indent == 0 && rest.first() == Some(&b'%') {
                    continue; // a directive (%YAML, %TAG)
                }
                if indent == 0
                    && (rest.starts_with(b"---") || rest.starts_with(b"..."))
                    && rest.get(3).is_none_or(|&c| is_blank(c))
                {
                    k += 3; // document marker; a node may follow on the same line
                }
            }
        }
        let mut prev_blank = true;
        while k < end {
            let c = b[k];
            match quote {
                Quote::Single => {
                    if c == b'\'' {
                        if b.get(k + 1) == Some(&b'\'') {
                            k += 2;
                            continue;
                        }
                        quote = Quote::None;
                        after_close = true;
                    }
                    k += 1;
                    prev_blank = false;
                    continue;
                }
                Quote::Double => {
                    if c == b'\\' {
                        k += 2;
                        continue;
                    }
                    if c == b'"' {
                        quote = Quote::None;
                        after_close = true;
                    }
                    k += 1;
                    prev_blank = false;
                    continue;
                }
                Quote::None => {}
            }
            if is_blank(c) {
                prev_blank = true;
                k += 1;
                continue;
            }
            if c == b'#' && prev_blank {
                break; // a comment, to the end of the line
            }
            prev_blank = false;
            let next_blank = k + 1 >= end || is_blank(b[k + 1]);
            let flow = depth > 0;
            if node_start {
                match c {
                    b'\'' => {
                        quote = Quote::Single;
                        node_start = false;
                    }
                    b'"' => {
                        quote = Quote::Double;
                        node_start = false;
                    }
                    b'[' | b'{' => {
                        depth += 1;
                        if depth > max {
                            let (l, col) = at(k);
                            return Some((l, col, c as char));
                        }
                    }
                    b']' | b'}' if flow => {
                        depth -= 1;
                        node_start = false;
                        after_close = true;
                    }
                    b',' if flow => {}
                    b'|' | b'>' if !flow => {
                        block_scalar = Some(indent);
                        break; // the rest of the header line is indicators or a comment
                    }
                    b'-' | b'?' | b':' if next_blank => {}
                    b'&' | b'!' => {
                        // An anchor or a tag; the node itself follows.
                        while k + 1 < end
                            && !is_blank(b[k + 1])
                            && !(flow && is_flow_indicator(b[k + 1]))
                        {
                            k += 1;
                        }
                    }
                    _ => {
                        node_start = false; // a plain scalar or an alias
                        after_close = false;
                    }
                }
            } else if flow {
                match c {
                    b'[' | b'{' => {
                        depth += 1;
                        if depth > max {
                            let (l, col) = at(k);
                            return Some((l, col, c as char));
                        }
                        node_start = true;
                    }
                    b']' | b'}' => {
                        depth -= 1;
                        after_close = true;
                    }
                    b',' => {
                        node_start = true;
                        after_close = false;
                    }
                    b':' if next_blank || after_close || is_flow_indicator(b[k + 1]) => {
                        node_start = true;
                        after_close = false;
                    }
                    _ => after_close = false,
                }
            } else if c == b':' && next_blank {
                node_start = true; // a block mapping's value
            }
            k += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::Config;

    fn deep(text: &str) -> Option<(usize, usize, char)> {
        too_deep(text, 3)
    }

    #[test]
    fn counts_flow_brackets() {
        assert_eq!(deep("a: [[[1]]]\n"), None);
        assert_eq!(deep("a: [[[[1]]]]\n"), Some((1, 7, '[')));
        assert_eq!(deep("a: [{b: [{c: 1}]}]\n"), Some((1, 10, '{')));
        assert_eq!(deep("a: [1, [2, [3, [4]]]]\n"), Some((1, 16, '[')));
        assert_eq!(deep("- [\n  [\n   [\n    [\n"), Some((4, 5, '[')));
        // Closed brackets do not add up.
        assert_eq!(deep("a: [[[1]]]\nb: [[[2]]]\nc: [[], [], [[]]]\n"), None);
        assert_eq!(deep("a: {\"k\":[[[1]]]}\n"), Some((1, 11, '[')));
        assert_eq!(deep("a: [b:[[[1]]]]\n"), Some((1, 9, '[')));
    }

    #[test]
    fn columns_count_characters() {
        assert_eq!(deep("é: [[[[1]]]]\n"), Some((1, 7, '[')));
        // libyaml does not count a byte-order mark as a column.
        assert_eq!(deep("\u{feff}a: [[[[1]]]]\n"), Some((1, 7, '[')));
    }

    #[test]
    fn brackets_in_text_do_not_count() {
        for text in [
            "a: '[[[[[['\n",
            "a: 'it''s [[[[[['\n",
            "a: \"[[[[\\\"[[[[\"\n",
            "a: \"[[[[\n  [[[[\"\n",
            "a: '[[[[\n  [[[['\n",
            "a: 1 # [[[[[[\n",
            "# [[[[[[\na: 1\n",
            "a: [1, 2] # [[[[\n",
            "a: [1, '[[[[', \"{{{{\", 2]\n",
            "name: p[[[[[0\n",
            "name: a [[[[ b\n",
            "name: x#[[[[\n",
            "a: |\n  [[[[[[\n  {{{{\n\n  [[[[\nb: [[[1]]]\n",
            "- >-\n    [[[[\n- 1\n",
            "a: !!str |\n  [[[[\n",
            "a: [it's, \"[[[[\"]\n",
            "a: [b [[[[]]]]]\n",
        ] {
            let got = deep(text);
            if text == "a: [b [[[[]]]]]\n" {
                // In flow context a bracket inside a plain scalar is an indicator.
                assert_eq!(got, Some((1, 9, '[')), "{text:?}");
            } else {
                assert_eq!(got, None, "{text:?}");
            }
        }
    }

    #[test]
    fn nodes_start_after_indicators() {
        assert_eq!(deep("- - [[[[1]]]]\n"), Some((1, 8, '[')));
        assert_eq!(deep("? [[[[1]]]]\n: 1\n"), Some((1, 6, '[')));
        assert_eq!(deep("a: &x [[[[1]]]]\n"), Some((1, 10, '[')));
        assert_eq!(deep("a: !t [[[[1]]]]\n"), Some((1, 10, '[')));
        assert_eq!(deep("--- [[[[1]]]]\n"), Some((1, 8, '[')));
        assert_eq!(deep("%YAML 1.1\n---\na: [[[[1]]]]\n"), Some((3, 7, '[')));
        assert_eq!(deep("a:\n  [[[[1]]]]\n"), Some((2, 6, '[')));
        // After a block scalar ends, counting resumes.
        assert_eq!(deep("a: |\n  x\nb: [[[[1]]]]\n"), Some((3, 7, '[')));
    }

    #[test]
    fn depth_error_is_located_at_the_bracket() {
        let text = format!("ports:\n  - {}1{}\n", "[".repeat(100), "]".repeat(100));
        let e = Config::from_str(&text, Path::new("x.yaml")).unwrap_err();
        assert_eq!(e.location(), Some((2, 5 + MAX_DEPTH)));
        assert_eq!(
            e.to_string(),
            format!("x.yaml:2:{}: nesting too deep: this `[` opens level 65 of brackets, and a config may have at most 64", 5 + MAX_DEPTH)
        );
        // At the limit itself, serde_yaml gets the text and judges it.
        let text = format!(
            "ports: {}1{}\n",
            "[".repeat(MAX_DEPTH),
            "]".repeat(MAX_DEPTH)
        );
        let e = Config::from_str(&text, Path::new("x.yaml")).unwrap_err();
        assert!(e.to_string().contains("invalid type"), "{e}");
    }

    /// The case of the bug: 200,000 levels took over a minute; refused in milliseconds.
    #[test]
    fn very_deep_input_fails_fast() {
        for text in [
            format!("ports: {}{}\n", "[".repeat(200_000), "]".repeat(200_000)),
            format!("ports: {}\n", "[".repeat(200_000)),
            format!("ports: {}\n", "{a: ".repeat(200_000)),
            format!("ports:\n  - {}x\n", "- [".repeat(200_000)),
        ] {
            let t = Instant::now();
            let e = Config::from_str(&text, Path::new("x.yaml")).unwrap_err();
            let took = t.elapsed();
            assert!(e.to_string().contains("nesting too deep"), "{e}");
            assert!(took < Duration::from_millis(200), "took {took:?}");
        }
    }

    /// Deep block nesting is linear in libyaml; the size limit bounds it.
    #[test]
    fn deep_block_nesting_is_fast() {
        let text = format!("ports:\n{}x\n", "- ".repeat(200_000));
        let t = Instant::now();
        let e = Config::from_str(&text, Path::new("x.yaml")).unwrap_err();
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "took {:?}",
            t.elapsed()
        );
        assert!(e.to_string().contains("invalid type"), "{e}");
    }

    #[test]
    fn size_limit() {
        let text = format!("ports: []\n{}", "#\n".repeat(MAX_BYTES / 2));
        let e = Config::from_str(&text, Path::new("x.yaml")).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("x.yaml: the config is {} bytes, more than the 16 MiB a config may have (bulk routes belong in route_files)", MAX_BYTES + 10)
        );
        let dir = crate::testdir::temp_dir("size_limit");
        let file = dir.join("big.yaml");
        std::fs::write(&file, &text).unwrap();
        let e = Config::load(&file).unwrap_err();
        assert!(matches!(e, ConfError::File { .. }), "{e}");
        assert!(e.to_string().contains("more than the 16 MiB"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// Every config in the repository is well within the limits, and loads.
    #[test]
    fn repository_configs_pass() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut n = 0;
        for dir in [root.to_path_buf(), root.join("examples")] {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "yaml") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    assert_eq!(too_deep(&text, 3), None, "{}", path.display());
                    if let Err(e) = Config::load(&path) {
                        panic!("{e}");
                    }
                    n += 1;
                }
            }
        }
        assert!(n >= 2, "found {n} configs");
    }
}
