#!/bin/bash
# test_man.sh - the manual pages: each is clean under mandoc's lint, and
# each program's page names every long option its --help lists and no
# option the program does not have, so an option added, renamed or removed
# without its page fails here.  Run by make test with KV and CRASHTEST set
# to the binaries under test (kvserver is the one next to kv).
set -u
KV=${KV:-build/kv}
CRASHTEST=${CRASHTEST:-build/crashtest}
KVSERVER=${KVSERVER:-$(dirname "$KV")/kvserver}
MAN=$(cd "$(dirname "$0")/../man" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/crashlab-man-XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"

if ! command -v mandoc >/dev/null; then
    echo "test_man.sh: mandoc is missing (make deps installs it)" >&2
    exit 1
fi

# Lint: warnings and errors fail; style notes about pages this machine
# lacks (cross references) depend on the machine and are left out.
for page in "$MAN"/*.[1-9]; do
    mandoc -T lint -W warning "$page" >"$T/lint" 2>&1
    check "mandoc lint $(basename "$page")" "0:" "$?:$(cat "$T/lint")"
done

longopts() { grep -oE -- '--[a-z][a-z0-9-]*' | sort -u; }

# Every long option of PROGRAM --help is in PAGE, and the reverse.
same_options() { # same_options NAME PROGRAM PAGE
    "$2" --help >"$T/help" 2>&1
    check "$1 --help exits 0" 0 $?
    longopts <"$T/help" >"$T/help.opts"
    mandoc -T ascii "$3" | command col -bx | longopts >"$T/page.opts"
    [ -s "$T/help.opts" ]; check "$1 --help lists options" 0 $?
    check "$1: options in --help but not in $(basename "$3")" "" \
        "$(comm -23 "$T/help.opts" "$T/page.opts" | tr '\n' ' ')"
    check "$1: options in $(basename "$3") but not in --help" "" \
        "$(comm -13 "$T/help.opts" "$T/page.opts" | tr '\n' ' ')"
}
same_options crashtest "$CRASHTEST" "$MAN/crashtest.1"
same_options kv "$KV" "$MAN/kv.1"
same_options kvserver "$KVSERVER" "$MAN/kvserver.1"

# The library page names every function the public header declares.
hdr=$(dirname "$0")/../engine/crashlab.h
grep -hE '^[a-z]' "$hdr" "$(dirname "$hdr")/cl_io.h" |
    grep -oE '\bcl_[a-z_]+\(' | tr -d '(' | sort -u >"$T/api"
[ -s "$T/api" ]; check "the header declares functions" 0 $?
mandoc -T ascii "$MAN/crashlab.3" | command col -bx >"$T/crashlab.txt"
missing=""
while read -r fn; do
    grep -q -- "$fn(" "$T/crashlab.txt" || missing="$missing $fn"
done <"$T/api"
check "functions of crashlab.h missing from crashlab.3" "" "$missing"

finish
