//! The RIB (routing information base) of the control core: every route from interfaces,
//! the config, route files and the CLI, with its metric. The best route per (table,
//! prefix) (lowest metric; on a tie the one that came first) is what the FIB holds; the
//! others wait, and deleting the best promotes the next. Changes to the best routes are
//! queued as FIB [`Change`]s and applied in batches when the control core publishes.

use fastpath::fib::{mask, Change, Prefix, RouteType};
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::ops::Bound;

/// Where a route came from (iproute2's `proto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// From an interface address (`proto kernel`).
    Kernel,
    /// From the config's `routes` (`proto static`).
    Static,
    /// From a route file (`proto file`).
    File,
    /// Added at run time (`proto cli`).
    Cli,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Kernel => "kernel",
            Source::Static => "static",
            Source::File => "file",
            Source::Cli => "cli",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RibRoute {
    pub metric: u32,
    pub route: RouteType,
    pub source: Source,
    /// The next-hop object the route was given (`nhid N`), if any: a plain `via` to the
    /// same gateway has the same `route` but does not use the object.
    pub nhid: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RibError {
    #[error("a route for {0} with metric {1} already exists in table {2} (use \"route replace\")")]
    Exists(Prefix, u32, u32),
    #[error("no such route: {0}{1} in table {2}")]
    NotFound(Prefix, String, u32),
}

#[derive(Debug, Default, Clone)]
pub struct Rib {
    /// Best route per prefix, per table, in prefix order (so a listing can be read in
    /// pieces, resuming after the last prefix shown).
    best: BTreeMap<u32, BTreeMap<Prefix, RibRoute>>,
    /// The other routes of a (table, prefix), unordered.
    others: FxHashMap<(u32, Prefix), Vec<RibRoute>>,
    /// FIB changes not yet published: (table, change).
    pending: Vec<(u32, Change)>,
}

fn insert_change(p: Prefix, r: &RibRoute) -> Change {
    Change::Insert {
        addr: p.addr,
        len: p.len,
        value: r.route.encode(),
    }
}

impl Rib {
    /// Adds a route. A route with the same metric for the same (table, prefix) is an error,
    /// as `ip route add` (EEXIST).
    pub fn add(&mut self, table: u32, p: Prefix, r: RibRoute) -> Result<(), RibError> {
        let best = self.best.entry(table).or_default();
        match best.get(&p) {
            None => {
                best.insert(p, r);
                self.pending.push((table, insert_change(p, &r)));
            }
            Some(b) => {
                let others = self.others.entry((table, p)).or_default();
                if b.metric == r.metric || others.iter().any(|o| o.metric == r.metric) {
                    return Err(RibError::Exists(p, r.metric, table));
                }
                if r.metric < b.metric {
                    others.push(*b);
                    best.insert(p, r);
                    self.pending.push((table, insert_change(p, &r)));
                } else {
                    others.push(r);
                }
            }
        }
        Ok(())
    }

    /// Replaces the route with the same metric, or adds it (`ip route replace`).
    pub fn replace(&mut self, table: u32, p: Prefix, r: RibRoute) {
        let _ = self.del(table, p, Some(r.metric), None);
        self.add(table, p, r)
            .expect("the same metric was just removed");
    }

    /// Deletes the route matching `metric` and `route` (each None = any; the best matching
    /// one), promoting the next best when it was the best (`ip route del`).
    pub fn del(
        &mut self,
        table: u32,
        p: Prefix,
        metric: Option<u32>,
        route: Option<RouteType>,
    ) -> Result<RibRoute, RibError> {
        let matches = |r: &RibRoute| {
            metric.is_none_or(|m| m == r.metric) && route.is_none_or(|t| t == r.route)
        };
        let not_found = || {
            let what = metric.map(|m| format!(" metric {m}")).unwrap_or_default();
            RibError::NotFound(p, what, table)
        };
        let b = *self.best(table, p).ok_or_else(not_found)?;
        if matches(&b) {
            let next = self.take_other(table, p, |o| (0..o.len()).min_by_key(|&i| o[i].metric));
            let best = self.best.get_mut(&table).expect("has the route just read");
            match next {
                Some(n) => {
                    best.insert(p, n);
                    self.pending.push((table, insert_change(p, &n)));
                }
                None => {
                    best.remove(&p);
                    self.pending.push((
                        table,
                        Change::Remove {
                            addr: p.addr,
                            len: p.len,
                        },
                    ));
                }
            }
            return Ok(b);
        }
        self.take_other(table, p, |o| o.iter().position(matches))
            .ok_or_else(not_found)
    }

    /// Removes and returns the alternative route `pick` chooses, dropping the entry when
    /// it was the last one.
    fn take_other(
        &mut self,
        table: u32,
        p: Prefix,
        pick: impl FnOnce(&[RibRoute]) -> Option<usize>,
    ) -> Option<RibRoute> {
        let o = self.others.get_mut(&(table, p))?;
        let r = o.swap_remove(pick(o)?);
        if o.is_empty() {
            self.others.remove(&(table, p));
        }
        Some(r)
    }

    /// The FIB changes queued since the last call.
    pub fn take_changes(&mut self) -> Vec<(u32, Change)> {
        std::mem::take(&mut self.pending)
    }

    /// Drops queued changes (after a full rebuild from [`Rib::table_routes`]).
    pub fn clear_changes(&mut self) {
        self.pending.clear();
    }

    pub fn best(&self, table: u32, p: Prefix) -> Option<&RibRoute> {
        self.best.get(&table)?.get(&p)
    }

    /// Longest-prefix match among the best routes of `table` (control path: for `route get`).
    pub fn lookup(&self, table: u32, a: Ipv4Addr) -> Option<(Prefix, RibRoute)> {
        let t = self.best.get(&table)?;
        let a = u32::from(a);
        (0..=32u8).rev().find_map(|len| {
            let p = Prefix {
                addr: a & mask(len),
                len,
            };
            t.get(&p).map(|r| (p, *r))
        })
    }

    /// The routes of one prefix in `table`, best first.
    pub fn routes_of(&self, table: u32, p: Prefix) -> Vec<(Prefix, RibRoute, bool)> {
        let best = self.best(table, p).map(|r| (p, *r, true));
        let mut others: Vec<_> = self
            .others
            .get(&(table, p))
            .into_iter()
            .flatten()
            .map(|r| (p, *r, false))
            .collect();
        others.sort_by_key(|r| r.1.metric);
        best.into_iter().chain(others).collect()
    }

    /// The routes of `table` with a prefix after `after` (from the first when None),
    /// best first per prefix, in prefix order, for at most `limit` prefixes; and the last
    /// prefix returned, to resume from (None when the table has no more).
    pub fn routes_after(
        &self,
        table: u32,
        after: Option<Prefix>,
        limit: usize,
    ) -> (Vec<(Prefix, RibRoute, bool)>, Option<Prefix>) {
        let Some(t) = self.best.get(&table) else {
            return (Vec::new(), None);
        };
        let range = match after {
            Some(p) => t.range((Bound::Excluded(p), Bound::Unbounded)),
            None => t.range(..),
        };
        let mut v = Vec::new();
        let mut last = None;
        for (n, (p, _)) in range.enumerate() {
            if n == limit {
                return (v, last);
            }
            v.extend(self.routes_of(table, *p));
            last = Some(*p);
        }
        (v, None)
    }

    /// Deletes every route, in any table, that was given next-hop object `id` (as Linux
    /// does when the object goes); returns how many.
    pub fn del_nhid(&mut self, id: u32) -> usize {
        let uses = |r: &RibRoute| r.nhid == Some(id);
        let mut doomed: Vec<(u32, Prefix, RibRoute)> = Vec::new();
        for (&t, routes) in &self.best {
            doomed.extend(
                routes
                    .iter()
                    .filter(|(_, r)| uses(r))
                    .map(|(p, r)| (t, *p, *r)),
            );
        }
        for (&(t, p), routes) in &self.others {
            doomed.extend(routes.iter().filter(|r| uses(r)).map(|r| (t, p, *r)));
        }
        for (t, p, r) in &doomed {
            let _ = self.del(*t, *p, Some(r.metric), Some(r.route));
        }
        doomed.len()
    }

    /// Points every route that was given next-hop object `id` at `route` (the object was
    /// replaced: `ip nexthop replace`); returns how many.
    pub fn set_nhid_route(&mut self, id: u32, route: RouteType) -> usize {
        let uses = |r: &RibRoute| r.nhid == Some(id);
        let mut moved: Vec<(u32, Prefix, RibRoute)> = Vec::new();
        for (&t, routes) in &self.best {
            moved.extend(
                routes
                    .iter()
                    .filter(|(_, r)| uses(r))
                    .map(|(p, r)| (t, *p, *r)),
            );
        }
        for (&(t, p), routes) in &self.others {
            moved.extend(routes.iter().filter(|r| uses(r)).map(|r| (t, p, *r)));
        }
        for (t, p, r) in &moved {
            let _ = self.del(*t, *p, Some(r.metric), Some(r.route));
            let _ = self.add(*t, *p, RibRoute { route, ..*r });
        }
        moved.len()
    }

    /// The best routes of `table` as FIB input.
    pub fn table_routes(&self, table: u32) -> Vec<(u32, u8, u32)> {
        self.best
            .get(&table)
            .map(|t| {
                t.iter()
                    .map(|(p, r)| (p.addr, p.len, r.route.encode()))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn table_ids(&self) -> Vec<u32> {
        self.best.keys().copied().collect()
    }

    /// Number of prefixes with a route in `table`.
    pub fn len(&self, table: u32) -> usize {
        self.best.get(&table).map_or(0, |t| t.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Prefix {
        let (a, l) = s.split_once('/').unwrap();
        Prefix::new(a.parse().unwrap(), l.parse().unwrap())
    }
    fn r(metric: u32, nh: u32) -> RibRoute {
        RibRoute {
            metric,
            route: RouteType::Unicast(nh),
            source: Source::Cli,
            nhid: None,
        }
    }

    #[test]
    fn listing_resumes_after_the_last_prefix() {
        let mut rib = Rib::default();
        for i in 0..10u32 {
            rib.add(
                254,
                Prefix::new(std::net::Ipv4Addr::from(i << 24), 8),
                r(0, 1),
            )
            .unwrap();
        }
        rib.add(254, p("3.0.0.0/8"), r(5, 2)).unwrap();
        let (a, next) = rib.routes_after(254, None, 4);
        assert_eq!(a.len(), 5, "4 prefixes, one with an alternative: {a:?}");
        assert_eq!(next, Some(p("3.0.0.0/8")));
        let (b, next) = rib.routes_after(254, next, 4);
        assert_eq!(b[0].0, p("4.0.0.0/8"));
        let (c, next) = rib.routes_after(254, next, 4);
        assert_eq!((c.len(), next), (2, None));
        assert_eq!(rib.routes_after(100, None, 4), (Vec::new(), None));
    }

    #[test]
    fn deleting_an_object_deletes_its_routes_not_those_via_the_same_gateway() {
        let mut rib = Rib::default();
        rib.add(254, p("10.0.0.0/8"), r(0, 1)).unwrap();
        rib.add(
            254,
            p("10.0.0.0/8"),
            RibRoute {
                nhid: Some(7),
                ..r(1, 1)
            },
        )
        .unwrap();
        rib.add(
            100,
            p("11.0.0.0/8"),
            RibRoute {
                nhid: Some(7),
                ..r(0, 1)
            },
        )
        .unwrap();
        rib.take_changes();
        assert_eq!(rib.del_nhid(1), 0, "same gateway, no object");
        assert_eq!(rib.del_nhid(7), 2);
        assert_eq!(
            rib.best(254, p("10.0.0.0/8")).unwrap().nhid,
            None,
            "the plain route stays"
        );
        assert_eq!(rib.len(100), 0);
        assert_eq!(
            rib.take_changes(),
            vec![(
                100,
                Change::Remove {
                    addr: 11 << 24,
                    len: 8
                }
            )]
        );
    }

    #[test]
    fn best_metric_wins_and_delete_promotes_the_next() {
        let mut rib = Rib::default();
        let x = p("10.0.0.0/8");
        rib.add(254, x, r(20, 2)).unwrap();
        rib.add(254, x, r(10, 1)).unwrap();
        rib.add(254, x, r(30, 3)).unwrap();
        assert_eq!(rib.add(254, x, r(10, 9)), Err(RibError::Exists(x, 10, 254)));
        assert_eq!(rib.best(254, x).unwrap().metric, 10);
        let ch = rib.take_changes();
        assert_eq!(ch.len(), 2, "first add and the better metric 10: {ch:?}");
        rib.del(254, x, None, None).unwrap();
        assert_eq!(rib.best(254, x).unwrap().metric, 20);
        assert_eq!(
            rib.take_changes(),
            vec![(
                254,
                Change::Insert {
                    addr: x.addr,
                    len: 8,
                    value: RouteType::Unicast(2).encode()
                }
            )]
        );
        rib.del(254, x, Some(30), None).unwrap();
        assert!(
            rib.take_changes().is_empty(),
            "deleting a non-best route changes nothing in the FIB"
        );
        rib.del(254, x, None, None).unwrap();
        assert_eq!(
            rib.take_changes(),
            vec![(
                254,
                Change::Remove {
                    addr: x.addr,
                    len: 8
                }
            )]
        );
        assert!(rib.del(254, x, None, None).is_err());
        assert_eq!(rib.len(254), 0);
    }

    #[test]
    fn replace_and_lookup() {
        let mut rib = Rib::default();
        rib.add(254, p("0.0.0.0/0"), r(0, 1)).unwrap();
        rib.add(254, p("10.1.0.0/16"), r(0, 2)).unwrap();
        rib.replace(254, p("10.1.0.0/16"), r(0, 3));
        let (pf, rr) = rib.lookup(254, "10.1.2.3".parse().unwrap()).unwrap();
        assert_eq!((pf, rr.route), (p("10.1.0.0/16"), RouteType::Unicast(3)));
        assert_eq!(
            rib.lookup(254, "11.0.0.1".parse().unwrap()).unwrap().0,
            p("0.0.0.0/0")
        );
        assert!(rib.lookup(100, "11.0.0.1".parse().unwrap()).is_none());
        assert_eq!(rib.routes_after(254, None, 10).0.len(), 2);
    }
}
