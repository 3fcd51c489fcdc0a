#!/usr/bin/env python3
"""Trains the shipped experiments and sweeps for real and writes docs/results.md.

    bench/results.py [--kiln build/kiln] [--runs runs/results] [--only NAME] [--skip-sweeps] [--page]

Each finished run's numbers are kept in RUNS/results.json, and the page is written from all of
them: `--only NAME` reruns the experiments and sweeps whose file names contain NAME and keeps
the others' last numbers (each row says which kiln revision made it).

Each experiment runs with its own file's settings (`kiln train FILE`); each sweep file with
`kiln sweep FILE`. The page lists, per run: the command, final and best test accuracy, test
loss, epochs, training time and the target from the issue; and each sweep's comparison table as
kiln printed it. Needs MNIST and CIFAR-10 from ../shared/datasets (CIFAR-10's binary files are
built into .data/cifar10 if missing) and Fashion-MNIST from Debian's dataset-fashion-mnist.
"""
import argparse
import json
import glob
import os
import platform
import subprocess
import sys
import time

from kiln_run import kiln_train
from machine import cpu_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (name, experiment file, target test accuracy or None)
RUNS = [
    ("Seed CNN on Fashion-MNIST (the default `kiln train`)", "configs/fashion_mnist_cnn.toml", 0.90),
    ("Seed CNN on MNIST", "configs/mnist_cnn.toml", 0.985),
    ("Seed CIFAR-10 CNN", "configs/cifar10_cnn.toml", 0.55),
    ("MLP 3072-120-84-10 on CIFAR-10", "configs/cifar10_mlp.toml", 0.50),
    ("PyTorch-tutorial CNN on CIFAR-10", "configs/cifar10_tutorial_cnn.toml", 0.60),
    ("MLP 784-100-10 with Adam on MNIST", "configs/mnist_mlp_adam.toml", None),
    ("VGG-style CIFAR-10 net with batch norm", "configs/cifar10_vgg_bn.toml", None),
    # Issue #13's recipes that beat the seeds with small nets.
    ("MNIST recipe (BN, GELU, translations, onecycle)", "configs/mnist_recipe.toml", 0.996),
    ("Fashion-MNIST recipe (BN, GELU, flips, flip TTA)", "configs/fashion_mnist_recipe.toml", 0.94),
]
SWEEPS = ["sweeps/depth.toml", "sweeps/activation.toml", "sweeps/learning_rate.toml", "sweeps/conv_layers.toml",
          "sweeps/width.toml"]


def env():
    e = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    return e


def newest(pattern):
    paths = sorted(glob.glob(pattern), key=os.path.getmtime)
    return paths[-1] if paths else None


def train(kiln, runs, cfg):
    t0 = time.time()
    run_dir, rows = kiln_train([kiln, "train", cfg, "--runs", runs, "--no-progress"], ROOT, env())
    wall = time.time() - t0
    return {"cmd": "kiln train " + cfg, "dir": run_dir, "rows": rows, "wall": wall, "rev": revision(),
            "date": time.strftime("%Y-%m-%d"), "cpu": cpu_model()}


def sweep(kiln, runs, file):
    cmd = [kiln, "sweep", file, "--runs", runs, "--no-progress"]
    t0 = time.time()
    out = subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{out.stderr}")
    comparison = next(l.split(": ", 1)[1] for l in out.stdout.splitlines() if l.startswith("comparison: "))
    with open(os.path.join(ROOT, comparison.replace(".html", ".md"))) as f:
        table = f.read().strip()
    return {"cmd": "kiln sweep " + file, "table": table, "wall": time.time() - t0, "dir": os.path.dirname(comparison),
            "rev": revision(), "date": time.strftime("%Y-%m-%d"), "cpu": cpu_model()}


def revision():
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    # The pages this script and compare_pytorch.py write do not change what is measured.
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs/results.md",
                            ":!docs/performance.md"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return rev + ("+changes" if dirty else "")


def machine():
    return f"{cpu_model()}, {os.cpu_count()} cores, Linux {platform.release()}"


def kept_by_hand(page):
    """The sections of the old page whose heading says "(recorded by hand)", as lines: numbers
    this script does not make (runs needing more than one command), kept when it rewrites the page."""
    if not os.path.exists(page):
        return []
    kept, keep = [], False
    for line in open(page).read().splitlines():
        if line.startswith("## "):
            keep = "(recorded by hand)" in line
            if keep:
                kept.append("")
        if keep:
            kept.append(line)
    return kept


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kiln", default="build/kiln")
    ap.add_argument("--runs", default="runs/results")
    ap.add_argument("--only", default="")
    ap.add_argument("--skip-sweeps", action="store_true")
    ap.add_argument("--page", action="store_true", help="only rewrite the page from the numbers kept")
    ap.add_argument("--out", default="docs/results.md")
    a = ap.parse_args()
    if not os.path.exists(os.path.join(ROOT, ".data/cifar10/test_batch.bin")):
        subprocess.run("../shared/datasets/cifar10-jpg/make-cifar10-bin.sh .data/cifar10", shell=True, cwd=ROOT, check=True)
    store = os.path.join(ROOT, a.runs, "results.json")
    done = json.load(open(store)) if os.path.exists(store) else {}
    for name, cfg, target in [] if a.page else RUNS:
        if a.only in cfg:
            done[cfg] = train(a.kiln, a.runs, cfg)
            json.dump(done, open(store, "w"), indent=1)
    for f in [] if a.skip_sweeps or a.page else SWEEPS:
        if a.only in f:
            done[f] = sweep(a.kiln, a.runs, f)
            json.dump(done, open(store, "w"), indent=1)
    results = [(name, cfg, target, done[cfg]) for name, cfg, target in RUNS if cfg in done]
    sweeps = [done[f] for f in SWEEPS if f in done]

    lines = ["# Results: the seed experiments, reproduced", "",
             f"Generated by `bench/results.py` on {time.strftime('%Y-%m-%d')}: {machine()}. Every number below is "
             "from a real run of the command beside it (2 threads, CPU); rerun the script to regenerate the page. "
             "Train times are wall-clock seconds of the training epochs on a machine that was at times also "
             "compiling; `docs/performance.md` has the controlled speed measurements. "
             "MNIST and CIFAR-10 come from `../shared/datasets` (CIFAR-10 is a JPEG-quality-75 copy, so expect 1-3 "
             "points under results published on the original files); Fashion-MNIST from Debian's "
             "`dataset-fashion-mnist`.", "",
             "Each row keeps the numbers of its last run, which may have been on another machine than this page's: "
             "the last two columns say which kiln revision made it, and on which CPU.", "",
             "| experiment | command | epochs | final test acc | best test acc | final test loss | train time | target | | kiln | CPU |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|---|---|"]
    for name, cfg, target, r in results:
        rows = r["rows"]
        final, best = float(rows[-1]["test_acc"]), max(float(x["test_acc"]) for x in rows)
        secs = sum(float(x["seconds"]) for x in rows)
        ok = "" if target is None else ("met" if final >= target else "**missed**")
        took = f"{secs:.0f} s" if secs < 600 else f"{secs / 60:.0f} min"
        lines.append(f"| {name} | `{r['cmd']}` | {len(rows)} | {100 * final:.2f}% | {100 * best:.2f}% | "
                     f"{float(rows[-1]['test_loss']):.4f} | {took} | "
                     f"{'' if target is None else f'≥ {100 * target:.1f}%'} | {ok} | {r.get('rev', '')} | "
                     f"{r.get('cpu', 'not recorded')} |")
    for s in sweeps:
        lines += ["", f"## `{s['cmd']}`", "",
                  f"Wall time {s['wall'] / 60:.1f} min (kiln {s.get('rev', '?')}, {s.get('date', '?')}, "
                  f"{s.get('cpu', 'CPU not recorded')}). "
                  "Sorted by final test accuracy.", "", s["table"]]
    lines += kept_by_hand(os.path.join(ROOT, a.out))
    lines.append("")
    with open(os.path.join(ROOT, a.out), "w") as f:
        f.write("\n".join(lines))
    print(f"written: {a.out}")


if __name__ == "__main__":
    main()
