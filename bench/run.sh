#!/usr/bin/env bash
# The scan benchmark: ktrail against the tools people reach for today, on a generated 1.4 GB
# EKS-like audit log held in the page cache, all measured in one run. Prints medians, ratios and
# PASS/FAIL per target; exits 1 when a target fails.
#
#   bench/run.sh                 # RUNS=5 rounds, each command once per round
#   RUNS=10 bench/run.sh
#   BENCH_JQ=1 bench/run.sh      # also time plain `jq` over the file once (slow)
#   SIZE=200MB bench/run.sh      # a smaller corpus (its own file), for a quick look
#   JQ=/path/to/jq bench/run.sh  # another jq build as the peer
#   BASELINE=/path/to/ktrail bench/run.sh   # also time an earlier build against this one, A/B
#
#   SCALE=0 bench/run.sh         # without the scale benchmark (bench/scale.sh, run last)
#
# Targets (from the issue that asked for them):
#   every pod's timeline      >= 5x faster than  rg '"resource":"pods"' | jq -c 'select(…)'
#   one pod's timeline        <= 1.5x            rg -c '"name":"nginx"'
#   peak resident memory      <  256 MiB for both
#   gzip / zstd input         <= 1.3x            gzip -dc / zstd -dc to /dev/null (both timelines)
#   one pod's blame           <= 1.5x            one pod's timeline
#   a CloudWatch export tree  <= 1.3x            zcat over its files (bench/archives.sh, run last;
#                                                ARCHIVES=0 skips it)
set -euo pipefail
cd "$(dirname "$0")/.."

# The scale benchmark runs 3 rounds unless RUNS or SCALE_RUNS says otherwise: its inputs are GBs.
SCALE_RUNS=${SCALE_RUNS:-${RUNS:-3}}
RUNS=${RUNS:-5}
JQ=${JQ:-jq}
SIZE=${SIZE:-1.4GB}
SEED=${SEED:-1}
DATA=bench/data
if [ "$SIZE" = 1.4GB ] && [ "$SEED" = 1 ]; then NAME=big; else NAME="big-$SIZE-$SEED"; fi
BIG=$DATA/$NAME.jsonl
POD=fargate-ns/nginx

# rounds, median, ratio, need, busy, wait_for_idle, new_log: see bench/rounds.sh.
source bench/rounds.sh

need rg ripgrep
need /usr/bin/time time
need jq jq
need gzip gzip
need zstd zstd

TARGET=${CARGO_TARGET_DIR:-target}
cargo build --release --locked --bin ktrail --bin gen-corpus >&2
KTRAIL=$(cd "$TARGET" && pwd)/release/ktrail
GEN=$TARGET/release/gen-corpus

mkdir -p "$DATA"
new_log "$BIG" --size "$SIZE" --expected "$DATA/$NAME.expected.json" -- "$BIG.gz" "$BIG.zst"
if [ ! -s "$BIG.gz" ]; then
    echo "bench: compressing $BIG.gz (once)" >&2
    gzip -c "$BIG" >"$BIG.gz.tmp" && mv "$BIG.gz.tmp" "$BIG.gz"
fi
if [ ! -s "$BIG.zst" ]; then
    echo "bench: compressing $BIG.zst (once)" >&2
    zstd -q -T0 -c "$BIG" >"$BIG.zst.tmp" && mv "$BIG.zst.tmp" "$BIG.zst"
fi

wait_for_idle

# Warm the page cache: every command below reads from memory, not from the disk.
cat "$BIG" "$BIG.gz" "$BIG.zst" >/dev/null

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
JQ_FILTER='select(.objectRef.resource=="pods" and .objectRef.name!=null and (.verb|IN("create","update","patch","delete")))'

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
echo "machine: $(nproc) cores, $cpu, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
echo "peers:   $(rg --version | sed -n 1p), $($JQ --version), gzip $(gzip --version | sed -n 1p | awk '{print $NF}'), zstd $(zstd --version | grep -o 'v[0-9.]*' | sed -n 1p)"
echo "input:   $BIG, $(stat -c %s "$BIG") bytes, $(wc -l <"$BIG") lines; .gz $(stat -c %s "$BIG.gz"), .zst $(stat -c %s "$BIG.zst")"
echo "cores busy before: $(busy)%"
echo

# rss PROGRAM ARGS...: peak resident memory of one run, in MiB.
rss() {
    /usr/bin/time -f '%M' -o "$TMP/rss" "$@" >/dev/null 2>&1 || true
    awk '{printf "%.1f", $1/1024}' "$TMP/rss"
}

rounds ktrail-all="$KTRAIL timeline -f $BIG -o json" \
    peer-all="rg '\"resource\":\"pods\"' $BIG | $JQ -c '$JQ_FILTER'"
rounds ktrail-one="$KTRAIL timeline $POD -f $BIG -o json" peer-one="rg -c '\"name\":\"nginx\"' $BIG"
rounds peer-gz="gzip -dc $BIG.gz" ktrail-gz-one="$KTRAIL timeline $POD -f $BIG.gz -o json" \
    ktrail-gz-all="$KTRAIL timeline -f $BIG.gz -o json"
rounds peer-zst="zstd -dc $BIG.zst" ktrail-zst-one="$KTRAIL timeline $POD -f $BIG.zst -o json" \
    ktrail-zst-all="$KTRAIL timeline -f $BIG.zst -o json"
rounds ktrail-blame="$KTRAIL blame $POD -f $BIG -o json" ktrail-one-again="$KTRAIL timeline $POD -f $BIG -o json"
rss_all=$(rss "$KTRAIL" timeline -f "$BIG" -o json)
rss_one=$(rss "$KTRAIL" timeline "$POD" -f "$BIG" -o json)
rss_gz=$(rss "$KTRAIL" timeline -f "$BIG.gz" -o json)
rss_zst=$(rss "$KTRAIL" timeline -f "$BIG.zst" -o json)
if [ "${BENCH_JQ:-0}" = 1 ]; then
    RUNS=1 rounds jq="$JQ -c . $BIG"
    jq_all=${MED[jq]}
fi
if [ -n "${BASELINE:-}" ]; then
    rounds base-all="$BASELINE timeline -f $BIG -o json" this-all="$KTRAIL timeline -f $BIG -o json" \
        base-one="$BASELINE timeline $POD -f $BIG -o json" this-one="$KTRAIL timeline $POD -f $BIG -o json" \
        base-zst="$BASELINE timeline -f $BIG.zst -o json" this-zst="$KTRAIL timeline -f $BIG.zst -o json"
fi

fail=0
# check LABEL X VERDICT-EXPRESSION (awk, on `x`) TEXT [FORMAT OF X]
check() {
    local label=$1 x=$2 ok=$3 text=$4 format=${5:-%.2f}
    if awk -v x="$x" "BEGIN { exit !($ok) }"; then v=PASS; else v=FAIL; fail=1; fi
    printf "%-4s  %-36s $format%s\n" "$v" "$label" "$x" "$text"
}
# line LABEL NAME: a command's median and its times round by round.
line() { printf '  %-58s %7.3f   (%s)\n' "$1" "${MED[$2]}" "$(echo ${TIMES[$2]})"; }

echo "medians of $RUNS rounds (seconds; then each round's time):"
line "ktrail timeline -f big.jsonl -o json" ktrail-all
line "rg '\"resource\":\"pods\"' big.jsonl | jq -c 'select(…)'" peer-all
line "ktrail timeline $POD -f big.jsonl -o json" ktrail-one
line "rg -c '\"name\":\"nginx\"' big.jsonl" peer-one
line "ktrail blame $POD -f big.jsonl -o json" ktrail-blame
line "ktrail timeline $POD -f big.jsonl -o json (blame's rounds)" ktrail-one-again
line "gzip -dc big.jsonl.gz >/dev/null" peer-gz
line "ktrail timeline $POD -f big.jsonl.gz -o json" ktrail-gz-one
line "ktrail timeline -f big.jsonl.gz -o json" ktrail-gz-all
line "zstd -dc big.jsonl.zst >/dev/null" peer-zst
line "ktrail timeline $POD -f big.jsonl.zst -o json" ktrail-zst-one
line "ktrail timeline -f big.jsonl.zst -o json" ktrail-zst-all
[ -n "${jq_all:-}" ] && line "jq -c . big.jsonl (1 run)" jq
echo "peak resident memory (MiB): all pods $rss_all, one pod $rss_one, all pods from gzip $rss_gz, from zstd $rss_zst"
echo
echo "ratios: the median of the ratios within a round"
check "all pods vs rg | jq" "$(ratio peer-all ktrail-all)" "x >= 5" "x faster (target >= 5x)"
check "one pod vs rg -c" "$(ratio ktrail-one peer-one)" "x <= 1.5" "x the time (target <= 1.5x)"
check "blame vs timeline, one pod" "$(ratio ktrail-blame ktrail-one-again)" "x <= 1.5" "x the time (target <= 1.5x)"
check "peak memory, all pods" "$rss_all" "x < 256" " MiB (target < 256 MiB)" %.1f
check "peak memory, one pod" "$rss_one" "x < 256" " MiB (target < 256 MiB)" %.1f
check "gzip input, one pod vs gzip -dc" "$(ratio ktrail-gz-one peer-gz)" "x <= 1.3" "x the time (target <= 1.3x)"
check "gzip input, all pods vs gzip -dc" "$(ratio ktrail-gz-all peer-gz)" "x <= 1.3" "x the time (target <= 1.3x)"
check "zstd input, one pod vs zstd -dc" "$(ratio ktrail-zst-one peer-zst)" "x <= 1.3" "x the time (target <= 1.3x)"
check "zstd input, all pods vs zstd -dc" "$(ratio ktrail-zst-all peer-zst)" "x <= 1.3" "x the time (target <= 1.3x)"
[ -n "${jq_all:-}" ] && echo "      (all pods vs plain jq: $(awk "BEGIN { printf \"%.2f\", $jq_all / ${MED[ktrail-all]} }")x faster)"
if [ -n "${BASELINE:-}" ]; then
    echo
    echo "this build against the baseline $BASELINE (same rounds; < 1 is faster):"
    line "baseline: all pods" base-all
    line "this:     all pods" this-all
    line "baseline: one pod" base-one
    line "this:     one pod" this-one
    line "baseline: all pods from zstd" base-zst
    line "this:     all pods from zstd" this-zst
    for k in all one zst; do
        printf '      %-36s %.2fx the baseline'"'"'s time\n' "$k" "$(ratio this-$k base-$k)"
    done
    printf '      peak memory, all pods: %s MiB (baseline %s MiB)\n' "$rss_all" \
        "$(rss "$BASELINE" timeline -f "$BIG" -o json)"
fi
echo
if [ "${ARCHIVES:-1}" = 1 ]; then
    echo
    RUNS=$RUNS SIZE=$SIZE SEED=$SEED bench/archives.sh || fail=1
fi
if [ "${SCALE:-1}" = 1 ]; then
    echo
    RUNS=$SCALE_RUNS SEED=$SEED WAIT_IDLE=0 bench/scale.sh || fail=1
fi
echo "cores busy after: $(busy)% (other work on the machine skews the medians; rerun when it is idle)"
exit $fail
