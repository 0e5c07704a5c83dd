//! Validation of every value that ends up in a Logs Insights query or a filter pattern.
//!
//! Names are spliced into query text, so anything that is not a valid Kubernetes name, uid,
//! EKS cluster name or CloudWatch log group name is refused before a query is built: no quote,
//! pipe, slash, regex metacharacter or newline can reach the server. Namespaces and names are held
//! to the engine's rule (`ktrail_core::names`), the one the command line applies to files too, so
//! both refuse a name with the same sentence.

use ktrail_core::names::{self, InvalidName};

use super::CwError;

/// What kind of value is being validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// A namespace: a DNS-1123 label (at most 63 characters, no dots).
    Namespace,
    /// A pod's name: a DNS-1123 subdomain (at most 253 characters).
    Pod,
    /// Any other object's name: a DNS-1123 subdomain.
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
            NameKind::Namespace => names::NameKind::Namespace.label(),
            NameKind::Pod => names::NameKind::Pod.label(),
            NameKind::Name => names::NameKind::Object.label(),
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

impl From<InvalidName> for CwError {
    fn from(e: InvalidName) -> Self {
        CwError::InvalidName {
            kind: e.kind,
            value: e.value,
            reason: e.reason,
        }
    }
}

/// Refuses `s` when it is longer than `max` bytes.
fn at_most(kind: NameKind, s: &str, max: usize, reason: &'static str) -> Result<(), CwError> {
    if s.len() > max {
        return Err(invalid(kind, s, reason));
    }
    Ok(())
}

/// Refuses `s` when a byte of it is not `allowed`.
fn only(
    kind: NameKind,
    s: &str,
    allowed: fn(u8) -> bool,
    reason: &'static str,
) -> Result<(), CwError> {
    if !s.bytes().all(allowed) {
        return Err(invalid(kind, s, reason));
    }
    Ok(())
}

/// Checks that `s` is a valid value of `kind`; see [`NameKind`] for the rules.
pub fn validate_k8s_name(kind: NameKind, s: &str) -> Result<(), CwError> {
    let k8s = match kind {
        NameKind::Namespace => Some(names::NameKind::Namespace),
        NameKind::Pod => Some(names::NameKind::Pod),
        NameKind::Name => Some(names::NameKind::Object),
        NameKind::Uid | NameKind::Cluster | NameKind::LogGroup => None,
    };
    if let Some(k) = k8s {
        return Ok(names::validate(k, s)?);
    }
    if s.is_empty() {
        return Err(invalid(kind, s, "it is empty"));
    }
    match kind {
        NameKind::Namespace | NameKind::Pod | NameKind::Name => Ok(()),
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
                    "CloudWatch Logs is searched by a whole uid, a UUID like 3f2b6c1e-9d4a-4b8e-a1c2-0e5f7a9b1c3d (a prefix is enough with files and samples)",
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
    use ktrail_core::names::examples;

    #[test]
    fn accepts_valid_names() {
        for (kind, ok) in examples::valid() {
            let kind = match kind {
                names::NameKind::Namespace => NameKind::Namespace,
                names::NameKind::Pod => NameKind::Pod,
                names::NameKind::Object => NameKind::Name,
            };
            validate_k8s_name(kind, ok).expect(ok);
        }
        validate_k8s_name(NameKind::Uid, "3f2b6c1e-9d4a-4b8e-a1c2-0e5f7a9b1c3d").expect("uid");
        validate_k8s_name(NameKind::Cluster, "ironman-2022").expect("cluster");
        validate_k8s_name(NameKind::Cluster, "My_Cluster-1").expect("cluster");
        validate_k8s_name(NameKind::LogGroup, "/aws/eks/ironman-2022/cluster").expect("group");
    }

    #[test]
    fn refuses_injection_attempts() {
        for kind in [NameKind::Name, NameKind::Pod, NameKind::Namespace] {
            for s in examples::NOT_NAMES {
                assert!(
                    validate_k8s_name(kind, s).is_err(),
                    "{kind:?} {s:?} accepted"
                );
            }
        }
        assert!(validate_k8s_name(NameKind::Namespace, "a.b").is_err());
        assert!(validate_k8s_name(NameKind::Name, &"a".repeat(254)).is_err());
        assert!(validate_k8s_name(NameKind::Namespace, &"a".repeat(64)).is_err());
        let (long_cluster, long_group) = ("a".repeat(101), "a".repeat(513));
        let refused: [(NameKind, &[&str]); 3] = [
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
                assert!(validate_k8s_name(kind, s).is_err(), "{kind:?} {s:?}");
            }
        }
    }

    #[test]
    fn message_is_one_sentence_naming_the_value() {
        let e = validate_k8s_name(NameKind::Name, "ngi'nx").unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("invalid name \"ngi'nx\": "), "{msg}");
        assert!(!msg.contains('\n'));
    }
}
