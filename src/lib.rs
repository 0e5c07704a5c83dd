//! The ktrail application: the command line (`cli`), one module per subcommand (`commands`, the
//! only code that prints, picks exit codes and wires sources to the engine) and the renderers
//! (`render`). The engine is the `ktrail-core` crate; CloudWatch Logs is `ktrail-cloudwatch`.
//!
//! `main.rs` parses, calls [`commands::run`] and maps the outcome to an exit code; this library
//! exists so that tests and fuzz targets can call the renderers directly.

pub mod cli;
pub mod commands;
pub mod options;
pub mod render;

pub use commands::{exit, run};
