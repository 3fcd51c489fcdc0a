#!/usr/bin/env python3
"""kiln against PyTorch on the same machine, nets, data, batch sizes and thread count.

    bench/compare_pytorch.py [--threads N] [--reps 5] [--seconds 5] [--quick] [--out docs/performance.md]

Installs Debian's python3-torch if it is missing, builds kiln (Release, with the benchmarks),
builds CIFAR-10's binary files from ../shared/datasets/cifar10-jpg if needed, measures the
machine's sgemm peak, then for each net runs bench/speed.cpp (kiln_speed) and
bench/torch_speed.py in turn (interleaved, `--reps` times, median taken), training and
inference (batch 1000), and writes the table with the machine's description to --out.

PyTorch is measured with OPENBLAS_NUM_THREADS=1 and unset, and its better number kept. Both
frameworks run with OPENBLAS_CORETYPE unset (a value forcing older kernels is set in some
environments; kiln picks the CPU's own when it is unset).
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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = "/usr/bin/python3"  # Debian's python3-torch lives there

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
INFER = [("seed MNIST CNN", "configs/mnist_cnn.toml", MNIST), ("seed CIFAR CNN", "configs/cifar10_cnn.toml", CIFAR),
         ("tutorial CNN", "configs/cifar10_tutorial_cnn.toml", CIFAR), ("MLP 784-100-10", "configs/mnist_mlp_adam.toml", MNIST),
         ("VGG-style + BN", "configs/cifar10_vgg_bn.toml", CIFAR)]


def sh(cmd, env=None, **kw):
    return subprocess.run(cmd, shell=True, check=True, cwd=ROOT, env=env, **kw)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_json(cmd, env):
    out = subprocess.run(cmd, shell=True, cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"failed: {cmd}\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def prepare(args):
    if subprocess.run([PY, "-c", "import torch"], capture_output=True).returncode != 0:
        print("installing python3-torch (Debian)")
        sudo = "" if os.geteuid() == 0 else "sudo "
        sh(f"{sudo}apt-get update -qq && DEBIAN_FRONTEND=noninteractive {sudo}apt-get install -y -qq python3-torch")
    sh("cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DKILN_BENCH=ON -DKILN_TESTS=OFF > /dev/null"
       " && cmake --build build/bench -j$(nproc) --target kiln_speed kiln_bench")
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


def measure(label, cfg, data, batch, mode, args):
    kiln_cmd = (f"build/bench/kiln_speed {cfg} --threads {args.threads} --seconds {args.seconds} --mode {mode} "
                f"--batch {batch} --set 'data.dir=\"{data}\"'")
    torch_cmd = f"{PY} bench/torch_speed.py {cfg} --threads {args.threads} --seconds {args.seconds} --mode {mode} --batch {batch}"
    if "vgg" in cfg:
        torch_cmd += " --channels-last"  # PyTorch's fast path for this net on the CPU
    kiln, torch, ratios, rss = [], [], [], {"kiln": 0, "pytorch": 0}
    flops = 0
    for rep in range(args.reps):
        k = run_json(kiln_cmd, clean_env())
        t1 = run_json(torch_cmd, clean_env(OPENBLAS_NUM_THREADS=1))
        t2 = run_json(torch_cmd, clean_env())
        kiln.append(k["images_per_s"])
        torch.append(max(t1["images_per_s"], t2["images_per_s"]))
        ratios.append(kiln[-1] / torch[-1])
        flops = k["forward_flops_per_image"]
        rss["kiln"] = max(rss["kiln"], k["peak_rss_mb"])
        rss["pytorch"] = max(rss["pytorch"], t1["peak_rss_mb"], t2["peak_rss_mb"])
        print(f"  {label:16s} {mode:5s} batch {batch:4d}  rep {rep + 1}: kiln {k['images_per_s']:9.1f}  "
              f"pytorch {t1['images_per_s']:9.1f} / {t2['images_per_s']:9.1f} img/s", flush=True)
    # The machine's speed drifts over minutes (docs/performance.md): each rep's ratio compares runs
    # made seconds apart, and their median is the figure quoted, with its range.
    return {"label": label, "mode": mode, "batch": batch, "kiln": statistics.median(kiln),
            "pytorch": statistics.median(torch), "ratio": statistics.median(ratios), "ratio_range": (min(ratios), max(ratios)),
            "flops": flops, "rss": rss}


def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    flags = open("/proc/cpuinfo").read()
    isa = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_tile") if f" {f}" in flags]
    torch_v = subprocess.run([PY, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True).stdout.strip()
    rev = subprocess.run("git rev-parse --short HEAD", shell=True, cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "isa": " ".join(isa), "torch": torch_v, "kiln": rev,
            "kernel": platform.release()}


def layer_lines(nets):
    lines = ["", "## Where the time goes: each layer, forward and backward", "",
             "From `kiln_bench --benchmark_filter=Layer/` (bench/layers_bench.cpp) at the batch sizes above, "
             f"{os.cpu_count()} threads: time per call, GFLOP/s where the layer multiplies, and the layer's share "
             "of the sum of all rows of its net (the training step adds the loss, the optimizer and the loader to "
             "that sum). The first layer's backward computes no dL/dx.", ""]
    for net, layers in nets.items():
        total = sum(d[0] for row in layers.values() for d in row.values())
        lines += [f"**{net.replace(' b', ', batch ')}** (sum {total / 1000:.2f} ms)", "",
                  "| layer | forward µs | GFLOP/s | backward µs | GFLOP/s | share |", "|---|---:|---:|---:|---:|---:|"]
        for layer, row in layers.items():
            f, b = row["forward"], row["backward"]
            gf = lambda g: f"{g:.0f}" if g else ""
            lines.append(f"| {layer} | {f[0]:,.0f} | {gf(f[1])} | {b[0]:,.0f} | {gf(b[1])} | "
                         f"{100 * (f[0] + b[0]) / total:.0f}% |")
        lines.append("")
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
             "loader (shuffling, normalisation on a background thread); PyTorch slices shuffled batches from a "
             "preloaded normalised tensor, its fastest setting. Medians of the interleaved runs; PyTorch's number is "
             "the better of OPENBLAS_NUM_THREADS=1 and unset, and the VGG net runs channels-last on its side "
             "(the layout PyTorch's oneDNN convolutions prefer on the CPU; `bench/torch_speed.py` times either).",
             "- GFLOP/s counts 3 × the forward FLOPs per trained image (forward, dL/dx, dL/dw) and 1 × per "
             "inferred image, the FLOPs of direct convolution; the share is of the higher sgemm figure. kiln's Winograd "
             "kernels do a quarter of those multiplications in 3x3 convolutions from 32 channels (the VGG net) and "
             "a sixth in 5x5 ones from 16 (the seed CNNs' second layer), so their effective rate can pass the "
             "peak.",
             "- kiln / PyTorch is the median over the reps of each rep's ratio (kiln and PyTorch measured seconds "
             "apart), with the lowest and highest rep in brackets: this machine's speed drifts by tens of per cent "
             "over minutes, so ratios are steadier than the images/s beside them.", "",
             "| net | mode | batch | kiln img/s | PyTorch img/s | kiln / PyTorch | kiln GFLOP/s (% of peak) | "
             "peak RSS kiln / PyTorch (MB) |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        gf = r["kiln"] * r["flops"] * (3 if r["mode"] == "train" else 1) / 1e9
        lo, hi = r["ratio_range"]
        lines.append(f"| {r['label']} | {r['mode']} | {r['batch']} | {r['kiln']:,.0f} | {r['pytorch']:,.0f} | "
                     f"**{r['ratio']:.2f}×** ({lo:.2f}-{hi:.2f}) | {gf:.0f} ({100 * gf / max(peak):.0f}%) | "
                     f"{r['rss']['kiln']:.0f} / {r['rss']['pytorch']:.0f} |")
    table_end = len(lines)
    lines += layer_lines(nets)
    with open(os.path.join(ROOT, args.out), "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines[:table_end]))
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
    for label, cfg, data in INFER:
        if args.only in label:
            rows.append(measure(label, cfg, data, 1000, "infer", args))
    nets = layer_times(args)
    after = sgemm_peak(args.threads)
    print(f"sgemm peak after the runs: {after:.0f} GFLOP/s")
    write(rows, (peak, after), machine(), args, nets)


if __name__ == "__main__":
    main()
