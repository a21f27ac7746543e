#!/bin/bash
# submit.sh - run a crashtest campaign as a Slurm job array of N shards
# and a merge that runs once every shard succeeded.
#
# Usage: scripts/slurm/submit.sh -n N -o OUTDIR [-c CPUS] [-s SBATCH-ARGS]
#            -- CRASHTEST-OPTIONS...
#   -n N       shards (array tasks 0..N-1)
#   -o OUTDIR  where the shards and the merge write (shared by all nodes)
#   -c CPUS    CPUs per shard, and crashtest's --jobs (default 1)
#   -s ARGS    more sbatch arguments for both jobs (partition, time, ...)
# The crashtest options are the campaign's: without --seed a seed is drawn
# here, so that every shard runs the same campaign.  CRASHTEST names the
# program (default: crashtest on the PATH); it is passed to the jobs.
# Prints the two job ids (array, merge), one per line, and where the
# summary will be.
set -u
here=$(cd "$(dirname "$0")" && pwd)
n="" out="" cpus=1 extra=""
while getopts "n:o:c:s:" o; do
    case $o in
    n) n=$OPTARG ;;
    o) out=$OPTARG ;;
    c) cpus=$OPTARG ;;
    s) extra=$OPTARG ;;
    *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
case "$n" in '' | *[!0-9]* | 0)
    echo "submit.sh: -n N shards (a positive number) is needed" >&2
    exit 2
    ;;
esac
[ -n "$out" ] || { echo "submit.sh: -o OUTDIR is needed" >&2; exit 2; }
case " $* " in
*" --seed "*) seed=() ;;
*) seed=(--seed "0x$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')") ;;
esac
mkdir -p "$out" && out=$(cd "$out" && pwd) || exit 2
export CRASHTEST=${CRASHTEST:-crashtest}
# shellcheck disable=SC2086 # $extra: sbatch arguments, split on purpose
array=$(sbatch --parsable --export=ALL --array="0-$((n - 1))" \
    --cpus-per-task="$cpus" --output="$out/slurm-%A_%a.out" $extra \
    "$here/shard.sbatch" "$out" "${seed[@]}" "$@") || exit 2
array=${array%%;*}
# shellcheck disable=SC2086
merge=$(sbatch --parsable --export=ALL --dependency="afterok:$array" \
    --kill-on-invalid-dep=yes --output="$out/slurm-%j-merge.out" $extra \
    "$here/merge.sbatch" "$out") || exit 2
merge=${merge%%;*}
echo "$array"
echo "$merge"
echo "submit.sh: $n shards in job $array, merge in job $merge;" \
    "summary: $out/summary.txt" >&2
