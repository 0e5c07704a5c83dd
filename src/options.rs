//! What each subcommand was asked to do, as plain values: the command line's clap types are
//! validated once into these (`cli`), and the commands read only these. Nothing here knows how the
//! options were spelt.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};

use ktrail_cloudwatch::Api;
use ktrail_core::record::Selection;
use ktrail_core::views::PodSort;

use crate::render::check::Format as CheckFormat;
use crate::render::{Format, PodsFormat, Style, ViewFormat};

/// One validated invocation.
#[derive(Debug)]
pub enum Invocation {
    Timeline(Timeline),
    Webhooks(Webhooks),
    Pods(Pods),
    Report(Report),
    Query(Query),
    Fetch(Fetch),
    Blame(Blame),
    Diff(Diff),
    Check(Check),
    Redact(Redact),
    Samples,
    Completions(clap_complete::Shell),
}

/// Where the audit events come from: files, directories and standard input, built-in samples, or
/// CloudWatch Logs.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub files: Vec<String>,
    pub samples: Vec<String>,
    /// Stop with exit code 2 at the first bad input line instead of skipping it.
    pub strict: bool,
    /// Bytes of pod records kept in memory before the rest go to temporary files.
    pub memory: usize,
    pub cloudwatch: CloudWatch,
}

/// Reading straight from CloudWatch Logs; a source only when a cluster or log group is named.
#[derive(Debug, Clone, Default)]
pub struct CloudWatch {
    pub cluster: Option<String>,
    pub log_group: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    pub api: Api,
    pub concurrency: usize,
    pub query_limit: usize,
    /// The bound on connecting and on each call.
    pub timeout: Duration,
    /// The first wait before a Logs Insights query's results are asked for (default: the
    /// engine's).
    pub query_poll: Option<Duration>,
}

impl CloudWatch {
    pub fn is_set(&self) -> bool {
        self.cluster.is_some() || self.log_group.is_some()
    }
}

#[derive(Debug)]
pub struct Timeline {
    pub selection: Selection,
    pub inputs: Inputs,
    pub format: Format,
    pub style: Style,
    /// Keep watching CloudWatch for new events.
    pub follow: Option<Follow>,
}

/// How `timeline --follow` polls.
#[derive(Debug, Clone)]
pub struct Follow {
    pub interval: Duration,
    /// Stop after this many polls (`None`: until Ctrl-C).
    pub max_polls: Option<u64>,
    /// Where the follow's progress is kept, to continue from after a restart.
    pub checkpoint: Option<String>,
}

#[derive(Debug)]
pub struct Webhooks {
    pub selection: Selection,
    pub inputs: Inputs,
    pub format: ViewFormat,
    pub style: Style,
}

#[derive(Debug)]
pub struct Pods {
    pub selection: Selection,
    pub inputs: Inputs,
    pub sort: Option<PodSort>,
    pub format: PodsFormat,
    pub style: Style,
}

#[derive(Debug)]
pub struct Report {
    pub selection: Selection,
    pub inputs: Inputs,
    pub output: OutputFile,
    /// At most this many stories in the report.
    pub max_stories: usize,
}

#[derive(Debug)]
pub struct Query {
    pub selection: Selection,
    pub cloudwatch: CloudWatch,
    /// The query that finds who created this object, instead of the pod's.
    pub created: Option<String>,
}

#[derive(Debug)]
pub struct Fetch {
    pub selection: Selection,
    pub cloudwatch: CloudWatch,
    pub output: OutputFile,
    /// Redact the events before they are written.
    pub redact: bool,
    /// Account ids to mask beside those learned (with `redact`).
    pub accounts: Vec<String>,
}

/// A file a command writes (`-O`), through `crate::output::Output`.
#[derive(Debug, Clone)]
pub struct OutputFile {
    /// A file (compressed by its extension) or `-` for standard output.
    pub path: String,
    /// Replace an existing file.
    pub force: bool,
    /// Given as the hidden `-o/--output`, which earns a note.
    pub deprecated_flag: bool,
}

#[derive(Debug)]
pub struct Blame {
    pub selection: Selection,
    pub inputs: Inputs,
    pub format: ViewFormat,
    pub style: Style,
    pub at: Option<DateTime<Utc>>,
    /// JSON Pointer globs; every field when empty.
    pub paths: Vec<String>,
    pub history: bool,
}

#[derive(Debug)]
pub struct Diff {
    pub selection: Selection,
    pub inputs: Inputs,
    pub format: ViewFormat,
    pub style: Style,
    pub sides: DiffSides,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub paths: Vec<String>,
}

/// What `diff` compares.
#[derive(Debug, PartialEq, Eq)]
pub enum DiffSides {
    /// The last two incarnations of the name.
    LastTwo,
    /// These two incarnations, old side first.
    Uids(String, String),
    /// One incarnation (this uid, or the last) at `from` and at `to`.
    Times { uid: Option<String> },
}

#[derive(Debug)]
pub struct Check {
    pub rules: PathBuf,
    pub inputs: Inputs,
    pub format: CheckFormat,
    pub style: Style,
    pub require_match: bool,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

#[derive(Debug)]
pub struct Redact {
    /// A file or `-` for standard input.
    pub input: String,
    pub output: OutputFile,
    /// Account ids to mask beside those learned from the input.
    pub accounts: Vec<String>,
}
