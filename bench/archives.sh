#!/usr/bin/env bash
# The archive benchmark: a CloudWatch S3 export tree of the generated 1.4 GB log, read from local
# disk (held in the page cache), against `zcat` over the same files. Prints medians, the ratios and
# PASS/FAIL; exits 1 when a target fails. bench/run.sh calls it after its own targets.
#
#   bench/archives.sh               # RUNS=5 rounds
#   SIZE=200MB bench/archives.sh    # a smaller log, for a quick look
#   DATA=/tmp/x bench/archives.sh   # where the log and the tree are written (default bench/data)
#
# Target (from the issue that asked for it):
#   an export tree, every pod and one pod   <= 1.3x   zcat over the tree's audit files to /dev/null
#
# The tree is what `aws logs create-export-task` writes for an EKS log group:
# exportedlogs/<task id>/<log stream>/000000.gz …, `<RFC 3339 time> <event>` per line, the audit
# events split over two API servers' streams in chunks, and the other streams of the group beside
# them (which ktrail passes over).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
SIZE=${SIZE:-1.4GB}
SEED=${SEED:-1}
DATA=${DATA:-bench/data}
TARGET=${CARGO_TARGET_DIR:-target}
if [ "$SIZE" = 1.4GB ] && [ "$SEED" = 1 ]; then NAME=big; else NAME="big-$SIZE-$SEED"; fi
BIG=$DATA/$NAME.jsonl
TREE=$DATA/$NAME.export
POD=fargate-ns/nginx

# rounds, median, ratio, new_log: see bench/rounds.sh.
source bench/rounds.sh

cargo build --release --locked --bin ktrail --bin gen-corpus >&2
KTRAIL=$TARGET/release/ktrail
GEN=$TARGET/release/gen-corpus

mkdir -p "$DATA"
new_log "$BIG" --size "$SIZE" --expected "$DATA/$NAME.expected.json" -- "$TREE"
if [ ! -d "$TREE" ]; then
    echo "bench: writing the export tree $TREE (once)" >&2
    task=$TREE.tmp/exportedlogs/5d7e1c62-0b9f-4c41-9a3e-2f4b8d1a7c90
    mkdir -p "$task"
    # 16 MiB chunks of `<time> <event>` lines, compressed two at a time.
    awk '{ print "2024-06-03T08:07:41.045Z " $0 }' "$BIG" |
        split -C 16M -d -a 6 - "$task/part-"
    ls "$task"/part-* | xargs -P 2 -n 8 gzip -6
    i=0
    for f in $(ls "$task"/part-*.gz); do
        stream=kube-apiserver-audit-$((i % 2 == 0 ? 1 : 2))f0e9d8c7b6a5
        mkdir -p "$task/$stream"
        mv "$f" "$task/$stream/$(printf '%06d' $((i / 2))).gz"
        i=$((i + 1))
    done
    for other in kube-apiserver-1f0e9d8c7b6a5 authenticator-1f0e9d8c7b6a5 kube-scheduler-1f0e9d8c7b6a5; do
        mkdir -p "$task/$other"
        echo "2024-06-03T08:07:41.045Z I0603 08:07:41.045152      10 main.go:1] started" |
            gzip >"$task/$other/000000.gz"
    done
    echo "Permission Check Successful" >"$TREE.tmp/aws-logs-write-test"
    mv "$TREE.tmp" "$TREE"
fi
FILES=$(find "$TREE" -path '*kube-apiserver-audit*' -name '*.gz' | sort)
# Warm the page cache.
cat $FILES >/dev/null

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

echo "archive input: $TREE, $(echo "$FILES" | wc -l) audit chunks, $(cat $FILES | wc -c) bytes compressed, $(stat -c %s "$BIG") bytes of log"
rounds peer="zcat $(echo $FILES) >/dev/null" \
    ktrail-one="$KTRAIL timeline $POD -f $TREE -o json" \
    ktrail-all="$KTRAIL timeline -f $TREE -o json"
# Every story of the tree must be the plain file's: a fast wrong answer is no answer.
"$KTRAIL" timeline -f "$TREE" -o json | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["pods"], sort_keys=True))' >"$TMP/tree.json"
"$KTRAIL" timeline -f "$BIG" -o json | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["pods"], sort_keys=True))' >"$TMP/plain.json"
cmp -s "$TMP/tree.json" "$TMP/plain.json" || { echo "bench: the tree's answer is not the plain file's" >&2; exit 2; }

fail=0
check() {
    local label=$1 x=$2
    if awk -v x="$x" 'BEGIN { exit !(x <= 1.3) }'; then v=PASS; else v=FAIL; fail=1; fi
    printf "%-4s  %-36s %.2fx the time (target <= 1.3x)\n" "$v" "$label" "$x"
}
for n in peer ktrail-one ktrail-all; do
    printf '  %-44s %7.3f   (%s)\n' "$n" "$(printf '%s\n' ${TIMES[$n]} | median)" "$(echo ${TIMES[$n]})"
done
check "export tree, one pod vs zcat" "$(ratio ktrail-one peer)"
check "export tree, all pods vs zcat" "$(ratio ktrail-all peer)"
exit $fail
