#!/usr/bin/env bash
# Fidelity test of okta-sim against Okta's official Python SDK.
# Usage (from anywhere): bash crates/okta-sim/tests/python/run.sh
# Creates a venv under the cargo target dir, installs the pinned SDK, takes the simulator binary
# from the workspace's test build (run it after `cargo test --workspace`: then nothing is built),
# then runs sdk_fidelity.py against it. Exits non-zero on any failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
cd "$root"

OKTA_SDK_VERSION="3.4.6"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
venv="$target_dir/okta-sim-pyenv"
python="${PYTHON:-python3}"

if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c "import okta, importlib.metadata as m; assert m.version('okta') == '$OKTA_SDK_VERSION'" 2>/dev/null; then
    echo "== creating $venv with okta==$OKTA_SDK_VERSION"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "okta==$OKTA_SDK_VERSION"
fi

# The simulator binary: $OKTA_SIM_BIN, or the debug build that `cargo test --workspace` makes.
# Building it through the same command (`--no-run` is a no-op right after .ci/run's test step)
# keeps cargo's workspace feature unification, so nothing is recompiled.
if [[ -n "${OKTA_SIM_BIN:-}" ]]; then
    bin="$OKTA_SIM_BIN"
else
    cargo test --quiet --workspace --no-run
    bin="$target_dir/debug/okta-sim"
fi

echo "== okta SDK fidelity test ($("$venv/bin/python" -c 'import importlib.metadata as m; print("okta", m.version("okta"))'))"
exec timeout 170 "$venv/bin/python" "$here/sdk_fidelity.py" "$bin"
