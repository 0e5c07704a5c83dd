//! Other clouds' exports of the Kubernetes audit log, normalised into the `audit::Event` the engine
//! reads. One module per shape; `decode` tries them on an object that is neither an audit event
//! nor one of `wrapper`'s wrappers.

pub mod aks;
pub mod gke;
pub mod shape;
