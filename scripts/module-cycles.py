#!/usr/bin/env python3
"""Fails when a module of a ktrail crate uses a module that uses it back.

Modules are the top-level modules of each crate (`scan`, `timeline`, ...; a module's submodules
count as the module). A module uses another when its source names `crate::other` (in a `use` or
a path) or, across crates, `ktrail_core::other`. Uses inside `#[cfg(test)]` modules and test files
count too: a test that needs its caller's caller is a layering smell as well. Also checks that the
core crate's manifest pulls in no command line, async runtime or AWS crate.

Usage: scripts/module-cycles.py [ROOT]   (prints the graph with -v)
"""

import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else
                       os.path.join(os.path.dirname(__file__), ".."))
VERBOSE = "-v" in sys.argv

CRATES = {
    "ktrail": "src",
    "ktrail_core": "crates/core/src",
    "ktrail_cloudwatch": "crates/cloudwatch/src",
    "ktrail_s3": "crates/s3/src",
    "ktrail_corpus": "crates/corpus/src",
}
FORBIDDEN_IN_CORE = ("clap", "tokio", "aws-")

PATH = re.compile(r"\b(crate|ktrail_core|ktrail_cloudwatch|ktrail_s3|ktrail_corpus)::(?:\{([^}]*)\}|([a-z_][a-z0-9_]*))")
COMMENT = re.compile(r"//.*$", re.M)


def top_module(crate_dir, path):
    rel = os.path.relpath(path, crate_dir)
    first = rel.split(os.sep)[0]
    if first in ("lib.rs", "main.rs"):
        return None
    return first[:-3] if first.endswith(".rs") else first


def modules_used(text):
    for m in PATH.finditer(COMMENT.sub("", text)):
        root, group, single = m.groups()
        names = [single] if single else [g.strip().split("::")[0] for g in group.split(",")]
        for n in names:
            n = n.strip()
            if n and n != "self" and re.fullmatch(r"[a-z_][a-z0-9_]*", n):
                yield root, n


def graph():
    edges = {}
    for crate, rel in CRATES.items():
        crate_dir = os.path.join(ROOT, rel)
        for dirpath, _, files in os.walk(crate_dir):
            for f in files:
                if not f.endswith(".rs"):
                    continue
                path = os.path.join(dirpath, f)
                src = top_module(crate_dir, path)
                if src is None:
                    continue
                text = open(path, encoding="utf-8").read()
                for root, target in modules_used(text):
                    dst_crate = crate if root == "crate" else root
                    a, b = f"{crate}::{src}", f"{dst_crate}::{target}"
                    if a != b:
                        edges.setdefault(a, set()).add(b)
    return edges


def cycles(edges):
    found = []
    for a, outs in edges.items():
        for b in outs:
            if a < b and a in edges.get(b, set()):
                found.append((a, b))
    # Longer cycles: a depth-first search for a back edge.
    state, stack, longer = {}, [], []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(edges.get(n, ())):
            if state.get(m) == 1:
                cyc = stack[stack.index(m):] + [m]
                if len(cyc) > 3:
                    longer.append(cyc)
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(edges):
        if n not in state:
            visit(n)
    return found, longer


def main():
    problems = 0
    edges = graph()
    if VERBOSE:
        for a in sorted(edges):
            print(f"{a} -> {', '.join(sorted(edges[a]))}")
    pairs, longer = cycles(edges)
    for a, b in pairs:
        print(f"cycle: {a} <-> {b}")
        problems += 1
    for c in longer:
        print("cycle: " + " -> ".join(c))
        problems += 1
    manifest = open(os.path.join(ROOT, "crates/core/Cargo.toml"), encoding="utf-8").read()
    for line in manifest.splitlines():
        name = line.split("=")[0].strip().split(".")[0]
        if name.startswith(FORBIDDEN_IN_CORE):
            print(f"crates/core/Cargo.toml depends on {name}: the core must not")
            problems += 1
    if problems:
        sys.exit(1)
    print(f"no module cycles ({sum(map(len, edges.values()))} uses between modules of {len(CRATES)} crates)")


main()
