//! What a command says when its selection matched no pod: why, and the way out (the nearest
//! names, the namespaces that hold the name, the uids that start with the one given, the time
//! range a window left out). The help comes from a second, broad pass over the same inputs, run
//! only here, after the first found nothing; standard input cannot be read twice, and CloudWatch
//! Logs is not queried twice, so for them the help says what it can without one.

use std::path::Path;

use anyhow::Result;
use chrono::{DateTime, Utc};

use ktrail_core::audit::format_time;
use ktrail_core::escape::escape;
use ktrail_core::record::Selection;
use ktrail_core::suggest::{suggest, Hint, WindowOf};

use super::{cloudwatch, exit, input};
use crate::options::Inputs;

/// Prints why `sel` matched nothing in `inputs`, with suggestions; the exit code is 1.
pub fn explain(inputs: &Inputs, sel: &Selection) -> Result<u8> {
    let mut lines = vec![match describe(sel) {
        d if d.is_empty() => "no pod matched".to_string(),
        d => format!("no pod matched {d}"),
    }];
    if inputs.cloudwatch.is_set() {
        let src = cloudwatch::source(&inputs.cloudwatch, sel);
        lines.push(format!(
            "CloudWatch Logs was read from {} to {}: widen the window with --since/--until; names \
             are suggested only for files and samples",
            format_time(&src.since),
            format_time(&src.until)
        ));
    } else if inputs.files.iter().any(|f| f == "-") {
        lines.push(
            "standard input cannot be read again, so no names are suggested: save it to a file \
             and give -f FILE to get them"
                .into(),
        );
    } else if let Some(pipe) = inputs.files.iter().find(|f| !rereadable(f)) {
        lines.push(format!(
            "{pipe} cannot be read again, so no names are suggested: save it to a file and give \
             -f FILE to get them"
        ));
    } else if let Ok(census) = input::census(inputs, sel) {
        let hints = suggest(&census, sel);
        if hints.is_empty() {
            lines.push("`ktrail pods` with the same inputs lists every pod they hold".into());
        }
        lines.extend(hints.iter().map(|h| hint(h, sel)));
    }
    if let Some(p) = pod_as_path(sel) {
        lines.push(format!(
            "POD {p:?} is also a path here: did you mean -f {p}?"
        ));
    }
    for l in lines {
        eprintln!("{}", escape(&format!("ktrail: {l}")));
    }
    Ok(exit::PROBLEM)
}

/// The selection in words: `ns/name`, `name`, `namespace ns`, then uid and window.
fn describe(sel: &Selection) -> String {
    let mut parts = Vec::new();
    match (&sel.namespace, &sel.name) {
        (Some(ns), Some(n)) => parts.push(format!("{ns}/{n}")),
        (None, Some(n)) => parts.push(format!("{n} (in any namespace)")),
        (Some(ns), None) => parts.push(format!("in namespace {ns}")),
        (None, None) => {}
    }
    if let Some(u) = &sel.uid {
        parts.push(format!("with uid {u}"));
    }
    if let Some(w) = window(sel) {
        parts.push(w);
    }
    parts.join(" ")
}

fn window(sel: &Selection) -> Option<String> {
    let t = |t: &DateTime<Utc>| format_time(t);
    match (&sel.since, &sel.until) {
        (Some(s), Some(u)) => Some(format!("between {} and {}", t(s), t(u))),
        (Some(s), None) => Some(format!("since {}", t(s))),
        (None, Some(u)) => Some(format!("until {}", t(u))),
        (None, None) => None,
    }
}

fn hint(h: &Hint, sel: &Selection) -> String {
    let pod = |(ns, n): &(String, String)| format!("{ns}/{n}");
    match h {
        Hint::NoPodEvents => "the input holds no pod event at all".into(),
        Hint::Window { of, first, last } => {
            let whose = match of {
                WindowOf::Input => "the input's pod events".into(),
                WindowOf::Pod(ns, n) => format!("the events of {ns}/{n}"),
                WindowOf::Selected(n) => format!("the events of the {n} pods selected"),
            };
            format!(
                "{whose} run from {} to {}, outside the window ({})",
                format_time(first),
                format_time(last),
                window(sel).unwrap_or_default()
            )
        }
        Hint::NameElsewhere { name, namespaces } => match namespaces.as_slice() {
            [one] => format!("a pod named {name} is in namespace {one}: {one}/{name}"),
            many => format!("pods named {name} are in namespaces {}", many.join(", ")),
        },
        Hint::NearestNames(names) => format!(
            "nearest pod names: {}",
            names.iter().map(pod).collect::<Vec<_>>().join(", ")
        ),
        Hint::Namespaces { nearest, names } => {
            let ns = sel.namespace.as_deref().unwrap_or_default();
            let which = if *nearest {
                "nearest namespaces with pods"
            } else {
                "namespaces with pods"
            };
            format!("namespace {ns} holds no pod; {which}: {}", names.join(", "))
        }
        Hint::Uids(uids) => format!(
            "uids starting with {}: {}",
            sel.uid.as_deref().unwrap_or_default(),
            uids.iter()
                .map(|(u, ns, n)| format!("{u} ({ns}/{n})"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Whether a second read of `-f path` sees what the first did: a regular file or a directory, not
/// a pipe such as `<(zcat log.gz)` or a device.
fn rereadable(path: &str) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() || m.is_dir())
}

/// The POD argument, when it also names a file or directory here (a forgotten `-f`).
fn pod_as_path(sel: &Selection) -> Option<String> {
    let name = sel.name.as_deref()?;
    [
        sel.namespace.as_ref().map(|ns| format!("{ns}/{name}")),
        Some(name.to_owned()),
    ]
    .into_iter()
    .flatten()
    .find(|p| Path::new(p).exists())
}
