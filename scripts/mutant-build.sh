#!/bin/bash
# mutant-build.sh - build crashtest (and kvserver-crash) against a copy of the
# engine with one planted bug applied: mutants/NAME.patch onto a scratch
# copy of engine/ in build-mutants/NAME/engine, objects in
# build-mutants/NAME/obj.  Only the files the patch changes are compiled
# again: the other objects are copied from the normal build (make).
# Prints the build folder (crashtest and kvserver-crash are in it).
# Usage: scripts/mutant-build.sh NAME   (or a path to a .patch file)
# Environment: BUILD, the normal build folder whose flavour is used
# (build, build-asan, build-fiu, build-fiu-asan; default build);
# MUTANT_BUILD, where the scratch trees go (default build-mutants).
# Exit status: 0 built; 1 the patch does not apply exactly (the engine
# changed under it: update the patch); 2 set-up or build error.
set -u
cd "$(dirname "$0")/.." || exit 2
arg=${1:?usage: scripts/mutant-build.sh NAME}
case $arg in
*.patch) patch=$arg ;;
*) patch=mutants/$arg.patch ;;
esac
name=$(basename "$patch" .patch)
[ -f "$patch" ] || { echo "mutant-build: no $patch" >&2; exit 2; }
BUILD=${BUILD:-build}
flavour=""
case $BUILD in *fiu*) flavour="$flavour FIU=1" ;; esac
case $BUILD in *asan*) flavour="$flavour SAN=1" ;; esac
B=${MUTANT_BUILD:-build-mutants}/$(basename "$BUILD")/$name
rm -rf "$B/engine"
mkdir -p "$B/engine" "$B/obj/engine" || exit 2
cp -p engine/*.c engine/*.h "$B/engine/" || exit 2
# --fuzz=0: every line of context must match, so a patch whose code moved
# or changed fails here instead of landing somewhere else.
if ! out=$(patch -d "$B" -p1 --fuzz=0 --no-backup-if-mismatch -s -r - <"$patch" 2>&1); then
    echo "mutant-build: $patch does not apply to engine/:" >&2
    echo "$out" >&2
    exit 1
fi
# Seed the objects of the files the patch leaves alone (a patch that
# changes a header rebuilds everything).
if ! grep -q '^+++ b/engine/.*\.h' "$patch"; then
    for o in "$BUILD"/engine/*.o; do
        [ -f "$o" ] && cp -p "$o" "$B/obj/engine/"
    done
fi
# shellcheck disable=SC2086
if ! make --no-print-directory -s $flavour MUTANT_SRC="$B/engine" MUTANT_B="$B/obj" \
    "$B/obj/crashtest" "$B/obj/kvserver-crash" >"$B/build.log" 2>&1; then
    echo "mutant-build: building $name failed (see $B/build.log):" >&2
    tail -20 "$B/build.log" >&2
    exit 2
fi
echo "$B/obj"
