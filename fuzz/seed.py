#!/usr/bin/env python3
"""Builds the fuzz seed corpora (fuzz/corpus/<target>/) from the recorded samples, the
damaged-input corpus and the rules-file example in the documentation.

Run from the repository root: python3 fuzz/seed.py
"""

import hashlib
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def put(target, data):
    d = os.path.join(ROOT, "fuzz", "corpus", target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def log_files():
    for sub in ("samples", os.path.join("tests", "damaged")):
        d = os.path.join(ROOT, sub)
        if not os.path.isdir(d):
            continue
        for n in sorted(os.listdir(d)):
            if n.endswith(".jsonl"):
                yield os.path.join(d, n)


def main():
    for path in log_files():
        with open(path, "rb") as f:
            data = f.read()
        for target in ("decode_line", "redact_line"):
            put(target, data[:64 << 10])  # a few lines together, as a stream
            for line in data.split(b"\n"):
                if line.strip():
                    put(target, line)
        for line in data.split(b"\n"):
            try:
                ev = json.loads(line)
            except (ValueError, UnicodeDecodeError):
                continue
            ann = ev.get("annotations") if isinstance(ev, dict) else None
            if isinstance(ann, dict) and ann:
                pairs = []
                for k, v in ann.items():
                    pairs += [k, v if isinstance(v, str) else json.dumps(v)]
                put("webhook_annotations", "\n".join(pairs).encode())
    doc = os.path.join(ROOT, "README.md")
    if os.path.exists(doc):
        with open(doc, encoding="utf-8") as f:
            for block in re.findall(r"```yaml\n(.*?)```", f.read(), re.S):
                put("rules", block.encode())
    put("rules", b"rules:\n  - name: x\n    forbid: {denied: true}\n")
    put("rules", b"rules:\n  - name: y\n    pods: {namespace: \"*\", name: \"web-*\"}\n"
        b"    expect: {node: \"^ip-\", boundWithin: 2m, readyWithin: 1h30m,"
        b" mutatedBy: [{webhook: a.example.com, paths: [/spec/x]}]}\n")
    for t in ("decode_line", "redact_line", "webhook_annotations", "rules"):
        d = os.path.join(ROOT, "fuzz", "corpus", t)
        print(t, len(os.listdir(d)) if os.path.isdir(d) else 0, file=sys.stderr)


if __name__ == "__main__":
    main()
