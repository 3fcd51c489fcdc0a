#!/usr/bin/env bash
# Installs kiln's build and run dependencies from Debian 12's packages (no downloads elsewhere).
#   --test   also what the test suite needs (Chromium for the report screenshot test, python3-onnx
#            for the ONNX checker)
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config libopenblas-dev zlib1g-dev libtoml11-dev
      libgtest-dev libbenchmark-dev libcli11-dev libopenmpi-dev openmpi-bin dataset-fashion-mnist libjpeg-dev libpng-dev
      python3-dev python3-venv python3-pip python3-setuptools python3-wheel pybind11-dev python3-numpy)
[[ "${1:-}" == "--test" ]] && pkgs+=(python3-pytest chromium python3-onnx)
# npm, to fetch onnxruntime-node for the ONNX export test, unless a Node.js with npm is already
# installed (NodeSource's nodejs carries its own npm and conflicts with Debian's package).
[[ "${1:-}" == "--test" ]] && ! command -v npm > /dev/null && pkgs+=(npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
