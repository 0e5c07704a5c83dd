//! `ktrail report`: one self-contained HTML file. Without a browser: every sample's report holds
//! a swimlane bar and a story per incarnation `timeline -o json` gives, allows only its own style
//! and script (by hash), links nowhere but into itself, shows hostile names as text, stays under
//! 10 MB for 2,000 pods, and is written safely with `-O`.
//!
//! With `KTRAIL_TEST_BROWSER=1` (set by scripts/test.sh after `npm ci` in tests/report when
//! /usr/bin/chromium exists), the same reports are opened in headless Chromium
//! (`tests/report/check.mjs`): no console error, no network request, bars and stories counted,
//! a filter applied, zoomed, a story opened by clicking its bar, screenshots at 1280×800 under
//! target/report-screenshots/, and a hostile log's names shown as text with no script run.
//! Once enabled, a missing Node, browser or package is a failure, not a skip.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use regex::Regex;
use serde_json::{json, Value};

use ktrail::render::html::csp_hash;
use ktrail_corpus::{generate, Spec};

use crate::util::{ktrail, root};

const SAMPLES: [&str; 9] = [
    "denied",
    "eks-fargate",
    "eviction",
    "failed-open",
    "graceful-delete",
    "istio-irsa",
    "reinvocation",
    "replicaset-generatename",
    "statefulset-recreate",
];

/// Names that would run script, inject markup or links, or reorder text, if written raw.
const HOSTILE: [&str; 7] = [
    "<script>window.__pwned=1</script>",
    "x\" onmouseover=\"window.__pwned=1\" y=\"",
    "javascript:window.__pwned=1",
    "<img src=x onerror=window.__pwned=1>",
    "</title><svg onload=window.__pwned=1>",
    "\u{202e}lmth.exe",
    "a' onfocus='window.__pwned=1' autofocus='",
];

/// How ktrail shows a hostile name: bidirectional controls as visible escapes.
fn shown(name: &str) -> String {
    ktrail_core::escape::escape(name).into_owned()
}

/// The pods of `timeline -o json` over the same input.
fn timeline_pods(input: &[&str]) -> Vec<Value> {
    let doc = crate::util::timeline_json(input, None);
    doc["pods"].as_array().unwrap().clone()
}

fn report(args: &[&str]) -> String {
    let out = ktrail().arg("report").args(args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn count(html: &str, needle: &str) -> usize {
    html.matches(needle).count()
}

fn between<'a>(html: &'a str, open: &str, close: &str) -> Vec<&'a str> {
    html.split(open)
        .skip(1)
        .map(|rest| &rest[..rest.find(close).expect("element is closed")])
        .collect()
}

/// What every report must be: one style and one script of its own, allowed by their hashes in a
/// policy that fetches nothing; data only as JSON that cannot close its element; links only to
/// fragments of the document; no event-handler attribute; and a bar and a story per incarnation.
fn assert_self_contained(html: &str, pods: usize, stories: usize, what: &str) {
    let csp = Regex::new(r#"<meta http-equiv="Content-Security-Policy" content="([^"]*)">"#)
        .unwrap()
        .captures(html)
        .unwrap_or_else(|| panic!("{what}: no CSP meta tag"))[1]
        .to_owned();
    assert!(csp.starts_with("default-src 'none';"), "{what}: {csp}");
    assert!(!csp.contains("unsafe"), "{what}: {csp}");
    let styles = between(html, "<style>", "</style>");
    assert_eq!(styles.len(), 1, "{what}: one style element");
    assert!(
        csp.contains(&format!("style-src {};", csp_hash(styles[0]))),
        "{what}: {csp}"
    );
    let scripts = between(html, "<script>", "</script>");
    assert_eq!(scripts.len(), 1, "{what}: one script element");
    assert!(
        csp.contains(&format!("script-src {};", csp_hash(scripts[0]))),
        "{what}: {csp}"
    );
    let data = between(
        html,
        "<script type=\"application/json\" id=\"ktrail-data\">",
        "</script>",
    );
    assert_eq!(data.len(), 1, "{what}: one data block");
    assert!(
        !data[0].contains(['<', '>', '&', '\u{2028}', '\u{2029}']),
        "{what}: data block"
    );
    let data: Value = serde_json::from_str(data[0]).unwrap();
    assert_eq!(
        count(html, "<script"),
        1 + count(html, "<script type=\"application/json\""),
        "{what}: scripts"
    );
    for bad in [
        "<img",
        "<iframe",
        "<object",
        "<embed",
        "<link",
        "<base",
        "<foreignObject",
        " style=\"",
    ] {
        assert!(!html.contains(bad), "{what}: {bad} in the report");
    }
    let links = Regex::new(r#"\s(href|src|action|xlink:href|formaction)="([^"]*)""#).unwrap();
    for c in links.captures_iter(html) {
        assert!(c[2].starts_with('#'), "{what}: {}={:?}", &c[1], &c[2]);
    }
    // No tag has a handler attribute. Log text never holds a raw `<`, so every `<` starts a tag
    // of the report's; inside one, quoted values are dropped before looking.
    let tag = Regex::new(r"<[a-zA-Z][^>]*>").unwrap();
    let quoted = Regex::new(r#""[^"]*""#).unwrap();
    let handler = Regex::new(r"(?i)\son[a-z]+\s*=").unwrap();
    for t in tag.find_iter(html) {
        let bare = quoted.replace_all(t.as_str(), "\"\"");
        assert!(
            !handler.is_match(&bare),
            "{what}: handler in {}",
            t.as_str()
        );
    }
    assert_eq!(
        count(html, "<g class=\"lane\""),
        pods,
        "{what}: swimlane bars"
    );
    assert_eq!(
        data["pods"].as_array().unwrap().len(),
        pods,
        "{what}: data lanes"
    );
    assert_eq!(
        count(html, "<section class=\"story\""),
        stories,
        "{what}: stories"
    );
}

#[test]
fn every_sample_gives_a_self_contained_report_with_every_incarnation() {
    for s in SAMPLES {
        let pods = timeline_pods(&["--sample", s]).len();
        assert!(pods > 0, "{s}");
        let html = report(&["--sample", s]);
        assert_self_contained(&html, pods, pods, s);
        assert!(html.contains("<section id=\"overview\">"), "{s}");
        assert!(html.contains("<section id=\"webhooks\">"), "{s}");
        assert!(html.contains("class=\"seq\""), "{s}: sequence diagrams");
    }
    let html = report(&["--sample", "failed-open"]);
    let failed_open = Regex::new(r#"id="count-failed-open">(\d+)<"#).unwrap();
    assert_ne!(
        &failed_open.captures(&html).unwrap()[1],
        "0",
        "failed-open calls counted"
    );
    let html = report(&["--sample", "denied"]);
    assert!(
        html.contains("class=\"denied\""),
        "denied creates are marked"
    );
}

/// A log whose every name is hostile: namespaces, pod names, users, user agents, schedulers,
/// nodes, webhooks and their configurations, labels and denial messages.
fn hostile_log() -> String {
    let mut lines = Vec::new();
    let n = HOSTILE.len();
    for (k, name) in HOSTILE.iter().enumerate() {
        let other = HOSTILE[(k + 1) % n];
        let third = HOSTILE[(k + 2) % n];
        let ns = if k % 2 == 0 { "shop" } else { other };
        let t = |s: usize| format!("2024-05-01T10:{:02}:{:02}.000000Z", k, s);
        let ev = |id: String, verb: &str, sec: usize, sub: Option<&str>, extra: Value| {
            let mut e = json!({
                "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
                "auditID": id, "stage": "ResponseComplete", "verb": verb,
                "requestURI": "/api/v1/namespaces/x/pods",
                "user": {"username": other}, "userAgent": third,
                "objectRef": {"resource": "pods", "namespace": ns, "name": name, "subresource": sub},
                "responseStatus": {"code": 200},
                "requestReceivedTimestamp": t(sec), "stageTimestamp": t(sec),
            });
            for (key, v) in extra.as_object().unwrap() {
                e[key] = v.clone();
            }
            e.to_string()
        };
        let mut labels = serde_json::Map::new();
        labels.insert(third.into(), other.into());
        let patch = json!([{"op": "add", "path": "/metadata/labels", "value": labels}]);
        lines.push(ev(
            format!("c{k}"),
            "create",
            0,
            None,
            json!({
                "responseStatus": {"code": 201},
                "requestObject": {"kind": "Pod", "metadata": {"name": name}, "spec": {"containers": [{"name": third, "image": other}]}},
                "responseObject": {"kind": "Pod", "metadata": {"name": name, "uid": format!("u-{k}"), "labels": labels},
                    "spec": {"containers": [{"name": third, "image": other}], "schedulerName": other}},
                "annotations": {
                    "mutation.webhook.admission.k8s.io/round_0_index_0":
                        json!({"configuration": third, "webhook": name, "mutated": true}).to_string(),
                    "patch.webhook.admission.k8s.io/round_0_index_0":
                        json!({"configuration": third, "webhook": name, "patch": patch, "patchType": "JSONPatch"}).to_string(),
                    "failed-open.mutation.webhook.admission.k8s.io/round_1_index_1": other,
                }
            }),
        ));
        lines.push(ev(
            format!("b{k}"),
            "create",
            2,
            Some("binding"),
            json!({"requestObject": {"kind": "Binding", "target": {"name": third}}}),
        ));
        lines.push(ev(
            format!("s{k}"),
            "patch",
            5,
            Some("status"),
            json!({"requestObject": {"status": {"phase": name,
                "conditions": [{"type": "Ready", "status": "True"}]}}}),
        ));
        lines.push(ev(
            format!("d{k}"),
            "create",
            30,
            None,
            json!({"responseStatus": {"code": 400, "message": format!("admission webhook \"{other}\" denied the request: {third}")},
                   "objectRef": {"resource": "pods", "namespace": ns, "name": format!("{name}-2")}}),
        ));
    }
    lines.join("\n") + "\n"
}

fn write_hostile(dir: &Path) -> PathBuf {
    let path = dir.join("hostile.jsonl");
    std::fs::write(&path, hostile_log()).unwrap();
    path
}

#[test]
fn hostile_names_are_text() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_hostile(dir.path());
    let log = log.to_str().unwrap();
    let pods = timeline_pods(&["-f", log]).len();
    assert_eq!(pods, 2 * HOSTILE.len());
    let html = report(&["-f", log]);
    assert_self_contained(&html, pods, pods, "hostile");
    // Outside the JSON blocks (where `'` needs no escape), plain text (`javascript:…`) may stand
    // as it is; a name with markup or bidi characters may not.
    let markup = Regex::new(r#"(?s)<script type="application/json"[^>]*>.*?</script>"#)
        .unwrap()
        .replace_all(&html, "");
    for name in HOSTILE {
        if name.contains(['<', '>', '"', '\'', '&', '\u{202e}']) {
            assert!(!markup.contains(name), "{name:?} written raw");
        }
    }
    for bad in ["<svg onload", "<img", "\u{202e}", "href=\"javascript"] {
        assert!(!html.contains(bad), "{bad:?} in the report");
    }
    // Each name is there, as escaped text.
    for name in HOSTILE {
        let text = shown(name)
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;");
        assert!(html.contains(&text), "{text:?} missing");
    }
}

fn corpus(dir: &Path, pods: usize, noise_per_pod: usize) -> PathBuf {
    let path = dir.join(format!("corpus-{pods}.jsonl"));
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    generate(&Spec::stories(7, pods, noise_per_pod), &mut f).unwrap();
    f.flush().unwrap();
    path
}

#[test]
fn beyond_max_stories_the_swimlane_stays_whole_and_the_report_says_what_it_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let log = corpus(dir.path(), 300, 2);
    let log = log.to_str().unwrap();
    let pods = timeline_pods(&["-f", log]);
    let html = report(&["-f", log, "--max-stories", "40"]);
    assert_self_contained(&html, pods.len(), 40, "300 pods, 40 stories");
    let left = Regex::new(r"The stories of the other (\d+) are left out")
        .unwrap()
        .captures(&html)
        .expect("the report says what it left out")[1]
        .parse::<usize>()
        .unwrap();
    assert_eq!(left, pods.len() - 40);
    // The slowest to become Ready have their stories.
    let slowest = pods
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p["latencies"]["createdToReady"].as_f64().map(|l| (l, i)))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap()
        .1;
    assert!(html.contains(&format!("id=\"story-{slowest}\"")));
    assert!(html.contains(&format!("<a href=\"#story-{slowest}\">")));
    // Lanes without a story link nowhere.
    assert_eq!(count(&html, "<a href=\"#story-"), 40);
}

/// The timeline's pods and the report of a generated 2,000-pod log, made once for the tests that
/// look at it (a debug build takes seconds for each).
fn two_thousand_pods() -> &'static (Vec<Value>, String) {
    static MADE: std::sync::OnceLock<(Vec<Value>, String)> = std::sync::OnceLock::new();
    MADE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let log = corpus(dir.path(), 2000, 0);
        let log = log.to_str().unwrap();
        (timeline_pods(&["-f", log]), report(&["-f", log]))
    })
}

#[test]
fn two_thousand_pods_make_a_report_under_ten_megabytes() {
    let (pods, html) = two_thousand_pods();
    let pods = pods.len();
    assert!(pods >= 2000, "{pods}");
    assert!(html.len() < 10_000_000, "{} bytes", html.len());
    assert_self_contained(html, pods, pods, "2000 pods");
}

#[test]
fn output_file_is_written_beside_its_target_and_renamed_into_place() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("r.html");
    let t = target.to_str().unwrap();
    let run = |args: &[&str]| ktrail().arg("report").args(args).output().unwrap();
    let out = run(&["--sample", "eks-fargate", "-O", t]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let first = std::fs::read_to_string(&target).unwrap();
    assert!(first.starts_with("<!DOCTYPE html>") && first.ends_with("</html>\n"));
    // An existing file is refused, and left alone.
    let out = run(&["--sample", "denied", "--output-file", t]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), first);
    // --force replaces it.
    let out = run(&["--sample", "denied", "-O", t, "--force"]);
    assert_eq!(out.status.code(), Some(0));
    assert_ne!(std::fs::read_to_string(&target).unwrap(), first);
    // Nothing but the report is left in the directory.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["r.html"]);
    // `-` is standard output.
    let out = run(&["--sample", "denied", "-O", "-"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.starts_with(b"<!DOCTYPE html>"));
    // A directory that does not exist is an error, and creates nothing.
    let missing = dir.path().join("no/such/dir/r.html");
    let out = run(&["--sample", "denied", "-O", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.path().join("no").exists());
    // --force without a file is a usage error.
    let out = run(&["--sample", "denied", "--force"]);
    assert_eq!(out.status.code(), Some(2));
    // No pod matched: the report is still written, and the exit code says so.
    let none = dir.path().join("none.html");
    let out = run(&[
        "--sample",
        "denied",
        "-n",
        "nope",
        "-O",
        none.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(none.exists());
}

fn browser_enabled(test: &str) -> bool {
    let on = std::env::var("KTRAIL_TEST_BROWSER").is_ok_and(|v| v == "1");
    if !on {
        eprintln!(
            "{test}: skipped (set KTRAIL_TEST_BROWSER=1 after `npm ci` in tests/report, with /usr/bin/chromium installed)"
        );
    }
    on
}

/// The most common namespace among `pods`: its index in the report's sorted list of namespaces
/// (the filter's option value) and its number of incarnations.
fn namespace_filter(pods: &[Value]) -> Value {
    let mut per: BTreeMap<&str, usize> = BTreeMap::new();
    for p in pods {
        *per.entry(p["namespace"].as_str().unwrap()).or_default() += 1;
    }
    let (index, count) = per
        .values()
        .enumerate()
        .max_by_key(|(i, n)| (**n, std::cmp::Reverse(*i)))
        .map(|(i, n)| (i, *n))
        .unwrap();
    json!({"select": "f-ns", "value": index.to_string(), "count": count})
}

#[test]
fn reports_work_in_headless_chromium() {
    if !browser_enabled("reports_work_in_headless_chromium") {
        return;
    }
    let checker = root().join("tests/report");
    assert!(
        checker.join("node_modules/puppeteer-core").is_dir(),
        "KTRAIL_TEST_BROWSER=1 but puppeteer-core is not installed: run `npm ci` in {}",
        checker.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let shots = root().join("target/report-screenshots");
    let mut cases = Vec::new();
    let mut add = |name: &str, pods: &[Value], made: &str, hostile: bool, max_ms: Option<u64>| {
        let html = dir.path().join(format!("{name}.html"));
        std::fs::write(&html, made).unwrap();
        let mut case = json!({
            "name": name, "html": html, "lanes": pods.len(), "stories": pods.len(),
            "filter": namespace_filter(pods), "screenshots": shots,
        });
        if hostile {
            case["hostile"] = json!(HOSTILE.iter().map(|h| shown(h)).collect::<Vec<_>>());
        }
        if let Some(ms) = max_ms {
            case["maxInteractiveMs"] = json!(ms);
        }
        cases.push(case);
    };
    let mut inputs: Vec<(String, Vec<String>, bool)> = SAMPLES
        .iter()
        .map(|s| (s.to_string(), vec!["--sample".into(), s.to_string()], false))
        .collect();
    let log = corpus(dir.path(), 300, 2);
    inputs.push((
        "corpus-300".into(),
        vec!["-f".into(), log.display().to_string()],
        false,
    ));
    let log = write_hostile(dir.path());
    inputs.push((
        "hostile".into(),
        vec!["-f".into(), log.display().to_string()],
        true,
    ));
    for (name, input, hostile) in &inputs {
        let input: Vec<&str> = input.iter().map(String::as_str).collect();
        add(
            name,
            &timeline_pods(&input),
            &report(&input),
            *hostile,
            None,
        );
    }
    let (pods, html) = two_thousand_pods();
    add("corpus-2000", pods, html, false, Some(2000));
    let manifest = dir.path().join("manifest.json");
    std::fs::write(&manifest, serde_json::to_vec_pretty(&cases).unwrap()).unwrap();
    let (status, said) =
        crate::util::node(&checker, "check.mjs", [&manifest], "KTRAIL_TEST_BROWSER");
    eprintln!("{said}");
    assert!(status.success(), "{said}");
    assert!(shots.join("eks-fargate-overview.png").is_file());
}
