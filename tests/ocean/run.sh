#!/usr/bin/env bash
# Ocean itself as a client of `port-okta catalog serve`: the real Ocean framework (port-ocean
# from PyPI, pinned) runs a tiny integration of ours (tests/ocean/integration) once against the
# server, twice, and ocean_against_serve.py checks what it left there.
# Usage (from anywhere): bash tests/ocean/run.sh   (after `cargo test --workspace`)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

OCEAN_VERSION="0.48.12"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
venv="$target_dir/ocean-pyenv"
python="$(bash "$here/python313.sh" "$target_dir/python313")"

if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c "import importlib.metadata as m; assert m.version('port-ocean') == '$OCEAN_VERSION'" 2>/dev/null; then
    echo "== creating $venv with port-ocean==$OCEAN_VERSION"
    rm -rf "$venv"
    "$python" -m venv --without-pip "$venv"
    wheel="$(ls "$(dirname "$python")"/../share/python-wheels/pip-*.whl)"
    "$venv/bin/python" "$wheel/pip" install --quiet --disable-pip-version-check "$wheel"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "port-ocean==$OCEAN_VERSION"
fi

if [[ -n "${PORT_OKTA_BIN:-}" ]]; then
    bin="$PORT_OKTA_BIN"
else
    cargo test --quiet --workspace --no-run
    bin="$target_dir/debug/port-okta"
fi

echo "== Ocean $OCEAN_VERSION against port-okta catalog serve"
exec timeout 300 "$venv/bin/python" "$here/ocean_against_serve.py" "$bin" "$here"
