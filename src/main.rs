//! The `ktrail` command: parse, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

// ktrail allocates from several threads at once (scan workers, the timeline's derive threads),
// and glibc's malloc spent a quarter of a big scan growing and trimming its per-thread arenas;
// mimalloc's thread-local heaps do not.
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
            eprintln!("{}", ktrail_core::escape::escape(&msg));
            ExitCode::from(ktrail::exit::USAGE)
        }
    }
}

/// Turns transparent huge pages off for this process (Linux; elsewhere nothing).
///
/// mimalloc asks for huge pages, and the first touch of one zeroes 2 MiB at once. In the virtual
/// machine the benchmark runs on that zeroing was a sixth of a big scan's CPU, and every pod from
/// the 1.4 GB zstd log took 0.924 s with huge pages and 0.700 s without (medians of 7 alternating
/// rounds; `zstd -dc` 0.595 s); from the plain file, 0.406 s and 0.386 s. A run's heap grows
/// steadily and lives for one command, so small pages cost it nothing measurable. This is what
/// mimalloc itself does when `MIMALLOC_ALLOW_THP=0`; children inherit it.
fn small_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE only sets a flag of this process; no memory of ours is touched.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
