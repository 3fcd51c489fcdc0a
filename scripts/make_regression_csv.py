#!/usr/bin/env python3
"""Writes a small synthetic regression table for configs/table_regression.toml: DIR/train.csv
and DIR/test.csv.

Five columns on very different scales (an area near 80, a year near 1990, a distance near
0.005, a count of rooms, a column of pure noise) and a target `price` that is a nonlinear
function of the first three plus Gaussian noise of standard deviation NOISE (3.0): with
a = (area - 80) / 25, b = (year - 1990) / 15, c = (distance - 0.005) / 0.002,

    price = 200 + 30 sin(1.5 a) + 12 b^2 + 15 a c + N(0, NOISE^2)

so no model can do better than an RMSE of about NOISE on the test rows (the noise floor),
while predicting the mean gives the target's standard deviation (about 31). Plain Python
(random with a fixed seed): the same files on every machine.

    python3 scripts/make_regression_csv.py .data/prices   # then: kiln train configs/table_regression.toml
"""
import math
import os
import random
import sys

NOISE = 3.0
COLUMNS = ["area_m2", "year", "distance", "rooms", "noise"]


def row(rng):
    area, year, dist = rng.gauss(80, 25), rng.gauss(1990, 15), rng.gauss(0.005, 0.002)
    rooms, junk = rng.randint(1, 6), rng.gauss(0, 1)
    a, b, c = (area - 80) / 25, (year - 1990) / 15, (dist - 0.005) / 0.002
    price = 200 + 30 * math.sin(1.5 * a) + 12 * b * b + 15 * a * c + rng.gauss(0, NOISE)
    return [area, year, dist, rooms, junk], price


def write(path, rows, rng):
    with open(path, "w", newline="") as f:
        f.write(",".join(COLUMNS[:3]) + ",price," + ",".join(COLUMNS[3:]) + "\n")
        for _ in range(rows):
            x, y = row(rng)
            cells = ["%.6g" % v for v in x]
            f.write(",".join(cells[:3] + ["%.6g" % y] + cells[3:]) + "\n")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_regression_csv.py DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(2026)
    write(os.path.join(out, "train.csv"), 4000, rng)
    write(os.path.join(out, "test.csv"), 1000, rng)
    print("wrote %s/train.csv (4000 rows) and %s/test.csv (1000 rows); noise floor RMSE %.1f" % (out, out, NOISE))


if __name__ == "__main__":
    main()
