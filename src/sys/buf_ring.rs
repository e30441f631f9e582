//! The packet memory of the data plane: one page-aligned, pre-faulted anonymous mapping
//! ([`Region`]) carved into provided-buffer rings (io_uring buffer groups, [`BufRing`]) and their
//! buffers.
//!
//! A provided-buffer ring is an array of `io_uring_buf { addr, len, bid, resv }` entries whose
//! `tail` (the `resv` of entry 0) the application advances with a release store; the kernel takes
//! entries from its private head when a multishot read/recvmsg needs a buffer and reports the
//! buffer id in the completion. Every buffer is at any time in exactly one of three states:
//! in the ring (the kernel may write it), held by the driver (after a completion handed it out as a
//! [`crate::sys::uring::Buf`]), or referenced by an in-flight write/send. This module only does the
//! bookkeeping of the ring; the ownership rules are enforced by `sys::uring`.

use std::io;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU16, Ordering};

/// Size of one `io_uring_buf` ring entry.
pub(crate) const RING_ENTRY_LEN: usize = entry::RESV.end;

/// Byte ranges of `struct io_uring_buf`. In entry 0, `resv` is the ring's shared tail
/// (`struct io_uring_buf_ring`).
mod entry {
    use std::ops::Range;
    pub(super) const ADDR: Range<usize> = 0..8;
    pub(super) const LEN: Range<usize> = 8..12;
    pub(super) const BID: Range<usize> = 12..14;
    pub(super) const RESV: Range<usize> = 14..16;
}

/// Where the kernel reads the ring's tail: the `resv` field of entry 0.
const TAIL_OFFSET: usize = entry::RESV.start;
/// Most entries a provided-buffer ring may have (the kernel's limit).
const MAX_RING_ENTRIES: u16 = 1 << 15;
/// Areas, buffer slots and output buffers start on a cache line (a slot's length is a multiple).
pub(crate) const CACHE_LINE: usize = 64;
/// The page size if sysconf cannot tell (it always can on Linux).
const FALLBACK_PAGE_SIZE: usize = 4096;

/// Rounds `n` up to a multiple of `align` (a power of two).
pub(crate) const fn round_up(n: usize, align: usize) -> usize {
    (n + align - 1) & !(align - 1)
}

pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as usize
    } else {
        FALLBACK_PAGE_SIZE
    }
}

/// One anonymous, private, pre-faulted (`MAP_POPULATE`), page-aligned mapping, zero-filled.
/// Unmapped on drop. Only raw pointers into it are handed out; references to parts of it are created
/// by `sys::uring` for parts the kernel does not own at that moment.
pub(crate) struct Region {
    ptr: NonNull<u8>,
    len: usize,
}

impl Region {
    pub(crate) fn new(len: usize) -> io::Result<Region> {
        let len = round_up(len.max(1), page_size());
        // SAFETY: an anonymous private mapping at an address of the kernel's choosing aliases no
        // existing memory; the result is checked against MAP_FAILED.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr =
            NonNull::new(p.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned 0"))?;
        Ok(Region { ptr, len })
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Raw pointer to byte `offset`. Panics if `offset + len` does not lie inside the region.
    pub(crate) fn ptr_at(&self, offset: usize, len: usize) -> *mut u8 {
        assert!(
            offset.checked_add(len).is_some_and(|end| end <= self.len),
            "region access {offset}+{len} out of {}",
            self.len
        );
        // SAFETY: checked above that offset is inside the mapping (or one past it for len 0).
        unsafe { self.ptr.as_ptr().add(offset) }
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: ptr/len are exactly the mapping created in `new`; whoever owns the region
        // (sys::uring) guarantees that no in-flight kernel operation still references it.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}

// SAFETY: the region is plain memory; moving the owner to another thread is fine.
unsafe impl Send for Region {}

/// Geometry of one buffer group inside a [`Region`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GroupLayout {
    /// Buffer group id (`bgid`).
    pub(crate) bgid: u16,
    /// Number of buffers = ring entries; a power of two, at most 32768.
    pub(crate) entries: u16,
    /// Offset of the ring entries in the region (page aligned).
    pub(crate) ring_offset: usize,
    /// Offset of buffer 0 in the region (cache-line aligned).
    pub(crate) slots_offset: usize,
    /// Distance between two buffers (multiple of 64).
    pub(crate) slot_len: usize,
    /// Bytes at the start of each slot that the kernel does not write (the ring entry's address
    /// points this far into the slot).
    pub(crate) headroom: usize,
    /// Bytes at the end of each slot that the kernel does not write.
    pub(crate) tailroom: usize,
}

impl GroupLayout {
    /// Length the kernel may fill: the slot minus headroom and tailroom.
    pub(crate) fn kernel_len(&self) -> usize {
        self.slot_len - self.headroom - self.tailroom
    }

    pub(crate) fn ring_bytes(&self) -> usize {
        usize::from(self.entries) * RING_ENTRY_LEN
    }

    pub(crate) fn slots_bytes(&self) -> usize {
        usize::from(self.entries) * self.slot_len
    }
}

/// The application side of one provided-buffer ring: a local tail and the count of buffers the
/// kernel may still take. `push` writes an entry, `publish` makes all pushed entries visible.
pub(crate) struct BufRing {
    layout: GroupLayout,
    ring: *mut u8,
    slots: *mut u8,
    /// Next tail to publish (wrapping u16, as the kernel's).
    tail: u16,
    /// Tail the kernel has seen.
    published: u16,
    /// Buffers in the ring that the kernel has not consumed yet (pushed minus taken).
    available: u32,
}

// SAFETY: BufRing holds raw pointers into a Region that its owner (sys::uring::Uring) keeps alive;
// it is moved together with that owner.
unsafe impl Send for BufRing {}

impl BufRing {
    /// A ring over `layout` in `region`, empty. The caller registers it with the kernel.
    pub(crate) fn new(region: &Region, layout: GroupLayout) -> BufRing {
        assert!(layout.entries.is_power_of_two() && layout.entries <= MAX_RING_ENTRIES);
        assert!(layout.ring_offset % page_size() == 0);
        assert!(
            layout.slot_len % CACHE_LINE == 0
                && layout.headroom + layout.tailroom < layout.slot_len
        );
        let ring = region.ptr_at(layout.ring_offset, layout.ring_bytes());
        let slots = region.ptr_at(layout.slots_offset, layout.slots_bytes());
        BufRing {
            layout,
            ring,
            slots,
            tail: 0,
            published: 0,
            available: 0,
        }
    }

    pub(crate) fn layout(&self) -> &GroupLayout {
        &self.layout
    }

    /// Address of the ring entries, for IORING_REGISTER_PBUF_RING.
    pub(crate) fn ring_addr(&self) -> u64 {
        self.ring as u64
    }

    /// Start of buffer `bid`'s slot (before the headroom).
    pub(crate) fn slot_ptr(&self, bid: u16) -> *mut u8 {
        assert!(bid < self.layout.entries, "buffer id {bid} out of range");
        // SAFETY: bid < entries, so the slot lies inside the slots area of the region.
        unsafe { self.slots.add(usize::from(bid) * self.layout.slot_len) }
    }

    /// Puts buffer `bid` back at the tail (not yet visible to the kernel: see `publish`). The caller
    /// guarantees `bid` is not in the ring already (it came out of a completion).
    pub(crate) fn push(&mut self, bid: u16) {
        let addr = self.slot_ptr(bid) as u64 + self.layout.headroom as u64;
        let idx = usize::from(self.tail & (self.layout.entries - 1));
        let entry = types_entry(addr, self.layout.kernel_len() as u32, bid);
        // SAFETY: idx < entries, so the 16-byte entry lies inside the ring area. Entries between the
        // kernel's head and our unpublished tail are not read by the kernel. Bytes 14..16 of entry 0
        // are the shared tail: only addr/len/bid (bytes 0..14) are written here, never the tail.
        unsafe {
            let e = self.ring.add(idx * RING_ENTRY_LEN);
            std::ptr::copy_nonoverlapping(entry.as_ptr(), e, entry::BID.end);
        }
        self.tail = self.tail.wrapping_add(1);
        self.available += 1;
        debug_assert!(self.available <= u32::from(self.layout.entries));
    }

    /// Makes every pushed entry visible to the kernel (one release store of the tail).
    pub(crate) fn publish(&mut self) {
        if self.tail == self.published {
            return;
        }
        // SAFETY: the tail is the u16 at byte 14 of the ring (struct io_uring_buf_ring), 2-aligned
        // because the ring is page-aligned; the kernel reads it with an acquire load, so an atomic
        // release store is the matching protocol.
        let tail = unsafe { AtomicU16::from_ptr(self.ring.add(TAIL_OFFSET).cast::<u16>()) };
        tail.store(self.tail, Ordering::Release);
        self.published = self.tail;
    }

    /// The kernel reported taking one buffer (a completion carried IORING_CQE_F_BUFFER).
    pub(crate) fn taken(&mut self) {
        self.available = self.available.saturating_sub(1);
    }

    /// Buffers the kernel can still take (after the next publish).
    pub(crate) fn available(&self) -> u32 {
        self.available
    }

    pub(crate) fn entries(&self) -> u16 {
        self.layout.entries
    }
}

fn types_entry(addr: u64, len: u32, bid: u16) -> [u8; RING_ENTRY_LEN] {
    let mut e = [0u8; RING_ENTRY_LEN];
    e[entry::ADDR].copy_from_slice(&addr.to_ne_bytes());
    e[entry::LEN].copy_from_slice(&len.to_ne_bytes());
    e[entry::BID].copy_from_slice(&bid.to_ne_bytes());
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(entries: u16) -> GroupLayout {
        GroupLayout {
            bgid: 0,
            entries,
            ring_offset: 0,
            slots_offset: page_size(),
            slot_len: 256,
            headroom: 16,
            tailroom: 16,
        }
    }

    fn read_entry(r: &BufRing, idx: usize) -> (u64, u32, u16) {
        let mut b = [0u8; 16];
        // SAFETY: idx < entries; the kernel does not know this ring (not registered).
        unsafe { std::ptr::copy_nonoverlapping(r.ring.add(idx * 16), b.as_mut_ptr(), 16) };
        (
            u64::from_ne_bytes(b[0..8].try_into().unwrap()),
            u32::from_ne_bytes(b[8..12].try_into().unwrap()),
            u16::from_ne_bytes(b[12..14].try_into().unwrap()),
        )
    }

    fn read_tail(r: &BufRing) -> u16 {
        let mut b = [0u8; 2];
        // SAFETY: bytes 14..16 of the ring, inside the mapping.
        unsafe { std::ptr::copy_nonoverlapping(r.ring.add(14), b.as_mut_ptr(), 2) };
        u16::from_ne_bytes(b)
    }

    #[test]
    fn region_is_page_aligned_and_zeroed() {
        let r = Region::new(10_000).unwrap();
        assert_eq!(r.len() % page_size(), 0);
        assert!(r.len() >= 10_000);
        let p = r.ptr_at(0, r.len());
        assert_eq!(p as usize % page_size(), 0);
        // SAFETY: whole mapping, not shared with the kernel.
        let all = unsafe { std::slice::from_raw_parts(p, r.len()) };
        assert!(all.iter().all(|&b| b == 0));
    }

    #[test]
    #[should_panic(expected = "out of")]
    fn region_bounds_are_checked() {
        let r = Region::new(4096).unwrap();
        r.ptr_at(4000, 200);
    }

    #[test]
    fn push_writes_entries_and_publish_moves_tail_with_wrap() {
        let l = layout(4);
        let region = Region::new(page_size() + 4 * 256).unwrap();
        let mut ring = BufRing::new(&region, l);
        for bid in 0..4 {
            ring.push(bid);
        }
        assert_eq!(read_tail(&ring), 0, "nothing visible before publish");
        ring.publish();
        assert_eq!(read_tail(&ring), 4);
        assert_eq!(ring.available(), 4);
        let base = ring.slot_ptr(0) as u64;
        for i in 0..4usize {
            let (addr, len, bid) = read_entry(&ring, i);
            assert_eq!(bid as usize, i);
            assert_eq!(addr, base + i as u64 * 256 + 16, "headroom skipped");
            assert_eq!(len, 256 - 32);
        }
        // Kernel took two; recycle them in reverse order: they land at indices 0 and 1 (wrapped),
        // and the tail kept in entry 0's reserved bytes survives the write of entry 0.
        ring.taken();
        ring.taken();
        ring.push(1);
        ring.push(0);
        ring.publish();
        assert_eq!(read_tail(&ring), 6);
        assert_eq!(read_entry(&ring, 0).2, 1);
        assert_eq!(read_entry(&ring, 1).2, 0);
        assert_eq!(ring.available(), 4);
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn bad_buffer_id_panics() {
        let region = Region::new(page_size() + 4 * 256).unwrap();
        let ring = BufRing::new(&region, layout(4));
        ring.slot_ptr(4);
    }
}
