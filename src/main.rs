//! `ringtun`: parse the command line, run, and turn every failure into one line on stderr.
//! Exit status: 0 on success (and after SIGINT/SIGTERM), 2 for usage errors (and for a set-uid or
//! file-capability start by a user other than root), 1 otherwise.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use ringtun::app::{self, key_tools};
use ringtun::cli::{self, Command};
use ringtun::log_error;
use ringtun::sys::cpu::{self, BuildFit};
use ringtun::sys::privilege;

fn main() -> ExitCode {
    // First, before any code built for x86-64-v3 could run an instruction this CPU lacks.
    cpu::exit_if_x86_64_v3_missing();
    // Before anything else runs for a user who borrowed privileges through the binary.
    if let Some(refusal) = privilege::secure_start_refusal() {
        log_error!("{refusal}");
        return ExitCode::from(2);
    }
    // A bug must still end as one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_string());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        log_error!("internal error: {}{at}", msg.replace('\n', " "));
        std::process::exit(1);
    }));

    ExitCode::from(real_main(std::env::args_os().skip(1)))
}

/// Everything after the panic hook; returns the exit status.
fn real_main(argv: impl Iterator<Item = std::ffi::OsString>) -> u8 {
    let mut args = Vec::new();
    for a in argv {
        match a.into_string() {
            Ok(s) => args.push(s),
            Err(bad) => {
                log_error!("argument {bad:?} is not valid UTF-8");
                return 2;
            }
        }
    }
    // Hidden: the AEAD's known-answer check on this CPU (tests/cpu_floor.rs, under emulated CPUs).
    if args == ["selftest"] {
        return selftest();
    }
    let command = match cli::parse(&args) {
        Ok(c) => c,
        Err(e) => {
            log_error!("{e}");
            return u8::try_from(e.exit_code()).unwrap_or(2);
        }
    };
    let result = match command {
        Command::Help => {
            print!("{}", cli::usage());
            Ok(())
        }
        Command::Completion => {
            print!("{}", cli::completion::bash());
            Ok(())
        }
        Command::Version => {
            println!("{}", cli::version());
            Ok(())
        }
        Command::GenKey { path } => key_tools::genkey(path.as_deref()),
        Command::PubKey => key_tools::pubkey(),
        Command::GenPsk => key_tools::genpsk(),
        Command::Show { interface, json } => app::show::run(interface.as_deref(), json),
        Command::Run(opts) => app::run(opts),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            log_error!("{e}");
            e.status
        }
    }
}

/// `ringtun selftest`: RFC 8439 vectors through the data path's AEAD on this CPU; 0 if they pass.
fn selftest() -> u8 {
    let cpu = cpu::detect();
    let build = if cpu::BUILT_FOR_X86_64_V3 {
        "x86-64-v3"
    } else {
        "portable"
    };
    match ringtun::core::aead_check::run() {
        Ok(vectors) => {
            println!(
                "selftest: ok: {} (ChaCha20 {}, Poly1305 {}, {build} build)",
                vectors.join(", "),
                cpu.chacha20_backend(),
                cpu.poly1305_backend()
            );
            if cpu.build_fit() == BuildFit::FasterBuildFits {
                println!("selftest: this CPU runs the faster x86-64-v3 build");
            }
            0
        }
        Err(mismatch) => {
            log_error!(
                "selftest: {mismatch} (ChaCha20 {}, Poly1305 {}, {build} build)",
                cpu.chacha20_backend(),
                cpu.poly1305_backend()
            );
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::real_main;
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;

    fn code(args: &[&str]) -> u8 {
        real_main(args.iter().map(OsString::from))
    }

    #[test]
    fn exit_codes() {
        assert_eq!(code(&["--version"]), 0);
        assert_eq!(code(&["-h"]), 0);
        assert_eq!(code(&[]), 2);
        assert_eq!(code(&["-l", "1", "-m", "10"]), 2);
        assert_eq!(code(&["genkey", "a", "b"]), 2);
        assert_eq!(code(&["pubkey", "x"]), 2);
        assert_eq!(code(&["-c", "/x/wg0.conf", "-a", "10.0.0.1/24"]), 2);
        // A missing key or configuration file is a run-time error, reported before any interface
        // is touched.
        assert_eq!(code(&["-l", "1", "-k", "/nonexistent/ringtun-test/key"]), 1);
        assert_eq!(code(&["-c", "/nonexistent/ringtun-test/wg0.conf"]), 1);
        assert_eq!(code(&["selftest"]), 0);
        assert_eq!(code(&["selftest", "extra"]), 2);
        let bad = OsString::from_vec(vec![b'-', b'l', 0xff]);
        assert_eq!(real_main(std::iter::once(bad)), 2);
    }
}
