//! Log lines in the journal: the real binary prefixes each line with its syslog priority (`<3>`
//! error, `<6>` info) exactly when `$JOURNAL_STREAM` names its stderr, as systemd sets it for a
//! service whose stderr is the journal. Here stderr is a file the test made and the variable is
//! set to that file's device and inode (or to another file's). No root needed.

use std::fs::{self, File};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const RINGTUN: &str = env!("CARGO_BIN_EXE_ringtun");

struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("ringtun-journal-test-{}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn device_inode(path: &Path) -> String {
    let m = fs::metadata(path).unwrap();
    format!("{}:{}", m.dev(), m.ino())
}

/// Runs ringtun with `args`, stderr into `stderr_path`, and `JOURNAL_STREAM` as given; returns
/// the exit code and what it wrote to stderr.
fn run(args: &[&str], stderr_path: &Path, journal_stream: Option<&str>) -> (i32, String) {
    let stderr = File::create(stderr_path).unwrap();
    let mut cmd = Command::new(RINGTUN);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(stderr))
        .env_remove("JOURNAL_STREAM")
        .env_remove("NOTIFY_SOCKET");
    if let Some(v) = journal_stream {
        cmd.env("JOURNAL_STREAM", v);
    }
    let status = cmd.status().unwrap();
    (
        status.code().unwrap(),
        fs::read_to_string(stderr_path).unwrap(),
    )
}

#[test]
fn errors_get_priority_3_when_stderr_is_the_named_stream() {
    let dir = Scratch::new("error");
    let log = dir.0.join("stderr");
    File::create(&log).unwrap();
    let (code, text) = run(&["--no-such-flag"], &log, Some(&device_inode(&log)));
    assert_eq!(code, 2, "{text}");
    assert!(text.starts_with("<3>ringtun: error: "), "{text:?}");
    assert_eq!(text.lines().count(), 1, "{text:?}");
}

#[test]
fn info_lines_get_priority_6() {
    let dir = Scratch::new("info");
    let log = dir.0.join("stderr");
    File::create(&log).unwrap();
    let key = dir.0.join("key");
    let (code, text) = run(
        &["genkey", key.to_str().unwrap()],
        &log,
        Some(&device_inode(&log)),
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.starts_with("<6>ringtun: wrote a new key"), "{text:?}");
}

#[test]
fn no_prefix_when_the_variable_names_another_file_or_is_unset() {
    let dir = Scratch::new("other");
    let log = dir.0.join("stderr");
    let other = dir.0.join("journal-elsewhere");
    File::create(&other).unwrap();
    for journal_stream in [Some(device_inode(&other)), Some("garbage".to_owned()), None] {
        let (code, text) = run(&["--no-such-flag"], &log, journal_stream.as_deref());
        assert_eq!(code, 2, "{text}");
        assert!(
            text.starts_with("ringtun: error: "),
            "{journal_stream:?}: {text:?}"
        );
    }
}
