//! Collects the records of many lines into one place, collapsing the stages of a request and the
//! duplicates of overlapping exports, then hands them to the timeline builder.
//!
//! Work per line is split in two: [`process_line`] is pure (decode + extract) and can run on any
//! thread; [`Collector::accept`] is the cheap sequential part that must see lines in order.
//!
//! Records are kept in memory up to a budget ([`Collector::with_memory`]); past it they are
//! written to temporary files ([`crate::spill`]) and memory starts empty again. What must stay in
//! memory for the whole scan is small per record: which requests were seen (a 128-bit hash of the
//! auditID, the stage kept and where that record is) and the configurations.

use std::collections::hash_map::{Entry, RandomState};
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::io;

use crate::audit::{Event, Stage};
use crate::decode::{self, Problem};
use crate::record::{self, ConfigEvent, Extracted, Record, Selection};
use crate::spill;
use crate::suggest::Census;
use crate::timeline::{Pending, Report, Summary, UidChoice};

/// The memory budget for kept records when none is given: the whole process stays well under
/// 256 MiB on a day of a busy cluster's log (bench/README.md).
pub const DEFAULT_MEMORY: usize = 64 << 20;

/// What one line gave, computed without shared state.
#[derive(Default)]
pub struct LineResult {
    pub events: usize,
    pub extracted: Vec<Extracted>,
    pub problem: Option<Problem>,
}

/// Decodes one line and keeps what the selection needs.
pub fn process_line(line: &[u8], sel: &Selection) -> LineResult {
    let mut extracted = Vec::new();
    let mut unusable = None;
    let outcome = decode::decode_line(line, &mut |ev| match record::extract(ev, sel) {
        Ok(x) => extracted.push(x),
        Err(why) => unusable = Some(Problem::Unusable(why)),
    });
    LineResult {
        events: outcome.events,
        extracted,
        problem: outcome.problem.or(unusable),
    }
}

/// What one event, decoded from a line of its own, gives: what [`process_line`] gives for that line.
pub fn process_event(ev: &Event<'_>, sel: &Selection) -> LineResult {
    let mut r = LineResult {
        events: 1,
        ..LineResult::default()
    };
    match record::extract(ev, sel) {
        Ok(x) => r.extracted.push(x),
        Err(why) => r.problem = Some(Problem::Unusable(why)),
    }
    r
}

/// The request an auditID names, as two independent 64-bit hashes: a fraction of the memory of the
/// text, and a collision as unlikely as with the text itself for any log that fits on a disk.
type AuditKey = (u64, u64);

/// The record kept for one request: its input order, and the stage kept with its ordinal (its
/// place among every record kept: at `ordinal - spilled` in memory, or in a run), the stage in
/// the top byte. Sixteen bytes: there is one for every request of the log.
#[derive(Clone, Copy)]
struct Slot {
    seq: u64,
    stage_ordinal: u64,
}

const ORDINAL: u64 = (1 << 56) - 1;

impl Slot {
    fn new(seq: u64, stage: Stage, ordinal: u64) -> Slot {
        Slot {
            seq,
            stage_ordinal: ((stage as u64) << 56) | (ordinal & ORDINAL),
        }
    }

    fn stage(self) -> Stage {
        spill::stage((self.stage_ordinal >> 56) as u8).unwrap_or(Stage::Other)
    }

    fn ordinal(self) -> u64 {
        self.stage_ordinal & ORDINAL
    }
}

pub struct Collector {
    sel: Selection,
    /// Kept records in memory: the one at index `i` has the ordinal `spilled + i`.
    records: Vec<Record>,
    by_audit: HashMap<AuditKey, Slot>,
    hashers: (RandomState, RandomState),
    configs: Vec<ConfigEvent>,
    configs_by_audit: HashMap<String, usize>,
    summary: Summary,
    seq: u64,
    /// Set for the broad pass after a run that matched nothing: pods are only counted.
    census: Option<Census>,
    /// Bytes the records in memory take (see [`spill::footprint`]), and the most they may.
    held: usize,
    budget: usize,
    /// Records written to the runs so far.
    spilled: u64,
    /// Writes the runs (see [`spill::Writer`]).
    writer: spill::Writer,
    /// Records kept and not replaced since.
    live: u64,
    /// For `--uid`: whether a record has the uid whole, else the uids it is a prefix of.
    uid_whole: bool,
    uid_prefixed: BTreeMap<String, (String, String)>,
}

impl Default for Collector {
    fn default() -> Self {
        Collector {
            sel: Selection::default(),
            records: Vec::new(),
            by_audit: HashMap::new(),
            hashers: (RandomState::new(), RandomState::new()),
            configs: Vec::new(),
            configs_by_audit: HashMap::new(),
            summary: Summary::default(),
            seq: 0,
            census: None,
            held: 0,
            budget: DEFAULT_MEMORY,
            spilled: 0,
            writer: spill::Writer::default(),
            live: 0,
            uid_whole: false,
            uid_prefixed: BTreeMap::new(),
        }
    }
}

impl Collector {
    pub fn new(sel: Selection) -> Self {
        Collector {
            sel,
            ..Default::default()
        }
    }

    /// Sets the memory budget for kept records, in bytes: past it they go to temporary files.
    pub fn with_memory(mut self, bytes: usize) -> Self {
        self.budget = bytes;
        self
    }

    /// A collector that keeps no record, only which pods the input holds and when (see
    /// [`crate::suggest`]): memory grows with the pods, not with their events.
    pub fn census(sel: Selection) -> Self {
        Collector {
            sel,
            census: Some(Census::default()),
            ..Default::default()
        }
    }

    /// What a [`Collector::census`] saw (empty for any other collector).
    pub fn finish_census(self) -> Census {
        self.census.unwrap_or_default()
    }

    pub fn selection(&self) -> &Selection {
        &self.sel
    }

    /// Decodes and keeps one line; returns what was wrong with it, if anything.
    pub fn feed_line(&mut self, line: &[u8]) -> Option<Problem> {
        let r = process_line(line, &self.sel);
        self.accept(r)
    }

    /// Lines read so far, of every input.
    pub fn lines_read(&self) -> u64 {
        self.summary.lines_read
    }

    /// Counts a line that was never decoded because no prefilter literal was in it.
    pub fn skip_unread(&mut self) {
        self.summary.lines_read += 1;
    }

    /// Counts a line that could not even be read (too long, I/O).
    pub fn reject(&mut self, p: Problem) -> Option<Problem> {
        self.summary.lines_read += 1;
        self.summary.lines_skipped += 1;
        Some(p)
    }

    /// The sequential half of line processing, in input order.
    pub fn accept(&mut self, r: LineResult) -> Option<Problem> {
        self.summary.lines_read += 1;
        self.summary.events += r.events as u64;
        // A line is skipped when it had a problem and gave nothing: a line whose only event is an
        // unusable pod event is skipped too, a batch with some good items is not.
        if r.problem.is_some() && r.extracted.is_empty() {
            self.summary.lines_skipped += 1;
        }
        if let Some(census) = &mut self.census {
            for x in &r.extracted {
                if let Extracted::Pod(rec) = x {
                    census.add(rec);
                }
            }
            return r.problem;
        }
        for x in r.extracted {
            match x {
                Extracted::Pod(rec) => self.keep_record(*rec),
                Extracted::Config(c) => self.keep_config(c),
                Extracted::Other => {}
            }
        }
        r.problem
    }

    fn keep_record(&mut self, mut rec: Record) {
        self.seq += 1;
        rec.seq = self.seq;
        self.note_uid(&rec);
        let Some(id) = rec.audit_id.as_deref() else {
            self.push(rec);
            return;
        };
        let key = (self.hashers.0.hash_one(id), self.hashers.1.hash_one(id));
        let ordinal = self.spilled + self.records.len() as u64;
        let slot = match self.by_audit.entry(key) {
            Entry::Vacant(v) => {
                v.insert(Slot::new(rec.seq, rec.stage, ordinal));
                self.push(rec);
                return;
            }
            Entry::Occupied(mut o) => {
                let old = *o.get();
                if rec.stage.rank() > old.stage().rank() {
                    // A spilled record is replaced by a new one; one in memory in place.
                    let at = if old.ordinal() < self.spilled {
                        ordinal
                    } else {
                        old.ordinal()
                    };
                    *o.get_mut() = Slot::new(old.seq, rec.stage, at);
                }
                old
            }
        };
        let (old_stage, old_ordinal) = (slot.stage(), slot.ordinal());
        if old_stage == rec.stage {
            self.summary.duplicates += 1;
        } else {
            self.summary.stages_collapsed += 1;
        }
        // The later, fuller stage takes the first one's place in the input order.
        if rec.stage.rank() > old_stage.rank() {
            rec.seq = slot.seq;
            if old_ordinal >= self.spilled {
                let old = &mut self.records[(old_ordinal - self.spilled) as usize];
                self.held = self.held - spill::footprint(old) + spill::footprint(&rec);
                *old = rec;
            } else {
                self.writer.kill(old_ordinal);
                self.live -= 1;
                self.push(rec);
            }
        }
    }

    /// Keeps a record in memory, and writes memory out as a run when that passes half the budget
    /// (the other half is the run being written meanwhile, see [`spill::Writer`]).
    fn push(&mut self, rec: Record) {
        self.held += spill::footprint(&rec);
        self.live += 1;
        self.records.push(rec);
        if self.held > self.budget / 2 {
            self.spill();
        }
    }

    /// Writes every record in memory as one run.
    fn spill(&mut self) {
        let first = self.spilled;
        let batch: Vec<(u64, Record)> = std::mem::take(&mut self.records)
            .into_iter()
            .enumerate()
            .map(|(i, r)| (first + i as u64, r))
            .collect();
        self.spilled += batch.len() as u64;
        self.held = 0;
        self.writer.write(batch);
    }

    /// Notes what `--uid` needs to know of a record's uid.
    fn note_uid(&mut self, rec: &Record) {
        let (Some(given), Some(u)) = (self.sel.uid.as_deref(), rec.uid.as_deref()) else {
            return;
        };
        if u == given {
            self.uid_whole = true;
        } else if !self.uid_whole && u.starts_with(given) && !self.uid_prefixed.contains_key(u) {
            self.uid_prefixed
                .insert(u.to_owned(), (rec.namespace.clone(), rec.name.clone()));
        }
    }

    /// The uid `--uid` selects: the one given when a record has it whole, else the one uid it is a
    /// prefix of (as `git` takes a short commit id). A prefix of several selects none and names
    /// them.
    fn chosen_uid(&mut self) -> UidChoice {
        let Some(given) = self.sel.uid.clone() else {
            return (None, Vec::new());
        };
        if self.uid_whole {
            return (Some(given), Vec::new());
        }
        let found = std::mem::take(&mut self.uid_prefixed);
        match found.len() {
            1 => (found.into_keys().next(), Vec::new()),
            0 => (Some(given), Vec::new()),
            _ => (
                Some(given),
                found.into_iter().map(|(u, (ns, n))| (u, ns, n)).collect(),
            ),
        }
    }

    fn keep_config(&mut self, mut c: ConfigEvent) {
        self.seq += 1;
        c.seq = self.seq;
        if let Some(id) = c.audit_id.clone() {
            if let Some(&i) = self.configs_by_audit.get(&id) {
                if c.stage.rank() > self.configs[i].stage.rank() {
                    c.seq = self.configs[i].seq;
                    self.configs[i] = c;
                }
                return;
            }
            self.configs_by_audit.insert(id, self.configs.len());
        }
        self.configs.push(c);
    }

    /// Builds the pods' stories.
    pub fn finish(self) -> io::Result<Report> {
        self.finish_pending()?.into_report()
    }

    /// Ends the scan: the records grouped per pod, stories not derived yet. Fails when a run
    /// could not be written (the temporary directory is full or unwritable).
    pub fn finish_pending(mut self) -> io::Result<Pending> {
        // Once any record is in a run, they all are: the merge reads runs only.
        if self.spilled > 0 && !self.records.is_empty() {
            self.spill();
        }
        let runs = std::mem::take(&mut self.writer)
            .finish()
            .map_err(|e| spill::past_budget("pod records", e))?;
        self.summary.pod_events = self.live;
        self.configs.sort_by_key(|c| (c.time, c.seq));
        let uid = self.chosen_uid();
        Ok(Pending::new(
            std::mem::take(&mut self.records),
            runs,
            std::mem::take(&mut self.configs),
            uid,
            std::mem::take(&mut self.summary),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: &str, stage: &str) -> String {
        format!(
            r#"{{"kind":"Event","auditID":"{id}","stage":"{stage}","verb":"create","objectRef":{{"resource":"pods","namespace":"ns","name":"p","subresource":"exec"}},"stageTimestamp":"2024-01-01T00:00:00.000001Z","user":{{"username":"u"}}}}"#
        )
    }

    #[test]
    fn stages_collapse_and_duplicates_count_once() {
        // In memory, and with every record written to a run as it comes: the later stage then
        // replaces a record already on disk.
        for budget in [usize::MAX, 0] {
            let mut e = Collector::new(Selection::default()).with_memory(budget);
            for l in [
                line("a", "ResponseStarted"),
                line("a", "ResponseComplete"),
                line("a", "ResponseComplete"),
                line("b", "ResponseStarted"),
                "not json".into(),
            ] {
                e.feed_line(l.as_bytes());
            }
            let pending = e.finish_pending().unwrap();
            assert_eq!(pending.spilled(), budget == 0);
            let rep = pending.into_report().unwrap();
            assert_eq!(rep.summary.lines_read, 5);
            assert_eq!(rep.summary.lines_skipped, 1);
            assert_eq!(rep.summary.events, 4);
            assert_eq!(rep.summary.pod_events, 2);
            assert_eq!(rep.summary.stages_collapsed, 1);
            assert_eq!(rep.summary.duplicates, 1);
            let ev = &rep.pods[0].events;
            assert_eq!(ev.len(), 2, "budget {budget}");
            assert_eq!(ev[0].stage, "ResponseComplete");
            assert_eq!(
                ev[1].stage, "ResponseStarted",
                "a lone ResponseStarted still counts"
            );
        }
    }

    fn create(ns: &str, name: &str, uid: &str, at: &str) -> String {
        format!(
            r#"{{"kind":"Event","auditID":"{uid}-{at}","stage":"ResponseComplete","verb":"delete","objectRef":{{"resource":"pods","namespace":"{ns}","name":"{name}","uid":"{uid}"}},"stageTimestamp":"2024-01-01T00:00:0{at}Z","user":{{"username":"u"}}}}"#
        )
    }

    #[test]
    fn a_census_keeps_which_pods_and_when_but_no_record() {
        let mut c = Collector::census(Selection::default());
        for l in [
            create("a", "web", "u1", "1"),
            create("a", "web", "u2", "3"),
            create("b", "db", "u3", "2"),
        ] {
            c.feed_line(l.as_bytes());
        }
        assert!(c.records.is_empty());
        let census = c.finish_census();
        let web = &census.pods[&("a".to_string(), "web".to_string())];
        assert_eq!(web.uids.iter().collect::<Vec<_>>(), ["u1", "u2"]);
        assert!(web.first < web.last);
        assert_eq!(census.pods.len(), 2);
    }

    #[test]
    fn a_uid_prefix_selects_its_one_pod_and_names_the_pods_of_an_ambiguous_one() {
        let lines = [
            create("a", "web", "2e00-aa", "1"),
            create("a", "web", "2e11-bb", "3"),
            create("b", "db", "9f00-cc", "2"),
        ];
        let run = |uid: &str| {
            let mut c = Collector::new(Selection {
                uid: Some(uid.into()),
                ..Selection::default()
            });
            for l in &lines {
                c.feed_line(l.as_bytes());
            }
            c.finish_pending().unwrap()
        };
        let p = run("2e00");
        assert!(p.ambiguous_uid.is_empty());
        let rep = p.into_report().unwrap();
        assert_eq!(rep.pods.len(), 1);
        assert_eq!(rep.pods[0].uid.as_deref(), Some("2e00-aa"));
        let p = run("2e");
        assert_eq!(
            p.ambiguous_uid,
            [
                ("2e00-aa".to_string(), "a".to_string(), "web".to_string()),
                ("2e11-bb".to_string(), "a".to_string(), "web".to_string())
            ]
        );
        assert!(p.into_report().unwrap().pods.is_empty());
        assert!(run("77").into_report().unwrap().pods.is_empty());
    }
}
