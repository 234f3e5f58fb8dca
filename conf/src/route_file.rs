//! Route files: bulk prefixes for the FIB, one route a line, plain text or `.xz`.
//!
//! ```text
//! # comment
//! 1.0.0.0/24 13335          prefix and origin AS (CAIDA pfx2as)
//! 1.0.4.0/22 38803_4567     multi-origin: the first AS counts
//! 1.0.8.0/24 {64512,64513}  AS set: the first AS counts
//! 1.0.16.0/24               prefix only
//! ```
//!
//! Columns are separated by spaces or tabs; a `#` starts a comment; prefixes must be
//! canonical. Each prefix gets one gateway from the file's `via` list of N entries
//! ([`nexthop_index`]): entry `origin AS mod N` when the line has an AS column (one
//! origin stays on one nexthop, as a real DFZ table tends to), else entry
//! `FNV-1a(prefix) mod N`, a hash of the address octets and length that is the same on
//! every run and machine.
//!
//! Reading streams: a 64 KiB buffer, one reused line buffer, and a byte-level parser
//! for the common case; the slower `str` parser only runs to word an error.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::net::Ipv4Addr;
use std::path::Path;

use ipnet::Ipv4Net;

use crate::config::RouteFileConf;
use crate::error::ConfError;
use crate::net;

/// Streams the file (plain text, or xz when the name ends in `.xz`) and calls
/// `f(prefix, gateway)` for each route; returns the number of routes. Blank lines and
/// `#` comments are skipped. A bad line gives `file:line:column: what is wrong`.
pub fn read(rf: &RouteFileConf, mut f: impl FnMut(Ipv4Net, Ipv4Addr)) -> Result<usize, ConfError> {
    read_while(rf, |net, gw| {
        f(net, gw);
        true
    })
}

/// [`read`], stopping early (with the routes so far) when `f` returns false.
pub fn read_while(
    rf: &RouteFileConf,
    f: impl FnMut(Ipv4Net, Ipv4Addr) -> bool,
) -> Result<usize, ConfError> {
    if rf.via.is_empty() {
        return Err(ConfError::File {
            file: rf.path.clone(),
            message: "route file has no `via` gateways".into(),
        });
    }
    // A FIFO would block the open (and then the reads) for good, and a device such as
    // /dev/zero never ends: only regular files (symlinks followed) are route files.
    let not_regular = |kind: &str| ConfError::File {
        file: rf.path.clone(),
        message: format!("not a regular file ({kind}): a route file must be a regular file"),
    };
    let meta = std::fs::metadata(&rf.path).map_err(|e| ConfError::io(&rf.path, e))?;
    if !meta.is_file() {
        return Err(not_regular(file_kind(&meta)));
    }
    let file = File::open(&rf.path).map_err(|e| ConfError::io(&rf.path, e))?;
    let meta = file.metadata().map_err(|e| ConfError::io(&rf.path, e))?;
    if !meta.is_file() {
        return Err(not_regular(file_kind(&meta)));
    }
    const BUF: usize = 1 << 16;
    if rf.path.extension().is_some_and(|e| e == "xz") {
        let xz = xz2::read::XzDecoder::new_multi_decoder(BufReader::with_capacity(BUF, file));
        read_from_while(BufReader::with_capacity(BUF, xz), &rf.path, &rf.via, f)
    } else {
        read_from_while(BufReader::with_capacity(BUF, file), &rf.path, &rf.via, f)
    }
}

/// What a non-regular file is, for messages.
fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a plain file"
    }
}

/// Longest line of a route file, in bytes (a route line is under 40).
pub const LINE_MAX: usize = 4096;

/// [`read`] from any buffered reader; `path` names it in errors.
pub fn read_from<R: BufRead>(
    r: R,
    path: &Path,
    via: &[Ipv4Addr],
    mut f: impl FnMut(Ipv4Net, Ipv4Addr),
) -> Result<usize, ConfError> {
    read_from_while(r, path, via, |net, gw| {
        f(net, gw);
        true
    })
}

/// [`read_while`] from any buffered reader.
fn read_from_while<R: BufRead>(
    mut r: R,
    path: &Path,
    via: &[Ipv4Addr],
    mut f: impl FnMut(Ipv4Net, Ipv4Addr) -> bool,
) -> Result<usize, ConfError> {
    if via.is_empty() {
        return Err(ConfError::File {
            file: path.to_path_buf(),
            message: "route file has no `via` gateways".into(),
        });
    }
    let mut buf = Vec::with_capacity(128);
    let (mut lineno, mut count) = (0usize, 0usize);
    loop {
        buf.clear();
        let n = Read::take(&mut r, LINE_MAX as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| ConfError::io(path, e))?;
        if n == 0 {
            return Ok(count);
        }
        lineno += 1;
        if n > LINE_MAX {
            return Err(ConfError::at(
                path,
                lineno,
                1,
                format!("line longer than {LINE_MAX} bytes (a line is `prefix [origin-AS]`)"),
            ));
        }
        match parse_line(&buf) {
            Ok(None) => {}
            Ok(Some((prefix, origin))) => {
                count += 1;
                if !f(prefix, via[nexthop_index(prefix, origin, via.len())]) {
                    return Ok(count);
                }
            }
            Err((start, message)) => {
                let column = String::from_utf8_lossy(&buf[..start]).chars().count() + 1;
                return Err(ConfError::at(path, lineno, column, message));
            }
        }
    }
}

/// Which of `n` gateways (`n > 0`) a prefix uses: `origin mod n` with an origin AS,
/// else [`prefix_hash`]` mod n`.
pub fn nexthop_index(prefix: Ipv4Net, origin: Option<u32>, n: usize) -> usize {
    let key = origin.unwrap_or_else(|| prefix_hash(prefix));
    (key as usize) % n.max(1)
}

/// 32-bit FNV-1a over the four address octets and the prefix length: stable across
/// runs, processes and machines.
pub fn prefix_hash(prefix: Ipv4Net) -> u32 {
    const OFFSET: u32 = 0x811c_9dc5;
    const PRIME: u32 = 0x0100_0193;
    let [a, b, c, d] = prefix.addr().octets();
    [a, b, c, d, prefix.prefix_len()]
        .iter()
        .fold(OFFSET, |h, &byte| (h ^ u32::from(byte)).wrapping_mul(PRIME))
}

/// A prefix and its origin AS, if the line has one.
type Route = (Ipv4Net, Option<u32>);

/// 0-based byte offset of a bad token in its line, and what is wrong with it.
type BadToken = (usize, String);

/// A line's route, `None` for blank and comment lines, or the 0-based byte offset of
/// the bad token and what is wrong with it.
fn parse_line(line: &[u8]) -> Result<Option<Route>, BadToken> {
    let is_ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let token = |from: usize| -> (usize, usize) {
        let start = from + line[from..].iter().take_while(|b| is_ws(b)).count();
        let end = start + line[start..].iter().take_while(|b| !is_ws(b)).count();
        (start, end)
    };
    let (s, e) = token(0);
    if s == e || line[s] == b'#' {
        return Ok(None);
    }
    let prefix = match fast_prefix(&line[s..e]) {
        Some(p) => p,
        None => match std::str::from_utf8(&line[s..e]) {
            Err(_) => return Err((s, "not valid UTF-8".into())),
            // Longer than 255.255.255.255/32: not worth a detailed diagnosis.
            Ok(text) if text.len() > 18 => {
                return Err((
                    s,
                    format!("{} is not a prefix (A.B.C.D/N)", crate::quote(text)),
                ))
            }
            Ok(text) => net::parse_net(text).map_err(|m| (s, m))?,
        },
    };
    net::canonical(prefix).map_err(|m| (s, m))?;
    let (s, e) = token(e);
    if s == e || line[s] == b'#' {
        return Ok(Some((prefix, None)));
    }
    let origin = origin_as(&line[s..e]).ok_or_else(|| {
        let text = crate::quote(&String::from_utf8_lossy(&line[s..e]));
        (s, format!("invalid origin AS {text} (expected a number like 13335, or a set like 13335_4567 or {{64512,64513}})"))
    })?;
    let (s, e) = token(e);
    if s != e && line[s] != b'#' {
        let text = crate::quote(&String::from_utf8_lossy(&line[s..e]));
        return Err((
            s,
            format!("unexpected {text} after the origin AS (a line is `prefix [origin-AS]`)"),
        ));
    }
    Ok(Some((prefix, Some(origin))))
}

/// `a.b.c.d/len` with the same rules as `Ipv4Addr::from_str` (no leading zeros);
/// `None` for anything else, which the slow path then words.
fn fast_prefix(t: &[u8]) -> Option<Ipv4Net> {
    fn number(t: &[u8], i: &mut usize, max_digits: usize) -> Option<u32> {
        let start = *i;
        let mut v = 0u32;
        while *i < t.len() && t[*i].is_ascii_digit() && *i - start < max_digits {
            v = v * 10 + u32::from(t[*i] - b'0');
            *i += 1;
        }
        let n = *i - start;
        let leading_zero = n > 1 && t[start] == b'0';
        (n > 0 && !leading_zero && (*i == t.len() || !t[*i].is_ascii_digit())).then_some(v)
    }
    let mut i = 0;
    let mut octets = [0u8; 4];
    for (k, o) in octets.iter_mut().enumerate() {
        *o = u8::try_from(number(t, &mut i, 3)?).ok()?;
        let sep = if k < 3 { b'.' } else { b'/' };
        if t.get(i) != Some(&sep) {
            return None;
        }
        i += 1;
    }
    let len = u8::try_from(number(t, &mut i, 2)?).ok()?;
    if i != t.len() {
        return None;
    }
    Ipv4Net::new(Ipv4Addr::from(octets), len).ok()
}

/// The first AS of `13335`, `13335_4567`, `{64512,64513}`, `13335_{1,2}`.
fn origin_as(t: &[u8]) -> Option<u32> {
    if !t.iter().all(|b| b.is_ascii_digit() || b"_,{}".contains(b)) {
        return None;
    }
    let digits = t
        .iter()
        .skip_while(|b| **b == b'{')
        .take_while(|b| b.is_ascii_digit());
    let mut v: u32 = 0;
    let mut n = 0;
    for b in digits {
        v = v.checked_mul(10)?.checked_add(u32::from(b - b'0'))?;
        n += 1;
    }
    (n > 0).then_some(v)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::path::PathBuf;
    use std::time::Instant;

    use super::*;
    use crate::testdir::temp_dir;

    fn nets(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    fn via(n: u8) -> Vec<Ipv4Addr> {
        (1..=n).map(|i| Ipv4Addr::new(10, 0, i, 2)).collect()
    }

    fn collect(text: &str, via: &[Ipv4Addr]) -> Result<Vec<(Ipv4Net, Ipv4Addr)>, String> {
        let mut out = Vec::new();
        read_from(text.as_bytes(), Path::new("t.txt"), via, |p, g| {
            out.push((p, g))
        })
        .map_err(|e| e.to_string())?;
        Ok(out)
    }

    #[test]
    fn plain_text_with_as_column() {
        let text =
            "# header\n\n1.0.0.0/24 13335\n1.0.4.0/22\t38803\r\n  1.0.5.0/24 38803 # trailing\n";
        let got = collect(text, &via(4)).unwrap();
        assert_eq!(got.len(), 3);
        // origin AS mod N: 13335 % 4 = 3, 38803 % 4 = 3.
        assert_eq!(got[0], (nets("1.0.0.0/24"), Ipv4Addr::new(10, 0, 4, 2)));
        assert_eq!(got[1].1, Ipv4Addr::new(10, 0, 4, 2));
        assert_eq!(got[2].0, nets("1.0.5.0/24"));
        let got = collect("1.0.0.0/24 13334\n1.0.0.0/24 13336\n", &via(4)).unwrap();
        assert_eq!(
            (got[0].1, got[1].1),
            (Ipv4Addr::new(10, 0, 3, 2), Ipv4Addr::new(10, 0, 1, 2))
        );
    }

    #[test]
    fn as_sets_use_the_first_as() {
        assert_eq!(origin_as(b"13335"), Some(13335));
        assert_eq!(origin_as(b"13335_4567"), Some(13335));
        assert_eq!(origin_as(b"{64512,64513}"), Some(64512));
        assert_eq!(origin_as(b"7_{1,2}"), Some(7));
        assert_eq!(origin_as(b"4294967295"), Some(u32::MAX));
        assert_eq!(origin_as(b"4294967296"), None);
        assert_eq!(origin_as(b"AS13335"), None);
        assert_eq!(origin_as(b"{}"), None);
        let got = collect("1.0.0.0/24 5_6\n1.0.1.0/24 {6,5}\n", &via(2)).unwrap();
        assert_eq!(
            (got[0].1, got[1].1),
            (Ipv4Addr::new(10, 0, 2, 2), Ipv4Addr::new(10, 0, 1, 2))
        );
    }

    #[test]
    fn hash_rule_is_stable() {
        // Fixed values: changing the hash moves every bart-style route to another nexthop.
        assert_eq!(prefix_hash(nets("1.0.0.0/24")), 0xe369_ae14);
        assert_eq!(nexthop_index(nets("1.0.0.0/24"), None, 4), 0);
        assert_eq!(nexthop_index(nets("1.0.0.0/24"), None, 7), 5);
        assert_eq!(nexthop_index(nets("1.0.0.0/24"), Some(13335), 4), 3);
        let got = collect("1.0.0.0/24\n", &via(7)).unwrap();
        assert_eq!(got[0].1, via(7)[0xe369_ae14 % 7]);
        // Spreads: 256 /24s over 4 gateways, none empty.
        let mut hits = [0; 4];
        for i in 0..=255u8 {
            hits[nexthop_index(
                Ipv4Net::new(Ipv4Addr::new(1, 2, i, 0), 24).unwrap(),
                None,
                4,
            )] += 1;
        }
        assert!(hits.iter().all(|&h| h > 32), "{hits:?}");
    }

    #[test]
    fn fast_parser_agrees_with_std() {
        for t in [
            "1.0.0.0/24",
            "255.255.255.255/32",
            "0.0.0.0/0",
            "10.1.2.3/9",
        ] {
            assert_eq!(fast_prefix(t.as_bytes()), Some(nets(t)), "{t}");
        }
        for t in [
            "1.0.0/24",
            "01.0.0.0/8",
            "1.0.0.0/024",
            "256.0.0.0/8",
            "1.0.0.0/33",
            "1.0.0.0",
            "1.0.0.0/",
            "1.0.0.0/8x",
            "1..0.0/8",
            "1000.0.0.0/8",
        ] {
            assert_eq!(fast_prefix(t.as_bytes()), None, "{t}");
            assert!(
                net::parse_net(t).is_err() || t == "01.0.0.0/8" || t == "1.0.0.0/024",
                "{t}"
            );
        }
    }

    #[test]
    fn bad_lines_have_line_and_column() {
        let v = via(2);
        assert_eq!(
            collect("1.0.0.0/24 1\n  1.0.0.300/24 5\n", &v).unwrap_err(),
            "t.txt:2:3: invalid prefix `1.0.0.300/24`: `1.0.0.300` is not an IPv4 address"
        );
        assert_eq!(
            collect("1.0.0.0/24 AS5\n", &v).unwrap_err(),
            "t.txt:1:12: invalid origin AS \"AS5\" (expected a number like 13335, or a set like 13335_4567 or {64512,64513})"
        );
        assert_eq!(
            collect("1.0.0.0/24 5 6\n", &v).unwrap_err(),
            "t.txt:1:14: unexpected \"6\" after the origin AS (a line is `prefix [origin-AS]`)"
        );
        assert_eq!(
            collect("\n\n1.0.0.1/24\n", &v).unwrap_err(),
            "t.txt:3:1: prefix 1.0.0.1/24 has host bits set, did you mean 1.0.0.0/24?"
        );
        assert_eq!(
            collect("1.0.0.0/33\n", &v).unwrap_err(),
            "t.txt:1:1: invalid prefix `1.0.0.0/33`: prefix length 33 is out of range (0 to 32)"
        );
        assert_eq!(
            collect("é 1.0.0.0/8 5\n", &v).unwrap_err(),
            "t.txt:1:1: `é` has no prefix length (write it like é/24)"
        );
        assert_eq!(
            collect("1.0.0.0/8 é5\n", &v).unwrap_err().split(':').nth(2),
            Some("11")
        );
        assert!(collect("1.0.0.0/8\n", &[])
            .unwrap_err()
            .contains("no `via`"));
    }

    fn write_file(dir: &Path, name: &str, text: &str, xz: bool) -> PathBuf {
        let p = dir.join(name);
        let f = File::create(&p).unwrap();
        if xz {
            let mut w = xz2::write::XzEncoder::new(f, 6);
            w.write_all(text.as_bytes()).unwrap();
            w.finish().unwrap();
        } else {
            let mut f = f;
            f.write_all(text.as_bytes()).unwrap();
        }
        p
    }

    fn read_all(path: PathBuf, n: u8) -> Result<Vec<(Ipv4Net, Ipv4Addr)>, ConfError> {
        let rf = RouteFileConf {
            path,
            via: via(n),
            metric: 0,
            table: crate::TABLE_MAIN,
        };
        let mut out = Vec::new();
        read(&rf, |p, g| out.push((p, g)))?;
        Ok(out)
    }

    #[test]
    fn plain_and_xz_files_agree() {
        let dir = temp_dir("route_file_plain_xz");
        let text = "1.0.0.0/24 13335\n1.0.4.0/22 38803\n# c\n8.8.8.0/24 15169\n";
        let plain = read_all(write_file(&dir, "t.txt", text, false), 3).unwrap();
        let xz = read_all(write_file(&dir, "t.txt.xz", text, true), 3).unwrap();
        assert_eq!(plain.len(), 3);
        assert_eq!(plain, xz);
        assert_eq!(plain[2], (nets("8.8.8.0/24"), via(3)[15169 % 3]));
    }

    #[test]
    fn only_regular_files_and_bounded_lines() {
        for (path, kind) in [("/dev/zero", "a character device"), ("/tmp", "a directory")] {
            let e = read_all(path.into(), 2).unwrap_err().to_string();
            assert_eq!(
                e,
                format!("{path}: not a regular file ({kind}): a route file must be a regular file")
            );
        }
        let dir = temp_dir("route_file_bounds");
        let fifo = dir.join("fifo");
        let _ = std::fs::remove_file(&fifo);
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let e = read_all(fifo, 2).unwrap_err().to_string();
        assert!(
            e.ends_with("not a regular file (a FIFO): a route file must be a regular file"),
            "{e}"
        );
        // A line with no end, 50 MB long: refused at LINE_MAX, and not quoted.
        let long = format!("1.0.0.0/24 1\n{}", "9".repeat(50 << 20));
        let e = read_all(write_file(&dir, "long.txt", &long, false), 2)
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with(":2:1: line longer than 4096 bytes (a line is `prefix [origin-AS]`)"),
            "{e}"
        );
        // A long token within the line limit is quoted cut short.
        let e = read_all(write_file(&dir, "tok.txt", &"x".repeat(4000), false), 2)
            .unwrap_err()
            .to_string();
        assert!(
            e.len() < 200 && e.contains("… (4000 bytes) is not a prefix"),
            "{e}"
        );
    }

    #[test]
    fn file_errors_name_the_file() {
        let dir = temp_dir("route_file_errors");
        let p = write_file(&dir, "bad.txt.xz", "1.0.0.0/24 1\n1.0.0.0/24 x\n", true);
        let e = read_all(p.clone(), 2).unwrap_err();
        assert_eq!(e.to_string(), format!("{}:2:12: invalid origin AS \"x\" (expected a number like 13335, or a set like 13335_4567 or {{64512,64513}})", p.display()));
        let e = read_all(dir.join("missing.txt"), 2).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("{}: ", dir.join("missing.txt").display())),
            "{e}"
        );
        // Not xz data behind a .xz name: the decoder's error, with the file name.
        let p = write_file(&dir, "fake.txt.xz", "1.0.0.0/24 1\n", false);
        assert!(matches!(read_all(p, 2), Err(ConfError::Io { .. })));
    }

    /// `<repo>/../shared/data`: the real tables; their absence is a failure, not a skip.
    pub(crate) fn data_file(name: &str) -> PathBuf {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data"));
        let p = dir.join(name);
        assert!(
            p.is_file(),
            "test data {} is missing: shared/data must sit beside the repo (see its README.md)",
            p.display()
        );
        p
    }

    #[test]
    fn streams_the_real_rv2_table() {
        let path = data_file("rv2-20240406.ipv4.pfx-origin.txt.xz");
        let rf = RouteFileConf {
            path,
            via: via(4),
            metric: 0,
            table: crate::TABLE_MAIN,
        };
        let (mut per_gw, mut first) = ([0usize; 4], None);
        let t = Instant::now();
        let n = read(&rf, |p, g| {
            first.get_or_insert((p, g));
            per_gw[usize::from(g.octets()[2]) - 1] += 1;
        })
        .unwrap();
        let dt = t.elapsed();
        println!(
            "rv2: {n} routes in {dt:?} ({:.0} ns/route), per gateway {per_gw:?}",
            dt.as_nanos() as f64 / n as f64
        );
        assert_eq!(n, 998_042);
        assert_eq!(first, Some((nets("1.0.0.0/24"), via(4)[13335 % 4])));
        assert!(per_gw.iter().all(|&c| c > 100_000), "{per_gw:?}");
    }

    #[test]
    fn streams_the_real_bart_table() {
        let path = data_file("bart-2024-01.ipv4.pfx.txt.xz");
        let rf = RouteFileConf {
            path,
            via: via(4),
            metric: 0,
            table: crate::TABLE_MAIN,
        };
        let mut per_gw = [0usize; 4];
        let t = Instant::now();
        let n = read(&rf, |_, g| per_gw[usize::from(g.octets()[2]) - 1] += 1).unwrap();
        println!(
            "bart: {n} routes in {:?}, per gateway {per_gw:?}",
            t.elapsed()
        );
        assert_eq!(n, 901_899);
        assert!(per_gw.iter().all(|&c| c > 200_000), "{per_gw:?}");
    }
}
