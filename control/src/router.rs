//! The control core's routing state (the kernel's `fib_frontend.c`): the RIB, the rules,
//! and the snapshot being prepared. Every change goes through here; [`Router::commit`]
//! applies the RIB's queued changes to new table versions (path copying: untouched tables
//! and chunks are shared) and publishes the next snapshot with a new genid.

use crate::rib::Rib;
use fastpath::fib::{Change, Fib, Prefix, Rule, Table, TABLE_LOCAL, TABLE_MAIN};
use fastpath::rcu::Rcu;
use fastpath::snapshot::Snapshot;
use rustc_hash::FxHashMap;
use std::sync::Arc;

#[derive(Clone)]
pub struct Router {
    pub rib: Rib,
    /// Next-hop objects (`ip nexthop`) by id: their config and what routes using them become.
    pub nh_objects: std::collections::BTreeMap<u32, (conf::NexthopConf, fastpath::fib::RouteType)>,
    /// The next snapshot: the published one plus what has not been committed yet.
    pub work: Snapshot,
    /// Where snapshots are published (None until the data plane runs).
    pub rcu: Option<Arc<Rcu<Snapshot>>>,
}

impl Router {
    pub fn new(work: Snapshot) -> Router {
        Router {
            rib: Rib::default(),
            nh_objects: Default::default(),
            work,
            rcu: None,
        }
    }

    /// Replaces the rules and rebuilds every table from the RIB (rules decide whether local
    /// is merged into main, as the kernel's `fib_unmerge`). Committed later.
    pub fn set_rules(&mut self, rules: Vec<Rule>) {
        self.work.fib = Fib::new(rules);
        self.rebuild();
    }

    /// Builds every table from the RIB's best routes (initial load, rule changes).
    pub fn rebuild(&mut self) {
        self.rib.clear_changes();
        let mut fib = Fib::new(self.work.fib.rules().to_vec());
        let merged = fib.default_rules_only();
        let mut by_storage: FxHashMap<u32, Vec<(u32, u8, u32)>> = FxHashMap::default();
        for t in self.rib.table_ids() {
            if merged && t == TABLE_MAIN {
                continue; // filled with local below
            }
            by_storage
                .entry(fib.storage_table(t))
                .or_default()
                .extend(self.rib.table_routes(t));
        }
        if merged {
            // Local first so that, in from_routes' "last wins", main can't override local:
            // push main routes whose prefix is not also local.
            let local: rustc_hash::FxHashSet<(u32, u8)> = self
                .rib
                .table_routes(TABLE_LOCAL)
                .iter()
                .map(|r| (r.0, r.1))
                .collect();
            let main = by_storage.entry(TABLE_MAIN).or_default();
            main.extend(
                self.rib
                    .table_routes(TABLE_MAIN)
                    .into_iter()
                    .filter(|r| !local.contains(&(r.0, r.1))),
            );
        }
        for (id, routes) in by_storage {
            fib.set_table(id, Table::from_routes(&routes));
        }
        self.work.fib = fib;
    }

    /// Applies queued RIB changes to the tables and publishes the result. Returns the
    /// number of FIB changes applied.
    pub fn commit(&mut self) -> usize {
        let changes = self.rib.take_changes();
        let n = changes.len();
        let merged = self.work.fib.default_rules_only();
        let mut by_storage: FxHashMap<u32, Vec<Change>> = FxHashMap::default();
        for (table, c) in changes {
            let c = if merged && (table == TABLE_LOCAL || table == TABLE_MAIN) {
                self.merged_change(c)
            } else {
                c
            };
            by_storage
                .entry(self.work.fib.storage_table(table))
                .or_default()
                .push(c);
        }
        for (id, cs) in by_storage {
            let t = self.work.fib.table(id).cloned().unwrap_or_default();
            self.work.fib.set_table(id, t.update(&cs));
        }
        self.publish();
        n
    }

    /// In the merged main table a prefix holds local's route if local has one, else main's.
    fn merged_change(&self, c: Change) -> Change {
        let (addr, len) = match c {
            Change::Insert { addr, len, .. } | Change::Remove { addr, len } => (addr, len),
        };
        let p = Prefix { addr, len };
        match self
            .rib
            .best(TABLE_LOCAL, p)
            .or_else(|| self.rib.best(TABLE_MAIN, p))
        {
            Some(r) => Change::Insert {
                addr,
                len,
                value: r.route.encode(),
            },
            None => Change::Remove { addr, len },
        }
    }

    /// Waits until no worker reads a snapshot older than the last one published (the
    /// kernel's `synchronize_rcu`: every worker has passed a quiescent state since), or
    /// `timeout` went by; true if it did not time out. After it, every packet is handled
    /// by the new state: a command's answer then means its change is in effect.
    pub fn synchronize(&self, timeout: std::time::Duration) -> bool {
        let Some(rcu) = &self.rcu else {
            return true;
        };
        let end = std::time::Instant::now() + timeout;
        while rcu.reclaim() > 0 {
            if std::time::Instant::now() >= end {
                return false;
            }
            std::thread::yield_now();
        }
        true
    }

    /// Publishes the working snapshot with the next genid.
    pub fn publish(&mut self) {
        self.work.genid += 1;
        if let Some(rcu) = &self.rcu {
            rcu.publish(self.work.clone());
        }
    }
}
