//! The command line: clap derive types whose doc comments are the help text, validated once into
//! the engine's types (`Selection`, inputs). Nothing past this module needs clap: the renderers'
//! and the engine's enums get their command-line spellings here.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};

use ktrail_core::record::Selection;
use ktrail_core::time::{parse_duration, parse_when};
use ktrail_core::views::PodSort;

use crate::options::{self, Invocation};
use crate::render::check::Format as CheckFormat;
use crate::render::{ColorChoice, Format, PodsFormat, Style, ViewFormat};

/// Who changed this pod? ktrail reads Kubernetes API-server audit logs (files or AWS CloudWatch
/// Logs), rebuilds each pod's story and attributes every field change to the admission webhook or
/// user that made it.
#[derive(Debug, Parser)]
#[command(
    name = "ktrail",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Rebuild the story of one pod or of every pod: who created, changed, scheduled, readied and
    /// deleted it, and which webhook mutated which field.
    Timeline(Box<TimelineArgs>),
    /// What each admission webhook did to pods (calls, pods mutated, paths patched, failures) and
    /// who installed its configuration.
    Webhooks(Box<WebhooksArgs>),
    /// Every pod incarnation on one line: creator, scheduler, node, latencies, mutating webhooks,
    /// how it ended; then latency percentiles per scheduler.
    Pods(Box<PodsArgs>),
    /// Print the CloudWatch Logs Insights query ktrail runs for a pod (or the FilterLogEvents
    /// pattern, with --engine filter), to paste into the console.
    Query(Box<QueryArgs>),
    /// Record raw audit events from CloudWatch Logs, one per line in time order, each stage once,
    /// for offline analysis or a CI sample. With POD, that pod's events (and writes to webhook
    /// configurations); without, every audit event in the window.
    Fetch(Box<FetchArgs>),
    /// Hold recorded pod stories to a rules file (a CI gate): exit 1 when a rule is broken.
    Check(Box<CheckArgs>),
    /// Mask what must not leave a company (environment values, Secret data, tokens, access keys,
    /// account ids, session names, IP addresses) so that an audit log can be shared. The same value
    /// always gets the same mask within a file, so the redacted log tells the same story.
    Redact(RedactArgs),
    /// List the recorded samples built into the binary.
    Samples,
    /// Print shell completions.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct TimelineArgs {
    #[command(flatten)]
    pub pod: PodArgs,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub display: DisplayArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub output: Format,
    /// Keep watching CloudWatch and print the pod's new events as they arrive (Ctrl-C ends).
    #[arg(long)]
    pub follow: bool,
    /// With --follow: time between two polls (default 10s).
    #[arg(long, value_parser = parse_std_duration, hide = true)]
    pub poll_interval: Option<std::time::Duration>,
    /// With --follow: stop after this many polls (default: until Ctrl-C).
    #[arg(long, hide = true)]
    pub max_polls: Option<u64>,
}

fn parse_std_duration(s: &str) -> Result<std::time::Duration, String> {
    parse_duration(s)
        .and_then(|d| d.to_std().ok())
        .ok_or_else(|| format!("{s:?} is not a duration like 10s or 500ms"))
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub pod: PodArgs,
    #[command(flatten)]
    pub cloudwatch: CloudWatchArgs,
    /// Print instead the query that finds who created the object NAME (any resource, e.g. a
    /// mutating webhook configuration).
    #[arg(long, value_name = "NAME")]
    pub created: Option<String>,
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    #[command(flatten)]
    pub pod: PodArgs,
    #[command(flatten)]
    pub cloudwatch: CloudWatchArgs,
    /// Where to write: a file (compressed when it ends in .gz or .zst), or `-` for standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: String,
}

#[derive(Debug, Args)]
pub struct WebhooksArgs {
    #[command(flatten)]
    pub pod: PodArgs,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub display: DisplayArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = ViewFormat::Table)]
    pub output: ViewFormat,
}

#[derive(Debug, Args)]
pub struct PodsArgs {
    #[command(flatten)]
    pub pod: PodArgs,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub display: DisplayArgs,
    /// Order of the rows (latencies: slowest first). Default: by namespace, name and creation.
    #[arg(long, value_parser = pod_sort_parser())]
    pub sort: Option<PodSort>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = PodsFormat::Table)]
    pub output: PodsFormat,
}

#[derive(Debug, Args)]
pub struct RedactArgs {
    /// The audit log to redact (plain, gzip or zstd), or `-` for standard input.
    #[arg(short = 'f', long = "file", value_name = "SOURCE")]
    pub file: String,
    /// Where to write the redacted log (default: standard output).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `ktrail check` arguments.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The rules file (YAML): which pods must show what, and must not show what.
    #[arg(long, value_name = "FILE")]
    pub rules: PathBuf,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub display: DisplayArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = CheckFormat::Table)]
    pub output: CheckFormat,
    /// A rule that matches no pod fails the check (exit 1) instead of only warning.
    #[arg(long)]
    pub require_match: bool,
    /// Only events at or after this time: RFC 3339 (2022-09-20T20:00:00Z) or a duration ago (2h,
    /// 30m, 1d). With CloudWatch Logs the window is the last hour unless given.
    #[arg(long, value_parser = parse_when)]
    pub since: Option<DateTime<Utc>>,
    /// Only events at or before this time: RFC 3339 or a duration ago.
    #[arg(long, value_parser = parse_when)]
    pub until: Option<DateTime<Utc>>,
}

/// How tables and stories look.
#[derive(Debug, Args, Clone, Default)]
pub struct DisplayArgs {
    /// On a terminal, show every value whole instead of shortening long ones with `…` to fit the
    /// width (output to a pipe or a file is never shortened).
    #[arg(long)]
    pub wide: bool,
    /// Colours: auto (on a terminal, unless NO_COLOR is set), always or never.
    #[arg(long, value_name = "WHEN", value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Lay the output out for a terminal this many columns wide, as if standard output were one.
    #[arg(long, value_name = "COLUMNS", hide = true, value_parser = clap::value_parser!(u16).range(20..))]
    pub width: Option<u16>,
}

impl DisplayArgs {
    fn style(&self) -> Style {
        Style::choose(self.color, self.width, self.wide)
    }
}

/// Which pods and which events.
#[derive(Debug, Args, Clone, Default)]
pub struct PodArgs {
    /// The pod: `namespace/name`, or `name` with --namespace. Without it, every pod.
    #[arg(value_name = "POD")]
    pub pod: Option<String>,
    /// The pod's namespace (with a bare POD name, or alone for every pod in it).
    #[arg(short, long)]
    pub namespace: Option<String>,
    /// Only the incarnation with this uid.
    #[arg(long)]
    pub uid: Option<String>,
    /// Only events at or after this time: RFC 3339 (2022-09-20T20:00:00Z) or a duration ago (2h, 30m, 1d).
    #[arg(long, value_parser = parse_when)]
    pub since: Option<DateTime<Utc>>,
    /// Only events at or before this time: RFC 3339 or a duration ago.
    #[arg(long, value_parser = parse_when)]
    pub until: Option<DateTime<Utc>>,
    /// Also show reads (get, list, watch) of the pods.
    #[arg(long)]
    pub reads: bool,
}

/// Where the audit events come from.
#[derive(Debug, Args, Clone, Default)]
pub struct InputArgs {
    /// An audit log file (plain, gzip or zstd), a directory of them, `-` for standard input, or
    /// s3://BUCKET/PREFIX for every object under the prefix. Repeatable.
    #[arg(short = 'f', long = "file", value_name = "SOURCE")]
    pub files: Vec<String>,
    /// A recorded story built into the binary (see `ktrail samples`). Repeatable.
    #[arg(long = "sample", value_name = "NAME")]
    pub samples: Vec<String>,
    /// Stop with exit code 2 at the first bad input line instead of skipping it.
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub cloudwatch: CloudWatchArgs,
}

/// Reading straight from CloudWatch Logs instead of files.
#[derive(Debug, Args, Clone, Default)]
pub struct CloudWatchArgs {
    /// EKS cluster name: reads log group /aws/eks/NAME/cluster.
    #[arg(long, help_heading = "CloudWatch Logs")]
    pub cluster: Option<String>,
    /// Log group to read instead of the cluster's.
    #[arg(long, help_heading = "CloudWatch Logs")]
    pub log_group: Option<String>,
    /// AWS region, also for s3:// sources (default: the standard AWS configuration).
    #[arg(long, help_heading = "CloudWatch Logs")]
    pub region: Option<String>,
    /// AWS profile, also for s3:// sources (default: AWS_PROFILE or the default profile).
    #[arg(long, help_heading = "CloudWatch Logs")]
    pub profile: Option<String>,
    /// CloudWatch Logs endpoint URL (default: AWS_ENDPOINT_URL_CLOUDWATCH_LOGS or AWS's).
    #[arg(long, help_heading = "CloudWatch Logs")]
    pub endpoint_url: Option<String>,
    /// How to read: Logs Insights queries, or FilterLogEvents.
    #[arg(long, value_enum, default_value_t = Engine::Insights, help_heading = "CloudWatch Logs")]
    pub engine: Engine,
    /// Logs Insights queries run at once; with s3:// sources, objects downloaded at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=30), help_heading = "CloudWatch Logs")]
    pub concurrency: u16,
    /// Rows per Logs Insights query; a query that returns this many is split (at most 10000).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u16).range(1..=10_000), help_heading = "CloudWatch Logs", hide = true)]
    pub query_limit: u16,
}

impl CloudWatchArgs {
    fn options(self) -> options::CloudWatch {
        options::CloudWatch {
            cluster: self.cluster,
            log_group: self.log_group,
            region: self.region,
            profile: self.profile,
            endpoint_url: self.endpoint_url,
            api: match self.engine {
                Engine::Insights => ktrail_cloudwatch::Api::Insights,
                Engine::Filter => ktrail_cloudwatch::Api::Filter,
            },
            concurrency: usize::from(self.concurrency),
            query_limit: usize::from(self.query_limit),
        }
    }
}

impl InputArgs {
    fn options(self) -> options::Inputs {
        options::Inputs {
            files: self.files,
            samples: self.samples,
            strict: self.strict,
            cloudwatch: self.cloudwatch.options(),
        }
    }
}

impl Cli {
    /// The invocation, validated: the only way from clap's types to the commands.
    pub fn validate(self) -> Result<Invocation, UsageError> {
        Ok(match self.command {
            Command::Timeline(a) => {
                let a = *a;
                let selection = a.pod.selection()?;
                Invocation::Timeline(options::Timeline {
                    selection,
                    inputs: a.input.options(),
                    format: a.output,
                    style: a.display.style(),
                    follow: a.follow.then(|| options::Follow {
                        interval: a
                            .poll_interval
                            .unwrap_or(std::time::Duration::from_secs(10)),
                        max_polls: a.max_polls,
                    }),
                })
            }
            Command::Webhooks(a) => Invocation::Webhooks(options::Webhooks {
                selection: a.pod.selection()?,
                inputs: a.input.options(),
                format: a.output,
                style: a.display.style(),
            }),
            Command::Pods(a) => Invocation::Pods(options::Pods {
                selection: a.pod.selection()?,
                inputs: a.input.options(),
                sort: a.sort,
                format: a.output,
                style: a.display.style(),
            }),
            Command::Query(a) => Invocation::Query(options::Query {
                selection: a.pod.selection()?,
                cloudwatch: a.cloudwatch.options(),
                created: a.created,
            }),
            Command::Fetch(a) => {
                if a.cloudwatch.cluster.is_none() && a.cloudwatch.log_group.is_none() {
                    return Err(UsageError(
                        "fetch reads CloudWatch Logs: give --cluster NAME or --log-group NAME"
                            .into(),
                    ));
                }
                Invocation::Fetch(options::Fetch {
                    selection: a.pod.selection()?,
                    cloudwatch: a.cloudwatch.options(),
                    output: a.output,
                })
            }
            Command::Check(a) => {
                if let (Some(s), Some(u)) = (a.since, a.until) {
                    if s > u {
                        return Err(UsageError("--since is after --until".into()));
                    }
                }
                Invocation::Check(options::Check {
                    rules: a.rules,
                    inputs: a.input.options(),
                    format: a.output,
                    style: a.display.style(),
                    require_match: a.require_match,
                    since: a.since,
                    until: a.until,
                })
            }
            Command::Redact(a) => Invocation::Redact(options::Redact {
                input: a.file,
                output: a.output,
            }),
            Command::Samples => Invocation::Samples,
            Command::Completions { shell } => Invocation::Completions(shell),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Engine {
    #[default]
    Insights,
    Filter,
}

/// Command-line spellings of an enum defined past this module (clap's `ValueEnum`, by hand, so
/// the renderers need not know clap).
macro_rules! value_enum {
    ($ty:ty { $($variant:ident => $name:literal $(: $help:literal)?),+ $(,)? }) => {
        impl ValueEnum for $ty {
            fn value_variants<'a>() -> &'a [Self] {
                &[$(<$ty>::$variant),+]
            }
            fn to_possible_value(&self) -> Option<PossibleValue> {
                Some(match self {
                    $(<$ty>::$variant => PossibleValue::new($name)$(.help($help))?),+
                })
            }
        }
    };
}

value_enum!(Format {
    Table => "table",
    Json => "json",
    Markdown => "markdown",
    Mermaid => "mermaid": "A Mermaid sequence diagram per pod (several pods: Markdown with one diagram each)",
});
value_enum!(ColorChoice { Auto => "auto", Always => "always", Never => "never" });
value_enum!(ViewFormat { Table => "table", Json => "json", Markdown => "markdown" });
value_enum!(PodsFormat { Table => "table", Json => "json", Markdown => "markdown", Csv => "csv" });
value_enum!(CheckFormat { Table => "table", Json => "json", Junit => "junit", Markdown => "markdown" });

/// `--sort`: the engine's [`PodSort`] (a type of another crate, so not a `ValueEnum` here).
fn pod_sort_parser() -> impl TypedValueParser<Value = PodSort> {
    PossibleValuesParser::new([
        PossibleValue::new("created-to-bound").help("Slowest to schedule first"),
        PossibleValue::new("bound-to-ready").help("Slowest to start once bound first"),
        PossibleValue::new("created-to-ready").help("Slowest to become Ready first"),
        PossibleValue::new("created").help("Oldest first"),
    ])
    .map(|s| match s.as_str() {
        "created-to-bound" => PodSort::CreatedToBound,
        "bound-to-ready" => PodSort::BoundToReady,
        "created-to-ready" => PodSort::CreatedToReady,
        _ => PodSort::Created,
    })
}

/// A usage error found after parsing (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl PodArgs {
    /// The validated selection.
    pub fn selection(&self) -> Result<Selection, UsageError> {
        let (namespace, name) = match self.pod.as_deref() {
            None => (self.namespace.clone(), None),
            Some(p) => match p.split_once('/') {
                Some((ns, n)) => {
                    if let Some(other) = &self.namespace {
                        if other != ns {
                            return Err(UsageError(format!(
                                "POD {p:?} names namespace {ns:?} but --namespace is {other:?}"
                            )));
                        }
                    }
                    (Some(ns.to_owned()), Some(n.to_owned()))
                }
                None => (self.namespace.clone(), Some(p.to_owned())),
            },
        };
        for (what, v) in [("namespace", &namespace), ("pod name", &name)] {
            if let Some(v) = v {
                if v.is_empty() || v.contains('/') {
                    return Err(UsageError(format!("invalid {what} {v:?}")));
                }
            }
        }
        if let (Some(s), Some(u)) = (self.since, self.until) {
            if s > u {
                return Err(UsageError("--since is after --until".into()));
            }
        }
        Ok(Selection {
            namespace,
            name,
            uid: self.uid.clone(),
            since: self.since,
            until: self.until,
            reads: self.reads,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_argument_forms() {
        let a = PodArgs {
            pod: Some("fargate-ns/nginx".into()),
            ..Default::default()
        };
        let s = a.selection().unwrap();
        assert_eq!(
            (s.namespace.as_deref(), s.name.as_deref()),
            (Some("fargate-ns"), Some("nginx"))
        );
        let a = PodArgs {
            pod: Some("nginx".into()),
            namespace: Some("x".into()),
            ..Default::default()
        };
        assert_eq!(a.selection().unwrap().namespace.as_deref(), Some("x"));
        let a = PodArgs {
            pod: Some("a/b".into()),
            namespace: Some("x".into()),
            ..Default::default()
        };
        assert!(a.selection().is_err());
        let a = PodArgs {
            pod: Some("a/b/c".into()),
            ..Default::default()
        };
        assert!(a.selection().is_err());
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
