//! `-f s3://BUCKET/PREFIX` against the moto server `scripts/test.sh` starts (it serves S3 as well
//! as CloudWatch Logs; `AWS_ENDPOINT_URL_S3` points the SDK at it). The test uploads the trees of
//! `archives` (both S3 layouts, and the other forms), a prefix of more objects than one list page
//! holds, and objects that are not audit logs, then holds every read from S3 to the answer the
//! same files give on disk; and each error a user meets is one sentence and exit 2.
//!
//! Without KTRAIL_TEST_MOTO_PORT these tests print a note and return.

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use serde_json::Value;

use crate::archives::{answer, corpus_lines, timeline, write_forms};

const BUCKET: &str = "ktrail-archives";
/// At least this many objects under the `many/` prefix: more than one ListObjectsV2 page (1,000
/// keys).
const MANY: usize = 1_100;

fn endpoint() -> Option<String> {
    match std::env::var("KTRAIL_TEST_MOTO_PORT") {
        Ok(port) => Some(format!("http://127.0.0.1:{port}")),
        Err(_) => {
            eprintln!(
                "note: KTRAIL_TEST_MOTO_PORT is not set; run scripts/test.sh to run the S3 tests"
            );
            None
        }
    }
}

fn sdk(endpoint: &str) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::Config::builder()
        .http_client(ktrail_cloudwatch::aws::https_client())
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .force_path_style(true)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// `ktrail` against the emulator, with credentials and endpoint from the environment as a user
/// has them, and nothing that could reach a real account.
fn ktrail(endpoint: &str) -> Command {
    let mut c = crate::util::ktrail_for_emulator();
    c.env_remove("AWS_ENDPOINT_URL")
        .env("AWS_ENDPOINT_URL_S3", endpoint);
    c
}

fn run(c: &mut Command) -> (i32, Value, String) {
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn s3_timeline(endpoint: &str, sources: &[&str], extra: &[&str]) -> (i32, Value, String) {
    let mut c = ktrail(endpoint);
    c.arg("timeline");
    for s in sources {
        c.args(["-f", s]);
    }
    run(c.args(["-o", "json"]).args(extra))
}

/// What was uploaded: the local forms (name, local path, S3 location).
struct Uploaded {
    _dir: tempfile::TempDir,
    forms: Vec<(&'static str, String, String)>,
    plain: Value,
}

/// Uploads every file below `dir` (or the file) under `prefix`, keys relative to `dir`.
async fn upload(client: &aws_sdk_s3::Client, local: &Path, prefix: &str) {
    let mut files = Vec::new();
    if local.is_dir() {
        let mut stack = vec![local.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p
                        .strip_prefix(local)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned();
                    files.push((format!("{prefix}{rel}"), p));
                }
            }
        }
    } else {
        let name = local.file_name().unwrap().to_string_lossy().into_owned();
        files.push((format!("{prefix}{name}"), local.to_path_buf()));
    }
    put_all(
        client,
        files
            .into_iter()
            .map(|(k, p)| (k, std::fs::read(p).unwrap()))
            .collect(),
    )
    .await;
}

async fn put_all(client: &aws_sdk_s3::Client, objects: Vec<(String, Vec<u8>)>) {
    for batch in objects.chunks(32) {
        let mut set = tokio::task::JoinSet::new();
        for (key, body) in batch.iter().cloned() {
            let c = client.clone();
            set.spawn(async move {
                c.put_object()
                    .bucket(BUCKET)
                    .key(key)
                    .body(ByteStream::from(body))
                    .send()
                    .await
                    .unwrap();
            });
        }
        while let Some(r) = set.join_next().await {
            r.unwrap();
        }
    }
}

/// Uploads once for every test of this module.
fn uploaded(endpoint: &str) -> &'static Uploaded {
    static UP: OnceLock<Uploaded> = OnceLock::new();
    UP.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let lines = corpus_lines();
        let forms = write_forms(dir.path(), &lines);
        let rt = tokio::runtime::Runtime::new().unwrap();
        let client = sdk(endpoint);
        let mut out = Vec::new();
        rt.block_on(async {
            let _ = client.create_bucket().bucket(BUCKET).send().await;
            for (i, (name, path)) in forms.iter().enumerate() {
                let prefix = format!("forms/{i}/");
                upload(&client, path, &prefix).await;
                out.push((
                    *name,
                    path.to_string_lossy().into_owned(),
                    format!("s3://{BUCKET}/{prefix}"),
                ));
            }
            // More objects than one list page, each a few lines of the log, in key order.
            let per = (lines.len() / MANY).max(1);
            let many: Vec<(String, Vec<u8>)> = lines
                .chunks(per)
                .enumerate()
                .map(|(i, c)| {
                    (
                        format!("many/part-{i:05}.jsonl"),
                        (c.join("\n") + "\n").into_bytes(),
                    )
                })
                .collect();
            assert!(many.len() > 1000, "{}", many.len());
            put_all(&client, many).await;
            // Objects that are not audit logs beside an export tree.
            put_all(
                &client,
                vec![
                    (
                        "junk/README.txt".into(),
                        b"exported by the platform team\n".to_vec(),
                    ),
                    (
                        "junk/exportedlogs/aws-logs-write-test".into(),
                        b"Permission Check Successful".to_vec(),
                    ),
                    (
                        "junk/exportedlogs/t/authenticator-1/000000.gz".into(),
                        b"not even gzip".to_vec(),
                    ),
                ],
            )
            .await;
        });
        let (code, plain, stderr) = timeline(&[&out[0].1], &[]);
        assert_eq!(code, 0, "{stderr}");
        Uploaded {
            _dir: dir,
            forms: out,
            plain,
        }
    })
}

#[test]
fn every_form_read_from_s3_gives_the_local_answer() {
    let Some(ep) = endpoint() else { return };
    let up = uploaded(&ep);
    for (name, local, url) in &up.forms {
        let (code, got, stderr) = s3_timeline(&ep, &[url], &[]);
        assert_eq!(code, 0, "{name}: {stderr}");
        assert!(stderr.is_empty(), "{name}: {stderr}");
        let (_, from_disk, _) = timeline(&[local], &[]);
        assert!(
            answer(&got) == answer(&from_disk),
            "{name}: not the local answer"
        );
        assert!(
            answer(&got) == answer(&up.plain),
            "{name}: not the plain answer"
        );
    }
}

#[test]
fn listing_goes_past_one_page_and_s3_mixes_with_files() {
    let Some(ep) = endpoint() else { return };
    let up = uploaded(&ep);
    let many = format!("s3://{BUCKET}/many/");
    let (code, got, stderr) = s3_timeline(&ep, &[&many], &["--concurrency", "8"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        answer(&got) == answer(&up.plain),
        "many objects: another answer"
    );

    // Half of the story from S3, the other half (and all of it again) from disk: duplicates of
    // overlapping exports count once.
    let export = &up.forms[1];
    let (code, got, stderr) = s3_timeline(&ep, &[&export.2, &up.forms[0].1], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(answer(&got) == answer(&up.plain), "mixed: another answer");
    assert!(got["summary"]["duplicates"].as_u64().unwrap() > 0);

    // `check` reads the same sources.
    let rules = up._dir.path().join("rules.yaml");
    std::fs::write(&rules, "rules:\n  - name: anything\n    pods: {namespace: \"*\"}\n    forbid:\n      failedOpen: true\n").unwrap();
    let mut c = ktrail(&ep);
    let out = c
        .args([
            "check",
            "--rules",
            rules.to_str().unwrap(),
            "-f",
            &export.2,
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.code() != Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn objects_that_are_not_audit_logs_are_reported_or_passed_over() {
    let Some(ep) = endpoint() else { return };
    uploaded(&ep);
    let junk = format!("s3://{BUCKET}/junk/");
    let (code, _, stderr) = s3_timeline(&ep, &[&junk], &[]);
    // README.txt is a bad line; the write test and the authenticator stream are not read.
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!("s3://{BUCKET}/junk/README.txt:1: not JSON")),
        "{stderr}"
    );
    assert!(!stderr.contains("authenticator"), "{stderr}");
    assert!(!stderr.contains("aws-logs-write-test"), "{stderr}");
}

#[test]
fn firehose_hours_outside_the_window_are_not_read() {
    let Some(ep) = endpoint() else { return };
    uploaded(&ep);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = ktrail_s3::Client::new(sdk(&ep), &ep);
    let url = ktrail_s3::S3Url::parse(&format!("s3://{BUCKET}/forms/3/")).unwrap();
    let t = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    let all = rt
        .block_on(ktrail_s3::list(&client, &url, None, None))
        .unwrap();
    assert!(all.objects.len() > 1);
    let late = rt
        .block_on(ktrail_s3::list(
            &client,
            &url,
            Some(t("2024-05-01T13:30:00Z")),
            None,
        ))
        .unwrap();
    let early = rt
        .block_on(ktrail_s3::list(
            &client,
            &url,
            None,
            Some(t("2024-05-01T08:30:00Z")),
        ))
        .unwrap();
    assert!(late.objects.len() < all.objects.len(), "{late:?}");
    assert!(late.outside_window > 0);
    assert!(early.objects.is_empty(), "{early:?}");
    // Objects written now cannot hold events of a window that ended long before; they can hold
    // events of one that begins before now.
    let many = ktrail_s3::S3Url::parse(&format!("s3://{BUCKET}/many/")).unwrap();
    let future = chrono::Utc::now() + chrono::Duration::hours(3);
    let none = rt
        .block_on(ktrail_s3::list(&client, &many, Some(future), None))
        .unwrap();
    assert!(
        none.objects.is_empty() && none.listed > 1000,
        "{}",
        none.listed
    );
}

#[test]
fn each_error_is_one_sentence_and_exit_2() {
    let Some(ep) = endpoint() else { return };
    uploaded(&ep);
    let err = |c: &mut Command| {
        let (code, _, stderr) = run(c);
        assert_eq!(code, 2, "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        stderr
    };
    let s = err(ktrail(&ep).args(["timeline", "-f", "s3://ktrail-no-such-bucket/x/"]));
    assert!(
        s.contains("bucket ktrail-no-such-bucket does not exist"),
        "{s}"
    );
    let s = err(ktrail(&ep).args(["timeline", "-f", &format!("s3://{BUCKET}/nothing-here/")]));
    assert!(
        s.contains(&format!("s3://{BUCKET}/nothing-here/ holds no objects")),
        "{s}"
    );
    let s = err(ktrail(&ep).args(["timeline", "-f", "s3://Bad_Bucket/x"]));
    assert!(s.contains("is not an S3 location"), "{s}");
    let s = err(ktrail(&ep)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .args(["timeline", "-f", &format!("s3://{BUCKET}/many/")]));
    assert!(s.contains("no AWS credentials found"), "{s}");
    // Nothing listens on port 9: the error names the endpoint, within seconds.
    let start = Instant::now();
    let s = err(ktrail(&ep)
        .env("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
        .args(["timeline", "-f", &format!("s3://{BUCKET}/many/")]));
    assert!(s.contains("cannot reach http://127.0.0.1:9"), "{s}");
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
}
