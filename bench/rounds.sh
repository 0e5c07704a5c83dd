# Helpers shared by the benchmark scripts (sourced, not run): timing in rounds, the tools they
# need, waiting for idle cores, and the generated logs. The caller sets RUNS and TMP (a scratch
# directory), and for new_log GEN (the gen-corpus binary) and SEED.

# rounds NAME=COMMAND...: runs the commands in turn, one run of each per round, after one warm-up
# round; TIMES[NAME] gets each one's wall times in seconds, round by round, and MED[NAME] their
# median. A command and the peer it is compared with are timed in the same rounds, and a ratio is
# the median of the ratios within a round: the speed of this kind of virtual machine's cores
# drifts by a third over minutes (`zstd -dc` alone took 0.73 s to 1.19 s on one afternoon), and
# timing every run of one command before the other's let that drift decide a verdict.
declare -gA MED TIMES
rounds() {
    local spec name cmd t r
    for spec in "$@"; do TIMES[${spec%%=*}]=; done
    for ((r = 0; r <= RUNS; r++)); do
        for spec in "$@"; do
            name=${spec%%=*} cmd=${spec#*=}
            t=$({ TIMEFORMAT=%3R; time eval "$cmd" >/dev/null 2>"$TMP/$name.err"; } 2>&1) ||
                { cat "$TMP/$name.err" >&2; echo "bench: '$cmd' failed" >&2; exit 2; }
            [ "$r" -gt 0 ] && TIMES[$name]+="$t "
        done
    done
    for spec in "$@"; do
        name=${spec%%=*}
        MED[$name]=$(printf '%s\n' ${TIMES[$name]} | median)
    done
}

# median: the median of the numbers on stdin, one per line.
median() {
    sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'
}

# ratio A B: the median over the rounds of A's time divided by B's (both timed by one `rounds`).
ratio() {
    paste -d' ' <(printf '%s\n' ${TIMES[$1]}) <(printf '%s\n' ${TIMES[$2]}) |
        awk '{ print $1 / $2 }' | median
}

# need COMMAND PACKAGE: installs PACKAGE with apt-get when COMMAND is missing (the package's name
# differs from the command's for some).
need() {
    local cmd=$1 pkg=$2
    if ! command -v "$cmd" >/dev/null 2>&1 && ! [ -x "$cmd" ]; then
        echo "bench: installing $pkg" >&2
        if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
        $SUDO apt-get install -y "$pkg" >/dev/null 2>&1 ||
            { $SUDO apt-get update >/dev/null 2>&1 && $SUDO apt-get install -y "$pkg" >/dev/null; }
    fi
}

# new_log LOG GEN-CORPUS-ARGS... [-- STALE...]: generates LOG with $GEN (built when missing) and
# --seed $SEED, unless LOG is there; a new LOG removes STALE, what was made from the old one (its
# compressed copies, an export tree). The log is written under another name and moved into place,
# so an interrupted run leaves no partial LOG behind.
new_log() {
    local log=$1 args=()
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        args+=("$1")
        shift
    done
    if [ $# -gt 0 ]; then shift; fi
    if [ -s "$log" ]; then return 0; fi
    [ -x "$GEN" ] || cargo build --release --locked --bin gen-corpus >&2
    echo "bench: generating $log (${args[*]}, seed $SEED)" >&2
    "$GEN" "${args[@]}" --seed "$SEED" --out "$log.tmp" >&2
    mv "$log.tmp" "$log"
    rm -rf "$@"
}

# busy: how busy the cores are, in percent, measured over 3 s from /proc/stat (the load average of
# a virtual machine can stay above 1 while its cores are idle).
busy() {
    local a b
    a=$(awk '/^cpu / { printf "%d %d", $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9 }' /proc/stat)
    sleep 3
    b=$(awk '/^cpu / { printf "%d %d", $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9 }' /proc/stat)
    echo "$a $b" | awk '{ d = $4 - $2; printf "%.0f", (d > 0 ? 100 * ($3 - $1) / d : 0) }'
}

# wait_for_idle: other work on the machine skews every median, so wait (up to WAIT_IDLE seconds,
# default 600) until the cores are mostly idle.
wait_for_idle() {
    local waited=0 now
    while now=$(busy) && [ "$now" -gt 25 ] && [ "$waited" -lt "${WAIT_IDLE:-600}" ]; do
        [ "$waited" = 0 ] && echo "bench: waiting for the cores to be idle (now ${now}% busy)" >&2
        sleep 7
        waited=$((waited + 10))
    done
}
