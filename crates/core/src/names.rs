//! The one rule for the Kubernetes names a user selects pods by: a namespace is a DNS-1123 label,
//! a pod (or other object) name a DNS-1123 subdomain. The command line checks a selection by it
//! whatever the source, and the CloudWatch source checks every name it splices into a query by it,
//! so a name is refused with the same sentence for files and for CloudWatch Logs.

use std::fmt;

/// Which rule a value is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// A namespace: a DNS-1123 label (at most 63 characters, no dots).
    Namespace,
    /// A pod's name: a DNS-1123 subdomain (at most 253 characters).
    Pod,
    /// Any other object's name (e.g. a webhook configuration): a DNS-1123 subdomain.
    Object,
}

impl NameKind {
    /// The words used in messages.
    pub fn label(self) -> &'static str {
        match self {
            NameKind::Namespace => "namespace",
            NameKind::Pod => "pod name",
            NameKind::Object => "name",
        }
    }
}

/// A refused value: what it was meant to be, the value, and why it is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidName {
    pub kind: &'static str,
    pub value: String,
    pub reason: &'static str,
}

impl fmt::Display for InvalidName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {} {:?}: {}", self.kind, self.value, self.reason)
    }
}

impl std::error::Error for InvalidName {}

fn invalid(kind: NameKind, s: &str, reason: &'static str) -> InvalidName {
    InvalidName {
        kind: kind.label(),
        value: s.to_string(),
        reason,
    }
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn check_label(kind: NameKind, whole: &str, label: &str) -> Result<(), InvalidName> {
    let b = label.as_bytes();
    if b.is_empty() {
        return Err(invalid(kind, whole, "it has an empty part between dots"));
    }
    if b.len() > 63 {
        return Err(invalid(kind, whole, "a DNS label is at most 63 characters"));
    }
    if !b.iter().all(|&c| is_lower_alnum(c) || c == b'-') {
        return Err(invalid(
            kind,
            whole,
            "only lowercase letters, digits, '-' and '.' are allowed in Kubernetes names",
        ));
    }
    if !is_lower_alnum(b[0]) || !is_lower_alnum(b[b.len() - 1]) {
        return Err(invalid(
            kind,
            whole,
            "it must start and end with a lowercase letter or digit",
        ));
    }
    Ok(())
}

/// Checks that `s` is a valid value of `kind`; see [`NameKind`] for the rules.
pub fn validate(kind: NameKind, s: &str) -> Result<(), InvalidName> {
    if s.is_empty() {
        return Err(invalid(kind, s, "it is empty"));
    }
    match kind {
        NameKind::Namespace => {
            if s.contains('.') {
                return Err(invalid(
                    kind,
                    s,
                    "a namespace is a DNS label and has no dots",
                ));
            }
            check_label(kind, s, s)
        }
        NameKind::Pod | NameKind::Object => {
            if s.len() > 253 {
                return Err(invalid(kind, s, "a name is at most 253 characters"));
            }
            for label in s.split('.') {
                check_label(kind, s, label)?;
            }
            Ok(())
        }
    }
}

/// Values the rules above accept and refuse, for their tests and for those of the checks built on
/// them (the CloudWatch source splices names into queries, so the refused ones include injection
/// attempts).
#[cfg(any(test, feature = "test-fixtures"))]
pub mod examples {
    /// Valid pod and object names.
    pub const NAMES: [&str; 5] = [
        "nginx",
        "a",
        "nginx-7d9c4b-x2x9q",
        "a.b.c",
        "0500-amazon-eks-fargate-mutation.amazonaws.com",
    ];
    /// Valid namespaces.
    pub const NAMESPACES: [&str; 4] = ["default", "fargate-ns", "kube-system", "a1"];

    /// Each valid name with each kind that accepts it.
    pub fn valid() -> impl Iterator<Item = (super::NameKind, &'static str)> {
        use super::NameKind::{Namespace, Object, Pod};
        let names = NAMES.into_iter().flat_map(|n| [(Pod, n), (Object, n)]);
        names.chain(NAMESPACES.map(|n| (Namespace, n)))
    }
    /// No namespace, pod name or object name.
    pub const NOT_NAMES: [&str; 34] = [
        "",
        "nginx'",
        "ngi'nx",
        "nginx\"",
        "nginx' or verb == 'get",
        "a|b",
        "nginx | limit 1",
        "a/b",
        "../etc",
        "nginx\n| stats count()",
        "nginx\r",
        "a.*",
        "a+",
        "(a)",
        "[a]",
        "a$",
        "^a",
        "a\\b",
        "a b",
        "Nginx",
        "Bad_Name",
        "-nginx",
        "nginx-",
        "a..b",
        ".a",
        "a{1}",
        "a?",
        "a#",
        "ä",
        "a\u{0}",
        "a`",
        "a;b",
        "a&&b",
        "a}b",
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_names() {
        for (kind, ok) in examples::valid() {
            validate(kind, ok).expect(ok);
        }
    }

    #[test]
    fn refuses_what_is_no_kubernetes_name() {
        for kind in [NameKind::Pod, NameKind::Namespace, NameKind::Object] {
            for s in examples::NOT_NAMES {
                assert!(validate(kind, s).is_err(), "{kind:?} {s:?} accepted");
            }
        }
        assert!(validate(NameKind::Namespace, "a.b").is_err());
        assert!(validate(NameKind::Pod, &"a".repeat(254)).is_err());
        assert!(validate(NameKind::Namespace, &"a".repeat(64)).is_err());
    }

    #[test]
    fn message_is_one_sentence_naming_what_and_the_value() {
        let msg = validate(NameKind::Pod, "ngi'nx").unwrap_err().to_string();
        assert!(msg.starts_with("invalid pod name \"ngi'nx\": "), "{msg}");
        assert!(!msg.contains('\n'));
        let msg = validate(NameKind::Namespace, "").unwrap_err().to_string();
        assert_eq!(msg, "invalid namespace \"\": it is empty");
    }
}
