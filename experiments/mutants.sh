#!/bin/bash
# mutants.sh - experiment 6: how many crash trials each planted bug
# survives before a campaign catches it, per crash mode, and in the default
# campaign (crashtest with no options): the detection matrix of
# scripts/mutants.sh (make mutants), plotted as a heat map.  Full run:
# every planted bug (mutants/*.patch) in every crash mode, 200 trials, and
# the default campaign up to 20000 trials; QUICK=1: only the campaigns each
# patch names, 100 trials, no default campaign.  A planted bug that escapes
# is shown in the figure (and reported), and fails the run once the data
# and figure are written; a violation on the unmutated engine or a patch
# that no longer applies stops the experiment.
. "$(dirname "$0")/lib.sh"
# The planted bugs are built in the fault-injection flavour: the error
# modes some campaigns name need libfiu.
MBUILD=${MUTANTS_BUILD:-build-fiu}
CT=$MBUILD/crashtest
exp_need "$CT" "$MBUILD/kvserver-crash"
exp_begin mutants /dev/shm/crashlab-exp-mutants
dt=${DEFAULT_TRIALS:+DEFAULT_TRIALS=$DEFAULT_TRIALS }${DEFAULT_JOBS:+DEFAULT_JOBS=$DEFAULT_JOBS }
exp_header "QUICK=$QUICK ${dt}experiments/mutants.sh (QUICK=$QUICK ${dt}SEED=1 CRASHTEST=$CT OUT=... scripts/mutants.sh)"
exp_step "the planted bugs' detection matrix (scripts/mutants.sh), progress below"
rc=0
QUICK=$QUICK SEED=1 BUILD=$MBUILD CRASHTEST=$CT OUT=$EXP_SCRATCH/m.csv scripts/mutants.sh \
    >"$EXP_SCRATCH/matrix" || rc=$?
cat "$EXP_SCRATCH/matrix" >&2
[ -s "$EXP_SCRATCH/m.csv" ] || exp_die "scripts/mutants.sh wrote no CSV (exit $rc)"
if [ "$rc" != 0 ]; then
    if grep -q '^none,.*,yes,' "$EXP_SCRATCH/m.csv"; then
        exp_die "a violation on the unmutated engine (see the matrix above)"
    fi
    [ "$rc" = 1 ] || exp_die "scripts/mutants.sh failed (exit $rc)"
    exp_step "a planted bug escaped every named campaign; the figure shows it"
fi
grep -v '^#' "$EXP_SCRATCH/m.csv" >>"$EXP_TMP"
exp_end
# the data and the figure are written; an escape still fails the run (and
# CI's step), as the matrix's own exit status says
[ "$rc" = 0 ] || exp_die "a planted bug escaped every campaign its patch names (the matrix above)"
