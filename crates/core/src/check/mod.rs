//! Holding the pod stories of a recording to a rules file, as a CI gate (`ktrail check`).
//!
//! Teams record audit logs of their workloads and want the build to fail when a webhook starts
//! mutating what it should not, a pod stops landing where it should, or scheduling gets slow. The
//! rules are read and validated first (`rules`: a broken rules file is an error before any log is
//! read), the recording goes through the same engine as the timeline, and every rule is evaluated
//! over every pod incarnation (`eval`). Reports are rendered by the application.

pub mod eval;
#[cfg(any(test, feature = "test-fixtures"))]
pub mod fixture;
pub mod results;
pub mod rules;

pub use eval::{evaluate, CheckReport};
pub use rules::{Rule, Rules, RulesError};

#[cfg(test)]
mod tests;
