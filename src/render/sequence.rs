//! What a pod's sequence diagram holds, before any format: the participants (the users who acted on
//! the pod, the API server, each admission webhook) and the steps (requests, webhook calls and their
//! answers, notes). Mermaid (`mermaid`) and the HTML report's inline SVG (`html`) draw the same
//! sequence, each escaping the plain text here for its own syntax.

use ktrail_core::admission::WebhookCall;
use ktrail_core::text::{offset, short_agent, shorten};
use ktrail_core::timeline::{Pod, PodEvent, BUILTIN};

use super::kinds;

/// At most this many characters of log text in one message.
const TEXT_CHARS: usize = 160;
/// At most this many paths listed in one message, each at most `PATH_CHARS` characters.
const PATHS_SHOWN: usize = 6;
const PATH_CHARS: usize = 80;

/// The alias of the API server among the participants.
pub const API: &str = "API";

/// One pod's diagram. Texts are plain and unescaped (log text included), already shortened.
pub struct Sequence {
    pub title: String,
    /// (alias, label), in reading order. Aliases are generated (`U0`, `API`, `W0`), never log text.
    pub participants: Vec<(String, String)>,
    pub steps: Vec<Step>,
}

/// The kinds of arrow a message is drawn with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrow {
    /// A request or call.
    Request,
    /// An answer.
    Reply,
    /// A request or call that failed.
    Failed,
    /// An answer that is a failure.
    FailedReply,
}

impl Arrow {
    /// The kind as a number, 0 to 3 in the order declared: what the HTML report's data and script
    /// read, and where a renderer's name for the kind stands in its list ([`Arrow::named`]).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// This kind's name among `names`, a renderer's names for the four kinds in [`Arrow::code`]
    /// order, so the renderers agree on which arrow is which.
    pub fn named<T: Copy>(self, names: [T; 4]) -> T {
        names[usize::from(self.code())]
    }
}

/// A message from one participant to another: what every renderer draws an arrow for.
pub struct Message {
    pub from: String,
    pub to: String,
    pub arrow: Arrow,
    pub text: String,
    /// The index of the pod's event whose request this is, when the text is that event's offset
    /// and summary (a report can show the summary once and refer to it).
    pub event: Option<usize>,
}

pub enum Step {
    Message(Message),
    Note { over: String, text: String },
}

pub fn title(pod: &Pod) -> String {
    match &pod.uid {
        Some(uid) => format!("{}/{} (uid {uid})", pod.namespace, pod.name),
        None => format!("{}/{}", pod.namespace, pod.name),
    }
}

/// Log text shortened for one message.
fn msg(s: &str) -> String {
    shorten(s, TEXT_CHARS)
}

/// The participants of one pod's story, with their generated aliases.
#[derive(Default)]
struct Cast {
    /// (alias, label)
    order: Vec<(String, String)>,
    users: Vec<(String, String)>,
    webhooks: Vec<(WebhookKey, String)>,
}

type WebhookKey = (&'static str, Option<String>, Option<String>);

fn webhook_key(c: &WebhookCall) -> WebhookKey {
    (c.kind, c.configuration.clone(), c.webhook.clone())
}

impl Cast {
    fn user(&mut self, name: &str) -> String {
        if let Some((_, a)) = self.users.iter().find(|(u, _)| u == name) {
            return a.clone();
        }
        let alias = format!("U{}", self.users.len());
        self.users.push((name.to_owned(), alias.clone()));
        let label = if name.is_empty() {
            "(unknown user)"
        } else {
            name
        };
        self.order.push((alias.clone(), label.to_owned()));
        alias
    }

    fn webhook(&mut self, c: &WebhookCall) -> String {
        let key = webhook_key(c);
        if let Some((_, a)) = self.webhooks.iter().find(|(k, _)| *k == key) {
            return a.clone();
        }
        let alias = format!("W{}", self.webhooks.len());
        self.webhooks.push((key, alias.clone()));
        let mut label = c.name().to_owned();
        if let (Some(conf), Some(wh)) = (&c.configuration, &c.webhook) {
            if conf != wh {
                label.push_str(&format!(" ({conf})"));
            }
        }
        if c.kind == "validating" {
            label.push_str(" [validating]");
        }
        self.order.push((alias.clone(), label));
        alias
    }

    /// Casts in reading order: the requester, the API server, the webhooks in call order, then
    /// everyone else in order of appearance (typically the scheduler, then the kubelet).
    fn of(pod: &Pod) -> Cast {
        let mut cast = Cast::default();
        let requester = pod
            .events
            .iter()
            .find(|e| kinds::is_create(e))
            .or(pod.events.first());
        if let Some(e) = requester {
            cast.user(&e.user);
        }
        cast.order.push((API.into(), "API server".into()));
        for c in pod.webhook_calls() {
            cast.webhook(c);
        }
        for e in &pod.events {
            cast.user(&e.user);
        }
        cast
    }
}

/// A message, its text shortened for the diagram.
fn message(from: &str, to: &str, arrow: Arrow, text: &str) -> Step {
    whole_message(from, to, arrow, msg(text))
}

/// A message whose text is shown whole.
fn whole_message(from: &str, to: &str, arrow: Arrow, text: String) -> Step {
    Step::Message(Message {
        from: from.to_owned(),
        to: to.to_owned(),
        arrow,
        text,
        event: None,
    })
}

/// One pod's sequence.
pub fn of(pod: &Pod) -> Sequence {
    let mut cast = Cast::of(pod);
    let mut steps = Vec::new();
    if pod.created_at.is_none() && !pod.denied {
        steps.push(Step::Note {
            over: API.into(),
            text: "created before the log begins".into(),
        });
    }
    let base = pod.times.created.or(pod.times.first);
    for (k, ev) in pod.events.iter().enumerate() {
        let off = base
            .and_then(|b| (ev.at - b).num_microseconds())
            .map(|us| offset(us as f64 / 1e6))
            .unwrap_or_default();
        let who = cast.user(&ev.user);
        let failed = ev.code.is_some_and(|c| c >= 400);
        if kinds::is_create(ev) {
            let agent = ev
                .user_agent
                .as_deref()
                .map(short_agent)
                .filter(|a| !a.is_empty())
                .map(|a| format!(" ({a})"))
                .unwrap_or_default();
            let create = format!("{off} create pod {}/{}{agent}", pod.namespace, pod.name);
            steps.push(message(&who, API, Arrow::Request, &create));
            webhook_calls(&pod.webhooks, &mut cast, &mut steps);
            builtin_note(ev, &mut steps);
            let code = ev.code.map(|c| format!("{c} ")).unwrap_or_default();
            let (arrow, answer) = if failed {
                let why = match (&pod.denied_by, &pod.message) {
                    (Some(by), Some(m)) => format!("denied by {by}: {m}"),
                    (Some(by), None) => format!("denied by {by}"),
                    (None, Some(m)) => m.clone(),
                    (None, None) => "failed".into(),
                };
                (Arrow::FailedReply, why)
            } else {
                let uid = pod
                    .uid
                    .as_deref()
                    .map(|u| format!(", uid {u}"))
                    .unwrap_or_default();
                (Arrow::Reply, format!("created{uid}"))
            };
            steps.push(message(API, &who, arrow, &format!("{code}{answer}")));
            continue;
        }
        let arrow = if failed {
            Arrow::Failed
        } else {
            Arrow::Request
        };
        steps.push(Step::Message(Message {
            from: who,
            to: API.into(),
            arrow,
            text: msg(&format!("{off} {}", ev.summary)),
            event: Some(k),
        }));
        webhook_calls(&ev.webhooks, &mut cast, &mut steps);
        builtin_note(ev, &mut steps);
    }
    Sequence {
        title: title(pod),
        participants: cast.order,
        steps,
    }
}

fn paths_text(paths: &[String]) -> String {
    let mut s = paths
        .iter()
        .take(PATHS_SHOWN)
        .map(|p| shorten(p, PATH_CHARS))
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() > PATHS_SHOWN {
        s.push_str(&format!(", +{} more", paths.len() - PATHS_SHOWN));
    }
    s
}

/// The API server's calls to the webhooks of one request, and their answers.
fn webhook_calls(calls: &[WebhookCall], cast: &mut Cast, steps: &mut Vec<Step>) {
    for c in calls {
        let hook = cast.webhook(c);
        let call = if c.round == 0 {
            format!("{} admission review", c.kind)
        } else {
            format!(
                "{} admission review, reinvocation round {}",
                c.kind, c.round
            )
        };
        if c.failed_open {
            let failed = format!("{call}: call failed, ignored (failed open)");
            steps.push(message(API, &hook, Arrow::Failed, &failed));
            continue;
        }
        steps.push(message(API, &hook, Arrow::Request, &call));
        let answer = match (c.mutated, &c.paths) {
            // Not shortened: the path list is bounded already and reads best whole.
            (Some(true), Some(paths)) if !paths.is_empty() => {
                format!("patched {}", paths_text(paths))
            }
            (Some(true), _) => "mutated (patch not logged at this audit level)".into(),
            (Some(false), _) => "no change".into(),
            (None, _) => "answered".into(),
        };
        steps.push(whole_message(&hook, API, Arrow::Reply, answer));
    }
}

/// What built-in admission and defaulting changed on this request, as a note on the API server.
fn builtin_note(ev: &PodEvent, steps: &mut Vec<Step>) {
    let mut paths: Vec<String> = Vec::new();
    for c in ev.changes.iter().filter(|c| c.by == BUILTIN) {
        if !paths.contains(&c.path) {
            paths.push(c.path.clone());
        }
    }
    if paths.is_empty() {
        return;
    }
    steps.push(Step::Note {
        over: API.into(),
        text: format!("{BUILTIN} set {}", paths_text(&paths)),
    });
}
