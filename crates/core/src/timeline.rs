//! Pods' stories: records grouped per pod, split into incarnations by uid, turned into events with
//! readable summaries and attributed field changes, plus the facts a reader looks for first
//! (who created it, which scheduler, which node, when bound, when Ready, who deleted it).
//!
//! The types here are the JSON contract (`schemaVersion` 1): renaming a serialized field is a
//! breaking change for users' scripts; add fields instead.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::io;
use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{mpsc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::admission::{self, WebhookCall};
use crate::audit::{format_time, Source};
use crate::json::tree::Tree;
use crate::record::{Body, ConfigEvent, Record};
use crate::spill::Runs;
use crate::text::shorten;

/// Counts of what was read; part of the JSON contract.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub lines_read: u64,
    pub lines_skipped: u64,
    /// Audit events decoded (every stage counts); lines the scan skips unread are not counted.
    pub events: u64,
    /// Distinct pod requests kept.
    pub pod_events: u64,
    /// Stages of a request already seen (same auditID, other stage), folded into one event.
    pub stages_collapsed: u64,
    /// The same stage of the same request seen again (overlapping exports).
    pub duplicates: u64,
}

pub const SCHEMA_VERSION: u32 = 1;
/// Who is credited with changes no webhook annotation explains.
pub const BUILTIN: &str = "built-in admission";

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub schema_version: u32,
    pub pods: Vec<Pod>,
    pub summary: Summary,
    /// Writes to webhook configurations, in time order (for provenance reports).
    #[serde(skip)]
    pub configs: Vec<ConfigEvent>,
}

/// One pod incarnation (or one denied create).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pod {
    pub namespace: String,
    pub name: String,
    pub uid: Option<String>,
    pub denied: bool,
    pub denied_by: Option<String>,
    pub message: Option<String>,
    pub created_at: Option<String>,
    pub created_by: Option<String>,
    pub scheduler: Option<String>,
    pub node: Option<String>,
    pub bound_at: Option<String>,
    pub bound_by: Option<String>,
    pub ready_at: Option<String>,
    pub phase: Option<String>,
    pub deleted_at: Option<String>,
    pub deleted_by: Option<String>,
    /// [`EventKind::Delete`] or [`EventKind::Eviction`].
    pub deleted_via: Option<EventKind>,
    pub latencies: Latencies,
    /// The webhook calls of the create, mutating first, by round and index.
    pub webhooks: Vec<WebhookCall>,
    /// Paths the create changed that no webhook patch explains.
    pub builtin_changes: Vec<String>,
    pub events: Vec<PodEvent>,
    #[serde(skip)]
    pub times: Times,
}

impl Pod {
    /// Every webhook call of the story: those at its create, then those of its later writes.
    pub fn webhook_calls(&self) -> impl Iterator<Item = &WebhookCall> {
        self.webhooks
            .iter()
            .chain(self.events.iter().flat_map(|e| e.webhooks.iter()))
    }

    /// The clouds whose exports told this story (`GKE`, `AKS`, `EKS`), in the order their events
    /// come; empty when every event came from a plain file.
    pub fn clouds(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        for c in self.events.iter().filter_map(|e| e.source.cloud()) {
            if !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }
}

/// The derived times as values, for computations (not serialized).
#[derive(Debug, Clone, Default)]
pub struct Times {
    pub first: Option<DateTime<Utc>>,
    pub created: Option<DateTime<Utc>>,
    pub bound: Option<DateTime<Utc>>,
    pub ready: Option<DateTime<Utc>>,
    pub deleted: Option<DateTime<Utc>>,
}

impl Times {
    /// The seconds between the milestones, as the pod's `latencies` has them: views that keep the
    /// times of many pods keep no second copy.
    pub fn latencies(&self) -> Latencies {
        Latencies {
            created_to_bound: secs(self.created, self.bound),
            bound_to_ready: secs(self.bound, self.ready),
            created_to_ready: secs(self.created, self.ready),
        }
    }
}

/// Seconds between the milestones, when both are known.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Latencies {
    pub created_to_bound: Option<f64>,
    pub bound_to_ready: Option<f64>,
    pub created_to_ready: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodEvent {
    pub time: String,
    pub kind: EventKind,
    pub verb: String,
    pub subresource: Option<String>,
    pub user: String,
    /// The authenticated user who impersonated `user`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impersonated_by: Option<String>,
    pub user_agent: Option<String>,
    pub code: Option<i64>,
    #[serde(rename = "auditID")]
    pub audit_id: Option<String>,
    pub stage: String,
    /// One readable line.
    pub summary: String,
    pub changes: Vec<Change>,
    /// Webhook calls of this request, for writes other than the create (whose calls are the pod's).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub webhooks: Vec<WebhookCall>,
    /// The export the event was read from (`eks`, `gke`, `aks`); left out for a plain file.
    #[serde(skip_serializing_if = "Source::is_file")]
    pub source: Source,
    #[serde(skip)]
    pub at: DateTime<Utc>,
}

/// What a request did to a pod, as a pod's story names it: the verb for the pod itself, the
/// subresource for the rest (a pod's `status`, its `binding`, an `exec`, ...).
///
/// It lives here rather than in `audit`, which models the wire: the API server logs a verb and a
/// subresource, and this is ktrail's reading of the two together (a `deletecollection` is a
/// `delete` of each pod, a `create` of `pods/binding` is a `binding`). It is part of the JSON
/// contract, written as [`EventKind::as_str`].
///
/// Verbs and subresources are open-ended (a new Kubernetes release adds some): the ones ktrail
/// does not tell apart are kept as [`EventKind::Other`] with the name as logged, and written as
/// such. Build kinds from names with [`EventKind::from_name`] only, so that a known name never
/// ends up in `Other` and kinds compare equal exactly when their names do.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventKind {
    Create,
    Update,
    Patch,
    /// A `delete`, or a `deletecollection` that took the pod with it.
    Delete,
    Status,
    Binding,
    Eviction,
    Exec,
    Attach,
    PortForward,
    /// Reads, kept only when asked for.
    Get,
    List,
    Watch,
    /// A verb or subresource ktrail has no reading of (`log`, `ephemeralcontainers`, ...), by
    /// its logged name.
    Other(String),
}

impl EventKind {
    /// The kind a verb or subresource name stands for.
    pub fn from_name(name: &str) -> EventKind {
        match name {
            "create" => EventKind::Create,
            "update" => EventKind::Update,
            "patch" => EventKind::Patch,
            "delete" => EventKind::Delete,
            "status" => EventKind::Status,
            "binding" => EventKind::Binding,
            "eviction" => EventKind::Eviction,
            "exec" => EventKind::Exec,
            "attach" => EventKind::Attach,
            "portforward" => EventKind::PortForward,
            "get" => EventKind::Get,
            "list" => EventKind::List,
            "watch" => EventKind::Watch,
            other => EventKind::Other(other.to_owned()),
        }
    }

    /// The kind of a kept pod request.
    pub fn of(r: &Record) -> EventKind {
        match r.subresource.as_deref() {
            None => match r.verb.as_str() {
                "deletecollection" => EventKind::Delete,
                v => EventKind::from_name(v),
            },
            Some(s) => EventKind::from_name(s),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            EventKind::Create => "create",
            EventKind::Update => "update",
            EventKind::Patch => "patch",
            EventKind::Delete => "delete",
            EventKind::Status => "status",
            EventKind::Binding => "binding",
            EventKind::Eviction => "eviction",
            EventKind::Exec => "exec",
            EventKind::Attach => "attach",
            EventKind::PortForward => "portforward",
            EventKind::Get => "get",
            EventKind::List => "list",
            EventKind::Watch => "watch",
            EventKind::Other(name) => name,
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so that widths and alignment apply as they do to a string.
        f.pad(self.as_str())
    }
}

impl Serialize for EventKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One changed field and who changed it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Change {
    pub path: String,
    pub op: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    pub by: String,
}

/// The records of a scan, sorted and grouped by pod name, before any story is derived.
///
/// Deriving (parsing the kept bodies, diffing objects) is most of the work left after the scan,
/// and the stories take several times the memory of the records they come from. So they are
/// derived group by group, spread over every core, and handed on in output order: collected
/// ([`Pending::into_report`]), written pod by pod ([`Pending::stream`]) or folded into a view's
/// rows, holding the records and a few dozen stories, never every story.
///
/// The records are in memory, or, when they outgrew the collector's budget, in the runs of
/// [`crate::spill`], merged back a group at a time on each pass.
pub struct Pending {
    records: Vec<Record>,
    /// One range of `records` per (namespace, name), in that order.
    groups: Vec<Range<usize>>,
    runs: Runs,
    uid: Option<String>,
    /// The pods a `--uid` prefix names when it names more than one: (uid, namespace, name).
    pub ambiguous_uid: Vec<(String, String, String)>,
    pub summary: Summary,
    pub configs: Vec<ConfigEvent>,
}

/// The records of one (namespace, name), in time order: borrowed from memory, or read back from
/// the spill files.
enum Group<'a> {
    Borrowed(&'a [Record]),
    Owned(Vec<Record>),
}

impl std::ops::Deref for Group<'_> {
    type Target = [Record];

    fn deref(&self) -> &[Record] {
        match self {
            Group::Borrowed(r) => r,
            Group::Owned(r) => r,
        }
    }
}

/// Groups derived ahead of the one written next: enough to keep every core busy when a group
/// takes long, few enough that their stories stay small next to the records.
const AHEAD: usize = 64;

/// Groups handed to a thread at once, and handed back at once: a group takes a fraction of a
/// millisecond as a rule, and a hand-off each way per group put a thread to sleep and woke it
/// again for every pod name (bench/README.md).
const BATCH: usize = 8;

/// What `--uid` selects (see [`crate::collect`]): the uid, and the pods of an ambiguous prefix.
pub type UidChoice = (Option<String>, Vec<(String, String, String)>);

/// Where the records of one group come from, in output order.
type Groups<'a> = Box<dyn Iterator<Item = io::Result<Group<'a>>> + 'a>;

impl Pending {
    /// `records` in memory, or (when `runs` holds any) every record in `runs`.
    pub fn new(
        mut records: Vec<Record>,
        runs: Runs,
        configs: Vec<ConfigEvent>,
        (uid, ambiguous_uid): UidChoice,
        summary: Summary,
    ) -> Pending {
        // Sorted through a list of keys: moving the records themselves (a few hundred bytes
        // each) made this the longest step that runs on one core. `seq` is unique.
        let mut order: Vec<(&str, &str, DateTime<Utc>, u64, usize)> = records
            .iter()
            .enumerate()
            .map(|(i, r)| (r.namespace.as_str(), r.name.as_str(), r.time, r.seq, i))
            .collect();
        order.sort_unstable();
        let mut order: Vec<usize> = order.into_iter().map(|k| k.4).collect();
        // In place, cycle by cycle (a new vector of records costs fresh pages): position `k`
        // takes the record at `order[k]`; a position done is marked `usize::MAX`.
        for start in 0..order.len() {
            let mut k = start;
            while order[k] != usize::MAX {
                let from = order[k];
                order[k] = usize::MAX;
                if from == start {
                    break;
                }
                records.swap(k, from);
                k = from;
            }
        }
        let mut groups = Vec::new();
        let mut start = 0;
        for group in records.chunk_by(|a, b| a.namespace == b.namespace && a.name == b.name) {
            groups.push(start..start + group.len());
            start += group.len();
        }
        Pending {
            records,
            groups,
            runs,
            uid,
            ambiguous_uid,
            summary,
            configs,
        }
    }

    /// Whether the records outgrew the memory budget and are read back from temporary files.
    pub fn spilled(&self) -> bool {
        !self.runs.is_empty()
    }

    /// Every group of records, in output order, and about how many there are.
    fn groups(&self) -> io::Result<(usize, Groups<'_>)> {
        if self.runs.is_empty() {
            let it = self
                .groups
                .iter()
                .map(|g| Ok(Group::Borrowed(&self.records[g.clone()])));
            return Ok((self.groups.len(), Box::new(it)));
        }
        let it = self.runs.groups()?.map(|g| g.map(Group::Owned));
        Ok((self.runs.records as usize, Box::new(it)))
    }

    /// Every story, in output order.
    pub fn into_report(self) -> io::Result<Report> {
        let mut pods = Vec::new();
        self.stream(
            |p| p,
            |p| -> io::Result<()> {
                pods.extend(p);
                Ok(())
            },
        )?;
        Ok(Report {
            schema_version: SCHEMA_VERSION,
            pods,
            summary: self.summary,
            configs: self.configs,
        })
    }

    /// Derives the stories group by group, hands each group's pods to `render` (on any thread),
    /// and gives the results to `sink` in output order. The concatenation of the groups' pods is
    /// [`Pending::into_report`]'s `pods`. Each call is a pass of its own.
    pub fn stream<T: Send, E: From<io::Error>>(
        &self,
        render: impl Fn(Vec<Pod>) -> T + Sync,
        sink: impl FnMut(T) -> Result<(), E>,
    ) -> Result<(), E> {
        let (n, groups) = self.groups()?;
        ordered_map(n, groups, |g| render(self.pods_of(&g)), sink)
    }

    /// `f` of every incarnation (of the selected uid), in the order of the stories, spread over
    /// every core like the stories are: for reports that read the records themselves.
    pub fn map_incarnations<T: Send>(
        &self,
        f: impl Fn(&Incarnation<'_>) -> T + Sync,
    ) -> io::Result<Vec<T>> {
        let mut out = Vec::new();
        let (n, groups) = self.groups()?;
        ordered_map(
            n,
            groups,
            |g| {
                let mut incs = incarnations(&g);
                if let Some(uid) = &self.uid {
                    incs.retain(|x| x.uid.as_deref() == Some(uid.as_str()));
                }
                // The stories' order (see `pods_of`): by creation, else by the first event.
                incs.sort_by_key(|x| {
                    x.records
                        .iter()
                        .find(|r| is_create(r))
                        .or(x.records.first())
                        .map(|r| r.time)
                });
                incs.iter().map(&f).collect::<Vec<T>>()
            },
            |t| -> io::Result<()> {
                out.extend(t);
                Ok(())
            },
        )?;
        Ok(out)
    }

    /// The stories of one group: its incarnations, in output order.
    fn pods_of(&self, records: &[Record]) -> Vec<Pod> {
        let mut pods = split_incarnations(records);
        if let Some(uid) = &self.uid {
            pods.retain(|p| p.uid.as_deref() == Some(uid.as_str()));
        }
        // Every pod of a group has the group's namespace and name.
        pods.sort_by_key(|p| p.times.created.or(p.times.first));
        pods
    }
}

/// `f` of every job, spread over every core, each result handed to `sink` in the jobs' order (the
/// output a single thread gives). Jobs go to the threads [`BATCH`] at a time, at most [`AHEAD`]
/// (and the rest of a batch) ahead of the one handed to `sink` next. `n` is about how many jobs
/// there are (a few are done on this thread alone).
///
/// The threads live for the whole map: each keeps its allocator's memory from one group to the
/// next (threads started anew for each round of jobs took fresh pages from the system every
/// round, which the kernel must zero first). A panic in `f` is raised again here.
fn ordered_map<J: Send, T: Send, E: From<io::Error>>(
    n: usize,
    mut jobs: impl Iterator<Item = io::Result<J>>,
    f: impl Fn(J) -> T + Sync,
    mut sink: impl FnMut(T) -> Result<(), E>,
) -> Result<(), E> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(n / 8);
    if threads <= 1 {
        for job in jobs {
            sink(f(job?))?;
        }
        return Ok(());
    }
    let (job_tx, job_rx) = mpsc::channel::<Vec<(usize, J)>>();
    let job_rx = Mutex::new(job_rx);
    std::thread::scope(|scope| {
        let job_tx = job_tx;
        let (done_tx, done_rx) = mpsc::channel::<Vec<(usize, std::thread::Result<T>)>>();
        for _ in 0..threads {
            let (done_tx, job_rx, f) = (done_tx.clone(), &job_rx, &f);
            scope.spawn(move || loop {
                // The lock is held while waiting; the other threads wait on the lock instead.
                let batch = job_rx.lock().unwrap_or_else(PoisonError::into_inner).recv();
                let Ok(batch) = batch else { return };
                let done = batch
                    .into_iter()
                    .map(|(i, j)| (i, panic::catch_unwind(AssertUnwindSafe(|| f(j)))))
                    .collect();
                if done_tx.send(done).is_err() {
                    return;
                }
            });
        }
        drop(done_tx);
        // Returning drops `job_tx`: the threads end after the batch in hand.
        let (mut sent, mut exhausted, mut want) = (0, false, 0);
        let mut early = BTreeMap::new();
        loop {
            while !exhausted && sent < want + AHEAD {
                let mut batch = Vec::with_capacity(BATCH);
                while batch.len() < BATCH {
                    match jobs.next() {
                        Some(job) => {
                            batch.push((sent, job?));
                            sent += 1;
                        }
                        None => {
                            exhausted = true;
                            break;
                        }
                    }
                }
                if !batch.is_empty() {
                    let _ = job_tx.send(batch);
                }
            }
            if want == sent {
                return Ok(());
            }
            let t = loop {
                if let Some(t) = early.remove(&want) {
                    break t;
                }
                match done_rx.recv() {
                    Ok(done) => early.extend(done),
                    // Every thread catches its panics, so they all end only when told to.
                    Err(_) => unreachable!("the timeline's threads ended early"),
                }
            };
            let t = t.unwrap_or_else(|p| panic::resume_unwind(p));
            want += 1;
            sink(t)?;
        }
    })
}

/// The records of one incarnation (or of one denied create), in time order.
pub struct Incarnation<'r> {
    pub uid: Option<String>,
    pub denied: bool,
    pub records: Vec<&'r Record>,
}

fn is_create(r: &Record) -> bool {
    r.verb == "create" && r.subresource.is_none()
}

fn split_incarnations(records: &[Record]) -> Vec<Pod> {
    incarnations(records).into_iter().map(derive).collect()
}

/// One pod name's records (in time order) split into incarnations by uid.
pub fn incarnations(records: &[Record]) -> Vec<Incarnation<'_>> {
    let mut incs: Vec<Incarnation> = Vec::new();
    // The incarnation events without a uid belong to: the latest one created (or seen).
    let mut current: Option<usize> = None;
    for r in records {
        if is_create(r) && r.failed() {
            incs.push(Incarnation {
                uid: None,
                denied: true,
                records: vec![r],
            });
            continue;
        }
        if is_create(r) {
            // A create of an existing uid is the same incarnation seen again (e.g. another stage
            // that lost its auditID); otherwise a new incarnation starts.
            if let Some(i) = r
                .uid
                .as_ref()
                .and_then(|u| incs.iter().position(|x| x.uid.as_ref() == Some(u)))
            {
                incs[i].records.push(r);
                current = Some(i);
                continue;
            }
            // An incarnation seen before its create (no uid yet, e.g. an exec logged first) is
            // adopted when it has no create yet.
            incs.push(Incarnation {
                uid: r.uid.clone(),
                denied: false,
                records: vec![r],
            });
            current = Some(incs.len() - 1);
            continue;
        }
        if r.failed() && r.uid.is_none() && current.is_none() {
            // A failed request about no known pod (e.g. the 404 get `kubectl apply` sends before
            // creating) tells nothing about any incarnation.
            continue;
        }
        let target = match &r.uid {
            Some(u) => match incs
                .iter()
                .position(|x| !x.denied && x.uid.as_ref() == Some(u))
            {
                Some(i) => Some(i),
                None => match current {
                    // The current incarnation's uid is not known yet: this event tells it.
                    Some(c) if incs[c].uid.is_none() => {
                        incs[c].uid = Some(u.clone());
                        Some(c)
                    }
                    _ => None,
                },
            },
            None => current,
        };
        let i = match target {
            Some(i) => i,
            None => {
                incs.push(Incarnation {
                    uid: r.uid.clone(),
                    denied: false,
                    records: Vec::new(),
                });
                incs.len() - 1
            }
        };
        incs[i].records.push(r);
        if !incs[i].denied {
            // Later events without a uid follow the most recently active incarnation.
            if current.is_none_or(|c| c < i || incs[c].uid.is_none()) {
                current = Some(i);
            }
        }
    }
    incs
}

fn secs(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<f64> {
    let (a, b) = (a?, b?);
    let us = (b - a).num_microseconds()?;
    Some(us as f64 / 1e6)
}

fn str_at<'v>(v: Option<&'v Tree>, ptr: &str) -> Option<&'v str> {
    v?.pointer(ptr)?.as_str()
}

/// Everything derived from one incarnation's records (in time order).
fn derive(inc: Incarnation<'_>) -> Pod {
    let first = inc.records[0];
    let mut pod = Pod {
        namespace: first.namespace.clone(),
        name: first.name.clone(),
        uid: inc.uid.clone(),
        denied: inc.denied,
        times: Times {
            first: Some(first.time),
            ..Default::default()
        },
        ..Default::default()
    };
    // The bodies, parsed for this incarnation only (see `record::Body`); the stored object only
    // for the events that read it (a delete's or a binding's response tells nothing more).
    let bodies: Vec<(EventKind, Option<Tree>, Option<Tree>)> = inc
        .records
        .iter()
        .map(|r| {
            let kind = EventKind::of(r);
            let response = matches!(
                kind,
                EventKind::Create | EventKind::Update | EventKind::Patch | EventKind::Status
            )
            .then(|| r.response.as_ref().and_then(Body::parse))
            .flatten();
            (kind, r.request.as_ref().and_then(Body::parse), response)
        })
        .collect();
    // The latest known state of the object, to tell what an update changed.
    let mut state: Option<&Tree> = None;
    let mut kubelet_node: Option<String> = None;
    for (r, (kind, request, response)) in inc.records.iter().zip(&bodies) {
        let (calls, _) = admission::webhook_calls(
            r.webhook_annotations
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        let mut ev = PodEvent {
            time: format_time(&r.time),
            kind: kind.clone(),
            verb: r.verb.clone(),
            subresource: r.subresource.clone(),
            user: r.user.clone(),
            impersonated_by: r.impersonated.clone(),
            user_agent: r.user_agent.clone(),
            code: r.code,
            audit_id: r.audit_id.clone(),
            stage: r.stage.as_str().to_owned(),
            summary: String::new(),
            changes: Vec::new(),
            webhooks: Vec::new(),
            source: r.source,
            at: r.time,
        };
        let ok = !r.failed();
        let req = request.as_ref();
        let resp = response.as_ref().filter(|v| {
            v.get("kind")
                .and_then(Tree::as_str)
                .is_none_or(|k| k == "Pod")
        });
        if let Some(n) = r.user.strip_prefix("system:node:") {
            kubelet_node.get_or_insert_with(|| n.to_owned());
        }
        match &ev.kind {
            EventKind::Create if !ok => {
                // When it was asked for: nothing was created, but the attempt has a time.
                pod.created_at = Some(ev.time.clone());
                pod.times.created = Some(r.time);
                pod.denied_by = r.message.as_deref().and_then(admission::denied_by);
                pod.message = r.message.clone();
                pod.created_by = Some(r.user.clone());
                pod.webhooks = calls;
                ev.summary = match &pod.denied_by {
                    Some(d) => format!("create denied by {d}"),
                    None => format!("create failed ({})", r.code.unwrap_or(0)),
                };
                if let Some(m) = &r.message {
                    ev.summary.push_str(": ");
                    ev.summary.push_str(m);
                }
            }
            EventKind::Create => {
                pod.created_at = Some(ev.time.clone());
                pod.times.created = Some(r.time);
                pod.created_by = Some(r.user.clone());
                pod.scheduler = str_at(resp, "/spec/schedulerName")
                    .or(str_at(req, "/spec/schedulerName").filter(|_| resp.is_none()))
                    .map(str::to_owned);
                attribute(&calls, req, resp, &mut ev.changes);
                pod.builtin_changes = ev
                    .changes
                    .iter()
                    .filter(|c| c.by == BUILTIN)
                    .map(|c| c.path.clone())
                    .collect();
                pod.builtin_changes.sort();
                pod.builtin_changes.dedup();
                ev.summary = summarize_create(&calls, &ev.changes, req.is_some() && resp.is_some());
                pod.webhooks = calls;
                if let Some(n) = str_at(resp, "/spec/nodeName") {
                    pod.node.get_or_insert_with(|| n.to_owned());
                }
                state = resp.or(req);
            }
            kind @ (EventKind::Update | EventKind::Patch) => {
                let update = matches!(kind, EventKind::Update);
                if ok {
                    if update {
                        if let (Some(prev), Some(new)) = (state, req) {
                            for d in admission::diff(prev, new, admission::SERVER_FIELDS) {
                                ev.changes.push(change(d.path, d.op, d.value, &r.user));
                            }
                        }
                    } else if let Some(body) = req {
                        patch_changes(body, &r.user, &mut ev.changes);
                    }
                    let user_paths = ev.changes.len();
                    attribute(&calls, req.filter(|_| update), resp, &mut ev.changes);
                    if !update {
                        // Only webhook patches count here: a patch body is not the whole object.
                        ev.changes.retain(|c| c.by != BUILTIN);
                    }
                    ev.summary = summarize_write(
                        if update { "updated" } else { "patched" },
                        &ev.changes[..user_paths.min(ev.changes.len())],
                        if req.is_none() {
                            // Metadata level, or a body too deep or too damaged to read.
                            Some("request body not in the log")
                        } else if update && state.is_none() {
                            Some("earlier state not in the log")
                        } else {
                            None
                        },
                    );
                    append_webhook_summary(&mut ev.summary, &calls, &ev.changes);
                    if let Some(s) =
                        str_at(resp, "/spec/schedulerName").or(str_at(req, "/spec/schedulerName"))
                    {
                        pod.scheduler.get_or_insert_with(|| s.to_owned());
                    }
                    if let Some(n) = str_at(resp, "/spec/nodeName") {
                        pod.node.get_or_insert_with(|| n.to_owned());
                    }
                    if let Some(s) = resp.or(if update { req } else { None }) {
                        state = Some(s);
                    }
                }
                ev.webhooks = calls;
            }
            EventKind::Status => {
                if let Some(body) = req {
                    if r.verb == "patch" {
                        patch_changes(body, &r.user, &mut ev.changes);
                    } else if let Some(st) = body.get("status") {
                        let prev = state.and_then(|s| s.get("status"));
                        let empty = Tree::Object(Default::default());
                        for d in admission::diff(prev.unwrap_or(&empty), st, &[]) {
                            ev.changes.push(change(
                                format!("/status{}", d.path),
                                d.op,
                                d.value,
                                &r.user,
                            ));
                        }
                    }
                }
                let status = req
                    .and_then(|b| b.get("status"))
                    .or_else(|| resp.and_then(|b| b.get("status")));
                if ok {
                    if pod.ready_at.is_none() && is_ready(req).or(is_ready(resp)) == Some(true) {
                        pod.ready_at = Some(ev.time.clone());
                        pod.times.ready = Some(r.time);
                    }
                    if let Some(p) = status
                        .and_then(|s| s.get("phase"))
                        .and_then(Tree::as_str)
                        .or(str_at(resp, "/status/phase"))
                    {
                        pod.phase = Some(p.to_owned());
                    }
                    if let Some(s) = resp {
                        state = Some(s);
                    }
                }
                ev.summary = summarize_status(status);
            }
            EventKind::Binding => {
                let target = str_at(req, "/target/name").map(str::to_owned);
                if ok && pod.bound_at.is_none() {
                    pod.bound_at = Some(ev.time.clone());
                    pod.times.bound = Some(r.time);
                    pod.bound_by = Some(r.user.clone());
                    if let Some(t) = &target {
                        pod.node = Some(t.clone());
                    }
                }
                ev.summary = match target {
                    Some(t) => format!("bound to node {t}"),
                    None => "bound".into(),
                };
                if let Some(t) = str_at(req, "/target/name") {
                    ev.changes.push(change(
                        "/spec/nodeName".into(),
                        "add",
                        Some(Value::String(t.into())),
                        &r.user,
                    ));
                }
            }
            EventKind::Delete => {
                let grace = req
                    .and_then(|b| b.get("gracePeriodSeconds"))
                    .and_then(Tree::as_i64)
                    .or_else(|| {
                        query_param(r.request_uri.as_deref(), "gracePeriodSeconds")
                            .and_then(|g| g.parse().ok())
                    });
                ev.summary = match grace {
                    Some(g) => format!("deleted (grace period {g}s)"),
                    None => "deleted".into(),
                };
                if ok && pod.deleted_at.is_none() {
                    pod.deleted_at = Some(ev.time.clone());
                    pod.times.deleted = Some(r.time);
                    pod.deleted_by = Some(r.user.clone());
                    pod.deleted_via = Some(EventKind::Delete);
                }
            }
            EventKind::Eviction => {
                ev.summary = "evicted".into();
                if ok && pod.deleted_at.is_none() {
                    pod.deleted_at = Some(ev.time.clone());
                    pod.times.deleted = Some(r.time);
                    pod.deleted_by = Some(r.user.clone());
                    pod.deleted_via = Some(EventKind::Eviction);
                }
            }
            kind @ (EventKind::Exec | EventKind::Attach | EventKind::PortForward) => {
                ev.summary = streaming_summary(kind, r.request_uri.as_deref());
            }
            other => {
                ev.summary = match &r.subresource {
                    Some(s) => format!("{} {s}", r.verb),
                    None => other.to_string(),
                };
                if let (Some(body), true) = (req, ok) {
                    if r.verb == "patch" {
                        patch_changes(body, &r.user, &mut ev.changes);
                    }
                }
            }
        }
        if !ok && ev.kind != EventKind::Create {
            ev.summary = format!(
                "{} failed ({}){}",
                ev.summary,
                r.code.unwrap_or(0),
                r.message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            );
        }
        pod.events.push(ev);
    }
    if pod.node.is_none() && pod.bound_at.is_none() {
        pod.node = kubelet_node;
    }
    pod.latencies = pod.times.latencies();
    pod
}

fn change(path: String, op: &str, value: Option<Value>, by: &str) -> Change {
    Change {
        path,
        op: op.to_owned(),
        value,
        by: by.to_owned(),
    }
}

/// The paths a patch request sets: a JSON Patch (an array of ops) or a merge patch body.
fn patch_changes(body: &Tree, user: &str, out: &mut Vec<Change>) {
    if let Tree::Array(_) = body {
        for (op, path, value) in admission::patch_ops(&body.to_value()) {
            out.push(change(path, &op, value, user));
        }
    } else {
        for d in admission::merge_patch_paths(body, &["/metadata/uid", "/metadata/resourceVersion"])
        {
            out.push(change(d.path, d.op, d.value, user));
        }
    }
}

/// Credits each webhook patch op to its webhook, then what the stored object shows beyond the
/// request and the patches to built-in admission.
fn attribute(
    calls: &[WebhookCall],
    req: Option<&Tree>,
    resp: Option<&Tree>,
    out: &mut Vec<Change>,
) {
    let mut explained: Vec<&str> = Vec::new();
    for call in calls {
        if let Some(patch) = &call.patch {
            for (op, path, value) in admission::patch_ops(patch) {
                out.push(change(path, &op, value, call.name()));
            }
        }
        if let Some(paths) = &call.paths {
            explained.extend(paths.iter().map(String::as_str));
        }
    }
    // A webhook that mutated without a logged patch explains nothing we can name.
    if let (Some(req), Some(resp)) = (req, resp) {
        let explainer = admission::Explainer::new(explained);
        for d in admission::diff(req, resp, admission::SERVER_FIELDS) {
            if !explainer.explains(Some(req), &d.path) {
                out.push(change(d.path, d.op, d.value, BUILTIN));
            }
        }
    }
}

/// At most this many characters of a value in a summary line.
const VALUE_CHARS: usize = 60;
/// At most this many paths per actor in a summary line.
const PATHS_SHOWN: usize = 6;

/// A value shortened for one line.
pub fn short_value(v: &Value) -> String {
    match v {
        Value::String(s) => shorten(s, VALUE_CHARS),
        Value::Object(m) if m.is_empty() => "{}".into(),
        Value::Array(a) if a.is_empty() => "[]".into(),
        Value::Object(_) => "{…}".into(),
        Value::Array(_) => "[…]".into(),
        other => shorten(&other.to_string(), VALUE_CHARS),
    }
}

fn describe_changes<'a>(changes: impl Iterator<Item = &'a Change>) -> String {
    let changes: Vec<&Change> = changes.collect();
    let mut parts: Vec<String> = changes
        .iter()
        .take(PATHS_SHOWN)
        .map(|c| match (&c.value, c.op.as_str()) {
            (_, "remove") => format!("-{}", c.path),
            (Some(v), _) => format!("{}={}", c.path, short_value(v)),
            (None, _) => c.path.clone(),
        })
        .collect();
    if changes.len() > PATHS_SHOWN {
        parts.push(format!("+{} more", changes.len() - PATHS_SHOWN));
    }
    parts.join(", ")
}

fn summarize_create(calls: &[WebhookCall], changes: &[Change], diffed: bool) -> String {
    let mut s = String::from("created");
    append_webhook_summary(&mut s, calls, changes);
    if diffed {
        let builtin = changes.iter().filter(|c| c.by == BUILTIN);
        if builtin.clone().next().is_some() {
            s.push_str(&format!("; {BUILTIN} set {}", describe_changes(builtin)));
        }
    }
    s
}

/// The changes each webhook call made: a webhook called more than once (reinvocation) made the
/// k-th run of consecutive changes attributed to it on its k-th call, since the changes are listed
/// in the order the calls patched.
fn changes_per_call<'a>(calls: &[WebhookCall], changes: &'a [Change]) -> Vec<Vec<&'a Change>> {
    let mut runs: HashMap<&str, VecDeque<Vec<&Change>>> = HashMap::new();
    for run in changes.chunk_by(|a, b| a.by == b.by) {
        runs.entry(run[0].by.as_str())
            .or_default()
            .push_back(run.iter().collect());
    }
    calls
        .iter()
        .map(|call| {
            if call.mutated != Some(true) || call.failed_open || call.fields_unknown() {
                return Vec::new();
            }
            runs.get_mut(call.name())
                .and_then(|r| r.pop_front())
                .unwrap_or_default()
        })
        .collect()
}

fn append_webhook_summary(s: &mut String, calls: &[WebhookCall], changes: &[Change]) {
    let per_call = changes_per_call(calls, changes);
    for (call, mine) in calls.iter().zip(per_call) {
        let name = call.name();
        if call.failed_open {
            s.push_str(&format!(
                "; {name} failed open ({} webhook, round {} index {})",
                call.kind, call.round, call.index
            ));
        } else if call.fields_unknown() {
            s.push_str(&format!(
                "; {name} mutated (fields not logged at this audit level)"
            ));
        } else if call.mutated == Some(true) && !mine.is_empty() {
            s.push_str(&format!(
                "; {name} set {}",
                describe_changes(mine.into_iter())
            ));
        }
    }
}

/// `unknown` says why the changes cannot be told, when they cannot.
fn summarize_write(verb: &str, changes: &[Change], unknown: Option<&str>) -> String {
    if changes.is_empty() {
        return match unknown {
            Some(why) => format!("{verb} ({why})"),
            None => format!("{verb} (no field changed)"),
        };
    }
    format!("{verb} {}", describe_changes(changes.iter()))
}

fn is_ready(obj: Option<&Tree>) -> Option<bool> {
    let conds = obj?.pointer("/status/conditions")?.as_array()?;
    conds
        .iter()
        .find(|c| c.get("type").and_then(Tree::as_str) == Some("Ready"))
        .map(|c| c.get("status").and_then(Tree::as_str) == Some("True"))
}

fn summarize_status(status: Option<&Tree>) -> String {
    let Some(st) = status else {
        return "status updated".into();
    };
    let mut parts = Vec::new();
    if let Some(p) = st.get("phase").and_then(Tree::as_str) {
        parts.push(format!("phase={p}"));
    }
    if let Some(conds) = st.get("conditions").and_then(Tree::as_array) {
        for c in conds {
            if let (Some(t), Some(v)) = (
                c.get("type").and_then(Tree::as_str),
                c.get("status").and_then(Tree::as_str),
            ) {
                parts.push(format!("{t}={v}"));
            }
        }
    }
    if let Some(ip) = st.get("podIP").and_then(Tree::as_str) {
        parts.push(format!("podIP={ip}"));
    }
    if parts.is_empty() {
        "status updated".into()
    } else {
        format!("status {}", parts.join(" "))
    }
}

/// `exec in container c: sh -c ls`, from the request URI's query.
fn streaming_summary(kind: &EventKind, uri: Option<&str>) -> String {
    let params = query_params(uri);
    let container = params
        .iter()
        .find(|(k, _)| k == "container")
        .map(|(_, v)| v.clone());
    let command: Vec<&str> = params
        .iter()
        .filter(|(k, _)| k == "command")
        .map(|(_, v)| v.as_str())
        .collect();
    let ports: Vec<&str> = params
        .iter()
        .filter(|(k, _)| k == "ports")
        .map(|(_, v)| v.as_str())
        .collect();
    let mut s = kind.to_string();
    if let Some(c) = container {
        s.push_str(&format!(" in container {c}"));
    }
    if !command.is_empty() {
        s.push_str(&format!(
            ": {}",
            shorten(&command.join(" "), 2 * VALUE_CHARS)
        ));
    }
    if !ports.is_empty() {
        s.push_str(&format!(" ports {}", ports.join(",")));
    }
    s
}

fn query_param(uri: Option<&str>, key: &str) -> Option<String> {
    query_params(uri)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

fn query_params(uri: Option<&str>) -> Vec<(String, String)> {
    let Some(q) = uri.and_then(|u| u.split_once('?')).map(|(_, q)| q) else {
        return Vec::new();
    };
    q.split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Pods grouped per (namespace, name), in report order.
pub fn by_name(pods: &[Pod]) -> BTreeMap<(&str, &str), Vec<&Pod>> {
    let mut m: BTreeMap<(&str, &str), Vec<&Pod>> = BTreeMap::new();
    for p in pods {
        m.entry((p.namespace.as_str(), p.name.as_str()))
            .or_default()
            .push(p);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_are_decoded() {
        assert_eq!(
            streaming_summary(&EventKind::Exec, Some("/api/v1/namespaces/a/pods/b/exec?command=sh&command=-c&command=ls%20-l&container=app&stdin=true")),
            "exec in container app: sh -c ls -l"
        );
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("a%2Fb"), "a/b");
    }

    use crate::audit::{parse_time, Stage};
    use serde_json::json;

    fn rec(
        seq: u64,
        t: &str,
        verb: &str,
        sub: Option<&str>,
        uid: Option<&str>,
        code: i64,
    ) -> Record {
        Record {
            seq,
            audit_id: Some(format!("id-{seq}")),
            stage: Stage::ResponseComplete,
            time: parse_time(t).unwrap(),
            verb: verb.into(),
            subresource: sub.map(Into::into),
            namespace: "db".into(),
            name: "web-0".into(),
            uid: uid.map(Into::into),
            user: "u".into(),
            impersonated: None,
            user_agent: None,
            code: Some(code),
            message: None,
            level: None,
            request_uri: None,
            webhook_annotations: Vec::new(),
            request: None,
            response: None,
            source: Source::File,
        }
    }

    #[test]
    fn incarnations_split_by_uid_and_events_without_uid_follow_the_latest() {
        let mut bind_b = rec(
            6,
            "2024-01-01T00:05:01Z",
            "create",
            Some("binding"),
            Some("B"),
            201,
        );
        bind_b.request = Some(
            json!({"kind":"Binding","metadata":{"name":"web-0","uid":"B"},"target":{"name":"node-2"}})
                .into(),
        );
        let records = vec![
            rec(1, "2024-01-01T00:00:00Z", "create", Some("exec"), None, 101),
            rec(
                2,
                "2024-01-01T00:00:01Z",
                "patch",
                Some("status"),
                Some("A"),
                200,
            ),
            rec(3, "2024-01-01T00:01:00Z", "delete", None, Some("A"), 200),
            rec(4, "2024-01-01T00:05:00Z", "create", None, Some("B"), 201),
            rec(5, "2024-01-01T00:05:00.5Z", "update", None, None, 200),
            bind_b,
            rec(7, "2024-01-01T00:06:00Z", "create", None, None, 403),
        ];
        let pods = split_incarnations(&records);
        assert_eq!(pods.len(), 3);
        let a = &pods[0];
        assert_eq!(
            a.uid.as_deref(),
            Some("A"),
            "the exec before any uid is adopted by A"
        );
        assert_eq!(a.created_at, None);
        assert_eq!(
            a.events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
            ["exec", "status", "delete"]
        );
        assert_eq!(
            a.deleted_via.as_ref().map(EventKind::as_str),
            Some("delete")
        );
        let b = &pods[1];
        assert_eq!(b.uid.as_deref(), Some("B"));
        assert_eq!(
            b.events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
            ["create", "update", "binding"]
        );
        assert_eq!(b.node.as_deref(), Some("node-2"));
        assert_eq!(b.latencies.created_to_bound, Some(1.0));
        assert!(pods[2].denied && pods[2].uid.is_none());
    }

    #[test]
    fn ordered_map_keeps_the_order_and_stops_when_told() {
        let jobs = |n: usize| (0..n).map(Ok);
        for n in [0, 1, 7, 8, 100, 1000] {
            let mut got = Vec::new();
            let r = ordered_map(
                n,
                jobs(n),
                |i| {
                    // Uneven work, so that results come back out of order.
                    if i % 7 == 0 {
                        std::thread::sleep(std::time::Duration::from_micros(200));
                    }
                    i * 2
                },
                |x| -> io::Result<()> {
                    got.push(x);
                    Ok(())
                },
            );
            assert!(r.is_ok());
            assert_eq!(got, (0..n).map(|i| i * 2).collect::<Vec<_>>(), "{n}");
        }
        let mut seen = 0;
        let r = ordered_map(
            1000,
            jobs(1000),
            |i| i,
            |i| {
                if i == 300 {
                    return Err(io::Error::other("stop"));
                }
                seen += 1;
                Ok(())
            },
        );
        assert_eq!(
            (r.map_err(|e| e.to_string()), seen),
            (Err("stop".into()), 300)
        );
        // A job that cannot be read ends the map with its error, after the jobs before it.
        let mut seen = Vec::new();
        let failing = (0..1000).map(|i| {
            if i == 500 {
                Err(io::Error::other("unreadable"))
            } else {
                Ok(i)
            }
        });
        let r = ordered_map(
            1000,
            failing,
            |i| i,
            |i| -> io::Result<()> {
                seen.push(i);
                Ok(())
            },
        );
        assert_eq!(r.map_err(|e| e.to_string()), Err("unreadable".into()));
        assert_eq!(seen, (0..seen.len()).collect::<Vec<_>>());
        assert!(seen.len() <= 500);
        let panicked = std::panic::catch_unwind(|| {
            ordered_map(
                100,
                jobs(100),
                |i| assert_ne!(i, 50),
                |()| io::Result::Ok(()),
            )
        });
        assert!(panicked.is_err());
    }
}
