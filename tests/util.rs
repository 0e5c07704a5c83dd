//! What every integration test needs: the ktrail binary the tests were built with, the
//! project's root for its samples and fixtures, and the few ways the tests run the binary and
//! read what it gave.

use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

use ktrail_corpus::{generate, Expected, Spec};

/// The `ktrail` binary of this build.
pub fn ktrail() -> Command {
    Command::cargo_bin("ktrail").expect("the ktrail binary is built with the tests")
}

/// The project's root directory (samples/, tests/).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The recorded samples' directory.
pub fn samples_dir() -> PathBuf {
    root().join("samples")
}

/// The recorded samples by name (`samples/NAME.jsonl`), sorted.
pub fn sample_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(samples_dir())
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().into_string().ok()?;
            n.strip_suffix(".jsonl").map(str::to_owned)
        })
        .collect();
    names.sort();
    names
}

/// Holds `answer` of every sample to its reviewed file `samples/NAME.SUFFIX`: fails naming the
/// samples that differ (printing what they gave), or with `KTRAIL_BLESS` set rewrites the files.
pub fn every_sample_matches(suffix: &str, answer: impl Fn(&str) -> Value) {
    let names = sample_names();
    assert!(names.len() >= 9, "samples missing: {names:?}");
    let bless = std::env::var_os("KTRAIL_BLESS").is_some();
    let mut failed = Vec::new();
    for name in &names {
        let got = answer(name);
        let path = samples_dir().join(format!("{name}.{suffix}"));
        if bless {
            let text = serde_json::to_string_pretty(&got).unwrap() + "\n";
            std::fs::write(&path, text).unwrap();
            continue;
        }
        let want: Value = serde_json::from_str(
            &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        )
        .unwrap();
        if got != want {
            failed.push(name.clone());
            eprintln!(
                "--- {name}: got\n{}",
                serde_json::to_string_pretty(&got).unwrap()
            );
        }
    }
    assert!(
        failed.is_empty(),
        "samples differ from their {suffix} files: {failed:?}"
    );
}

/// A command line's arguments, split at spaces.
pub fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// Runs `cmd` to its end: (exit code, stdout, stderr). A run killed by a signal fails the test,
/// and so does stderr that is not UTF-8.
pub fn run_raw(cmd: &mut Command) -> (i32, Vec<u8>, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().expect("exited, not killed by a signal"),
        out.stdout,
        String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    )
}

/// [`run_raw`] with stdout as text (it must be UTF-8).
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let (code, out, err) = run_raw(cmd);
    (code, String::from_utf8(out).expect("stdout is UTF-8"), err)
}

/// The stdout of a run that must exit 0; the failure message holds the command and its stderr.
pub fn success(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The stdout of a run that must exit 0, as JSON.
pub fn json_of(cmd: &mut Command) -> Value {
    let out = success(cmd);
    serde_json::from_slice(&out)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out)))
}

/// `ktrail` with the emulator's credentials in the environment, as a user has them, and nothing
/// from this machine's AWS configuration; the caller adds the endpoint.
pub fn ktrail_for_emulator() -> Command {
    let mut c = ktrail();
    c.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        // The emulator finishes a Logs Insights query at once: no half-second waits.
        .env("KTRAIL_QUERY_POLL", "10ms");
    c
}

/// Runs the Node script `dir/script` with `args`, in `dir` (a checker whose packages `npm ci`
/// installed there): its exit status and what it said on stdout and stderr. `enabled_by` is the
/// variable that turned the test on, for the failure when node cannot be run.
pub fn node<S: AsRef<std::ffi::OsStr>>(
    dir: &Path,
    script: &str,
    args: impl IntoIterator<Item = S>,
    enabled_by: &str,
) -> (std::process::ExitStatus, String) {
    let out = std::process::Command::new("node")
        .arg(dir.join(script))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{enabled_by}=1 but `node` cannot be run: {e}"));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status, said)
}

/// `timeline ARGS -o json` (with `stdin` as standard input), which must exit 0.
pub fn timeline_json(args: &[&str], stdin: Option<Vec<u8>>) -> Value {
    let mut cmd = ktrail();
    cmd.arg("timeline").args(args).args(["-o", "json"]);
    if let Some(s) = stdin {
        cmd.write_stdin(s);
    }
    json_of(&mut cmd)
}

/// The moto server that `scripts/test.sh` starts and loads, and the data it was loaded with.
pub struct Moto {
    pub port: String,
    pub since: String,
    pub until: String,
    /// The loaded audit lines, for the offline comparison.
    pub jsonl: PathBuf,
}

/// The moto server of this test run, or `None` (with a note) when KTRAIL_TEST_MOTO_PORT is not set.
pub fn moto() -> Option<Moto> {
    let Ok(port) = std::env::var("KTRAIL_TEST_MOTO_PORT") else {
        eprintln!(
            "note: KTRAIL_TEST_MOTO_PORT is not set; run scripts/test.sh to run the moto tests"
        );
        return None;
    };
    let dir = PathBuf::from(std::env::var("KTRAIL_TEST_MOTO_DATA").expect("KTRAIL_TEST_MOTO_DATA"));
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("manifest.json")).expect("manifest"),
    )
    .expect("json");
    let s = |k: &str| manifest[k].as_str().expect("string").to_string();
    Some(Moto {
        port,
        since: s("since"),
        until: s("until"),
        jsonl: dir.join("audit.jsonl"),
    })
}

impl Moto {
    /// `ktrail` against the emulator: credentials and endpoint from the environment, as a user
    /// has them, and nothing from this machine's AWS configuration.
    pub fn ktrail(&self) -> Command {
        let mut c = ktrail_for_emulator();
        c.env(
            "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
            format!("http://127.0.0.1:{}", self.port),
        );
        c
    }

    /// `--since` and `--until` of the loaded data.
    pub fn window(&self) -> [&str; 4] {
        ["--since", &self.since, "--until", &self.until]
    }

    /// The loaded audit lines' path, as an argument.
    pub fn file(&self) -> &str {
        self.jsonl.to_str().unwrap()
    }
}

/// A temporary file holding `text`.
pub fn temp_file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

/// Writes the corpus of `spec` to `dir/audit.jsonl`; its path and the generator's answer.
pub fn write_corpus(dir: &Path, spec: &Spec) -> (PathBuf, Expected) {
    let path = dir.join("audit.jsonl");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let expected = generate(spec, &mut file).unwrap();
    file.flush().unwrap();
    (path, expected)
}

/// The string at `key` of each item of the array `list`.
pub fn strs<'v>(list: &'v Value, key: &str) -> Vec<&'v str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item[key].as_str().unwrap())
        .collect()
}

/// The strings at `a` and `b` of each item of the array `list`, as pairs.
fn string_pairs(list: &Value, a: &str, b: &str) -> Vec<(String, String)> {
    strs(list, a)
        .into_iter()
        .zip(strs(list, b))
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect()
}

/// A webhook row's installs, as (verb, user).
pub fn installs(row: &Value) -> Vec<(String, String)> {
    string_pairs(&row["installed"], "verb", "user")
}

/// A report's pods, as (namespace, name, uid).
pub fn pod_ids(report: &Value) -> Vec<(String, String, Value)> {
    let pods = &report["pods"];
    string_pairs(pods, "namespace", "name")
        .into_iter()
        .zip(pods.as_array().unwrap())
        .map(|((ns, name), p)| (ns, name, p["uid"].clone()))
        .collect()
}
