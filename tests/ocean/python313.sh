#!/usr/bin/env bash
# Prints the path of a CPython 3.13 interpreter, installing one if needed: port-ocean needs
# Python >= 3.12 and this machine's Debian (bookworm) has 3.11. Debian's own trixie packages of
# python3.13 and the libraries it links (its glibc included) are downloaded with apt-get into a
# private directory and unpacked there; the interpreter is pointed at that directory's loader and
# libraries with patchelf. Nothing is installed into the system.
# Usage: python313.sh DIR   (DIR is created; a second run reuses it)
set -euo pipefail
dir="$1"
py="$dir/root/usr/bin/python3.13"
if [[ -x "$py" ]] && "$py" -c 'import ssl, sqlite3' 2>/dev/null; then
    echo "$py"
    exit 0
fi
command -v patchelf >/dev/null || { echo "python313.sh: patchelf is needed (apt-get install patchelf)" >&2; exit 1; }
rm -rf "$dir"
mkdir -p "$dir"/{lists/partial,cache,debs/partial,root}
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" > "$dir/sources.list"
: > "$dir/status"
apt_opts=(
    -o "Dir::Etc::sourcelist=$dir/sources.list" -o "Dir::Etc::sourceparts=-"
    -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache"
    -o "Dir::State::status=$dir/status" -o "Dir::Cache::archives=$dir/debs"
)
apt-get "${apt_opts[@]}" update -qq >&2
apt-get "${apt_opts[@]}" install -y -qq --download-only --no-install-recommends python3.13 python3.13-venv >&2
for deb in "$dir"/debs/*.deb; do dpkg-deb -x "$deb" "$dir/root"; done
lib="$dir/root/usr/lib/x86_64-linux-gnu"
patchelf --set-interpreter "$lib/ld-linux-x86-64.so.2" --force-rpath --set-rpath "$lib" "$py"
"$py" -c 'import ssl, sqlite3' >&2
echo "$py"
