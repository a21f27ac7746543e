#!/bin/bash
# deb.sh - build the Debian packages from the committed tree and check them:
# dpkg-buildpackage -us -uc -b in a copy of the tree, lintian (any error
# fails), then, as root, install them with dpkg -i, run the installed
# crashtest, kv and a program built with pkg-config against
# libcrashlab-dev, and remove them again.
#
# Usage: scripts/deb.sh [OUTDIR]   (the .deb files are left in OUTDIR,
# default build/deb).  Needs dpkg-dev, debhelper, lintian and the build
# dependencies of debian/control (make deb installs them).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
OUT=${1:-build/deb}
T=$(mktemp -d "${TMPDIR:-/tmp}/crashlab-deb-XXXXXX")
installed=""
cleanup() {
    [ -n "$installed" ] && dpkg -r $installed >/dev/null 2>&1
    rm -rf "$T"
}
trap cleanup EXIT
fail() {
    echo "deb: $*" >&2
    exit 1
}

# A copy of the committed and untracked-but-not-ignored files, without
# build products: what a source package holds.
mkdir -p "$T/crashlab" || exit 2
git ls-files -co --exclude-standard -z | tar --null -cf - -T - |
    tar -xf - -C "$T/crashlab" || fail "copying the tree"
version=$(dpkg-parsechangelog -l debian/changelog -S Version) || exit 2
echo "deb: dpkg-buildpackage -us -uc -b (version $version)"
(cd "$T/crashlab" && dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1 || {
    tail -40 "$T/build.log"
    fail "dpkg-buildpackage failed (log above)"
}
grep -E '^(dpkg-deb: building|[0-9]+ trials in|no violations)' "$T/build.log"
mkdir -p "$OUT" && cp "$T"/*.deb "$T"/*.changes "$OUT"/ || exit 2

echo "deb: lintian"
lintian --fail-on error "$T"/crashlab_"${version}"_*.changes ||
    fail "lintian reported errors"
echo "deb: lintian: no errors"

[ "$(id -u)" = 0 ] || {
    echo "deb: not root: the packages are built and checked, not installed"
    exit 0
}
debs=$(ls "$T"/*.deb | grep -v dbgsym)
dpkg -i $debs >"$T/dpkg.log" 2>&1 || {
    cat "$T/dpkg.log"
    fail "dpkg -i failed"
}
installed="crashlab libcrashlab-dev libcrashlab2"
for p in $installed; do
    dpkg-query -W -f='deb: installed ${Package} ${Version}\n' "$p" || exit 1
done
[ "$(command -v crashtest)" = /usr/bin/crashtest ] ||
    fail "crashtest is not /usr/bin/crashtest: $(command -v crashtest)"
echo "deb: /usr/bin/crashtest --trials 100"
/usr/bin/crashtest --trials 100 --jobs 2 --quiet --dir "$T" ||
    fail "the installed crashtest failed"
/usr/bin/kv -d "$T/db" set lang c && [ "$(/usr/bin/kv -d "$T/db" get lang)" = c ] ||
    fail "the installed kv failed"
man -w crashtest kv kvserver crashlab >/dev/null || fail "a man page is not installed"
cat >"$T/demo.c" <<'C'
#include <crashlab/crashlab.h>
#include <stdio.h>
int main(void)
{
    cl_db *db;
    if (cl_open("demo.db", NULL, &db) != 0 || cl_put(db, "k", 1, "v", 1) != 0)
        return 1;
    puts(cl_strerror(CL_ENOTFOUND));
    return cl_close(db) != 0;
}
C
(cd "$T" && cc demo.c $(pkg-config --cflags --libs crashlab) -o demo && ./demo) ||
    fail "a program built against libcrashlab-dev failed"
ldd "$T/demo" >"$T/ldd" 2>&1
grep -q 'libcrashlab.so.2 => /.*/libcrashlab.so.2' "$T/ldd" ||
    fail "the demo is not linked to the packaged libcrashlab.so.2: $(cat "$T/ldd")"
echo "deb: the installed packages work; removing them"
exit 0
