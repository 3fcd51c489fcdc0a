#!/usr/bin/env python3
"""kiln against PyTorch (and dlib) on the same machine, nets, data, batch sizes and thread count.

    bench/compare_pytorch.py [--threads N] [--reps 5] [--seconds 5] [--quick] [--only LABEL]
                             [--out docs/performance.md]

Installs what is missing of Debian's python3-torch, libtcmalloc-minimal4, libjemalloc2 and
libdlib-dev, builds kiln (Release, with the benchmarks) and bench/dlib/dlib_mnist, builds
CIFAR-10's binary files from ../shared/datasets/cifar10-jpg if needed, measures the machine's
sgemm peak, then for each net runs bench/speed.cpp (kiln_speed) and bench/torch_speed.py in turn
(interleaved, `--reps` times, median taken), training and inference (batch 1, the latency of one
image as `kiln predict` sees it, and batch 1000), and writes the
tables with the machine's description to --out.

PyTorch's number is its best over the settings a user tuning it would try (docs/pytorch-fairness.md),
searched once per net before the reps, one setting at a time: the allocator (glibc's malloc told to
keep freed memory, tcmalloc, jemalloc), OPENBLAS_NUM_THREADS=1 or unset, OMP_WAIT_POLICY (its
OpenMP threads spin at the end of each parallel region by default), channels-last,
torch.set_flush_denormal(True), and where torch.manual_seed is called. Each rep also runs PyTorch
with those settings but glibc's default malloc, the way a script runs unless told otherwise, so the
page shows both. The seed MNIST CNN also trains in dlib (bench/dlib/dlib_mnist.cpp), the better of
one BLAS thread and --threads. Every framework runs with OPENBLAS_CORETYPE unset (a value forcing
older kernels is set in some environments; OpenBLAS picks the CPU's own when it is unset).
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

from machine import cpu_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = "/usr/bin/python3"  # Debian's python3-torch lives there
DLIB = "build/dlib/dlib_mnist"
# The one net dlib_mnist trains (dlib fixes a network in its C++ type).
DLIB_CONFIG = "configs/mnist_cnn.toml"
# Debian package -> a file it installs, for prepare().
PACKAGES = {"python3-torch": "/usr/lib/python3/dist-packages/torch/__init__.py",
            "libtcmalloc-minimal4": "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4",
            "libjemalloc2": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
            "libdlib-dev": "/usr/include/dlib/dnn.h"}
# PyTorch's settings, searched one at a time in this order, each with the best values of those
# before it; the first value of each is where the search starts. "keep" is glibc's malloc with
# fixed thresholds (bench/torch_speed.py): without them PyTorch's speed here depends on what the
# process happened to free before the loop (docs/pytorch-fairness.md).
KNOBS = [("malloc", ["keep", "tcmalloc", "jemalloc"]), ("openblas", ["1", "unset"]), ("omp_wait", ["default", "passive"]),
         ("channels_last", [False, True]), ("flush_denormal", [False, True]), ("seed_at", ["start", "model"])]
KNOB_NAMES = {("malloc", "keep"): "glibc malloc, kept", ("malloc", "tcmalloc"): "tcmalloc",
              ("malloc", "jemalloc"): "jemalloc", ("openblas", "1"): "OPENBLAS_NUM_THREADS=1",
              ("openblas", "unset"): "OPENBLAS_NUM_THREADS unset", ("omp_wait", "passive"): "OMP_WAIT_POLICY=PASSIVE",
              ("channels_last", True): "channels-last",
              ("flush_denormal", True): "flush denormals", ("seed_at", "model"): "seed before the model"}

MNIST = "../shared/datasets/mnist"
CIFAR = ".data/cifar10"
# (label, experiment file, data dir, batch)
TRAIN = [
    ("seed MNIST CNN", "configs/mnist_cnn.toml", MNIST, 64),
    ("seed MNIST CNN", "configs/mnist_cnn.toml", MNIST, 256),
    ("seed CIFAR CNN", "configs/cifar10_cnn.toml", CIFAR, 64),
    ("seed CIFAR CNN", "configs/cifar10_cnn.toml", CIFAR, 256),
    ("tutorial CNN", "configs/cifar10_tutorial_cnn.toml", CIFAR, 64),
    ("MLP 784-100-10", "configs/mnist_mlp_adam.toml", MNIST, 256),
    ("VGG-style + BN", "configs/cifar10_vgg_bn.toml", CIFAR, 128),
]
# Inference at each of these batches: 1 (one image's latency) and 1000 (throughput).
INFER_BATCHES = (1, 1000)
INFER = [("seed MNIST CNN", "configs/mnist_cnn.toml", MNIST), ("seed CIFAR CNN", "configs/cifar10_cnn.toml", CIFAR),
         ("tutorial CNN", "configs/cifar10_tutorial_cnn.toml", CIFAR), ("MLP 784-100-10", "configs/mnist_mlp_adam.toml", MNIST),
         ("VGG-style + BN", "configs/cifar10_vgg_bn.toml", CIFAR)]


def sh(cmd, env=None, **kw):
    return subprocess.run(cmd, shell=True, check=True, cwd=ROOT, env=env, **kw)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_WAIT_POLICY")}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_json(cmd, env):
    out = subprocess.run(cmd, shell=True, cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"failed: {cmd}\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def prepare(args):
    missing = [pkg for pkg, path in PACKAGES.items() if not os.path.exists(path)]
    if missing:
        print(f"installing {' '.join(missing)} (Debian)")
        sudo = "" if os.geteuid() == 0 else "sudo "
        sh(f"{sudo}apt-get update -qq && DEBIAN_FRONTEND=noninteractive {sudo}apt-get install -y -qq {' '.join(missing)}")
    sh("cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DKILN_BENCH=ON -DKILN_TESTS=OFF > /dev/null"
       " && cmake --build build/bench -j$(nproc) --target kiln_speed kiln_bench")
    sh("bench/dlib/build.sh")
    if not os.path.exists(os.path.join(ROOT, CIFAR, "test_batch.bin")):
        sh(f"../shared/datasets/cifar10-jpg/make-cifar10-bin.sh {CIFAR}")
    if not os.path.exists(os.path.join(ROOT, MNIST)):
        sys.exit(f"{MNIST} not found: MNIST is read from ../shared/datasets")


def sgemm_peak(threads):
    out = subprocess.run("build/bench/kiln_bench --benchmark_filter=BM_SgemmPeak --benchmark_format=json", shell=True,
                         cwd=ROOT, env=clean_env(), capture_output=True, text=True, check=True)
    b = json.loads(out.stdout)["benchmarks"][0]
    return b["GFLOP"] / 1e9 if b["GFLOP"] > 1e6 else b["GFLOP"]


def layer_times(args):
    """Per-layer forward and backward times of the shipped nets (bench/layers_bench.cpp)."""
    out = subprocess.run(f"build/bench/kiln_bench --benchmark_filter=Layer/ --benchmark_format=json "
                         f"--benchmark_min_time={max(0.05, args.seconds / 25)}", shell=True, cwd=ROOT,
                         env=clean_env(), capture_output=True, text=True, check=True)
    nets = {}
    for b in json.loads(out.stdout)["benchmarks"]:
        _, net, batch, layer, direction, _ = b["name"].split("/")
        row = nets.setdefault(f"{net} {batch}", {}).setdefault(layer, {})
        row[direction] = (b["real_time"], b.get("GFLOP", 0))  # microseconds, GFLOP/s
    return nets


def run_torch(cfg, batch, mode, settings, args):
    cmd = (f"{PY} bench/torch_speed.py {cfg} --threads {args.threads} --seconds {args.seconds} --mode {mode} "
           f"--batch {batch} --malloc {settings['malloc']} --seed-at {settings['seed_at']}"
           + (" --channels-last" if settings["channels_last"] else "")
           + (" --flush-denormal" if settings["flush_denormal"] else ""))
    env = clean_env(**({"OPENBLAS_NUM_THREADS": 1} if settings["openblas"] == "1" else {}),
                    **({"OMP_WAIT_POLICY": "PASSIVE"} if settings["omp_wait"] == "passive" else {}))
    return run_json(cmd, env)


def search_torch(label, cfg, batch, mode, args):
    """PyTorch's best settings for one row: KNOBS one at a time, each value run right after the
    best settings so far and kept if it was faster than they were then (a ratio of runs seconds
    apart, as the reps' ratios are, so that the machine's drift does not pick the winner). Returns
    the settings and the tries, (knob, value, images/s, images/s / the best's just before)."""
    best = {knob: values[0] for knob, values in KNOBS}
    tries = []
    for knob, values in KNOBS:
        for value in values[1:]:
            base = run_torch(cfg, batch, mode, best, args)["images_per_s"]
            speed = run_torch(cfg, batch, mode, dict(best, **{knob: value}), args)["images_per_s"]
            tries.append((knob, value, speed, speed / base))
            if speed > base:
                best[knob] = value
    print(f"  {label:16s} {mode:5s} batch {batch:4d}  PyTorch settings: "
          + ", ".join(f"{k}={v} {ratio:.2f}x" for k, v, _, ratio in tries) + f" -> {describe(best)}", flush=True)
    return best, tries


def describe(settings):
    return ", ".join(KNOB_NAMES[(k, v)] for k, v in settings.items() if (k, v) in KNOB_NAMES)


def run_dlib(batch, threads, args):
    return run_json(f"{DLIB} {DLIB_CONFIG} --threads {threads} --seconds {args.seconds} --batch {batch}", clean_env())


def measure(label, cfg, data, batch, mode, args):
    kiln_cmd = (f"build/bench/kiln_speed {cfg} --threads {args.threads} --seconds {args.seconds} --mode {mode} "
                f"--batch {batch} --set 'data.dir=\"{data}\"'")
    best, tries = search_torch(label, cfg, batch, mode, args)
    naive = dict(best, malloc="glibc")
    dlib_threads = None
    if mode == "train" and cfg == DLIB_CONFIG:
        dlib_threads = max(sorted({1, args.threads}), key=lambda n: run_dlib(batch, n, args)["images_per_s"])
    runs = {"kiln": [], "pytorch": [], "glibc": [], "dlib": []}
    ratios, dlib_ratios, faults = [], [], []
    for rep in range(args.reps):
        k = run_json(kiln_cmd, clean_env())
        t = run_torch(cfg, batch, mode, best, args)
        n = run_torch(cfg, batch, mode, naive, args)
        for name, r in (("kiln", k), ("pytorch", t), ("glibc", n)):
            runs[name].append(r)
        ratios.append(k["images_per_s"] / t["images_per_s"])
        faults.append(n["faults_per_step"])
        line = (f"  {label:16s} {mode:5s} batch {batch:4d}  rep {rep + 1}: kiln {k['images_per_s']:9.1f}  "
                f"pytorch {t['images_per_s']:9.1f} (glibc malloc {n['images_per_s']:9.1f}, "
                f"{n['faults_per_step']} faults/step)")
        if dlib_threads:
            d = run_dlib(batch, dlib_threads, args)
            runs["dlib"].append(d)
            dlib_ratios.append(k["images_per_s"] / d["images_per_s"])
            line += f"  dlib {d['images_per_s']:9.1f}"
        print(line + " img/s", flush=True)
    # The machine's speed drifts over minutes (docs/performance.md): each rep's ratio compares runs
    # made seconds apart, and their median is the figure quoted, with its range.
    speed = {name: statistics.median(r["images_per_s"] for r in rs) if rs else None for name, rs in runs.items()}
    rss = {name: max((r["peak_rss_mb"] for r in rs), default=0) for name, rs in runs.items()}
    return {"label": label, "mode": mode, "batch": batch, **speed, "ratio": statistics.median(ratios),
            "ratio_range": (min(ratios), max(ratios)), "flops": runs["kiln"][-1]["forward_flops_per_image"],
            "rss": rss, "settings": best, "tries": tries, "glibc_faults": statistics.median(faults),
            "dlib_threads": dlib_threads,
            "dlib_ratio": statistics.median(dlib_ratios) if dlib_ratios else None,
            "dlib_range": (min(dlib_ratios), max(dlib_ratios)) if dlib_ratios else None}


def machine():
    flags = open("/proc/cpuinfo").read()
    isa = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_tile") if f" {f}" in flags]
    torch_v = subprocess.run([PY, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True).stdout.strip()
    rev = subprocess.run("git rev-parse --short HEAD", shell=True, cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "isa": " ".join(isa), "torch": torch_v, "kiln": rev,
            "kernel": platform.release()}


def layer_lines(nets, m):
    lines = ["", "## Where the time goes: each layer, forward and backward", "",
             "From `kiln_bench --benchmark_filter=Layer/` (bench/layers_bench.cpp) at the batch sizes above, "
             f"{os.cpu_count()} threads: time per call, GFLOP/s where the layer multiplies, and the layer's share "
             "of the sum of all rows of its net (the training step adds the loss, the optimizer and the loader to "
             "that sum). The first layer's backward computes no dL/dx.", ""]
    for net, layers in nets.items():
        total = sum(d[0] for row in layers.values() for d in row.values())
        lines += [f"**{net.replace(' b', ', batch ')}** (sum {total / 1000:.2f} ms; {m['cpu']})", "",
                  "| layer | forward µs | GFLOP/s | backward µs | GFLOP/s | share |", "|---|---:|---:|---:|---:|---:|"]
        for layer, row in layers.items():
            f, b = row["forward"], row["backward"]
            gf = lambda g: f"{g:.0f}" if g else ""
            lines.append(f"| {layer} | {f[0]:,.0f} | {gf(f[1])} | {b[0]:,.0f} | {gf(b[1])} | "
                         f"{100 * (f[0] + b[0]) / total:.0f}% |")
        lines.append("")
    return lines


def latency_lines(rows, m, args):
    """The batch-1 inference rows as the time one image takes, the figure a user of `kiln predict` feels."""
    rows = [r for r in rows if r["mode"] == "infer" and r["batch"] == 1]
    if not rows:
        return []
    lines = ["", "## One image at a time: inference latency", "",
             "The batch-1 rows above as microseconds per image (10⁶ / images/s of each framework's median run): "
             "the test set's images one by one through each framework's own batching (kiln's loader, PyTorch's "
             "slicing of a preloaded tensor), the eval-mode forward pass, no gradients kept "
             "(`torch.inference_mode()` on PyTorch's side).", "",
             f"*{m['cpu']}, {args.threads} threads*", "",
             "| net | kiln µs / image | PyTorch µs / image | PyTorch / kiln |", "|---|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['label']} | {1e6 / r['kiln']:,.0f} | {1e6 / r['pytorch']:,.0f} | **{r['ratio']:.2f}×** |")
    return lines


def search_lines(rows, m, args):
    """How PyTorch was run: each row's search over KNOBS."""
    tried = [(k, v) for k, values in KNOBS for v in values[1:]]
    start = ", ".join(KNOB_NAMES[(k, values[0])] for k, values in KNOBS if (k, values[0]) in KNOB_NAMES)
    lines = ["", "## How PyTorch was run", "",
             f"Each net's PyTorch settings were searched once before its reps, in runs of {args.seconds} s: from "
             f"{start}, OMP_WAIT_POLICY unset, contiguous (NCHW) tensors, denormals kept and `torch.manual_seed` "
             "called before the data are loaded, each column was run right after the best settings so far and kept "
             "(in bold) where it was faster than they were; the cells give its images/s and, in brackets, its ratio "
             "to that run of the best settings. \"glibc malloc, kept\" is `bench/torch_speed.py --malloc keep`: "
             "glibc's malloc with fixed mmap and trim thresholds, so that the memory freed at the end of a step is "
             "not handed back to the kernel and faulted in again by the next one (docs/pytorch-fairness.md); "
             "tcmalloc and jemalloc are Debian's libtcmalloc-minimal4 and libjemalloc2, preloaded as "
             "`torch.backends.xeon.run_cpu` preloads them. OMP_WAIT_POLICY=PASSIVE makes PyTorch's OpenMP threads "
             "sleep at once at the end of a parallel region instead of spinning first, which can lose on a quiet "
             "machine and win on a busy one.", "",
             f"*{m['cpu']}, {args.threads} threads; images/s of single runs*", "",
             "| net | mode | batch | " + " | ".join(KNOB_NAMES[t] for t in tried) + " | best |",
             "|---|---|---:|" + "---:|" * len(tried) + "---|"]
    for r in rows:
        cells = []
        for k, v, speed, ratio in r["tries"]:
            cell = f"{speed:,.0f} ({ratio:.2f}×)"
            cells.append(f"**{cell}**" if r["settings"][k] == v else cell)
        lines.append(f"| {r['label']} | {r['mode']} | {r['batch']} | " + " | ".join(cells) +
                     f" | {describe(r['settings'])} |")
    return lines


def dlib_lines(rows, m, args):
    rows = [r for r in rows if r["dlib"]]
    if not rows:
        return []
    lines = ["", "## kiln against dlib", "",
             "dlib 19.24 (Debian libdlib-dev) trains the seed MNIST CNN in `bench/dlib/dlib_mnist.cpp`: the same "
             "layers, SGD settings, batch sizes and MNIST files, through `dnn_trainer::train_one_step`, timed as "
             "kiln_speed is, interleaved with the runs above. dlib's only threads are its BLAS's; it ran with the "
             f"better of 1 and {args.threads} OpenBLAS threads (searched once per row).", "",
             f"*{m['cpu']}, {args.threads} threads for kiln*", "",
             "| net | mode | batch | kiln img/s | dlib img/s | kiln / dlib | dlib BLAS threads | "
             "peak RSS kiln / dlib (MB) |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lo, hi = r["dlib_range"]
        lines.append(f"| {r['label']} | {r['mode']} | {r['batch']} | {r['kiln']:,.0f} | {r['dlib']:,.0f} | "
                     f"**{r['dlib_ratio']:.2f}×** ({lo:.2f}-{hi:.2f}) | {r['dlib_threads']} | "
                     f"{r['rss']['kiln']:.0f} / {r['rss']['dlib']:.0f} |")
    return lines


def write(rows, peak, m, args, nets):
    lines = ["# kiln against PyTorch on the CPU", "",
             f"Generated by `bench/compare_pytorch.py --threads {args.threads} --reps {args.reps} --seconds {args.seconds}` "
             f"on {time.strftime('%Y-%m-%d')}. Rerun it to regenerate this file.", "",
             f"- Machine: {m['cpu']}, {m['cores']} cores ({m['isa']}), Linux {m['kernel']}",
             f"- Threads: {args.threads} for both; kiln {m['kiln']}; PyTorch {m['torch']} (Debian python3-torch)",
             f"- sgemm peak (2048³, {args.threads} threads, OpenBLAS through kiln): **{peak[0]:.0f} GFLOP/s** before the "
             f"runs, {peak[1]:.0f} after",
             "- Same experiment files (nets, optimizers), same data files (real MNIST, CIFAR-10 from "
             "../shared/datasets), same batch sizes; augmentation off on both sides. kiln trains through its own "
             "loader (shuffling, normalisation on a background thread, or in the step itself for batches of a few images); PyTorch slices shuffled batches from a "
             "preloaded normalised tensor, its fastest setting. Medians of the interleaved runs.",
             "- PyTorch's number is its best over the settings a user tuning it would try (allocator, "
             "OPENBLAS_NUM_THREADS, OMP_WAIT_POLICY, channels-last, flushing denormals, where the seed is set; the next section "
             "says which won for each net). The column after it is PyTorch with the same settings but glibc's "
             "default malloc, as a script runs when nothing is changed: depending on what the process freed before "
             "its loop, glibc then hands the memory each step frees back to the kernel, and every page of it is "
             "faulted in again by the next step (the faults per step in brackets; about 12 µs each on this kind "
             "of virtual machine), or it does not (docs/pytorch-fairness.md).",
             "- GFLOP/s counts 3 × the forward FLOPs per trained image (forward, dL/dx, dL/dw) and 1 × per "
             "inferred image, the FLOPs of direct convolution; the share is of the higher sgemm figure. kiln's Winograd "
             "kernels do a quarter of those multiplications in 3x3 convolutions from 32 channels (the VGG net) and "
             "a sixth in 5x5 ones from 16 (the seed CNNs' second layer), so their effective rate can pass the "
             "peak.",
             "- bf16 mixed precision (`train.precision = \"bf16\"`) is measured by `bench/bf16_speed.py` (its tables in "
             "docs/bf16-speed.md when run with `--out docs/bf16-speed.md`): kiln fp32, kiln bf16, PyTorch fp32 and "
             "PyTorch under `torch.autocast(\"cpu\", dtype=torch.bfloat16)`, training throughput on the VGG-style net "
             "(batch 128) and the seed CIFAR CNN (64, 256), interleaved within each rep, median of each rep's ratios. "
             "kiln's bf16 rounds the inputs of every GEMM and convolution to bf16 (fp32 sums, fp32 weights and "
             "optimizer state): Winograd convolutions with bf16 products, the direct kernels on rounded operands, "
             "the rest lowered to its bf16 GEMM; PyTorch's autocast runs convolutions and linear layers in bf16 "
             "through oneDNN.",
             "- kiln / PyTorch is the median over the reps of each rep's ratio (kiln and PyTorch measured seconds "
             "apart), with the lowest and highest rep in brackets: this machine's speed drifts by tens of per cent "
             "over minutes, so ratios are steadier than the images/s beside them.", "",
             f"*{m['cpu']}, {args.threads} threads*", "",
             "| net | mode | batch | kiln img/s | PyTorch img/s | kiln / PyTorch | PyTorch, glibc malloc img/s "
             "(faults/step) | kiln GFLOP/s (% of peak) | peak RSS kiln / PyTorch (MB) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        gf = r["kiln"] * r["flops"] * (3 if r["mode"] == "train" else 1) / 1e9
        lo, hi = r["ratio_range"]
        lines.append(f"| {r['label']} | {r['mode']} | {r['batch']} | {r['kiln']:,.0f} | {r['pytorch']:,.0f} | "
                     f"**{r['ratio']:.2f}×** ({lo:.2f}-{hi:.2f}) | {r['glibc']:,.0f} ({r['glibc_faults']:,.0f}) | "
                     f"{gf:.0f} ({100 * gf / max(peak):.0f}%) | {r['rss']['kiln']:.0f} / {r['rss']['pytorch']:.0f} |")
    lines += latency_lines(rows, m, args) + search_lines(rows, m, args) + dlib_lines(rows, m, args)
    tables_end = len(lines)
    lines += layer_lines(nets, m)
    with open(os.path.join(ROOT, args.out), "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines[:tables_end]))
    print(f"\nwritten: {args.out}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--quick", action="store_true", help="one rep of 1 s each (a smoke run)")
    ap.add_argument("--only", default="", help="run only nets whose label contains this")
    ap.add_argument("--out", default="docs/performance.md")
    args = ap.parse_args()
    if args.quick:
        args.reps, args.seconds = 1, 1
    prepare(args)
    peak = sgemm_peak(args.threads)
    print(f"sgemm peak: {peak:.0f} GFLOP/s")
    rows = []
    for label, cfg, data, batch in TRAIN:
        if args.only in label:
            rows.append(measure(label, cfg, data, batch, "train", args))
    for batch in INFER_BATCHES:
        for label, cfg, data in INFER:
            if args.only in label:
                rows.append(measure(label, cfg, data, batch, "infer", args))
    nets = layer_times(args)
    after = sgemm_peak(args.threads)
    print(f"sgemm peak after the runs: {after:.0f} GFLOP/s")
    write(rows, (peak, after), machine(), args, nets)


if __name__ == "__main__":
    main()
