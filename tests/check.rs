//! `ktrail check` as CI meets it: exit codes, the rules over the committed samples, violations
//! named exactly, malformed rules files, and reports that parse.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use quick_xml::events::Event;
use serde_json::{json, Value};

fn ktrail() -> Command {
    Command::cargo_bin("ktrail").unwrap()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> String {
    root()
        .join("tests/fixtures/check")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

/// Runs `ktrail check` and returns (exit code, stdout, stderr).
fn check(args: &[&str]) -> (i32, String, String) {
    let out = ktrail().arg("check").args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_owned()
}

// ------------------------------------------------------------------------------------------------
// A small recording written here: two pods and a denied create, with hostile text in the denial.

fn ev(id: &str, verb: &str, secs: u32, user: &str, object: Value) -> Value {
    let t = format!("2024-05-01T10:{:02}:{:02}.000000Z", secs / 60, secs % 60);
    json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
        "auditID": id, "stage": "ResponseComplete", "verb": verb, "user": {"username": user},
        "objectRef": object, "responseStatus": {"metadata": {}, "code": 201},
        "requestReceivedTimestamp": t, "stageTimestamp": t,
    })
}

fn pod(ns: &str, name: &str, uid: Option<&str>) -> Value {
    let mut meta = json!({"name": name, "namespace": ns});
    if let Some(u) = uid {
        meta["uid"] = json!(u);
    }
    json!({"kind": "Pod", "apiVersion": "v1", "metadata": meta,
           "spec": {"containers": [{"name": "c", "image": "nginx"}], "schedulerName": "default-scheduler"}})
}

/// Control characters, a noncharacter, markup and a CDATA end in the text CI will display.
const HOSTILE: &str = "denied \u{0}\u{1b}[2J\u{7}\u{b}\u{fffe} <script>&amp; ]]> \"quoted\" it's";

fn recording() -> String {
    let obj = |ns: &str, name: &str, sub: Option<&str>| {
        let mut o = json!({"resource": "pods", "namespace": ns, "name": name, "apiVersion": "v1"});
        if let Some(s) = sub {
            o["subresource"] = json!(s);
        }
        o
    };
    let mut lines = Vec::new();
    for (i, (ns, name, uid)) in [("apps", "web-1", "u-1"), ("apps", "web-2", "u-2")]
        .into_iter()
        .enumerate()
    {
        let t = 10 * i as u32;
        let mut c = ev(&format!("create-{i}"), "create", t, "alice", obj(ns, name, None));
        c["requestObject"] = pod(ns, name, None);
        c["responseObject"] = pod(ns, name, Some(uid));
        c["annotations"] = json!({
            "mutation.webhook.admission.k8s.io/round_0_index_0":
                r#"{"configuration":"cfg","webhook":"labeler.example.com","mutated":true}"#,
            "patch.webhook.admission.k8s.io/round_0_index_0":
                r#"{"configuration":"cfg","webhook":"labeler.example.com","patch":[{"op":"add","path":"/metadata/labels","value":{"a":"b"}}],"patchType":"JSONPatch"}"#,
        });
        c["responseObject"]["metadata"]["labels"] = json!({"a": "b"});
        lines.push(c);
        let mut b = ev(&format!("bind-{i}"), "create", t + 1 + 100 * i as u32, "system:kube-scheduler", obj(ns, name, Some("binding")));
        b["requestObject"] = json!({"kind": "Binding", "metadata": {"name": name, "namespace": ns, "uid": uid}, "target": {"kind": "Node", "name": format!("node-{i}")}});
        lines.push(b);
    }
    let mut d = ev("denied-1", "create", 30, "mallory", obj("apps", "web-3", None));
    d["responseStatus"] = json!({"metadata": {}, "status": "Failure", "code": 403,
        "message": format!("admission webhook \"policy.example.com\" denied the request: {HOSTILE}")});
    d["requestObject"] = pod("apps", "web-3", None);
    lines.push(d);
    lines.iter().map(|l| l.to_string() + "\n").collect()
}

const SMALL_RULES: &str = r#"
rules:
  - name: apps bind fast
    pods: {namespace: apps}
    expect:
      boundWithin: 30s
      mutatedBy: [{webhook: cfg, paths: [/metadata/labels]}]
  - name: "no denials <here> & \"there\""
    forbid: {denied: true}
  - name: nothing in kube-system
    pods: {namespace: kube-system}
    forbid: {failedOpen: true}
"#;

/// What a JUnit document holds, read with an XML parser; panics when it is not well-formed.
struct Junit {
    suites: Vec<String>,
    /// (suite, testcase) of every testcase.
    cases: Vec<(String, String)>,
    /// (suite, testcase, failure text) of every failure.
    failures: Vec<(String, String, String)>,
    skipped: usize,
}

fn parse_junit(xml: &str) -> Junit {
    // XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
    for c in xml.chars() {
        let ok = matches!(c, '\t' | '\n' | '\r')
            || ('\u{20}'..='\u{D7FF}').contains(&c)
            || ('\u{E000}'..='\u{FFFD}').contains(&c)
            || c >= '\u{10000}';
        assert!(ok, "character U+{:04X} is not allowed in XML 1.0", c as u32);
    }
    let mut r = quick_xml::Reader::from_str(xml);
    r.config_mut().check_end_names = true;
    let mut j = Junit {
        suites: Vec::new(),
        cases: Vec::new(),
        failures: Vec::new(),
        skipped: 0,
    };
    let mut stack: Vec<String> = Vec::new();
    let (mut suite, mut case) = (String::new(), String::new());
    let mut in_failure = false;
    loop {
        let e = r.read_event().unwrap_or_else(|e| panic!("not XML: {e}\n{xml}"));
        let (start, empty) = match &e {
            Event::Start(s) => (Some(s.clone()), false),
            Event::Empty(s) => (Some(s.clone()), true),
            _ => (None, false),
        };
        if let Some(s) = start {
            let tag = String::from_utf8(s.name().as_ref().to_vec()).unwrap();
            let mut name = String::new();
            for a in s.attributes() {
                let a = a.unwrap();
                let v = a.unescape_value().unwrap().into_owned();
                if a.key.as_ref() == b"name" {
                    name = v;
                }
            }
            match tag.as_str() {
                "testsuite" => {
                    suite = name;
                    j.suites.push(suite.clone());
                }
                "testcase" => {
                    assert_eq!(stack.last().map(String::as_str), Some("testsuite"));
                    case = name;
                    j.cases.push((suite.clone(), case.clone()));
                }
                "failure" => {
                    assert_eq!(stack.last().map(String::as_str), Some("testcase"));
                    j.failures.push((suite.clone(), case.clone(), String::new()));
                    in_failure = !empty;
                }
                "skipped" => j.skipped += 1,
                _ => {}
            }
            if !empty {
                stack.push(tag);
            }
            continue;
        }
        match e {
            Event::End(_) => {
                in_failure = false;
                stack.pop();
            }
            Event::Text(t) => {
                let text = t.unescape().unwrap().into_owned();
                if in_failure {
                    j.failures.last_mut().unwrap().2.push_str(&text);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    j
}

#[test]
fn a_compliant_recording_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "audit.jsonl", &recording());
    let rules = write(
        dir.path(),
        "ok.yaml",
        "rules:\n  - name: web-1 is fine\n    pods: {name: web-1}\n    expect: {boundWithin: 2s, createdBy: alice, node: \"^node-0$\"}\n",
    );
    let (code, out, err) = check(&["--rules", &rules, "-f", &log, "--require-match"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("PASS  web-1 is fine  1 pod\n"), "{out}");
    assert!(out.ends_with("check passed: 1 rule holds over 3 pods\n"), "{out}");
}

#[test]
fn a_violating_recording_exits_1_and_names_exactly_the_violating_pods() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "audit.jsonl", &recording());
    let rules = write(dir.path(), "rules.yaml", SMALL_RULES);
    let (code, out, err) = check(&["--rules", &rules, "-f", &log]);
    assert_eq!(code, 1, "{out}{err}");
    // web-2 was bound 101 s after its create; web-3 was denied.
    let named: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("  pod:       "))
        .collect();
    assert_eq!(named, ["apps/web-2 (uid u-2)", "apps/web-3 (denied create)"], "{out}");
    assert!(out.contains("  log shows: bound 1m41.000s after creation\n  event:     binding at 2024-05-01T10:01:51.000000Z, auditID bind-1\n"), "{out}");
    assert!(!out.contains('\u{1b}') && !out.contains('\u{0}'), "{out}");
    assert!(err.contains("warning: rule \"nothing in kube-system\" matched no pod"), "{err}");

    let (code, json, _) = check(&["--rules", &rules, "-f", &log, "-o", "json"]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["passed"], false);
    let statuses: Vec<&str> = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["fail", "fail", "unmatched"]);
    let denied = &v["rules"][1]["pods"][2];
    assert_eq!(denied["name"], "web-3");
    assert_eq!(denied["denied"], true);
    let found = denied["violations"][0]["found"].as_str().unwrap();
    assert!(found.ends_with(HOSTILE), "JSON keeps the text as logged: {found:?}");
    assert_eq!(denied["violations"][0]["event"]["auditID"], "denied-1");
}

#[test]
fn junit_parses_and_holds_one_failure_per_violating_pod() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "audit.jsonl", &recording());
    let rules = write(dir.path(), "rules.yaml", SMALL_RULES);
    let (code, xml, _) = check(&["--rules", &rules, "-f", &log, "-o", "junit"]);
    assert_eq!(code, 1);
    let j = parse_junit(&xml);
    assert_eq!(
        j.suites,
        ["apps bind fast", "no denials <here> & \"there\"", "nothing in kube-system"]
    );
    assert_eq!(j.cases.len(), 3 + 3 + 1);
    let failed: Vec<(&str, &str)> = j
        .failures
        .iter()
        .map(|(s, c, _)| (s.as_str(), c.as_str()))
        .collect();
    assert_eq!(
        failed,
        [
            ("apps bind fast", "apps/web-2 (uid u-2)"),
            ("no denials <here> & \"there\"", "apps/web-3 (denied create)"),
        ]
    );
    assert_eq!(j.skipped, 1);
    let text = &j.failures[1].2;
    assert!(text.contains("check: forbid.denied"), "{text}");
    assert!(text.contains("\\u{0}\\u{1b}[2J\\u{7}\\u{b}\\u{fffe} <script>&amp; ]]>"), "{text}");
    assert!(text.contains("event: create at 2024-05-01T10:00:30.000000Z, auditID denied-1"), "{text}");

    // With --require-match the rule that matched nothing is a failure too.
    let (code, xml, _) = check(&["--rules", &rules, "-f", &log, "-o", "junit", "--require-match"]);
    assert_eq!(code, 1);
    let j = parse_junit(&xml);
    assert_eq!(j.failures.len(), 3);
    assert_eq!(j.skipped, 0);
}

#[test]
fn markdown_is_a_pull_request_comment() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "audit.jsonl", &recording());
    let rules = write(dir.path(), "rules.yaml", SMALL_RULES);
    let (code, md, _) = check(&["--rules", &rules, "-f", &log, "-o", "markdown"]);
    assert_eq!(code, 1);
    assert!(md.starts_with("### ktrail check failed\n"), "{md}");
    assert!(md.contains("| no denials &lt;here&gt; &amp; \"there\" | ❌ fail | 3 | 1 |"), "{md}");
    assert!(!md.contains("<script>") && !md.contains('\u{1b}'), "{md}");
}

#[test]
fn require_match_turns_an_unmatched_rule_into_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "audit.jsonl", &recording());
    let rules = write(
        dir.path(),
        "r.yaml",
        "rules:\n  - name: ghost\n    pods: {namespace: nowhere}\n    expect: {scheduler: x}\n",
    );
    let (code, out, err) = check(&["--rules", &rules, "-f", &log]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("WARN  ghost  no pod matched\n"), "{out}");
    assert!(err.contains("ktrail: warning: rule \"ghost\" matched no pod"), "{err}");
    let (code, out, err) = check(&["--rules", &rules, "-f", &log, "--require-match"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.starts_with("FAIL  ghost  no pod matched\n"), "{out}");
    assert!(err.contains("ktrail: error: rule \"ghost\" matched no pod"), "{err}");
}

#[test]
fn malformed_rules_files_exit_2_naming_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "audit.jsonl", &recording());
    for (text, wanted) in [
        (
            "rules:\n  - name: r\n    expect:\n      schedular: fargate-scheduler\n",
            ":4:7: rules[0].expect: unknown field `schedular`",
        ),
        (
            "rules:\n  - name: r\n    forbid:\n      mutations:\n        - paths: [\"/spec/{a,b\"]\n",
            ":5:19: rules[0].forbid.mutations[0].paths[0]: invalid glob",
        ),
        (
            "rules:\n  - name: r\n    expect:\n      node: \"(\"\n",
            ":4:13: rules[0].expect.node: invalid regex",
        ),
        (
            "rules:\n  - name: r\n    expect:\n      boundWithin: 2 minutes\n",
            ":4:20: rules[0].expect.boundWithin: invalid duration \"2 minutes\"",
        ),
        (
            "rules:\n  - name: r\n    pods: {namespace: apps}\n",
            ":2:5: rules[0]: rule \"r\" checks nothing",
        ),
        ("rules:\n  - name: [r\n", ":"),
    ] {
        let rules = write(dir.path(), "bad.yaml", text);
        let (code, out, err) = check(&["--rules", &rules, "-f", &log]);
        assert_eq!(code, 2, "{text}: {err}");
        assert!(out.is_empty(), "no report from a bad rules file: {out}");
        assert!(err.starts_with(&format!("ktrail: {rules}{wanted}")), "{text}: {err}");
    }
}

#[test]
fn usage_and_input_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(dir.path(), "r.yaml", SMALL_RULES);
    let (code, _, err) = check(&["-f", "x"]);
    assert_eq!(code, 2, "--rules is required: {err}");
    assert!(err.contains("--rules"), "{err}");
    let (code, _, err) = check(&["--rules", "/no/such/rules.yaml", "-f", "x"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read the rules file /no/such/rules.yaml"), "{err}");
    let (code, _, err) = check(&["--rules", &rules, "-f", "/no/such/audit.log"]);
    assert_eq!(code, 2);
    assert!(err.contains("/no/such/audit.log"), "{err}");
    let (code, _, err) = check(&["--rules", &rules]);
    assert_eq!(code, 2);
    assert!(err.contains("no input"), "{err}");
    let (code, _, _) = check(&["--rules", &rules, "-f", "x", "-o", "xml"]);
    assert_eq!(code, 2);
    // A bad line is skipped with a diagnostic; with --strict it stops the check.
    let log = write(dir.path(), "bad.jsonl", &format!("{}not json\n", recording()));
    let (code, _, err) = check(&["--rules", &rules, "-f", &log]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(":6: not JSON"), "{err}");
    let (code, _, _) = check(&["--rules", &rules, "-f", &log, "--strict"]);
    assert_eq!(code, 2);
    ktrail()
        .args(["check", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--require-match").and(predicate::str::contains("--cluster")));
}
