//! `ktrail completions SHELL`: shell completions generated from the command line's definition.

use std::io;

use anyhow::Result;
use clap::CommandFactory;

use super::exit;
use crate::cli::Cli;

pub fn run(shell: clap_complete::Shell) -> Result<u8> {
    clap_complete::generate(shell, &mut Cli::command(), "ktrail", &mut io::stdout());
    Ok(exit::OK)
}
