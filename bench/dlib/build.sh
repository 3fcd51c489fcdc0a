#!/bin/sh
# Builds bench/dlib/dlib_mnist into build/dlib/ against Debian's dlib (libdlib-dev 19.24) and
# toml11 (libtoml11-dev). Not part of the CMake build: dlib is only a peer in the comparison.
# -O3 -march=native as kiln's own build; dlib's layers run in the prebuilt libdlib and its BLAS.
set -e
cd "$(dirname "$0")/../.."
mkdir -p build/dlib
if ! pkg-config --exists dlib-1; then
  echo "dlib not found: apt-get install libdlib-dev" >&2
  exit 1
fi
# dlib's pkg-config names the reference libblas.so, which Debian points at OpenBLAS; dlib_mnist
# sets OpenBLAS's thread count, so it links OpenBLAS by name.
g++ -std=c++17 -O3 -march=native -DNDEBUG -o build/dlib/dlib_mnist bench/dlib/dlib_mnist.cpp \
  $(pkg-config --cflags --libs dlib-1) -lopenblas
