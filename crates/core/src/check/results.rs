//! The pods a rule matched, with their violations: the one part of a verdict that grows with the
//! log (every incarnation a rule selects, passing or not, is in the report).
//!
//! Results are kept in memory up to a budget the [`super::eval::Evaluator`] shares among its
//! rules; past it they are written to an anonymous temporary file, in the frames of
//! [`crate::spill`] and as private to one process, and every pass of a renderer reads them back
//! in the order they were judged.

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Seek, SeekFrom, Write};

use serde::ser::{Error as _, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::spill::{self, Cursor};
use crate::timeline::{EventKind, PodEvent};

/// One pod a rule selects, with what it broke (nothing when it complies).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodResult {
    pub namespace: String,
    pub name: String,
    pub uid: Option<String>,
    pub denied: bool,
    pub violations: Vec<Violation>,
}

impl PodResult {
    /// `namespace/name`.
    pub fn title(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The pod and its uid (or that it was denied / never seen with one), for one line.
    pub fn title_with_uid(&self) -> String {
        match (&self.uid, self.denied) {
            (Some(u), _) => format!("{} (uid {u})", self.title()),
            (None, true) => format!("{} (denied create)", self.title()),
            (None, false) => format!("{} (uid not in the log)", self.title()),
        }
    }
}

/// One broken expectation or prohibition, with the evidence.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Violation {
    /// The rule key that is broken, e.g. `expect.scheduler` or `forbid.mutations`.
    pub check: String,
    pub expected: String,
    /// What the log shows instead.
    pub found: String,
    /// The request that proves it (or, when the log is silent, the one the expectation is about).
    pub event: Option<EventRef>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventRef {
    pub time: String,
    pub kind: EventKind,
    #[serde(rename = "auditID")]
    pub audit_id: Option<String>,
}

impl EventRef {
    pub(super) fn of(ev: &PodEvent) -> EventRef {
        EventRef {
            time: ev.time.clone(),
            kind: ev.kind.clone(),
            audit_id: ev.audit_id.clone(),
        }
    }
}

/// Every pod one rule matched, in the order they were judged.
#[derive(Default)]
pub struct PodResults {
    /// The results written out so far; they come before `held`.
    file: Option<File>,
    written: usize,
    held: Vec<PodResult>,
    /// About the bytes `held` takes (see [`footprint`]).
    held_bytes: usize,
    failed: usize,
    violations: usize,
}

impl fmt::Debug for PodResults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PodResults")
            .field("len", &self.len())
            .field("written", &self.written)
            .field("failed", &self.failed)
            .field("violations", &self.violations)
            .finish()
    }
}

impl PodResults {
    pub fn len(&self) -> usize {
        self.written + self.held.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Pods with at least one violation.
    pub fn failed(&self) -> usize {
        self.failed
    }

    /// Violations over every pod.
    pub fn violations(&self) -> usize {
        self.violations
    }

    /// How many results are in the temporary file rather than in memory.
    pub fn written(&self) -> usize {
        self.written
    }

    pub(super) fn push(&mut self, r: PodResult) {
        self.failed += usize::from(!r.violations.is_empty());
        self.violations += r.violations.len();
        self.held_bytes += footprint(&r);
        self.held.push(r);
    }

    /// About the bytes the results in memory take.
    pub(super) fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// Moves the results in memory to the end of the temporary file.
    pub(super) fn write_out(&mut self) -> io::Result<()> {
        if self.held.is_empty() {
            return Ok(());
        }
        let file = match &mut self.file {
            Some(f) => f,
            None => self.file.insert(tempfile::tempfile()?),
        };
        let mut w = BufWriter::with_capacity(256 << 10, file);
        let mut buf = Vec::new();
        for r in &self.held {
            buf.clear();
            encode(r, &mut buf);
            spill::write_frame(&mut w, &buf)?;
        }
        w.flush()?;
        self.written += self.held.len();
        self.held.clear();
        self.held_bytes = 0;
        Ok(())
    }

    /// Every result, in order: read back from the temporary file, then those in memory. One pass
    /// at a time (the passes share the file's position).
    pub fn iter(&self) -> Iter<'_> {
        let file = match &self.file {
            None => Ok(None),
            Some(f) => f
                .try_clone()
                .and_then(|mut f| f.seek(SeekFrom::Start(0)).map(|_| f))
                .map(|f| Some(BufReader::with_capacity(256 << 10, f))),
        };
        Iter {
            file,
            left: self.written,
            buf: Vec::new(),
            held: self.held.iter(),
        }
    }

    /// Every result, in memory.
    pub fn to_vec(&self) -> io::Result<Vec<PodResult>> {
        self.iter().map(|r| r.map(Cow::into_owned)).collect()
    }
}

/// The results of [`PodResults::iter`].
pub struct Iter<'a> {
    file: io::Result<Option<BufReader<File>>>,
    /// Results still to read from the file.
    left: usize,
    buf: Vec<u8>,
    held: std::slice::Iter<'a, PodResult>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = io::Result<Cow<'a, PodResult>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left > 0 {
            self.left -= 1;
            let r = match &mut self.file {
                Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
                Ok(None) => Err(spill::corrupt()),
                Ok(Some(f)) => spill::read_frame(f, &mut self.buf).and_then(|more| {
                    if more {
                        decode(&self.buf)
                    } else {
                        Err(spill::corrupt())
                    }
                }),
            };
            if r.is_err() {
                // One error ends the pass.
                self.left = 0;
                self.held = [].iter();
            }
            return Some(r.map(Cow::Owned));
        }
        self.held.next().map(|r| Ok(Cow::Borrowed(r)))
    }
}

impl Serialize for PodResults {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for r in self.iter() {
            let r = r.map_err(|e| S::Error::custom(format!("reading the check's results: {e}")))?;
            seq.serialize_element(&*r)?;
        }
        seq.end()
    }
}

/// About what a result takes in memory: the structs and the text they own, each allocation with
/// a little of the allocator's own.
pub fn footprint(r: &PodResult) -> usize {
    const ALLOC: usize = 16;
    let text = |s: &str| s.len() + ALLOC;
    let violations: usize = r
        .violations
        .iter()
        .map(|v| {
            std::mem::size_of::<Violation>()
                + text(&v.check)
                + text(&v.expected)
                + text(&v.found)
                + v.event.as_ref().map_or(0, |e| {
                    text(&e.time) + text(e.kind.as_str()) + e.audit_id.as_deref().map_or(0, text)
                })
        })
        .sum();
    std::mem::size_of::<PodResult>()
        + text(&r.namespace)
        + text(&r.name)
        + r.uid.as_deref().map_or(0, text)
        + violations
}

fn encode(r: &PodResult, out: &mut Vec<u8>) {
    spill::put_str(out, &r.namespace);
    spill::put_str(out, &r.name);
    spill::put_opt(out, r.uid.as_deref());
    out.push(u8::from(r.denied));
    out.extend_from_slice(&(r.violations.len() as u32).to_le_bytes());
    for v in &r.violations {
        spill::put_str(out, &v.check);
        spill::put_str(out, &v.expected);
        spill::put_str(out, &v.found);
        match &v.event {
            None => out.push(0),
            Some(e) => {
                out.push(1);
                spill::put_str(out, &e.time);
                spill::put_str(out, e.kind.as_str());
                spill::put_opt(out, e.audit_id.as_deref());
            }
        }
    }
}

fn decode(bytes: &[u8]) -> io::Result<PodResult> {
    let mut c = Cursor::new(bytes);
    let namespace = c.string()?;
    let name = c.string()?;
    let uid = c.opt()?;
    let denied = c.u8()? != 0;
    let n = c.u32()? as usize;
    let mut violations = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        let check = c.string()?;
        let expected = c.string()?;
        let found = c.string()?;
        let event = match c.u8()? {
            0 => None,
            _ => Some(EventRef {
                time: c.string()?,
                kind: EventKind::from_name(&c.string()?),
                audit_id: c.opt()?,
            }),
        };
        violations.push(Violation {
            check,
            expected,
            found,
            event,
        });
    }
    c.end()?;
    Ok(PodResult {
        namespace,
        name,
        uid,
        denied,
        violations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(i: usize, violations: usize) -> PodResult {
        PodResult {
            namespace: format!("ns-{i}"),
            name: format!("pod\u{1b}[31m-{i}"),
            uid: (i % 3 != 0).then(|| format!("uid-{i}")),
            denied: i % 5 == 0,
            violations: (0..violations)
                .map(|k| Violation {
                    check: format!("expect.check{k}"),
                    expected: "x".repeat(k),
                    found: format!("found \"{k}\"\n"),
                    event: (k % 2 == 0).then(|| EventRef {
                        time: format!("2024-06-03T16:40:0{k}.000000Z"),
                        kind: [EventKind::Create, EventKind::Other("log".into())][k % 2].clone(),
                        audit_id: (k % 4 == 0).then(|| format!("a{k}")),
                    }),
                })
                .collect(),
        }
    }

    fn json(r: &PodResults) -> String {
        serde_json::to_string(r).unwrap()
    }

    #[test]
    fn results_written_out_read_back_as_they_were_kept() {
        let all: Vec<PodResult> = (0..40).map(|i| result(i, i % 4)).collect();
        let mut kept = PodResults::default();
        let mut out = PodResults::default();
        for (i, r) in all.iter().enumerate() {
            kept.push(r.clone());
            out.push(r.clone());
            // Out in batches of every size, and some left in memory at the end.
            if i % 7 == 3 || i == 20 {
                out.write_out().unwrap();
            }
        }
        assert_eq!(kept.written(), 0);
        assert_eq!(out.written(), 39);
        assert_eq!(out.len(), 40);
        assert_eq!(
            (out.failed(), out.violations()),
            (kept.failed(), kept.violations())
        );
        assert_eq!(json(&out), json(&kept));
        assert_eq!(json(&out), serde_json::to_string(&all).unwrap());
        // A second pass reads the same.
        assert_eq!(json(&out), json(&kept));
        let back = out.to_vec().unwrap();
        assert_eq!(back.len(), 40);
        assert!(back.iter().zip(&all).all(|(a, b)| a.title() == b.title()));
    }

    #[test]
    fn a_damaged_frame_is_an_error_not_a_panic() {
        let r = result(1, 2);
        let mut buf = Vec::new();
        encode(&r, &mut buf);
        assert!(decode(&buf).is_ok());
        for cut in 0..buf.len() {
            assert!(decode(&buf[..cut]).is_err(), "cut at {cut}");
        }
        buf.push(0);
        assert!(decode(&buf).is_err());
    }
}
