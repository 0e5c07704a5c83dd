//! Writes a generated EKS audit log and, optionally, its expected answer.
//!
//! ```text
//! cargo run --release -p ktrail-corpus --bin gen-corpus -- --size 1.4GB --seed 1 --out big.jsonl \
//!     [--expected big.expected.json] [--pods N] [--noise-per-pod N]
//! ```
//!
//! Sizes take KB, MB and GB suffixes (powers of 1000). One summary line goes to stderr.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;
use std::time::Instant;

use ktrail_corpus::{generate, Spec};

const USAGE: &str = "usage: gen-corpus --out FILE [--size SIZE] [--seed N] [--pods N] [--noise-per-pod N] [--expected FILE]";

fn parse_size(s: &str) -> Option<u64> {
    let up = s.trim().to_ascii_uppercase();
    let (num, mult) = [("GB", 1e9), ("MB", 1e6), ("KB", 1e3), ("B", 1.0)]
        .iter()
        .find_map(|(suf, m)| up.strip_suffix(suf).map(|n| (n.to_owned(), *m)))
        .unwrap_or((up.clone(), 1.0));
    let n: f64 = num.trim().parse().ok()?;
    (n.is_finite() && n > 0.0).then_some((n * mult) as u64)
}

struct Args {
    spec: Spec,
    out: String,
    expected: Option<String>,
}

fn parse(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut spec = Spec::default();
    let (mut out, mut expected) = (None, None);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let bad = |v: &str| format!("{flag}: bad value {v:?}");
        match flag.as_str() {
            "--size" => {
                let v = value()?;
                spec.target_bytes = Some(parse_size(&v).ok_or_else(|| bad(&v))?);
            }
            "--seed" => {
                let v = value()?;
                spec.seed = v.parse().map_err(|_| bad(&v))?;
            }
            "--pods" => {
                let v = value()?;
                spec.pods = v.parse().map_err(|_| bad(&v))?;
            }
            "--noise-per-pod" => {
                let v = value()?;
                spec.noise_per_pod = v.parse().map_err(|_| bad(&v))?;
            }
            "--out" => out = Some(value()?),
            "--expected" => expected = Some(value()?),
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(Args {
        spec,
        out: out.ok_or(USAGE)?,
        expected,
    })
}

fn run(args: Args) -> Result<String, String> {
    let started = Instant::now();
    let file = File::create(&args.out).map_err(|e| format!("{}: {e}", args.out))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let expected = generate(&args.spec, &mut w)
        .and_then(|e| w.flush().map(|_| e))
        .map_err(|e| format!("{}: {e}", args.out))?;
    if let Some(path) = &args.expected {
        let text = serde_json::to_string_pretty(&expected).map_err(|e| e.to_string())? + "\n";
        std::fs::write(path, text).map_err(|e| format!("{path}: {e}"))?;
    }
    let bytes = std::fs::metadata(&args.out).map(|m| m.len()).unwrap_or(0);
    let secs = started.elapsed().as_secs_f64();
    Ok(format!(
        "gen-corpus: wrote {} ({} bytes, {} lines, {} incarnations, {} pod events) in {secs:.1}s ({:.0} MB/s)",
        args.out,
        bytes,
        expected.lines,
        expected.pods.len(),
        expected.pod_events,
        bytes as f64 / 1e6 / secs.max(1e-9),
    ))
}

fn main() -> ExitCode {
    match parse(std::env::args().skip(1)).and_then(run) {
        Ok(summary) => {
            eprintln!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen-corpus: {e}");
            ExitCode::from(2)
        }
    }
}
