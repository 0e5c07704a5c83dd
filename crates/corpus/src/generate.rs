//! The generator's main loop: one time slot per story; the story's lines wait in a queue ordered
//! by emit time while noise fills the slot, so the log comes out (nearly) in time order without
//! ever holding more than the stories in progress.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::io::{self, Write};

use super::noise::Noise;
use super::rng::{Micros, Rng, MILLI, SECOND};
use super::webhooks::HOOKS;
use super::world::World;
use super::{configs, script};
use super::{Expected, ExpectedPod, ExpectedWebhook, Installed, Spec, BYTES_PER_POD};

/// Log time given to each story (its noise is spread over it).
const SLOT: Micros = 3 * SECOND;
/// 2024-06-03T00:00:00Z.
const EPOCH: Micros = 1_717_372_800 * SECOND;

/// A line waiting for its emit time; `seq` keeps equal times in queueing order.
struct Queued {
    at: Micros,
    seq: u64,
    text: String,
}

impl PartialEq for Queued {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Queued {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

struct Sink<'w, W: Write> {
    out: &'w mut W,
    lines: u64,
    bytes: u64,
    queue: BinaryHeap<Reverse<Queued>>,
    /// Bytes waiting in the queue (newlines included).
    pending: u64,
    seq: u64,
}

impl<W: Write> Sink<'_, W> {
    fn push(&mut self, at: Micros, text: String) {
        self.seq += 1;
        self.pending += text.len() as u64 + 1;
        self.queue.push(Reverse(Queued {
            at,
            seq: self.seq,
            text,
        }));
    }

    fn write(&mut self, text: &str) -> io::Result<()> {
        self.out.write_all(text.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.lines += 1;
        self.bytes += text.len() as u64 + 1;
        Ok(())
    }

    /// Writes the queued lines due at or before `t`.
    fn flush_until(&mut self, t: Micros) -> io::Result<()> {
        while self.queue.peek().is_some_and(|Reverse(q)| q.at <= t) {
            if let Some(Reverse(q)) = self.queue.pop() {
                self.pending -= q.text.len() as u64 + 1;
                self.write(&q.text)?;
            }
        }
        Ok(())
    }
}

/// The request and response bodies of a log of about `bytes` bytes generated from `seed`, in log
/// order: for tests that read bodies as logs hold them.
pub fn generated_bodies(seed: u64, bytes: u64) -> Vec<serde_json::Value> {
    let spec = Spec {
        seed,
        target_bytes: Some(bytes),
        ..Default::default()
    };
    let mut data = Vec::new();
    generate(&spec, &mut data).expect("generating into memory does not fail");
    let mut bodies = Vec::new();
    for line in String::from_utf8(data).expect("utf-8").lines() {
        let Ok(mut ev) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        for key in ["requestObject", "responseObject"] {
            if let Some(v) = ev.get_mut(key) {
                bodies.push(v.take());
            }
        }
    }
    bodies
}

/// Writes a corpus for `spec` to `out`, one audit event per line, and returns its answer.
pub fn generate<W: Write>(spec: &Spec, out: &mut W) -> io::Result<Expected> {
    let stories_n = match (spec.pods, spec.target_bytes) {
        (n, _) if n > 0 => n,
        (_, Some(b)) => (b / BYTES_PER_POD).max(1) as usize,
        _ => 100,
    };
    let mut rng = Rng::new(spec.seed);
    let mut world = World::new(&mut rng);
    let noise = Noise::default();
    let start = EPOCH + rng.range(0, 12 * 3600) * SECOND + rng.range(0, SECOND);
    let mut sink = Sink {
        out,
        lines: 0,
        bytes: 0,
        queue: BinaryHeap::new(),
        pending: 0,
        seq: 0,
    };
    let (config_lines, writes) = configs::lines(&mut rng, start);
    for (at, text) in config_lines {
        sink.push(at, text);
    }
    let first = start + 90 * SECOND;
    let mut pods: Vec<ExpectedPod> = Vec::new();
    let mut buf = String::with_capacity(16 * 1024);
    let (mut noise_lines, mut noise_bytes) = (0u64, 0u64);
    for i in 0..stories_n {
        let slot = first + i as Micros * SLOT;
        let story_rng = rng.fork();
        let t0 = slot + rng.range(0, SLOT / 2);
        let (lines, incs) = script::tell(&mut world, story_rng, i, t0);
        for (at, text) in lines {
            sink.push(at, text);
        }
        pods.extend(incs);
        let n = match spec.target_bytes {
            Some(target) => {
                let goal = (target as u128 * (i as u128 + 1) / stories_n as u128) as u64;
                let have = sink.bytes + sink.pending;
                let avg = noise_bytes.checked_div(noise_lines).unwrap_or(1400);
                goal.saturating_sub(have).div_ceil(avg.max(1)) as i64
            }
            None => spec.noise_per_pod as i64,
        };
        for k in 0..n {
            let mut t = slot + k * SLOT / n + rng.range(0, (SLOT / n).max(1));
            sink.flush_until(t)?;
            // A few lines arrive late, stamped up to three seconds before their neighbours.
            if rng.chance(2) {
                t -= rng.range(100 * MILLI, 3 * SECOND);
            }
            buf.clear();
            noise.line(&mut rng, &world, t, &mut buf);
            sink.write(&buf)?;
            noise_lines += 1;
            noise_bytes += buf.len() as u64 + 1;
            // And a few are exported twice.
            if rng.chance(3) {
                sink.write(&buf)?;
            }
        }
    }
    sink.flush_until(Micros::MAX)?;
    pods.sort_by(|a, b| {
        (&a.namespace, &a.name, a.first_at).cmp(&(&b.namespace, &b.name, b.first_at))
    });
    let pod_events = pods.iter().map(|p| p.event_kinds.len() as u64).sum();
    Ok(Expected {
        webhooks: webhook_totals(&pods, &writes),
        pods,
        lines: sink.lines,
        pod_events,
    })
}

/// Per-webhook totals over every create (denied ones included).
fn webhook_totals(pods: &[ExpectedPod], writes: &[configs::Write]) -> Vec<ExpectedWebhook> {
    let mut m: BTreeMap<(String, String), ExpectedWebhook> = BTreeMap::new();
    for h in HOOKS.iter().filter(|h| h.pods) {
        let installed = writes
            .iter()
            .filter(|w| w.0 == h.configuration)
            .map(|w| Installed {
                verb: w.1.into(),
                user: w.2.into(),
            })
            .collect();
        m.insert(
            (h.configuration.into(), h.webhook.into()),
            ExpectedWebhook {
                configuration: h.configuration.into(),
                webhook: h.webhook.into(),
                calls: 0,
                mutated_pods: 0,
                failed_open: 0,
                rounds: Vec::new(),
                namespaces: Vec::new(),
                paths: BTreeMap::new(),
                installed,
            },
        );
    }
    let mut rounds: BTreeMap<(String, String), BTreeSet<u32>> = BTreeMap::new();
    let mut namespaces: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for p in pods {
        let mut mutated: BTreeSet<(String, String)> = BTreeSet::new();
        let mut paths: BTreeSet<(String, String, String)> = BTreeSet::new();
        for c in &p.webhooks {
            let key = (c.configuration.clone(), c.webhook.clone());
            let Some(w) = m.get_mut(&key) else { continue };
            w.calls += 1;
            w.failed_open += u64::from(c.failed_open);
            rounds.entry(key.clone()).or_default().insert(c.round);
            namespaces
                .entry(key.clone())
                .or_default()
                .insert(p.namespace.clone());
            if c.mutated {
                mutated.insert(key.clone());
            }
            for path in c.paths.iter().flatten() {
                paths.insert((key.0.clone(), key.1.clone(), path.clone()));
            }
        }
        for key in mutated {
            if let Some(w) = m.get_mut(&key) {
                w.mutated_pods += 1;
            }
        }
        for (c, h, path) in paths {
            if let Some(w) = m.get_mut(&(c, h)) {
                *w.paths.entry(path).or_default() += 1;
            }
        }
    }
    for (key, w) in m.iter_mut() {
        w.rounds = rounds.remove(key).unwrap_or_default().into_iter().collect();
        w.namespaces = namespaces
            .remove(key)
            .unwrap_or_default()
            .into_iter()
            .collect();
    }
    m.into_values().collect()
}
