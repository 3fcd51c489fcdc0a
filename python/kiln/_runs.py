"""Experiments: kiln.train runs `kiln train`'s trainer on an experiment file; kiln.Run reads
a run folder."""
import csv
import math
import os
import tomllib

from . import _kiln
from ._settings import overrides as _overrides


def train(config, set=None, runs_dir="runs", progress=True):
    """Trains the experiment file `config` as `kiln train config --set k=v ...` does (the same
    trainer, run folder and files) and returns the run folder's path. Ctrl-C saves a
    checkpoint and stops; a run that did not complete raises RuntimeError with the reason."""
    r = _kiln.train(os.fspath(config), _overrides(set), os.fspath(runs_dir), bool(progress))
    if r["status"] == "diverged":
        raise RuntimeError(f"kiln.train: {r['message']} (run folder {r['run_dir']})")
    if r["status"] == "interrupted":
        raise KeyboardInterrupt(f"kiln.train: {r['message']}")
    return r["run_dir"]


def _number(v):
    try:
        f = float(v)
    except ValueError:
        return v
    return int(f) if f.is_integer() and "." not in v and "e" not in v.lower() and not math.isnan(f) else f


def _csv(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(f)]


class Run:
    """A run folder: .metrics (metrics.csv: a dict per epoch), .batches (batches.csv),
    .config (config.toml as a dict), .manifest (manifest.toml), .model (its weights) and
    .confusion (the test set's confusion matrix, evaluated as `kiln eval` does)."""

    def __init__(self, path):
        self.path = os.fspath(path)
        if not os.path.isfile(os.path.join(self.path, "config.toml")):
            raise ValueError(f"{self.path}: not a run folder (no config.toml)")
        self._evaluation = None

    def _toml(self, name):
        p = os.path.join(self.path, name)
        if not os.path.exists(p):
            return {}
        with open(p, "rb") as f:
            return tomllib.load(f)

    @property
    def config(self):
        return self._toml("config.toml")

    @property
    def manifest(self):
        return self._toml("manifest.toml")

    @property
    def metrics(self):
        return _csv(os.path.join(self.path, "metrics.csv"))

    @property
    def batches(self):
        return _csv(os.path.join(self.path, "batches.csv"))

    @property
    def model(self):
        from . import load
        w = os.path.join(self.path, "weights.kiln")
        return load(w if os.path.exists(w) else os.path.join(self.path, "checkpoint.kiln"))

    def evaluate(self, data_dir=""):
        """{"loss", "accuracy", "confusion", "class_names", "file"}: the saved model on the
        test split of the run's data (or of data_dir)."""
        if self._evaluation is None or data_dir:
            self._evaluation = _kiln.evaluate_run(self.path, os.fspath(data_dir))
        return self._evaluation

    @property
    def confusion(self):
        return self.evaluate()["confusion"]

    def __repr__(self):
        return f"kiln.Run({self.path!r})"
