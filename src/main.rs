//! `ringtun`: parse the command line, run, and turn every failure into one line on stderr.
//! Exit status: 0 on success (and after SIGINT/SIGTERM), 2 for usage errors, 1 otherwise.

use std::process::ExitCode;

use ringtun::cli::{self, Command};
use ringtun::{app, log_error};

fn main() -> ExitCode {
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

    let mut args = Vec::new();
    for a in std::env::args_os().skip(1) {
        match a.into_string() {
            Ok(s) => args.push(s),
            Err(bad) => {
                log_error!("argument {bad:?} is not valid UTF-8");
                return ExitCode::from(2);
            }
        }
    }
    let command = match cli::parse(&args) {
        Ok(c) => c,
        Err(e) => {
            log_error!("{e}");
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let result = match command {
        Command::Help => {
            print!("{}", cli::usage());
            Ok(())
        }
        Command::Version => {
            println!("{}", cli::version());
            Ok(())
        }
        Command::GenKey { path } => app::genkey(path.as_deref()),
        Command::Run(opts) => app::run(opts),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log_error!("{e}");
            ExitCode::from(1)
        }
    }
}
