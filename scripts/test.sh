#!/usr/bin/env bash
# The whole test suite: release build (warnings are errors), then a debug build under
# AddressSanitizer + UndefinedBehaviorSanitizer. GPU tests skip where there is no GPU, and fail
# where one is expected (KILN_REQUIRE_GPU=1, or the CUDA driver reports one) but the CUDA backend
# cannot start (tests/backend/op_harness.h). ctest's output is never piped: its status is ours.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh --test
jobs=$(nproc)

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
