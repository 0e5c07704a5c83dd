//! Archived audit logs read as they are: one generated log written in every form it takes once it
//! has left CloudWatch Logs (a CloudWatch S3 export tree, Firehose objects in its three variants,
//! pretty-printed documents, a byte order mark), each of which must give the plain file's pods,
//! events and attributions; and compressed files cut short, which keep what came before the cut.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use ktrail_corpus::{generate, Spec};

/// The generated log's lines.
pub fn corpus_lines() -> Vec<String> {
    let spec = Spec::stories(15, 40, 25);
    let mut out = Vec::new();
    generate(&spec, &mut out).unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

fn write(path: &Path, data: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
}

/// A `<time> <message>` line of a CloudWatch export.
fn export_line(i: usize, line: &str) -> String {
    format!(
        "2024-05-01T10:{:02}:{:02}.{:03}Z {line}\n",
        (i / 60_000) % 60,
        (i / 1000) % 60,
        i % 1000
    )
}

/// A subscription filter's record of these lines from `stream`.
fn data_message(stream: &str, lines: &[&str]) -> String {
    let events: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, m)| serde_json::json!({"id": i.to_string(), "timestamp": 1714557600000u64 + i as u64, "message": m}))
        .collect();
    serde_json::json!({
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "/aws/eks/prod/cluster",
        "logStream": stream,
        "subscriptionFilters": ["to-firehose"],
        "logEvents": events,
    })
    .to_string()
}

const CONTROL_MESSAGE: &str = r#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1714557600000,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}"#;

/// Lines of an API server's own log, which an export tree or a subscription carries beside the
/// audit streams: read by mistake, every one of them would be a diagnostic.
const KLOG: &str = "I0501 10:00:00.000000      10 controller.go:611] quota admission added evaluator for: leases.coordination.k8s.io";

/// Every form of `lines`, as (name, path) under `dir`: a file, or a directory to read whole.
pub fn write_forms(dir: &Path, lines: &[String]) -> Vec<(&'static str, PathBuf)> {
    let mut forms = Vec::new();
    let plain: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let p = dir.join("plain.jsonl");
    write(&p, plain.as_bytes());
    forms.push(("plain", p));

    // `create-export-task`: two API servers' audit streams in chunks, the other streams of an EKS
    // log group beside them, and the write test.
    let export = dir.join("export");
    let task = export.join("exportedlogs/0f3c9a52-1c43-4a8e-9d0b-7f2a7c1d5e11");
    write(
        &export.join("exportedlogs/aws-logs-write-test"),
        b"Permission Check Successful",
    );
    for (s, stream) in ["kube-apiserver-audit-0a1b", "kube-apiserver-audit-9f8e"]
        .iter()
        .enumerate()
    {
        let mine: Vec<(usize, &String)> = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == s)
            .collect();
        for (c, chunk) in mine.chunks(700).enumerate() {
            let text: String = chunk.iter().map(|(i, l)| export_line(*i, l)).collect();
            write(
                &task.join(format!("{stream}/{c:06}.gz")),
                &gzip(text.as_bytes()),
            );
        }
    }
    for other in [
        "kube-apiserver-0a1b",
        "authenticator-0a1b",
        "kube-scheduler-0a1b",
        "kube-controller-manager-0a1b",
        "cloud-controller-manager-0a1b",
    ] {
        write(
            &task.join(format!("{other}/000000.gz")),
            &gzip(export_line(0, KLOG).as_bytes()),
        );
    }
    forms.push(("export tree", export.clone()));

    // A lone file of export lines, uncompressed.
    let lone = dir.join("export-lines.log");
    let text: String = lines
        .iter()
        .enumerate()
        .map(|(i, l)| export_line(i, l))
        .collect();
    write(&lone, text.as_bytes());
    forms.push(("export lines", lone));

    // Firehose, no decompression: each object is gzip members back to back, one per record.
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let raw = dir.join("firehose-raw");
    for (o, object) in refs.chunks(900).enumerate() {
        let mut bytes = gzip(CONTROL_MESSAGE.as_bytes());
        for batch in object.chunks(37) {
            bytes.extend(gzip(
                data_message("kube-apiserver-audit-0a1b", batch).as_bytes(),
            ));
        }
        bytes.extend(gzip(
            data_message("kube-apiserver-0a1b", &[KLOG]).as_bytes(),
        ));
        write(
            &raw.join(format!(
                "2024/05/01/{:02}/ktrail-audit-1-2024-05-01-{:02}-00-00-{o:04}.gz",
                10 + o / 4,
                10 + o / 4
            )),
            &bytes,
        );
    }
    forms.push(("firehose, records in gzip members", raw));

    // Firehose with decompression: one record per line.
    let ndjson = dir.join("firehose-lines");
    for (o, object) in refs.chunks(900).enumerate() {
        let mut text = format!("{CONTROL_MESSAGE}\n");
        for batch in object.chunks(37) {
            text.push_str(&data_message("kube-apiserver-audit-9f8e", batch));
            text.push('\n');
        }
        write(
            &ndjson.join(format!("2024/05/01/10/ktrail-audit-2-{o:04}")),
            text.as_bytes(),
        );
    }
    forms.push(("firehose, records per line", ndjson));

    // Firehose with message extraction and no delimiter: the events back to back.
    let extracted = dir.join("firehose-messages");
    for (o, object) in refs.chunks(900).enumerate() {
        write(
            &extracted.join(format!("2024/05/01/11/ktrail-audit-3-{o:04}")),
            object.concat().as_bytes(),
        );
    }
    forms.push(("firehose, messages back to back", extracted));

    // `jq .`: each event pretty-printed.
    let mut pretty = String::new();
    for l in lines {
        let v: Value = serde_json::from_str(l).unwrap();
        pretty.push_str(&serde_json::to_string_pretty(&v).unwrap());
        pretty.push('\n');
    }
    let p = dir.join("pretty.json");
    write(&p, pretty.as_bytes());
    forms.push(("pretty-printed", p));

    let p = dir.join("bom.jsonl");
    write(&p, &[b"\xef\xbb\xbf".as_slice(), plain.as_bytes()].concat());
    forms.push(("byte order mark", p));
    forms
}

/// `timeline -o json` over `sources`: the exit code, the output and the diagnostics.
pub fn timeline(sources: &[&str], extra: &[&str]) -> (i32, Value, String) {
    let mut cmd = crate::util::ktrail();
    cmd.arg("timeline");
    for s in sources {
        cmd.args(["-f", s]);
    }
    let out = cmd.args(["-o", "json"]).args(extra).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), json, stderr)
}

/// What must be the same whatever the form: every pod, its events and attributions, and how many
/// pod events were read.
/// The pods, events and attributions, and how many pod requests were kept; not where each event
/// was read from (`source`: an archive of EKS's log group says `eks`, a plain file nothing).
pub fn answer(v: &Value) -> (Value, Value) {
    let mut pods = v["pods"].clone();
    for pod in pods.as_array_mut().into_iter().flatten() {
        for ev in pod["events"].as_array_mut().into_iter().flatten() {
            if let Some(o) = ev.as_object_mut() {
                o.remove("source");
            }
        }
    }
    (pods, v["summary"]["podEvents"].clone())
}

#[test]
fn every_archived_form_gives_the_plain_answer() {
    let dir = tempfile::tempdir().unwrap();
    let lines = corpus_lines();
    let forms = write_forms(dir.path(), &lines);
    let (code, plain, stderr) = timeline(&[forms[0].1.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    assert!(plain["pods"].as_array().unwrap().len() >= 40);
    for (name, path) in &forms[1..] {
        let (code, got, stderr) = timeline(&[path.to_str().unwrap()], &[]);
        assert_eq!(code, 0, "{name}: {stderr}");
        assert!(stderr.is_empty(), "{name}: {stderr}");
        assert!(answer(&got) == answer(&plain), "{name}: another answer");
    }
}

/// The complete lines a tolerant decompressor gives before the damage.
fn lines_before_damage(mut r: impl Read) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    match text.rfind('\n') {
        Some(i) => text[..=i].to_owned(),
        None => String::new(),
    }
}

#[test]
fn compressed_files_cut_short_keep_the_events_before_the_cut() {
    let dir = tempfile::tempdir().unwrap();
    let lines = corpus_lines();
    let plain: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let zst = zstd::encode_all(plain.as_bytes(), 3).unwrap();
    for (ext, whole) in [("gz", gzip(plain.as_bytes())), ("zst", zst)] {
        let cut = &whole[..whole.len() * 6 / 10];
        let path = dir.path().join(format!("cut.jsonl.{ext}"));
        std::fs::write(&path, cut).unwrap();
        let before = match ext {
            "gz" => lines_before_damage(flate2::read::MultiGzDecoder::new(cut)),
            _ => lines_before_damage(zstd::stream::read::Decoder::new(cut).unwrap()),
        };
        assert!(before.len() > plain.len() / 3, "{ext}: {}", before.len());
        let expected_path = dir.path().join(format!("before-{ext}.jsonl"));
        std::fs::write(&expected_path, &before).unwrap();
        let (_, expected, _) = timeline(&[expected_path.to_str().unwrap()], &[]);

        let p = path.to_str().unwrap();
        let (code, got, stderr) = timeline(&[p], &[]);
        assert_eq!(code, 0, "{ext}: {stderr}");
        assert!(answer(&got) == answer(&expected), "{ext}: another answer");
        assert!(!got["pods"].as_array().unwrap().is_empty());
        let offset = format!("near byte {}", cut.len());
        let diagnostic = stderr
            .lines()
            .find(|l| l.contains("compressed data ends or breaks"))
            .unwrap_or_else(|| panic!("{ext}: {stderr}"));
        assert!(diagnostic.starts_with(&format!("{p}:")), "{diagnostic}");
        assert!(diagnostic.contains(&offset), "{diagnostic}");

        let (code, _, stderr) = timeline(&[p], &["--strict"]);
        assert_eq!(code, 2, "{ext} --strict: {stderr}");
    }
}
