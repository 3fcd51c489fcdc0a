#!/usr/bin/env bash
# The whole test suite: release build (warnings are errors), then a debug build under
# AddressSanitizer + UndefinedBehaviorSanitizer. GPU tests skip where there is no GPU, and fail
# where one is expected (KILN_REQUIRE_GPU=1, or the CUDA driver reports one) but the CUDA backend
# cannot start (tests/backend/op_harness.h). ctest's output is never piped: its status is ours.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh --test
jobs=$(nproc)
# Debian's python3, for which the packages of deps.sh are (a python3 earlier on PATH may lack them).
python=/usr/bin/python3
[[ -x $python ]] || python=python3
# onnxruntime for the ONNX export test (tests/onnx_export_test.cpp), from npm where its
# registry is reachable; the test skips, saying so, where it is not. Its CPU build ships in
# the package (no CUDA download).
if command -v npm > /dev/null && [[ ! -d build/npm/node_modules/onnxruntime-node ]]; then
  mkdir -p build/npm
  ONNXRUNTIME_NODE_INSTALL_CUDA=skip timeout 300 npm install --silent --no-audit --no-fund --prefix build/npm onnxruntime-node \
    || echo "test.sh: npm could not install onnxruntime-node: the onnxruntime comparison will skip"
fi

cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DKILN_WERROR=ON -DKILN_BENCH=ON \
  -DPython_EXECUTABLE="$python"
cmake --build build/release -j "$jobs"
ctest --test-dir build/release --output-on-failure -j "$jobs"
# Smoke run of the benchmarks: a few iterations, to keep them compiling and running.
if [[ -x build/release/kiln_bench ]]; then
  build/release/kiln_bench --benchmark_min_time=0.001 --benchmark_filter='BM_Smoke' >/dev/null
fi

# The Python module: `pip install .` into a fresh venv, offline (Debian's setuptools, numpy,
# pytest through --system-site-packages), building the target in the release build above; then
# its tests against that build's kiln command. Debian's python3 (the packages are for it).
rm -rf build/venv-test
"$python" -m venv --system-site-packages build/venv-test
KILN_BUILD_DIR=build/release build/venv-test/bin/pip install --no-build-isolation --no-index -q .
(cd build && KILN_CLI="$PWD/release/kiln" venv-test/bin/python -m pytest -q -p no:cacheprovider ../tests/python)

# The sanitizer build is CPU only and without MPI. The release build above compiles the CUDA
# backend with warnings as errors, and its device code does not run under the sanitizers (nvcc's
# build of it would double this one's time). The mpirun tests (tests/dist_test.cpp, Mpi.*) run in
# the release build only: under AddressSanitizer Open MPI's own allocations would be reported as
# leaks (as root they set OMPI_ALLOW_RUN_AS_ROOT themselves); so this build is also the check that
# kiln builds and trains where MPI is not installed.
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DKILN_WERROR=ON -DKILN_SANITIZE=ON \
  -DKILN_PYTHON=OFF -DKILN_CUDA=OFF -DKILN_MPI=OFF
cmake --build build/asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:protect_shadow_gap=0 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/asan --output-on-failure -j "$jobs"
