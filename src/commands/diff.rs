//! `ktrail diff`: two incarnations of one pod name, or one incarnation at two times, field by
//! field with each side's author.

use std::io::{self, Write};

use anyhow::{Context, Result};

use ktrail_core::blame::{self, diff, PodBlame};
use ktrail_core::escape::escape;

use super::{exit, load_pending};
use crate::options::{Diff, DiffSides};
use crate::render;

pub fn run(args: Diff) -> Result<u8> {
    let pending = load_pending(&args.inputs, args.selection.clone())?;
    let opts = |at| blame::Options {
        at,
        history: false,
        paths: args.paths.clone(),
    };
    let pair: Option<(PodBlame, PodBlame)> = match &args.sides {
        DiffSides::Times { uid } => {
            // (uid, the old side, the new side) of every incarnation.
            let sides = pending.map_incarnations(|inc| {
                let to = blame::blame(inc, &opts(args.to))?;
                let from = blame::blame(inc, &opts(args.from.or(to.created)));
                Some((inc.uid.clone(), from, to))
            })?;
            let chosen = sides.into_iter().flatten().rev().find(|(u, _, _)| {
                uid.as_ref()
                    .is_none_or(|want| u.as_deref() == Some(want.as_str()))
            });
            match chosen {
                Some((_, Some(from), to)) => Some((from, to)),
                Some((_, None, _)) => {
                    eprintln!("ktrail: the pod had not been created at --from");
                    return Ok(exit::PROBLEM);
                }
                None => None,
            }
        }
        DiffSides::LastTwo | DiffSides::Uids(..) => {
            let all: Vec<PodBlame> = pending
                .map_incarnations(|inc| blame::blame(inc, &opts(None)))?
                .into_iter()
                .flatten()
                .collect();
            let pick = |want: &str| all.iter().find(|p| p.uid.as_deref() == Some(want)).cloned();
            match &args.sides {
                DiffSides::Uids(a, b) => match (pick(a), pick(b)) {
                    (Some(a), Some(b)) => Some((a, b)),
                    (a, _) => {
                        let missing = if a.is_none() {
                            a_str(&args.sides, 0)
                        } else {
                            a_str(&args.sides, 1)
                        };
                        eprintln!("ktrail: no incarnation with uid {}", escape(missing));
                        return Ok(exit::PROBLEM);
                    }
                },
                _ => match all.len() {
                    0 => None,
                    1 => {
                        eprintln!(
                            "ktrail: only one incarnation of this pod in the log; give --from/--to to compare it at two times"
                        );
                        return Ok(exit::PROBLEM);
                    }
                    n => Some((all[n - 2].clone(), all[n - 1].clone())),
                },
            }
        }
    };
    let Some((a, b)) = pair else {
        eprintln!("ktrail: no pod matched");
        return Ok(exit::PROBLEM);
    };
    let report = diff::report(vec![diff::diff(&a, &b)]);
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    render::blame::diff(&report, args.format, args.style, &mut out)
        .and_then(|_| out.flush())
        .context("writing the diff")?;
    Ok(exit::OK)
}

fn a_str(sides: &DiffSides, i: usize) -> &str {
    match sides {
        DiffSides::Uids(a, b) => [a.as_str(), b.as_str()][i],
        _ => "",
    }
}
