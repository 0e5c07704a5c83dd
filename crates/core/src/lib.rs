//! ktrail's engine: Kubernetes audit events in, pod stories out.
//!
//! The data's way through it: `source` (files, directories, standard input, built-in samples;
//! plain, gzip or zstd) yields bytes → `scan` splits them into lines and skips, from the bytes
//! alone, the lines that cannot concern the selection → `decode` unwraps every line into audit
//! events (`wrapper` is the grammar of what carries them, `formats` rewrites other clouds'
//! exports into them, `audit` their model and vocabulary) →
//! `record` keeps what a pod's story needs → `collect` folds the stages of one request and the
//! duplicates of overlapping exports → `timeline` groups the records into pod incarnations and
//! derives their facts, with `admission` attributing every change to the webhook, built-in
//! admission step or user that made it. `views` and `check` read the stories; `redact` masks a log
//! for sharing, walking the same wrappers; `escape`, `text` and `time` are shared by everything
//! that writes for people, and `names` is the one rule for the names a selection gives.
//!
//! What it must not know: the command line (no clap), async runtimes (no tokio) and AWS (no SDK).
//! Other sources, such as CloudWatch Logs, live in their own crates and hand this one lines.

pub mod admission;
pub mod audit;
pub mod blame;
pub mod check;
pub mod collect;
pub mod decode;
pub mod escape;
pub mod formats;
pub mod json;
pub mod names;
pub mod record;
pub mod redact;
pub mod samples;
pub mod scan;
pub mod source;
pub mod spill;
pub mod suggest;
pub mod text;
pub mod time;
pub mod timeline;
pub mod views;
pub mod wrapper;
