//! Writes one audit event as the API server does: fields in the `audit.k8s.io/v1` struct order,
//! strings escaped the way Go's `encoding/json` escapes them (`&`, `<`, `>` as `\u0026`…),
//! annotation keys sorted (Go sorts map keys). Bodies (`requestObject`, `responseObject`) are
//! serde values, written with serde_json.

use serde_json::Value;

use super::rng::{push_time, Micros};

/// Appends `s` as a JSON string, escaped as Go escapes it.
pub fn push_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            c if (c as u32) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends `,"key":`, the start of every member but an object's first.
fn push_key(out: &mut String, key: &str) {
    out.push_str(",\"");
    out.push_str(key);
    out.push_str("\":");
}

/// Appends a serde value as compact JSON.
pub fn push_value(out: &mut String, v: &Value) {
    // Serializing a `Value` into a String cannot fail.
    out.push_str(&serde_json::to_string(v).unwrap_or_else(|_| "null".into()));
}

/// A small stable hash, to give each principal the same made-up ids in every corpus.
pub fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The `user` object of a principal, as EKS's authenticator fills it in.
pub fn push_user(out: &mut String, username: &str) {
    out.push_str("{\"username\":");
    push_str(out, username);
    let h = fnv(username);
    if let Some(node) = username.strip_prefix("system:node:") {
        let sts_name = if node.starts_with("fargate-") {
            node.to_owned()
        } else {
            format!("i-0{:016x}", h)
        };
        out.push_str(&format!(
            ",\"uid\":\"aws-iam-authenticator:111122223333:AROAX5EXAMPLENODE{:04}\",\"groups\":[\"system:bootstrappers\",\"system:nodes\",\"system:authenticated\"],\"extra\":{{\"accessKeyId\":[\"ASIAX5EXAMPLE{:07}\"],\"arn\":[\"arn:aws:sts::111122223333:assumed-role/eks-prod-node-role/{sts_name}\"],\"canonicalArn\":[\"arn:aws:iam::111122223333:role/eks-prod-node-role\"],\"principalId\":[\"AROAX5EXAMPLENODE0001\"],\"sessionName\":[\"{sts_name}\"]}}}}",
            h % 10_000,
            h % 10_000_000,
        ));
    } else if let Some(sa) = username.strip_prefix("system:serviceaccount:") {
        let ns = sa.split(':').next().unwrap_or("default");
        out.push_str(&format!(
            ",\"uid\":\"{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}\",\"groups\":[\"system:serviceaccounts\",\"system:serviceaccounts:{ns}\",\"system:authenticated\"]}}",
            h >> 32,
            (h >> 16) & 0xffff,
            h & 0xfff,
            (h >> 12) & 0xfff,
            h & 0xffff_ffff_ffff
        ));
    } else if username.starts_with("system:") || username.starts_with("eks:") {
        out.push_str(",\"groups\":[\"system:authenticated\"]}");
    } else {
        let (group, role) = match username {
            "kubernetes-admin" => ("system:masters", "ClusterAdmin"),
            "platform-ci" => ("platform-admins", "PlatformCI"),
            _ => ("developers", "Developer"),
        };
        out.push_str(&format!(
            ",\"uid\":\"aws-iam-authenticator:111122223333:AROAX5EXAMPLE{:07}\",\"groups\":[\"{group}\",\"system:authenticated\"],\"extra\":{{\"arn\":[\"arn:aws:sts::111122223333:assumed-role/{role}/{username}\"],\"canonicalArn\":[\"arn:aws:iam::111122223333:role/{role}\"],\"principalId\":[\"AROAX5EXAMPLE{:07}\"],\"sessionName\":[\"{username}\"]}}}}",
            h % 10_000_000,
            h % 10_000_000,
        ));
    }
}

/// The `objectRef` of an event.
#[derive(Debug, Clone, Default)]
pub struct ObjRef<'a> {
    pub resource: &'a str,
    pub namespace: Option<&'a str>,
    pub name: Option<&'a str>,
    pub uid: Option<&'a str>,
    pub api_group: Option<&'a str>,
    pub api_version: &'a str,
    pub resource_version: Option<&'a str>,
    pub subresource: Option<&'a str>,
}

impl ObjRef<'_> {
    fn push(&self, out: &mut String) {
        out.push_str("{\"resource\":");
        push_str(out, self.resource);
        for (k, v) in [
            ("namespace", self.namespace),
            ("name", self.name),
            ("uid", self.uid),
            ("apiGroup", self.api_group),
            ("apiVersion", Some(self.api_version)),
            ("resourceVersion", self.resource_version),
            ("subresource", self.subresource),
        ] {
            if let Some(v) = v {
                push_key(out, k);
                push_str(out, v);
            }
        }
        out.push('}');
    }
}

/// One audit event to write.
#[derive(Debug, Clone)]
pub struct Ev<'a> {
    pub level: &'static str,
    pub audit_id: &'a str,
    pub stage: &'static str,
    pub uri: &'a str,
    pub verb: &'a str,
    pub user: &'a str,
    pub source_ip: &'a str,
    pub user_agent: &'a str,
    pub object_ref: ObjRef<'a>,
    pub code: i64,
    /// `Failure` with a message and a reason, for refused requests.
    pub failure: Option<(&'a str, &'a str)>,
    pub request: Option<&'a Value>,
    pub response: Option<&'a Value>,
    pub received: Micros,
    pub at: Micros,
    /// Sorted by key when written.
    pub annotations: Vec<(String, String)>,
}

impl Ev<'_> {
    /// The event as one line (no newline).
    pub fn line(&self) -> String {
        let mut out = String::with_capacity(2048);
        out.push_str("{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\"");
        for (key, value) in [
            ("level", self.level),
            ("auditID", self.audit_id),
            ("stage", self.stage),
            ("requestURI", self.uri),
            ("verb", self.verb),
        ] {
            push_key(&mut out, key);
            push_str(&mut out, value);
        }
        push_key(&mut out, "user");
        push_user(&mut out, self.user);
        push_key(&mut out, "sourceIPs");
        out.push('[');
        push_str(&mut out, self.source_ip);
        out.push(']');
        push_key(&mut out, "userAgent");
        push_str(&mut out, self.user_agent);
        push_key(&mut out, "objectRef");
        self.object_ref.push(&mut out);
        out.push_str(",\"responseStatus\":{\"metadata\":{}");
        if let Some((message, reason)) = self.failure {
            out.push_str(",\"status\":\"Failure\",\"message\":");
            push_str(&mut out, message);
            out.push_str(",\"reason\":");
            push_str(&mut out, reason);
        }
        out.push_str(&format!(",\"code\":{}}}", self.code));
        for (key, body) in [
            ("requestObject", self.request),
            ("responseObject", self.response),
        ] {
            if let Some(v) = body {
                push_key(&mut out, key);
                push_value(&mut out, v);
            }
        }
        for (key, t) in [
            ("requestReceivedTimestamp", self.received),
            ("stageTimestamp", self.at),
        ] {
            push_key(&mut out, key);
            out.push('"');
            push_time(&mut out, t);
            out.push('"');
        }
        out.push_str(",\"annotations\":{");
        let mut ann: Vec<&(String, String)> = self.annotations.iter().collect();
        ann.sort();
        for (i, (k, v)) in ann.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_str(&mut out, k);
            out.push(':');
            push_str(&mut out, v);
        }
        out.push_str("}}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_json_with_go_escapes() {
        let body = serde_json::json!({"kind":"DeleteOptions","apiVersion":"v1"});
        let ev = Ev {
            level: "RequestResponse",
            audit_id: "a",
            stage: "ResponseComplete",
            uri: "/api/v1/namespaces/x/pods?a=1&b=<2>",
            verb: "delete",
            user: "system:node:ip-10-0-1-2.us-west-2.compute.internal",
            source_ip: "10.0.1.2",
            user_agent: "kubelet/v1.29.3",
            object_ref: ObjRef {
                resource: "pods",
                namespace: Some("x"),
                name: Some("p"),
                api_version: "v1",
                ..Default::default()
            },
            code: 200,
            failure: Some(("no \"way\"\n", "Forbidden")),
            request: Some(&body),
            response: None,
            received: 1,
            at: 2,
            annotations: vec![("z".into(), "1".into()), ("a".into(), "{\"x\":1}".into())],
        };
        let line = ev.line();
        assert!(line.contains("a=1\\u0026b=\\u003c2\\u003e"), "{line}");
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["requestURI"], "/api/v1/namespaces/x/pods?a=1&b=<2>");
        assert_eq!(v["user"]["groups"][1], "system:nodes");
        assert_eq!(v["responseStatus"]["message"], "no \"way\"\n");
        assert_eq!(v["stageTimestamp"], "1970-01-01T00:00:00.000002Z");
        assert!(line.find("\"a\":").unwrap() < line.find("\"z\":").unwrap());
        for u in [
            "system:serviceaccount:kube-system:job-controller",
            "alice",
            "eks:x",
        ] {
            let mut s = String::new();
            push_user(&mut s, u);
            let v: Value = serde_json::from_str(&s).unwrap();
            assert_eq!(v["username"], u);
        }
    }
}
