//! The obvious AllowedIPs: a list of (masked prefix, peer) where the longest prefix containing an
//! address wins. The unit tests and the `allowed_ips` fuzz target (through the `test-util`
//! feature) check [`AllowedIps`](super::AllowedIps) against it.

use core::net::IpAddr;

use crate::core::ip_prefix::IpPrefix;
use crate::core::peer_id::PeerId;

#[derive(Default)]
pub struct Model {
    pub entries: Vec<(IpPrefix, PeerId)>,
}

impl Model {
    /// As [`AllowedIps::insert`](super::AllowedIps::insert): the previous owner of the prefix if
    /// it changes hands.
    pub fn insert(&mut self, prefix: IpPrefix, peer: PeerId) -> Option<PeerId> {
        let prefix = prefix.masked();
        match self.entries.iter_mut().find(|(p, _)| *p == prefix) {
            Some(e) if e.1 == peer => None,
            Some(e) => Some(core::mem::replace(&mut e.1, peer)),
            None => {
                self.entries.push((prefix, peer));
                None
            }
        }
    }

    pub fn remove(&mut self, prefix: IpPrefix, peer: PeerId) -> bool {
        let prefix = prefix.masked();
        let before = self.entries.len();
        self.entries.retain(|&(p, o)| !(p == prefix && o == peer));
        self.entries.len() != before
    }

    pub fn remove_peer(&mut self, peer: PeerId) -> usize {
        let before = self.entries.len();
        self.entries.retain(|&(_, o)| o != peer);
        before - self.entries.len()
    }

    pub fn get(&self, prefix: IpPrefix) -> Option<PeerId> {
        let prefix = prefix.masked();
        self.entries.iter().find(|(p, _)| *p == prefix).map(|e| e.1)
    }

    pub fn lookup(&self, addr: IpAddr) -> Option<PeerId> {
        self.entries
            .iter()
            .filter(|(p, _)| p.contains(addr))
            .max_by_key(|(p, _)| p.prefix_len())
            .map(|&(_, peer)| peer)
    }

    /// `peer`'s prefixes, sorted by address and length.
    pub fn prefixes_of(&self, peer: PeerId) -> Vec<IpPrefix> {
        let mut v: Vec<_> = self
            .entries
            .iter()
            .filter(|&&(_, o)| o == peer)
            .map(|&(p, _)| p)
            .collect();
        v.sort_by_key(|p| (p.addr(), p.prefix_len()));
        v
    }
}
