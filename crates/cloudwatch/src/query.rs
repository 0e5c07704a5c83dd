//! Logs Insights queries and FilterLogEvents patterns built from the templates in `queries/`.
//!
//! The templates are compiled in, so `ktrail query` prints exactly what ktrail runs. The
//! selection (namespace, name, uid) and the verbs are pushed into the query to save bytes
//! scanned; every value is validated first (see [`super::validate`]), and whatever comes back is
//! filtered again on the client, so the server-side filter only ever narrows, never decides.

use super::validate::{validate_k8s_name, NameKind};
use super::{CwError, Selection};

/// The template of the pod story query (the first query of the seed article, generalised).
pub const POD_EVENTS_TEMPLATE: &str = include_str!("../../../queries/pod-events.txt");
/// The template of the "who created this object" query (the second query of the seed article).
pub const OBJECT_CREATED_TEMPLATE: &str = include_str!("../../../queries/object-created.txt");

/// The largest row limit Logs Insights accepts.
pub const MAX_LIMIT: usize = 10_000;

/// Subresources whose requests are reads by HTTP method but actions on the pod.
const ACTION_SUBRESOURCES: [&str; 3] = ["exec", "attach", "portforward"];

/// Drops comment lines and substitutes `{{KEY}}` placeholders.
fn render(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    for line in template.lines() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let mut line = line.to_string();
        for (key, value) in vars {
            line = line.replace(&format!("{{{{{key}}}}}"), value);
        }
        if line.trim().is_empty() {
            continue;
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Escapes a validated name for use inside an Insights `/regex/`: only `.` is special there.
fn regex_literal(name: &str) -> String {
    name.replace('.', "\\.")
}

/// The resources of webhook configurations, kept (writes only) for provenance.
const CONFIG_RESOURCES: [&str; 2] = [
    "mutatingwebhookconfigurations",
    "validatingwebhookconfigurations",
];

/// The Logs Insights conditions of a selection, one per `| filter` line.
pub fn insights_conditions(sel: &Selection) -> Result<Vec<String>, CwError> {
    sel.validate()?;
    let mut object = Vec::new();
    if !sel.all_resources {
        object.push("objectRef.resource == 'pods'".to_string());
    }
    if let Some(ns) = &sel.namespace {
        object.push(format!("objectRef.namespace == '{ns}'"));
    }
    if let Some(name) = &sel.name {
        // A pod created with generateName has no objectRef.name on its create: its name is only
        // in the response body, which field discovery may not reach, so match the raw text too.
        object.push(format!(
            "objectRef.name == '{name}' or @message like /\"name\":\"{}\"/",
            regex_literal(name)
        ));
    } else if let Some(uid) = &sel.uid {
        object.push(format!("@message like '{uid}'"));
    }
    let mut conds = Vec::new();
    if sel.configs && !sel.all_resources {
        let configs = CONFIG_RESOURCES
            .iter()
            .map(|r| format!("'{r}'"))
            .collect::<Vec<_>>()
            .join(", ");
        conds.push(format!(
            "({}) or objectRef.resource in [{configs}]",
            object
                .iter()
                .map(|c| format!("({c})"))
                .collect::<Vec<_>>()
                .join(" and ")
        ));
    } else {
        conds.extend(object);
    }
    if !sel.reads || sel.configs {
        let subs = ACTION_SUBRESOURCES
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let reads = if sel.reads {
            // Reads of pods, but never of webhook configurations.
            " or objectRef.resource == 'pods'".to_string()
        } else {
            String::new()
        };
        conds.push(format!(
            "(verb != 'get' and verb != 'list' and verb != 'watch') or objectRef.subresource in [{subs}]{reads}"
        ));
    }
    Ok(conds)
}

/// The Logs Insights query for a selection, with `limit` rows at most (capped at 10,000).
pub fn build_query(sel: &Selection, limit: usize) -> Result<String, CwError> {
    let filters = insights_conditions(sel)?
        .iter()
        .map(|c| format!(" | filter {c}"))
        .collect::<Vec<_>>()
        .join("\n");
    let limit = limit.clamp(1, MAX_LIMIT).to_string();
    Ok(render(
        POD_EVENTS_TEMPLATE,
        &[("FILTERS", &filters), ("LIMIT", &limit)],
    ))
}

/// The "who created this object" query of the seed article, for any resource named `name`.
pub fn build_created_query(name: &str, limit: usize) -> Result<String, CwError> {
    validate_k8s_name(NameKind::Name, name)?;
    let limit = limit.clamp(1, MAX_LIMIT).to_string();
    Ok(render(
        OBJECT_CREATED_TEMPLATE,
        &[("NAME", name), ("LIMIT", &limit)],
    ))
}

/// The FilterLogEvents JSON filter pattern of a selection, or `None` when nothing narrows it.
pub fn build_filter_pattern(sel: &Selection) -> Result<Option<String>, CwError> {
    sel.validate()?;
    let mut object: Vec<String> = Vec::new();
    if !sel.all_resources {
        object.push("$.objectRef.resource = \"pods\"".into());
    }
    if let Some(ns) = &sel.namespace {
        object.push(format!("$.objectRef.namespace = \"{ns}\""));
    }
    if let Some(name) = &sel.name {
        object.push(format!(
            "($.objectRef.name = \"{name}\" || $.responseObject.metadata.name = \"{name}\")"
        ));
    } else if let Some(uid) = &sel.uid {
        object.push(format!(
            "($.objectRef.uid = \"{uid}\" || $.requestObject.metadata.uid = \"{uid}\" || \
$.responseObject.metadata.uid = \"{uid}\" || $.requestObject.preconditions.uid = \"{uid}\")"
        ));
    }
    let mut conds: Vec<String> = Vec::new();
    if sel.configs && !sel.all_resources {
        let configs = CONFIG_RESOURCES
            .iter()
            .map(|r| format!("$.objectRef.resource = \"{r}\""))
            .collect::<Vec<_>>()
            .join(" || ");
        conds.push(format!("(({}) || {configs})", object.join(" && ")));
    } else {
        conds.extend(object.into_iter().map(|c| {
            if c.starts_with('(') {
                c
            } else {
                format!("({c})")
            }
        }));
    }
    if !sel.reads || sel.configs {
        let subs = ACTION_SUBRESOURCES
            .iter()
            .map(|s| format!(" || $.objectRef.subresource = \"{s}\""))
            .collect::<String>();
        let reads = if sel.reads {
            " || $.objectRef.resource = \"pods\""
        } else {
            ""
        };
        conds.push(format!(
            "(($.verb != \"get\" && $.verb != \"list\" && $.verb != \"watch\"){subs}{reads})"
        ));
    }
    if conds.is_empty() {
        return Ok(None);
    }
    Ok(Some(format!("{{ {} }}", conds.join(" && "))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(ns: &str, name: &str) -> Selection {
        Selection {
            namespace: Some(ns.into()),
            name: Some(name.into()),
            ..Selection::default()
        }
    }

    #[test]
    fn article_query_for_fargate_nginx() {
        let q = build_query(&pod("fargate-ns", "nginx"), 10_000).expect("query");
        let expected = "filter @logStream like /^kube-apiserver-audit/
 | fields @timestamp, @message, @logStream
 | sort @timestamp asc
 | filter objectRef.resource == 'pods'
 | filter objectRef.namespace == 'fargate-ns'
 | filter objectRef.name == 'nginx' or @message like /\"name\":\"nginx\"/
 | filter (verb != 'get' and verb != 'list' and verb != 'watch') or objectRef.subresource in ['exec', 'attach', 'portforward']
 | limit 10000
";
        assert_eq!(q, expected);
        assert!(!q.contains('#'));
        assert!(!q.contains("{{"));
    }

    #[test]
    fn reads_and_all_resources_drop_their_filters() {
        let sel = Selection {
            all_resources: true,
            reads: true,
            ..Selection::default()
        };
        let q = build_query(&sel, 500).expect("query");
        assert_eq!(
            q,
            "filter @logStream like /^kube-apiserver-audit/\n | fields @timestamp, @message, @logStream\n | sort @timestamp asc\n | limit 500\n"
        );
        assert!(build_query(&sel, 50_000)
            .expect("q")
            .ends_with("| limit 10000\n"));
    }

    #[test]
    fn webhook_configurations_ride_along() {
        let sel = Selection {
            configs: true,
            ..pod("fargate-ns", "nginx")
        };
        let q = build_query(&sel, 10_000).expect("query");
        assert!(q.contains(
            " | filter ((objectRef.resource == 'pods') and (objectRef.namespace == 'fargate-ns') and \
(objectRef.name == 'nginx' or @message like /\"name\":\"nginx\"/)) or objectRef.resource in \
['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']\n"
        ), "{q}");
        let p = build_filter_pattern(&sel).expect("p").expect("some");
        assert!(
            p.starts_with("{ (($.objectRef.resource = \"pods\" && "),
            "{p}"
        );
        assert!(
            p.contains("|| $.objectRef.resource = \"validatingwebhookconfigurations\")"),
            "{p}"
        );
        let everything = Selection::everything();
        assert_eq!(build_filter_pattern(&everything).expect("p"), None);
    }

    #[test]
    fn dots_are_escaped_in_regexes() {
        let q = build_query(&pod("default", "web.v1"), 10).expect("query");
        assert!(q.contains("/\"name\":\"web\\.v1\"/"), "{q}");
    }

    #[test]
    fn uid_only_selection_matches_text() {
        let sel = Selection {
            uid: Some("3f2b6c1e-9d4a-4b8e-a1c2-0e5f7a9b1c3d".into()),
            ..Selection::default()
        };
        let q = build_query(&sel, 10).expect("query");
        assert!(q.contains("@message like '3f2b6c1e-9d4a-4b8e-a1c2-0e5f7a9b1c3d'"));
        let p = build_filter_pattern(&sel).expect("p").expect("some");
        assert!(p.contains("$.objectRef.uid = \"3f2b6c1e-9d4a-4b8e-a1c2-0e5f7a9b1c3d\""));
    }

    #[test]
    fn created_query_is_the_articles_second_query() {
        let q = build_created_query("0500-amazon-eks-fargate-mutation.amazonaws.com", 10_000)
            .expect("query");
        assert!(q.contains(
            " | filter objectRef.name == '0500-amazon-eks-fargate-mutation.amazonaws.com' and verb == 'create'\n"
        ));
        assert!(q.ends_with(" | limit 10000\n"));
        assert!(build_created_query("x' or 'a'=='a", 10).is_err());
    }

    #[test]
    fn filter_pattern_for_a_pod() {
        let p = build_filter_pattern(&pod("fargate-ns", "nginx"))
            .expect("pattern")
            .expect("some");
        assert_eq!(
            p,
            "{ ($.objectRef.resource = \"pods\") && ($.objectRef.namespace = \"fargate-ns\") && \
($.objectRef.name = \"nginx\" || $.responseObject.metadata.name = \"nginx\") && \
(($.verb != \"get\" && $.verb != \"list\" && $.verb != \"watch\") || $.objectRef.subresource = \"exec\" || \
$.objectRef.subresource = \"attach\" || $.objectRef.subresource = \"portforward\") }"
        );
    }

    #[test]
    fn injection_is_refused_everywhere() {
        for bad in [
            "nginx'",
            "x\" || $.verb = \"get",
            "a|b",
            "a/b",
            "a\nb",
            "a.*",
            "a)",
            "}",
        ] {
            assert!(build_query(&pod("default", bad), 10).is_err(), "{bad:?}");
            assert!(build_query(&pod(bad, "nginx"), 10).is_err(), "{bad:?}");
            assert!(
                build_filter_pattern(&pod("default", bad)).is_err(),
                "{bad:?}"
            );
            let sel = Selection {
                uid: Some(bad.into()),
                ..Selection::default()
            };
            assert!(build_query(&sel, 10).is_err(), "{bad:?}");
        }
    }
}
