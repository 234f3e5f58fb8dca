//! Next hops (the kernel's `fib_nh`): an output interface and, unless the destination is
//! on-link, a gateway. Routes refer to them by [`NhId`]; identical next hops are shared.

use crate::iface::IfIndex;
use rustc_hash::FxHashMap;
use std::net::Ipv4Addr;

pub type NhId = u32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Nexthop {
    pub iface: IfIndex,
    /// None: on-link (connected route), the destination itself is the neighbour.
    pub gateway: Option<Ipv4Addr>,
}

/// Interned next hops.
#[derive(Debug, Clone, Default)]
pub struct NexthopTable {
    list: Vec<Nexthop>,
    index: FxHashMap<Nexthop, NhId>,
}

impl NexthopTable {
    /// The id of `nh`, adding it if new.
    pub fn intern(&mut self, nh: Nexthop) -> NhId {
        *self.index.entry(nh).or_insert_with(|| {
            self.list.push(nh);
            (self.list.len() - 1) as NhId
        })
    }

    #[inline]
    pub fn get(&self, id: NhId) -> &Nexthop {
        &self.list[id as usize]
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_shares_identical_nexthops() {
        let mut t = NexthopTable::default();
        let a = t.intern(Nexthop { iface: 0, gateway: Some(Ipv4Addr::new(10, 0, 1, 2)) });
        let b = t.intern(Nexthop { iface: 1, gateway: None });
        let c = t.intern(Nexthop { iface: 0, gateway: Some(Ipv4Addr::new(10, 0, 1, 2)) });
        assert_eq!(a, c);
        assert_ne!(a, b);
        assert_eq!(t.len(), 2);
        assert_eq!(t.get(b).iface, 1);
    }
}
