//! Cluster-wide views over the same report the timeline uses: what each admission webhook did to
//! pods and who installed it (`webhooks`), and every pod incarnation on one line with its
//! scheduling and readiness latencies (`pods`).
//!
//! This module builds the rows; the application renders them. It knows nothing of formats or
//! terminals.

pub mod pods;
pub mod webhooks;

/// The orders of `ktrail pods --sort`. Latencies sort slowest first, pods without the latency last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodSort {
    /// Slowest to schedule first.
    CreatedToBound,
    /// Slowest to start once bound first.
    BoundToReady,
    /// Slowest to become Ready first.
    CreatedToReady,
    /// Oldest first.
    Created,
}
