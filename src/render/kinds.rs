//! The renderers' questions about an event's kind, in one place: the kind is the engine's, and
//! when its representation changes only these lines change with it.

use ktrail_core::timeline::{EventKind, PodEvent};

/// The request that created (or tried to create) the incarnation.
pub fn is_create(ev: &PodEvent) -> bool {
    ev.kind == EventKind::Create
}

/// The kind's name for people and for the report's CSS class suffix (a fixed vocabulary of the
/// engine's, never log text; the report still escapes it).
pub fn name(ev: &PodEvent) -> &str {
    ev.kind.as_str()
}
