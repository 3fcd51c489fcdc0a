"""A regression run (CSV, data.task = "regression") read from Python: kiln.Run's metrics have
RMSE and MAE columns instead of accuracies, its evaluation gives the run's numbers, and the
saved model's preprocessing names the target with its statistics."""
import math
import random

import pytest

import kiln


def write_table(path, rows, seed):
    rng = random.Random(seed)
    with open(path, "w") as f:
        f.write("a,y,b\n")
        for _ in range(rows):
            a, b = rng.gauss(10, 3), rng.gauss(0.01, 0.002)
            f.write(f"{a:.6g},{50 + 4 * math.sin(a) + 2000 * b + rng.gauss(0, 0.2):.6g},{b:.6g}\n")


def test_a_regression_run_reads_back(tmp_path):
    write_table(tmp_path / "train.csv", 400, 1)
    write_table(tmp_path / "test.csv", 100, 2)
    cfg = tmp_path / "reg.toml"
    cfg.write_text(f'name = "reg"\nseed = 2\n[data]\ndataset = "csv"\ndir = "{tmp_path}"\ntask = "regression"\n'
                   'target = "y"\nvalidation = 0.1\n[model]\nlayers = ["dense 16", "relu", "dense 1"]\n'
                   '[loss]\nname = "mse"\n[optimizer]\nname = "adam"\nlr = 0.01\n'
                   '[train]\nbatch_size = 32\nepochs = 3\nthreads = 1\n')
    run = kiln.Run(kiln.train(cfg, runs_dir=tmp_path / "runs", progress=False))
    rows = run.metrics
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert "test_acc" not in rows[-1]
    assert rows[-1]["test_rmse"] < rows[0]["test_rmse"]
    assert rows[-1]["val_mae"] > 0
    ev = run.evaluate()
    assert ev["loss"] == pytest.approx(rows[-1]["test_loss"], rel=1e-6)
    assert ev["rmse"] == pytest.approx(rows[-1]["test_rmse"], rel=1e-6)
    assert ev["mae"] == pytest.approx(rows[-1]["test_mae"], rel=1e-6)
    assert ev["target"] == "y" and math.isnan(ev["accuracy"]) and ev["confusion"].shape == (0, 0)
    prep = run.model.preprocessing
    assert prep["target"] == "y" and prep["target_std"] > 1
