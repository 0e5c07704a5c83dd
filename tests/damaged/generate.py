#!/usr/bin/env python3
"""Writes the damaged-input corpus: one `<case>.jsonl` per kind of damage.

The files are committed; this script documents how they were made and rebuilds them after a
deliberate change (`python3 tests/damaged/generate.py`). Each case's expected diagnostics are in
`<case>.expected-stderr` and its expected story in `<case>.expected-story`, written by hand (see
tests/damaged.rs for the story format). Cases too big to commit (a line of several MB, nesting
thousands deep) are made by the test itself at run time.

Every case mixes the damage with the same valid story: pod shop/web-1 created by the ReplicaSet
controller (one mutating webhook adds a toleration, built-in admission sets imagePullPolicy),
bound to node-a, Ready, then deleted by alice; plus a lease update that is not about pods.
"""

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
UID = "5d3c1f0e-0000-4000-8000-000000000001"


def dump(obj):
    return json.dumps(obj, separators=(",", ":"))


def event(audit_id, verb, ts, user, obj_ref, code, stage="ResponseComplete", **extra):
    ev = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "RequestResponse",
        "auditID": audit_id,
        "stage": stage,
        "requestURI": extra.pop("uri", "/api/v1/namespaces/shop/pods"),
        "verb": verb,
        "user": {"username": user, "groups": ["system:authenticated"]},
        "sourceIPs": ["10.0.1.7"],
        "userAgent": extra.pop("ua", "kube-controller-manager/v1.29.0 (linux/amd64)"),
        "objectRef": obj_ref,
        "responseStatus": {"metadata": {}, "code": code},
        "requestReceivedTimestamp": ts,
        "stageTimestamp": ts,
    }
    ev.update(extra)
    return ev


def pod_ref(name="web-1", sub=None, uid=None):
    r = {"resource": "pods", "namespace": "shop", "name": name, "apiVersion": "v1"}
    if sub:
        r["subresource"] = sub
    if uid:
        r["uid"] = uid
    return r


PATCH = [{"op": "add", "path": "/spec/tolerations", "value": [{"key": "spot", "operator": "Exists"}]}]

CREATE = event(
    "a0000001-create",
    "create",
    "2024-05-01T10:00:00.100000Z",
    "system:serviceaccount:kube-system:replicaset-controller",
    pod_ref(),
    201,
    requestObject={
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]},
    },
    responseObject={
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {
            "name": "web-1",
            "namespace": "shop",
            "uid": UID,
            "resourceVersion": "100",
            "labels": {"app": "web"},
        },
        "spec": {
            "containers": [{"name": "app", "image": "nginx:1.25", "imagePullPolicy": "IfNotPresent"}],
            "schedulerName": "default-scheduler",
            "tolerations": [{"key": "spot", "operator": "Exists"}],
        },
        "status": {"phase": "Pending"},
    },
    annotations={
        "authorization.k8s.io/decision": "allow",
        "mutation.webhook.admission.k8s.io/round_0_index_0": dump(
            {"configuration": "tolerate", "webhook": "tolerate.example.com", "mutated": True}
        ),
        "patch.webhook.admission.k8s.io/round_0_index_0": dump(
            {"configuration": "tolerate", "webhook": "tolerate.example.com", "patch": PATCH, "patchType": "JSONPatch"}
        ),
    },
)

BINDING = event(
    "a0000002-binding",
    "create",
    "2024-05-01T10:00:00.300000Z",
    "system:kube-scheduler",
    pod_ref(sub="binding"),
    201,
    uri="/api/v1/namespaces/shop/pods/web-1/binding",
    ua="kube-scheduler/v1.29.0 (linux/amd64)",
    requestObject={
        "kind": "Binding",
        "apiVersion": "v1",
        "metadata": {"name": "web-1", "namespace": "shop", "uid": UID},
        "target": {"kind": "Node", "name": "node-a"},
    },
)

READY = event(
    "a0000003-status",
    "patch",
    "2024-05-01T10:00:02.500000Z",
    "system:node:node-a",
    pod_ref(sub="status"),
    200,
    uri="/api/v1/namespaces/shop/pods/web-1/status",
    ua="kubelet/v1.29.0 (linux/amd64)",
    requestObject={
        "metadata": {"uid": UID},
        "status": {"conditions": [{"type": "Ready", "status": "True"}], "phase": "Running"},
    },
)

DELETE = event(
    "a0000004-delete",
    "delete",
    "2024-05-01T10:05:00.000000Z",
    "alice",
    pod_ref(),
    200,
    uri="/api/v1/namespaces/shop/pods/web-1",
    ua="kubectl/v1.29.1 (linux/amd64)",
    requestObject={"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 30},
)

LEASE = event(
    "a0000005-lease",
    "update",
    "2024-05-01T10:00:01.000000Z",
    "system:node:node-a",
    {"resource": "leases", "namespace": "kube-node-lease", "name": "node-a", "apiGroup": "coordination.k8s.io"},
    200,
    uri="/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-a",
)

STORY = [CREATE, BINDING, LEASE, READY, DELETE]


def lines(events):
    return [dump(e) for e in events]


def v1beta1(ev):
    """The same event as the v1beta1 log backend wrote it: `timestamp`, no stageTimestamp."""
    e = dict(ev)
    e["apiVersion"] = "audit.k8s.io/v1beta1"
    e["timestamp"] = e.pop("stageTimestamp")
    del e["requestReceivedTimestamp"]
    return e


def without(ev, *keys):
    e = dict(ev)
    for k in keys:
        e.pop(k, None)
    return e


def truncate_for_cloudwatch(line, keep):
    return line[:keep] + "[Truncated...]"


def cases():
    story = lines(STORY)
    c = {}

    # klog lines from other log streams (kube-apiserver, authenticator) between audit events.
    c["klog"] = [
        'I0501 10:00:00.000000      10 httplog.go:132] "HTTP" verb="GET" URI="/healthz" latency="1ms"',
        story[0],
        "W0501 10:00:00.200000      10 reflector.go:535] watch of *v1.Pod ended with: too old resource version",
        story[1],
        'time="2024-05-01T10:00:01Z" level=info msg="access granted" arn="arn:aws:iam::111122223333:role/x"',
        *story[2:],
        "E0501 10:05:00.000000      10 status.go:71] apiserver received an error",
    ]

    # JSON that is not an audit event.
    c["not-events"] = [
        "[1,2,3]",
        story[0],
        "42",
        '"a string"',
        "null",
        "true",
        story[1],
        '{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web-1","selfLink":"/api/v1/namespaces/shop/pods/web-1"}}',
        '{"kind":"Status","apiVersion":"v1","status":"Failure","details":{"kind":"pods"},"code":500}',
        # Objects that do not mention pods are passed over unread (the prefilter): no diagnostic.
        '{"kind":"ConfigMap","apiVersion":"v1"}',
        "{}",
        '{"auditID":"no-verb-or-stage","note":"pods"}',
        '{"kind":"Event","auditID":"a0000011","verb":"patch","user":{"username":7},"objectRef":{"resource":"pods"}}',
        *story[2:],
        "[]",
        # A plain read of a pod (no story uses one) is passed over unread too, damage and all.
        '{"kind":"Event","auditID":"a0000012","verb":"get","user":{"username":7},"objectRef":{"resource":"pods"}}',
    ]

    # CloudWatch cuts events over 256 KB and appends `[Truncated...]`, as a plain line and inside
    # an export's `message` string.
    big = dump(CREATE)
    c["truncated-cloudwatch"] = [
        truncate_for_cloudwatch(big, 400),
        *story[1:],
        dump({"timestamp": 1714557600100, "message": truncate_for_cloudwatch(big, 300)}),
        truncate_for_cloudwatch('{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","audi', 80),
    ]

    # JSON cut short (a copy that stopped mid-line, the last line of a file still being written).
    c["truncated-json"] = [
        story[0],
        story[1][: len(story[1]) // 2],
        *story[1:],
        story[4][:120],
    ]

    # Invalid UTF-8 inside strings: written as bytes, see write_case.
    c["invalid-utf8"] = [
        story[0],
        story[1].replace("kube-scheduler/v1.29.0", "kube-scheduler/\udcff\udcfe"),
        *story[1:],
        # In a body ktrail keeps raw, and in a line not about pods (passed over unread).
        dump(
            {
                **READY,
                "auditID": "a0000012-status",
                "requestObject": {"metadata": {"uid": UID}, "status": {"message": "caf@"}},
            }
        ).replace("caf@", "caf\udce9"),
        dump({**LEASE, "auditID": "a0000006-lease"}).replace("node-a", "node-\udcc3"),
    ]

    # CRLF endings, as files copied through Windows tools arrive.
    c["crlf"] = [line + "\r" for line in story]

    # Blank and whitespace-only lines.
    c["blank"] = ["", story[0], "   ", "", story[1], "\t", *story[2:], "", ""]

    # The same event exported twice (overlapping exports), and two stages of one request.
    started = dict(DELETE)
    started["stage"] = "ResponseStarted"
    c["duplicate"] = [story[0], story[0], story[1], dump(started), story[2], story[3], story[4], story[1], story[4]]

    # Events out of time order (several streams concatenated).
    c["out-of-order"] = [story[4], story[3], story[1], story[2], story[0]]

    # The v1beta1 backend's events (timestamp instead of stageTimestamp).
    c["v1beta1"] = lines([v1beta1(e) for e in STORY])

    # Events without apiVersion (some exporters drop it), and without kind either.
    c["no-apiversion"] = [
        dump(without(STORY[0], "apiVersion")),
        dump(without(STORY[1], "apiVersion", "kind")),
        *lines([without(e, "apiVersion") for e in STORY[2:]]),
    ]

    # The webhook backend's EventList batches, one with items that are not events.
    c["eventlist"] = [
        dump({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "metadata": {}, "items": STORY[:3]}),
        dump(
            {
                "kind": "EventList",
                "apiVersion": "audit.k8s.io/v1",
                "metadata": {},
                "items": [STORY[3], {"kind": "Pod"}, 7, STORY[4]],
            }
        ),
        dump({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": {"not": "a list of pods"}}),
        dump({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": [{"kind": "Pod"}, "pods"]}),
        dump({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": []}),
    ]

    # Events missing objectRef (not about any object: skipped silently) or timestamps (a pod event
    # with no time cannot be placed in a story: reported and skipped).
    c["missing-fields"] = [
        story[0],
        dump({**without(STORY[1], "objectRef"), "auditID": "a0000007-noref"}),
        dump({**without(STORY[1], "stageTimestamp", "requestReceivedTimestamp"), "auditID": "a0000008-notime"}),
        dump({**STORY[1], "stageTimestamp": "yesterday", "requestReceivedTimestamp": 7, "auditID": "a0000009-badtime"}),
        *story[1:],
        dump({**without(STORY[2], "stageTimestamp", "requestReceivedTimestamp"), "auditID": "a0000010-lease-notime"}),
    ]

    return c


def write_case(name, case_lines):
    path = os.path.join(HERE, name + ".jsonl")
    # Lone surrogates stand for raw bytes (`\udcff` is the byte 0xff), so invalid UTF-8 can be written.
    text = "".join(l + "\n" for l in case_lines)
    if name == "truncated-json":
        text = text[:-1]  # the file ends mid-line, as one still being written does
    data = text.encode("utf-8", "surrogateescape")
    with open(path, "wb") as f:
        f.write(data)


def main():
    for name, case_lines in cases().items():
        write_case(name, case_lines)


if __name__ == "__main__":
    main()
