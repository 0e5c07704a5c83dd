//! The fast scan (chunks cut at line ends, worker threads, chunk-wide literal search, the skim that
//! counts ignored events without parsing them) and the plain reference scan (`scan::reference`:
//! the whole input, one line after the other, byte-window literal checks, every other line
//! decoded) give the same report and the same diagnostics on generated corpora: several seeds,
//! clean and with damaged lines mixed in, for every pod, one pod, one namespace, and with reads,
//! across thread counts and chunk sizes, from a stream and from a mapped file. A third scan that
//! decodes every line, prefilter or not, must find the same pods. And line by line, on writes
//! changed at random, the skim's verdict and the event it builds agree with decoding.

use std::io::{Cursor, Read};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use ktrail_core::collect::Collector;
use ktrail_core::record::Selection;
use ktrail_core::scan::{self, reference, Feed, Prefilter, ScanError, ScanOptions};
use ktrail_core::source::Input;
use ktrail_corpus::{generate, Spec};

/// A generated log of about `bytes` bytes, and its pods (namespace, name).
fn corpus(seed: u64, bytes: u64) -> (Vec<u8>, Vec<(String, String)>) {
    let spec = Spec {
        seed,
        target_bytes: Some(bytes),
        ..Default::default()
    };
    let mut out = Vec::new();
    let expected = generate(&spec, &mut out).expect("generate");
    let pods = expected
        .pods
        .iter()
        .map(|p| (p.namespace.clone(), p.name.clone()))
        .collect();
    (out, pods)
}

/// Damages about one line in `rate`, in every way real exports are damaged (and a few ways they
/// are not, aimed at the skim): cut short, glued to the next line, bytes replaced, invalid UTF-8,
/// CloudWatch truncation and wrapping, CRLF, blank and non-JSON lines, duplicated keys, surrogate
/// escapes, wrong types, over-long lines.
fn damage(data: &[u8], seed: u64, rate: u32) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(data.len() + data.len() / 10);
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    for (i, line) in lines.iter().enumerate() {
        let last = i + 1 == lines.len();
        if last && line.is_empty() {
            break;
        }
        let mut l = line.to_vec();
        let mut newline = true;
        if rng.gen_range(0..rate) == 0 && !l.is_empty() {
            let n = l.len();
            match rng.gen_range(0..16) {
                0 => l.truncate(rng.gen_range(0..n)),
                1 => newline = false, // glued to the next line
                2 => l[rng.gen_range(0..n)] = b"\xff\"{}[]\\:,\x01 x"[rng.gen_range(0..11)],
                3 => l.extend_from_slice(b"[Truncated...]"),
                4 => {
                    let text = String::from_utf8_lossy(&l).into_owned();
                    l = serde_json::json!({ "message": text, "timestamp": 1 })
                        .to_string()
                        .into_bytes();
                }
                5 => l.push(b'\r'),
                6 => {
                    out.extend_from_slice(b"\n   \n");
                }
                7 => {
                    out.extend_from_slice(
                        b"I0920 20:17:17.328703 1 httplog.go:131] GET /healthz\n",
                    );
                }
                8 => l = replace_first(&l, b"\"verb\":", b"\"verb\":\"get\",\"verb\":"),
                9 => l = replace_first(&l, b"\"userAgent\":\"", b"\"userAgent\":\"\\ud800"),
                10 => l = replace_first(&l, b"\"code\":", b"\"code\":-0,\"x\":"),
                11 => l = replace_first(&l, b"\"user\":{", b"\"user\":[{}],\"u\":{"),
                12 => l = replace_first(&l, b"\"stage\":", b"\"kind\":\"EventList\",\"stage\":"),
                13 => {
                    // Over the test's line limit (ScanOptions::max_line below).
                    l.truncate(l.len().saturating_sub(1));
                    l.extend_from_slice(&b" ".repeat(MAX_LINE));
                    l.push(b'}');
                }
                14 => l.insert(rng.gen_range(0..n), b'\n'),
                _ => {
                    let dup = l.clone();
                    l.push(b'\n');
                    l.extend_from_slice(&dup);
                }
            }
        }
        out.extend_from_slice(&l);
        if newline && !last {
            out.push(b'\n');
        }
    }
    out
}

fn replace_first(line: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    match line.windows(from.len()).position(|w| w == from) {
        Some(at) => [&line[..at], to, &line[at + from.len()..]].concat(),
        None => line.to_vec(),
    }
}

const MAX_LINE: usize = 200_000;

/// The report (JSON), the diagnostics, and the outcome (for --strict).
type Outcome = (String, Vec<String>, Result<(), String>);

/// The input `big.jsonl` scanned for `sel` by `scan` (the fast scan or the reference).
fn scanned(
    sel: &Selection,
    opts: &ScanOptions,
    scan: impl FnOnce(&mut Feed<'_>) -> Result<(), ScanError>,
) -> Outcome {
    let (engine, bad, r) = reference::scanned(sel, opts, "big.jsonl", scan);
    let json = serde_json::to_string(&engine.finish().expect("spill")).expect("report");
    (json, bad, r.map_err(|e| e.to_string()))
}

fn fast(data: &[u8], sel: &Selection, opts: &ScanOptions) -> Outcome {
    fast_stream(Box::new(Cursor::new(data.to_vec())), sel, opts)
}

fn fast_stream(reader: Box<dyn Read + Send>, sel: &Selection, opts: &ScanOptions) -> Outcome {
    scanned(sel, opts, |feed| {
        let pre = Prefilter::for_engine(feed.engine);
        scan::scan_reader(reader, &pre, feed)
    })
}

/// The fast scan of a file (so mapped, not streamed).
fn fast_file(data: &[u8], sel: &Selection, opts: &ScanOptions) -> Outcome {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.jsonl");
    std::fs::write(&path, data).expect("write");
    let shown = path.display().to_string();
    let mut engine = Collector::new(sel.clone());
    let mut bad = Vec::new();
    let r = scan::scan_inputs(&[Input::Path(path)], &mut engine, opts, &mut |d| {
        bad.push(d.to_string().replacen(&shown, "big.jsonl", 1))
    });
    let json = serde_json::to_string(&engine.finish().expect("spill")).expect("report");
    let r = r.map_err(|e| e.to_string().replacen(&shown, "big.jsonl", 1));
    (json, bad, r)
}

fn plain(data: &[u8], sel: &Selection, opts: &ScanOptions) -> Outcome {
    scanned(sel, opts, |feed| reference::scan_reader(data, feed))
}

/// Every line decoded, no prefilter at all: only its pods are comparable (the summary counts
/// the events of lines the rule leaves unread).
fn every_line_pods(data: &[u8], sel: &Selection) -> String {
    let mut engine = Collector::new(sel.clone());
    let mut lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    for l in lines {
        if l.len() <= MAX_LINE {
            engine.feed_line(l);
        }
    }
    serde_json::to_string(&engine.finish().expect("spill").pods).expect("pods")
}

fn pods_of(report_json: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(report_json).expect("json");
    v["pods"].to_string()
}

fn selections(pods: &[(String, String)]) -> Vec<Selection> {
    let (ns, name) = pods.first().cloned().expect("the corpus has pods");
    vec![
        Selection::default(),
        Selection {
            namespace: Some(ns.clone()),
            name: Some(name),
            ..Default::default()
        },
        Selection {
            namespace: Some(ns),
            ..Default::default()
        },
        Selection {
            reads: true,
            ..Default::default()
        },
    ]
}

fn configs() -> Vec<ScanOptions> {
    [(0, 1 << 20), (1, 64 << 10), (2, 4096), (3, 777)]
        .into_iter()
        .map(|(threads, chunk_size)| ScanOptions {
            threads,
            chunk_size,
            max_line: MAX_LINE,
            ..Default::default()
        })
        .collect()
}

fn check(data: &[u8], pods: &[(String, String)], what: &str) {
    for sel in selections(pods) {
        let want = plain(data, &sel, &configs()[0]);
        want.2.as_ref().expect("no --strict, no error");
        for opts in configs() {
            let got = fast(data, &sel, &opts);
            assert!(
                got.1 == want.1,
                "{what} {sel:?} {opts:?}: diagnostics differ\nfast: {:?}\nplain: {:?}",
                &got.1[..got.1.len().min(5)],
                &want.1[..want.1.len().min(5)]
            );
            assert!(got.0 == want.0, "{what} {sel:?} {opts:?}: reports differ");
            let mapped = fast_file(data, &sel, &opts);
            assert!(
                mapped == got,
                "{what} {sel:?} {opts:?}: the mapped file differs"
            );
        }
        assert_eq!(
            pods_of(&want.0),
            every_line_pods(data, &sel),
            "{what} {sel:?}: the prefilter lost a pod event"
        );
        // --strict stops at the same line, whichever worker met it first.
        let strict = ScanOptions {
            strict: true,
            ..configs()[2].clone()
        };
        let s_want = plain(data, &sel, &strict);
        for _ in 0..3 {
            assert_eq!(
                fast(data, &sel, &strict).2,
                s_want.2,
                "{what} {sel:?} strict"
            );
        }
        assert_eq!(
            fast_file(data, &sel, &strict).2,
            s_want.2,
            "{what} {sel:?} strict, mapped"
        );
    }
}

#[test]
fn clean_corpora_give_the_same_answer() {
    for seed in [1, 2, 3] {
        let (data, pods) = corpus(seed, 1_500_000);
        check(&data, &pods, &format!("seed {seed}"));
        // The answer is not empty: the corpus's pods are found.
        let (json, bad, _) = fast(&data, &Selection::default(), &ScanOptions::default());
        assert!(bad.is_empty(), "{bad:?}");
        let v: serde_json::Value = serde_json::from_str(&json).expect("json");
        assert_eq!(v["pods"].as_array().map(Vec::len), Some(pods.len()));
    }
}

#[test]
fn damaged_corpora_give_the_same_answer_and_diagnostics() {
    for seed in [4, 5, 6, 7] {
        let (data, pods) = corpus(seed, 1_000_000);
        let data = damage(&data, seed, 8);
        let (_, bad, _) = plain(&data, &Selection::default(), &configs()[0]);
        assert!(
            bad.len() > 20,
            "seed {seed}: damage was found ({} diagnostics)",
            bad.len()
        );
        check(&data, &pods, &format!("damaged seed {seed}"));
    }
}

#[test]
fn compressed_corpora_give_the_same_answer() {
    use std::io::Write;
    let (data, _) = corpus(8, 800_000);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&data).expect("gzip");
    let gz = gz.finish().expect("gzip");
    let zst = zstd::encode_all(&data[..], 3).expect("zstd");
    let sel = Selection::default();
    let want = plain(&data, &sel, &ScanOptions::default());
    for packed in [gz, zst] {
        let (reader, _) =
            ktrail_core::source::decompress(Box::new(Cursor::new(packed))).expect("sniff");
        let (json, bad, r) = fast_stream(reader, &sel, &ScanOptions::default());
        r.expect("scan");
        assert_eq!((json, bad), (want.0.clone(), want.1.clone()));
    }
}

/// A directory of many files as an S3 export or a week of rotation leaves it, compressed every
/// way (gzip stored and deflated, multi-member, zstd, plain, small and big, cut short, with
/// garbage after the end), the later half of the log with damaged lines: read with the next files
/// decompressed ahead, the answer, every diagnostic (file and line, the damage reports included)
/// and the line `--strict` stops at are those of reading one file after the other.
#[test]
fn a_directory_of_compressed_files_read_ahead_gives_the_same_answer() {
    use flate2::write::GzEncoder;
    use std::io::Write;
    let (data, pods) = corpus(9, 9_000_000);
    let half = data.len() / 2
        + data[data.len() / 2..]
            .iter()
            .position(|&b| b == b'\n')
            .unwrap()
        + 1;
    let data = [&data[..half], &damage(&data[half..], 9, 40)].concat();
    let gz = |level: u32, part: &[u8]| {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::new(level));
        e.write_all(part).expect("gzip");
        e.finish().expect("gzip")
    };
    // (plain bytes per part, how it is written)
    type Pack = fn(&dyn Fn(u32, &[u8]) -> Vec<u8>, &[u8]) -> Vec<u8>;
    let kinds: [(usize, Pack); 8] = [
        (300_000, |gz, p| gz(0, p)),
        (1_500_000, |_, p| zstd::encode_all(p, 1).expect("zstd")),
        (200_000, |_, p| p.to_vec()),
        (1_000_000, |gz, p| gz(1, p)),
        (20_000, |gz, p| gz(1, p)),
        (1_000_000, |gz, p| {
            let mid = p.len() / 2;
            [gz(0, &p[..mid]), gz(1, &p[mid..])].concat()
        }),
        // Cut short: what came before the cut is read, and the cut reported.
        (1_000_000, |gz, p| {
            let z = gz(0, p);
            z[..z.len() * 3 / 4].to_vec()
        }),
        (1_500_000, |_, p| {
            let mut z = zstd::encode_all(p, 1).expect("zstd");
            z.extend_from_slice(b"garbage after the frame");
            z
        }),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut at, mut n, mut read_ahead) = (0, 0, 0);
    while at < data.len() {
        let (size, pack) = kinds[n % kinds.len()];
        let end = (at + size).min(data.len());
        let end = end
            + data[end..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(data.len() - end, |i| i + 1);
        let bytes = pack(&gz, &data[at..end]);
        let compressed = bytes.starts_with(&[0x1f, 0x8b]) || bytes.starts_with(&[0x28, 0xb5]);
        read_ahead += usize::from(compressed && bytes.len() > 64 << 10);
        std::fs::write(dir.path().join(format!("part-{n:03}")), bytes).expect("write");
        (at, n) = (end, n + 1);
    }
    assert!(
        n >= 12 && read_ahead >= 6,
        "{n} files, {read_ahead} big compressed ones"
    );
    let inputs = ktrail_core::source::expand(&[dir.path().display().to_string()], &[])
        .expect("expand")
        .inputs;
    assert_eq!(inputs.len(), n);
    let run = |sel: &Selection, opts: &ScanOptions| -> Outcome {
        let mut engine = Collector::new(sel.clone());
        let mut bad = Vec::new();
        let r = scan::scan_inputs(&inputs, &mut engine, opts, &mut |d| bad.push(d.to_string()));
        let json = serde_json::to_string(&engine.finish().expect("spill")).expect("report");
        (json, bad, r.map_err(|e| e.to_string()))
    };
    let (ns, name) = pods[0].clone();
    for sel in [
        Selection::default(),
        Selection {
            namespace: Some(ns),
            name: Some(name),
            ..Default::default()
        },
    ] {
        let opts = |read_ahead, strict| ScanOptions {
            read_ahead,
            strict,
            threads: 2,
            max_line: MAX_LINE,
            ..Default::default()
        };
        let want = run(&sel, &opts(0, false));
        want.2.as_ref().expect("no --strict, no error");
        let damaged: Vec<&String> = want
            .1
            .iter()
            .filter(|d| d.contains("compressed data ends or breaks"))
            .collect();
        assert!(
            damaged.len() >= 2 && want.1.len() > damaged.len() + 20,
            "{sel:?}: {damaged:?} {n}",
        );
        for ahead in [1, 2, 5, 64] {
            let got = run(&sel, &opts(ahead, false));
            assert!(
                got.1 == want.1,
                "{sel:?}, {ahead} ahead: diagnostics differ"
            );
            assert!(got.0 == want.0, "{sel:?}, {ahead} ahead: reports differ");
        }
        // --strict stops at the first bad line, in a later file while the ones after it are being
        // read ahead, and leaves no thread waiting.
        let s_want = run(&sel, &opts(0, true));
        let err = s_want.2.clone().expect_err("a bad line");
        assert!(!err.contains("part-000:"), "{err}");
        for ahead in [1, 2, 5, 64] {
            assert_eq!(
                run(&sel, &opts(ahead, true)).2,
                s_want.2,
                "{sel:?}, {ahead} ahead"
            );
        }
    }
}

/// One audit event line as GKE's Cloud Logging entry (`bodies`: with its request and response, or
/// without, as at audit level Metadata: the pod is then named only in `resourceName`), or `None`
/// when the line is not an event about an object.
fn as_gke(line: &[u8], bodies: bool) -> Option<Vec<u8>> {
    use serde_json::{json, Value};
    let ev: Value = serde_json::from_slice(line).ok()?;
    let o = ev.get("objectRef")?;
    let s = |v: &Value| v.as_str().map(str::to_owned);
    let group = s(&o["apiGroup"]).filter(|g| !g.is_empty());
    let version = s(&o["apiVersion"]).unwrap_or_else(|| "v1".into());
    let resource = s(&o["resource"])?;
    let mut name = format!("{}/{version}", group.as_deref().unwrap_or("core"));
    if let Some(ns) = s(&o["namespace"]) {
        name += &format!("/namespaces/{ns}");
    }
    name += &format!("/{resource}");
    let mut method = format!(
        "io.k8s.{}.{version}.{resource}",
        group.as_deref().unwrap_or("core")
    );
    if let Some(n) = s(&o["name"]) {
        name += &format!("/{n}");
    }
    if let Some(sub) = s(&o["subresource"]) {
        name += &format!("/{sub}");
        method += &format!(".{sub}");
    }
    method += &format!(".{}", s(&ev["verb"])?);
    let mut payload = json!({
        "methodName": method,
        "resourceName": name,
        "authenticationInfo": {"principalEmail": ev["user"]["username"]},
        "requestMetadata": {"callerSuppliedUserAgent": ev["userAgent"]},
    });
    if bodies {
        for (from, to) in [("requestObject", "request"), ("responseObject", "response")] {
            if ev.get(from).is_some_and(Value::is_object) {
                payload[to] = ev[from].clone();
            }
        }
    }
    let code = ev["responseStatus"]["code"].as_i64().unwrap_or(200);
    if code >= 400 {
        payload["status"] = json!({"code": 7, "message": ev["responseStatus"]["message"]});
    }
    let last = ev["stage"] == "ResponseComplete";
    let entry = json!({
        "protoPayload": payload,
        "timestamp": ev["stageTimestamp"],
        "labels": ev["annotations"],
        "operation": {"id": ev["auditID"], "first": !last, "last": last},
    });
    Some(entry.to_string().into_bytes())
}

/// A log whose lines are, in turn, bare events, GKE entries with and without bodies, and AKS
/// records: the literal prefilter must find the selected pod's name in every shape (in a GKE
/// entry without bodies only as the last segment of `resourceName`).
#[test]
fn corpora_in_every_cloud_shape_give_the_same_answer() {
    let (data, pods) = corpus(9, 600_000);
    let mut mixed = Vec::with_capacity(data.len() * 2);
    let mut shapes = [0usize; 4];
    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let shaped = match i % 4 {
            1 => as_gke(line, true),
            2 => as_gke(line, false),
            3 => Some(
                serde_json::json!({
                    "category": "kube-audit",
                    "properties": {"log": String::from_utf8_lossy(line), "stream": "stdout"},
                })
                .to_string()
                .into_bytes(),
            ),
            _ => None,
        };
        shapes[if shaped.is_some() { i % 4 } else { 0 }] += 1;
        mixed.extend_from_slice(shaped.as_deref().unwrap_or(line));
        mixed.push(b'\n');
    }
    assert!(shapes.iter().all(|&n| n > 100), "{shapes:?}");
    check(&mixed, &pods, "every cloud's shape");
    // Every line at level Metadata: each event of the selected pod names it only in its path.
    let metadata: Vec<u8> = data
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .flat_map(|l| {
            let mut e = as_gke(l, false).unwrap_or_else(|| l.to_vec());
            e.push(b'\n');
            e
        })
        .collect();
    check(&metadata, &pods, "GKE at level Metadata");
    // The pods are those of the bare log (GKE keeps no query string, which no pod fact needs
    // here; the summary counts differ, as more reads are decoded in the other shapes).
    let sel = Selection::default();
    let bare = fast(&data, &sel, &ScanOptions::default());
    let got = fast(&mixed, &sel, &ScanOptions::default());
    assert!(got.1.is_empty(), "{:?}", &got.1[..got.1.len().min(5)]);
    let strip = |json: &str| {
        let mut v: serde_json::Value = serde_json::from_str(json).expect("json");
        for p in v["pods"].as_array_mut().expect("pods") {
            for e in p["events"].as_array_mut().expect("events") {
                e.as_object_mut().expect("event").remove("source");
            }
        }
        v["pods"].to_string()
    };
    assert_eq!(strip(&got.0), strip(&bare.0));
}

/// The report of `data` with the records kept in memory up to `budget` bytes: its JSON and
/// whether any record went to a spill file.
fn with_budget(data: &[u8], sel: &Selection, budget: usize) -> (String, bool) {
    let mut engine = Collector::new(sel.clone()).with_memory(budget);
    let pre = Prefilter::for_engine(&engine);
    scan::scan_reader(
        Box::new(Cursor::new(data.to_vec())),
        &pre,
        &mut Feed {
            origin: "big.jsonl",
            engine: &mut engine,
            opts: &ScanOptions::default(),
            on_bad: &mut |_| {},
        },
    )
    .expect("scan");
    let pending = engine.finish_pending().expect("spill");
    let spilled = pending.spilled();
    let json = serde_json::to_string(&pending.into_report().expect("read back")).expect("report");
    (json, spilled)
}

#[test]
fn a_small_memory_budget_spills_and_gives_the_same_report() {
    let (log, pods) = corpus(11, 3_000_000);
    // The log twice, as two overlapping exports give it: every request's stages again, after the
    // first copy's records went to a spill file, which replaces spilled records and counts
    // duplicates across runs.
    let twice = [log.as_slice(), log.as_slice()].concat();
    let (ns, name) = pods[pods.len() / 2].clone();
    for data in [&log, &twice] {
        for sel in [
            Selection::default(),
            Selection {
                namespace: Some(ns.clone()),
                ..Selection::default()
            },
            Selection {
                namespace: Some(ns.clone()),
                name: Some(name.clone()),
                ..Selection::default()
            },
        ] {
            let (whole, spilled) = with_budget(data, &sel, usize::MAX);
            assert!(!spilled);
            // Nothing kept in memory; a few records a run; many runs, merged down as they pile up.
            for budget in [0, 4 << 10, 64 << 10] {
                let (small, spilled) = with_budget(data, &sel, budget);
                // (One namespace's records may fit in the larger budgets.)
                if budget == 0 || sel.namespace.is_none() {
                    assert!(spilled, "budget {budget} spilled nothing for {sel:?}");
                }
                assert!(small == whole, "budget {budget}, {sel:?}");
            }
        }
    }
}

/// The skim on pod and webhook-configuration writes changed in small ways that each matter to a
/// JSON reader (escapes, surrogates, quotes, brackets, repeated keys, other types, whitespace,
/// invalid UTF-8, cut bytes): a line it ignores decodes to one event that nothing keeps, and the
/// event it builds gives the record that decoding the line gives.
#[test]
fn the_skim_agrees_with_decoding_on_mutated_writes() {
    use ktrail_core::scan::skim::{self, Said};

    // The built-in samples (every cloud's shape, webhooks, denials, evictions) and a corpus.
    let (mut log, _) = corpus(5, 3_000_000);
    for s in ktrail_core::samples::SAMPLES {
        log.extend_from_slice(s.data.as_bytes());
        log.push(b'\n');
    }
    let writes: Vec<&[u8]> = log
        .split(|b| *b == b'\n')
        .filter(|l| {
            !scan::is_plain_read(l)
                && (memchr::memmem::find(l, br#""resource":"pods""#).is_some()
                    || memchr::memmem::find(l, b"webhookconfigurations").is_some())
        })
        .collect();
    assert!(writes.len() > 100, "{} writes", writes.len());
    let tokens: &[&[u8]] = &[
        br#"\""#,
        br"\\",
        br"\u0041",
        br"\u00e9",
        br"\ud800",
        br"\udc00\ud800",
        br"\x",
        b"\"",
        b"{",
        b"}",
        b"[",
        b"]",
        b",",
        b":",
        b" ",
        b"\t",
        b"null",
        b"-0",
        b"1e400",
        b"123456789012345678901234567890",
        br#","verb":"get""#,
        br#","annotations":{}"#,
        br#","user":null"#,
        br#""message":"#,
        b"\xff",
        "é".as_bytes(),
        b"2024-01-01T00:00:00Z ",
    ];
    let mut rng = StdRng::seed_from_u64(17);
    let sels = [
        Selection::default(),
        Selection {
            reads: true,
            ..Default::default()
        },
    ];
    let (mut built, mut ignored) = (0, 0);
    for _ in 0..10_000 {
        let mut line = writes[rng.gen_range(0..writes.len())].to_vec();
        for _ in 0..rng.gen_range(1..=2) {
            let at = rng.gen_range(0..=line.len());
            match rng.gen_range(0..3) {
                0 => {
                    let t = tokens[rng.gen_range(0..tokens.len())];
                    line.splice(at..at, t.iter().copied());
                }
                1 => {
                    let end = (at + rng.gen_range(1..8)).min(line.len());
                    line.drain(at..end);
                }
                _ => {
                    // A token in place of a string's first character, where escapes matter most.
                    if let Some(q) = memchr::memchr(b'"', &line[at..]) {
                        let t = tokens[rng.gen_range(0..8)];
                        let i = at + q + 1;
                        line.splice(i..i, t.iter().copied());
                    }
                }
            }
        }
        for sel in &sels {
            match skim::verify(&line, sel) {
                Ok(Said::Built) => built += 1,
                Ok(Said::Ignored) => ignored += 1,
                Ok(Said::Decode) => {}
                Err(e) => panic!("{e}: {}", String::from_utf8_lossy(&line)),
            }
        }
    }
    // Most changes leave a line the skim reads through; many leave one it must refuse.
    assert!(
        built > 5000 && ignored > 50,
        "built {built}, ignored {ignored}"
    );
}
