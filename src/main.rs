//! The `ktrail` command: parse, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

// ktrail allocates from several threads at once (scan workers, the timeline's derive threads),
// and glibc's malloc spent a quarter of a big scan growing and trimming its per-thread arenas;
// mimalloc's thread-local heaps do not.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
