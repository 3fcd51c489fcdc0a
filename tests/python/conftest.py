"""Tiny synthetic data for the Python module's tests: 8x8 images of 4 classes (class k is a
bright 3x3 patch in quadrant k plus noise), as idx files (the format `kiln train` reads) and as
the numpy arrays fit() takes, with the pixel -> float conversion of kiln's loader
(x = pixel / 255 computed in double, normalize = false)."""
import os
import shutil
import struct
import subprocess

import numpy as np
import pytest

import kiln


def make_images(n, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, n).astype(np.uint8)
    px = rng.integers(0, 60, (n, 8, 8)).astype(np.uint8)
    for i, k in enumerate(labels):
        r0, c0 = (k // 2) * 4 + 1, (k % 2) * 4 + 1
        px[i, r0:r0 + 3, c0:c0 + 3] = rng.integers(200, 256, (3, 3))
    return px, labels


def write_idx(folder, prefix, px, labels):
    with open(os.path.join(folder, f"{prefix}-images-idx3-ubyte"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, len(px), 8, 8) + px.tobytes())
    with open(os.path.join(folder, f"{prefix}-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">II", 0x801, len(labels)) + labels.tobytes())


def as_floats(px):
    return (px.astype(np.float64) / 255.0).astype(np.float32)[:, None, :, :]


class Synthetic:
    def __init__(self, folder):
        self.dir = str(folder)
        train_px, self.y = make_images(256, 1)
        test_px, self.y_test = make_images(64, 2)
        write_idx(self.dir, "train", train_px, self.y)
        write_idx(self.dir, "t10k", test_px, self.y_test)
        self.x, self.x_test = as_floats(train_px), as_floats(test_px)
        self.y = self.y.astype(np.int64)
        self.y_test = self.y_test.astype(np.int64)


@pytest.fixture(scope="session")
def data(tmp_path_factory):
    return Synthetic(tmp_path_factory.mktemp("idx"))


LAYERS = ["conv 4 3x3 pad=1", "relu", "maxpool 2", "dense 4"]


def experiment(data, path, seed=3, epochs=2, extra=""):
    """An experiment file equivalent to fit(epochs, batch_size=32, optimizer="sgd", lr=0.05,
    momentum=0.9, weight_decay=5e-4, schedule={"name": "exponential", "decay": 0.9})."""
    layers = ", ".join(f'"{s}"' for s in LAYERS)
    path.write_text(f"""name = "same-numbers"
seed = {seed}
[data]
dataset = "idx"
dir = "{data.dir}"
normalize = false
[model]
layers = [{layers}]
[optimizer]
name = "sgd"
lr = 0.05
momentum = 0.9
weight_decay = 5e-4
[schedule]
name = "exponential"
decay = 0.9
[train]
batch_size = 32
epochs = {epochs}
{extra}""")
    return path


def fit_like_experiment(net, data, epochs=2, **kw):
    return net.fit(data.x, data.y, epochs=epochs, batch_size=32, optimizer="sgd", lr=0.05, momentum=0.9,
                   weight_decay=5e-4, schedule={"name": "exponential", "decay": 0.9}, verbose=False, **kw)


def kiln_cli():
    """The kiln command of the build under test (KILN_CLI, set by scripts/test.sh), or None."""
    path = os.environ.get("KILN_CLI") or shutil.which("kiln")
    return path if path and os.access(path, os.X_OK) else None


def run_cli(*args, cwd=None):
    return subprocess.run([kiln_cli(), *args], check=True, capture_output=True, text=True, cwd=cwd).stdout
