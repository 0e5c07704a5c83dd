#!/usr/bin/env python3
"""Generates the hostile inputs of bench/hostile.sh, each with a plain log of the same size.

Usage: bench/hostile.py OUT_DIR

Writes, in OUT_DIR:
  labels.jsonl       a 2.6 MB create whose webhook patch adds 13,000 labels (attribution compares
                     every changed path with the patch's paths)
  annotations.jsonl  one create with 150,000 webhook annotations
  patch.jsonl        a create with a 50 MB webhook patch (400,000+ ops, every path twice)
  cell.jsonl         a 4 MB user name and a 4 MB namespace (table cells)
and for each NAME.jsonl a NAME.plain.jsonl of the same size: ordinary pod stories (create,
binding, status patches), which `timeline` reads at its usual speed.
"""

import json
import os
import sys

T = "2024-05-01T10:00:{:02d}.{:06d}Z"


def event(audit_id, verb, sec, ns="shop", name="cart-0", sub=None, user="kubernetes-admin",
          request=None, response=None, annotations=None, us=0):
    e = {
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
        "auditID": audit_id, "stage": "ResponseComplete", "verb": verb,
        "requestURI": f"/api/v1/namespaces/{ns}/pods" + (f"/{name}/{sub}" if sub else ""),
        "user": {"username": user, "groups": ["system:authenticated"]},
        "sourceIPs": ["192.0.2.10"], "userAgent": "kubectl/v1.29.1 (linux/amd64) kubernetes/bc401b9",
        "objectRef": {"resource": "pods", "namespace": ns, "name": name, "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 201 if verb == "create" else 200},
        "requestReceivedTimestamp": T.format(sec % 60, us), "stageTimestamp": T.format(sec % 60, us),
    }
    if sub:
        e["objectRef"]["subresource"] = sub
    if request is not None:
        e["requestObject"] = request
    if response is not None:
        e["responseObject"] = response
    if annotations:
        e["annotations"] = annotations
    return json.dumps(e, separators=(",", ":"))


def pod(name, ns, labels=None, uid=None):
    p = {"kind": "Pod", "apiVersion": "v1",
         "metadata": {"name": name, "namespace": ns, "labels": labels or {"app": "cart"}},
         "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]}}
    if uid:
        p["metadata"]["uid"] = uid
        p["spec"]["schedulerName"] = "default-scheduler"
    return p


def webhook(patch):
    return {
        "mutation.webhook.admission.k8s.io/round_0_index_0": json.dumps(
            {"configuration": "labeler", "webhook": "labeler.example.com", "mutated": True}),
        "patch.webhook.admission.k8s.io/round_0_index_0": json.dumps(
            {"configuration": "labeler", "webhook": "labeler.example.com", "patch": patch,
             "patchType": "JSONPatch"}),
    }


def labels_create(n, value_len, twice=False):
    labels = {f"example.com/label-{i:07d}": "v" * value_len for i in range(n)}
    patch = [{"op": "add", "path": f"/metadata/labels/example.com~1label-{i:07d}", "value": "v" * value_len}
             for i in range(n)]
    if twice:
        patch = patch + patch
    req = pod("cart-0", "shop")
    resp = pod("cart-0", "shop", labels={"app": "cart", **labels}, uid="u-1")
    return event("c1", "create", 0, request=req, response=resp, annotations=webhook(patch))


def annotations_create(n):
    ann = {f"mutation.webhook.admission.k8s.io/round_0_index_{i}":
           json.dumps({"configuration": f"c{i}", "webhook": f"w{i}.example.com", "mutated": False})
           for i in range(n)}
    return event("c1", "create", 0, request=pod("cart-0", "shop"),
                 response=pod("cart-0", "shop", uid="u-1"), annotations=ann)


def cells(size):
    big = "u" * size
    return "\n".join([
        event("c1", "create", 0, user=big, request=pod("cart-0", "shop"),
              response=pod("cart-0", "shop", uid="u-1")),
        event("c2", "create", 1, ns="n" * size, request=pod("cart-1", "n" * size),
              response=pod("cart-1", "n" * size, uid="u-2"),
              annotations=webhook([{"op": "add", "path": "/metadata/labels/x", "value": "y"}])),
    ])


def plain(size):
    """Ordinary pod stories up to `size` bytes."""
    out, n, i = [], 0, 0
    while n < size:
        name = f"web-{i:06d}"
        uid = f"u-{i:06d}"
        lines = [
            event(f"c{i}", "create", i, name=name, request=pod(name, "shop"),
                  response=pod(name, "shop", uid=uid),
                  annotations=webhook([{"op": "add", "path": "/metadata/labels/team", "value": "a"}])),
            event(f"b{i}", "create", i + 1, name=name, sub="binding", user="system:kube-scheduler",
                  request={"kind": "Binding", "metadata": {"name": name, "uid": uid},
                           "target": {"kind": "Node", "name": "ip-10-0-1-7.ec2.internal"}}),
            event(f"s{i}", "patch", i + 2, name=name, sub="status", user="system:node:ip-10-0-1-7.ec2.internal",
                  request={"metadata": {"uid": uid}, "status": {"phase": "Running", "podIP": "10.0.3.4",
                           "conditions": [{"type": "Ready", "status": "True"}]}}),
        ]
        for l in lines:
            out.append(l)
            n += len(l) + 1
        i += 1
    return "\n".join(out) + "\n"


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    inputs = {
        "labels": labels_create(13_000, 38),
        "annotations": annotations_create(150_000),
        "patch": labels_create(210_000, 10, twice=True),
        "cells": cells(4 << 20),
    }
    for name, text in inputs.items():
        text = text + "\n"
        with open(os.path.join(out, f"{name}.jsonl"), "w") as f:
            f.write(text)
        with open(os.path.join(out, f"{name}.plain.jsonl"), "w") as f:
            f.write(plain(len(text)))
        print(f"{name}.jsonl: {len(text) / 1e6:.1f} MB", file=sys.stderr)


if __name__ == "__main__":
    main()
