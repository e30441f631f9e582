//! Big-endian field access for the header views: a [`Field`] is a byte range of a header, and
//! every read or write here is bounds-checked without panicking.
//!
//! The views run `check_len` once, which makes every field they read lie inside the buffer, so the
//! zero fallbacks below never happen; they are there so that no buffer can make an accessor panic.

use core::ops::Range;

/// The byte range of a header field.
pub(crate) type Field = Range<usize>;

/// IPv4's header length (IHL) and TCP's data offset count 32-bit words of this many bytes.
pub(crate) const HEADER_WORD_LEN: usize = 4;

/// The bytes of `f` as an array, `None` if `f` is not `N` bytes inside `b`.
#[inline(always)]
pub(crate) fn array_at<const N: usize>(b: &[u8], f: Field) -> Option<[u8; N]> {
    b.get(f)?.try_into().ok()
}

/// The big-endian `u16` at `f` of `b`, `None` if it is out of bounds.
#[inline(always)]
pub(crate) fn get_u16(b: &[u8], f: Field) -> Option<u16> {
    array_at(b, f).map(u16::from_be_bytes)
}

/// The big-endian `u16` at `f` of `b` (0 out of bounds: callers have checked the length).
#[inline(always)]
pub(crate) fn u16_at(b: &[u8], f: Field) -> u16 {
    get_u16(b, f).unwrap_or(0)
}

/// The big-endian `u32` at `f` of `b` (0 out of bounds: callers have checked the length).
#[inline(always)]
pub(crate) fn u32_at(b: &[u8], f: Field) -> u32 {
    array_at(b, f).map_or(0, u32::from_be_bytes)
}

/// The byte at `i` of `b` (0 out of bounds: callers have checked the length).
#[inline(always)]
pub(crate) fn u8_at(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

/// Writes `v` big-endian at `f` of `b`; a no-op out of bounds (callers have checked the length).
#[inline(always)]
pub(crate) fn set_u16(b: &mut [u8], f: Field, v: u16) {
    if let Some(w) = b.get_mut(f).and_then(|w| <&mut [u8; 2]>::try_from(w).ok()) {
        *w = v.to_be_bytes();
    }
}

/// Writes `v` big-endian at `f` of `b`; a no-op out of bounds (callers have checked the length).
#[inline(always)]
pub(crate) fn set_u32(b: &mut [u8], f: Field, v: u32) {
    if let Some(w) = b.get_mut(f).and_then(|w| <&mut [u8; 4]>::try_from(w).ok()) {
        *w = v.to_be_bytes();
    }
}

/// Writes the byte `v` at `i` of `b`; a no-op out of bounds (callers have checked the length).
#[inline(always)]
pub(crate) fn set_u8(b: &mut [u8], i: usize, v: u8) {
    if let Some(w) = b.get_mut(i) {
        *w = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_in_bounds_only() {
        let mut b = [1u8, 2, 3, 4, 5];
        assert_eq!(get_u16(&b, 0..2), Some(0x0102));
        assert_eq!(get_u16(&b, 4..6), None);
        assert_eq!(get_u16(&b, 0..3), None, "a range of the wrong width");
        assert_eq!(u16_at(&b, 4..6), 0);
        assert_eq!(u32_at(&b, 1..5), 0x0203_0405);
        assert_eq!(u32_at(&b, 2..6), 0);
        assert_eq!(u8_at(&b, 4), 5);
        assert_eq!(u8_at(&b, 5), 0);
        assert_eq!(array_at::<2>(&b, 3..5), Some([4, 5]));
        set_u16(&mut b, 3..5, 0xaabb);
        set_u16(&mut b, 4..6, 0xffff);
        set_u32(&mut b, 0..4, 0x1122_3344);
        set_u32(&mut b, 2..6, 0xffff_ffff);
        set_u8(&mut b, 9, 0xff);
        assert_eq!(b, [0x11, 0x22, 0x33, 0x44, 0xbb]);
        set_u8(&mut b, 4, 7);
        assert_eq!(b[4], 7);
    }
}
