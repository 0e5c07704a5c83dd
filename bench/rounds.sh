# Timing helpers shared by the benchmark scripts (sourced, not run). The caller sets RUNS and TMP
# (a scratch directory).

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
