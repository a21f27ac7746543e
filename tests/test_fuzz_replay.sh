#!/bin/sh
# test_fuzz_replay.sh - run every fuzz target's logic, without libFuzzer,
# over its regression inputs (fuzz/regress/<target>/: inputs that once
# crashed it, kept after the fix) and over the generated seed corpus.  Run
# by make test with FUZZ_DIR set to the directory of the replay drivers
# (build/fuzz or build-asan/fuzz).  A property violation or sanitizer report
# aborts a driver; its log names the input.
set -u
cd "$(dirname "$0")/.." || exit 2
FUZZ_DIR=${FUZZ_DIR:-build/fuzz}
fail=0
n=0
for drv in "$FUZZ_DIR"/replay_*; do
    t=${drv##*/replay_}
    base=${t%_fixcrc}
    set --
    [ -d "fuzz/regress/$t" ] && set -- "$@" "fuzz/regress/$t"
    [ -d "$FUZZ_DIR/corpus/$base" ] && set -- "$@" "$FUZZ_DIR/corpus/$base"
    [ $# -eq 0 ] && continue
    log="$FUZZ_DIR/replay_$t.log"
    if "$drv" "$@" >"$log" 2>&1; then
        n=$((n + 1))
        echo "ok: $t: $(grep -c '^replay: [^:]*$' "$log") inputs"
    else
        echo "FAILED: $t (log: $log):" >&2
        tail -30 "$log" >&2
        fail=$((fail + 1))
    fi
done
if [ $n -eq 0 ] && [ $fail -eq 0 ]; then
    echo "FAILED: no replay driver in $FUZZ_DIR" >&2
    exit 1
fi
echo "fuzz replay: $n targets passed, $fail failed"
[ $fail -eq 0 ]
