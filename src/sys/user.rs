//! Who this process runs as, for permission checks the kernel does not make for us (the owner of a
//! key file).

/// The effective user id: the one the kernel checks file access against.
pub(crate) fn effective_uid() -> u32 {
    // SAFETY: geteuid(2) takes no arguments, touches no memory of ours and cannot fail.
    unsafe { libc::geteuid() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    /// A file this process creates belongs to its effective (filesystem) user.
    #[test]
    fn matches_the_owner_of_a_new_file() {
        let path = std::env::temp_dir().join(format!("ringtun-test-euid-{}", std::process::id()));
        std::fs::write(&path, b"x").unwrap();
        let owner = std::fs::metadata(&path).unwrap().uid();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(effective_uid(), owner);
    }
}
