//! ringtun refused its TUN interface: a start whose interface name is taken by another kind of
//! interface exits 1 with one `ringtun: error:` line naming the problem, and no offload warning
//! before it (offload mode is not what failed: the interface is). Needs root (a namespace, TUN):
//! `sudo ./scripts/test.sh --test tun_refusal`.

// `pub`: see tests/common/mod.rs.
pub mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Stdio};

#[test]
#[ignore = "needs root"]
fn a_name_taken_by_another_interface_is_one_error_line() {
    let net = TestNet::new();
    let key = net.key("key");
    // Unique on the machine: the control socket, bound before the TUN device, lives in one
    // directory for every namespace.
    let name = format!("rtt{}x{}", std::process::id(), net.id);
    run_ok(&[
        "ip",
        "link",
        "add",
        &name,
        "netns",
        &net.server_ns,
        "type",
        "veth",
        "peer",
        "name",
        &name,
        "netns",
        &net.client_ns,
    ]);
    let port = PORT.to_string();
    let out = Command::new("ip")
        .args(["netns", "exec", &net.server_ns, &ringtun_bin()])
        .args(["-l", &port, "-k", &key, "-i", &name])
        .stdin(Stdio::null())
        // Offload mode is tried (it is the default), and the lines are plain.
        .env_remove("RINGTUN_NO_OFFLOAD")
        .env_remove("JOURNAL_STREAM")
        .env_remove("NOTIFY_SOCKET")
        .output()
        .expect("run ringtun");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "ringtun: error: cannot create TUN interface {name}: the name is taken by another \
             kind of interface"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("offload"), "{stderr}");
    // The other interface is untouched, and the failed start left no control socket behind.
    let link = ns_run_ok(&net.server_ns, &["ip", "-d", "link", "show", "dev", &name]);
    assert!(link.contains("veth"), "{link}");
    assert!(
        !Path::new(CONTROL_SOCKET_DIR)
            .join(format!("{name}.sock"))
            .exists()
    );
}
