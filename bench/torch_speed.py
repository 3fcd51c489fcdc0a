#!/usr/bin/env python3
"""PyTorch twin of kiln_speed: the same experiment file's network, optimizer, data and batch.

    torch_speed.py CONFIG [--batch N] [--threads N] [--seconds S] [--mode train|infer]
                   [--channels-last] [--bf16] [--malloc keep|glibc|jemalloc|tcmalloc]
                   [--flush-denormal] [--seed-at start|model]

The network is translated layer by layer from the experiment's [model] layers (the kiln
syntax: "conv 16 5x5 pad=2", "relu", "maxpool 2", "dense 10", "bn", "dropout 0.3", ...), the
optimizer from [optimizer], the data read from the same idx / CIFAR-10 files and normalised per
channel as kiln does. Training steps draw shuffled batches from the preloaded tensor (PyTorch's
fastest setting: no DataLoader workers on a 2-core machine). Prints one JSON line like kiln_speed,
with the settings it ran under and the minor page faults per timed step.

--malloc keep (the default) tells glibc's malloc to keep the memory PyTorch frees. With glibc's
defaults the activations each step frees can be handed back to the kernel and faulted in again,
zeroed, by the next step, which made PyTorch several times slower here, or not, depending on what
the process happened to free before the loop (docs/pytorch-fairness.md). --malloc glibc leaves
the allocator as it is; jemalloc and tcmalloc preload Debian's libjemalloc2 / libtcmalloc-minimal4,
the allocators PyTorch's own CPU launcher (torch.backends.xeon.run_cpu) preloads.
"""
import argparse
import ctypes
import gzip
import json
import os
import resource
import sys
import time
import tomllib

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from kiln_twin import UnknownLayer, twin  # noqa: E402


PRELOAD = {"jemalloc": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
           "tcmalloc": "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"}


def set_allocator(name):
    """Makes the allocator `name` serve this process (see the file's comment); jemalloc and
    tcmalloc restart the script with the library preloaded."""
    if name == "keep":
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        # glibc's default thresholds move with what the process has freed: freeing an mmapped
        # block of up to 32 MiB raises the mmap threshold to its size and the trim threshold to
        # twice that, and whenever more than the trim threshold lies free at the top of the heap,
        # free() gives it back to the kernel. A step that frees more than that faults it all in
        # again in the next. Setting both fixes them (and stops them moving): blocks up to 1 GiB
        # come from the heap, which is never trimmed, so each step reuses the pages of the last.
        if not (libc.mallopt(M_MMAP_THRESHOLD, 1 << 30) and libc.mallopt(M_TRIM_THRESHOLD, 2**31 - 1)):
            sys.exit("torch_speed: mallopt refused the thresholds")
    elif name in PRELOAD and PRELOAD[name] not in os.environ.get("LD_PRELOAD", ""):
        if not os.path.exists(PRELOAD[name]):
            sys.exit(f"torch_speed: {PRELOAD[name]} not found (Debian: apt-get install "
                     f"{'libjemalloc2' if name == 'jemalloc' else 'libtcmalloc-minimal4'})")
        env = {**os.environ, "LD_PRELOAD": PRELOAD[name]}
        if name == "jemalloc":  # what torch.backends.xeon.run_cpu sets beside it
            env.setdefault("MALLOC_CONF", "oversize_threshold:1,background_thread:true,metadata_thp:auto")
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(magic & 0xFF)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def find(dir_, names):
    for n in names:
        for suffix in ("", ".gz"):
            p = os.path.join(dir_, n + suffix)
            if os.path.exists(p):
                return p
    sys.exit(f"torch_speed: none of {names} in {dir_}")


def load(cfg, train):
    d = cfg.get("data", {})
    dataset = d.get("dataset", "fashion-mnist")
    dir_ = d.get("dir") or {"fashion-mnist": "/usr/share/datasets/fashion-mnist", "mnist": "../shared/datasets/mnist",
                            "cifar10": ".data/cifar10"}[dataset]
    if dataset == "cifar10":
        files = [f"data_batch_{i}.bin" for i in range(1, 6)] if train else ["test_batch.bin"]
        raw = np.concatenate([np.fromfile(os.path.join(dir_, f), dtype=np.uint8).reshape(-1, 3073) for f in files])
        return raw[:, 1:].reshape(-1, 3, 32, 32), raw[:, 0].astype(np.int64)
    prefix = "train" if train else "t10k"
    x = read_idx(find(dir_, [f"{prefix}-images-idx3-ubyte"]))
    y = read_idx(find(dir_, [f"{prefix}-labels-idx1-ubyte"]))
    return x.reshape(-1, 1, x.shape[1], x.shape[2]), y.astype(np.int64)


def build(layers, in_shape):
    """kiln layer specs -> nn.Sequential (tools/kiln_twin.py), ReLUs in place."""
    try:
        return twin(layers, tuple(in_shape), inplace=True)
    except UnknownLayer as e:
        sys.exit(f"torch_speed: {e}")


def optimizer(cfg, params):
    o = cfg.get("optimizer", {})
    name, lr, wd = o.get("name", "sgd"), o.get("lr", 0.01), o.get("weight_decay", 0.0)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=o.get("momentum", 0.0), nesterov=o.get("nesterov", False),
                               weight_decay=wd)
    cls = torch.optim.AdamW if name == "adamw" else torch.optim.Adam
    return cls(params, lr=lr, betas=(o.get("beta1", 0.9), o.get("beta2", 0.999)), eps=o.get("eps", 1e-8), weight_decay=wd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("--batch", type=int, default=0)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--mode", default="train", choices=["train", "infer"])
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--bf16", action="store_true", help="CPU autocast to bfloat16 (fp32 master weights)")
    ap.add_argument("--malloc", default="keep", choices=["keep", "glibc", *PRELOAD])
    ap.add_argument("--flush-denormal", action="store_true", help="torch.set_flush_denormal(True)")
    ap.add_argument("--seed-at", default="start", choices=["start", "model"],
                    help="torch.manual_seed before the data is loaded, or just before the model is built")
    a = ap.parse_args()
    set_allocator(a.malloc)
    torch.set_num_threads(a.threads)
    torch.set_flush_denormal(a.flush_denormal)
    if a.seed_at == "start":
        torch.manual_seed(1)
    with open(a.config, "rb") as f:
        cfg = tomllib.load(f)
    train = a.mode == "train"
    x8, y = load(cfg, train)
    x = torch.from_numpy(x8.astype(np.float32) / 255.0)
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    std = x.std(dim=(0, 2, 3), keepdim=True, unbiased=False)
    x = (x - mean) / std
    y = torch.from_numpy(y)
    if a.seed_at == "model":
        torch.manual_seed(1)
    model = build(cfg["model"]["layers"], x.shape[1:])
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    B = a.batch or (cfg.get("train", {}).get("batch_size", 64) if train else 1000)
    opt = optimizer(cfg, model.parameters())
    loss_fn = nn.CrossEntropyLoss()
    perm = torch.randperm(len(x))
    pos = [0]

    def next_batch():
        if pos[0] + B > len(x):
            perm.copy_(torch.randperm(len(x)))
            pos[0] = 0
        idx = perm[pos[0]:pos[0] + B]
        pos[0] += B
        return x[idx].contiguous(memory_format=fmt), y[idx]

    def step():
        xb, yb = next_batch()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
            if train:
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(xb), yb)
                loss.backward()
                opt.step()
            else:
                with torch.inference_mode():  # no autograd bookkeeping at all: PyTorch's fastest inference
                    model(xb)

    model.train(train)
    for _ in range(5):
        step()
    faults0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    t0, images = time.perf_counter(), 0
    while time.perf_counter() - t0 < a.seconds:
        step()
        images += B
    elapsed = time.perf_counter() - t0
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"framework": "pytorch", "config": a.config, "mode": a.mode, "batch": B, "threads": a.threads,
                      "images_per_s": round(images / elapsed, 1), "peak_rss_mb": round(ru.ru_maxrss / 1024, 1),
                      "faults_per_step": round((ru.ru_minflt - faults0) * B / images),
                      "torch": torch.__version__, "bf16": a.bf16, "channels_last": a.channels_last,
                      "malloc": a.malloc, "flush_denormal": a.flush_denormal, "seed_at": a.seed_at,
                      "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
                      "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "unset")}))


if __name__ == "__main__":
    main()
