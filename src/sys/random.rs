//! Kernel randomness via getrandom(2): fresh keys, and the core's randomness ([`SysEntropy`]).

use std::io;

use crate::core::entropy::Entropy;

/// The core's [`Entropy`] from the kernel's pool: every draw is a getrandom(2) call, so no
/// generator state lives in the process (see `core::entropy` for why).
#[derive(Debug, Default)]
pub struct SysEntropy;

impl Entropy for SysEntropy {
    /// Aborts the process if getrandom(2) fails: a VPN must not go on without randomness, and
    /// the call cannot fail on a Linux with a working pool (ENOSYS before 3.17, EFAULT on a bad
    /// buffer, which a slice is not).
    fn fill(&mut self, buf: &mut [u8]) {
        if let Err(e) = fill(buf) {
            eprintln!("ringtun: getrandom(2) failed: {e}");
            std::process::abort();
        }
    }
}

/// Fills `buf` entirely from getrandom(2), blocking until the pool is initialised (it is, long
/// before ringtun starts on any real system). Loops on short reads and EINTR.
pub(crate) fn fill(buf: &mut [u8]) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: `rest` is a valid, writable region of exactly `rest.len()` bytes for the call.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        // n >= 0 and at most rest.len() by the syscall's contract.
        done += n as usize;
    }
    Ok(())
}

/// A fresh 32-byte value (key or seed).
pub(crate) fn bytes32() -> io::Result<[u8; 32]> {
    let mut b = [0u8; 32];
    fill(&mut b)?;
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_and_differs() {
        let a = bytes32().unwrap();
        let b = bytes32().unwrap();
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 32]);
        // Larger than one getrandom chunk is still filled to the end.
        let mut big = vec![0u8; 1 << 20];
        fill(&mut big).unwrap();
        assert!(big[big.len() - 64..].iter().any(|&x| x != 0));
        fill(&mut []).unwrap();
    }

    #[test]
    fn sys_entropy_fills_the_whole_buffer() {
        let mut a = [0u8; 100];
        let mut b = [0u8; 100];
        SysEntropy.fill(&mut a);
        SysEntropy.fill(&mut b);
        assert_ne!(a, b);
        assert!(a[90..].iter().any(|&x| x != 0));
    }
}
