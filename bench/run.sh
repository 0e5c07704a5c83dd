#!/usr/bin/env bash
# The scan benchmark: ktrail against the tools people reach for today, on a generated 1.4 GB
# EKS-like audit log held in the page cache, all measured in one run. Prints medians, ratios and
# PASS/FAIL per target; exits 1 when a target fails.
#
#   bench/run.sh                 # RUNS=5 runs per command
#   RUNS=10 bench/run.sh
#   BENCH_JQ=1 bench/run.sh      # also time plain `jq` over the file once (slow)
#   SIZE=200MB bench/run.sh      # a smaller corpus (its own file), for a quick look
#   JQ=/path/to/jq bench/run.sh  # another jq build as the peer
#
# Targets (from the issue that asked for them):
#   every pod's timeline      >= 5x faster than  rg '"resource":"pods"' | jq -c 'select(…)'
#   one pod's timeline        <= 1.5x            rg -c '"name":"nginx"'
#   peak resident memory      <  256 MiB for both
#   gzip / zstd input         <= 1.3x            gzip -dc / zstd -dc to /dev/null (both timelines)
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
JQ=${JQ:-jq}
SIZE=${SIZE:-1.4GB}
SEED=${SEED:-1}
DATA=bench/data
if [ "$SIZE" = 1.4GB ] && [ "$SEED" = 1 ]; then NAME=big; else NAME="big-$SIZE-$SEED"; fi
BIG=$DATA/$NAME.jsonl
POD=fargate-ns/nginx

# Tools: installed with apt-get when missing (package name differs from the command for some).
need() {
    local cmd=$1 pkg=$2
    if ! command -v "$cmd" >/dev/null 2>&1 && ! [ -x "$cmd" ]; then
        echo "bench: installing $pkg" >&2
        if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
        $SUDO apt-get install -y "$pkg" >/dev/null 2>&1 ||
            { $SUDO apt-get update >/dev/null 2>&1 && $SUDO apt-get install -y "$pkg" >/dev/null; }
    fi
}
need rg ripgrep
need hyperfine hyperfine
need /usr/bin/time time
need jq jq
need gzip gzip
need zstd zstd

cargo build --release --locked --bin ktrail --example gen-corpus >&2
KTRAIL=$PWD/target/release/ktrail

mkdir -p "$DATA"
if [ ! -s "$BIG" ]; then
    echo "bench: generating $BIG ($SIZE, seed $SEED)" >&2
    target/release/examples/gen-corpus --size "$SIZE" --seed "$SEED" --out "$BIG.tmp" \
        --expected "$DATA/$NAME.expected.json" >&2
    mv "$BIG.tmp" "$BIG"
    rm -f "$BIG.gz" "$BIG.zst"
fi
if [ ! -s "$BIG.gz" ]; then
    echo "bench: compressing $BIG.gz (once)" >&2
    gzip -c "$BIG" >"$BIG.gz.tmp" && mv "$BIG.gz.tmp" "$BIG.gz"
fi
if [ ! -s "$BIG.zst" ]; then
    echo "bench: compressing $BIG.zst (once)" >&2
    zstd -q -T0 -c "$BIG" >"$BIG.zst.tmp" && mv "$BIG.zst.tmp" "$BIG.zst"
fi

# Other work on the machine skews every median: wait (up to WAIT_IDLE seconds, default 600) until
# the cores are mostly idle, measured over 3 s from /proc/stat (the load average of a virtual
# machine can stay above 1 while its cores are idle).
busy() {
    local a b
    a=$(awk '/^cpu / { printf "%d %d", $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9 }' /proc/stat)
    sleep 3
    b=$(awk '/^cpu / { printf "%d %d", $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9 }' /proc/stat)
    echo "$a $b" | awk '{ d = $4 - $2; printf "%.0f", (d > 0 ? 100 * ($3 - $1) / d : 0) }'
}
waited=0
while now=$(busy) && [ "$now" -gt 25 ] && [ "$waited" -lt "${WAIT_IDLE:-600}" ]; do
    [ "$waited" = 0 ] && echo "bench: waiting for the cores to be idle (now ${now}% busy)" >&2
    sleep 7
    waited=$((waited + 10))
done

# Warm the page cache: every command below reads from memory, not from the disk.
cat "$BIG" "$BIG.gz" "$BIG.zst" >/dev/null

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
JQ_FILTER='select(.objectRef.resource=="pods" and .objectRef.name!=null and (.verb|IN("create","update","patch","delete")))'

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
echo "machine: $(nproc) cores, $cpu, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
echo "peers:   $(rg --version | head -1), $($JQ --version), gzip $(gzip --version | head -1 | awk '{print $NF}'), zstd $(zstd --version | grep -o 'v[0-9.]*' | head -1)"
echo "input:   $BIG, $(stat -c %s "$BIG") bytes, $(wc -l <"$BIG") lines; .gz $(stat -c %s "$BIG.gz"), .zst $(stat -c %s "$BIG.zst")"
echo "cores busy before: $(busy)%"
echo

# median NAME COMMAND: runs COMMAND with hyperfine and prints its median in seconds.
median() {
    local name=$1 cmd=$2 runs=${3:-$RUNS}
    hyperfine --style none --warmup 1 --runs "$runs" --export-json "$TMP/$name.json" "$cmd" >/dev/null 2>"$TMP/$name.err" ||
        { cat "$TMP/$name.err" >&2; echo "bench: '$cmd' failed" >&2; exit 2; }
    jq -r '.results[0].median' "$TMP/$name.json"
}

# rss PROGRAM ARGS...: peak resident memory of one run, in MiB.
rss() {
    /usr/bin/time -f '%M' -o "$TMP/rss" "$@" >/dev/null 2>&1 || true
    awk '{printf "%.1f", $1/1024}' "$TMP/rss"
}

all_k=$(median ktrail-all "$KTRAIL timeline -f $BIG -o json")
all_p=$(median peer-all "rg '\"resource\":\"pods\"' $BIG | $JQ -c '$JQ_FILTER'")
one_k=$(median ktrail-one "$KTRAIL timeline $POD -f $BIG -o json")
one_p=$(median peer-one "rg -c '\"name\":\"nginx\"' $BIG")
gz_p=$(median peer-gz "gzip -dc $BIG.gz")
gz_one=$(median ktrail-gz-one "$KTRAIL timeline $POD -f $BIG.gz -o json")
gz_all=$(median ktrail-gz-all "$KTRAIL timeline -f $BIG.gz -o json")
zst_p=$(median peer-zst "zstd -dc $BIG.zst")
zst_one=$(median ktrail-zst-one "$KTRAIL timeline $POD -f $BIG.zst -o json")
zst_all=$(median ktrail-zst-all "$KTRAIL timeline -f $BIG.zst -o json")
rss_all=$(rss "$KTRAIL" timeline -f "$BIG" -o json)
rss_one=$(rss "$KTRAIL" timeline "$POD" -f "$BIG" -o json)
rss_gz=$(rss "$KTRAIL" timeline -f "$BIG.gz" -o json)
rss_zst=$(rss "$KTRAIL" timeline -f "$BIG.zst" -o json)
if [ "${BENCH_JQ:-0}" = 1 ]; then
    jq_all=$(median jq "$JQ -c . $BIG" 1)
fi

fail=0
# check LABEL VERDICT-EXPRESSION (awk) TEXT
check() {
    local label=$1 ok=$2 text=$3
    if awk "BEGIN { exit !($ok) }"; then v=PASS; else v=FAIL; fail=1; fi
    printf '%-4s  %-36s %s\n' "$v" "$label" "$text"
}
r() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }

echo "medians of $RUNS runs (seconds):"
printf '  %-58s %7.3f\n' "ktrail timeline -f big.jsonl -o json" "$all_k"
printf '  %-58s %7.3f\n' "rg '\"resource\":\"pods\"' big.jsonl | jq -c 'select(…)'" "$all_p"
printf '  %-58s %7.3f\n' "ktrail timeline $POD -f big.jsonl -o json" "$one_k"
printf '  %-58s %7.3f\n' "rg -c '\"name\":\"nginx\"' big.jsonl" "$one_p"
printf '  %-58s %7.3f\n' "gzip -dc big.jsonl.gz >/dev/null" "$gz_p"
printf '  %-58s %7.3f\n' "ktrail timeline $POD -f big.jsonl.gz -o json" "$gz_one"
printf '  %-58s %7.3f\n' "ktrail timeline -f big.jsonl.gz -o json" "$gz_all"
printf '  %-58s %7.3f\n' "zstd -dc big.jsonl.zst >/dev/null" "$zst_p"
printf '  %-58s %7.3f\n' "ktrail timeline $POD -f big.jsonl.zst -o json" "$zst_one"
printf '  %-58s %7.3f\n' "ktrail timeline -f big.jsonl.zst -o json" "$zst_all"
[ -n "${jq_all:-}" ] && printf '  %-58s %7.3f\n' "jq -c . big.jsonl (1 run)" "$jq_all"
echo "peak resident memory (MiB): all pods $rss_all, one pod $rss_one, all pods from gzip $rss_gz, from zstd $rss_zst"
echo
check "all pods vs rg | jq" "$all_p / $all_k >= 5" "$(r "$all_p" "$all_k")x faster (target >= 5x)"
check "one pod vs rg -c" "$one_k / $one_p <= 1.5" "$(r "$one_k" "$one_p")x the time (target <= 1.5x)"
check "peak memory, all pods" "$rss_all < 256" "$rss_all MiB (target < 256 MiB)"
check "peak memory, one pod" "$rss_one < 256" "$rss_one MiB (target < 256 MiB)"
check "gzip input, one pod vs gzip -dc" "$gz_one / $gz_p <= 1.3" "$(r "$gz_one" "$gz_p")x the time (target <= 1.3x)"
check "gzip input, all pods vs gzip -dc" "$gz_all / $gz_p <= 1.3" "$(r "$gz_all" "$gz_p")x the time (target <= 1.3x)"
check "zstd input, one pod vs zstd -dc" "$zst_one / $zst_p <= 1.3" "$(r "$zst_one" "$zst_p")x the time (target <= 1.3x)"
check "zstd input, all pods vs zstd -dc" "$zst_all / $zst_p <= 1.3" "$(r "$zst_all" "$zst_p")x the time (target <= 1.3x)"
[ -n "${jq_all:-}" ] && echo "      (all pods vs plain jq: $(r "$jq_all" "$all_k")x faster)"
echo
echo "cores busy after: $(busy)% (other work on the machine skews the medians; rerun when it is idle)"
exit $fail
