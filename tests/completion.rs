//! The bash completion script (`ringtun completion bash`, shipped as dist/completion/ringtun.bash):
//! the committed file is what the binary makes, bash parses it, and sourced in `bash` its function
//! completes what the command line parser takes: the flags of the mode chosen so far (checked
//! against `cli::parse` for every flag of the table), file names after FILE flags, the
//! subcommands, and the interfaces of `ringtun show`. Needs bash; no root.

// `pub`: see tests/common/mod.rs.
pub mod common;

use common::Scratch;

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::Command;

use ringtun::cli::flags::{FLAGS, Modes, Takes};
use ringtun::cli::{self, completion};

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/dist/completion/ringtun.bash");
const SOCKET_GLOB: &str = "/var/run/wireguard/*.sock";

fn generated() -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ringtun"))
        .args(["completion", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// Runs the script's completion function in `bash` for the command line `words` (the last one is
/// the word being completed), in directory `cwd`, with the control sockets looked up in
/// `socket_dir`; returns COMPREPLY.
fn complete_in(words: &[&str], cwd: &Path, socket_dir: &Path) -> Vec<String> {
    let script = generated();
    assert_eq!(script.matches(SOCKET_GLOB).count(), 1, "{SOCKET_GLOB}");
    let script = script.replace(SOCKET_GLOB, &format!("{}/*.sock", socket_dir.display()));
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c"])
        .arg(
            r#"eval "$1" || exit 9
               COMP_WORDS=("${@:2}"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
               _ringtun; status=$?
               (( ${#COMPREPLY[@]} )) && printf '%s\n' "${COMPREPLY[@]}"
               exit $status"#,
        )
        .arg("bash")
        .arg(&script)
        .arg("ringtun")
        .args(words)
        .current_dir(cwd)
        .output()
        .expect("bash is needed");
    assert_ne!(out.status.code(), Some(9), "the script failed: {out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // compopt complains outside a real completion; nothing else may.
    for line in stderr.lines() {
        assert!(line.contains("compopt"), "{words:?}: {stderr}");
    }
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn complete(words: &[&str]) -> Vec<String> {
    let scratch = Scratch::new("plain");
    complete_in(words, &scratch.0, &scratch.0.join("no-sockets"))
}

fn set(words: &[String]) -> BTreeSet<String> {
    words.iter().cloned().collect()
}

#[test]
fn committed_script_is_the_generated_one() {
    let committed = fs::read_to_string(COMMITTED).unwrap();
    assert!(
        committed == generated(),
        "dist/completion/ringtun.bash is stale: regenerate it with\n  \
         cargo run -- completion bash > dist/completion/ringtun.bash"
    );
}

#[test]
fn bash_parses_it() {
    let out = Command::new("bash")
        .args(["-n", COMMITTED])
        .output()
        .expect("bash is needed");
    assert!(out.status.success(), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
}

/// Before a mode is chosen every flag of a way of running is offered; once one is, exactly the
/// flags of the table that belong to it, and `cli::parse` takes each of those in that mode.
#[test]
fn flags_follow_the_mode_chosen_so_far() {
    let everything: BTreeSet<String> = FLAGS
        .iter()
        .filter(|f| f.modes.overlaps(Modes::RUN))
        .flat_map(|f| [format!("-{}", f.short), format!("--{}", f.long)])
        .collect();
    assert_eq!(set(&complete(&["-"])), everything);
    let long: BTreeSet<String> = everything
        .iter()
        .filter(|w| w.starts_with("--"))
        .cloned()
        .collect();
    assert_eq!(set(&complete(&["--"])), long);

    let modes: [(&[&str], Modes); 5] = [
        (&["-c", "/x/wg0.conf"], Modes::CONFIG),
        (&["--listen", "51820"], Modes::SERVER),
        (&["-s", "host:51820"], Modes::CLIENT),
        (&["-K", "25", "-s", "host:51820"], Modes::CLIENT),
        (&["wg0"], Modes::INTERFACE),
    ];
    for (given, mode) in modes {
        let mut words = given.to_vec();
        words.push("-");
        let offered = set(&complete(&words));
        let given_once: Vec<&str> = given
            .iter()
            .filter_map(|w| cli::flags::find(w))
            .filter(|f| matches!(f.takes, Takes::Value | Takes::Switch))
            .map(|f| f.short)
            .collect();
        for f in &FLAGS {
            let forms = [format!("-{}", f.short), format!("--{}", f.long)];
            let expected = f.modes.overlaps(mode) && !given_once.contains(&f.short);
            for form in &forms {
                assert_eq!(offered.contains(form), expected, "{form} after {given:?}");
            }
            if !expected {
                continue;
            }
            // The parser agrees: the flag belongs to this command line.
            let mut args: Vec<String> = given.iter().map(|w| w.to_string()).collect();
            args.push(forms[1].clone());
            if matches!(f.takes, Takes::Value | Takes::Values) {
                args.push("x".to_string());
            }
            if let Err(e) = cli::parse(&args) {
                let e = e.to_string();
                assert!(
                    !e.contains("is not for") && !e.contains("unknown option"),
                    "{args:?}: {e}"
                );
            }
        }
    }
    // An interface's IFNAME is a new name: nothing to offer for it, and flags after `--` are none.
    assert!(complete(&["-f", ""]).is_empty());
    assert!(complete(&["--", "-"]).is_empty());
    // Once the mode is known, an empty word gets its flags.
    assert!(complete(&["-c", "wg0.conf", ""]).contains(&"-i".to_string()));
}

#[test]
fn subcommands_first() {
    assert_eq!(complete(&["sh"]), ["show"]);
    assert_eq!(complete(&["gen"]), ["genkey", "genpsk"]);
    let all = set(&complete(&[""]));
    let expected: BTreeSet<String> = completion::SUBCOMMANDS
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(all, expected);
    assert!(!all.contains("selftest"));
    assert_eq!(complete(&["completion", ""]), ["bash"]);
    assert_eq!(complete(&["pubkey", "-"]), ["-h", "--help"]);
    // Nothing else goes after it.
    assert_eq!(complete(&["genpsk", ""]), ["-h", "--help"]);
}

#[test]
fn file_names_after_file_flags() {
    let scratch = Scratch::new("files");
    let dir = &scratch.0;
    fs::write(dir.join("wg0.conf"), "").unwrap();
    fs::write(dir.join("wg1.conf"), "").unwrap();
    fs::write(dir.join("secret.key"), "").unwrap();
    fs::create_dir(dir.join("keys")).unwrap();
    let none = dir.join("no-sockets");
    let files = |words: &[&str]| set(&complete_in(words, dir, &none));
    let names =
        |list: &[&str]| -> BTreeSet<String> { list.iter().map(|s| s.to_string()).collect() };
    assert_eq!(files(&["-c", "wg"]), names(&["wg0.conf", "wg1.conf"]));
    assert_eq!(
        files(&["-v", "-c", ""]),
        names(&["wg0.conf", "wg1.conf", "secret.key", "keys"])
    );
    assert_eq!(files(&["-l", "1", "--key", "s"]), names(&["secret.key"]));
    assert_eq!(files(&["-vk", "k"]), names(&["keys"]));
    // --config=wg as bash splits it (at '='), and as one word.
    assert_eq!(files(&["--config", "=", "wg1"]), names(&["wg1.conf"]));
    assert_eq!(
        files(&["--config", "="]),
        names(&["wg0.conf", "wg1.conf", "secret.key", "keys"])
    );
    assert_eq!(files(&["--config=wg0"]), names(&["--config=wg0.conf"]));
    assert_eq!(files(&["genkey", "se"]), names(&["secret.key"]));
    assert!(files(&["genkey", "x", ""]).is_empty());
    // Values that are typed, not files: nothing offered.
    assert!(files(&["-l", ""]).is_empty());
    assert!(files(&["-s", "wg"]).is_empty());
    // After -c's value, a flag again.
    assert!(files(&["-c", "wg0.conf", "-"]).contains("--interface"));
}

#[test]
fn show_completes_interfaces_with_a_control_socket() {
    let scratch = Scratch::new("show");
    let sockets = scratch.0.join("wireguard");
    fs::create_dir(&sockets).unwrap();
    let _wg0 = UnixListener::bind(sockets.join("wg0.sock")).unwrap();
    let _wg7 = UnixListener::bind(sockets.join("wg7.sock")).unwrap();
    let _tun = UnixListener::bind(sockets.join("tun9.sock")).unwrap();
    // Not a socket, and not a .sock: not interfaces.
    fs::write(sockets.join("stale.sock"), "").unwrap();
    fs::write(sockets.join("wg5.name"), "").unwrap();
    let show = |words: &[&str]| complete_in(words, &scratch.0, &sockets);
    assert_eq!(show(&["show", ""]), ["tun9", "wg0", "wg7"]);
    assert_eq!(show(&["show", "wg"]), ["wg0", "wg7"]);
    assert_eq!(show(&["show", "--json", "t"]), ["tun9"]);
    assert!(show(&["show", "wg0", ""]).is_empty());
    assert_eq!(show(&["show", "wg0", "--j"]), ["--json"]);
    let flags = set(&show(&["show", "-"]));
    let expected: BTreeSet<String> = completion::SHOW_FLAGS
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(flags, expected);
    assert!(flags.contains("--json"));
    // No socket directory at all: nothing, and no error.
    assert!(complete(&["show", ""]).is_empty());
}

/// The install step names the file this test checks, in the README and the manual page.
#[test]
fn install_step_is_documented() {
    let root = env!("CARGO_MANIFEST_DIR");
    for doc in ["README.md", "docs/ringtun.8"] {
        let text = fs::read_to_string(Path::new(root).join(doc)).unwrap();
        for needle in [
            "dist/completion/ringtun.bash",
            "/usr/share/bash-completion/completions/ringtun",
            "bashcompinit",
        ] {
            let needle_roff = needle.replace('-', "\\-");
            assert!(
                text.contains(needle) || text.contains(&needle_roff),
                "{doc} lacks {needle}"
            );
        }
    }
}
