# lib.sh - shell helpers shared by experiments/<name>.sh (sourced, not run).
#
# An experiment script calls, in order:
#   exp_begin NAME DATA_DIR   where its outputs and data go; the data
#                             directory's file system goes into the header
#   exp_header COMMAND...     the '#' lines: date, commit, command, CPU,
#                             cores, kernel, file system of the data dir
#   ... exp_step "what" and rows appended to "$EXP_TMP" ...
#   exp_end                   rename the CSV into place, render the PNG
# Any failure (exp_die, a failed command under set -e) leaves no CSV behind:
# rows go to a temporary file renamed only by exp_end.
#
# Environment: QUICK=1 (small versions, written to build/results-quick/
# unless EXP_OUT says otherwise), EXP_OUT (output directory), BUILD (where
# the tools are, default build).
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=${QUICK:-0}
BUILD=${BUILD:-build}
if [ "$QUICK" = 1 ]; then
    EXP_OUT=${EXP_OUT:-build/results-quick}
else
    EXP_OUT=${EXP_OUT:-results}
fi
EXP_T0=$(date +%s)

# exp_die MESSAGE: stop the experiment with a message naming it.
exp_die() {
    echo "experiment ${EXP_NAME:-?}: FAILED: $*" >&2
    exit 1
}

# exp_unavailable MESSAGE: stop with exit status 2, before any result:
# something the experiment needs cannot run on this machine (make deps).
exp_unavailable() {
    echo "experiment ${EXP_NAME:-?}: CANNOT RUN: $*" >&2
    exit 2
}

# exp_step MESSAGE: a progress line with the seconds since the start.
exp_step() {
    echo "[${EXP_NAME} +$(($(date +%s) - EXP_T0)) s] $*" >&2
}

# exp_run COMMAND...: run a command; on failure show its stderr and stop.
# Its stdout is the caller's.
exp_run() {
    if ! "$@" 2>"$EXP_SCRATCH/stderr"; then
        cat "$EXP_SCRATCH/stderr" >&2
        exp_die "command failed: $*"
    fi
}

# exp_need FILE...: stop unless each tool exists.
exp_need() {
    for f in "$@"; do
        [ -x "$f" ] || exp_die "$f is missing (make -j2 builds it)"
    done
}

exp_cleanup() {
    rc=$?
    rm -rf "$EXP_SCRATCH"
    rm -f "$EXP_TMP"
    if [ "$rc" != 0 ] && [ -z "${EXP_DONE:-}" ]; then
        echo "experiment $EXP_NAME: stopped (exit $rc); $EXP_OUT/$EXP_NAME.csv not written" >&2
    fi
    exit "$rc"
}

# exp_begin NAME DATA_DIR: set EXP_NAME, EXP_CSV (the final CSV), EXP_TMP
# (where rows go until exp_end), EXP_DATA (the data directory, created and
# emptied), EXP_SCRATCH (a private temporary directory).
exp_begin() {
    EXP_NAME=$1
    EXP_DATA=$2
    mkdir -p "$EXP_OUT"
    EXP_CSV=$EXP_OUT/$EXP_NAME.csv
    EXP_TMP=$EXP_OUT/.$EXP_NAME.csv.tmp
    EXP_SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/exp-$EXP_NAME-XXXXXX")
    trap exp_cleanup EXIT
    trap 'exit 130' INT TERM
    rm -rf "$EXP_DATA"
    mkdir -p "$EXP_DATA"
    : >"$EXP_TMP"
    exp_step "start$([ "$QUICK" = 1 ] && echo ' (QUICK=1)'), output $EXP_CSV, data in $EXP_DATA"
}

# exp_commit: the commit of the working tree, and whether it is modified.
exp_commit() {
    local commit
    commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
    git diff --quiet HEAD -- 2>/dev/null || commit="$commit (with uncommitted changes)"
    echo "$commit"
}

# exp_header COMMAND...: the '#' metadata lines of the CSV, in the
# project's one vocabulary (build/csvmeta, common/csvmeta.h).
exp_header() {
    echo "# $EXP_NAME.csv - experiments/$EXP_NAME.sh" >>"$EXP_TMP"
    "$BUILD/csvmeta" --dir "$EXP_DATA" --commit "$(exp_commit)" -- "$*" \
        >>"$EXP_TMP" || exp_die "$BUILD/csvmeta failed"
}

# exp_note TEXT: one more '#' line (parameters worth knowing).
exp_note() {
    echo "# $*" >>"$EXP_TMP"
}

# exp_plot NAME CSV PNG: render PNG from CSV with experiments/NAME.gp; a
# failed render leaves no PNG.
exp_plot() {
    local name=$1 csv=$2 png=$3
    local tmp=$png.tmp.png err=$png.gp.err sub
    [ -s "$csv" ] || { echo "experiment $name: $csv is missing or empty" >&2; return 1; }
    sub="$(sed -n 's/^# CPU: //p' "$csv"), $(sed -n 's/^# cores: //p' "$csv") cores"
    sub="$sub, $(sed -n 's/^# kernel: //p' "$csv"), $(sed -n 's/^# file system\( of the data directory [^:]*\)\{0,1\}: \([^ ]*\).*/\2/p' "$csv")"
    sub="$sub, $(sed -n 's/^# date: //p' "$csv")"
    if ! gnuplot -e "in='$csv'; out='$tmp'; subtitle='$sub'" \
        "experiments/$name.gp" 2>"$err" || [ ! -s "$tmp" ]; then
        cat "$err" >&2
        rm -f "$tmp" "$err"
        echo "experiment $name: FAILED: gnuplot could not render $png" >&2
        return 1
    fi
    rm -f "$err"
    mv "$tmp" "$png"
}

# exp_end: render the figure, then put the CSV in place.
exp_end() {
    grep -qv '^#' "$EXP_TMP" || exp_die "no data rows"
    exp_plot "$EXP_NAME" "$EXP_TMP" "$EXP_OUT/$EXP_NAME.png" || exit 1
    mv "$EXP_TMP" "$EXP_CSV"
    EXP_DONE=1
    rm -rf "$EXP_DATA"
    exp_step "done: $EXP_CSV, $EXP_OUT/$EXP_NAME.png"
}

# exp_pct P FILE: the P-th percentile (nearest rank) of the numbers in FILE.
exp_pct() {
    sort -n "$2" | awk -v p="$1" '{ v[NR] = $1 }
        END { if (NR == 0) exit 1; i = int(p / 100 * NR + 0.999999); if (i < 1) i = 1
              if (i > NR) i = NR; print v[i] }'
}
