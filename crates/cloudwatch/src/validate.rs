//! Validation of every value that ends up in a Logs Insights query or a filter pattern.
//!
//! Names are spliced into query text, so anything that is not a valid Kubernetes name, uid,
//! EKS cluster name or CloudWatch log group name is refused before a query is built: no quote,
//! pipe, slash, regex metacharacter or newline can reach the server.

use super::CwError;

/// What kind of value is being validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// A namespace: a DNS-1123 label (at most 63 characters, no dots).
    Namespace,
    /// A pod (or other object) name: a DNS-1123 subdomain (at most 253 characters).
    Name,
    /// An object uid: a UUID.
    Uid,
    /// An EKS cluster name: letters, digits, `-` and `_`, starting with a letter or digit.
    Cluster,
    /// A CloudWatch log group name: letters, digits and `._-/#`, at most 512 characters.
    LogGroup,
}

impl NameKind {
    /// The words used in messages.
    pub fn label(self) -> &'static str {
        match self {
            NameKind::Namespace => "namespace",
            NameKind::Name => "name",
            NameKind::Uid => "uid",
            NameKind::Cluster => "cluster name",
            NameKind::LogGroup => "log group name",
        }
    }
}

fn invalid(kind: NameKind, s: &str, reason: &'static str) -> CwError {
    CwError::InvalidName {
        kind: kind.label(),
        value: s.to_string(),
        reason,
    }
}

/// Refuses `s` for `reason` when it is longer than `max` bytes.
fn at_most(kind: NameKind, s: &str, max: usize, reason: &'static str) -> Result<(), CwError> {
    if s.len() > max {
        return Err(invalid(kind, s, reason));
    }
    Ok(())
}

/// Refuses `s` for `reason` unless every byte of it is `allowed`.
fn only(
    kind: NameKind,
    s: &str,
    allowed: impl Fn(u8) -> bool,
    reason: &'static str,
) -> Result<(), CwError> {
    if !s.bytes().all(allowed) {
        return Err(invalid(kind, s, reason));
    }
    Ok(())
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn check_label(kind: NameKind, whole: &str, label: &str) -> Result<(), CwError> {
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
pub fn validate_k8s_name(kind: NameKind, s: &str) -> Result<(), CwError> {
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
        NameKind::Name => {
            at_most(kind, s, 253, "a name is at most 253 characters")?;
            for label in s.split('.') {
                check_label(kind, s, label)?;
            }
            Ok(())
        }
        NameKind::Uid => {
            let b = s.as_bytes();
            let ok = b.len() == 36
                && b.iter().enumerate().all(|(i, &c)| match i {
                    8 | 13 | 18 | 23 => c == b'-',
                    _ => c.is_ascii_hexdigit(),
                });
            if ok {
                Ok(())
            } else {
                Err(invalid(
                    kind,
                    s,
                    "a uid is a UUID like 3f2b6c1e-9d4a-4b8e-a1c2-0e5f7a9b1c3d",
                ))
            }
        }
        NameKind::Cluster => {
            at_most(
                kind,
                s,
                100,
                "an EKS cluster name is at most 100 characters",
            )?;
            if !s.as_bytes()[0].is_ascii_alphanumeric() {
                return Err(invalid(kind, s, "it must start with a letter or digit"));
            }
            only(
                kind,
                s,
                |c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_',
                "only letters, digits, '-' and '_' are allowed in an EKS cluster name",
            )
        }
        NameKind::LogGroup => {
            at_most(kind, s, 512, "a log group name is at most 512 characters")?;
            only(
                kind,
                s,
                |c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b'/' | b'#'),
                "only letters, digits and '.', '-', '_', '/', '#' are allowed in a log group name",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_names() {
        for ok in [
            "nginx",
            "a",
            "nginx-7d9c4b-x2x9q",
            "a.b.c",
            "0500-amazon-eks-fargate-mutation.amazonaws.com",
        ] {
            validate_k8s_name(NameKind::Name, ok).expect(ok);
        }
        for ok in ["default", "fargate-ns", "kube-system", "a1"] {
            validate_k8s_name(NameKind::Namespace, ok).expect(ok);
        }
        validate_k8s_name(NameKind::Uid, "3f2b6c1e-9d4a-4b8e-a1c2-0e5f7a9b1c3d").expect("uid");
        validate_k8s_name(NameKind::Cluster, "ironman-2022").expect("cluster");
        validate_k8s_name(NameKind::Cluster, "My_Cluster-1").expect("cluster");
        validate_k8s_name(NameKind::LogGroup, "/aws/eks/ironman-2022/cluster").expect("group");
    }

    #[test]
    fn refuses_injection_attempts() {
        let bad = [
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
        let (long_cluster, long_group) = ("a".repeat(101), "a".repeat(513));
        let refused: [(NameKind, &[&str]); 5] = [
            (NameKind::Name, &bad),
            (NameKind::Namespace, &bad),
            (
                NameKind::Uid,
                &[
                    "3f2b6c1e-9d4a-4b8e-a1c2-0e5f7a9b1c3",
                    "3f2b6c1e-9d4a-4b8e-a1c2-0e5f7a9b1c3d'",
                    "3f2b6c1e_9d4a-4b8e-a1c2-0e5f7a9b1c3d",
                    "zf2b6c1e-9d4a-4b8e-a1c2-0e5f7a9b1c3d",
                    "3f2b6c1e-9d4a-4b8e-a1c2-0e5f7a9b1c3|",
                ],
            ),
            (
                NameKind::Cluster,
                &["", "-x", "a b", "a'b", "a/b", "a|b", "a\nb", &long_cluster],
            ),
            (
                NameKind::LogGroup,
                &["", "a b", "a'b", "a|b", "a\nb", "a*", "a\"", &long_group],
            ),
        ];
        for (kind, values) in refused {
            for s in values {
                assert!(
                    validate_k8s_name(kind, s).is_err(),
                    "{kind:?} {s:?} accepted"
                );
            }
        }
        assert!(validate_k8s_name(NameKind::Namespace, "a.b").is_err());
        assert!(validate_k8s_name(NameKind::Name, &"a".repeat(254)).is_err());
        assert!(validate_k8s_name(NameKind::Namespace, &"a".repeat(64)).is_err());
    }

    #[test]
    fn message_is_one_sentence_naming_the_value() {
        let e = validate_k8s_name(NameKind::Name, "ngi'nx").unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("invalid name \"ngi'nx\": "), "{msg}");
        assert!(!msg.contains('\n'));
    }
}
