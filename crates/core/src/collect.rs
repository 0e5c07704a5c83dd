//! Collects the records of many lines into one place, collapsing the stages of a request and the
//! duplicates of overlapping exports, then hands them to the timeline builder.
//!
//! Work per line is split in two: [`process_line`] is pure (decode + extract) and can run on any
//! thread; [`Collector::accept`] is the cheap sequential part that must see lines in order.

use std::collections::HashMap;

use crate::decode::{self, Problem};
use crate::record::{self, ConfigEvent, Extracted, Record, Selection};
use crate::suggest::Census;
use crate::timeline::{Pending, Report, Summary};

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

#[derive(Default)]
pub struct Collector {
    sel: Selection,
    records: Vec<Record>,
    by_audit: HashMap<String, usize>,
    configs: Vec<ConfigEvent>,
    configs_by_audit: HashMap<String, usize>,
    summary: Summary,
    seq: u64,
    /// Set for the broad pass after a run that matched nothing: pods are only counted.
    census: Option<Census>,
}

impl Collector {
    pub fn new(sel: Selection) -> Self {
        Collector {
            sel,
            ..Default::default()
        }
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
        if let Some(id) = rec.audit_id.clone() {
            if let Some(&i) = self.by_audit.get(&id) {
                let old = &mut self.records[i];
                if old.stage == rec.stage {
                    self.summary.duplicates += 1;
                } else {
                    self.summary.stages_collapsed += 1;
                }
                if rec.stage.rank() > old.stage.rank() {
                    rec.seq = old.seq;
                    *old = rec;
                }
                return;
            }
            self.by_audit.insert(id, self.records.len());
        }
        self.records.push(rec);
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
    pub fn finish(self) -> Report {
        self.finish_pending().into_report()
    }

    /// Ends the scan: the records grouped per pod, stories not derived yet.
    pub fn finish_pending(mut self) -> Pending {
        self.summary.pod_events = self.records.len() as u64;
        self.configs.sort_by_key(|c| (c.time, c.seq));
        Pending::new(self.records, self.configs, &self.sel, self.summary)
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
        let mut e = Collector::new(Selection::default());
        for l in [
            line("a", "ResponseStarted"),
            line("a", "ResponseComplete"),
            line("a", "ResponseComplete"),
            line("b", "ResponseStarted"),
            "not json".into(),
        ] {
            e.feed_line(l.as_bytes());
        }
        let rep = e.finish();
        assert_eq!(rep.summary.lines_read, 5);
        assert_eq!(rep.summary.lines_skipped, 1);
        assert_eq!(rep.summary.events, 4);
        assert_eq!(rep.summary.pod_events, 2);
        assert_eq!(rep.summary.stages_collapsed, 1);
        assert_eq!(rep.summary.duplicates, 1);
        let ev = &rep.pods[0].events;
        assert_eq!(ev.len(), 2);
        assert_eq!(ev[0].stage, "ResponseComplete");
        assert_eq!(
            ev[1].stage, "ResponseStarted",
            "a lone ResponseStarted still counts"
        );
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
            c.finish_pending()
        };
        let p = run("2e00");
        assert!(p.ambiguous_uid.is_empty());
        let rep = p.into_report();
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
        assert!(p.into_report().pods.is_empty());
        assert!(run("77").into_report().pods.is_empty());
    }
}
