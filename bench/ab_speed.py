#!/usr/bin/env python3
"""Old against new kiln, side by side: the same kiln_speed measurement from two builds,
alternated (old, new, old, new, ...) so that the machine's drifting load falls on both alike.
Quotes the median of the per-round ratios new/old for each net, mode and batch.

    bench/ab_speed.py --old OLD/kiln_speed --new build/release/kiln_speed --rounds 5 > docs/refactor-speed.md

Used for issue #11 (the refactor keeps every figure): OLD is a build of the commit before it."""
import argparse
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine import cpu_model  # noqa: E402

ROWS = [  # (config, mode, batch)
    ("configs/mnist_cnn.toml", "train", 64),
    ("configs/mnist_cnn.toml", "train", 256),
    ("configs/cifar10_cnn.toml", "train", 64),
    ("configs/cifar10_tutorial_cnn.toml", "train", 64),
    ("configs/cifar10_vgg_bn.toml", "train", 64),
    ("configs/mnist_cnn.toml", "infer", 1000),
    ("configs/cifar10_vgg_bn.toml", "infer", 1000),
]


def speed(binary, config, mode, batch, threads, seconds):
    out = subprocess.run([binary, config, "--mode", mode, "--batch", str(batch), "--threads", str(threads),
                          "--seconds", str(seconds)], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["images_per_s"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--old", required=True)
    p.add_argument("--new", required=True)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seconds", type=float, default=2.0)
    a = p.parse_args()
    with open("/proc/loadavg") as f:
        load_before = f.read().split()[0]
    print("# kiln before and after the refactor (issue #11), side by side\n")
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores, {a.threads} threads; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}. "
          f"{a.rounds} rounds of {a.seconds:g} s each, old and new alternated; load average at the start {load_before}.\n")
    print(f"old: `{a.old}`  \nnew: `{a.new}`\n")
    print("| net | mode | batch | old img/s (median) | new img/s (median) | new/old (median of rounds) | range of ratios |")
    print("|---|---|---|---|---|---|---|")
    for config, mode, batch in ROWS:
        old, new, ratios = [], [], []
        for _ in range(a.rounds):
            o = speed(a.old, config, mode, batch, a.threads, a.seconds)
            n = speed(a.new, config, mode, batch, a.threads, a.seconds)
            old.append(o), new.append(n), ratios.append(n / o)
        print(f"| {os.path.basename(config)} | {mode} | {batch} | {statistics.median(old):,.0f} | {statistics.median(new):,.0f} | "
              f"{statistics.median(ratios):.3f} | {min(ratios):.2f}-{max(ratios):.2f} |", flush=True)
    with open("/proc/loadavg") as f:
        print(f"\nLoad average at the end: {f.read().split()[0]}.")


if __name__ == "__main__":
    main()
