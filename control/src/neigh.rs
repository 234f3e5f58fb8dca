//! The neighbour table's state machine (the kernel's `net/core/neighbour.c` for
//! `arp_tbl`), owned by the control core: entries per (interface, IPv4 address) with
//! Linux's NUD states, their timers and probes, the queue of packets waiting for each
//! (`arp_queue`), and garbage collection within `gc_thresh1/2/3`.
//!
//! Nothing here sends or counts: each operation appends [`Action`]s (solicit, release,
//! discard) that the caller carries out ([`crate::slowpath`]), so the machine runs in
//! unit tests on plain buffers and instants. Workers see the usable entries through
//! [`Neighbours::view`], published with the snapshot, and report use through its flags.

use fastpath::iface::IfIndex;
use fastpath::neigh::{NeighEntry, NeighTable, UseFlags};
use fastpath::punt::Punt;
use fastpath::wire::EthernetAddress;
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// How long after an update a different MAC from a non-gratuitous ARP is ignored
/// (`locktime`, 1 s).
const LOCKTIME: Duration = Duration::from_secs(1);
/// `neigh_forced_gc` spares entries updated this recently.
const FORCED_GC_AGE: Duration = Duration::from_secs(5);
/// `reachable_time` is drawn again this often (`neigh_periodic_work`).
const REACH_REDRAW: Duration = Duration::from_secs(300);

/// The tunables, under the kernel's names (`net.ipv4.neigh.default.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighParams {
    pub base_reachable_time_ms: u32,
    pub delay_first_probe_time: u32,
    pub retrans_time_ms: u32,
    pub ucast_solicit: u32,
    pub mcast_solicit: u32,
    pub gc_stale_time: u32,
    pub gc_thresh1: u32,
    pub gc_thresh2: u32,
    pub gc_thresh3: u32,
    pub unres_qlen: u32,
}

impl Default for NeighParams {
    fn default() -> Self {
        NeighParams {
            base_reachable_time_ms: 30_000,
            delay_first_probe_time: 5,
            retrans_time_ms: 1000,
            ucast_solicit: 3,
            mcast_solicit: 3,
            gc_stale_time: 60,
            gc_thresh1: 128,
            gc_thresh2: 512,
            gc_thresh3: 1024,
            unres_qlen: 101,
        }
    }
}

impl NeighParams {
    fn retrans(&self) -> Duration {
        Duration::from_millis(self.retrans_time_ms.max(1) as u64)
    }
    fn delay_probe(&self) -> Duration {
        Duration::from_secs(self.delay_first_probe_time as u64)
    }
}

/// NUD states (`include/net/neighbour.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nud {
    Incomplete,
    Reachable,
    Stale,
    Delay,
    Probe,
    Failed,
    Noarp,
    Permanent,
}

impl Nud {
    pub const ALL: &'static [Nud] = &[
        Nud::Incomplete,
        Nud::Reachable,
        Nud::Stale,
        Nud::Delay,
        Nud::Probe,
        Nud::Failed,
        Nud::Noarp,
        Nud::Permanent,
    ];

    /// `NUD_VALID`: has a MAC packets can go to.
    pub fn valid(self) -> bool {
        !matches!(self, Nud::Incomplete | Nud::Failed)
    }
    /// `NUD_CONNECTED`.
    fn connected(self) -> bool {
        matches!(self, Nud::Reachable | Nud::Noarp | Nud::Permanent)
    }
    /// Not aged, probed or collected (`NUD_PERMANENT | NUD_NOARP`).
    pub fn is_static(self) -> bool {
        matches!(self, Nud::Noarp | Nud::Permanent)
    }
    /// As `ip neigh` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Nud::Incomplete => "INCOMPLETE",
            Nud::Reachable => "REACHABLE",
            Nud::Stale => "STALE",
            Nud::Delay => "DELAY",
            Nud::Probe => "PROBE",
            Nud::Failed => "FAILED",
            Nud::Noarp => "NOARP",
            Nud::Permanent => "PERMANENT",
        }
    }
}

/// What the caller must do after an operation, in order.
#[derive(Debug)]
pub enum Action<P> {
    /// Send an ARP request for `target` out of `iface`: broadcast, or unicast to `mac` (a
    /// PROBE) (`arp_solicit`).
    Solicit {
        iface: IfIndex,
        target: Ipv4Addr,
        mac: Option<EthernetAddress>,
    },
    /// The neighbour resolved: send this held packet to `mac` (`neigh->output`).
    Release {
        pkt: P,
        punt: Punt,
        mac: EthernetAddress,
    },
    /// Resolution failed: report it to the sender (`arp_error_report`: ICMP host
    /// unreachable) and drop the packet.
    Failed { pkt: P, punt: Punt },
    /// Drop a packet that could not wait: the neighbour's queue or all queues are full,
    /// or no entry could be made.
    Discard { pkt: P, punt: Punt, why: Discard },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discard {
    QueueFull,
    TableFull,
}

/// `neigh_update` flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Update {
    /// `NEIGH_UPDATE_F_OVERRIDE`: a different MAC replaces the known one.
    pub override_mac: bool,
    /// `NEIGH_UPDATE_F_ADMIN`: from the CLI; may change static entries.
    pub admin: bool,
}

struct Entry<P> {
    state: Nud,
    mac: Option<EthernetAddress>,
    confirmed: Instant,
    updated: Instant,
    used: Instant,
    probes: u32,
    timer: Option<Instant>,
    queue: VecDeque<(P, Punt)>,
    slot: u32,
}

/// One entry as `neigh show` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighInfo {
    pub iface: IfIndex,
    pub addr: Ipv4Addr,
    pub mac: Option<EthernetAddress>,
    pub state: Nud,
}

pub struct Neighbours<P> {
    /// The table's parameters (`net.ipv4.neigh.default.*`: `gc_thresh*`, and the
    /// others for interfaces without their own).
    pub params: NeighParams,
    /// Per interface (`net.ipv4.neigh.<dev>.*`), where given.
    pub per_iface: Vec<NeighParams>,
    entries: BTreeMap<(IfIndex, Ipv4Addr), Entry<P>>,
    /// Use flags shared with workers, one per slot.
    used: UseFlags,
    free_slots: Vec<u32>,
    /// Packets held in all queues, and the most that may be.
    held: usize,
    pub hold_max: usize,
    /// Entries that are not static (what `gc_thresh*` count).
    gc_entries: usize,
    /// Something workers see changed since the last [`Neighbours::view`].
    dirty: bool,
    last_flush: Instant,
    last_gc: Instant,
    /// `reachable_time` = base of the interface x this factor, drawn in [0.5, 1.5).
    reach_permille: u64,
    reach_drawn: Instant,
    rng: u64,
}

fn flags(n: usize) -> UseFlags {
    (0..n).map(|_| AtomicBool::new(false)).collect()
}

impl<P> Neighbours<P> {
    pub fn new(params: NeighParams, hold_max: usize, now: Instant) -> Self {
        let mut n = Neighbours {
            params,
            per_iface: Vec::new(),
            entries: BTreeMap::new(),
            used: flags(0),
            free_slots: Vec::new(),
            held: 0,
            hold_max,
            gc_entries: 0,
            dirty: true,
            last_flush: now,
            last_gc: now,
            reach_permille: 1000,
            reach_drawn: now,
            rng: 0x9e37_79b9_7f4a_7c15 ^ now.elapsed().as_nanos() as u64,
        };
        n.draw_reachable_time(now);
        n
    }

    /// `neigh_rand_reach_time`: uniform in [base/2, 3*base/2).
    fn draw_reachable_time(&mut self, now: Instant) {
        // xorshift64*: quality is not a concern, only spreading the timers.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let r = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
        self.reach_permille = 500 + r % 1000;
        self.reach_drawn = now;
    }

    /// The parameters of `iface`.
    pub fn params_of(&self, iface: IfIndex) -> NeighParams {
        self.per_iface
            .get(iface as usize)
            .copied()
            .unwrap_or(self.params)
    }

    /// The current `reachable_time` of `iface`.
    pub fn reachable_time(&self, iface: IfIndex) -> Duration {
        let base = self.params_of(iface).base_reachable_time_ms.max(1) as u64;
        Duration::from_millis(base * self.reach_permille / 1000)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Packets waiting in all queues.
    pub fn held(&self) -> usize {
        self.held
    }

    pub fn state(&self, iface: IfIndex, addr: Ipv4Addr) -> Option<Nud> {
        self.entries.get(&(iface, addr)).map(|e| e.state)
    }

    /// Every entry, by interface then address.
    pub fn entries(&self) -> Vec<NeighInfo> {
        self.entries
            .iter()
            .map(|(&(iface, addr), e)| NeighInfo {
                iface,
                addr,
                mac: e.mac,
                state: e.state,
            })
            .collect()
    }

    /// What workers see: the usable entries. None if nothing changed since last time.
    pub fn view(&mut self) -> Option<NeighTable> {
        if !std::mem::take(&mut self.dirty) {
            return None;
        }
        let map: FxHashMap<_, _> = self
            .entries
            .iter()
            .filter(|(_, e)| e.state.valid())
            .filter_map(|(&(i, a), e)| {
                let mac = e.mac?;
                Some(((i, u32::from(a)), NeighEntry { mac, slot: e.slot }))
            })
            .collect();
        Some(NeighTable::new(map, self.used.clone()))
    }

    fn slot(&mut self) -> u32 {
        if let Some(s) = self.free_slots.pop() {
            return s;
        }
        // Grow the flags (workers get the new array with the next view).
        let old = self.used.len();
        let new = (old * 2).max(64);
        let used = flags(new);
        for (a, b) in self.used.iter().zip(used.iter()) {
            b.store(a.load(Relaxed), Relaxed);
        }
        self.used = used;
        self.free_slots.extend((old as u32 + 1..new as u32).rev());
        self.dirty = true;
        old as u32
    }

    /// Makes an entry in state NONE (here: FAILED with no MAC), running the forced GC
    /// first when the table is full (`neigh_alloc`). None: no room (`table_fulls`).
    fn create(&mut self, key: (IfIndex, Ipv4Addr), now: Instant) -> Option<()> {
        let n = self.gc_entries as u32;
        let p = self.params;
        if n >= p.gc_thresh3 || (n >= p.gc_thresh2 && now >= self.last_flush + FORCED_GC_AGE) {
            let freed = self.forced_gc(now);
            if freed == 0 && self.gc_entries as u32 >= p.gc_thresh3 {
                return None;
            }
        }
        self.insert_none(key, now);
        Some(())
    }

    /// A new entry in state NONE (FAILED without a MAC), confirmed long ago, as
    /// `neigh_alloc` makes it.
    fn insert_none(&mut self, key: (IfIndex, Ipv4Addr), now: Instant) {
        let slot = self.slot();
        let confirmed = now
            .checked_sub(self.reachable_time(key.0) * 2)
            .unwrap_or(now);
        let e = Entry {
            state: Nud::Failed,
            mac: None,
            confirmed,
            updated: now,
            used: now,
            probes: 0,
            timer: None,
            queue: VecDeque::new(),
            slot,
        };
        self.entries.insert(key, e);
        self.gc_entries += 1;
    }

    fn remove(&mut self, key: (IfIndex, Ipv4Addr), out: &mut Vec<Action<P>>) {
        if let Some(e) = self.entries.remove(&key) {
            if !e.state.is_static() {
                self.gc_entries -= 1;
            }
            if e.state.valid() {
                self.dirty = true;
            }
            self.used[e.slot as usize].store(false, Relaxed);
            self.free_slots.push(e.slot);
            self.held -= e.queue.len();
            for (pkt, punt) in e.queue {
                out.push(Action::Failed { pkt, punt });
            }
        }
    }

    /// `neigh_forced_gc`: removes the entries that are not static, not in use, and FAILED
    /// or not updated for 5 s. Unlike Linux, a usable entry that forwarded in the last
    /// 5 s is kept (in Linux a referenced entry is): a flood of new neighbours cannot push
    /// out the ones in use. Returns how many went.
    fn forced_gc(&mut self, now: Instant) -> usize {
        self.last_flush = now;
        let old = now.checked_sub(FORCED_GC_AGE);
        let gone: Vec<_> = self
            .entries
            .iter()
            .filter(|(_, e)| {
                !e.state.is_static()
                    && e.queue.is_empty()
                    && (e.state == Nud::Failed
                        || old.is_some_and(|o| e.updated < o && (!e.state.valid() || e.used < o)))
            })
            .map(|(&k, _)| k)
            .collect();
        let mut none = Vec::new();
        for k in &gone {
            self.remove(*k, &mut none);
        }
        debug_assert!(none.is_empty());
        gone.len()
    }

    /// `neigh_event_send` without a packet: makes `addr`'s entry on `iface` if there is
    /// none, and starts resolving it unless it is usable. Some(MAC) if it is usable (a
    /// STALE one goes DELAY), Some(None) if it is being resolved, None if the table has
    /// no room for it.
    pub fn event_send(
        &mut self,
        iface: IfIndex,
        addr: Ipv4Addr,
        now: Instant,
        out: &mut Vec<Action<P>>,
    ) -> Option<Option<EthernetAddress>> {
        let key = (iface, addr);
        if !self.entries.contains_key(&key) {
            self.create(key, now)?;
        }
        let p = self.params_of(iface);
        let e = self.entries.get_mut(&key).expect("just made");
        e.used = now;
        match e.state {
            s if s.valid() => {
                if s == Nud::Stale {
                    e.state = Nud::Delay;
                    e.updated = now;
                    e.timer = Some(now + p.delay_probe());
                }
                return Some(Some(e.mac.expect("valid entries have a MAC")));
            }
            Nud::Failed => {
                // Start resolving: mcast_solicit broadcast probes, retrans_time apart.
                e.state = Nud::Incomplete;
                e.updated = now;
                e.probes = p.ucast_solicit;
                e.timer = Some(now + p.retrans());
                e.probes += 1;
                out.push(Action::Solicit {
                    iface,
                    target: addr,
                    mac: None,
                });
            }
            _ => {}
        }
        Some(None)
    }

    /// A packet for `addr` on `iface` that a worker could not send (`neigh_resolve_output`
    /// -> `__neigh_event_send`).
    pub fn resolve(
        &mut self,
        iface: IfIndex,
        addr: Ipv4Addr,
        pkt: P,
        punt: Punt,
        now: Instant,
        out: &mut Vec<Action<P>>,
    ) {
        match self.event_send(iface, addr, now, out) {
            None => {
                out.push(Action::Discard {
                    pkt,
                    punt,
                    why: Discard::TableFull,
                });
                return;
            }
            // Usable: the worker's view was older than the entry.
            Some(Some(mac)) => {
                out.push(Action::Release { pkt, punt, mac });
                return;
            }
            Some(None) => {}
        }
        let p = self.params_of(iface);
        if self.held >= self.hold_max {
            out.push(Action::Discard {
                pkt,
                punt,
                why: Discard::QueueFull,
            });
            return;
        }
        let e = self.entries.get_mut(&(iface, addr)).expect("made above");
        if e.queue.len() >= p.unres_qlen.max(1) as usize {
            // The oldest goes, as Linux's __neigh_event_send.
            let (pkt, punt) = e.queue.pop_front().expect("full queue");
            self.held -= 1;
            out.push(Action::Discard {
                pkt,
                punt,
                why: Discard::QueueFull,
            });
        }
        e.queue.push_back((pkt, punt));
        self.held += 1;
    }

    /// `neigh_event_ns`: an ARP request for us from `addr` at `mac` makes or updates its
    /// entry, STALE (a neighbour that asks is likely to be talked to). False if the table
    /// has no room.
    pub fn event_ns(
        &mut self,
        iface: IfIndex,
        addr: Ipv4Addr,
        mac: EthernetAddress,
        now: Instant,
        out: &mut Vec<Action<P>>,
    ) -> bool {
        let key = (iface, addr);
        if !self.entries.contains_key(&key) && self.create(key, now).is_none() {
            return false;
        }
        let flags = Update {
            override_mac: true,
            admin: false,
        };
        self.update(iface, addr, Some(mac), Nud::Stale, flags, now, out);
        true
    }

    /// An ARP frame from `addr` at `mac` seen on `iface` for an existing entry
    /// (`arp_process`'s update): REACHABLE for a unicast reply, else STALE; a different MAC
    /// replaces the known one only after `locktime`, or from gratuitous ARP.
    #[allow(clippy::too_many_arguments)]
    pub fn arp_seen(
        &mut self,
        iface: IfIndex,
        addr: Ipv4Addr,
        mac: EthernetAddress,
        reachable: bool,
        garp: bool,
        now: Instant,
        out: &mut Vec<Action<P>>,
    ) -> bool {
        let Some(e) = self
            .entries
            .get(&(iface, addr))
            .filter(|e| !e.state.is_static())
        else {
            // No entry, or a static one ARP cannot change (`neigh_update` without ADMIN).
            return false;
        };
        let override_mac = now > e.updated + LOCKTIME || garp;
        let state = if reachable {
            Nud::Reachable
        } else {
            Nud::Stale
        };
        let flags = Update {
            override_mac,
            admin: false,
        };
        self.update(iface, addr, Some(mac), state, flags, now, out);
        true
    }

    /// `neigh_add`/`neigh replace` from the CLI: makes the entry if needed (static
    /// entries do not count against `gc_thresh3`).
    pub fn admin_set(
        &mut self,
        iface: IfIndex,
        addr: Ipv4Addr,
        mac: EthernetAddress,
        state: Nud,
        now: Instant,
        out: &mut Vec<Action<P>>,
    ) {
        let key = (iface, addr);
        if !self.entries.contains_key(&key) {
            self.insert_none(key, now);
        }
        let flags = Update {
            override_mac: true,
            admin: true,
        };
        self.update(iface, addr, Some(mac), state, flags, now, out);
    }

    /// `neigh del`: the entry goes; what waited in it is reported failed, as Linux.
    pub fn admin_del(&mut self, iface: IfIndex, addr: Ipv4Addr, out: &mut Vec<Action<P>>) -> bool {
        let found = self.entries.contains_key(&(iface, addr));
        self.remove((iface, addr), out);
        found
    }

    /// `neigh flush dev P`: every entry of `iface` that is not static. Returns how many.
    pub fn flush(&mut self, iface: Option<IfIndex>, out: &mut Vec<Action<P>>) -> usize {
        let keys: Vec<_> = self
            .entries
            .iter()
            .filter(|(&(i, _), e)| iface.is_none_or(|f| f == i) && !e.state.is_static())
            .map(|(&k, _)| k)
            .collect();
        for k in &keys {
            self.remove(*k, out);
        }
        keys.len()
    }

    /// `__neigh_update`.
    #[allow(clippy::too_many_arguments)]
    fn update(
        &mut self,
        iface: IfIndex,
        addr: Ipv4Addr,
        lladdr: Option<EthernetAddress>,
        mut new: Nud,
        flags: Update,
        now: Instant,
        out: &mut Vec<Action<P>>,
    ) {
        let reach = self.reachable_time(iface);
        let base2 = Duration::from_millis(self.params_of(iface).base_reachable_time_ms as u64 * 2);
        let Some(e) = self.entries.get_mut(&(iface, addr)) else {
            return;
        };
        let old = e.state;
        if old.is_static() && !flags.admin {
            return;
        }
        let mut mac = lladdr.or(e.mac);
        if old.valid() {
            if mac != e.mac && !flags.override_mac {
                return;
            }
            if mac == e.mac && new == Nud::Stale && !flags.admin {
                new = old;
            }
        }
        if mac.is_none() {
            mac = e.mac;
        }
        if new.connected() {
            e.confirmed = now;
        }
        if new != old || mac != e.mac {
            e.updated = now;
        }
        if new != old {
            e.timer = match new {
                Nud::Reachable => Some(now + reach),
                Nud::Delay | Nud::Probe | Nud::Incomplete => Some(now),
                _ => None,
            };
            if new == Nud::Probe {
                e.probes = 0;
            }
            if old.is_static() != new.is_static() {
                if new.is_static() {
                    self.gc_entries -= 1;
                } else {
                    self.gc_entries += 1;
                }
            }
            e.state = new;
        }
        if mac != e.mac {
            e.mac = mac;
            if !new.connected() {
                e.confirmed = now.checked_sub(base2).unwrap_or(now);
            }
        }
        if new.valid() != old.valid() || e.mac != mac || new != old {
            self.dirty = true;
        }
        if !old.valid() && new.valid() {
            let mac = e.mac.expect("valid entries have a MAC");
            self.held -= e.queue.len();
            for (pkt, punt) in e.queue.drain(..) {
                out.push(Action::Release { pkt, punt, mac });
            }
        }
    }

    /// `neigh_timer_handler` for every entry whose timer is due, what workers reported
    /// using since the last call, and `neigh_periodic_work`'s GC. Call it every few ms.
    pub fn tick(&mut self, now: Instant, out: &mut Vec<Action<P>>) {
        if now >= self.reach_drawn + REACH_REDRAW {
            self.draw_reachable_time(now);
        }
        let (per_iface, default, permille) = (&self.per_iface, self.params, self.reach_permille);
        let mut failed = Vec::new();
        for (&(iface, addr), e) in self.entries.iter_mut() {
            let p = per_iface.get(iface as usize).copied().unwrap_or(default);
            let reach =
                Duration::from_millis(p.base_reachable_time_ms.max(1) as u64 * permille / 1000);
            if self.used[e.slot as usize].swap(false, Relaxed) {
                e.used = now;
                if e.state == Nud::Stale {
                    e.state = Nud::Delay;
                    e.updated = now;
                    e.timer = Some(now + p.delay_probe());
                    self.dirty = true;
                }
            }
            let Some(due) = e.timer else { continue };
            if now < due {
                continue;
            }
            let mut next = now + p.retrans();
            match e.state {
                Nud::Reachable => {
                    if now <= e.confirmed + reach {
                        next = e.confirmed + reach;
                    } else if now <= e.used + p.delay_probe() {
                        e.state = Nud::Delay;
                        e.updated = now;
                        next = now + p.delay_probe();
                    } else {
                        e.state = Nud::Stale;
                        e.updated = now;
                        e.timer = None;
                        continue;
                    }
                }
                Nud::Delay => {
                    if now <= e.confirmed + p.delay_probe() {
                        e.state = Nud::Reachable;
                        e.updated = now;
                        next = e.confirmed + reach;
                    } else {
                        e.state = Nud::Probe;
                        e.updated = now;
                        e.probes = 0;
                    }
                }
                _ => {}
            }
            if matches!(e.state, Nud::Incomplete | Nud::Probe) {
                let max = p.ucast_solicit
                    + if e.state == Nud::Probe {
                        0
                    } else {
                        p.mcast_solicit
                    };
                if e.probes >= max {
                    // neigh_invalidate: the queue is reported failed.
                    if e.state == Nud::Probe {
                        self.dirty = true;
                    }
                    e.state = Nud::Failed;
                    e.updated = now;
                    e.timer = None;
                    failed.push((iface, addr));
                    continue;
                }
                // arp_solicit: unicast to the known MAC while ucast probes last.
                let unicast = e.probes < p.ucast_solicit;
                e.probes += 1;
                out.push(Action::Solicit {
                    iface,
                    target: addr,
                    mac: if unicast { e.mac } else { None },
                });
            }
            e.timer = Some(next);
        }
        for key in failed {
            let e = self.entries.get_mut(&key).expect("in the table");
            self.held -= e.queue.len();
            for (pkt, punt) in e.queue.drain(..) {
                out.push(Action::Failed { pkt, punt });
            }
        }
        self.periodic_gc(now);
    }

    /// `neigh_periodic_work`, every `base_reachable_time / 2`: above `gc_thresh1`, FAILED
    /// entries and those unused for `gc_stale_time` go (not static ones, nor ones a timer
    /// runs for).
    fn periodic_gc(&mut self, now: Instant) {
        let every = Duration::from_millis(self.params.base_reachable_time_ms as u64 / 2);
        if now < self.last_gc + every {
            return;
        }
        self.last_gc = now;
        if (self.gc_entries as u32) < self.params.gc_thresh1 {
            return;
        }
        let (per_iface, default) = (&self.per_iface, self.params);
        let gone: Vec<_> = self
            .entries
            .iter_mut()
            .filter_map(|(&k, e)| {
                if e.state.is_static() || e.timer.is_some() {
                    return None;
                }
                let p = per_iface.get(k.0 as usize).copied().unwrap_or(default);
                let stale = Duration::from_secs(p.gc_stale_time as u64);
                e.used = e.used.max(e.confirmed);
                (e.state == Nud::Failed || now > e.used + stale).then_some(k)
            })
            .collect();
        let mut none = Vec::new();
        for k in gone {
            self.remove(k, &mut none);
        }
        debug_assert!(none.is_empty(), "entries without a timer hold no packets");
    }

    /// Everything still held, for shutdown.
    pub fn drain_held(&mut self) -> Vec<(P, Punt)> {
        self.held = 0;
        self.entries
            .values_mut()
            .flat_map(|e| e.queue.drain(..))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
    const MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 2, 2]);

    fn punt() -> Punt {
        Punt::Resolve {
            out_if: 1,
            nexthop: HOST,
            mtu: 1500,
            forwarded: true,
        }
    }

    fn table(now: Instant) -> Neighbours<u32> {
        Neighbours::new(NeighParams::default(), 1000, now)
    }

    fn solicits(out: &[Action<u32>]) -> Vec<Option<EthernetAddress>> {
        out.iter()
            .filter_map(|a| match a {
                Action::Solicit { mac, .. } => Some(*mac),
                _ => None,
            })
            .collect()
    }

    fn released(out: &[Action<u32>]) -> Vec<u32> {
        out.iter()
            .filter_map(|a| match a {
                Action::Release { pkt, mac, .. } if *mac == MAC => Some(*pkt),
                _ => None,
            })
            .collect()
    }

    fn failed(out: &[Action<u32>]) -> Vec<u32> {
        out.iter()
            .filter_map(|a| match a {
                Action::Failed { pkt, .. } => Some(*pkt),
                _ => None,
            })
            .collect()
    }

    /// Runs the timers every 10 ms from `from` to `to`.
    fn run(n: &mut Neighbours<u32>, from: Instant, to: Instant, out: &mut Vec<Action<u32>>) {
        let mut t = from;
        while t <= to {
            n.tick(t, out);
            t += Duration::from_millis(10);
        }
    }

    #[test]
    fn resolves_and_releases_in_order() {
        let t0 = Instant::now();
        let mut n = table(t0);
        let mut out = Vec::new();
        for p in 1..=3 {
            n.resolve(1, HOST, p, punt(), t0, &mut out);
        }
        // One broadcast request at once, the packets held.
        assert_eq!(solicits(&out), [None]);
        assert_eq!(n.state(1, HOST), Some(Nud::Incomplete));
        assert_eq!(n.held(), 3);
        assert!(n.view().unwrap().lookup(1, HOST).is_none());
        out.clear();
        // A unicast reply: REACHABLE, the queue leaves in order, workers see the MAC.
        assert!(n.arp_seen(
            1,
            HOST,
            MAC,
            true,
            false,
            t0 + Duration::from_millis(1),
            &mut out
        ));
        assert_eq!(released(&out), [1, 2, 3]);
        assert_eq!(n.state(1, HOST), Some(Nud::Reachable));
        assert_eq!(n.held(), 0);
        assert_eq!(n.view().unwrap().lookup(1, HOST), Some(MAC));
    }

    #[test]
    fn fails_after_mcast_solicit_requests_and_reports_the_queue() {
        let t0 = Instant::now();
        let mut n = table(t0);
        let mut out = Vec::new();
        n.resolve(1, HOST, 7, punt(), t0, &mut out);
        run(&mut n, t0, t0 + Duration::from_millis(2990), &mut out);
        // Linux: 3 broadcast requests, 1 s apart, then FAILED at 3 s.
        assert_eq!(solicits(&out), [None, None, None]);
        assert!(failed(&out).is_empty());
        run(
            &mut n,
            t0 + Duration::from_millis(3000),
            t0 + Duration::from_millis(3020),
            &mut out,
        );
        assert_eq!(failed(&out), [7]);
        assert_eq!(n.state(1, HOST), Some(Nud::Failed));
        assert_eq!(n.held(), 0);
        // The next packet starts over.
        out.clear();
        n.resolve(1, HOST, 8, punt(), t0 + Duration::from_secs(4), &mut out);
        assert_eq!(solicits(&out), [None]);
        assert_eq!(n.state(1, HOST), Some(Nud::Incomplete));
    }

    #[test]
    fn stale_in_use_goes_delay_probe_then_fails_or_recovers() {
        let t0 = Instant::now();
        let mut n = table(t0);
        let mut out = Vec::new();
        // Learned from a request: STALE, usable.
        assert!(n.event_ns(1, HOST, MAC, t0, &mut out));
        assert_eq!(n.state(1, HOST), Some(Nud::Stale));
        let view = n.view().unwrap();
        assert_eq!(view.lookup(1, HOST), Some(MAC));
        // A worker sends to it: DELAY, then after delay_first_probe_time PROBE with
        // ucast_solicit unicast probes, then FAILED.
        view.neigh_output(1, HOST);
        n.tick(t0 + Duration::from_millis(10), &mut out);
        assert_eq!(n.state(1, HOST), Some(Nud::Delay));
        run(
            &mut n,
            t0 + Duration::from_millis(20),
            t0 + Duration::from_millis(5000),
            &mut out,
        );
        assert_eq!(n.state(1, HOST), Some(Nud::Delay));
        run(
            &mut n,
            t0 + Duration::from_millis(5020),
            t0 + Duration::from_millis(5030),
            &mut out,
        );
        assert_eq!(n.state(1, HOST), Some(Nud::Probe));
        assert_eq!(solicits(&out), [Some(MAC)]);
        run(
            &mut n,
            t0 + Duration::from_millis(5040),
            t0 + Duration::from_millis(8100),
            &mut out,
        );
        assert_eq!(solicits(&out), [Some(MAC); 3]);
        assert_eq!(n.state(1, HOST), Some(Nud::Failed));
        assert!(
            n.view().unwrap().lookup(1, HOST).is_none(),
            "workers stop using it"
        );
        // Had it answered a probe, it would be REACHABLE again.
        let mut m = table(t0);
        m.event_ns(1, HOST, MAC, t0, &mut out);
        m.view().unwrap().neigh_output(1, HOST);
        run(&mut m, t0, t0 + Duration::from_millis(5100), &mut out);
        assert_eq!(m.state(1, HOST), Some(Nud::Probe));
        m.arp_seen(
            1,
            HOST,
            MAC,
            true,
            false,
            t0 + Duration::from_millis(5200),
            &mut out,
        );
        assert_eq!(m.state(1, HOST), Some(Nud::Reachable));
    }

    #[test]
    fn reachable_ages_to_stale_unless_used() {
        let t0 = Instant::now();
        let mut n = table(t0);
        let mut out = Vec::new();
        n.resolve(1, HOST, 1, punt(), t0, &mut out);
        n.arp_seen(1, HOST, MAC, true, false, t0, &mut out);
        let reach = n.reachable_time(1);
        assert!(reach >= Duration::from_secs(15) && reach < Duration::from_secs(45));
        run(&mut n, t0, t0 + reach + Duration::from_millis(20), &mut out);
        assert_eq!(
            n.state(1, HOST),
            Some(Nud::Stale),
            "unused: STALE, no probe"
        );
        assert!(solicits(&out).len() == 1, "only the first request");
    }

    #[test]
    fn locktime_and_gratuitous_arp() {
        let t0 = Instant::now();
        let mut n = table(t0);
        let mut out = Vec::new();
        let other = EthernetAddress([2, 0, 0, 0, 2, 9]);
        n.resolve(1, HOST, 1, punt(), t0, &mut out);
        n.arp_seen(1, HOST, MAC, true, false, t0, &mut out);
        n.view();
        // Another MAC within locktime is ignored; a gratuitous ARP overrides.
        n.arp_seen(
            1,
            HOST,
            other,
            false,
            false,
            t0 + Duration::from_millis(500),
            &mut out,
        );
        assert_eq!(n.view().map(|v| v.lookup(1, HOST)), None, "nothing changed");
        n.arp_seen(
            1,
            HOST,
            other,
            false,
            true,
            t0 + Duration::from_millis(600),
            &mut out,
        );
        assert_eq!(n.view().unwrap().lookup(1, HOST), Some(other));
        assert_eq!(n.state(1, HOST), Some(Nud::Stale));
        // An update for an address with no entry creates nothing (arp_accept = 0).
        assert!(!n.arp_seen(1, Ipv4Addr::new(10, 0, 2, 3), MAC, true, true, t0, &mut out));
    }

    #[test]
    fn queues_and_table_are_bounded() {
        let t0 = Instant::now();
        let params = NeighParams {
            unres_qlen: 2,
            gc_thresh3: 4,
            gc_thresh2: 4,
            ..NeighParams::default()
        };
        let mut n: Neighbours<u32> = Neighbours::new(params, 5, t0);
        let mut out = Vec::new();
        for p in 0..4 {
            n.resolve(1, HOST, p, punt(), t0, &mut out);
        }
        // unres_qlen 2: the oldest go.
        let dropped: Vec<u32> = out
            .iter()
            .filter_map(|a| match a {
                Action::Discard {
                    pkt,
                    why: Discard::QueueFull,
                    ..
                } => Some(*pkt),
                _ => None,
            })
            .collect();
        assert_eq!(dropped, [0, 1]);
        assert_eq!(n.held(), 2);
        // A flood of new neighbours: at most gc_thresh3 entries, the rest refused.
        out.clear();
        for i in 10..100u32 {
            n.resolve(1, Ipv4Addr::from(0x0a00_0200 + i), i, punt(), t0, &mut out);
        }
        assert_eq!(n.len(), 4);
        assert!(n.held() <= 5);
        let full = out
            .iter()
            .filter(|a| {
                matches!(
                    a,
                    Action::Discard {
                        why: Discard::TableFull,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(full, 90 - 3);
        // Once they failed, new ones get in.
        run(&mut n, t0, t0 + Duration::from_secs(4), &mut out);
        out.clear();
        n.resolve(
            1,
            Ipv4Addr::new(10, 0, 2, 200),
            1,
            punt(),
            t0 + Duration::from_secs(10),
            &mut out,
        );
        assert_eq!(
            n.state(1, Ipv4Addr::new(10, 0, 2, 200)),
            Some(Nud::Incomplete)
        );
    }

    #[test]
    fn a_flood_does_not_push_out_neighbours_in_use() {
        let t0 = Instant::now();
        let params = NeighParams {
            gc_thresh3: 4,
            gc_thresh2: 4,
            ..NeighParams::default()
        };
        let mut n: Neighbours<u32> = Neighbours::new(params, 100, t0);
        let mut out = Vec::new();
        n.resolve(1, HOST, 1, punt(), t0, &mut out);
        n.arp_seen(1, HOST, MAC, true, false, t0, &mut out);
        let view = n.view().unwrap();
        // Much later, still forwarding to HOST, a flood of unknown neighbours.
        let mut t = t0;
        for i in 0..200u32 {
            t += Duration::from_millis(100);
            view.neigh_output(1, HOST);
            n.tick(t, &mut out);
            n.resolve(1, Ipv4Addr::from(0x0a00_0300 + i), i, punt(), t, &mut out);
        }
        assert!(n.len() <= 4);
        assert!(
            n.state(1, HOST).is_some_and(Nud::valid),
            "{:?}",
            n.state(1, HOST)
        );
    }

    #[test]
    fn each_interface_has_its_own_timers() {
        let t0 = Instant::now();
        let mut n = table(t0);
        n.per_iface = vec![
            NeighParams {
                retrans_time_ms: 100,
                ..NeighParams::default()
            },
            NeighParams::default(),
        ];
        let mut out = Vec::new();
        let p0 = Punt::Resolve {
            out_if: 0,
            nexthop: HOST,
            mtu: 1500,
            forwarded: true,
        };
        n.resolve(0, HOST, 1, p0, t0, &mut out);
        n.resolve(1, HOST, 2, punt(), t0, &mut out);
        run(&mut n, t0, t0 + Duration::from_millis(320), &mut out);
        // p0: 3 requests 100 ms apart, FAILED at 300 ms; p1 still on its first second.
        assert_eq!(n.state(0, HOST), Some(Nud::Failed));
        assert_eq!(n.state(1, HOST), Some(Nud::Incomplete));
        assert_eq!(failed(&out), [1]);
    }

    #[test]
    fn static_entries_never_age_and_survive_flush() {
        let t0 = Instant::now();
        let mut n = table(t0);
        let mut out = Vec::new();
        n.admin_set(1, HOST, MAC, Nud::Permanent, t0, &mut out);
        n.view().unwrap().neigh_output(1, HOST);
        run(&mut n, t0, t0 + Duration::from_secs(100), &mut out);
        assert_eq!(n.state(1, HOST), Some(Nud::Permanent));
        assert!(solicits(&out).is_empty());
        // ARP cannot change it; the CLI can.
        let other = EthernetAddress([2, 0, 0, 0, 2, 9]);
        n.arp_seen(
            1,
            HOST,
            other,
            true,
            true,
            t0 + Duration::from_secs(200),
            &mut out,
        );
        assert!(n.view().is_none(), "ARP cannot change a static entry");
        assert_eq!(n.flush(Some(1), &mut out), 0);
        assert!(n.admin_del(1, HOST, &mut out));
        assert_eq!(n.len(), 0);
    }
}

#[cfg(test)]
mod admin_tests {
    use super::*;

    #[test]
    fn admin_stale_on_a_reachable_entry() {
        let t0 = Instant::now();
        let mut n: Neighbours<u32> = Neighbours::new(NeighParams::default(), 10, t0);
        let mut out = Vec::new();
        let host = Ipv4Addr::new(10, 0, 2, 2);
        let mac = EthernetAddress([2, 0, 0, 0, 2, 2]);
        n.event_ns(1, host, mac, t0, &mut out);
        n.arp_seen(1, host, mac, true, false, t0, &mut out);
        n.admin_set(1, host, mac, Nud::Stale, t0, &mut out);
        assert_eq!(n.state(1, host), Some(Nud::Stale));
        n.tick(t0, &mut out);
    }
}
