#!/usr/bin/env bash
# Installs kiln's build and run dependencies from Debian 12's packages (no downloads elsewhere).
#   --test   also what the test suite needs (Chromium for the report screenshot test, python3-onnx
#            for the ONNX checker)
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config libopenblas-dev zlib1g-dev libtoml11-dev
      libgtest-dev libbenchmark-dev libcli11-dev dataset-fashion-mnist libjpeg-dev libpng-dev)
[[ "${1:-}" == "--test" ]] && pkgs+=(chromium python3-onnx)
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
