#!/bin/bash
# test_install.sh - make install into a temporary DESTDIR puts the programs,
# both libraries, the headers, crashlab.pc and the man pages where PREFIX
# says; a program built with pkg-config --cflags --libs crashlab against
# that tree runs (shared and static); make uninstall removes every file.
# Run by make test, whose flavour (SAN=1, FIU=1) the inner make inherits
# from the environment; FLAVOUR_CFLAGS and FLAVOUR_LIBS are what a program
# linked to that flavour's library needs (-fsanitize=..., -lfiu).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/crashlab-install-XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"
# Not a sub-make of the one running the suites: no jobserver of its own.
unset MAKEFLAGS MFLAGS MAKELEVEL

D=$T/dest
make -s -C "$ROOT" install DESTDIR="$D" PREFIX=/opt/cl \
    >"$T/install.out" 2>&1
check "make install" "0" "$?"
[ $? -eq 0 ] || cat "$T/install.out"
for f in bin/kv bin/kvserver bin/crashtest libexec/crashlab/kvserver-crash \
    lib/libcrashlab.a \
    lib/libcrashlab.so lib/libcrashlab.so.2 include/crashlab/crashlab.h \
    include/crashlab/cl_io.h lib/pkgconfig/crashlab.pc \
    share/man/man1/crashtest.1 share/man/man1/kv.1 share/man/man1/kvserver.1 \
    share/man/man3/crashlab.3; do
    [ -e "$D/opt/cl/$f" ]; check "installed $f" 0 $?
done
soname=$(readelf -d "$D/opt/cl/lib/libcrashlab.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
check "soname" "libcrashlab.so.2" "$soname"
"$D/opt/cl/bin/kv" --help >/dev/null; check "installed kv runs" 0 $?
[ -x "$D/opt/cl/libexec/crashlab/kvserver-crash" ]
check "installed kvserver-crash" 0 $?
# The installed crashtest finds the installed kvserver-crash for its server
# trials.
"$D/opt/cl/bin/crashtest" --target server --trials 2 --jobs 1 --quiet \
    --dir "$T" >"$T/ct.out" 2>&1
check "installed crashtest runs server trials" 0 $?
[ $? -eq 0 ] || cat "$T/ct.out" >&2

cat >"$T/demo.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <crashlab/crashlab.h>

int main(int argc, char **argv)
{
    cl_db *db;
    void *v = NULL;
    size_t vlen = 0;
    int rc;

    if (argc != 2 || cl_open(argv[1], NULL, &db) != 0)
        return 2;
    rc = cl_put(db, "lang", 4, "c", 1);
    if (rc == 0)
        rc = cl_get_alloc(db, "lang", 4, &v, &vlen);
    if (rc == 0)
        printf("%.*s\n", (int)vlen, (char *)v);
    free(v);
    if (cl_close(db) != 0 || rc != 0)
        return 1;
    return 0;
}
C
export PKG_CONFIG_PATH=$D/opt/cl/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$D
flags=$(pkg-config --cflags --libs crashlab)
check "pkg-config finds crashlab" 0 $?
# shellcheck disable=SC2086
cc ${FLAVOUR_CFLAGS:-} -o "$T/demo" "$T/demo.c" $flags ${FLAVOUR_LIBS:-} \
    2>"$T/cc.err"
rc=$?
check "a program builds against the installed tree" 0 $rc
[ $rc -eq 0 ] || cat "$T/cc.err" >&2
out=$(LD_LIBRARY_PATH=$D/opt/cl/lib "$T/demo" "$T/db")
check "it runs on the shared library" "0 c" "$? $out"
ldd_out=$(LD_LIBRARY_PATH=$D/opt/cl/lib ldd "$T/demo")
case $ldd_out in
*"$D/opt/cl/lib/libcrashlab.so.2"*) ok ;;
*) bad "demo is not linked to the installed libcrashlab.so.2: $ldd_out" ;;
esac
# shellcheck disable=SC2086
cc ${FLAVOUR_CFLAGS:-} -o "$T/demo-static" "$T/demo.c" \
    $(pkg-config --cflags crashlab) "$D/opt/cl/lib/libcrashlab.a" \
    $(pkg-config --libs-only-other --libs-only-l --static crashlab | \
        sed 's/-lcrashlab//') ${FLAVOUR_LIBS:-} 2>"$T/cc.err"
rc=$?
check "a program builds on the static library" 0 $rc
[ $rc -eq 0 ] || cat "$T/cc.err" >&2
out=$("$T/demo-static" "$T/db2")
check "it runs" "0 c" "$? $out"

make -s -C "$ROOT" uninstall DESTDIR="$D" PREFIX=/opt/cl \
    >"$T/uninstall.out" 2>&1
check "make uninstall" 0 $?
left=$(find "$D" -type f -o -type l)
check "files left after uninstall" "" "$left"

finish
