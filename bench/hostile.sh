#!/usr/bin/env bash
# The hostile-input benchmark: inputs built to cost quadratic time, each timed against `timeline`
# reading a plain log of the same size (ordinary pod stories). Prints medians and ratios, PASS or
# FAIL per case; exits 1 when a case is over the target.
#
#   bench/hostile.sh              # RUNS=5 rounds, each command once per round
#   RUNS=9 bench/hostile.sh
#   KTRAIL=/path/to/ktrail bench/hostile.sh   # another build (no cargo build)
#
# Cases (bench/hostile.py makes them):
#   labels       a 2.6 MB create whose webhook patch adds 13,000 labels     timeline
#   annotations  one create with 150,000 webhook annotations (22 MB)        timeline
#   patch        a create with a 50 MB webhook patch (420,000 ops)          timeline
#   user-cell    a 4 MB user name (a table cell), 21 MB log                 timeline
#   ns-cell      a 4 MB namespace (a table cell), the same log              webhooks
# Target: each within 3x of `timeline` over the plain log of its size.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
TARGET=${TARGET:-3}
DATA=bench/data/hostile

if [ -z "${KTRAIL:-}" ]; then
    cargo build --release --locked --bin ktrail >&2
    KTRAIL=${CARGO_TARGET_DIR:-$PWD/target}/release/ktrail
fi

if [ ! -s "$DATA/cells.plain.jsonl" ]; then
    echo "bench: generating $DATA" >&2
    python3 bench/hostile.py "$DATA"
fi

# Seconds of one run, output discarded; a run over 300 s counts as 300 (and fails).
timed() {
    local start end
    start=$(date +%s.%N)
    timeout 300 "$KTRAIL" "$@" >/dev/null 2>&1 || true
    end=$(date +%s.%N)
    echo "$end - $start" | bc -l
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

printf '%-12s %10s %10s %7s  %s\n' case hostile plain ratio verdict
fail=0
run_case() {
    local name=$1 file=$2 cmd=$3
    local h=() p=()
    for _ in $(seq "$RUNS"); do
        # Alternating, so that a busy moment of the machine falls on both.
        h+=("$(timed "$cmd" -f "$DATA/$file.jsonl")")
        p+=("$(timed timeline -f "$DATA/$file.plain.jsonl")")
    done
    local hm pm ratio verdict=PASS
    hm=$(printf '%s\n' "${h[@]}" | median)
    pm=$(printf '%s\n' "${p[@]}" | median)
    ratio=$(echo "$hm / $pm" | bc -l)
    if [ "$(echo "$ratio > $TARGET" | bc -l)" = 1 ]; then
        verdict=FAIL
        fail=1
    fi
    printf '%-12s %9.3fs %9.3fs %6.2fx  %s (target %sx)\n' "$name" "$hm" "$pm" "$ratio" "$verdict" "$TARGET"
}

run_case labels labels timeline
run_case annotations annotations timeline
run_case patch patch timeline
run_case user-cell cells timeline
run_case ns-cell cells webhooks
exit $fail
