//! Progress on stderr while windows run, only when stderr is a terminal (never on stdout).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{human_bytes, Stats};

/// A progress line of windows done, events and bytes scanned; inert when hidden.
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    total: AtomicU64,
}

impl Progress {
    pub fn new(enabled: bool, total_windows: u64) -> Self {
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let style =
                ProgressStyle::with_template("{spinner} windows {pos}/{len} · {msg} · {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner());
            let b =
                ProgressBar::with_draw_target(Some(total_windows), ProgressDrawTarget::stderr());
            b.set_style(style);
            b.enable_steady_tick(std::time::Duration::from_millis(120));
            b
        });
        Progress {
            bar,
            total: AtomicU64::new(total_windows),
        }
    }

    /// One more window to do (a split replaces one window by two).
    pub fn add_window(&self) {
        let t = self.total.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(b) = &self.bar {
            b.set_length(t);
        }
    }

    pub fn update(&self, s: &Stats) {
        if let Some(b) = &self.bar {
            b.set_position(s.windows);
            let scanned = s
                .bytes_scanned
                .map(|x| format!(" · {} scanned", human_bytes(x)))
                .unwrap_or_default();
            b.set_message(format!("{} events{scanned}", s.events));
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
