//! Reading JSON without building it: a borrowed tree of a request or response body (`tree`), read
//! in place from the line that holds it.

pub mod tree;
