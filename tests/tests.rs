//! ktrail's integration tests, one module per area, in one test binary: the binary links the
//! application (and through it the AWS SDK) once. The engine's and the CloudWatch source's own
//! tests live in their crates (`crates/*/tests`).

#[path = "../crates/cloudwatch/tests/support/decompress.rs"]
mod decompress;
mod util;
mod views_fixture;

mod archives;
mod blame;
mod check;
mod cli;
mod clouds;
mod cloudwatch_cli;
mod corpus;
mod damaged;
mod fuzz_regressions;
mod hostile;
mod memory;
mod mermaid;
mod query_safety;
mod readme;
mod redact;
mod report;
mod s3_cli;
mod samples;
mod terminal;
mod trust;
mod views;
mod views_corpus;
