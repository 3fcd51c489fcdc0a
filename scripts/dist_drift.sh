#!/bin/sh
# How far a data-parallel run drifts from one process as it gets longer, beside how far one
# process drifts from itself when only its thread count (so its summation order) changes.
# The seed Fashion-MNIST CNN (configs/fashion_mnist_cnn.toml), batch 64, for S steps: the
# first 64·S training images for one epoch, or all 12,000 (data.limit_train) for longer runs.
# For each S: the largest weight difference and the final test-loss difference of
#   2 ranks x 1 thread   against 1 process x 1 thread
#   1 process x 2 threads against 1 process x 1 thread
# Not a timing: any machine gives the same numbers for the same build.
#   usage: scripts/dist_drift.sh [BUILD_DIR] [STEPS...]      (default build/dev; 10 25 50 100 188 376 752)
set -eu
build=${1:-build/dev}
[ $# -gt 0 ] && shift
steps=${*:-10 25 50 100 188 376 752}
kiln="$build/kiln"
work=$(mktemp -d /tmp/kiln-drift.XXXXXX)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_orte_tmpdir_base="$work"
printf '| steps | weights: 2 ranks | weights: 2 threads | test loss: 2 ranks | test loss: 2 threads |\n|---:|---:|---:|---:|---:|\n'
for s in $steps; do
  if [ "$s" -le 188 ]; then set_="--set data.limit_train=$((64 * s)) --set train.epochs=1"
  else set_="--set data.limit_train=12000 --set train.epochs=$((s / 188))"; fi
  common="train configs/fashion_mnist_cnn.toml --no-progress $set_ --set data.limit_test=2000"
  "$kiln" $common --threads 1 --runs "$work/$s/one" >/dev/null
  "$kiln" $common --threads 2 --runs "$work/$s/two_threads" >/dev/null
  mpirun -np 2 "$kiln" $common --threads 1 --runs "$work/$s/two_ranks" >/dev/null
  python3 - "$work/$s" <<'PY'
import array, glob, math, struct, sys
d = sys.argv[1]
def run(name): return glob.glob(f"{d}/{name}/*/")[0]
def weights(name):
    # docs/formats.md: the parameters' f32 data, in model order (buffers too).
    b = open(run(name) + "weights.kiln", "rb").read()
    at = 12
    def u32():
        nonlocal at; at += 4; return struct.unpack_from("<I", b, at - 4)[0]
    def skip_str():
        nonlocal at
        n = u32(); at += n
    skip_str()
    n = u32(); at += 8 * n
    n = u32(); at += 8 * n
    for _ in range(u32()): skip_str()
    skip_str()
    out = []
    for _ in range(u32()):
        skip_str(); rank = u32()
        dims = struct.unpack_from(f"<{rank}q", b, at); at += 8 * rank
        count = math.prod(dims)
        out.extend(struct.unpack_from(f"<{count}f", b, at)); at += 4 * count
    return out
def test_loss(name):
    return float(open(run(name) + "metrics.csv").read().strip().splitlines()[-1].split(",")[3])
one = weights("one")
gap = lambda n: max(abs(a - b) for a, b in zip(weights(n), one))
loss = lambda n: abs(test_loss(n) - test_loss("one"))
steps = d.rstrip("/").rsplit("/", 1)[1]
print(f"| {steps} | {gap('two_ranks'):.2g} | {gap('two_threads'):.2g} | {loss('two_ranks'):.2g} | {loss('two_threads'):.2g} |")
PY
done
