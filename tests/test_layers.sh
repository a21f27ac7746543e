#!/bin/bash
# test_layers.sh - scripts/check-layers.sh passes on the tree and catches
# each kind of dependency against the direction, planted in a copy of the
# sources: an upward #include (engine -> harness, faults -> tools, a tool
# -> another tool), an include path the Makefile should not give, a call
# into a higher layer with no include at all (objects' symbols), and test
# machinery linked into the shipped kvserver.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d "${TMPDIR:-/dev/shm}/crashlab-layers-XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"

# fresh SUBDIR: a copy of the sources (no build) in $T/SUBDIR
fresh() {
    rm -rf "${T:?}/$1"
    mkdir -p "$T/$1/scripts"
    (cd "$ROOT" && cp -r Makefile engine common faults harness tools tests fuzz "$T/$1/")
    cp "$ROOT/scripts/check-layers.sh" "$T/$1/scripts/"
}
# layers SUBDIR: run the checker on $T/SUBDIR; its exit status in rc and
# its messages in $T/SUBDIR.err
layers() {
    BUILD=build "$T/$1/scripts/check-layers.sh" "$T/$1" >/dev/null 2>"$T/$1.err"
    rc=$?
}

fresh clean
layers clean
check "a copy of the tree passes" 0 "$rc"

fresh up
sed -i '0,/^#include "/s//#include "trial.h"\n&/' "$T/up/engine/db.c"
layers up
check "engine including a harness header fails" 1 "$rc"
contains "the message names the file and the header" "$T/up.err" 'engine/db.c includes "trial.h" from harness/'

fresh relpath
echo '#include "../tools/kvserver/proto.h"' >>"$T/relpath/faults/powerloss.h"
layers relpath
check "faults including a tool by a relative path fails" 1 "$rc"
contains "relative path named" "$T/relpath.err" 'faults/powerloss.h includes "../tools/kvserver/proto.h" from tools/kvserver/'

fresh sideways
echo '#include "bench.h"' >>"$T/sideways/tools/kv/kv.c"
layers sideways
check "one tool including another's header fails" 1 "$rc"
contains "sideways include named" "$T/sideways.err" 'tools/kv/kv.c includes "bench.h" from tools/kvbench/'

fresh mk
sed -i 's|^\$(1)/engine/%\.o: INC := -Iengine$|& -Iharness|' "$T/mk/Makefile"
layers mk
check "an upward include path in the Makefile fails" 1 "$rc"
contains "Makefile line named" "$T/mk.err" 'Makefile: engine/ compiles with -Iharness'

# symbols: an engine object calling a harness function without including
# its header, and a shipped kvserver holding crashio
fresh sym
mkdir -p "$T/sym/build/engine" "$T/sym/build/harness"
printf 'int wl_planted(void);\nint pg_planted(void) { return wl_planted(); }\n' >"$T/sym/e.c"
printf 'int wl_planted(void) { return 1; }\n' >"$T/sym/h.c"
cc -c "$T/sym/e.c" -o "$T/sym/build/engine/planted.o" &&
    cc -c "$T/sym/h.c" -o "$T/sym/build/harness/planted.o" || bad "cc"
layers sym
check "an engine object calling into the harness fails" 1 "$rc"
contains "symbol named" "$T/sym.err" 'build/engine/planted.o uses wl_planted from harness/'

fresh ship
mkdir -p "$T/ship/build"
printf 'int crashio_new(void) { return 0; }\nint main(void) { return crashio_new(); }\n' >"$T/ship/s.c"
cc "$T/ship/s.c" -o "$T/ship/build/kvserver" || bad "cc"
layers ship
check "a shipped kvserver with crash hooks fails" 1 "$rc"
contains "kvserver named" "$T/ship.err" 'build/kvserver, the shipped server, holds test machinery: crashio_new'

# the real build of this tree (make test runs the checker on it as well)
BUILD=${CRASHTEST:+$(dirname "$CRASHTEST")}
BUILD=${BUILD:-build}
[ -x "$ROOT/$BUILD/kvserver" ] || bad "no $BUILD/kvserver to check"
nm "$ROOT/$BUILD/kvserver" >"$T/nm.out" 2>&1 || bad "nm $BUILD/kvserver failed"
grep -qi 'crashio\|shadow_\|broken' "$T/nm.out" &&
    bad "$BUILD/kvserver holds crash machinery" || ok
grep -q 'srv_start' "$T/nm.out" && ok || bad "nm of $BUILD/kvserver lists no server symbol"
nm "$ROOT/$BUILD/kvserver-crash" 2>/dev/null | grep -q 'crashio_new' && ok ||
    bad "$BUILD/kvserver-crash has no crash hooks"
finish
