#!/usr/bin/env bash
# Fidelity test of okta-sim against Okta's official Python SDK.
# Usage (from anywhere): bash crates/okta-sim/tests/python/run.sh
# Creates a venv under the cargo target dir, installs the pinned SDK, builds the simulator
# (a debug build, which reuses what `cargo test` already built; OKTA_SIM_PROFILE=release for a
# release build), then runs sdk_fidelity.py. Exits non-zero on any failure.
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

profile="${OKTA_SIM_PROFILE:-debug}"
if [[ "$profile" == "release" ]]; then
    cargo build --quiet --release -p okta-sim --bin okta-sim
else
    cargo build --quiet -p okta-sim --bin okta-sim
fi
bin="$target_dir/$profile/okta-sim"

echo "== okta SDK fidelity test ($("$venv/bin/python" -c 'import importlib.metadata as m; print("okta", m.version("okta"))'))"
exec timeout 170 "$venv/bin/python" "$here/sdk_fidelity.py" "$bin"
