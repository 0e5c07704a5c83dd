//! Outputs that never destroy data or pass for complete, CloudWatch endpoints that cannot make a
//! run hang, and a closed standard error that ends nothing with a panic.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::ktrail;

const EVENT: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a1","stage":"ResponseComplete","verb":"get","requestURI":"/api/v1/namespaces/x/pods/p","user":{"username":"u"},"sourceIPs":["10.0.0.1"],"objectRef":{"resource":"pods","namespace":"x","name":"p"},"requestReceivedTimestamp":"2024-05-01T10:00:00.000000Z","stageTimestamp":"2024-05-01T10:00:00.000000Z"}"#;

fn bin() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("ktrail")
}

fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = ktrail().current_dir(dir).args(args).output().unwrap();
    (
        out.status.code().expect("an exit code, not a signal"),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn a_hard_link_of_the_input_is_not_written_over() {
    let d = tempfile::tempdir().unwrap();
    let log = format!("{EVENT}\n");
    std::fs::write(d.path().join("f.jsonl"), &log).unwrap();
    std::fs::hard_link(d.path().join("f.jsonl"), d.path().join("h.jsonl")).unwrap();
    std::os::unix::fs::symlink("f.jsonl", d.path().join("s.jsonl")).unwrap();
    for target in ["h.jsonl", "s.jsonl", "./f.jsonl"] {
        for force in [false, true] {
            let mut args = vec!["redact", "-f", "f.jsonl", "-O", target];
            if force {
                args.push("--force");
            }
            let (code, err) = run(d.path(), &args);
            assert_eq!(code, 2, "{target} {force}: {err}");
            assert!(err.contains("is the input"), "{err}");
            assert_eq!(
                std::fs::read_to_string(d.path().join("f.jsonl")).unwrap(),
                log,
                "{target}"
            );
        }
    }
}

#[test]
fn an_existing_output_is_refused_unless_forced() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("in.jsonl"), format!("{EVENT}\n")).unwrap();
    std::fs::write(d.path().join("out.jsonl"), "keep me\n").unwrap();
    let (code, err) = run(d.path(), &["redact", "-f", "in.jsonl", "-O", "out.jsonl"]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "ktrail: out.jsonl exists; give --force to replace it\n"
    );
    assert_eq!(
        std::fs::read_to_string(d.path().join("out.jsonl")).unwrap(),
        "keep me\n"
    );
    let (code, err) = run(
        d.path(),
        &["redact", "-f", "in.jsonl", "-O", "out.jsonl", "--force"],
    );
    assert_eq!(code, 0, "{err}");
    let red = std::fs::read_to_string(d.path().join("out.jsonl")).unwrap();
    assert!(
        red.contains("\"auditID\":\"a1\"") && !red.contains("10.0.0.1"),
        "{red}"
    );
    assert!(!d.path().join("out.jsonl.partial").exists());
}

#[test]
fn the_output_is_compressed_by_its_extension_and_the_old_flag_still_works() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("in.jsonl"), format!("{EVENT}\n")).unwrap();
    let (code, err) = run(
        d.path(),
        &["redact", "-f", "in.jsonl", "-O", "out.jsonl.gz"],
    );
    assert_eq!(code, 0, "{err}");
    let gz = std::fs::read(d.path().join("out.jsonl.gz")).unwrap();
    assert_eq!(&gz[..2], &[0x1f, 0x8b]);
    let (code, err) = run(
        d.path(),
        &["redact", "-f", "in.jsonl", "-O", "out.jsonl.zst"],
    );
    assert_eq!(code, 0, "{err}");
    let zs = std::fs::read(d.path().join("out.jsonl.zst")).unwrap();
    let plain = String::from_utf8(zstd::decode_all(&zs[..]).unwrap()).unwrap();
    assert!(plain.contains("\"auditID\":\"a1\""));
    let (code, err) = run(d.path(), &["redact", "-f", "in.jsonl", "-o", "old.jsonl"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        err,
        "ktrail: redact -o/--output FILE is deprecated; use -O/--output-file FILE\n"
    );
    assert!(d.path().join("old.jsonl").exists());
}

/// A `redact` killed while writing leaves no file under the target's name: at most
/// `NAME.partial`, which is not a whole archive.
#[test]
fn a_killed_run_leaves_no_complete_looking_file() {
    let d = tempfile::tempdir().unwrap();
    let fifo = d.path().join("in.fifo");
    let ok = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(ok.success());
    let target = d.path().join("out.jsonl.gz");
    let mut child = Command::new(bin())
        .current_dir(d.path())
        .args(["redact", "-f", "in.fifo", "-O", "out.jsonl.gz"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Opened once by the existence check and twice by the two passes; each sees what is written
    // to it before the writer closes it.
    let line = format!("{EVENT}\n");
    let open_and_write = |lines: usize, close: bool| {
        // Lets the process close the read end of the open before, so this open meets the next.
        std::thread::sleep(Duration::from_millis(300));
        let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
        for _ in 0..lines {
            w.write_all(line.as_bytes()).unwrap();
        }
        if close {
            None
        } else {
            Some(w)
        }
    };
    open_and_write(0, true);
    open_and_write(1, true);
    // The writing pass: enough lines that compressed bytes reach the partial file, then the
    // process is killed while its input is still open.
    let partial = d.path().join("out.jsonl.gz.partial");
    let w = open_and_write(0, false).unwrap();
    let mut w = Some(w);
    let start = Instant::now();
    let mut n = 0;
    while std::fs::metadata(&partial).map(|m| m.len()).unwrap_or(0) == 0 {
        let w = w.as_mut().unwrap();
        // Lines that compress poorly, so that compressed bytes soon leave the buffers.
        for _ in 0..200 {
            n += 1;
            let noise: String = (0..40)
                .map(|i| format!("{:x}", (n as u64 * 2654435761 + i * 40503) % 65521))
                .collect();
            let line = EVENT.replace("a1", &format!("a{n}")).replace(
                "\"user\":{\"username\":\"u\"}",
                &format!("\"user\":{{\"username\":\"u{noise}\"}}"),
            );
            w.write_all(line.as_bytes()).unwrap();
            w.write_all(b"\n").unwrap();
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "nothing written"
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();
    drop(w.take());
    assert!(!target.exists(), "a killed run left {}", target.display());
    let bytes = std::fs::read(&partial).unwrap();
    let mut s = String::new();
    let r = flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut s);
    assert!(r.is_err(), "the partial file is a whole archive");
}

/// A local server that accepts connections and never answers.
fn stalled_endpoint() -> (String, std::thread::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let h = std::thread::spawn(move || {
        let mut held = Vec::new();
        l.set_nonblocking(true).unwrap();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            match l.accept() {
                Ok((s, _)) => held.push(s),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    (format!("http://{addr}"), h)
}

fn cloudwatch(args: &[&str], dir: &Path) -> (i32, String, Duration) {
    let start = Instant::now();
    let out = ktrail()
        .current_dir(dir)
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        start.elapsed(),
    )
}

#[test]
fn a_stalled_endpoint_is_an_error_within_the_timeout_and_the_recording_is_kept() {
    let d = tempfile::tempdir().unwrap();
    let (endpoint, _server) = stalled_endpoint();
    std::fs::write(d.path().join("rec.jsonl"), "an earlier recording\n").unwrap();
    let (code, err, took) = cloudwatch(
        &[
            "fetch",
            "--cluster",
            "c",
            "--endpoint-url",
            &endpoint,
            "--timeout",
            "2s",
            "-O",
            "rec.jsonl",
            "--force",
        ],
        d.path(),
    );
    assert_eq!(code, 2, "{err}");
    assert_eq!(
        err,
        format!(
            "ktrail: CloudWatch Logs endpoint {endpoint} did not answer DescribeLogGroups within 2s (--timeout)\n"
        )
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_eq!(
        std::fs::read_to_string(d.path().join("rec.jsonl")).unwrap(),
        "an earlier recording\n"
    );
    assert!(!d.path().join("rec.jsonl.partial").exists());
    // The timeline reads through the same client.
    let (code, err, took) = cloudwatch(
        &[
            "timeline",
            "--cluster",
            "c",
            "--endpoint-url",
            &endpoint,
            "--timeout",
            "1s",
        ],
        d.path(),
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("did not answer") && err.contains(&endpoint),
        "{err}"
    );
    assert!(took < Duration::from_secs(8), "took {took:?}");
}

#[test]
fn a_closed_port_and_an_unknown_host_fail_fast_with_a_sentence() {
    let d = tempfile::tempdir().unwrap();
    // A port that was just free: nothing listens on it.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let closed = format!("http://127.0.0.1:{port}");
    for (endpoint, says) in [
        (closed.as_str(), "Connection refused"),
        ("http://ktrail-test.invalid", "ktrail-test.invalid"),
    ] {
        let (code, err, took) = cloudwatch(
            &[
                "fetch",
                "--cluster",
                "c",
                "--endpoint-url",
                endpoint,
                "-O",
                "x.jsonl",
            ],
            d.path(),
        );
        assert_eq!(code, 2, "{err}");
        assert!(
            err.starts_with(&format!(
                "ktrail: cannot reach CloudWatch Logs endpoint {endpoint} (DescribeLogGroups): "
            )) && err.contains(says)
                && err.lines().count() == 1,
            "{err}"
        );
        assert!(took < Duration::from_secs(15), "{endpoint} took {took:?}");
        assert!(!d.path().join("x.jsonl").exists());
        assert!(!d.path().join("x.jsonl.partial").exists());
    }
}

/// `ktrail timeline -f log 2>&1 >/dev/null | head -1`: standard error closed before anything is
/// written to it.
#[test]
fn a_closed_standard_error_is_no_panic() {
    let mut child = Command::new(bin())
        .args(["timeline", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let mut stdin = child.stdin.take().unwrap();
    for i in 0..3000 {
        let _ = writeln!(stdin, "not an audit event {i}");
    }
    drop(stdin);
    let status = child.wait().unwrap();
    let code = status.code().expect("an exit code");
    assert!(matches!(code, 0..=2), "exit {code}");
}
