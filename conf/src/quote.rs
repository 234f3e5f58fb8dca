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
    fn long_messages_are_clipped() {
        assert_eq!(clip("short"), "short");
        let m = clip(&"é".repeat(1000));
        assert!(
            m.len() <= MESSAGE_MAX + 40 && m.ends_with("(2000 bytes in all)"),
            "{m}"
        );
    }
}
