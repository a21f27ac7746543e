#!/bin/bash
# mutants.sh - experiment 6: how many crash trials each planted bug
# survives before a campaign catches it, per crash mode: the detection
# matrix of scripts/mutants.sh (make mutants), plotted as a heat map.  Full
# run: every mutant in every mode; QUICK=1: only the modes the catalogue
# names, 100 trials.  Needs the fault-injection build (build-fiu/crashtest).
# A mutant that escapes is shown in the figure (and reported); a violation
# on the unmutated engine stops the experiment.
. "$(dirname "$0")/lib.sh"
CT=${CRASHTEST_FIU:-build-fiu/crashtest}
exp_need "$CT"
exp_begin mutants /dev/shm/crashlab-exp-mutants
exp_header "QUICK=$QUICK experiments/mutants.sh (QUICK=$QUICK SEED=1 CRASHTEST=$CT OUT=... scripts/mutants.sh)"
exp_step "the planted bugs' detection matrix (scripts/mutants.sh), progress below"
rc=0
QUICK=$QUICK SEED=1 CRASHTEST=$CT OUT=$EXP_SCRATCH/m.csv scripts/mutants.sh \
    >"$EXP_SCRATCH/matrix" || rc=$?
cat "$EXP_SCRATCH/matrix" >&2
[ -s "$EXP_SCRATCH/m.csv" ] || exp_die "scripts/mutants.sh wrote no CSV (exit $rc)"
if [ "$rc" != 0 ]; then
    if grep -q '^none,.*,yes,' "$EXP_SCRATCH/m.csv"; then
        exp_die "a violation on the unmutated engine (see the matrix above)"
    fi
    [ "$rc" = 1 ] || exp_die "scripts/mutants.sh failed (exit $rc)"
    exp_step "WARNING: a mutant escaped every campaign; the figure shows it"
fi
grep -v '^#' "$EXP_SCRATCH/m.csv" >>"$EXP_TMP"
exp_end
