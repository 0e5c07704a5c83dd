//! Progress on stderr while objects are read, only when stderr is a terminal (never on stdout).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Objects started of all, and bytes received; inert when hidden.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn new(objects: u64, bytes: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let style = ProgressStyle::with_template(
                "{spinner} S3 {bytes}/{total_bytes} · {msg} · {elapsed}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
            let b = ProgressBar::with_draw_target(Some(bytes), ProgressDrawTarget::stderr());
            b.set_style(style);
            b.set_message(format!("0/{objects} objects"));
            b.enable_steady_tick(std::time::Duration::from_millis(120));
            b
        });
        Progress { bar }
    }

    /// A hidden progress line, for tests and pipes.
    pub fn hidden() -> Self {
        Progress { bar: None }
    }

    pub(crate) fn bar(&self) -> Option<ProgressBar> {
        self.bar.clone()
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
