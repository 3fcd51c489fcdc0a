#!/usr/bin/env python3
"""Train the seed MNIST CNN (configs/mnist_cnn.toml) from numpy arrays with the kiln module.

    pip install --no-build-isolation .      # once, from the repository root
    python3 examples/train_mnist.py [MNIST_DIR] [EPOCHS]     (default: ../shared/datasets/mnist, 3)

Reading the idx files and normalising them is the script's business (numpy); the network, its
training loop and the numbers are kiln's, as in `kiln train configs/mnist_cnn.toml`.
"""
import gzip
import os
import struct
import sys

import numpy as np

import kiln


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        magic, n = struct.unpack(">II", f.read(8))
        dims = struct.unpack(">" + "I" * ((magic & 0xFF) - 1), f.read(4 * ((magic & 0xFF) - 1)))
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(n, *dims)


def split(folder, prefix):
    def find(kind):
        for name in (f"{prefix}-{kind}.gz", f"{prefix}-{kind}"):
            if os.path.exists(os.path.join(folder, name)):
                return os.path.join(folder, name)
        sys.exit(f"train_mnist.py: no {prefix}-{kind}[.gz] in {folder}")
    return read_idx(find("images-idx3-ubyte")), read_idx(find("labels-idx1-ubyte")).astype(np.int64)


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else "../shared/datasets/mnist"
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    train_px, y = split(folder, "train")
    test_px, y_test = split(folder, "t10k")
    # As kiln's loader does with normalize = true: x = (pixel / 255 - mean) / std, the training
    # set's mean and standard deviation.
    pixels = train_px.astype(np.float64) / 255.0
    mean, std = pixels.mean(), pixels.std()
    x = ((pixels - mean) / std).astype(np.float32)[:, None]
    x_test = ((test_px.astype(np.float64) / 255.0 - mean) / std).astype(np.float32)[:, None]

    net = kiln.Model(["conv 16 5x5 pad=2", "relu", "maxpool 2",
                      "conv 16 5x5 pad=2", "relu", "maxpool 2",
                      "dense 10"], input_shape=(1, 28, 28))
    net.summary()
    history = net.fit(x, y, epochs=epochs, batch_size=64, optimizer="sgd", lr=0.05, momentum=0.9,
                      weight_decay=5e-4, schedule={"name": "exponential", "decay": 0.88},
                      validation_data=(x_test, y_test))
    print(f"test accuracy {100 * net.evaluate(x_test, y_test)['accuracy']:.2f}% after {len(history)} epochs")
    net.set_preprocessing("mnist", mean=[mean], std=[std], class_names=[str(k) for k in range(10)])
    net.save("mnist_cnn.kiln")
    print("weights: mnist_cnn.kiln (kiln eval mnist_cnn.kiln --data DIR reads it)")


if __name__ == "__main__":
    main()
