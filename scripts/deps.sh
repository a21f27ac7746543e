#!/bin/sh
# deps.sh - make sure the Debian packages the build uses are installed.
#
# Usage: scripts/deps.sh PACKAGE...
# Installs the missing ones with apt-get when run as root (running
# apt-get update once first); otherwise prints the exact command to run and
# exits 1.  Exits 0 when everything is present.
set -u

missing=""
for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "deps: missing packages:$missing (and no apt-get here: install them by hand)" >&2
    exit 1
fi
if [ "$(id -u)" != 0 ]; then
    echo "deps: missing packages:$missing" >&2
    echo "deps: run:  sudo apt-get update && sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq >&2; then
    echo "deps: apt-get update failed" >&2
    exit 1
fi
if ! apt-get install -y -qq --no-install-recommends $missing >&2; then
    echo "deps: apt-get install failed for:$missing" >&2
    exit 1
fi
exit 0
