//! Applying the bodies of pod writes to the last known state: JSON Patch (RFC 6902), JSON merge
//! patch (RFC 7386) and Kubernetes strategic merge patch with the merge keys of a pod's lists and
//! the `$patch`, `$setElementOrder`, `$retainKeys` and `$deleteFromPrimitiveList` directives.
//!
//! Bodies come from the log and are untrusted: an operation that cannot apply is counted and
//! skipped, never a panic, and nesting past [`MAX_DEPTH`] is taken whole.

use serde_json::{Map, Value};

use crate::admission::pointer_tokens;

/// Nesting below this is replaced as a whole instead of merged (inputs are untrusted).
pub const MAX_DEPTH: usize = 64;

/// How a list field of a pod merges under a strategic merge patch, by the field's name: the
/// `patchMergeKey` of the Kubernetes API types. Lists not named here are replaced whole.
pub fn merge_key(field: &str) -> Option<&'static str> {
    Some(match field {
        "containers" | "initContainers" | "ephemeralContainers" => "name",
        "volumes" | "env" | "imagePullSecrets" | "resourceClaims" | "schedulingGates" => "name",
        "ports" => "containerPort",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "conditions" => "type",
        "hostAliases" | "podIPs" | "hostIPs" => "ip",
        "ownerReferences" => "uid",
        "topologySpreadConstraints" => "topologyKey",
        _ => return None,
    })
}

/// How the elements of a list are told apart when folding authorship: the merge keys, and the
/// container statuses by name (the API replaces those lists whole, but each status is still one
/// container's).
pub fn identity_key(field: &str) -> Option<&'static str> {
    match field {
        "containerStatuses" | "initContainerStatuses" | "ephemeralContainerStatuses" => {
            Some("name")
        }
        _ => merge_key(field),
    }
}

/// Lists of scalars that a strategic merge patch merges (as a set) instead of replacing.
fn merges_primitives(field: &str) -> bool {
    field == "finalizers"
}

/// Applies a JSON Patch. Returns how many operations could not be applied (they are skipped).
pub fn json_patch(doc: &mut Value, patch: &Value) -> usize {
    let Some(ops) = patch.as_array() else {
        return 1;
    };
    let mut failed = 0;
    for op in ops {
        if json_patch_op(doc, op).is_none() {
            failed += 1;
        }
    }
    failed
}

fn json_patch_op(doc: &mut Value, op: &Value) -> Option<()> {
    let path = op.get("path")?.as_str()?;
    match op.get("op")?.as_str()? {
        "add" => add(doc, path, op.get("value")?.clone()),
        "remove" => remove(doc, path).map(drop),
        "replace" => {
            let v = op.get("value")?.clone();
            *get_mut(doc, path)? = v;
            Some(())
        }
        "move" => {
            let from = op.get("from")?.as_str()?;
            // A location cannot be moved into one of its own children.
            if path.starts_with(from) && path.as_bytes().get(from.len()) == Some(&b'/') {
                return None;
            }
            let v = remove(doc, from)?;
            add(doc, path, v)
        }
        "copy" => {
            let v = get_mut(doc, op.get("from")?.as_str()?)?.clone();
            add(doc, path, v)
        }
        "test" => (*get_mut(doc, path)? == *op.get("value")?).then_some(()),
        _ => None,
    }
}

/// The value at a pointer's location.
fn get_mut<'v>(doc: &'v mut Value, path: &str) -> Option<&'v mut Value> {
    walk_mut(doc, pointer_tokens(path))
}

/// The value the tokens of a pointer lead to, from `doc`.
fn walk_mut(doc: &mut Value, tokens: Vec<String>) -> Option<&mut Value> {
    let mut at = doc;
    for t in tokens {
        at = match at {
            Value::Object(m) => m.get_mut(&t)?,
            Value::Array(a) => a.get_mut(index(&t)?)?,
            _ => return None,
        };
    }
    Some(at)
}

/// An array index token: digits only, no leading zero (RFC 6901).
fn index(t: &str) -> Option<usize> {
    if t.is_empty() || (t.len() > 1 && t.starts_with('0')) || !t.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    t.parse().ok()
}

/// The parent of a pointer's location and the last token.
fn parent_mut<'v>(doc: &'v mut Value, path: &str) -> Option<(&'v mut Value, String)> {
    let mut tokens = pointer_tokens(path);
    let last = tokens.pop()?;
    Some((walk_mut(doc, tokens)?, last))
}

fn add(doc: &mut Value, path: &str, v: Value) -> Option<()> {
    if path.is_empty() {
        *doc = v;
        return Some(());
    }
    let (parent, last) = parent_mut(doc, path)?;
    match parent {
        Value::Object(m) => {
            m.insert(last, v);
        }
        Value::Array(a) => {
            let i = if last == "-" { a.len() } else { index(&last)? };
            if i > a.len() {
                return None;
            }
            a.insert(i, v);
        }
        _ => return None,
    }
    Some(())
}

fn remove(doc: &mut Value, path: &str) -> Option<Value> {
    let (parent, last) = parent_mut(doc, path)?;
    match parent {
        Value::Object(m) => m.shift_remove(&last),
        Value::Array(a) => {
            let i = index(&last)?;
            (i < a.len()).then(|| a.remove(i))
        }
        _ => None,
    }
}

/// Applies a JSON merge patch (RFC 7386): objects merge, `null` removes, anything else replaces.
pub fn merge_patch(doc: &mut Value, patch: &Value) {
    merge_patch_at(doc, patch, 0);
}

fn merge_patch_at(doc: &mut Value, patch: &Value, depth: usize) {
    let Value::Object(p) = patch else {
        *doc = patch.clone();
        return;
    };
    if !doc.is_object() || depth >= MAX_DEPTH {
        *doc = Value::Object(Map::new());
        if depth >= MAX_DEPTH {
            *doc = strip_nulls(patch);
            return;
        }
    }
    let Value::Object(m) = doc else { return };
    for (k, v) in p {
        if v.is_null() {
            m.shift_remove(k);
        } else {
            let slot = m.entry(k.clone()).or_insert(Value::Null);
            merge_patch_at(slot, v, depth + 1);
        }
    }
}

fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Whether a merge patch body uses any strategic merge patch directive (a key starting with `$`).
pub fn has_directive(patch: &Value) -> bool {
    has_directive_at(patch, 0)
}

fn has_directive_at(v: &Value, depth: usize) -> bool {
    if depth >= MAX_DEPTH {
        return false;
    }
    match v {
        Value::Object(m) => m
            .iter()
            .any(|(k, v)| k.starts_with('$') || has_directive_at(v, depth + 1)),
        Value::Array(a) => a.iter().any(|v| has_directive_at(v, depth + 1)),
        _ => false,
    }
}

const SET_ELEMENT_ORDER: &str = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList/";

/// Applies a Kubernetes strategic merge patch to a pod (or any object whose lists are named as a
/// pod's are).
pub fn strategic_merge_patch(doc: &mut Value, patch: &Value) {
    if let Some(merged) = smp_map(Some(doc), patch, 0) {
        *doc = merged;
    } else {
        *doc = Value::Object(Map::new());
    }
}

/// The map `doc` patched by the map `patch`; `None` when the patch deletes it (`$patch: delete`).
fn smp_map(doc: Option<&Value>, patch: &Value, depth: usize) -> Option<Value> {
    let Value::Object(p) = patch else {
        return Some(patch.clone());
    };
    match p.get("$patch").and_then(Value::as_str) {
        Some("delete") => return None,
        Some("replace") => return Some(without_directives(patch)),
        _ => {}
    }
    let mut m = match doc {
        Some(Value::Object(m)) if depth < MAX_DEPTH => m.clone(),
        _ if depth >= MAX_DEPTH => return Some(without_directives(patch)),
        _ => Map::new(),
    };
    for (k, v) in p {
        if let Some(field) = k.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) {
            if let (Some(Value::Array(list)), Some(gone)) = (m.get_mut(field), v.as_array()) {
                list.retain(|x| !gone.contains(x));
                // The API omits empty lists.
                if list.is_empty() {
                    m.shift_remove(field);
                }
            }
            continue;
        }
        if k.starts_with('$') {
            continue;
        }
        if v.is_null() {
            m.shift_remove(k);
            continue;
        }
        let merged = match v {
            Value::Object(_) => smp_map(m.get(k), v, depth + 1),
            Value::Array(items) => Some(smp_list(k, m.get(k), items, depth + 1)),
            other => Some(other.clone()),
        };
        match merged {
            Some(x) => {
                m.insert(k.clone(), x);
            }
            None => {
                m.shift_remove(k);
            }
        }
    }
    for (k, v) in p {
        if let Some(field) = k.strip_prefix(SET_ELEMENT_ORDER) {
            if let (Some(Value::Array(list)), Some(order)) = (m.get_mut(field), v.as_array()) {
                set_element_order(list, order, merge_key(field));
            }
        }
    }
    if let Some(keep) = p.get("$retainKeys").and_then(Value::as_array) {
        m.retain(|k, _| keep.iter().any(|x| x.as_str() == Some(k)));
    }
    Some(Value::Object(m))
}

fn without_directives(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), without_directives(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn smp_list(field: &str, doc: Option<&Value>, items: &[Value], depth: usize) -> Value {
    let old: &[Value] = match doc {
        Some(Value::Array(a)) => a,
        _ => &[],
    };
    // `{"$patch": "replace"}` as an element: the list is the patch's other elements.
    if items
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        return Value::Array(
            items
                .iter()
                .filter(|i| i.get("$patch").is_none())
                .map(without_directives)
                .collect(),
        );
    }
    if let Some(key) = merge_key(field).filter(|_| depth < MAX_DEPTH) {
        let mut out: Vec<Value> = old.to_vec();
        for item in items {
            let Some(id) = item.get(key) else {
                // An element without its merge key cannot be placed; it is appended as sent.
                out.push(without_directives(item));
                continue;
            };
            let pos = out.iter().position(|x| x.get(key) == Some(id));
            let deleting = item.get("$patch").and_then(Value::as_str) == Some("delete");
            match (pos, deleting) {
                (Some(i), true) => {
                    out.remove(i);
                }
                (None, true) => {}
                (Some(i), false) => match smp_map(Some(&out[i]), item, depth + 1) {
                    Some(x) => out[i] = x,
                    None => {
                        out.remove(i);
                    }
                },
                (None, false) => {
                    if let Some(x) = smp_map(None, item, depth + 1) {
                        out.push(x);
                    }
                }
            }
        }
        return Value::Array(out);
    }
    if merges_primitives(field) {
        let mut out: Vec<Value> = old.to_vec();
        for item in items {
            if !out.contains(item) {
                out.push(item.clone());
            }
        }
        return Value::Array(out);
    }
    Value::Array(items.iter().map(without_directives).collect())
}

/// Orders `list` as `order` says: the elements it names first, in its order, then the others as
/// they were.
fn set_element_order(list: &mut Vec<Value>, order: &[Value], key: Option<&str>) {
    let id = |v: &Value| -> Option<Value> {
        match key {
            Some(k) => v.get(k).cloned(),
            None => Some(v.clone()),
        }
    };
    let mut rest: Vec<Option<Value>> = std::mem::take(list).into_iter().map(Some).collect();
    for o in order {
        let Some(want) = id(o) else { continue };
        if let Some(slot) = rest
            .iter_mut()
            .find(|x| x.as_ref().and_then(&id).as_ref() == Some(&want))
        {
            list.extend(slot.take());
        }
    }
    list.extend(rest.into_iter().flatten());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_patch_ops() {
        let mut d = json!({"a": {"b": 1}, "l": [1, 2, 3]});
        let failed = json_patch(
            &mut d,
            &json!([
                {"op": "add", "path": "/a/c", "value": 2},
                {"op": "add", "path": "/l/-", "value": 4},
                {"op": "add", "path": "/l/0", "value": 0},
                {"op": "remove", "path": "/l/1"},
                {"op": "replace", "path": "/a/b", "value": "x"},
                {"op": "move", "from": "/a/c", "path": "/m"},
                {"op": "copy", "from": "/m", "path": "/n"},
                {"op": "test", "path": "/n", "value": 2},
                {"op": "test", "path": "/n", "value": 3},
                {"op": "replace", "path": "/missing", "value": 1},
                {"op": "remove", "path": "/l/9"},
                {"op": "add", "path": "/l/01", "value": 1},
                {"op": "move", "from": "/a", "path": "/a/x"},
                {"op": "bogus", "path": "/a"},
                "not an op"
            ]),
        );
        assert_eq!(
            d,
            json!({"a": {"b": "x"}, "l": [0, 2, 3, 4], "m": 2, "n": 2})
        );
        assert_eq!(failed, 7);
        let mut e = json!({"a~b": {"c/d": 1}});
        assert_eq!(
            json_patch(
                &mut e,
                &json!([{"op": "replace", "path": "/a~0b/c~1d", "value": 2}])
            ),
            0
        );
        assert_eq!(e, json!({"a~b": {"c/d": 2}}));
        assert_eq!(json_patch(&mut e, &json!({"op": "add"})), 1);
    }

    #[test]
    fn merge_patch_replaces_lists_and_removes_nulls() {
        let mut d = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"containers": [{"name": "c", "image": "x"}, {"name": "d"}]}});
        merge_patch(
            &mut d,
            &json!({"metadata": {"labels": {"a": null, "c": "3"}}, "spec": {"containers": [{"name": "c", "image": "y"}]}, "new": {"x": null, "y": 1}}),
        );
        assert_eq!(
            d,
            json!({"metadata": {"labels": {"b": "2", "c": "3"}}, "spec": {"containers": [{"name": "c", "image": "y"}]}, "new": {"y": 1}})
        );
    }

    #[test]
    fn strategic_merge_patch_merges_lists_by_key() {
        let mut d = json!({"spec": {
            "containers": [
                {"name": "app", "image": "a:1", "env": [{"name": "A", "value": "1"}], "ports": [{"containerPort": 80}]},
                {"name": "side", "image": "s:1"}
            ],
            "volumes": [{"name": "v1", "emptyDir": {}}],
            "tolerations": [{"key": "k1"}, {"key": "k2"}]
        }});
        strategic_merge_patch(
            &mut d,
            &json!({"spec": {
                "containers": [
                    {"name": "app", "image": "a:2", "env": [{"name": "B", "value": "2"}], "ports": [{"containerPort": 80, "name": "http"}]},
                    {"name": "new", "image": "n:1"}
                ],
                "volumes": [{"name": "v2", "configMap": {"name": "cm"}}],
                "tolerations": [{"key": "k3"}]
            }}),
        );
        assert_eq!(
            d,
            json!({"spec": {
                "containers": [
                    {"name": "app", "image": "a:2", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}], "ports": [{"containerPort": 80, "name": "http"}]},
                    {"name": "side", "image": "s:1"},
                    {"name": "new", "image": "n:1"}
                ],
                "volumes": [{"name": "v1", "emptyDir": {}}, {"name": "v2", "configMap": {"name": "cm"}}],
                "tolerations": [{"key": "k3"}]
            }})
        );
    }

    #[test]
    fn strategic_merge_patch_merges_conditions_by_type_and_replaces_container_statuses() {
        let mut d = json!({"status": {
            "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "False"}],
            "containerStatuses": [{"name": "app", "ready": false, "restartCount": 0, "state": {"waiting": {}}}]
        }});
        strategic_merge_patch(
            &mut d,
            &json!({"status": {
                "$setElementOrder/conditions": [{"type": "Initialized"}, {"type": "Ready"}, {"type": "PodScheduled"}],
                "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}],
                "containerStatuses": [{"name": "app", "ready": true, "state": {"running": {}}}]
            }}),
        );
        assert_eq!(
            d,
            json!({"status": {
                "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "True"}],
                "containerStatuses": [{"name": "app", "ready": true, "state": {"running": {}}}]
            }})
        );
    }

    #[test]
    fn strategic_merge_patch_directives() {
        // $patch: delete of a list element, $patch: replace of a map and of a list.
        let mut d = json!({
            "metadata": {"labels": {"a": "1", "b": "2"}, "finalizers": ["x", "y"], "gone": ["q"]},
            "spec": {
                "containers": [{"name": "app"}, {"name": "side"}],
                "nodeSelector": {"zone": "a", "disk": "ssd"},
                "volumes": [{"name": "v", "emptyDir": {}}],
                "initContainers": [{"name": "i1"}, {"name": "i2"}]
            }
        });
        strategic_merge_patch(
            &mut d,
            &json!({
                "metadata": {"finalizers": ["z", "x"], "$deleteFromPrimitiveList/finalizers": ["y"], "$deleteFromPrimitiveList/gone": ["q"]},
                "spec": {
                    "containers": [{"name": "side", "$patch": "delete"}, {"name": "ghost", "$patch": "delete"}],
                    "nodeSelector": {"$patch": "replace", "zone": "b"},
                    "volumes": [{"name": "v", "$retainKeys": ["name", "configMap"], "configMap": {"name": "cm"}}],
                    "initContainers": [{"$patch": "replace"}, {"name": "i3"}]
                }
            }),
        );
        assert_eq!(
            d,
            json!({
                "metadata": {"labels": {"a": "1", "b": "2"}, "finalizers": ["x", "z"]},
                "spec": {
                    "containers": [{"name": "app"}],
                    "nodeSelector": {"zone": "b"},
                    "volumes": [{"name": "v", "configMap": {"name": "cm"}}],
                    "initContainers": [{"name": "i3"}]
                }
            })
        );
        // $patch: delete of a map, and $setElementOrder of a primitive list.
        let mut e = json!({"spec": {"affinity": {"nodeAffinity": {}}}, "metadata": {"finalizers": ["a", "b"]}});
        strategic_merge_patch(
            &mut e,
            &json!({"spec": {"affinity": {"$patch": "delete"}}, "metadata": {"$setElementOrder/finalizers": ["b", "a"]}}),
        );
        assert_eq!(
            e,
            json!({"spec": {}, "metadata": {"finalizers": ["b", "a"]}})
        );
        assert!(has_directive(&json!({"a": [{"$patch": "delete"}]})));
        assert!(!has_directive(&json!({"a": [{"b": "$patch"}]})));
    }

    #[test]
    fn deep_or_odd_bodies_do_not_panic() {
        let mut deep = json!(1);
        for _ in 0..200 {
            deep = json!({ "a": deep });
        }
        let mut d = json!({});
        strategic_merge_patch(&mut d, &deep);
        merge_patch(&mut d, &deep);
        strategic_merge_patch(&mut d, &json!("scalar"));
        strategic_merge_patch(&mut d, &json!({"containers": [1, {"name": null}, []]}));
        merge_patch(&mut d, &json!([1]));
        assert_eq!(d, json!([1]));
    }
}
