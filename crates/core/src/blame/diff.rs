//! Two blamed states of one pod name, field by field: two incarnations (why did `web-0` come back
//! different?) or one incarnation at two times. Each difference carries its author on each side.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use super::{Field, PodBlame, SetBy, SCHEMA_VERSION};

/// Fields that differ between any two writes or incarnations without telling anything.
const IGNORED: &[&str] = &[
    "/metadata/uid",
    "/metadata/resourceVersion",
    "/metadata/generation",
    "/metadata/creationTimestamp",
    "/metadata/selfLink",
];

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub schema_version: u32,
    pub diffs: Vec<PodDiff>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodDiff {
    pub namespace: String,
    pub name: String,
    pub from: Side,
    pub to: Side,
    pub fields: Vec<FieldDiff>,
}

/// Which state a side is.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    pub uid: Option<String>,
    pub at: Option<String>,
}

/// One path whose value differs; a side is `None` where the field is absent.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDiff {
    pub path: String,
    pub from: Option<Valued>,
    pub to: Option<Valued>,
}

/// A value and its author.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Valued {
    pub value: Value,
    pub set_by: SetBy,
}

fn side(f: &Field) -> Valued {
    Valued {
        value: f.value.clone(),
        set_by: f.set_by.clone(),
    }
}

/// The differences from `a` to `b`, in `a`'s field order, then the fields only `b` has.
pub fn diff(a: &PodBlame, b: &PodBlame) -> PodDiff {
    let ignored = |p: &str| super::under(p, IGNORED);
    let in_b: HashMap<&str, &Field> = b.fields.iter().map(|f| (f.path.as_str(), f)).collect();
    let in_a: HashMap<&str, &Field> = a.fields.iter().map(|f| (f.path.as_str(), f)).collect();
    let mut fields = Vec::new();
    for f in &a.fields {
        if ignored(&f.path) {
            continue;
        }
        match in_b.get(f.path.as_str()) {
            Some(g) if g.value == f.value => {}
            other => fields.push(FieldDiff {
                path: f.path.clone(),
                from: Some(side(f)),
                to: other.map(|g| side(g)),
            }),
        }
    }
    for g in &b.fields {
        if !ignored(&g.path) && !in_a.contains_key(g.path.as_str()) {
            fields.push(FieldDiff {
                path: g.path.clone(),
                from: None,
                to: Some(side(g)),
            });
        }
    }
    PodDiff {
        namespace: a.namespace.clone(),
        name: a.name.clone(),
        from: Side {
            uid: a.uid.clone(),
            at: a.at.clone(),
        },
        to: Side {
            uid: b.uid.clone(),
            at: b.at.clone(),
        },
        fields,
    }
}

pub fn report(diffs: Vec<PodDiff>) -> Report {
    Report {
        schema_version: SCHEMA_VERSION,
        diffs,
    }
}
