//! The wrapper grammar: how audit events are carried inside other JSON.
//!
//! An audit event arrives bare (the log backend's one event per line) or wrapped: in a JSON array,
//! in an `EventList`'s `items` (the webhook backend's batches), as a string in `message` or
//! `@message` (CloudWatch console and Logs Insights exports), in the `events` array of
//! `aws logs filter-log-events` (whose items are `message` wrappers), or in the `results` rows of
//! `aws logs get-query-results` (a row's `@message` field). Wrappers nest: a CloudWatch export of
//! an `EventList` is two deep.
//!
//! This module owns that grammar: which keys wrap events, in which order they are tried, what each
//! key holds and so how to find the events inside, how deep wrappers may nest, and what
//! diagnostics call their parts. `decode` (which reads events) and `redact` (which masks them in
//! place) both walk their input by it, so that a wrapper is added here; decode's one-pass parse
//! also needs the key as a field of `audit::Event` (its exhaustive matches on [`Wrapper`] ask for
//! it), and `scan::skim` mirrors that struct's fields.
//!
//! What it must not know: how a line is parsed (decode reads borrowed, typed events; redact a
//! `serde_json::Value`), what makes an object an audit event, and what is done with the events
//! found.

/// How deep wrappers may nest: real input is at most two deep, and without a limit hostile input
/// (`[[[…]]]` thousands deep) would recurse once per level.
pub const MAX_NESTING: u8 = 3;

/// Why something nested deeper than [`MAX_NESTING`] is not read.
pub const TOO_DEEP: &str = "wrapped too deep";

/// What diagnostics call one element of a bare JSON array of events (or of wrappers).
pub const ARRAY_ITEM: &str = "array element";

/// The field of a Logs Insights result row whose value holds the event.
pub const ROW_MESSAGE: &str = "@message";

/// Why a Logs Insights result row gave no event.
pub fn no_row_message() -> String {
    format!("row without {ROW_MESSAGE}")
}

/// A JSON object that carries audit events under one of its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrapper {
    /// `EventList.items`.
    EventList,
    /// A CloudWatch export's `message`.
    Message,
    /// A Logs Insights export's `@message`.
    AtMessage,
    /// `aws logs filter-log-events` output.
    Events,
    /// `aws logs get-query-results` output.
    Results,
}

/// What a wrapper's key holds, and so where the events inside are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holds {
    /// A JSON array whose every element is read as a line of its own; diagnostics call one of
    /// them an `item`.
    Items { item: &'static str },
    /// A JSON string that is a line of its own.
    Line,
    /// Logs Insights rows: arrays of `{"field": …, "value": …}`, each row's [`ROW_MESSAGE`] value a
    /// line of its own; diagnostics call one of them a `row`.
    Rows { row: &'static str },
}

impl Wrapper {
    /// Every wrapper, in the order they are tried: an object with several of their keys is read
    /// through the first one present.
    pub const ALL: [Wrapper; 5] = [
        Wrapper::EventList,
        Wrapper::Message,
        Wrapper::AtMessage,
        Wrapper::Events,
        Wrapper::Results,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Wrapper::EventList => "items",
            Wrapper::Message => "message",
            Wrapper::AtMessage => "@message",
            Wrapper::Events => "events",
            Wrapper::Results => "results",
        }
    }

    pub fn holds(self) -> Holds {
        match self {
            Wrapper::EventList => Holds::Items {
                item: "EventList item",
            },
            Wrapper::Message | Wrapper::AtMessage => Holds::Line,
            Wrapper::Events => Holds::Items {
                item: "events item",
            },
            Wrapper::Results => Holds::Rows { row: "results row" },
        }
    }

    /// What is wrong when the key holds a value of another shape than [`Wrapper::holds`] says.
    pub fn malformed(self) -> String {
        let key = self.key();
        match self.holds() {
            Holds::Items { .. } => format!("{key} is not a list"),
            Holds::Line => format!("{key} is not a string"),
            Holds::Rows { .. } => format!("{key} is not a list of field rows"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wrapper_has_its_own_key() {
        let mut keys: Vec<&str> = Wrapper::ALL.iter().map(|w| w.key()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), Wrapper::ALL.len());
    }
}
