#!/usr/bin/env bash
# The whole test suite: release build (warnings are errors), then a debug build under
# AddressSanitizer + UndefinedBehaviorSanitizer. GPU tests skip where there is no GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh --test
jobs=$(nproc)
# onnxruntime for the ONNX export test (tests/onnx_export_test.cpp), from npm where its
# registry is reachable; the test skips, saying so, where it is not. Its CPU build ships in
# the package (no CUDA download).
if command -v npm > /dev/null && [[ ! -d build/npm/node_modules/onnxruntime-node ]]; then
  mkdir -p build/npm
  ONNXRUNTIME_NODE_INSTALL_CUDA=skip timeout 300 npm install --silent --no-audit --no-fund --prefix build/npm onnxruntime-node \
    || echo "test.sh: npm could not install onnxruntime-node: the onnxruntime comparison will skip"
fi

cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DKILN_WERROR=ON -DKILN_BENCH=ON
cmake --build build/release -j "$jobs"
ctest --test-dir build/release --output-on-failure -j "$jobs"
# Smoke run of the benchmarks: a few iterations, to keep them compiling and running.
if [[ -x build/release/kiln_bench ]]; then
  build/release/kiln_bench --benchmark_min_time=0.001 --benchmark_filter='BM_Smoke' >/dev/null
fi

cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DKILN_WERROR=ON -DKILN_SANITIZE=ON
cmake --build build/asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:protect_shadow_gap=0 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/asan --output-on-failure -j "$jobs"
