//! `ktrail redact`: a redacted log holds none of the original secrets, keys, account ids, ARNs or
//! addresses, and tells the same story (pods, uids, webhooks, paths, event kinds) as the original.

use std::path::Path;

use serde_json::{json, Value};

const ACCOUNT: &str = "111122223333";
const OTHER_ACCOUNT: &str = "444455556666";
const ROLE_ARN: &str = "arn:aws:iam::111122223333:role/shop-cart-dynamodb";
const SESSION: &str = "alice.smith@example.com";
const ACCESS_KEY: &str = "ASIAZZZZYYYYXXXXWWWW";
const PRINCIPAL: &str = "AROAZZZZYYYYXXXXWWWWV";
const DB_PASSWORD: &str = "correct-horse-battery-staple";
const API_KEY: &str = "sk_live_51HxYzAbCdEf";
const SECRET_B64: &str = "c3VwZXItc2VjcmV0LXZhbHVl";
const SECRET_PLAIN: &str = "plain-text-secret-value";
const JWT: &str =
    "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEyMyJ9.eyJhdWQiOlsic3RzLmFtYXpvbmF3cy5jb20iXX0.Zm9vYmFyYmF6";
const NODE_IP: &str = "10.0.36.201";
const POD_IP: &str = "10.0.38.74";
const CLIENT_IP: &str = "198.18.250.3";
const CLIENT_IP6: &str = "2600:1f14:abc:de00::17";
const POD_IP6: &str = "fd5e:1234:abcd::9";
const UID: &str = "2f4e6c1a-9b8d-4c3e-a1f0-123456789abc";

fn ts(s: u32) -> String {
    format!("2024-05-01T10:00:{s:02}.000000Z")
}

fn event(id: &str, verb: &str, sec: u32, sub: Option<&str>, code: u32, extra: Value) -> String {
    let mut e = json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
        "auditID": id, "stage": "ResponseComplete", "verb": verb,
        "requestURI": "/api/v1/namespaces/shop/pods",
        "user": {"username": "kubernetes-admin", "uid": format!("aws-iam-authenticator:{ACCOUNT}:{PRINCIPAL}"),
                 "groups": ["system:masters", "system:authenticated"],
                 "extra": {"accessKeyId": [ACCESS_KEY],
                           "arn": [format!("arn:aws:sts::{ACCOUNT}:assumed-role/Admin/{SESSION}")],
                           "canonicalArn": [format!("arn:aws:iam::{ACCOUNT}:role/Admin")],
                           "principalId": [format!("{PRINCIPAL}:{SESSION}")],
                           "sessionName": [SESSION],
                           "sigs.k8s.io/aws-iam-authenticator/principalId": [PRINCIPAL]}},
        "sourceIPs": [CLIENT_IP, CLIENT_IP6],
        "userAgent": "kubectl/v1.29.1 (linux/amd64) kubernetes/bc401b9",
        "objectRef": {"resource": "pods", "namespace": "shop", "name": "cart-0", "apiVersion": "v1", "subresource": sub},
        "responseStatus": {"metadata": {}, "code": code},
        "requestReceivedTimestamp": ts(sec), "stageTimestamp": ts(sec),
    });
    for (k, v) in extra.as_object().unwrap() {
        e[k] = v.clone();
    }
    e.to_string()
}

fn pod(with_uid: bool) -> Value {
    let env = json!([{"name": "DB_PASSWORD", "value": DB_PASSWORD}, {"name": "API_KEY", "value": API_KEY},
                     {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]);
    let mut p = json!({"kind": "Pod", "apiVersion": "v1",
        "metadata": {"name": "cart-0", "namespace": "shop", "labels": {"app": "cart"},
                     "annotations": {"kubectl.kubernetes.io/last-applied-configuration":
                        json!({"kind": "Pod", "spec": {"containers": [{"name": "cart", "env": env}]}}).to_string()}},
        "spec": {"serviceAccountName": "cart",
                 "containers": [{"name": "cart", "image": format!("{OTHER_ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com/shop/cart:1.4.2"), "env": env}]}});
    if with_uid {
        p["metadata"]["uid"] = UID.into();
        p["spec"]["schedulerName"] = "default-scheduler".into();
        p["spec"]["containers"][0]["env"]
            .as_array_mut()
            .unwrap()
            .extend([
                json!({"name": "AWS_ROLE_ARN", "value": ROLE_ARN}),
                json!({"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"}),
            ]);
    }
    p
}

/// A pod story with everything a company would not share, plus a Secret, a token request and
/// lines that cannot be redacted.
fn sensitive_log() -> String {
    let irsa_patch = json!([
        {"op": "add", "path": "/spec/containers/0/env/-", "value": {"name": "AWS_ROLE_ARN", "value": ROLE_ARN}},
        {"op": "add", "path": "/spec/containers/0/env/-", "value": {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"}},
    ]);
    let lines = [
        event("c1", "create", 0, None, 201, json!({
            "requestObject": pod(false), "responseObject": pod(true),
            "annotations": {
                "mutation.webhook.admission.k8s.io/round_0_index_0": json!({"configuration": "pod-identity-webhook", "webhook": "iam-for-pods.amazonaws.com", "mutated": true}).to_string(),
                "patch.webhook.admission.k8s.io/round_0_index_0": json!({"configuration": "pod-identity-webhook", "webhook": "iam-for-pods.amazonaws.com", "patch": irsa_patch, "patchType": "JSONPatch"}).to_string(),
            }})),
        event("b1", "create", 1, Some("binding"), 201, json!({
            "requestObject": {"kind": "Binding", "metadata": {"name": "cart-0", "uid": UID},
                              "target": {"kind": "Node", "name": "ip-10-0-36-201.us-west-2.compute.internal"}}})),
        event("s1", "patch", 3, Some("status"), 200, json!({
            "user": {"username": "system:node:ip-10-0-36-201.us-west-2.compute.internal"},
            "sourceIPs": [NODE_IP],
            "requestObject": {"metadata": {"uid": UID}, "status": {"hostIP": NODE_IP, "podIP": POD_IP,
                "podIPs": [{"ip": POD_IP}, {"ip": POD_IP6}], "phase": "Running",
                "conditions": [{"type": "Ready", "status": "True"}]}}})),
        event("e1", "create", 5, Some("exec"), 101, json!({
            "requestURI": format!("/api/v1/namespaces/shop/pods/cart-0/exec?command=curl&command=-H&command=Authorization%3A+Bearer+{JWT}&command=http%3A%2F%2F{POD_IP}%3A8080&container=cart")})),
        event("t1", "create", 6, Some("token"), 201, json!({
            "objectRef": {"resource": "serviceaccounts", "namespace": "shop", "name": "cart", "subresource": "token"},
            "responseObject": {"kind": "TokenRequest", "status": {"token": JWT, "expirationTimestamp": "2024-05-02T10:00:00Z"}}})),
        event("x1", "create", 7, None, 201, json!({
            "objectRef": {"resource": "secrets", "namespace": "shop", "name": "db"},
            "requestObject": {"kind": "Secret", "metadata": {"name": "db"}, "data": {"password": SECRET_B64}, "stringData": {"token": SECRET_PLAIN}},
            "responseObject": {"kind": "Secret", "metadata": {"name": "db", "uid": "s-1"}, "data": {"password": SECRET_B64, "token": SECRET_B64}}})),
        event("d1", "delete", 9, None, 200, json!({"requestObject": {"kind": "DeleteOptions", "gracePeriodSeconds": 30}})),
        json!({"timestamp": 1714557600000u64, "message": event("d1", "delete", 9, None, 200, json!({}))}).to_string(),
        format!("I0501 10:00:00.000000      10 handler.go:1] request from {CLIENT_IP} with key {ACCESS_KEY}"),
        format!("{}[Truncated...]", &event("c2", "create", 8, None, 201, json!({"requestObject": pod(false)}))[..600]),
    ];
    lines.join("\n") + "\n"
}

fn ktrail(dir: &Path, args: &[&str]) -> (i32, Vec<u8>, String) {
    crate::util::run_raw(crate::util::ktrail().current_dir(dir).args(args))
}

/// What the timeline's structure is made of: pods and uids, webhook calls and their paths,
/// built-in changes, and per event its kind, request and changed paths.
fn structure(report: &Value) -> Value {
    let pods: Vec<Value> = report["pods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            json!({
                "pod": [p["namespace"], p["name"], p["uid"], p["denied"], p["deniedBy"]],
                "webhooks": p["webhooks"].as_array().unwrap().iter()
                    .map(|w| json!([w["type"], w["round"], w["index"], w["configuration"], w["webhook"], w["mutated"], w["failedOpen"], w["paths"]]))
                    .collect::<Vec<_>>(),
                "builtin": p["builtinChanges"],
                "times": [p["createdAt"], p["boundAt"], p["readyAt"], p["deletedAt"], p["deletedVia"]],
                "events": p["events"].as_array().unwrap().iter()
                    .map(|e| json!([e["time"], e["kind"], e["verb"], e["subresource"], e["auditID"], e["stage"], e["code"],
                        e["changes"].as_array().unwrap().iter().map(|c| json!([c["path"], c["op"], c["by"] == "built-in admission"])).collect::<Vec<_>>()]))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({"pods": pods, "summary": report["summary"]})
}

fn timeline(dir: &Path, file: &str) -> Value {
    let (code, out, err) = ktrail(dir, &["timeline", "-f", file, "-o", "json"]);
    assert!(code == 0, "{file}: {err}");
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn a_redacted_log_keeps_the_story_and_none_of_the_secrets() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("in.jsonl"), sensitive_log()).unwrap();
    let (code, out, err) = ktrail(d.path(), &["redact", "-f", "in.jsonl", "-O", "out.jsonl"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty());
    assert_eq!(
        err,
        "in.jsonl:9: not JSON (expected value at column 1); line dropped\n\
         in.jsonl:10: event c2 was truncated by CloudWatch Logs (over 256 KB); line dropped\n\
         ktrail: dropped 2 of 10 lines\n"
    );
    let red = std::fs::read_to_string(d.path().join("out.jsonl")).unwrap();
    assert_eq!(red.lines().count(), 8);
    for original in [
        ACCOUNT,
        OTHER_ACCOUNT,
        ROLE_ARN,
        SESSION,
        "alice.smith",
        ACCESS_KEY,
        PRINCIPAL,
        DB_PASSWORD,
        API_KEY,
        SECRET_B64,
        SECRET_PLAIN,
        JWT,
        &JWT[..20],
        NODE_IP,
        POD_IP,
        CLIENT_IP,
        CLIENT_IP6,
        POD_IP6,
        "ip-10-0-36-201",
        "10-0-36-201",
        "2600:1f14",
        "fd5e:",
        "sk_live",
    ] {
        assert!(
            !red.contains(original),
            "{original} is still in the redacted log"
        );
    }
    // Masks keep their shape: ARNs, ECR registries, node names, addresses.
    for shaped in [
        "arn:aws:sts::000000000001:assumed-role/Admin/redacted-session-1",
        "000000000002.dkr.ecr.us-west-2.amazonaws.com/shop/cart:1.4.2",
        "ip-192-0-2-2.us-west-2.compute.internal",
        "\"hostIP\":\"192.0.2.2\"",
        "\"sourceIPs\":[\"192.0.2.1\",\"2001:db8::1\"]",
        "\"accessKeyId\":[\"ASIAREDACTED00000001\"]",
    ] {
        assert!(red.contains(shaped), "{shaped} not in {red}");
    }
    let before = structure(&timeline(d.path(), "in.jsonl"));
    let after = structure(&timeline(d.path(), "out.jsonl"));
    assert_eq!(before["pods"], after["pods"]);
    assert!(
        !before["pods"][0]["webhooks"].as_array().unwrap().is_empty(),
        "the fixture has a webhook call: {before:#}"
    );
    assert!(!before["pods"][0]["builtin"].as_array().unwrap().is_empty());
    // The redacted log reads cleanly: the two dropped lines are the only difference.
    assert_eq!(before["summary"]["linesSkipped"], 2);
    assert_eq!(after["summary"]["linesSkipped"], 0);
    assert_eq!(
        before["summary"]["podEvents"],
        after["summary"]["podEvents"]
    );
}

#[test]
fn every_sample_keeps_its_structure_when_redacted() {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let Ok(entries) = std::fs::read_dir(&samples) else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let mut n = 0;
    for e in entries {
        let p = e.unwrap().path();
        if p.extension().and_then(|x| x.to_str()) != Some("jsonl") {
            continue;
        }
        n += 1;
        let out = d.path().join(p.file_name().unwrap());
        let (code, _, err) = ktrail(
            d.path(),
            &[
                "redact",
                "-f",
                p.to_str().unwrap(),
                "-O",
                out.to_str().unwrap(),
            ],
        );
        assert_eq!(code, 0, "{err}");
        assert!(err.is_empty(), "{}: {err}", p.display());
        let before = structure(&timeline(d.path(), p.to_str().unwrap()));
        let after = structure(&timeline(d.path(), out.to_str().unwrap()));
        assert_eq!(before, after, "{}", p.display());
        // Same input, same output: masks depend only on the file.
        let (_, again, _) = ktrail(d.path(), &["redact", "-f", p.to_str().unwrap()]);
        assert_eq!(again, std::fs::read(&out).unwrap());
    }
    assert!(n > 0 || std::fs::read_dir(&samples).is_err());
}

#[test]
fn standard_input_compression_and_refusals() {
    let d = tempfile::tempdir().unwrap();
    let log = sensitive_log();
    let out = crate::util::ktrail()
        .args(["redact", "-f", "-"])
        .write_stdin(log.clone())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .starts_with("-:9: not JSON"));
    let plain = out.stdout;
    assert!(!String::from_utf8_lossy(&plain).contains(DB_PASSWORD));
    // A gzip file gives the same result.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, log.as_bytes()).unwrap();
    std::fs::write(d.path().join("in.jsonl.gz"), gz.finish().unwrap()).unwrap();
    let (code, from_gz, _) = ktrail(d.path(), &["redact", "-f", "in.jsonl.gz"]);
    assert_eq!(code, 0);
    assert_eq!(from_gz, plain);
    // Writing over the input, or reading a directory, is refused.
    std::fs::write(d.path().join("in.jsonl"), &log).unwrap();
    let (code, _, err) = ktrail(d.path(), &["redact", "-f", "in.jsonl", "-O", "./in.jsonl"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is the input"), "{err}");
    assert_eq!(
        std::fs::read_to_string(d.path().join("in.jsonl")).unwrap(),
        log
    );
    let (code, _, err) = ktrail(d.path(), &["redact", "-f", "."]);
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = ktrail(d.path(), &["redact", "-f", "missing.jsonl"]);
    assert_eq!(code, 2);
}

#[test]
fn a_json_document_is_redacted_whole() {
    let d = tempfile::tempdir().unwrap();
    let ev: Value = serde_json::from_str(sensitive_log().lines().next().unwrap()).unwrap();
    let doc = serde_json::to_string_pretty(&json!({"events": [{"logStreamName": "kube-apiserver-audit-1", "timestamp": 1, "message": ev.to_string()}]})).unwrap();
    std::fs::write(d.path().join("doc.json"), doc).unwrap();
    let (code, out, err) = ktrail(d.path(), &["redact", "-f", "doc.json", "-O", "red.json"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty() && err.is_empty(), "{err}");
    let red = std::fs::read_to_string(d.path().join("red.json")).unwrap();
    assert_eq!(red.lines().count(), 1);
    assert!(!red.contains(DB_PASSWORD) && !red.contains(ACCOUNT));
    let before = structure(&timeline(d.path(), "doc.json"));
    let after = structure(&timeline(d.path(), "red.json"));
    assert_eq!(before["pods"], after["pods"]);
}

/// Every kind of value the redaction once let through, planted where Kubernetes and AWS put it.
/// Each planted value is listed with the line it is in; none may be left in the output, in any
/// spelling a reader would recognise.
fn planted_secrets() -> (String, Vec<&'static str>) {
    const EARLY_ACCOUNT: &str = "510987654321";
    const FIPS_ACCOUNT: &str = "210987654321";
    const DUAL_ACCOUNT: &str = "310987654321";
    const ENCODED_ACCOUNT: &str = "410987654321";
    const MF_IP: &str = "10.1.88.44";
    const BASIC: &str = "Basic dXNlcjpzM2NyZXQtcGFzcw==";
    const PROXY: &str = "Basic cHJveHk6cHJveHktcGFzcw==";
    const API_KEY_HDR: &str = "k3y-0f-the-pr0be-api";
    const EC2_PUBLIC: &str = "ec2-54-201-33-7.compute-1.amazonaws.com";
    const DASHED: &str = "172-31-9-250";
    const EKS_TOKEN: &str =
        "k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8_QWN0aW9uPUdldENhbGxlcklkZW50aXR5";
    const TR_SESSION: &str = "bob-session-7731";
    const TR_UID: &str = "aws-iam-authenticator:510987654321:AROAQQQQRRRRSSSSTTTTU";
    const SAR_UID: &str = "sar-user-uid-88f1c2";
    const SAR_SESSION: &str = "carol-sar-session";
    const ARG_PASSWORD: &str = "Tr0ub4dor-and-3";
    const ARG_SPLIT: &str = "split-flag-secret-value";
    const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const MALFORMED_ENV: &str = "value-of-a-malformed-op";
    const DEBUG_POD_IP: &str = "10-0-1-7";
    let ev = |id: &str, extra: Value| -> String {
        let mut e = json!({"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
            "auditID": id, "stage": "ResponseComplete", "verb": "create",
            "user": {"username": "system:node:x"}, "sourceIPs": ["192.0.2.10"],
            "objectRef": {"resource": "pods", "namespace": "shop", "name": "cart-0"},
            "requestReceivedTimestamp": "2024-05-01T10:00:00.000000Z", "stageTimestamp": "2024-05-01T10:00:00.000000Z"});
        for (k, v) in extra.as_object().unwrap() {
            e[k] = v.clone();
        }
        e.to_string()
    };
    let lines = [
        // An account named before any ARN reveals it (a label, then an ARN three lines later).
        ev(
            "acct-early",
            json!({"requestObject": {"kind": "Pod", "metadata": {"name": "cart-0",
            "labels": {"billing-account": EARLY_ACCOUNT}}}}),
        ),
        // managedFields keys written by the kubelet's status updates, beside the masked podIP.
        ev(
            "mf",
            json!({"verb": "patch", "objectRef": {"resource": "pods", "namespace": "shop", "name": "cart-0", "subresource": "status"},
            "responseObject": {"kind": "Pod", "metadata": {"name": "cart-0", "managedFields": [{"manager": "kubelet", "operation": "Update",
                "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {"f:podIPs": {".": {}, format!("k:{{\"ip\":\"{MF_IP}\"}}"): {".": {}, "f:ip": {}}}}}}]},
                "status": {"podIP": MF_IP, "podIPs": [{"ip": MF_IP}]}}}),
        ),
        // Probe and lifecycle headers; registries of every form; container arguments.
        ev(
            "probe",
            json!({"requestObject": {"kind": "Pod", "metadata": {"name": "cart-0"}, "spec": {"containers": [{
            "name": "cart",
            "image": format!("{FIPS_ACCOUNT}.dkr.ecr-fips.us-gov-west-1.amazonaws.com/shop/cart:1"),
            "args": ["--listen=:8080", format!("--password={ARG_PASSWORD}"), "--db-password", ARG_SPLIT,
                     format!("--aws-secret-access-key={SECRET_KEY}")],
            "command": ["sh", "-c", format!("AWS_SECRET_ACCESS_KEY={SECRET_KEY} exec app")],
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080, "httpHeaders": [
                {"name": "Authorization", "value": BASIC},
                {"name": "Proxy-Authorization", "value": PROXY},
                {"name": "x-api-key", "value": API_KEY_HDR},
                {"name": "Accept", "value": "application/json"}]}}},
            {"name": "sidecar", "image": format!("{DUAL_ACCOUNT}.dkr-ecr.us-east-1.on.aws/tools/sidecar:2")}]}}}),
        ),
        ev(
            "arn",
            json!({"requestURI": format!("/apis/x/v1/things?role=arn%3Aaws%3Aiam%3A%3A{ENCODED_ACCOUNT}%3Arole%2Fapp"),
            "requestObject": {"kind": "ConfigMap", "data": {"role": format!("arn:aws:iam::{EARLY_ACCOUNT}:role/cart")}}}),
        ),
        // Public EC2 names and dashed addresses without `ip-`.
        ev(
            "ec2",
            json!({"requestObject": {"kind": "Binding", "target": {"kind": "Node", "name": EC2_PUBLIC}},
            "responseObject": {"kind": "Status", "message": format!("node {DASHED}.nip.io is ready")}}),
        ),
        // TokenReview and SubjectAccessReview bodies.
        ev(
            "tr",
            json!({"objectRef": {"resource": "tokenreviews", "apiGroup": "authentication.k8s.io"},
            "requestObject": {"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1", "spec": {"token": EKS_TOKEN}},
            "responseObject": {"kind": "TokenReview", "spec": {"token": EKS_TOKEN}, "status": {"authenticated": true, "user": {
                "username": "kubernetes-admin", "uid": TR_UID, "groups": ["system:masters"],
                "extra": {"sessionName": [TR_SESSION], "accessKeyId": ["ASIAQQQQRRRRSSSSTTTT"]}}}}}),
        ),
        ev(
            "sar",
            json!({"objectRef": {"resource": "subjectaccessreviews", "apiGroup": "authorization.k8s.io"},
            "requestObject": {"kind": "SubjectAccessReview", "spec": {"user": "carol", "uid": SAR_UID, "groups": ["devs"],
                "extra": {"sessionName": [SAR_SESSION]}, "resourceAttributes": {"verb": "get", "resource": "pods"}}}}),
        ),
        // A JSON Patch with one malformed op (no path) that still carries an env value.
        ev(
            "patch",
            json!({"verb": "patch", "requestObject": [
            {"op": "add", "path": "/metadata/labels/x", "value": "y"},
            {"op": "add", "value": {"name": "DB_PASSWORD", "value": MALFORMED_ENV}}]}),
        ),
        // A debug pod named after its node: the name holds the node's address.
        ev(
            "debug",
            json!({"objectRef": {"resource": "pods", "namespace": "default", "name": format!("node-debugger-ip-{DEBUG_POD_IP}.ec2.internal-x7k2p")}}),
        ),
    ];
    let planted = vec![
        EARLY_ACCOUNT,
        FIPS_ACCOUNT,
        DUAL_ACCOUNT,
        ENCODED_ACCOUNT,
        MF_IP,
        BASIC,
        "dXNlcjpzM2NyZXQtcGFzcw",
        PROXY,
        "cHJveHk6cHJveHktcGFzcw",
        API_KEY_HDR,
        EC2_PUBLIC,
        "54-201-33-7",
        DASHED,
        EKS_TOKEN,
        "aHR0cHM6Ly9zdHM",
        TR_SESSION,
        TR_UID,
        "AROAQQQQRRRRSSSSTTTTU",
        "ASIAQQQQRRRRSSSSTTTT",
        SAR_UID,
        SAR_SESSION,
        ARG_PASSWORD,
        ARG_SPLIT,
        SECRET_KEY,
        MALFORMED_ENV,
        DEBUG_POD_IP,
    ];
    (lines.join("\n") + "\n", planted)
}

#[test]
fn every_planted_secret_is_gone() {
    let d = tempfile::tempdir().unwrap();
    let (log, planted) = planted_secrets();
    for original in &planted {
        assert!(log.contains(original), "{original} is planted");
    }
    std::fs::write(d.path().join("in.jsonl"), &log).unwrap();
    let (code, out, err) = ktrail(d.path(), &["redact", "-f", "in.jsonl"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "{err}");
    let red = String::from_utf8(out).unwrap();
    assert_eq!(red.lines().count(), log.lines().count());
    // The same values in the other spellings of an address.
    let other_forms = ["10-1-88-44", "54.201.33.7", "172.31.9.250", "10.0.1.7"];
    let left: Vec<&&str> = planted
        .iter()
        .chain(&other_forms)
        .filter(|p| red.contains(**p))
        .collect();
    assert!(left.is_empty(), "left in the output: {left:?}\n{red}");
    // Standard input is read twice too: an account named before its ARN is masked there as well.
    let out = crate::util::ktrail()
        .args(["redact", "-f", "-"])
        .write_stdin(log.clone())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), red);
    // Masks keep what the story needs: the kept header, the registry's shape, the patched path.
    for kept in [
        "application/json",
        ".dkr.ecr-fips.us-gov-west-1.amazonaws.com/shop/cart:1",
        ".dkr-ecr.us-east-1.on.aws/tools/sidecar:2",
        "\"path\":\"/metadata/labels/x\"",
        "--listen=:8080",
        "\"username\":\"kubernetes-admin\"",
    ] {
        assert!(red.contains(kept), "{kept} not in {red}");
    }
    // The managedFields key and the podIP it stands beside get the same mask.
    let mf = red.lines().nth(1).unwrap();
    let v: Value = serde_json::from_str(mf).unwrap();
    let ip = v["responseObject"]["status"]["podIP"].as_str().unwrap();
    assert!(
        mf.contains(&format!("k:{{\\\"ip\\\":\\\"{ip}\\\"}}")),
        "{mf}"
    );
    // `--account` masks an id that nothing in the input reveals.
    let (code, out, _) = ktrail(
        d.path(),
        &["redact", "-f", "in.jsonl", "--account", "999988887777"],
    );
    assert_eq!(code, 0);
    assert_eq!(String::from_utf8(out).unwrap().lines().count(), 9);
    let (code, _, err) = ktrail(d.path(), &["redact", "-f", "in.jsonl", "--account", "12"]);
    assert_eq!(code, 2, "{err}");
}
