//! berth's command line: parse (clap), set up logging, dispatch to one
//! file per command in cli/. Errors print one line to stderr, go to the
//! --log file, and exit 1 (255 for `exec`, as runc).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    cli::early::reexec_before_parsing();
    let args = cli::Cli::parse();
    let json = args.log_format == cli::LogFormat::Json;
    if let Err(e) = berth::logging::init(args.log.as_deref(), json, args.debug) {
        eprintln!(
            "berth: error: --log {}: {e}",
            args.log
                .as_deref()
                .unwrap_or_else(|| std::path::Path::new(""))
                .display()
        );
        return ExitCode::from(1);
    }
    match cli::dispatch(args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let mut msg = format!("{e:#}");
            if cli::host_dependent(&msg) {
                msg.push_str(" (`berth check` tells what this host supports)");
            }
            berth::logging::log(berth::logging::Level::Error, &msg);
            // "error", as runc (level=error) and crun say it: scripts
            // and harnesses look for the word.
            eprintln!("berth: error: {msg}");
            ExitCode::from(cli::failure_status(&e))
        }
    }
}
