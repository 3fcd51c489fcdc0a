#!/usr/bin/env python3
"""Writes a small synthetic table for configs/table_mlp.toml: DIR/train.csv and DIR/test.csv.

Three kinds of seed ("alpha", "beta", "gamma"), five measurements each on very different
scales (grams near 40, a year near 2000, a ratio near 0.001, ...), drawn from overlapping
Gaussians: configs/table_mlp.toml reaches about 97% test accuracy on them in 20 epochs
(under a second on one core). Plain Python (random with a fixed seed): the same files on every machine.

    python3 scripts/make_table_csv.py .data/seeds   # then: kiln train configs/table_mlp.toml
"""
import os
import random
import sys

CLASSES = ["alpha", "beta", "gamma"]
# Per class: the mean of each column; the columns' spreads below.
MEANS = {
    "alpha": [38.0, 1995.0, 0.0011, 5.2, 0.0],
    "beta": [44.0, 2003.0, 0.0009, 6.1, 0.0],
    "gamma": [41.0, 2010.0, 0.0014, 5.0, 0.0],
}
SPREAD = [2.5, 4.0, 0.00015, 0.35, 1.0]
COLUMNS = ["mass_g", "harvest_year", "ratio", "length_mm", "noise"]


def write(path, rows, rng):
    with open(path, "w", newline="") as f:
        f.write(",".join(COLUMNS[:2]) + ",kind," + ",".join(COLUMNS[2:]) + "\n")
        for i in range(rows):
            kind = CLASSES[i % 3]
            x = [rng.gauss(m, s) for m, s in zip(MEANS[kind], SPREAD)]
            cells = ["%.6g" % v for v in x]
            f.write(",".join(cells[:2] + [kind] + cells[2:]) + "\n")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_table_csv.py DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(2026)
    write(os.path.join(out, "train.csv"), 1500, rng)
    write(os.path.join(out, "test.csv"), 600, rng)
    print("wrote %s/train.csv (1500 rows) and %s/test.csv (600 rows)" % (out, out))


if __name__ == "__main__":
    main()
