#!/usr/bin/env bash
# Runs two ktrail binaries over the same invocations and fails when any output differs: every
# built-in sample through every command and format, the rules files, the damaged-input corpus,
# redact, query, help texts and usage errors (standard output, standard error and exit code).
# For changes that must not change behaviour, e.g. a restructure:
#
#   git worktree add /tmp/base main && (cd /tmp/base && cargo build --target-dir /tmp/base-target)
#   cargo build && scripts/compare-outputs.sh /tmp/base-target/debug/ktrail target/debug/ktrail
#
# Both binaries must be named `ktrail` (help texts print the program's name).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: $0 BASE_BINARY NEW_BINARY" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

run_all() {
    local bin=$1 out=$2 i=0
    mkdir -p "$out"
    r() {
        i=$((i + 1))
        local code=0
        "$bin" "$@" >"$out/$i.out" 2>"$out/$i.err" || code=$?
        echo "$i $code $*" >>"$out/index"
    }
    for s in $("$bin" samples | awk '{print $1}'); do
        for f in table json markdown mermaid; do r timeline --sample "$s" -o "$f"; done
        for f in table json markdown csv; do r pods --sample "$s" -o "$f"; done
        for o in created-to-bound bound-to-ready created-to-ready created; do
            r pods --sample "$s" --sort "$o" -o csv
        done
        for f in table json markdown; do r webhooks --sample "$s" -o "$f"; done
        if [ -f "samples/rules/$s.yaml" ]; then
            for f in table json junit markdown; do
                r check --rules "samples/rules/$s.yaml" --sample "$s" -o "$f"
            done
        fi
    done
    r timeline fargate-ns/nginx --sample eks-fargate
    r timeline nginx -n fargate-ns --sample eks-fargate -o json
    r timeline --sample eks-fargate --reads -o json
    r timeline --sample eks-fargate --since 2022-09-20T20:18:00Z -o json
    for d in tests/damaged/*.jsonl; do
        r timeline -f "$d" -o json
        r timeline -f "$d"
        r timeline -f "$d" --strict -o json
    done
    for f in tests/fixtures/check/*; do
        [ -f "$f" ] && r check --rules "$f" --sample eks-fargate
    done
    for s in samples/*.jsonl; do r redact -f "$s"; done
    r query fargate-ns/nginx --cluster demo
    r query fargate-ns/nginx --cluster demo --engine filter
    r query --created 0500-amazon-eks-fargate-mutation.amazonaws.com --cluster demo
    r --help
    for c in timeline webhooks pods query fetch check redact samples completions; do r "$c" --help; done
    r completions bash
    r timeline
    r timeline --sample nosuch
    r pods --sort nosuch --sample eks-fargate
}

run_all "$(realpath "$1")" "$work/base"
run_all "$(realpath "$2")" "$work/new"
if diff -r "$work/base" "$work/new"; then
    echo "$(wc -l <"$work/base/index") invocations: identical output and exit codes"
else
    echo "outputs differ (above: diff base new; the index lists the invocations)" >&2
    exit 1
fi
