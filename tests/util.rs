//! What every integration test needs: the ktrail binary the tests were built with, and the
//! project's root for its samples and fixtures.

use std::path::PathBuf;

use assert_cmd::Command;

/// The `ktrail` binary of this build.
pub fn ktrail() -> Command {
    Command::cargo_bin("ktrail").expect("the ktrail binary is built with the tests")
}

/// The project's root directory (samples/, tests/).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
