//! The rules file of `ktrail check`: what the pods of a recording must show (`expect`) and must
//! not show (`forbid`).
//!
//! Every value is validated while it is read, inside serde, so that the YAML reader attaches the
//! line, column and key path of the offending value to the error: a typo'd key, a bad glob, regex
//! or duration is reported as `FILE:LINE:COLUMN: rules[0].expect: …`. Every struct denies unknown
//! fields, at every level, because a misspelled key silently ignored is a check silently skipped.

use std::cell::RefCell;
use std::fmt;
use std::path::Path;

use chrono::Duration;
use globset::{GlobBuilder, GlobMatcher};
use regex::{Regex, RegexBuilder};
use serde::de::{self, Deserializer};
use serde::Deserialize;
use thiserror::Error;

use crate::time::parse_duration;

/// A rules file that cannot be used (exit code 2).
#[derive(Debug, Error)]
pub enum RulesError {
    #[error("cannot read the rules file {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A YAML syntax error, an unknown key, a wrong type or an invalid value, where it was found.
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// A problem with no position (an empty file).
    #[error("{path}: {message}")]
    File { path: String, message: String },
}

/// The rules of one file, validated.
#[derive(Debug, Clone)]
pub struct Rules {
    pub rules: Vec<Rule>,
}

/// One named rule: which pods it applies to, what they must show and what they must not.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub pods: PodMatch,
    pub expect: Expect,
    pub forbid: Forbid,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesSpec {
    rules: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    name: RuleName,
    #[serde(default)]
    pods: Option<PodMatch>,
    #[serde(default)]
    expect: Option<Expect>,
    #[serde(default)]
    forbid: Option<Forbid>,
}

impl<'de> Deserialize<'de> for Rule {
    /// The rule's mapping is read and checked as a whole inside the reader's mapping call, so that
    /// a rule-level error (it checks nothing) carries the rule's own line; `#[serde(try_from)]`
    /// would report the position of the enclosing list.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RuleVisitor;
        impl<'de> de::Visitor<'de> for RuleVisitor {
            type Value = Rule;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a rule (a mapping with name, pods, expect, forbid)")
            }

            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Rule, A::Error> {
                let spec = RuleSpec::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Rule::try_from(spec).map_err(de::Error::custom)
            }
        }
        d.deserialize_map(RuleVisitor)
    }
}

impl TryFrom<RuleSpec> for Rule {
    type Error = String;

    fn try_from(s: RuleSpec) -> Result<Rule, String> {
        let expect = s.expect.unwrap_or_default();
        let forbid = s.forbid.unwrap_or_default();
        if expect.is_empty() && forbid.is_empty() {
            return Err(format!(
                "rule {:?} checks nothing: give it an `expect` or a `forbid` key",
                s.name.0
            ));
        }
        Ok(Rule {
            name: s.name.0,
            pods: s.pods.unwrap_or_default(),
            expect,
            forbid,
        })
    }
}

thread_local! {
    /// The rule names read so far by `parse` on this thread. Duplicates are caught while the name
    /// is read, rather than after, so that the error carries the duplicate's line; serde offers no
    /// other way to pass state into a derived field.
    static NAMES_SEEN: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// A rule's name: not blank, and unique in its file (it names the JUnit test suite).
#[derive(Debug)]
struct RuleName(String);

impl RuleName {
    fn new(s: &str) -> Result<RuleName, String> {
        if s.trim().is_empty() {
            return Err("a rule name must not be blank".into());
        }
        NAMES_SEEN.with_borrow_mut(|seen| {
            if seen.iter().any(|n| n == s) {
                return Err(format!(
                    "{s:?} is the name of an earlier rule; rule names must be unique"
                ));
            }
            seen.push(s.to_owned());
            Ok(RuleName(s.to_owned()))
        })
    }
}

impl<'de> Deserialize<'de> for RuleName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(Validated(RuleName::new, "a rule name"))
    }
}

/// Which pods a rule applies to: globs over the namespace and the name; a missing key is "*".
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodMatch {
    #[serde(default)]
    pub namespace: Option<Glob>,
    #[serde(default)]
    pub name: Option<Glob>,
}

impl PodMatch {
    pub fn matches(&self, namespace: &str, name: &str) -> bool {
        self.namespace
            .as_ref()
            .is_none_or(|g| g.is_match(namespace))
            && self.name.as_ref().is_none_or(|g| g.is_match(name))
    }
}

/// What every matching pod must show.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Expect {
    /// `spec.schedulerName`, exactly.
    #[serde(default)]
    pub scheduler: Option<NonEmpty>,
    /// The node, matched by a regular expression (unanchored: use `^…$` for a whole name).
    #[serde(default)]
    pub node: Option<NodeRegex>,
    /// The user of the create request, exactly.
    #[serde(default)]
    pub created_by: Option<NonEmpty>,
    /// Webhooks that must have mutated the create, and paths they must have patched.
    #[serde(default)]
    pub mutated_by: Vec<MutatedBy>,
    /// Webhooks that must not mutate any write of the pod.
    #[serde(default)]
    pub not_mutated_by: Vec<NonEmpty>,
    /// Created → bound to a node, at most this long.
    #[serde(default)]
    pub bound_within: Option<Within>,
    /// Created → condition Ready=True, at most this long.
    #[serde(default)]
    pub ready_within: Option<Within>,
}

impl Expect {
    fn is_empty(&self) -> bool {
        self.scheduler.is_none()
            && self.node.is_none()
            && self.created_by.is_none()
            && self.mutated_by.is_empty()
            && self.not_mutated_by.is_empty()
            && self.bound_within.is_none()
            && self.ready_within.is_none()
    }
}

/// A webhook (by webhook or configuration name) that must have mutated the create.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MutatedBy {
    pub webhook: NonEmpty,
    /// JSON Pointer paths that must be among the paths the webhook patched (exact).
    #[serde(default)]
    pub paths: Vec<NonEmpty>,
}

/// What no matching pod may show.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Forbid {
    /// Webhook patches of these paths, unless made by one of the listed webhooks.
    #[serde(default)]
    pub mutations: Vec<ForbidMutation>,
    /// No webhook call may fail open.
    #[serde(default)]
    pub failed_open: bool,
    /// The create may not be denied.
    #[serde(default)]
    pub denied: bool,
    /// Paths built-in admission (no webhook) may not change on the create.
    #[serde(default)]
    pub builtin_changes: Vec<Glob>,
}

impl Forbid {
    fn is_empty(&self) -> bool {
        self.mutations.is_empty()
            && !self.failed_open
            && !self.denied
            && self.builtin_changes.is_empty()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ForbidMutation {
    pub paths: Vec<Glob>,
    #[serde(default)]
    pub unless_webhook: Vec<NonEmpty>,
}

/// A string that must not be empty (an empty name matches nothing and is always a mistake).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonEmpty(pub String);

impl NonEmpty {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NonEmpty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl NonEmpty {
    fn new(s: &str) -> Result<NonEmpty, String> {
        if s.is_empty() {
            return Err("empty string".into());
        }
        Ok(NonEmpty(s.to_owned()))
    }
}

impl<'de> Deserialize<'de> for NonEmpty {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(Validated(NonEmpty::new, "a non-empty string"))
    }
}

/// Reads a string and validates it inside the reader's scalar call, so that the YAML reader
/// attaches the scalar's own line, column and key path to a validation error (an error returned
/// after `String::deserialize` would only carry the enclosing mapping's position).
struct Validated<T>(fn(&str) -> Result<T, String>, &'static str);

impl<T> de::Visitor<'_> for Validated<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.1)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.0)(v).map_err(E::custom)
    }
}

/// A glob: `*` matches any run of characters, `/` included, `?` one character, `[a-z]` a class,
/// `{a,b}` alternatives.
#[derive(Debug, Clone)]
pub struct Glob {
    text: String,
    matcher: GlobMatcher,
}

impl Glob {
    pub fn new(text: &str) -> Result<Glob, String> {
        if text.is_empty() {
            return Err("empty glob".into());
        }
        let glob = GlobBuilder::new(text)
            .literal_separator(false)
            .build()
            .map_err(|e| format!("invalid glob {text:?}: {}", e.kind()))?;
        Ok(Glob {
            text: text.to_owned(),
            matcher: glob.compile_matcher(),
        })
    }

    pub fn is_match(&self, s: &str) -> bool {
        self.matcher.is_match(s)
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl<'de> Deserialize<'de> for Glob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(Validated(Glob::new, "a glob"))
    }
}

/// Regexes from a rules file are bounded in size: the file may come from anyone's pull request.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A regular expression over node names.
#[derive(Debug, Clone)]
pub struct NodeRegex(pub Regex);

impl NodeRegex {
    pub fn new(text: &str) -> Result<NodeRegex, String> {
        RegexBuilder::new(text)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map(NodeRegex)
            .map_err(|e| format!("invalid regex {text:?}: {}", regex_reason(&e)))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl<'de> Deserialize<'de> for NodeRegex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(Validated(NodeRegex::new, "a regular expression"))
    }
}

/// The regex crate's syntax errors span several lines (the pattern, a caret, the reason): keep
/// the reason, which is what fits on one diagnostic line.
fn regex_reason(e: &regex::Error) -> String {
    let text = e.to_string();
    match text.lines().rev().find_map(|l| l.strip_prefix("error: ")) {
        Some(reason) => reason.to_owned(),
        None => text.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// A time limit written like `120s`, `2m`, `1h30m` or `500ms`.
#[derive(Debug, Clone)]
pub struct Within {
    pub text: String,
    pub limit: Duration,
}

impl Within {
    pub fn new(text: &str) -> Result<Within, String> {
        match parse_duration(text) {
            Some(limit) => Ok(Within {
                text: text.trim().to_owned(),
                limit,
            }),
            None => Err(format!(
                "invalid duration {text:?}: write a number with a unit, like 120s, 2m, 1h30m or 500ms"
            )),
        }
    }

    pub fn seconds(&self) -> f64 {
        self.limit.num_milliseconds() as f64 / 1e3
    }
}

impl<'de> Deserialize<'de> for Within {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(Validated(Within::new, "a duration like 120s, 2m or 1h30m"))
    }
}

/// Reads and validates a rules file.
pub fn load(path: &Path) -> Result<Rules, RulesError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| RulesError::Io {
        path: name.clone(),
        source,
    })?;
    parse(&name, &text)
}

/// Parses the text of a rules file; `path` is the name errors carry.
pub fn parse(path: &str, text: &str) -> Result<Rules, RulesError> {
    if text.trim().is_empty() {
        return Err(RulesError::File {
            path: path.to_owned(),
            message: "the file is empty: it needs a `rules:` list".into(),
        });
    }
    NAMES_SEEN.with_borrow_mut(Vec::clear);
    let spec = serde_yaml_ng::from_str::<RulesSpec>(text);
    NAMES_SEEN.with_borrow_mut(Vec::clear);
    let spec = spec.map_err(|e| yaml_error(path, &e))?;
    if spec.rules.is_empty() {
        return Err(RulesError::File {
            path: path.to_owned(),
            message: "`rules` is empty: a check with no rule proves nothing".into(),
        });
    }
    Ok(Rules { rules: spec.rules })
}

fn yaml_error(path: &str, e: &serde_yaml_ng::Error) -> RulesError {
    let mut message = e.to_string();
    match e.location() {
        Some(loc) => {
            // The reader appends the position to its message; it goes in front here instead.
            let suffix = format!(" at line {} column {}", loc.line(), loc.column());
            if let Some(m) = message.strip_suffix(&suffix) {
                message = m.to_owned();
            }
            RulesError::Invalid {
                path: path.to_owned(),
                line: loc.line(),
                column: loc.column(),
                message,
            }
        }
        None => RulesError::File {
            path: path.to_owned(),
            message,
        },
    }
}

#[cfg(test)]
mod tests;
