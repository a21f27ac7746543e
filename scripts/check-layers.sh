#!/bin/bash
# check-layers.sh - fail on any dependency against the direction of the
# layers (DESIGN.md, "Layers"):
#
#   tools/<program>, harness  ->  faults  ->  engine
#   everything above the engine  ->  common (the shared helpers)
#
# The table below says which folders each folder may use.  Three checks:
#   1. every #include "..." of a source file resolves to a header in a
#      folder it may use (the file's own folder first, as the compiler
#      looks; a name found in no folder is a system or library header);
#   2. the Makefile gives each folder only the include paths it may use
#      (its LAYER_INC table);
#   3. in a build directory (BUILD, default build): no object calls a
#      function defined in a folder it may not use (nm), and the shipped
#      build/kvserver contains nothing of faults/ and no crash hooks (those
#      are in the test-only build/kvserver-crash); no shipped program and
#      no library archive defines a libc name of the interposer
#      (faults/interpose_calls.c): linked by accident, it would take over
#      every file call of the program (kvbench, which counts fsyncs with
#      its own on purpose, and crashtest, whose library targets' writers
#      run under it, are not checked).
# Usage: scripts/check-layers.sh [ROOT]   (ROOT: the tree, default the
# repository; BUILD relative to it).  Exit 0 clean, 1 a violation, 2 set-up
# error.
set -uo pipefail
ROOT=${1:-$(dirname "$0")/..}
cd "$ROOT" || exit 2
BUILD=${BUILD:-build}

# folder: the folders it may use (itself first).  A file belongs to the
# longest folder of this list that holds it.
LAYERS="
engine: engine
common: common
faults: faults engine common
harness: harness faults engine common
tools/kv: tools/kv engine common
tools/csvmeta: tools/csvmeta common
tools/kvserver: tools/kvserver engine common
tools/kvserver/crash: tools/kvserver/crash tools/kvserver faults engine common
tools/kvbench: tools/kvbench tools/kvbench/peers faults engine common
tools/kvbench/peers: tools/kvbench/peers tools/kvbench common
tests: tests harness faults engine common tools/kvserver tools/kvbench
fuzz: fuzz faults engine common tools/kvserver
examples/applog: examples/applog harness
examples/sqlitekv: examples/sqlitekv harness
"
declare -A ALLOW
while read -r key uses; do
    [ -n "$key" ] && ALLOW[${key%:}]=$uses
done <<<"$LAYERS"
# longest first, so that a file belongs to its deepest folder
FOLDERS=$(printf '%s\n' "${!ALLOW[@]}" | awk '{ print length($0), $0 }' |
    sort -rn | cut -d' ' -f2)
bad=0

layer_of() { # layer_of PATH: sets L to the folder PATH belongs to, or ""
    local f
    L=
    for f in $FOLDERS; do
        case "$1" in "$f"/*) L=$f; return ;; esac
    done
}

may_use() { # may_use FROM TO
    case " ${ALLOW[$1]-} " in *" $2 "*) return 0 ;; esac
    return 1
}

violation() {
    echo "check-layers: $*" >&2
    bad=1
}

# 1. includes
srcs=()
for f in $FOLDERS; do
    for src in "$f"/*.[ch]; do
        [ -e "$src" ] && srcs+=("$src")
    done
done
while IFS=: read -r src name; do
    layer_of "$src"
    from=$L
    dir=${src%/*}
    if [ -e "$dir/$name" ]; then
        case "$name" in
        */*) layer_of "$(realpath -m --relative-to=. "$dir/$name")" ;;
        esac
        if [ -z "$L" ]; then
            violation "$src includes \"$name\", outside every layer"
        elif ! may_use "$from" "$L"; then
            violation "$src includes \"$name\" from $L/ ($from/ may use: ${ALLOW[$from]})"
        fi
        continue
    fi
    found=
    ok=
    for g in $FOLDERS; do
        if [ -e "$g/$name" ]; then
            found="$found $g/"
            may_use "$from" "$g" && ok=1
        fi
    done
    [ -n "$found" ] && [ -z "$ok" ] &&
        violation "$src includes \"$name\" from$found ($from/ may use: ${ALLOW[$from]})"
done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/; T; F; p' "${srcs[@]}" |
    paste -d: - -)

# 2. the Makefile's include paths
if [ ! -f Makefile ]; then
    echo "check-layers: no Makefile in $(pwd)" >&2
    exit 2
fi
n=0
while read -r dir flags; do
    n=$((n + 1))
    [ "$dir" = kvcrash ] && dir=tools/kvserver/crash
    if [ -z "${ALLOW[$dir]-}" ]; then
        violation "Makefile: include paths for $dir/, a folder the layers do not know"
        continue
    fi
    for fl in $flags; do
        inc=${fl#-I}
        may_use "$dir" "$inc" ||
            violation "Makefile: $dir/ compiles with $fl ($dir/ may use: ${ALLOW[$dir]})"
    done
done < <(sed -n 's/^\$(1)\/\(.*\)\/%\.o: INC := \(.*\)$/\1 \2/p' Makefile)
if [ "$n" -eq 0 ]; then
    echo "check-layers: Makefile has no LAYER_INC table" >&2
    exit 2
fi

# 3. symbols of the objects (when built): who calls what.  A name that
# libc defines too (kvbench's counting fsync) is an interposer, not a use.
if [ -d "$BUILD" ]; then
    libc=$(${CC:-cc} -print-file-name=libc.so.6)
    tmp=$(mktemp -d) || exit 2
    trap 'rm -rf "$tmp"' EXIT
    nm -D --defined-only "$libc" 2>/dev/null | awk '{ sub(/@.*/, "", $3); print $3 }' \
        >"$tmp/libc"
    for k in "${!ALLOW[@]}"; do echo "$k ${ALLOW[$k]}"; done >"$tmp/layers"
    find "$BUILD" -name '*.o' | sort >"$tmp/objs"
    if [ -s "$tmp/objs" ]; then
        xargs nm -A -g <"$tmp/objs" 2>/dev/null |
            awk -v build="$BUILD/" -v layers="$tmp/layers" -v libc="$tmp/libc" '
            BEGIN {
                while ((getline line < layers) > 0) {
                    n = split(line, w, " ")
                    folder[++nf] = w[1]
                    for (i = 2; i <= n; i++) may[w[1], w[i]] = 1
                }
                while ((getline line < libc) > 0) inlibc[line] = 1
            }
            function layer(obj,   rel, best, i) {
                rel = substr(obj, length(build) + 1)
                if (rel ~ /^kvcrash\//) return "tools/kvserver/crash"
                best = ""
                for (i = 1; i <= nf; i++)
                    if (index(rel, folder[i] "/") == 1 && length(folder[i]) > length(best))
                        best = folder[i]
                return best
            }
            {
                obj = $1; sub(/:$/, "", obj)
                l = layer(obj)
                if (l == "") next
                if ($(NF - 1) == "U") { use[obj] = use[obj] " " $NF; from[obj] = l }
                else if (NF >= 3) def[$NF] = def[$NF] " " l
            }
            END {
                for (obj in use) {
                    n = split(use[obj], syms, " ")
                    for (i = 1; i <= n; i++) {
                        s = syms[i]
                        if (!(s in def) || (s in inlibc)) continue
                        m = split(def[s], ls, " "); ok = 0
                        for (j = 1; j <= m; j++)
                            if ((from[obj], ls[j]) in may) ok = 1
                        if (!ok)
                            printf "check-layers: %s uses %s from%s/\n", obj, s, def[s]
                    }
                }
            }' >"$tmp/bad"
        if [ -s "$tmp/bad" ]; then
            sort "$tmp/bad" >&2
            bad=1
        fi
    fi
    # crashtest is not checked: it links the interposer on purpose, for
    # the writers of library targets (target_ops.interposed).
    for prog in kv kvserver kvserver-crash csvmeta \
        libcrashlab.a libcrashlab-faults.a libcrashlab-common.a \
        libcrashlab-harness.a; do
        [ -e "$BUILD/$prog" ] || continue
        own=$(nm --defined-only "$BUILD/$prog" 2>/dev/null |
            awk '$2 == "T" && ($3 == "open" || $3 == "write" || $3 == "fsync" || $3 == "rename" || $3 == "pwrite64") { print $3 }' |
            sort -u)
        [ -n "$own" ] &&
            violation "$BUILD/$prog defines the interposer's libc names:" $own
    done
    if [ -x "$BUILD/kvserver" ]; then
        leak=$(nm --defined-only "$BUILD/kvserver" | awk '{ print $3 }' |
            grep -iE '^(crashio|shadow|plimg|fiuctl|kvcrash)_|broken' | sort -u)
        [ -n "$leak" ] &&
            violation "$BUILD/kvserver, the shipped server, holds test machinery:" $leak
    fi
fi

if [ "$bad" -ne 0 ]; then
    echo "check-layers: FAILED (the layers: DESIGN.md, scripts/check-layers.sh)" >&2
    exit 1
fi
echo "check-layers: ok (includes, include paths and symbols follow the layers)"
