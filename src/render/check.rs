//! The check's verdict as a table for people, JSON for programs, JUnit XML for CI systems and
//! Markdown for a pull-request comment. Rule names come from a rules file and everything else from
//! a log: all of it is escaped for the format it lands in.

use std::io::{self, Write};

use crate::render::{Paint, Style};
use ktrail_core::check::eval::{CheckReport, PodResult, RuleResult, Status, Violation};
use ktrail_core::escape::{escape, markdown_cell as cell};

/// The formats of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Junit,
    Markdown,
}

pub fn render(
    report: &CheckReport,
    format: Format,
    style: Style,
    w: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Table => table(report, style, w),
        Format::Json => crate::render::json(report, w),
        Format::Junit => junit(report, w),
        Format::Markdown => markdown(report, w),
    }
}

/// How a rule's verdict reads in a sentence.
fn status_word(rule: &RuleResult, require_match: bool) -> &'static str {
    match rule.status {
        Status::Pass => "PASS",
        Status::Fail => "FAIL",
        Status::Unmatched if require_match => "FAIL",
        Status::Unmatched => "WARN",
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `2 pods`, `1 of 5 pods, 2 violations`, `no pod matched`.
fn rule_counts(rule: &RuleResult) -> String {
    match rule.status {
        Status::Unmatched => "no pod matched".into(),
        Status::Pass => plural(rule.pods.len(), "pod", "pods"),
        Status::Fail => format!(
            "{} of {}, {}",
            rule.failed_pods(),
            plural(rule.pods.len(), "pod", "pods"),
            plural(rule.violations(), "violation", "violations")
        ),
    }
}

/// `create at 2022-…Z, auditID …`, or a note when the log has no event to show.
fn event_text(v: &Violation) -> String {
    match &v.event {
        Some(e) => format!(
            "{} at {}, auditID {}",
            e.kind,
            e.time,
            e.audit_id.as_deref().unwrap_or("(none logged)")
        ),
        None => "(no event in the log)".into(),
    }
}

/// The one-line verdict at the end of the table.
fn verdict(report: &CheckReport) -> String {
    let s = &report.summary;
    if report.passed {
        let mut v = format!(
            "check passed: {} over {}",
            plural(s.rules - s.rules_unmatched, "rule holds", "rules hold"),
            plural(s.pods, "pod", "pods")
        );
        if s.rules_unmatched > 0 {
            v.push_str(&format!(
                "; {} matched no pod",
                plural(s.rules_unmatched, "rule", "rules")
            ));
        }
        v
    } else {
        let mut v = format!(
            "check failed: {} of {} broken, {} in {}",
            s.rules_failed,
            plural(s.rules, "rule", "rules"),
            plural(s.violations, "violation", "violations"),
            plural(s.pods_failed, "pod", "pods")
        );
        if s.rules_unmatched > 0 {
            v.push_str(&format!(
                "; {} matched no pod",
                plural(s.rules_unmatched, "rule", "rules")
            ));
        }
        v
    }
}

pub fn table(report: &CheckReport, style: Style, w: &mut dyn Write) -> io::Result<()> {
    let width = report
        .rules
        .iter()
        .map(|r| escape(&r.name).chars().count())
        .max()
        .unwrap_or(0);
    for rule in &report.rules {
        let word = status_word(rule, report.require_match);
        let word = match word {
            "PASS" => style.paint(Paint::Good, word),
            "FAIL" => style.paint(Paint::Bad, word),
            _ => style.bold(word),
        };
        let name = escape(&rule.name);
        let pad = width.saturating_sub(name.chars().count());
        writeln!(
            w,
            "{word}  {name}{}  {}",
            " ".repeat(pad),
            rule_counts(rule)
        )?;
    }
    for rule in &report.rules {
        for pod in rule.pods.iter() {
            let pod = pod?;
            for v in &pod.violations {
                writeln!(w)?;
                writeln!(
                    w,
                    "{} {}",
                    style.paint(Paint::Bad, "VIOLATION"),
                    escape(&rule.name)
                )?;
                writeln!(w, "  pod:       {}", escape(&pod.title_with_uid()))?;
                writeln!(w, "  check:     {}", escape(&v.check))?;
                writeln!(w, "  expected:  {}", escape(&v.expected))?;
                writeln!(w, "  log shows: {}", escape(&v.found))?;
                writeln!(w, "  event:     {}", escape(&event_text(v)))?;
            }
        }
    }
    writeln!(w)?;
    writeln!(w, "{}", verdict(report))
}

pub fn markdown(report: &CheckReport, w: &mut dyn Write) -> io::Result<()> {
    writeln!(
        w,
        "### ktrail check {}\n",
        if report.passed { "passed" } else { "failed" }
    )?;
    writeln!(
        w,
        "| rule | result | pods | violations |\n|---|---|---|---|"
    )?;
    for rule in &report.rules {
        let result = match (rule.status, report.require_match) {
            (Status::Pass, _) => "✅ pass",
            (Status::Fail, _) => "❌ fail",
            (Status::Unmatched, true) => "❌ no pod matched",
            (Status::Unmatched, false) => "⚠️ no pod matched",
        };
        writeln!(
            w,
            "| {} | {result} | {} | {} |",
            cell(&rule.name),
            rule.pods.len(),
            rule.violations()
        )?;
    }
    if report.summary.violations > 0 {
        writeln!(w, "\n#### Violations\n")?;
        writeln!(
            w,
            "| rule | pod | check | expected | log shows | event |\n|---|---|---|---|---|---|"
        )?;
        for rule in &report.rules {
            for pod in rule.pods.iter() {
                let pod = pod?;
                for v in &pod.violations {
                    writeln!(
                        w,
                        "| {} | {} | {} | {} | {} | {} |",
                        cell(&rule.name),
                        cell(&pod.title_with_uid()),
                        cell(&v.check),
                        cell(&v.expected),
                        cell(&v.found),
                        cell(&event_text(v))
                    )?;
                }
            }
        }
    }
    writeln!(w, "\n{}", cell(&verdict(report)))
}

/// Text for XML content or an attribute value: unsafe characters made visible first (this also
/// removes every character XML 1.0 forbids below U+0020), then the two noncharacters XML 1.0 also
/// forbids, then the markup characters as entities.
pub fn xml(s: &str) -> String {
    let safe = escape(s);
    let mut out = String::with_capacity(safe.len() + 8);
    for c in safe.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\u{FFFE}' | '\u{FFFF}' => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// The failure of one pod under one rule: a short message and every violation in full.
fn failure(pod: &PodResult) -> (String, String, String) {
    let first = &pod.violations[0];
    let (message, kind) = if pod.violations.len() == 1 {
        (
            format!(
                "{}: expected {}; log shows {}",
                first.check, first.expected, first.found
            ),
            first.check.clone(),
        )
    } else {
        let mut checks: Vec<&str> = Vec::new();
        for v in &pod.violations {
            if !checks.contains(&v.check.as_str()) {
                checks.push(&v.check);
            }
        }
        (
            format!("{} violations: {}", pod.violations.len(), checks.join(", ")),
            checks.join(","),
        )
    };
    let body = pod
        .violations
        .iter()
        .map(|v| {
            [
                format!("check: {}", xml(&v.check)),
                format!("expected: {}", xml(&v.expected)),
                format!("log shows: {}", xml(&v.found)),
                format!("event: {}", xml(&event_text(v))),
            ]
            .join("\n")
        })
        .collect::<Vec<_>>()
        .join("\n\n");
    (xml(&message), xml(&kind), body)
}

/// JUnit XML: a testsuite per rule, a testcase per matched pod, a `<failure>` on each pod that
/// breaks the rule (one per testcase, as JUnit readers expect; its text lists every violation).
/// A rule that matched no pod holds one testcase, skipped, or failed with `--require-match`.
pub fn junit(report: &CheckReport, w: &mut dyn Write) -> io::Result<()> {
    let unmatched_fails = report.require_match;
    let tests: usize = report.rules.iter().map(|r| r.pods.len().max(1)).sum();
    let failures = report
        .rules
        .iter()
        .map(RuleResult::failed_pods)
        .sum::<usize>()
        + if unmatched_fails {
            report.summary.rules_unmatched
        } else {
            0
        };
    let skipped = if unmatched_fails {
        0
    } else {
        report.summary.rules_unmatched
    };
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        w,
        r#"<testsuites name="ktrail check" tests="{tests}" failures="{failures}" errors="0" skipped="{skipped}">"#
    )?;
    for rule in &report.rules {
        let name = xml(&rule.name);
        let (t, f, s) = match rule.status {
            Status::Unmatched if unmatched_fails => (1, 1, 0),
            Status::Unmatched => (1, 0, 1),
            _ => (rule.pods.len(), rule.failed_pods(), 0),
        };
        writeln!(
            w,
            r#"  <testsuite name="{name}" tests="{t}" failures="{f}" errors="0" skipped="{s}">"#
        )?;
        if rule.status == Status::Unmatched {
            writeln!(
                w,
                r#"    <testcase classname="{name}" name="no pod matched">"#
            )?;
            if unmatched_fails {
                writeln!(
                    w,
                    r#"      <failure message="no pod matched the rule" type="requireMatch"/>"#
                )?;
            } else {
                writeln!(w, r#"      <skipped message="no pod matched the rule"/>"#)?;
            }
            writeln!(w, "    </testcase>")?;
        }
        for pod in rule.pods.iter() {
            let pod = pod?;
            let case = xml(&pod.title_with_uid());
            if pod.violations.is_empty() {
                writeln!(w, r#"    <testcase classname="{name}" name="{case}"/>"#)?;
                continue;
            }
            let (message, kind, body) = failure(&pod);
            writeln!(w, r#"    <testcase classname="{name}" name="{case}">"#)?;
            writeln!(
                w,
                r#"      <failure message="{message}" type="{kind}">{body}</failure>"#
            )?;
            writeln!(w, "    </testcase>")?;
        }
        writeln!(w, "  </testsuite>")?;
    }
    writeln!(w, "</testsuites>")
}

#[cfg(test)]
mod tests {
    //! Rendering over the check fixture's cluster story.

    use serde_json::Value;

    use super::{xml, Format};
    use crate::render::Style;
    use ktrail_core::check::eval::{judge, Evaluator};
    use ktrail_core::check::evaluate;
    use ktrail_core::check::fixture::{cluster, RULES};
    use ktrail_core::check::rules::parse;

    fn rendered(format: Format, require_match: bool) -> String {
        let report = cluster();
        let rules = parse("r.yaml", RULES).unwrap();
        let v = evaluate(&rules, &report, require_match);
        let mut out = Vec::new();
        super::render(&v, format, Style::default(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn results_read_back_from_a_file_render_as_those_in_memory() {
        let report = cluster();
        let rules = parse("r.yaml", RULES).unwrap();
        for format in [Format::Table, Format::Json, Format::Junit, Format::Markdown] {
            let mut e = Evaluator::new(&rules, false).with_memory(0);
            for p in &report.pods {
                e.push(judge(&rules, p)).unwrap();
            }
            let v = e.finish();
            assert!(v.rules.iter().all(|r| r.pods.written() == r.pods.len()));
            let mut out = Vec::new();
            super::render(&v, format, Style::default(), &mut out).unwrap();
            assert_eq!(
                String::from_utf8(out).unwrap(),
                rendered(format, false),
                "{format:?}"
            );
        }
    }

    #[test]
    fn the_table_names_rule_pod_expectation_evidence_and_event() {
        let t = rendered(Format::Table, false);
        assert!(
            t.starts_with("FAIL  fargate-ns pods run on Fargate  2 of 3 pods, 8 violations\n"),
            "{t}"
        );
        assert!(
            t.contains("\nWARN  nobody in kube-system           no pod matched\n"),
            "{t}"
        );
        assert!(t.contains(
            "VIOLATION only istio adds containers\n  pod:       default/web (uid u3)\n  check:     forbid.mutations\n  expected:  only istio-sidecar-injector patch /spec/containers*, /spec/initContainers*\n  log shows: iam-for-pods.amazonaws.com (round 0 index 2) patched /spec/containers on the create\n  event:     create at 2024-05-01T10:00:05.000000Z, auditID c3\n"
        ), "{t}");
        // The denial message carried terminal escapes: they are shown, not sent.
        assert!(!t.contains('\u{1b}'));
        assert!(t.contains("\\u{1b}[31mno"));
        assert!(
            t.ends_with(
                "check failed: 4 of 5 rules broken, 15 violations in 5 pods; 1 rule matched no pod\n"
            ),
            "{t}"
        );
    }

    #[test]
    fn markdown_cells_are_escaped() {
        let m = rendered(Format::Markdown, false);
        assert!(m.starts_with("### ktrail check failed\n"));
        assert!(
            m.contains("| only istio adds containers | ❌ fail | 5 | 3 |"),
            "{m}"
        );
        assert!(m.contains("&lt;b&gt;"), "{m}");
        assert!(!m.contains("<b>") && !m.contains('\u{1b}'));
    }

    #[test]
    fn json_is_the_whole_verdict() {
        let j: Value = serde_json::from_str(&rendered(Format::Json, true)).unwrap();
        assert_eq!(j["schemaVersion"], 1);
        assert_eq!(j["passed"], false);
        assert_eq!(j["requireMatch"], true);
        assert_eq!(j["rules"][4]["status"], "unmatched");
        assert_eq!(j["rules"][1]["pods"][0]["name"], "blocked");
        assert_eq!(j["rules"][1]["pods"][0]["uid"], Value::Null);
        assert_eq!(
            j["rules"][1]["pods"][0]["violations"][0]["event"]["auditID"],
            "c4"
        );
        assert_eq!(j["summary"]["violations"], 15);
    }

    #[test]
    fn xml_text_is_escaped_and_valid() {
        assert_eq!(xml("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(
            xml("x\u{0}y\u{1b}z\u{b}\u{fffe}"),
            "x\\u{0}y\\u{1b}z\\u{b}\\u{fffe}"
        );
        assert_eq!(xml("line\nbreak\ttab"), "line\\u{a}break\\u{9}tab");
    }

    #[test]
    fn junit_has_a_suite_per_rule_and_a_failure_per_violating_pod() {
        let x = rendered(Format::Junit, false);
        assert!(x.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"ktrail check\" tests=\"17\" failures=\"8\" errors=\"0\" skipped=\"1\">"), "{x}");
        assert_eq!(x.matches("<testsuite ").count(), 5);
        assert_eq!(x.matches("<failure ").count(), 8);
        assert_eq!(x.matches("<skipped ").count(), 1);
        assert!(!x.contains('\u{1b}'));
        assert!(x.contains("&lt;b&gt;&amp;"), "{x}");
        let x = rendered(Format::Junit, true);
        assert_eq!(x.matches("<failure ").count(), 9);
        assert!(x.contains("type=\"requireMatch\""));
    }
}
