#!/usr/bin/env bash
# The scale benchmark: a day of a busy cluster. Every command over generated logs of 20,000 pods
# (4.5 GB) and of 100,000 pods with little noise, and over a directory of 100 `.gz` files, each
# against the tool that only reads the same bytes, in alternating rounds; and the peak resident
# memory of every ktrail command. Prints medians, ratios and PASS/FAIL per target; exits 1 when a
# target fails. bench/run.sh calls it last (SCALE=0 skips it there).
#
#   bench/scale.sh                                # RUNS=3 rounds, every corpus
#   CORPORA="wide dir" bench/scale.sh             # some of: wide (20k pods), dense (100k), dir
#   SCALE_PODS=2000 SCALE_SIZE=300MB DENSE_PODS=5000 bench/scale.sh   # small, for a quick look
#   KTRAIL=/path/to/ktrail bench/scale.sh         # a prebuilt binary instead of building one
#   BASELINE=/path/to/ktrail bench/scale.sh       # also time an earlier build against this one
#   DATA=/elsewhere bench/scale.sh                # where the logs are kept (default bench/data)
#
# The logs are generated once and kept (with their .zst, and the directory of .gz parts); they
# need about 11 GB of disk at full size.
#
# Targets (from the issue that asked for them):
#   timeline of every pod            <= 2.5x   rg -c '"resource":"pods"' (reading every byte)
#   timeline of one pod              <= 1.5x   rg -c '"name":"nginx"'
#   pods, webhooks, check            <= 1.2x   timeline of every pod
#   blame of one pod                 <= 1.5x   timeline of that pod
#   timeline of every pod from .zst  <= 1.5x   zstd -dc to /dev/null
#   a directory of 100 .gz files     >= 1.7x faster than zcat of them all to /dev/null
#   peak resident memory             <  256 MiB, every ktrail command
# `report -O` is timed and its memory checked, against the timeline of every pod for scale.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
SEED=${SEED:-1}
DATA=${DATA:-bench/data}
TARGET=${CARGO_TARGET_DIR:-target}
SCALE_PODS=${SCALE_PODS:-20000}
SCALE_SIZE=${SCALE_SIZE:-4.5GB}
DENSE_PODS=${DENSE_PODS:-100000}
DENSE_NOISE=${DENSE_NOISE:-5}
DIR_FILES=${DIR_FILES:-100}
CORPORA=${CORPORA:-wide dense dir}
RULES=${RULES:-bench/scale-rules.yaml}
# Every generated log tells this pod's story first (crates/corpus/src/pods.rs).
POD=fargate-ns/nginx
NAME=nginx

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# rounds, median, ratio, need, busy, wait_for_idle, new_log: see bench/rounds.sh.
source bench/rounds.sh
need rg ripgrep
need /usr/bin/time time
need gzip gzip
need zstd zstd

if [ -z "${KTRAIL:-}" ]; then
    cargo build --release --locked --bin ktrail --bin gen-corpus >&2
    KTRAIL=$TARGET/release/ktrail
fi
GEN=$TARGET/release/gen-corpus

WIDE=$DATA/scale-$SCALE_PODS-$SCALE_SIZE-$SEED.jsonl
DENSE=$DATA/dense-$DENSE_PODS-$DENSE_NOISE-$SEED.jsonl
DIR=${WIDE%.jsonl}.gz.d
has() { case " $CORPORA " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# generate LOG GEN-CORPUS-ARGS...: LOG and LOG.zst, unless they are there.
generate() {
    local log=$1
    shift
    new_log "$log" "$@" -- "$log.zst" "${log%.jsonl}.gz.d"
    if [ ! -s "$log.zst" ]; then
        echo "bench: compressing $log.zst (once)" >&2
        zstd -q -T0 -c "$log" >"$log.zst.tmp" && mv "$log.zst.tmp" "$log.zst"
    fi
}

mkdir -p "$DATA"
if has wide || has dir; then generate "$WIDE" --pods "$SCALE_PODS" --size "$SCALE_SIZE"; fi
if has dense; then generate "$DENSE" --pods "$DENSE_PODS" --noise-per-pod "$DENSE_NOISE"; fi
if has dir && [ ! -d "$DIR" ]; then
    # The wide log cut at line ends into DIR_FILES parts (as rotation or a delivery stream cuts
    # a log), each compressed as `gzip -6` does by default, on every core.
    echo "bench: writing $DIR, $DIR_FILES .gz parts of $WIDE (once)" >&2
    rm -rf "$DIR.tmp"
    mkdir -p "$DIR.tmp"
    seq 1 "$DIR_FILES" | xargs -P "$(nproc)" -I{} sh -c \
        'split -n "l/$1/$2" "$3" | gzip -6 >"$4/part-$(printf %03d "$1").gz"' _ {} "$DIR_FILES" "$WIDE" "$DIR.tmp"
    mv "$DIR.tmp" "$DIR"
fi

wait_for_idle
# Warm the page cache: every command below reads from memory, not from the disk.
for c in $CORPORA; do
    case $c in
        wide) cat "$WIDE" "$WIDE.zst" >/dev/null ;;
        dense) cat "$DENSE" "$DENSE.zst" >/dev/null ;;
        dir) cat "$DIR"/*.gz >/dev/null ;;
        *) echo "bench: unknown corpus $c (CORPORA: wide, dense, dir)" >&2; exit 2 ;;
    esac
done

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
echo "scale benchmark: $RUNS rounds (after one warm-up round), $KTRAIL"
echo "machine: $(nproc) cores, $cpu, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
echo "peers:   $(rg --version | sed -n 1p), gzip $(gzip --version | sed -n 1p | awk '{print $NF}'), zstd $(zstd --version | grep -o 'v[0-9.]*' | sed -n 1p)"
for c in $CORPORA; do
    case $c in
        wide) echo "wide:    $WIDE, $(stat -c %s "$WIDE") bytes, $(wc -l <"$WIDE") lines, $SCALE_PODS pods; .zst $(stat -c %s "$WIDE.zst")" ;;
        dense) echo "dense:   $DENSE, $(stat -c %s "$DENSE") bytes, $(wc -l <"$DENSE") lines, $DENSE_PODS pods; .zst $(stat -c %s "$DENSE.zst")" ;;
        dir) echo "dir:     $DIR, $(ls "$DIR" | wc -l) .gz files, $(cat "$DIR"/*.gz | wc -c) bytes compressed" ;;
    esac
done
echo "cores busy before: $(busy)%"

# k NAME: ktrail, with its peak resident memory added to $TMP/NAME.rss for every run.
k() { echo "/usr/bin/time -f %M -a -o $TMP/$1.rss $KTRAIL"; }
# rss NAME: the highest peak resident memory of NAME's runs, in MiB.
rss() { sort -n "$TMP/$1.rss" | tail -1 | awk '{ printf "%.1f", $1 / 1024 }'; }

# corpus TAG LOG: every command over LOG, in the same rounds.
corpus() {
    local t=$1 log=$2
    rounds "$t-rg=rg -c '\"resource\":\"pods\"' $log" \
        "$t-all=$(k "$t-all") timeline -f $log -o json" \
        "$t-rg-one=rg -c '\"name\":\"$NAME\"' $log" \
        "$t-one=$(k "$t-one") timeline $POD -f $log -o json" \
        "$t-blame=$(k "$t-blame") blame $POD -f $log -o json" \
        "$t-pods=$(k "$t-pods") pods -f $log -o json" \
        "$t-webhooks=$(k "$t-webhooks") webhooks -f $log -o json" \
        "$t-check=$(k "$t-check") check --rules $RULES -f $log -o json || [ \$? = 1 ]" \
        "$t-report=$(k "$t-report") report -f $log -O $TMP/$t.html --force" \
        "$t-zstd=zstd -dc $log.zst" \
        "$t-zst=$(k "$t-zst") timeline -f $log.zst -o json"
    rm -f "$TMP/$t.html"
}

fail=0
# check LABEL X VERDICT-EXPRESSION (awk, on `x`) TEXT [FORMAT OF X]
check() {
    local label=$1 x=$2 ok=$3 text=$4 format=${5:-%.2f} v
    if awk -v x="$x" "BEGIN { exit !($ok) }"; then v=PASS; else v=FAIL; fail=1; fi
    printf "%-4s  %-44s $format%s\n" "$v" "$label" "$x" "$text"
}
# line LABEL NAME: a command's median and its times round by round.
line() { printf '  %-70s %8.3f   (%s)\n' "$1" "${MED[$2]}" "$(echo ${TIMES[$2]})"; }

# report TAG FILE: the medians, the verdicts and the memory of corpus TAG.
report() {
    local t=$1 f=$2 n
    echo
    echo "$t: medians of $RUNS rounds (seconds; then each round's time)"
    line "rg -c '\"resource\":\"pods\"' $f" "$t-rg"
    line "ktrail timeline -f $f -o json" "$t-all"
    line "rg -c '\"name\":\"$NAME\"' $f" "$t-rg-one"
    line "ktrail timeline $POD -f $f -o json" "$t-one"
    line "ktrail blame $POD -f $f -o json" "$t-blame"
    line "ktrail pods -f $f -o json" "$t-pods"
    line "ktrail webhooks -f $f -o json" "$t-webhooks"
    line "ktrail check --rules $(basename "$RULES") -f $f -o json" "$t-check"
    line "ktrail report -f $f -O FILE" "$t-report"
    line "zstd -dc $f.zst >/dev/null" "$t-zstd"
    line "ktrail timeline -f $f.zst -o json" "$t-zst"
    check "$t: every pod vs rg -c" "$(ratio "$t-all" "$t-rg")" "x <= 2.5" "x the time (target <= 2.5x)"
    check "$t: one pod vs rg -c name" "$(ratio "$t-one" "$t-rg-one")" "x <= 1.5" "x the time (target <= 1.5x)"
    check "$t: blame vs timeline, one pod" "$(ratio "$t-blame" "$t-one")" "x <= 1.5" "x the time (target <= 1.5x)"
    for n in pods webhooks check; do
        check "$t: $n vs timeline, every pod" "$(ratio "$t-$n" "$t-all")" "x <= 1.2" "x the time (target <= 1.2x)"
    done
    printf '      %-44s %.2fx the time\n' "$t: report vs timeline, every pod" "$(ratio "$t-report" "$t-all")"
    check "$t: every pod from .zst vs zstd -dc" "$(ratio "$t-zst" "$t-zstd")" "x <= 1.5" "x the time (target <= 1.5x)"
    for n in all one blame pods webhooks check report zst; do
        check "$t: peak memory, $n" "$(rss "$t-$n")" "x < 256" " MiB (target < 256 MiB)" %.1f
    done
}

if has wide; then
    corpus wide "$WIDE"
    report wide "$(basename "$WIDE")"
fi
if has dense; then
    corpus dense "$DENSE"
    report dense "$(basename "$DENSE")"
fi
if has dir; then
    rounds dir-zcat="zcat $DIR/*.gz" "dir-all=$(k dir-all) timeline -f $DIR -o json"
    # The parts must tell the whole log's stories: a fast wrong answer is no answer.
    if has wide; then
        "$KTRAIL" timeline -f "$DIR" -o json | cksum >"$TMP/dir.sum"
        "$KTRAIL" timeline -f "$WIDE" -o json | cksum >"$TMP/wide.sum"
        cmp -s "$TMP/dir.sum" "$TMP/wide.sum" ||
            { echo "bench: the stories of $DIR are not those of $WIDE" >&2; exit 2; }
    fi
    f=$(basename "$DIR")
    echo
    echo "dir: medians of $RUNS rounds (seconds; then each round's time)"
    line "zcat $f/*.gz >/dev/null" dir-zcat
    line "ktrail timeline -f $f -o json" dir-all
    check "dir: $(ls "$DIR" | wc -l) .gz files, every pod vs zcat" "$(ratio dir-zcat dir-all)" "x >= 1.7" \
        "x faster (target >= 1.7x)"
    check "dir: peak memory, every pod" "$(rss dir-all)" "x < 256" " MiB (target < 256 MiB)" %.1f
fi

if [ -n "${BASELINE:-}" ]; then
    ab=()
    has wide && ab+=("base-wide=$BASELINE timeline -f $WIDE -o json" "this-wide=$KTRAIL timeline -f $WIDE -o json")
    has dense && ab+=("base-dense=$BASELINE timeline -f $DENSE -o json" "this-dense=$KTRAIL timeline -f $DENSE -o json")
    has dir && ab+=("base-dir=$BASELINE timeline -f $DIR -o json" "this-dir=$KTRAIL timeline -f $DIR -o json")
    rounds "${ab[@]}"
    echo
    echo "this build against the baseline $BASELINE (timeline of every pod, same rounds; < 1 is faster):"
    for c in $CORPORA; do
        line "baseline: $c" "base-$c"
        line "this:     $c" "this-$c"
        printf '      %-44s %.2fx the baseline'"'"'s time\n' "$c" "$(ratio "this-$c" "base-$c")"
    done
fi
echo
echo "cores busy after: $(busy)% (other work on the machine skews the medians; rerun when it is idle)"
exit $fail
