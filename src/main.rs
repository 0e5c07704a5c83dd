//! The `ktrail` command: parse, run, map the outcome to an exit code.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

// ktrail allocates from several threads at once (scan workers, the timeline's derive threads):
// glibc's malloc grows and trims a heap per thread, mimalloc's thread-local heaps do not (see
// bench/README.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    small_pages();
    let cli = ktrail::cli::Cli::parse();
    match ktrail::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) if ktrail::commands::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let msg = format!("ktrail: {e:#}");
            // Not `eprintln!`, which panics when standard error is closed.
            let _ = writeln!(io::stderr(), "{}", ktrail_core::escape::escape(&msg));
            ExitCode::from(ktrail::exit::USAGE)
        }
    }
}

/// Turns transparent huge pages off for this process (Linux; elsewhere nothing).
///
/// mimalloc asks for huge pages, and the first touch of one zeroes 2 MiB at once: for a run whose
/// heap grows steadily and lives for one command, that zeroing costs more than small pages ever
/// do (measured in bench/README.md). This is what mimalloc itself does with
/// `MIMALLOC_ALLOW_THP=0`; children inherit it.
fn small_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE only sets a flag of this process; no memory of ours is touched.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
