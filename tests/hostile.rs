//! Text from a log is written by whoever talks to the cluster. A user agent, a user name, a label,
//! a webhook name, a node name, a status message or an exec command can carry terminal escape
//! sequences (ESC, CSI, OSC hyperlinks and titles), BEL, CR, C1 controls and bidirectional
//! overrides. Whatever the format, none of it may reach the reader raw; JSON keeps the exact values.

use std::path::Path;

use serde_json::{json, Value};

const UA: &str = "kubectl/v1.29\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m\u{202e}exe.txt";
const USER: &str = "alice\r\u{1b}[1A\u{1b}[2Kroot";
const LABEL: &str = "web\u{1b}[8m\u{7f}\u{85}&#x202E;";
const LABEL_KEY: &str = "team\u{1b}[5m";
const WEBHOOK: &str = "evil\u{1b}[31m.example.com\u{7}";
const CONFIG: &str = "config\u{202e}\u{2066}";
const NODE: &str = "node-\u{1b}[A\r";
const PHASE: &str = "Running\u{1b}[0m\u{9d}";
const DENIAL: &str = "admission webhook \"deny\u{1b}[1m.example.com\" denied the request: \u{1b}]8;;https://example.invalid\u{7}click\u{1b}]8;;\u{7}\r\n";
const POD: &str = "web\u{1b}[7m";

fn hostile_log() -> String {
    let t = |s: u32| format!("2024-05-01T10:00:{s:02}.000000Z");
    let ev = |id: &str, verb: &str, sec: u32, sub: Option<&str>, extra: Value| {
        let mut e = json!({
            "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
            "auditID": id, "stage": "ResponseComplete", "verb": verb,
            "requestURI": format!("/api/v1/namespaces/shop/pods/x/{}", sub.unwrap_or("")),
            "user": {"username": USER}, "userAgent": UA,
            "objectRef": {"resource": "pods", "namespace": "shop", "name": POD, "subresource": sub},
            "responseStatus": {"code": 200},
            "requestReceivedTimestamp": t(sec), "stageTimestamp": t(sec),
        });
        for (k, v) in extra.as_object().unwrap() {
            e[k] = v.clone();
        }
        e.to_string()
    };
    let patch =
        json!([{"op": "add", "path": format!("/metadata/labels/{LABEL_KEY}"), "value": LABEL}]);
    let mut labels = serde_json::Map::new();
    labels.insert(LABEL_KEY.into(), LABEL.into());
    let lines = [
        ev(
            "h1",
            "create",
            0,
            None,
            json!({
                "responseStatus": {"code": 201},
                "requestObject": {"kind": "Pod", "metadata": {"name": POD}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}},
                "responseObject": {"kind": "Pod", "metadata": {"name": POD, "uid": "u-1", "labels": labels},
                    "spec": {"containers": [{"name": "c", "image": "nginx"}], "schedulerName": WEBHOOK, "nodeName": NODE,
                             "hostname": USER}},
                "annotations": {
                    "mutation.webhook.admission.k8s.io/round_0_index_0":
                        json!({"configuration": CONFIG, "webhook": WEBHOOK, "mutated": true}).to_string(),
                    "patch.webhook.admission.k8s.io/round_0_index_0":
                        json!({"configuration": CONFIG, "webhook": WEBHOOK, "patch": patch, "patchType": "JSONPatch"}).to_string(),
                    "failed-open.validating.webhook.admission.k8s.io/round_0_index_1": WEBHOOK,
                }
            }),
        ),
        ev(
            "h2",
            "create",
            1,
            Some("binding"),
            json!({"requestObject": {"kind": "Binding", "target": {"name": NODE}}}),
        ),
        ev(
            "h3",
            "patch",
            2,
            Some("status"),
            json!({"requestObject": {"status": {"phase": PHASE, "podIP": LABEL,
                "conditions": [{"type": "Ready", "status": "True"}]}}}),
        ),
        ev(
            "h4",
            "get",
            3,
            Some("exec"),
            json!({"requestURI": "/api/v1/namespaces/shop/pods/x/exec?command=sh&command=-c&command=printf%20%1B%5B2J%07&container=c%1B%5D0%3Bx%07"}),
        ),
        ev(
            "h5",
            "patch",
            4,
            None,
            json!({"requestObject": {"metadata": {"labels": labels, "annotations": {"note": DENIAL}}}}),
        ),
        ev(
            "h6",
            "create",
            5,
            None,
            json!({"responseStatus": {"code": 400, "message": DENIAL},
                   "objectRef": {"resource": "pods", "namespace": "shop", "name": format!("{POD}-2")}}),
        ),
    ];
    lines.join("\n") + "\n"
}

fn run(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Vec<u8> {
    let mut cmd = crate::util::ktrail();
    cmd.current_dir(dir).args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let (code, out, err) = crate::util::run_raw(&mut cmd);
    assert_eq!(code, 0, "{args:?}: {err}");
    assert!(err.is_empty(), "{err}");
    out
}

/// Panics when `out` holds a character that a terminal or a document viewer would act on.
fn assert_harmless(out: &[u8], what: &str) {
    let text = std::str::from_utf8(out).unwrap_or_else(|e| panic!("{what}: not UTF-8: {e}"));
    for (i, c) in text.char_indices() {
        assert!(
            c == '\n' || !ktrail_core::escape::is_unsafe(c),
            "{what}: raw U+{:04X} at byte {i}: …{}…",
            c as u32,
            text[..i]
                .chars()
                .rev()
                .take(60)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<String>()
        );
    }
    for b in out {
        assert!(
            *b == b'\n' || *b >= 0x20 && *b != 0x7f,
            "{what}: raw byte {b:#x}"
        );
    }
}

fn setup() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("hostile.jsonl"), hostile_log()).unwrap();
    d
}

#[test]
fn table_output_shows_escapes_not_effects() {
    let d = setup();
    let out = run(d.path(), &["timeline", "-f", "hostile.jsonl"], &[]);
    assert_harmless(&out, "table");
    let text = String::from_utf8(out).unwrap();
    // The values are still there for a reader, visibly escaped.
    for shown in [
        r"kubectl/v1.29\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m\u{202e}exe.txt",
        r"alice\u{d}\u{1b}[1A\u{1b}[2Kroot",
        r"evil\u{1b}[31m.example.com\u{7}",
        r"config\u{202e}\u{2066}",
        r"node-\u{1b}[A\u{d}",
        r"phase Running\u{1b}[0m\u{9d}",
        r"printf \u{1b}[2J\u{7}",
        r"container c\u{1b}]0;x\u{7}",
        r"shop/web\u{1b}[7m ",
        r"DENIED by deny\u{1b}[1m.example.com",
    ] {
        assert!(text.contains(shown), "missing {shown:?} in\n{text}");
    }
}

/// The timeline of the hostile log in `format`, checked to hold nothing a terminal or viewer
/// would act on.
fn harmless_output(format: &str) -> Vec<u8> {
    let d = setup();
    let out = run(
        d.path(),
        &["timeline", "-f", "hostile.jsonl", "-o", format],
        &[],
    );
    assert_harmless(&out, format);
    out
}

#[test]
fn markdown_output_shows_escapes_not_effects() {
    let out = harmless_output("markdown");
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains(r"evil\\u{1b}\[31m.example.com\\u{7}"),
        "{text}"
    );
    // A character reference would become the character it names once rendered.
    assert!(!text.contains("&#x202E;"), "{text}");
    assert!(text.contains(r"&amp;#x202E;"), "{text}");
    // Every table row keeps its column count: no log text added or removed a cell.
    for line in text.lines().filter(|l| l.starts_with('|')) {
        let cells = line.matches('|').count() - line.matches("\\|").count();
        assert!(matches!(cells, 3 | 5 | 8), "{cells} cells: {line}");
    }
}

#[test]
fn colour_and_no_color_never_let_log_text_through() {
    let d = setup();
    for envs in [&[("NO_COLOR", "1")][..], &[("TERM", "xterm-256color")][..]] {
        let out = run(d.path(), &["timeline", "-f", "hostile.jsonl"], envs);
        assert_harmless(&out, "table");
        assert!(!out.contains(&0x1b), "colours on a pipe");
    }
}

#[test]
fn json_output_is_valid_safe_and_exact() {
    let out = harmless_output("json");
    let v: Value = serde_json::from_slice(&out).expect("valid JSON");
    let pods = v["pods"].as_array().unwrap();
    assert_eq!(pods.len(), 2, "{v:#}");
    let p = &pods[0];
    assert_eq!(p["name"], POD);
    assert_eq!(p["createdBy"], USER);
    assert_eq!(p["node"], NODE);
    assert_eq!(p["scheduler"], WEBHOOK);
    assert_eq!(p["phase"], PHASE);
    assert_eq!(p["webhooks"][0]["webhook"], WEBHOOK);
    assert_eq!(p["webhooks"][0]["configuration"], CONFIG);
    assert_eq!(
        p["webhooks"][0]["paths"][0],
        format!("/metadata/labels/{LABEL_KEY}")
    );
    assert_eq!(p["webhooks"][1]["webhook"], WEBHOOK);
    assert_eq!(p["events"][0]["userAgent"], UA);
    assert_eq!(pods[1]["message"], DENIAL);
    assert_eq!(pods[1]["deniedBy"], "deny\u{1b}[1m.example.com");
}

#[test]
fn hostile_diagnostics_are_escaped() {
    let d = setup();
    let name = "bad\u{1b}[2J.jsonl";
    std::fs::write(d.path().join(name), "\u{1b}]0;title\u{7}not json\u{9b}\n").unwrap();
    let out = crate::util::ktrail()
        .current_dir(d.path())
        .args(["timeline", "-f", name])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "no pod");
    assert_harmless(&out.stderr, "stderr");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with(r"bad\u{1b}[2J.jsonl:1: not JSON"), "{err}");
    let out = crate::util::ktrail()
        .current_dir(d.path())
        .args(["timeline", "--strict", "-f", name])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_harmless(&out.stderr, "strict stderr");
}

/// Runs ktrail on a pseudo-terminal with `script` (util-linux); `None` when it is not installed.
fn on_terminal(dir: &Path, no_color: bool) -> Option<Vec<u8>> {
    let bin = assert_cmd::cargo::cargo_bin("ktrail");
    let mut cmd = std::process::Command::new("script");
    cmd.current_dir(dir)
        .args(["-qec"])
        .arg(format!("{} timeline -f hostile.jsonl", bin.display()))
        .arg("/dev/null")
        .env("COLUMNS", "200")
        .env_remove("NO_COLOR");
    if no_color {
        cmd.env("NO_COLOR", "1");
    }
    let out = cmd.output().ok()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(out.stdout)
}

#[test]
fn on_a_terminal_only_ktrails_own_colours_are_raw() {
    let d = setup();
    let Some(coloured) = on_terminal(d.path(), false) else {
        eprintln!("skipped: `script` is not installed");
        return;
    };
    let plain = on_terminal(d.path(), true).unwrap();
    let text = String::from_utf8(coloured).unwrap();
    assert!(
        text.contains("\u{1b}[1m"),
        "bold title on a terminal: {text:?}"
    );
    // ktrail's own colours: bold, dim, failure (bold red), webhook (cyan), change (yellow), pass
    // (green) and reset. Anything else raw in the output came from the log.
    let own = ["1", "2", "0", "1;31", "36", "33", "32"]
        .iter()
        .fold(text.clone(), |t, code| {
            t.replace(&format!("\u{1b}[{code}m"), "")
        })
        .replace("\r\n", "\n");
    assert_harmless(own.as_bytes(), "coloured table");
    assert!(
        !plain.contains(&0x1b),
        "NO_COLOR: {:?}",
        String::from_utf8_lossy(&plain)
    );
    let plain = String::from_utf8(plain).unwrap().replace("\r\n", "\n");
    assert_harmless(plain.as_bytes(), "NO_COLOR table");
}

#[test]
fn every_view_and_format_prints_hostile_text_harmlessly() {
    let d = setup();
    let cases: &[(&str, &[&str])] = &[
        ("timeline", &["table", "json", "markdown", "mermaid"]),
        ("webhooks", &["table", "json", "markdown"]),
        ("pods", &["table", "json", "markdown", "csv"]),
    ];
    for (cmd, formats) in cases {
        for fmt in *formats {
            let out = run(d.path(), &[cmd, "-f", "hostile.jsonl", "-o", fmt], &[]);
            assert!(!out.is_empty(), "{cmd} -o {fmt} printed nothing");
            // CSV rows end with CRLF by RFC 4180: ktrail's own, not the log's.
            let out = if *fmt == "csv" {
                String::from_utf8(out)
                    .unwrap()
                    .replace("\r\n", "\n")
                    .into_bytes()
            } else {
                out
            };
            assert_harmless(&out, &format!("{cmd} -o {fmt}"));
            if *fmt == "json" {
                serde_json::from_slice::<Value>(&out).expect("valid JSON");
            }
        }
    }
}
