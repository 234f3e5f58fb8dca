//! Quoting user input in messages without echoing it whole: a 10 MB token on the command
//! line or a 50 MB line in a route file becomes a few dozen characters of it and its size.

/// Longest piece of a token quoted in a message, in characters.
const QUOTE_MAX: usize = 40;

/// Longest message, in bytes (a safety net for messages that quote several tokens).
pub const MESSAGE_MAX: usize = 512;

/// `s` in double quotes with Rust's escapes (`"p\u{1}x"`), cut to its first 40
/// characters and followed by its length when longer: `"aaaa…" (10000000 bytes)`.
pub fn quote(s: &str) -> String {
    match s.char_indices().nth(QUOTE_MAX) {
        None => format!("{s:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes)", &s[..cut], s.len()),
    }
}

/// Longest token (run of non-blank characters) [`shorten`] leaves whole, in characters.
const TOKEN_MAX: usize = 64;

/// Longest message [`shorten`] leaves whole, in bytes: room for the longest list of
/// expected keys serde names (`settings` has 45).
const SHORTEN_MAX: usize = 4096;

/// `msg` with every token longer than 64 characters cut to its first 40 and its size
/// (`xxxx… (10000000 bytes)`), then the whole cut to 4096 bytes: for messages that quote
/// input we did not write ourselves (serde_yaml's `invalid type: string "..."`, a 10 MB
/// key in `unknown field`), so that no error echoes a huge token back whole. Control
/// characters come out escaped (`\n`, `\r`, `\u{1}`) so that the message stays one line.
pub fn shorten(msg: &str) -> String {
    let mut escaped = String::new();
    let msg = if msg.contains(char::is_control) {
        for c in msg.chars() {
            match c.is_control() {
                true => escaped.extend(c.escape_default()),
                false => escaped.push(c),
            }
        }
        &escaped
    } else {
        msg
    };
    let long = |t: &str| t.chars().nth(TOKEN_MAX).is_some();
    let mut out = String::new();
    if msg.split(char::is_whitespace).any(long) {
        let mut rest = msg;
        while !rest.is_empty() {
            let start = rest
                .find(|c: char| !c.is_whitespace())
                .unwrap_or(rest.len());
            out.push_str(&rest[..start]);
            rest = &rest[start..];
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let token = &rest[..end];
            match token.char_indices().nth(QUOTE_MAX) {
                Some((cut, _)) if long(token) => {
                    out.push_str(&format!("{}… ({} bytes)", &token[..cut], token.len()))
                }
                _ => out.push_str(token),
            }
            rest = &rest[end..];
        }
    } else {
        out.push_str(msg);
    }
    if out.len() <= SHORTEN_MAX {
        return out;
    }
    let mut cut = SHORTEN_MAX;
    while !out.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes in all)", &out[..cut], msg.len())
}

/// `msg` cut to [`MESSAGE_MAX`] bytes (at a character boundary), with `…` when cut.
pub fn clip(msg: &str) -> String {
    if msg.len() <= MESSAGE_MAX {
        return msg.to_string();
    }
    let mut cut = MESSAGE_MAX;
    while !msg.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes in all)", &msg[..cut], msg.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_tokens_are_quoted_whole() {
        assert_eq!(quote("p9"), "\"p9\"");
        assert_eq!(quote("a\u{1}b"), "\"a\\u{1}b\"");
    }

    #[test]
    fn long_tokens_are_cut_and_sized() {
        let big = "x".repeat(10_000_000);
        let q = quote(&big);
        assert!(q.len() < 80, "{q}");
        assert!(q.ends_with("… (10000000 bytes)"), "{q}");
        let wide = "é".repeat(100);
        assert_eq!(quote(&wide), format!("\"{}\"… (200 bytes)", "é".repeat(40)));
    }

    #[test]
    fn long_tokens_in_messages_are_cut() {
        assert_eq!(shorten("unknown field `ttl`"), "unknown field `ttl`");
        let m = shorten(&format!(
            "invalid type: string \"{}\", expected u64",
            "x".repeat(10_000_000)
        ));
        assert_eq!(
            m,
            format!(
                "invalid type: string \"{}… (10000003 bytes) expected u64",
                "x".repeat(39)
            )
        );
        let spaced = shorten(&"ab ".repeat(3_000_000));
        assert!(
            spaced.len() < 4200 && spaced.ends_with("(9000000 bytes in all)"),
            "{}",
            &spaced[4000..]
        );
        assert_eq!(shorten("bad `a\r\n\u{1}b`"), "bad `a\\r\\n\\u{1}b`");
        let at_64 = "y".repeat(64);
        assert_eq!(shorten(&at_64), at_64, "64 characters are left whole");
    }

    #[test]
    fn long_messages_are_clipped() {
        assert_eq!(clip("short"), "short");
        let m = clip(&"é".repeat(1000));
        assert!(
            m.len() <= MESSAGE_MAX + 40 && m.ends_with("(2000 bytes in all)"),
            "{m}"
        );
    }
}
