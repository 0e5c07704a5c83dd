//! Reading JSON without building it: the partial reader on bytes that the scan's fast paths share
//! (`read`), and a borrowed tree of a request or response body (`tree`), read in place from the
//! line that holds it, and the value of a string the reader checked (`unescape`).

pub mod read;
pub mod tree;
pub mod unescape;
