#!/usr/bin/env python3
"""bf16 mixed precision against fp32, in kiln and in PyTorch, on the same machine and data.

    bench/bf16_speed.py [--threads N] [--reps 5] [--seconds 5] [--quick] [--out docs/bf16-speed.md]

For each net (the VGG-style net at batch 128, the seed CIFAR CNN at 64 and 256) and each rep, in
turn: kiln fp32 (kiln_speed --set train.precision=fp32), kiln bf16 (train.precision=bf16:
bf16 GEMM/convolution inputs, fp32 sums, fp32 weights and optimizer state), PyTorch fp32 and
PyTorch under torch.autocast("cpu", dtype=torch.bfloat16) (bench/torch_speed.py --bf16), training
throughput with kiln's own loader. The ratios of each rep compare runs seconds apart; their
medians (and ranges) are quoted. PyTorch runs with glibc's malloc told to keep freed memory
(torch_speed.py's default, its fast mode on this kind of machine: docs/pytorch-fairness.md); the
full search over PyTorch's settings is compare_pytorch.py's. Needs a CPU with AVX512-BF16
(kiln refuses bf16 elsewhere). Builds kiln_speed in build/bench as compare_pytorch.py does.
"""
import argparse
import os
import statistics
import subprocess
import sys

from compare_pytorch import CIFAR, PY, ROOT, clean_env, run_json
from machine import cpu_model

NETS = [("VGG-style + BN", "configs/cifar10_vgg_bn.toml", 128),
        ("seed CIFAR CNN", "configs/cifar10_cnn.toml", 64),
        ("seed CIFAR CNN", "configs/cifar10_cnn.toml", 256)]


def kiln(cfg, batch, precision, args):
    return run_json(f"build/bench/kiln_speed {cfg} --threads {args.threads} --seconds {args.seconds} --batch {batch} "
                    f"--set 'data.dir=\"{CIFAR}\"' --set train.precision={precision}", clean_env())


def torch(cfg, batch, bf16, args):
    return run_json(f"{PY} bench/torch_speed.py {cfg} --threads {args.threads} --seconds {args.seconds} "
                    f"--batch {batch}" + (" --bf16" if bf16 else ""), clean_env())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--quick", action="store_true", help="one rep of 2 s per row, the first net only (a smoke test)")
    ap.add_argument("--out", help="write the table (markdown) here as well as to stdout")
    args = ap.parse_args()
    nets = NETS
    if args.quick:
        args.reps, args.seconds, nets = 1, 2, NETS[:1]
    if "avx512_bf16" not in open("/proc/cpuinfo").read():
        sys.exit("this CPU has no AVX512-BF16: kiln refuses train.precision = \"bf16\" here")
    subprocess.run("cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DKILN_BENCH=ON -DKILN_TESTS=OFF "
                   "> /dev/null && cmake --build build/bench -j$(nproc) --target kiln_speed", shell=True, cwd=ROOT,
                   check=True)
    if not os.path.exists(os.path.join(ROOT, CIFAR, "test_batch.bin")):
        subprocess.run(f"../shared/datasets/cifar10-jpg/make-cifar10-bin.sh {CIFAR}", shell=True, cwd=ROOT, check=True)
    rows = []
    for label, cfg, batch in nets:
        runs = {"kf": [], "kb": [], "tf": [], "tb": []}
        for rep in range(args.reps):
            r = {"kf": kiln(cfg, batch, "fp32", args), "kb": kiln(cfg, batch, "bf16", args),
                 "tf": torch(cfg, batch, False, args), "tb": torch(cfg, batch, True, args)}
            for k, v in r.items():
                runs[k].append(v["images_per_s"])
            print(f"  {label:16s} batch {batch:4d} rep {rep + 1}: kiln fp32 {r['kf']['images_per_s']:8.1f}  "
                  f"bf16 {r['kb']['images_per_s']:8.1f}  pytorch fp32 {r['tf']['images_per_s']:8.1f}  "
                  f"autocast bf16 {r['tb']['images_per_s']:8.1f} img/s", flush=True)

        def ratio(a, b):
            rs = [x / y for x, y in zip(runs[a], runs[b])]
            return f"{statistics.median(rs):.2f} ({min(rs):.2f}-{max(rs):.2f})"

        med = {k: statistics.median(v) for k, v in runs.items()}
        rows.append(f"| {label} | {batch} | {med['kf']:.0f} | {med['kb']:.0f} | {med['tf']:.0f} | {med['tb']:.0f} | "
                    f"{ratio('kb', 'kf')} | {ratio('kb', 'tb')} | {ratio('tb', 'tf')} |")
    table = "\n".join([
        f"CPU: {cpu_model()}, {args.threads} threads, {args.reps} reps of {args.seconds:g} s, training img/s (medians)",
        "",
        "| net | batch | kiln fp32 | kiln bf16 | PyTorch fp32 | PyTorch bf16 autocast | kiln bf16 / fp32 | "
        "kiln bf16 / PyTorch bf16 | PyTorch bf16 / fp32 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|", *rows])
    print("\n" + table)
    if args.out:
        with open(os.path.join(ROOT, args.out), "w") as f:
            f.write("# bf16 mixed precision: training throughput\n\nMeasured by `bench/bf16_speed.py`.\n\n" + table + "\n")


if __name__ == "__main__":
    main()
