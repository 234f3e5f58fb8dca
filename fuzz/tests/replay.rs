//! Replays the committed corpus (`fuzz/corpus/<target>/`) and the inputs of past
//! findings (`fuzz/regressions/<target>/`) through every target: none may panic.

use fastpath_fuzz::targets::{run, TARGETS};
use std::path::Path;

fn replay(dir: &str, need: bool) {
    let mut failed = Vec::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    for t in TARGETS {
        let d = root.join(t);
        let Ok(entries) = std::fs::read_dir(&d) else {
            assert!(!need, "no corpus for {t} in {}", d.display());
            continue;
        };
        let mut n = 0;
        for e in entries {
            let p = e.unwrap().path();
            let data = std::fs::read(&p).unwrap();
            let r = std::panic::catch_unwind(|| run(t, &data));
            if r.is_err() {
                failed.push(format!("{t}: {}", p.display()));
            }
            n += 1;
        }
        assert!(!need || n > 0, "empty corpus for {t}");
    }
    assert!(
        failed.is_empty(),
        "{} inputs fail:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

#[test]
fn corpus_replays() {
    replay("corpus", true);
}

#[test]
fn regressions_replay() {
    replay("regressions", false);
}

/// The warm-up does what the pipeline target counts on: the flow offloaded, the PMTU
/// learnt (and published), frames sent and checked; and a broken invariant is caught.
#[test]
fn the_harness_sees_what_it_checks() {
    use fastpath::stats::Stat;
    use fastpath_fuzz::harness::{stats, warm_up, Harness};
    let (ws, cs) = stats();
    let mut h = Harness::new(&ws, &cs);
    let genid = h.snap.genid;
    warm_up(&mut h);
    let (w, c) = (ws.snapshot(), cs.snapshot());
    assert!(w.get(Stat::Forwarded) >= 6, "{w:?}");
    assert_eq!(w.get(Stat::FlowOffloads), 1, "{w:?}");
    assert_eq!(c.get(Stat::PmtuUpdates), 1, "{c:?}");
    assert_eq!(h.snap.exceptions.len(), 1);
    assert!(h.snap.genid > genid);
    assert!(h.tx >= 6);
    h.finish();
    // A frame counted twice breaks the accounting.
    let (ws, cs) = stats();
    let h = Harness::new(&ws, &cs);
    ws.inc(Stat::Forwarded);
    assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h.finish())).is_err());
}
