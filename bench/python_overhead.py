#!/usr/bin/env python3
"""The overhead of the Python module's fit() against `kiln train` on the same net, data and
settings (an MNIST experiment file, configs/mnist_cnn.toml by default; one epoch on the first N
MNIST training images): `kiln train`,
the in-process `kiln.train` and `fit()` side by side, in a shuffled order each round, so that the
load of the shared machine falls on all three alike.

    python3 bench/python_overhead.py [--kiln build/dev/kiln] [--data ../shared/datasets/mnist]
                                     [--config configs/mnist_cnn.toml] [--images 20000] [--rounds 3]
                                     [--seed 1] [--out docs/python-overhead.md]

fit() gets the experiment file's layers, seed and [optimizer], [schedule], [loss] and
train.batch_size keys, so any MNIST experiment file compares (configs/mnist_mlp_adam.toml: the
dense layers, where the BLAS kernels decide the speed).

Every run is a process of its own: `kiln train`, and `kiln.train` and `fit()` each in a fresh
Python (this script with --worker). The speed of one process depends on incidental state (where
its buffers land, which core its threads start on); the same command repeated varies by 10%
and more from process to process on the 2-core machine. With the Python runs all in this one
long-lived process (as up to 2026-12-02) they were a single draw of that set against a fresh
draw for the CLI every round, and the ratio carried the single draw's luck.

Training speed is images / the epoch's training seconds, which all three measure with the same
timer of the training loop (metrics.csv's seconds; fit's history), so the ratio is what fit
adds per batch (the GIL taken back after each batch, the progress callback, its float32 samples).
fit's wall time (array copy in, the 1,000 validation images) is given beside it.
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "examples"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kiln_run import kiln_train  # noqa: E402
from machine import cpu_model  # noqa: E402



def fit_settings(cfg):
    """The experiment file's training settings as fit(set=...) keys."""
    keys = {f"{sec}.{k}": v for sec in ("optimizer", "schedule", "loss") for k, v in cfg.get(sec, {}).items()}
    keys["train.batch_size"] = cfg.get("train", {}).get("batch_size", 64)
    return keys


def fit_worker(a):
    """One fit() on the first a.images training images, as the experiment file a.config trains
    them; prints {"rate": img/s, "wall": s, "blas": kiln's BLAS}. numpy is imported first, as in
    a notebook."""
    import numpy as np
    import kiln
    import tomllib
    from train_mnist import split

    px, y = split(a.data, "train")
    px, y = px[: a.images], y[: a.images]
    test_px, y_test = split(a.data, "t10k")
    pixels = px.astype(np.float64) / 255.0
    mean, std = pixels.mean(), pixels.std()
    x = ((pixels - mean) / std).astype(np.float32)[:, None]
    x_test = ((test_px[:1000].astype(np.float64) / 255.0 - mean) / std).astype(np.float32)[:, None]
    with open(a.config, "rb") as f:
        cfg = tomllib.load(f)
    net = kiln.Model(cfg["model"]["layers"], input_shape=(1, 28, 28), seed=cfg.get("seed", 1))
    t0 = time.perf_counter()
    h = net.fit(x, y, epochs=1, set=fit_settings(cfg), validation_data=(x_test, y_test[:1000]), verbose=False)
    wall = time.perf_counter() - t0
    print(json.dumps({"rate": a.images / h.history["seconds"][0], "wall": wall, "blas": kiln.system_info()["blas"]}))


def train_worker(a):
    """The CLI's trainer and data path inside a Python process (numpy loaded, the module's
    build); prints {"rate": img/s}."""
    import kiln

    run = kiln.train(a.config, runs_dir=a.runs, progress=False,
                     set={"data.dir": os.path.abspath(a.data), "train.epochs": 1,
                          "data.limit_train": a.images, "data.limit_test": 1000})
    print(json.dumps({"rate": a.images / kiln.Run(run).metrics[0]["seconds"]}))


def worker(kind, a, runs):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", kind, "--data", a.data,
           "--images", str(a.images), "--runs", runs, "--config", a.config]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kiln", default=os.path.join(ROOT, "build", "dev", "kiln"))
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "datasets", "mnist"))
    ap.add_argument("--config", default=os.path.join(ROOT, "configs", "mnist_cnn.toml"))
    ap.add_argument("--images", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1, help="seeds the order of the three runs in each round")
    ap.add_argument("--out", default="")
    ap.add_argument("--worker", choices=["fit", "train"], help=argparse.SUPPRESS)
    ap.add_argument("--runs", default="", help=argparse.SUPPRESS)
    a = ap.parse_args()
    a.config = os.path.abspath(a.config)
    if a.worker:
        (fit_worker if a.worker == "fit" else train_worker)(a)
        return

    cli_rates, inproc_rates, fit_rates, fit_walls, loads, fit_blas = [], [], [], [], [], set()
    rng = random.Random(a.seed)
    with tempfile.TemporaryDirectory() as runs:
        for r in range(a.rounds):
            loads.append(os.getloadavg()[0])
            cmd = [a.kiln, "train", a.config, "--runs", runs,
                   "--set", f"data.dir={os.path.abspath(a.data)}", "--set", "train.epochs=1",
                   "--set", f"data.limit_train={a.images}", "--set", "data.limit_test=1000"]

            def cli():
                _, rows = kiln_train(cmd, cwd=runs)
                cli_rates.append(a.images / float(rows[0]["seconds"]))

            def inproc():
                inproc_rates.append(worker("train", a, runs)["rate"])

            def fit():
                got = worker("fit", a, runs)
                fit_rates.append(got["rate"])
                fit_walls.append(got["wall"])
                fit_blas.add(got["blas"])

            # A fresh order every round: in a fixed one, whatever runs right after another
            # (page cache, frequency) is favoured or not in every round alike.
            order = [cli, inproc, fit]
            rng.shuffle(order)
            for run_one in order:
                run_one()
            print(f"round {r + 1}: kiln train {cli_rates[-1]:.0f} img/s, kiln.train {inproc_rates[-1]:.0f}, "
                  f"fit {fit_rates[-1]:.0f} img/s "
                  f"(ratio {fit_rates[-1] / cli_rates[-1]:.3f}), fit wall {fit_walls[-1]:.2f}s, load {loads[-1]:.2f}",
                  flush=True)
    ratios = [f / c for f, c in zip(fit_rates, cli_rates)]
    med = statistics.median
    lines = [
        "# fit() against `kiln train`",
        "",
        f"`bench/python_overhead.py --config {os.path.relpath(a.config, ROOT)} --images {a.images} --rounds {a.rounds} "
        f"--seed {a.seed}`: {os.path.relpath(a.config, ROOT)}, one epoch on the first "
        f"{a.images} MNIST training images, `kiln train`, `kiln.train` and `fit()` in a shuffled order each round, "
        f"each in a process of its own, on {cpu_model()} with {os.cpu_count()} cores (1-minute load average "
        f"{min(loads):.2f}-{max(loads):.2f} at the rounds' starts). kiln's BLAS in fit's process (numpy "
        f"imported first): {'; '.join(sorted(fit_blas))}; OPENBLAS_CORETYPE "
        f"{os.environ.get('OPENBLAS_CORETYPE', 'not set')} in the environment.",
        "",
        "| round | kiln train img/s | kiln.train (in Python) img/s | fit img/s | fit / kiln train | fit wall s |",
        "|---|---|---|---|---|---|",
    ]
    for i, (c, p, f, w) in enumerate(zip(cli_rates, inproc_rates, fit_rates, fit_walls)):
        lines.append(f"| {i + 1} | {c:.0f} | {p:.0f} | {f:.0f} | {f / c:.3f} | {w:.2f} |")
    lines += ["",
              f"Medians: kiln train {med(cli_rates):.0f}, kiln.train {med(inproc_rates):.0f}, fit {med(fit_rates):.0f} img/s; "
              f"fit / kiln train: ratio of the medians {med(fit_rates) / med(cli_rates):.3f}, median of the rounds' ratios "
              f"{med(ratios):.3f} (range {min(ratios):.3f}-{max(ratios):.3f}); kiln.train / kiln train "
              f"{med(inproc_rates) / med(cli_rates):.3f}; best against best (the least disturbed run of each) "
              f"{max(fit_rates):.0f} / {max(cli_rates):.0f} = {max(fit_rates) / max(cli_rates):.3f}. "
              "Speed is images over the epoch's training seconds as the training loop times them in all three; "
              "fit's wall time adds copying the arrays in and evaluating the 1,000 validation images.", ""]
    text = "\n".join(lines)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
