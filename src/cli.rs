//! The command line: clap derive types whose doc comments are the help text, validated once into
//! the engine's types (`Selection`, inputs). Nothing past this module needs clap: the renderers'
//! and the engine's enums get their command-line spellings here.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};

use ktrail_core::names::{self, NameKind};
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
    #[command(
        after_help = "Examples:\n  ktrail timeline fargate-ns/nginx --sample eks-fargate\n  ktrail timeline nginx -n default -f audit.jsonl.gz --since 2022-09-20T20:00:00Z\n  ktrail timeline fargate-ns/nginx --cluster ironman-2022 --since 2h --follow"
    )]
    Timeline(Box<TimelineArgs>),
    /// What each admission webhook did to pods (calls, pods mutated, paths patched, failures) and
    /// who installed its configuration.
    #[command(
        after_help = "Examples:\n  ktrail webhooks --sample eks-fargate\n  ktrail webhooks fargate-ns/nginx --sample eks-fargate -o markdown\n  ktrail webhooks -f exports/ --since 1d"
    )]
    Webhooks(Box<WebhooksArgs>),
    /// Every pod incarnation on one line: creator, scheduler, node, latencies, mutating webhooks,
    /// how it ended; then latency percentiles per scheduler.
    #[command(
        after_help = "Examples:\n  ktrail pods --sample statefulset-recreate\n  ktrail pods -f exports/ --sort created-to-ready -o csv > pods.csv\n  ktrail pods -n default --cluster ironman-2022 --since 1d"
    )]
    Pods(Box<PodsArgs>),
    /// One self-contained HTML file to open in any browser, attach to a ticket or keep as a CI
    /// artifact: an overview with latency percentiles, a swimlane of every pod incarnation
    /// (filter, sort, zoom), the webhook matrix, and a story per pod with its sequence diagram.
    #[command(after_help = REPORT_EXAMPLES)]
    Report(Box<ReportArgs>),
    /// Print the CloudWatch Logs Insights query ktrail runs for a pod (or the FilterLogEvents
    /// pattern, with --engine filter), to paste into the console.
    #[command(
        after_help = "Examples:\n  ktrail query fargate-ns/nginx --cluster ironman-2022\n  ktrail query fargate-ns/nginx --engine filter\n  ktrail query --created 0500-amazon-eks-fargate-mutation.amazonaws.com"
    )]
    Query(Box<QueryArgs>),
    /// Record raw audit events from CloudWatch Logs, one per line in time order, each stage once,
    /// for offline analysis or a CI sample. With POD, that pod's events (and writes to webhook
    /// configurations); without, every audit event in the window.
    #[command(
        after_help = "Examples:\n  ktrail fetch fargate-ns/nginx --cluster ironman-2022 --since 2h -O nginx.jsonl.zst\n  ktrail fetch --cluster ironman-2022 --since 30m -O all.jsonl.gz"
    )]
    Fetch(Box<FetchArgs>),
    /// Every field of a pod with who set it last, when, and (with --history) what it was before:
    /// the object rebuilt from the log's writes, like `git blame`.
    #[command(after_help = BLAME_EXAMPLES)]
    Blame(Box<BlameArgs>),
    /// Two incarnations of one pod name (a StatefulSet pod recreated, a Job retried), or one
    /// incarnation at two times, field by field, with each side's author.
    #[command(after_help = DIFF_EXAMPLES)]
    Diff(Box<DiffArgs>),
    /// Hold recorded pod stories to a rules file (a CI gate): exit 1 when a rule is broken.
    #[command(
        after_help = "Examples:\n  ktrail check --rules samples/rules/eks-fargate.yaml --sample eks-fargate\n  ktrail check --rules rules.yaml -f audit.jsonl.gz -o junit > report.xml"
    )]
    Check(Box<CheckArgs>),
    /// Mask what must not leave a company (environment values, Secret data, tokens, access keys,
    /// account ids, session names, IP addresses) so that an audit log can be shared. The same value
    /// always gets the same mask within a file, so the redacted log tells the same story.
    #[command(
        after_help = "Examples:\n  ktrail redact -f audit.jsonl -O audit.redacted.jsonl\n  ktrail redact -f audit.jsonl.gz > audit.redacted.jsonl"
    )]
    Redact(RedactArgs),
    /// List the recorded samples built into the binary.
    #[command(after_help = "Examples:\n  ktrail samples\n  ktrail timeline --sample denied")]
    Samples,
    /// Print shell completions.
    #[command(
        after_help = "Examples:\n  ktrail completions bash > /etc/bash_completion.d/ktrail\n  ktrail completions fish > ~/.config/fish/completions/ktrail.fish"
    )]
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
    pub reads: ReadsArg,
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
    /// With --follow: keep where the follow is in FILE, and continue from there when started
    /// again (no event missed, none printed twice).
    #[arg(long, value_name = "FILE", requires = "follow")]
    pub checkpoint: Option<String>,
}

fn parse_std_duration(s: &str) -> Result<std::time::Duration, String> {
    parse_duration(s)
        .and_then(|d| d.to_std().ok())
        .ok_or_else(|| format!("{s:?} is not a duration like 10s or 500ms"))
}

const BLAME_EXAMPLES: &str = "Examples:
  ktrail blame fargate-ns/nginx --sample eks-fargate
  ktrail blame web-0 -n db -f audit.jsonl --path '/spec/containers/*/image' --history
  ktrail blame fargate-ns/nginx -f audit.jsonl --at 2022-09-20T20:17:30Z -o json";

const DIFF_EXAMPLES: &str = "Examples:
  ktrail diff db/web-0 --sample statefulset-recreate
  ktrail diff fargate-ns/nginx -f audit.jsonl --from 2022-09-20T20:17:18Z --to 2022-09-20T20:18:30Z
  ktrail diff db/web-0 -f audit.jsonl --uid OLD-UID --uid NEW-UID -o json";

/// `ktrail blame` arguments.
#[derive(Debug, Args)]
pub struct BlameArgs {
    #[command(flatten)]
    pub pod: PodNameArgs,
    /// The object as it stood at this time: RFC 3339 or a duration ago (default: its last write).
    #[arg(long, value_parser = parse_when)]
    pub at: Option<DateTime<Utc>>,
    /// Only fields whose JSON Pointer path matches (or is below) this glob: `*` within a path
    /// token, `**` across tokens, e.g. `/metadata/labels` or `/spec/containers/*/image`.
    /// Repeatable.
    #[arg(long = "path", value_name = "GLOB")]
    pub paths: Vec<String>,
    /// Also every earlier value of each field, with its author.
    #[arg(long)]
    pub history: bool,
    #[command(flatten)]
    pub view: ViewArgs,
}

/// `ktrail diff` arguments.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The pod: `namespace/name`, or `name` with --namespace.
    #[arg(value_name = "POD")]
    pub pod: String,
    /// The pod's namespace (with a bare POD name).
    #[arg(short, long)]
    pub namespace: Option<String>,
    /// An incarnation: twice to compare two (first is the old side); once with --from/--to to
    /// pick the incarnation compared at two times. Default: the last two, or the last one.
    #[arg(long, value_name = "UID")]
    pub uid: Vec<String>,
    /// Compare one incarnation at this time (default: right after its create) …
    #[arg(long, value_parser = parse_when)]
    pub from: Option<DateTime<Utc>>,
    /// … with the same incarnation at this time (default: its last write).
    #[arg(long, value_parser = parse_when)]
    pub to: Option<DateTime<Utc>>,
    /// Only fields whose path matches this glob (as in `blame --path`). Repeatable.
    #[arg(long = "path", value_name = "GLOB")]
    pub paths: Vec<String>,
    #[command(flatten)]
    pub view: ViewArgs,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub pod: PodArgs,
    #[command(flatten)]
    pub reads: ReadsArg,
    /// Only where and how to read: the query is printed, not run, so no connection options.
    #[command(flatten)]
    pub log_group: LogGroupArgs,
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
    pub reads: ReadsArg,
    #[command(flatten)]
    pub cloudwatch: CloudWatchArgs,
    #[command(flatten)]
    pub file: OutputFileArgs,
    /// Mask secrets, tokens, account ids and addresses as `ktrail redact` does (the events are
    /// held in an unnamed temporary file until the fetch is complete, then redacted).
    #[arg(long)]
    pub redact: bool,
    /// With --redact: an account id to mask wherever it appears. Repeatable.
    #[arg(long = "account", value_name = "ID", requires = "redact")]
    pub accounts: Vec<String>,
}

/// The one output-file flag of the commands that write files.
#[derive(Debug, Args, Clone, Default)]
pub struct OutputFileArgs {
    /// Where to write: a file (compressed when it ends in .gz or .zst), or `-` for standard output
    /// (redact's default). The file appears only when the run succeeds (until then it is
    /// FILE.partial).
    #[arg(short = 'O', long = "output-file", value_name = "FILE")]
    pub output_file: Option<String>,
    /// The former spelling of --output-file.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE",
        hide = true,
        conflicts_with = "output_file"
    )]
    pub output: Option<String>,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

impl OutputFileArgs {
    fn options(self, default_stdout: bool) -> Result<options::OutputFile, UsageError> {
        let deprecated = self.output.is_some();
        let path = match self.output_file.or(self.output) {
            Some(p) => p,
            None if default_stdout => "-".into(),
            None => {
                return Err(UsageError(
                    "give -O FILE (or -O - for standard output)".into(),
                ))
            }
        };
        if path.is_empty() {
            return Err(UsageError("the output file name is empty".into()));
        }
        if self.force && path == "-" {
            return Err(UsageError(
                "--force replaces an output file: give it with -O FILE".into(),
            ));
        }
        Ok(options::OutputFile {
            path,
            force: self.force,
            deprecated_flag: deprecated,
        })
    }
}

/// `--account`: twelve digits.
fn accounts(ids: Vec<String>) -> Result<Vec<String>, UsageError> {
    for id in &ids {
        if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(UsageError(format!(
                "--account {id:?} is not an AWS account id (12 digits)"
            )));
        }
    }
    Ok(ids)
}

#[derive(Debug, Args)]
pub struct WebhooksArgs {
    #[command(flatten)]
    pub pod: PodArgs,
    #[command(flatten)]
    pub view: ViewArgs,
}

/// Where the events come from, how tables look, and the format: the views' (`webhooks`, `blame`,
/// `diff`) last arguments.
#[derive(Debug, Args)]
pub struct ViewArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub display: DisplayArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = ViewFormat::Table)]
    pub output: ViewFormat,
}

impl ViewArgs {
    fn options(self) -> (options::Inputs, ViewFormat, Style) {
        (self.input.options(), self.output, self.display.style())
    }
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

const REPORT_EXAMPLES: &str = "\
Examples:
  ktrail report --sample eks-fargate > fargate.html
  ktrail report -f audit.log.zst -O report.html --force
  ktrail report -n shop --cluster prod --since 2h -O shop.html
";

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub pod: PodArgs,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub output: OutputFileArgs,
    /// At most this many stories; the overview and the swimlane always hold every incarnation.
    /// Beyond it the slowest and the mutated pods' stories come first, and the report says how
    /// many it left out.
    #[arg(long, value_name = "N", default_value_t = 5000)]
    pub max_stories: usize,
}

#[derive(Debug, Args)]
pub struct RedactArgs {
    /// The audit log to redact (plain, gzip or zstd), or `-` for standard input.
    #[arg(short = 'f', long = "file", value_name = "SOURCE")]
    pub file: String,
    #[command(flatten)]
    pub file_out: OutputFileArgs,
    /// An account id to mask wherever it appears, beside those learned from ARNs and registries
    /// anywhere in the input. Repeatable.
    #[arg(long = "account", value_name = "ID")]
    pub accounts: Vec<String>,
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
    #[command(flatten)]
    pub name: PodNameArgs,
    /// Only events at or after this time: RFC 3339 (2022-09-20T20:00:00Z) or a duration ago (2h, 30m, 1d).
    #[arg(long, value_parser = parse_when)]
    pub since: Option<DateTime<Utc>>,
    /// Only events at or before this time: RFC 3339 or a duration ago.
    #[arg(long, value_parser = parse_when)]
    pub until: Option<DateTime<Utc>>,
}

/// The pod by name and uid (without a time window: `blame` has `--at` instead).
#[derive(Debug, Args, Clone, Default)]
pub struct PodNameArgs {
    /// The pod: `namespace/name`, or `name` with --namespace. Without it, every pod.
    #[arg(value_name = "POD")]
    pub pod: Option<String>,
    /// The pod's namespace (with a bare POD name, or alone for every pod in it).
    #[arg(short, long)]
    pub namespace: Option<String>,
    /// Only the incarnation with this uid.
    #[arg(long)]
    pub uid: Option<String>,
}

/// Reads matter only where events are shown or fetched one by one (`timeline`, `query`, `fetch`):
/// `pods` and `webhooks` are built from writes alone, so they do not offer the flag.
#[derive(Debug, Args, Clone, Default)]
pub struct ReadsArg {
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
    /// Memory for the pod writes kept while reading (e.g. 512M, 2G); past it they are kept in
    /// temporary files (in $TMPDIR) until the stories are written. `check` keeps its results per
    /// pod in a quarter of it, and the rest in temporary files too.
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = parse_memory)]
    pub memory: usize,
    #[command(flatten)]
    pub cloudwatch: CloudWatchArgs,
}

/// A size in bytes: a number with an optional unit, K/M/G (or KiB/MiB/GiB) counting in 1024s,
/// KB/MB/GB in 1000s.
fn parse_memory(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let mult: f64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1.0,
        "K" | "KIB" => 1024.0,
        "M" | "MIB" => 1024.0 * 1024.0,
        "G" | "GIB" => 1024.0 * 1024.0 * 1024.0,
        "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        _ => return Err(format!("{s:?} is not a size (e.g. 512M, 2G)")),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (e.g. 512M, 2G)"))?;
    let bytes = n * mult;
    if !bytes.is_finite() || bytes >= usize::MAX as f64 {
        return Err(format!("{s:?} is more than this machine can address"));
    }
    Ok(bytes as usize)
}

/// Reading straight from CloudWatch Logs instead of files.
#[derive(Debug, Args, Clone, Default)]
pub struct CloudWatchArgs {
    #[command(flatten)]
    pub log_group: LogGroupArgs,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Which log group, and how it is queried: all `query` needs to print a query.
#[derive(Debug, Args, Clone, Default)]
pub struct LogGroupArgs {
    /// EKS cluster name: reads log group /aws/eks/NAME/cluster.
    #[arg(long, help_heading = "CloudWatch Logs")]
    pub cluster: Option<String>,
    /// Log group to read instead of the cluster's.
    #[arg(long, help_heading = "CloudWatch Logs")]
    pub log_group: Option<String>,
    /// How to read: Logs Insights queries, or FilterLogEvents.
    #[arg(long, value_enum, default_value_t = Engine::Insights, help_heading = "CloudWatch Logs")]
    pub engine: Engine,
    /// Rows per Logs Insights query; a query that returns this many is split (at most 10000).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u16).range(1..=10_000), help_heading = "CloudWatch Logs", hide = true)]
    pub query_limit: u16,
}

/// How to reach CloudWatch Logs: only for the commands that call it.
#[derive(Debug, Args, Clone)]
pub struct ConnectionArgs {
    /// AWS region, also for s3:// sources (default: the standard AWS configuration).
    #[arg(long, help_heading = "CloudWatch Logs")]
    pub region: Option<String>,
    /// AWS profile, also for s3:// sources (default: AWS_PROFILE or the default profile).
    #[arg(long, help_heading = "CloudWatch Logs")]
    pub profile: Option<String>,
    /// CloudWatch Logs endpoint URL (default: AWS_ENDPOINT_URL_CLOUDWATCH_LOGS or AWS's).
    #[arg(long, help_heading = "CloudWatch Logs")]
    pub endpoint_url: Option<String>,
    /// Logs Insights queries run at once; with s3:// sources, objects downloaded at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=30), help_heading = "CloudWatch Logs")]
    pub concurrency: u16,
    /// Give up on an endpoint that does not connect or answer a call within this long (e.g. 30s,
    /// 2m; default 30s).
    #[arg(long, value_parser = parse_std_duration, value_name = "DURATION", help_heading = "CloudWatch Logs")]
    pub timeout: Option<std::time::Duration>,
    /// First wait before asking for a Logs Insights query's results, growing while it runs
    /// (default 500ms). Hidden: only an emulator, which answers at once, wants it shorter.
    #[arg(long, value_parser = parse_std_duration, value_name = "DURATION", env = "KTRAIL_QUERY_POLL", hide = true, hide_env = true, help_heading = "CloudWatch Logs")]
    pub query_poll: Option<std::time::Duration>,
}

impl Default for ConnectionArgs {
    fn default() -> Self {
        ConnectionArgs {
            region: None,
            profile: None,
            endpoint_url: None,
            concurrency: 4,
            timeout: None,
            query_poll: None,
        }
    }
}

impl LogGroupArgs {
    /// The options with the connection's defaults, for a command that never connects.
    fn options(self) -> options::CloudWatch {
        CloudWatchArgs {
            log_group: self,
            connection: ConnectionArgs::default(),
        }
        .options()
    }
}

impl CloudWatchArgs {
    fn options(self) -> options::CloudWatch {
        let (g, c) = (self.log_group, self.connection);
        options::CloudWatch {
            cluster: g.cluster,
            log_group: g.log_group,
            region: c.region,
            profile: c.profile,
            endpoint_url: c.endpoint_url,
            api: match g.engine {
                Engine::Insights => ktrail_cloudwatch::Api::Insights,
                Engine::Filter => ktrail_cloudwatch::Api::Filter,
            },
            concurrency: usize::from(c.concurrency),
            query_limit: usize::from(g.query_limit),
            timeout: c.timeout.unwrap_or(ktrail_cloudwatch::DEFAULT_TIMEOUT),
            query_poll: c.query_poll,
        }
    }
}

impl InputArgs {
    fn options(self) -> options::Inputs {
        options::Inputs {
            files: self.files,
            samples: self.samples,
            strict: self.strict,
            memory: self.memory,
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
                Invocation::Timeline(options::Timeline {
                    selection: a.pod.selection_in(&a.input, a.reads.reads)?,
                    inputs: a.input.options(),
                    format: a.output,
                    style: a.display.style(),
                    follow: a.follow.then(|| options::Follow {
                        interval: a
                            .poll_interval
                            .unwrap_or(std::time::Duration::from_secs(10)),
                        max_polls: a.max_polls,
                        checkpoint: a.checkpoint,
                    }),
                })
            }
            Command::Webhooks(a) => {
                let a = *a;
                let selection = a.pod.selection_in(&a.view.input, false)?;
                let (inputs, format, style) = a.view.options();
                Invocation::Webhooks(options::Webhooks {
                    selection,
                    inputs,
                    format,
                    style,
                })
            }
            Command::Pods(a) => Invocation::Pods(options::Pods {
                selection: a.pod.selection_in(&a.input, false)?,
                inputs: a.input.options(),
                sort: a.sort,
                format: a.output,
                style: a.display.style(),
            }),
            Command::Report(a) => {
                let a = *a;
                Invocation::Report(options::Report {
                    selection: a.pod.selection(false)?,
                    inputs: a.input.options(),
                    output: a.output.options(true)?,
                    max_stories: a.max_stories,
                })
            }
            Command::Query(a) => Invocation::Query(options::Query {
                selection: a.pod.selection(a.reads.reads)?,
                cloudwatch: a.log_group.options(),
                created: a.created,
            }),
            Command::Fetch(a) => {
                if a.cloudwatch.log_group.cluster.is_none()
                    && a.cloudwatch.log_group.log_group.is_none()
                {
                    return Err(UsageError(
                        "fetch reads CloudWatch Logs: give --cluster NAME or --log-group NAME"
                            .into(),
                    ));
                }
                Invocation::Fetch(options::Fetch {
                    selection: a.pod.selection(a.reads.reads)?,
                    cloudwatch: a.cloudwatch.options(),
                    output: a.file.options(false)?,
                    redact: a.redact,
                    accounts: accounts(a.accounts)?,
                })
            }
            Command::Blame(a) => {
                let a = *a;
                let selection = PodArgs {
                    name: a.pod,
                    ..Default::default()
                }
                .selection(false)?;
                let (inputs, format, style) = a.view.options();
                Invocation::Blame(options::Blame {
                    selection,
                    inputs,
                    format,
                    style,
                    at: a.at,
                    paths: validate_globs(a.paths)?,
                    history: a.history,
                })
            }
            Command::Diff(a) => {
                let a = *a;
                let selection = PodArgs {
                    name: PodNameArgs {
                        pod: Some(a.pod),
                        namespace: a.namespace,
                        uid: None,
                    },
                    ..Default::default()
                }
                .selection(false)?;
                if selection.namespace.is_none() {
                    return Err(UsageError(
                        "diff needs the pod's namespace: give POD as namespace/name or --namespace"
                            .into(),
                    ));
                }
                let times = a.from.is_some() || a.to.is_some();
                if let (Some(f), Some(t)) = (a.from, a.to) {
                    if f > t {
                        return Err(UsageError("--from is after --to".into()));
                    }
                }
                let sides =
                    match (times, a.uid.len()) {
                        (true, 0) => options::DiffSides::Times { uid: None },
                        (true, 1) => options::DiffSides::Times {
                            uid: a.uid.into_iter().next(),
                        },
                        (false, 0) => options::DiffSides::LastTwo,
                        (false, 2) => {
                            let mut u = a.uid.into_iter();
                            options::DiffSides::Uids(
                                u.next().unwrap_or_default(),
                                u.next().unwrap_or_default(),
                            )
                        }
                        (true, _) => return Err(UsageError(
                            "with --from/--to, give at most one --uid (the incarnation compared)"
                                .into(),
                        )),
                        (false, _) => {
                            return Err(UsageError(
                                "give --uid twice (the two incarnations), or --from/--to".into(),
                            ))
                        }
                    };
                let (inputs, format, style) = a.view.options();
                Invocation::Diff(options::Diff {
                    selection,
                    inputs,
                    format,
                    style,
                    sides,
                    from: a.from,
                    to: a.to,
                    paths: validate_globs(a.paths)?,
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
                output: a.file_out.options(true)?,
                accounts: accounts(a.accounts)?,
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

/// `--path` globs are JSON Pointers: they start at the root.
fn validate_globs(globs: Vec<String>) -> Result<Vec<String>, UsageError> {
    for g in &globs {
        if !g.starts_with('/') {
            return Err(UsageError(format!(
                "--path {g:?} is not a JSON Pointer: it starts with / (e.g. /metadata/labels)"
            )));
        }
    }
    Ok(globs)
}

/// A usage error found after parsing (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl PodArgs {
    /// Refuses a POD that is the path of a file or directory (a forgotten `-f`) when it cannot be
    /// meant as a pod: no input is given, or it is no valid `namespace/name`. A valid name that is
    /// also a path here, with inputs given, is read as a pod (the no-match help mentions the path).
    pub fn not_a_path(&self, input: &InputArgs) -> Result<(), UsageError> {
        let Some(p) = self.name.pod.as_deref() else {
            return Ok(());
        };
        let Ok(meta) = std::fs::metadata(p) else {
            return Ok(());
        };
        let no_input = input.files.is_empty()
            && input.samples.is_empty()
            && input.cloudwatch.log_group.cluster.is_none()
            && input.cloudwatch.log_group.log_group.is_none();
        if no_input || self.selection(false).is_err() {
            let what = if meta.is_dir() {
                "a directory"
            } else {
                "a file"
            };
            return Err(UsageError(format!(
                "POD {p:?} is {what}: did you mean -f {p}?"
            )));
        }
        Ok(())
    }

    /// [`Self::selection`] for the commands that read `input`, after [`Self::not_a_path`].
    pub fn selection_in(&self, input: &InputArgs, reads: bool) -> Result<Selection, UsageError> {
        self.not_a_path(input)?;
        self.selection(reads)
    }

    /// The validated selection; `reads` from the commands that offer [`ReadsArg`].
    pub fn selection(&self, reads: bool) -> Result<Selection, UsageError> {
        let PodNameArgs {
            pod,
            namespace: given,
            uid,
        } = &self.name;
        let (namespace, name) = match pod.as_deref() {
            None => (given.clone(), None),
            Some(p) => match p.split_once('/') {
                Some((ns, n)) => {
                    if let Some(other) = given {
                        if other != ns {
                            return Err(UsageError(format!(
                                "POD {p:?} names namespace {ns:?} but --namespace is {other:?}"
                            )));
                        }
                    }
                    (Some(ns.to_owned()), Some(n.to_owned()))
                }
                None => (given.clone(), Some(p.to_owned())),
            },
        };
        // One rule for every source: CloudWatch splices these into queries, and a name no
        // Kubernetes object can have would silently match nothing in a file.
        for (kind, v) in [(NameKind::Namespace, &namespace), (NameKind::Pod, &name)] {
            if let Some(v) = v {
                names::validate(kind, v).map_err(|e| UsageError(e.to_string()))?;
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
            uid: uid.clone(),
            since: self.since,
            until: self.until,
            reads,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_default_is_the_engines() {
        let cli = Cli::try_parse_from(["ktrail", "pods", "--sample", "eks-fargate"]).unwrap();
        let Ok(Invocation::Pods(p)) = cli.validate() else {
            panic!("pods")
        };
        assert_eq!(p.inputs.memory, ktrail_core::collect::DEFAULT_MEMORY);
        assert_eq!(parse_memory("1.5K"), Ok(1536));
        assert_eq!(parse_memory("2MB"), Ok(2_000_000));
    }

    #[test]
    fn the_query_poll_is_hidden_and_parsed() {
        let parse = |extra: &[&str]| {
            let mut args = vec!["ktrail", "pods", "--cluster", "c"];
            args.extend(extra);
            let Ok(Invocation::Pods(p)) = Cli::try_parse_from(args).unwrap().validate() else {
                panic!("pods")
            };
            p.inputs.cloudwatch.query_poll
        };
        assert_eq!(parse(&[]), None);
        let ms = std::time::Duration::from_millis(10);
        assert_eq!(parse(&["--query-poll", "10ms"]), Some(ms));
        let help = Cli::try_parse_from(["ktrail", "pods", "--help"])
            .unwrap_err()
            .to_string();
        assert!(
            help.contains("--timeout") && !help.contains("query-poll"),
            "{help}"
        );
    }

    #[test]
    fn pod_argument_forms() {
        let a = |pod: &str, namespace: Option<&str>| PodArgs {
            name: PodNameArgs {
                pod: Some(pod.into()),
                namespace: namespace.map(Into::into),
                uid: None,
            },
            ..Default::default()
        };
        let s = a("fargate-ns/nginx", None).selection(false).unwrap();
        assert_eq!(
            (s.namespace.as_deref(), s.name.as_deref()),
            (Some("fargate-ns"), Some("nginx"))
        );
        let s = a("nginx", Some("x")).selection(false).unwrap();
        assert_eq!(s.namespace.as_deref(), Some("x"));
        assert!(a("a/b", Some("x")).selection(false).is_err());
        assert!(a("a/b/c", None).selection(false).is_err());
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
