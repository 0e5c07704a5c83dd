//! A generated corpus (about 300 incarnations of every story kind, in noise) through the real
//! binary: for every incarnation the generator says is there, `ktrail timeline -o json` must
//! report the same facts, webhook calls, built-in changes and event kinds, and no other pod.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::Path;

use serde_json::{json, Value};

use ktrail_corpus::{Expected, Spec};

fn write_corpus(dir: &Path) -> (std::path::PathBuf, Expected) {
    let spec = Spec::stories(42, 270, 30);
    let (path, expected) = crate::util::write_corpus(dir, &spec);
    assert!(
        (280..340).contains(&expected.pods.len()),
        "{}",
        expected.pods.len()
    );
    (path, expected)
}

fn timeline(file: &Path) -> Value {
    let mut cmd = crate::util::ktrail();
    cmd.args(["timeline", "-f", file.to_str().unwrap(), "-o", "json"]);
    let (code, out, err) = crate::util::run(&mut cmd);
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "{err}");
    serde_json::from_str(&out).unwrap()
}

const FACTS: &[&str] = &[
    "createdAt",
    "createdBy",
    "scheduler",
    "node",
    "boundAt",
    "boundBy",
    "readyAt",
    "phase",
    "deletedAt",
    "deletedBy",
    "deletedVia",
    "denied",
    "deniedBy",
    "builtinChanges",
];

/// Every disagreement, as "what: namespace/name (uid): want … got …".
fn disagreements(expected: &Expected, got: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let pods = got["pods"].as_array().unwrap();
    let mut by_name: HashMap<(&str, &str), Vec<&Value>> = HashMap::new();
    for p in pods {
        by_name
            .entry((
                p["namespace"].as_str().unwrap(),
                p["name"].as_str().unwrap(),
            ))
            .or_default()
            .push(p);
    }
    // Denied creates have no uid: the k-th expected one is the k-th reported one.
    let mut denied_seen: HashMap<(&str, &str), usize> = HashMap::new();
    for e in &expected.pods {
        let key = (e.namespace.as_str(), e.name.as_str());
        let candidates = by_name.get(&key).cloned().unwrap_or_default();
        let found = match &e.uid {
            Some(uid) => candidates.iter().find(|p| p["uid"] == json!(uid)).copied(),
            None => {
                let k = denied_seen.entry(key).or_default();
                *k += 1;
                candidates
                    .iter()
                    .filter(|p| p["denied"] == true)
                    .nth(*k - 1)
                    .copied()
            }
        };
        let who = format!(
            "{}/{} ({})",
            e.namespace,
            e.name,
            e.uid.as_deref().unwrap_or("denied")
        );
        let Some(p) = found else {
            out.push(("missing".into(), who));
            continue;
        };
        let want = serde_json::to_value(e).unwrap();
        for f in FACTS {
            if p[f] != want[f] {
                out.push((
                    f.to_string(),
                    format!("{who}: want {} got {}", want[f], p[f]),
                ));
            }
        }
        let calls: Vec<Value> = p["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                json!({"round": c["round"], "index": c["index"], "configuration": c["configuration"],
                    "webhook": c["webhook"], "mutated": c["mutated"], "failedOpen": c["failedOpen"],
                    "paths": c["paths"]})
            })
            .collect();
        if Value::Array(calls.clone()) != want["webhooks"] {
            out.push((
                "webhooks".into(),
                format!("{who}: want {} got {}", want["webhooks"], json!(calls)),
            ));
        }
        let kinds: Vec<&Value> = p["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|ev| &ev["kind"])
            .collect();
        if json!(kinds) != want["eventKinds"] {
            out.push((
                "eventKinds".into(),
                format!("{who}: want {} got {}", want["eventKinds"], json!(kinds)),
            ));
        }
    }
    if pods.len() != expected.pods.len() {
        out.push((
            "pod count".into(),
            format!("want {} got {}", expected.pods.len(), pods.len()),
        ));
    }
    let summary = &got["summary"];
    if summary["linesRead"] != json!(expected.lines)
        || summary["podEvents"] != json!(expected.pod_events)
    {
        out.push((
            "summary".into(),
            format!(
                "want {} lines, {} pod events; got {summary}",
                expected.lines, expected.pod_events
            ),
        ));
    }
    out.extend(webhook_totals(expected, pods));
    out
}

/// The per-webhook totals, recomputed from the reported pods.
fn webhook_totals(expected: &Expected, pods: &[Value]) -> Vec<(String, String)> {
    #[derive(Default, PartialEq, Debug)]
    struct T {
        calls: u64,
        mutated_pods: u64,
        failed_open: u64,
        rounds: BTreeSet<u64>,
        namespaces: BTreeSet<String>,
        paths: BTreeMap<String, u64>,
    }
    let mut got: BTreeMap<String, T> = BTreeMap::new();
    for p in pods {
        let mut mutated = BTreeSet::new();
        let mut paths = BTreeSet::new();
        for c in p["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["type"] == "mutating")
        {
            let name = c["webhook"].as_str().unwrap_or("").to_owned();
            let t = got.entry(name.clone()).or_default();
            t.calls += 1;
            t.failed_open += u64::from(c["failedOpen"] == true);
            t.rounds.insert(c["round"].as_u64().unwrap());
            t.namespaces
                .insert(p["namespace"].as_str().unwrap().to_owned());
            if c["mutated"] == true {
                mutated.insert(name.clone());
            }
            for path in c["paths"].as_array().into_iter().flatten() {
                paths.insert((name.clone(), path.as_str().unwrap().to_owned()));
            }
        }
        for m in mutated {
            got.entry(m).or_default().mutated_pods += 1;
        }
        for (m, path) in paths {
            *got.entry(m).or_default().paths.entry(path).or_default() += 1;
        }
    }
    let mut out = Vec::new();
    for w in &expected.webhooks {
        let want = T {
            calls: w.calls,
            mutated_pods: w.mutated_pods,
            failed_open: w.failed_open,
            rounds: w.rounds.iter().map(|&r| u64::from(r)).collect(),
            namespaces: w.namespaces.iter().cloned().collect(),
            paths: w.paths.clone(),
        };
        let have = got.remove(&w.webhook).unwrap_or_default();
        if have != want {
            out.push((
                "webhook totals".into(),
                format!("{}: want {want:?} got {have:?}", w.webhook),
            ));
        }
    }
    out
}

/// Fails with every disagreement, grouped by what disagrees (a few examples each).
fn assert_agrees(expected: &Expected, got: &Value) {
    let d = disagreements(expected, got);
    if d.is_empty() {
        return;
    }
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (what, detail) in &d {
        groups.entry(what).or_default().push(detail);
    }
    let mut msg = format!(
        "ktrail disagrees with the generated answer in {} places:\n",
        d.len()
    );
    for (what, details) in groups {
        msg.push_str(&format!(
            "  {what}: {} incarnation(s), e.g.\n",
            details.len()
        ));
        for x in details.iter().take(3) {
            msg.push_str(&format!("    {x}\n"));
        }
    }
    panic!("{msg}");
}

#[test]
fn the_binary_tells_every_generated_story() {
    let dir = tempfile::tempdir().unwrap();
    let (path, expected) = write_corpus(dir.path());
    assert_agrees(&expected, &timeline(&path));
}

#[test]
fn the_same_through_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let (path, expected) = write_corpus(dir.path());
    let gz = dir.path().join("audit.log.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(&std::fs::read(&path).unwrap()).unwrap();
    enc.finish().unwrap();
    assert_agrees(&expected, &timeline(&gz));
}
