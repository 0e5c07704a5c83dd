//! The ktrail application: the command line (`cli`), one module per subcommand (`commands`, the
//! only code that prints, picks exit codes and wires sources to the engine) and the renderers
//! (`render`). The engine is the `ktrail-core` crate; CloudWatch Logs is `ktrail-cloudwatch`.
//!
//! `main.rs` parses, calls [`commands::run`] and maps the outcome to an exit code; this library
//! exists so that tests and fuzz targets can call the renderers directly.

/// `eprintln!` that never panics: with standard error closed (`2>&1 >/dev/null | head -1`) a
/// message is lost, the run is not. Defined before the modules, it replaces the standard macro in
/// all of them.
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub mod cli;
pub mod commands;
pub mod options;
pub mod output;
pub mod render;

pub use commands::{exit, run};
