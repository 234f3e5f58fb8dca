#!/usr/bin/env bash
# Installs what fastpath needs on Debian 12 (DPDK 22.11, libclang for bindgen, scapy and
# tshark for the tests, PyYAML and venv for tests/loadtest, iproute2/ethtool for the lab)
# and builds it in release mode; g++ builds libFuzzer for the fuzz targets (scripts/fuzz.sh).
# Idempotent: packages already present are not reinstalled. Extra Debian packages may be
# given as arguments (scripts/bench-pipeline.sh adds its own). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(dpdk dpdk-dev libdpdk-dev libclang-dev pkg-config liblzma-dev
      python3 python3-scapy python3-pytest python3-prometheus-client python3-yaml python3-venv
      tshark iproute2 ethtool iputils-ping iputils-tracepath xz-utils g++ "$@")
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null; then
    [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
fi
if ! command -v cargo >/dev/null; then
    # Debian 12's own rustc (1.63) is too old; rustup installs a current stable toolchain.
    echo "setup: installing Rust with rustup"
    apt-get install -y -qq curl ca-certificates >/dev/null
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    . "$HOME/.cargo/env"
fi
# rustfmt and clippy for the lint suite of scripts/test.sh (a minimal profile lacks them).
if command -v rustup >/dev/null; then
    rustup component add rustfmt clippy >/dev/null 2>&1 || echo "setup: could not add rustfmt/clippy (the lint suite will be skipped)"
fi
echo "setup: building (release)"
cargo build --release --workspace --quiet
