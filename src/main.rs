//! The `ktrail` command: parse, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = ktrail::cli::Cli::parse();
    match ktrail::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) if ktrail::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let msg = format!("ktrail: {e:#}");
            eprintln!("{}", ktrail::sanitize::escape(&msg));
            ExitCode::from(ktrail::exit::USAGE)
        }
    }
}
