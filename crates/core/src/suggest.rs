//! When a selection matched no pod: what the input does hold, and so the way out. A [`Census`] is
//! what a second, broad pass over the same input sees (every pod's namespace, name, uids and the
//! times of its events; no bodies, no stories), and [`suggest`] compares the selection with it:
//! the nearest pod names, the namespaces that hold the name asked for, the uids that start with
//! the one given, or the time range the window left out.
//!
//! This runs only after a run found nothing, so the fast path never pays for it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::record::{Record, Selection};

/// What one pod's records show, whatever the selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
    pub uids: BTreeSet<String>,
}

/// Every pod of an input, by (namespace, name).
#[derive(Debug, Clone, Default)]
pub struct Census {
    pub pods: BTreeMap<(String, String), Seen>,
}

impl Census {
    pub fn add(&mut self, r: &Record) {
        // A create whose body was not logged has no name: nothing to suggest.
        if r.name.is_empty() {
            return;
        }
        let seen = self
            .pods
            .entry((r.namespace.clone(), r.name.clone()))
            .or_insert_with(|| Seen {
                first: r.time,
                last: r.time,
                uids: BTreeSet::new(),
            });
        seen.first = seen.first.min(r.time);
        seen.last = seen.last.max(r.time);
        if let Some(u) = &r.uid {
            // Most records repeat a uid already seen: look before cloning.
            if !seen.uids.contains(u) {
                seen.uids.insert(u.clone());
            }
        }
    }

    /// The first and last event of the pods `keep` accepts.
    fn range<'a>(
        &'a self,
        keep: impl Fn(&(String, String), &Seen) -> bool + 'a,
    ) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        self.pods
            .iter()
            .filter(|(k, s)| keep(k, s))
            .map(|(_, s)| (s.first, s.last))
            .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
    }
}

/// One piece of help, as data; the command line words and escapes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hint {
    /// The input holds no pod event at all.
    NoPodEvents,
    /// The pods asked for exist, but `--since`/`--until` left out every event of theirs.
    Window {
        of: WindowOf,
        first: DateTime<Utc>,
        last: DateTime<Utc>,
    },
    /// No pod has the name in the namespace asked for; these namespaces have one.
    NameElsewhere {
        name: String,
        namespaces: Vec<String>,
    },
    /// The pod names nearest the one asked for, as (namespace, name).
    NearestNames(Vec<(String, String)>),
    /// The namespace asked for holds no pod; the nearest that do (or all of them, when few).
    Namespaces { nearest: bool, names: Vec<String> },
    /// The uids that start with the one asked for, with their pods: (uid, namespace, name).
    Uids(Vec<(String, String, String)>),
}

/// Whose events a [`Hint::Window`] gives the range of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowOf {
    /// Every pod of the input (no pod was asked for).
    Input,
    /// The one pod asked for: (namespace, name).
    Pod(String, String),
    /// The pods the selection names, this many.
    Selected(usize),
}

/// At most this many names are suggested.
const MAX_SUGGESTIONS: usize = 5;

/// The help for a selection that matched nothing, given what the input holds.
pub fn suggest(census: &Census, sel: &Selection) -> Vec<Hint> {
    if census.pods.is_empty() {
        return vec![Hint::NoPodEvents];
    }
    let uid_matches = |s: &Seen| {
        sel.uid
            .as_deref()
            .is_none_or(|u| s.uids.iter().any(|x| x.starts_with(u)))
    };
    let selected = |(ns, name): &(String, String), s: &Seen| {
        sel.namespace.as_deref().is_none_or(|n| n == ns)
            && sel.name.as_deref().is_none_or(|n| n == name)
            && uid_matches(s)
    };
    if sel.since.is_some() || sel.until.is_some() {
        if let Some((first, last)) = census.range(selected) {
            let chosen: Vec<&(String, String)> = census
                .pods
                .iter()
                .filter(|(k, s)| selected(k, s))
                .map(|(k, _)| k)
                .collect();
            let narrowed = sel.namespace.is_some() || sel.name.is_some() || sel.uid.is_some();
            let of = match chosen.as_slice() {
                _ if !narrowed => WindowOf::Input,
                [(ns, n)] => WindowOf::Pod(ns.clone(), n.clone()),
                many => WindowOf::Selected(many.len()),
            };
            return vec![Hint::Window { of, first, last }];
        }
    }
    let mut hints = Vec::new();
    if let Some(u) = &sel.uid {
        let uids: Vec<(String, String, String)> = census
            .pods
            .iter()
            .flat_map(|((ns, name), s)| {
                s.uids
                    .iter()
                    .filter(|x| x.starts_with(u.as_str()))
                    .map(|x| (x.clone(), ns.clone(), name.clone()))
            })
            .collect();
        if !uids.is_empty() {
            hints.push(Hint::Uids(uids));
            return hints;
        }
    }
    let namespaces: BTreeSet<&str> = census.pods.keys().map(|(ns, _)| ns.as_str()).collect();
    let ns_known = sel
        .namespace
        .as_deref()
        .is_none_or(|n| namespaces.contains(n));
    if let Some(name) = &sel.name {
        if sel.namespace.is_some() {
            let elsewhere: Vec<String> = census
                .pods
                .keys()
                .filter(|(_, n)| n == name)
                .map(|(ns, _)| ns.clone())
                .collect();
            if !elsewhere.is_empty() {
                hints.push(Hint::NameElsewhere {
                    name: name.clone(),
                    namespaces: elsewhere,
                });
            }
        }
        // Names in the namespace asked for when it holds pods, else anywhere.
        let nearest = nearest(
            name,
            census
                .pods
                .keys()
                .filter(|(ns, n)| {
                    n != name
                        && (!ns_known || sel.namespace.as_deref().is_none_or(|want| want == ns))
                })
                .map(|(ns, n)| ((ns.clone(), n.clone()), n.as_str())),
        );
        if !nearest.is_empty() {
            hints.push(Hint::NearestNames(nearest));
        }
    }
    if let (Some(ns), false) = (&sel.namespace, ns_known) {
        let near = nearest(ns, namespaces.iter().map(|n| (n.to_string(), *n)));
        if !near.is_empty() {
            hints.push(Hint::Namespaces {
                nearest: true,
                names: near,
            });
        } else if sel.name.is_none() || hints.is_empty() {
            hints.push(Hint::Namespaces {
                nearest: false,
                names: namespaces
                    .iter()
                    .take(MAX_SUGGESTIONS * 2)
                    .map(|n| n.to_string())
                    .collect(),
            });
        }
    }
    hints
}

/// The candidates nearest `want`: those it is a prefix of, and those within a few edits (more for
/// longer names), closest first, at most [`MAX_SUGGESTIONS`].
fn nearest<'a, T: Clone>(want: &str, candidates: impl Iterator<Item = (T, &'a str)>) -> Vec<T> {
    let limit = (want.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &'a str, T)> = candidates
        .filter_map(|(t, c)| {
            let d = if c.starts_with(want) {
                // A prefix of a generated name (`frontend` for `frontend-5d9c7b8f6-m4xqz`).
                1
            } else {
                edit_distance(want, c)
            };
            (d <= limit).then_some((d, c, t))
        })
        .collect();
    scored.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    scored
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|s| s.2)
        .collect()
}

/// The optimal string alignment distance: insertions, deletions, substitutions and swaps of two
/// neighbours (`ngnix` is one edit from `nginx`), by characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for (i, row) in d.chunks_mut(w).enumerate() {
        row[0] = i;
    }
    for (j, cell) in d.iter_mut().take(w).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn census(pods: &[(&str, &str, &str, &str)]) -> Census {
        let mut c = Census::default();
        for (ns, name, uid, time) in pods {
            c.pods
                .entry((ns.to_string(), name.to_string()))
                .or_insert_with(|| Seen {
                    first: t(time),
                    last: t(time),
                    uids: BTreeSet::new(),
                })
                .uids
                .insert(uid.to_string());
        }
        c
    }

    fn fargate() -> Census {
        census(&[
            ("default", "nginx", "f79aeb48-1", "2022-09-20T20:10:00Z"),
            ("fargate-ns", "nginx", "2e004861-1", "2022-09-20T20:17:00Z"),
            ("fargate-ns", "web-0", "2e11aaaa-1", "2022-09-20T20:18:00Z"),
        ])
    }

    fn sel(ns: Option<&str>, name: Option<&str>) -> Selection {
        Selection {
            namespace: ns.map(str::to_owned),
            name: name.map(str::to_owned),
            ..Selection::default()
        }
    }

    fn key(ns: &str, n: &str) -> (String, String) {
        (ns.to_owned(), n.to_owned())
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance("ngnix", "nginx"), 1);
        assert_eq!(edit_distance("nginx", "nginx"), 0);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("défaut", "default"), 2);
    }

    #[test]
    fn a_misspelt_name_gets_the_nearest_names() {
        assert_eq!(
            suggest(&fargate(), &sel(Some("fargate-ns"), Some("ngnix"))),
            [Hint::NearestNames(vec![key("fargate-ns", "nginx")])]
        );
        assert_eq!(
            suggest(&fargate(), &sel(None, Some("ngnix"))),
            [Hint::NearestNames(vec![
                key("default", "nginx"),
                key("fargate-ns", "nginx")
            ])]
        );
        assert_eq!(suggest(&fargate(), &sel(None, Some("zzzzzzzz"))), []);
    }

    #[test]
    fn a_wrong_namespace_gets_the_namespaces_that_hold_the_name() {
        assert_eq!(
            suggest(&fargate(), &sel(Some("wrong-ns"), Some("nginx"))),
            [Hint::NameElsewhere {
                name: "nginx".into(),
                namespaces: vec!["default".into(), "fargate-ns".into()]
            }]
        );
        assert_eq!(
            suggest(&fargate(), &sel(Some("fargate"), None)),
            [Hint::Namespaces {
                nearest: true,
                names: vec!["fargate-ns".into()]
            }]
        );
        assert_eq!(
            suggest(&fargate(), &sel(Some("zzzzzzzzzzzz"), None)),
            [Hint::Namespaces {
                nearest: false,
                names: vec!["default".into(), "fargate-ns".into()]
            }]
        );
    }

    #[test]
    fn a_uid_prefix_lists_its_pods() {
        let mut s = sel(Some("default"), None);
        s.uid = Some("2e".into());
        assert_eq!(
            suggest(&fargate(), &s),
            [Hint::Uids(vec![
                ("2e004861-1".into(), "fargate-ns".into(), "nginx".into()),
                ("2e11aaaa-1".into(), "fargate-ns".into(), "web-0".into()),
            ])]
        );
    }

    #[test]
    fn a_window_that_left_out_everything_gets_the_range() {
        let mut s = sel(None, None);
        s.since = Some(t("2026-01-01T00:00:00Z"));
        assert_eq!(
            suggest(&fargate(), &s),
            [Hint::Window {
                of: WindowOf::Input,
                first: t("2022-09-20T20:10:00Z"),
                last: t("2022-09-20T20:18:00Z"),
            }]
        );
        let mut s = sel(Some("fargate-ns"), Some("nginx"));
        s.until = Some(t("2020-01-01T00:00:00Z"));
        assert_eq!(
            suggest(&fargate(), &s),
            [Hint::Window {
                of: WindowOf::Pod("fargate-ns".into(), "nginx".into()),
                first: t("2022-09-20T20:17:00Z"),
                last: t("2022-09-20T20:17:00Z"),
            }]
        );
        let mut s = sel(Some("fargate-ns"), None);
        s.until = Some(t("2020-01-01T00:00:00Z"));
        assert_eq!(
            suggest(&fargate(), &s),
            [Hint::Window {
                of: WindowOf::Selected(2),
                first: t("2022-09-20T20:17:00Z"),
                last: t("2022-09-20T20:18:00Z"),
            }]
        );
        assert_eq!(suggest(&Census::default(), &s), [Hint::NoPodEvents]);
    }
}
