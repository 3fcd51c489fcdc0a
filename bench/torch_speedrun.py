#!/usr/bin/env python3
"""PyTorch twin of kiln's speed run: the recipe of configs/cifar10_speedrun.toml on the same
files, printing time-to-accuracy after every epoch.

    torch_speedrun.py [CONFIG] [--epochs N] [--threads N] [--channels-last] [--seed S]

Everything is read from the experiment file, as kiln reads it: the layers (translated by
torch_speed.build; the whitening convolution's filters set from 5,000 training images), the data (the CIFAR-10 binary files of data.dir, normalised per channel with
the training set's mean and std), label smoothing, Nesterov SGD with weight decay on weights
only, a separate parameter group for batch-norm shifts (optimizer.bn_lr_scale, bn_weight_decay; γ
fixed where the spec says bn scale=false, the logits scaled by a `scale F` layer), the onecycle schedule stepped per batch (PyTorch's OneCycleLR, as kiln's),
the weight EMA with its bias correction (optimizer.ema, evaluation on the averaged weights and
batch-norm running statistics averaged alongside them, as kiln), crops from the image padded with black
(data.crop_pad), alternating flips (data.alternate_flip: a seeded coin per image for even
epochs, the other side in odd ones) and flip and translation test-time augmentation (train.eval_flip, train.eval_translate).

Timing: the seconds of training steps only (the evaluation after each epoch is not counted, as
kiln's epoch seconds), summed over the epochs, so "time to accuracy" is comparable with the
seconds column of kiln's metrics.csv. One line per epoch, then a JSON summary.
"""
import argparse
import json
import math
import os
import sys
import time
import tomllib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_speed import build, load, set_allocator  # noqa: E402


def lr_at(s, lr, t, total):
    """kiln's onecycle (optim/schedules/onecycle.cpp): cosine up to max_lr by pct_start·T - 1,
    then down to max_lr / (div_factor · final_div_factor) at T - 1; or its triangle."""
    peak = s.get("max_lr", 0) or lr
    start = peak / s.get("div_factor", 25.0)
    end = start / s.get("final_div_factor", 1e4)
    up, last = s.get("pct_start", 0.3) * total - 1, total - 1

    def ramp(a, b, f):
        return b + (a - b) * (1 + math.cos(math.pi * f)) / 2

    if s.get("name") == "triangle":  # optim/schedules/triangle.cpp: straight lines, the peak at floor(pct_start·T)
        p = math.floor(s.get("pct_start", 0.3) * total)
        if t < p:
            return start + (peak - start) * t / p
        return peak + (end - peak) * (t - p) / (total - p) if total > p else peak
    if t <= up:
        return ramp(start, peak, t / up if up > 0 else 1)
    return ramp(peak, end, (t - up) / (last - up) if last > up else 1)


def batches(x, y, batch, epoch, pad, reflect, alternate, flip, order_rng, coin):
    n = x.shape[0]
    order = torch.from_numpy(order_rng.permutation(n))
    for lo in range(0, n, batch):
        idx = order[lo:lo + batch]
        xb = x[idx]
        if pad:
            # Crops of the original size from the image padded with black (pixel 0, which the
            # normalisation made -mean/std: `x` holds normalised values, `black` that value).
            # data.crop_fill = "reflect": the image reflected at its edges instead.
            if reflect:
                padded = F.pad(xb, (pad, pad, pad, pad), mode="reflect")
            else:
                padded = F.pad(xb, (pad, pad, pad, pad))
                padded[:, :, :pad, :] = black_value
                padded[:, :, -pad:, :] = black_value
                padded[:, :, :, :pad] = black_value
                padded[:, :, :, -pad:] = black_value
            dy = torch.from_numpy(order_rng.integers(0, 2 * pad + 1, len(idx)))
            dx = torch.from_numpy(order_rng.integers(0, 2 * pad + 1, len(idx)))
            H, W = xb.shape[2], xb.shape[3]
            out = torch.empty_like(xb)
            for oy in range(2 * pad + 1):
                for ox in range(2 * pad + 1):
                    m = (dy == oy) & (dx == ox)
                    if m.any():
                        out[m] = padded[m, :, oy:oy + H, ox:ox + W]
            xb = out
        if alternate:
            f = coin[idx] ^ (epoch % 2 == 1)
        elif flip:
            f = torch.from_numpy(order_rng.random(len(idx)) < 0.5)
        else:
            f = None
        if f is not None and f.any():
            xb = xb.clone()
            xb[f] = xb[f].flip(3)
        yield xb, y[idx]


def whiten_from_data(model, x):
    """The filters of kiln's whiten layer (layers/whiten.h): the eigenvectors of the patches'
    second-moment matrix scaled by 1/sqrt(eigenvalue + eps), and their negatives."""
    for m in model.modules():
        if hasattr(m, "whiten_eps"):
            r, s = m.kernel_size
            patches = F.unfold(x.double(), (r, s)).transpose(1, 2).reshape(-1, x.shape[1] * r * s)
            sigma = patches.T @ patches / patches.shape[0]
            values, vectors = torch.linalg.eigh(sigma)
            values, vectors = values.flip(0), vectors.flip(1)
            w = (vectors / torch.sqrt(values.clamp(min=0) + m.whiten_eps)).T.reshape(-1, x.shape[1], r, s)
            with torch.no_grad():
                m.weight.copy_(torch.cat([w, -w]).float())
            return


def evaluate(model, x, y, batch, tta_flip, translate, channels_last):
    """Test accuracy with kiln's test-time views (train/evaluate.h): the flip mean f̄, and with
    train.eval_translate = t, ½ f̄(x) + ¼ f̄(x moved by (t, t)) + ¼ f̄(x moved by (-t, -t)), the
    edges reflected."""
    model.eval()
    correct = 0

    def f_bar(xb):
        if channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        z = model(xb)
        return (z + model(xb.flip(3))) / 2 if tta_flip else z

    with torch.no_grad():
        for lo in range(0, x.shape[0], batch):
            xb = x[lo:lo + batch]
            z = f_bar(xb)
            if translate:
                t = translate
                H, W = xb.shape[2], xb.shape[3]
                padded = F.pad(xb, (t, t, t, t), mode="reflect")
                z = z / 2 + f_bar(padded[:, :, :H, :W]) / 4 + f_bar(padded[:, :, 2 * t:, 2 * t:]) / 4
            correct += (z.argmax(1) == y[lo:lo + batch]).sum().item()
    model.train()
    return correct / x.shape[0]


black_value = None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("config", nargs="?", default="configs/cifar10_speedrun.toml")
    ap.add_argument("--epochs", type=int, help="default: the config's train.epochs")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--seed", type=int, help="default: the config's seed")
    ap.add_argument("--limit", type=int, default=0, help="the first N training and test images only (smoke tests)")
    a = ap.parse_args()
    set_allocator("keep")
    cfg = tomllib.load(open(a.config, "rb"))
    seed = a.seed if a.seed is not None else cfg.get("seed", 1)
    torch.manual_seed(seed)
    if a.threads:
        torch.set_num_threads(a.threads)
    d, o, s, t = cfg.get("data", {}), cfg.get("optimizer", {}), cfg.get("schedule", {}), cfg.get("train", {})
    # kiln's warm-up multiplies constant (and the others), not onecycle or triangle, which rise by themselves
    name = s.get("name", "constant")
    if name not in ("constant", "onecycle", "triangle") or (name == "constant" and s.get("warmup_epochs", 0)):
        sys.exit(f"torch_speedrun: schedule.name = \"{name}\" (warmup_epochs {s.get('warmup_epochs', 0)}) has no "
                 "twin here; it follows constant (without warm-up), onecycle and triangle")
    if d.get("dataset") != "cifar10":
        sys.exit("torch_speedrun: reads data.dataset = \"cifar10\" (the binary files) only")
    xtr, ytr = load(cfg, True)
    xte, yte = load(cfg, False)
    if a.limit:
        xtr, ytr, xte, yte = xtr[:a.limit], ytr[:a.limit], xte[:a.limit], yte[:a.limit]
    mean = xtr.reshape(xtr.shape[0], 3, -1).mean(axis=(0, 2)) / 255
    std = (xtr.reshape(xtr.shape[0], 3, -1) / 255).std(axis=(0, 2))

    def norm(v):
        return torch.from_numpy(((v / 255.0 - mean[None, :, None, None]) / std[None, :, None, None]).astype(np.float32))

    global black_value
    black_value = torch.from_numpy((-mean / std).astype(np.float32)).reshape(1, 3, 1, 1)
    xtr_t, xte_t = norm(xtr), norm(xte)
    ytr_t, yte_t = torch.from_numpy(ytr), torch.from_numpy(yte)
    model = build(cfg["model"]["layers"], (3, 32, 32))
    whiten_from_data(model, xtr_t[torch.from_numpy(np.random.default_rng(seed).permutation(len(xtr_t))[:5000])])
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
    # kiln's normalisation group: batch-norm shifts (β) only; γ is trained with the weights' rate, without decay
    norm_params = [m.bias for m in model.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]
    ids = {id(p) for p in norm_params}
    trained = [p for p in model.parameters() if p.requires_grad]
    weights = [p for p in trained if id(p) not in ids and p.dim() > 1]
    biases = [p for p in trained if id(p) not in ids and p.dim() <= 1]
    lr, wd = o.get("lr", 0.01), o.get("weight_decay", 0.0)
    bn_scale = o.get("bn_lr_scale", 1.0)
    groups = [dict(params=weights, weight_decay=wd, lr_scale=1.0), dict(params=biases, weight_decay=0.0, lr_scale=1.0),
              dict(params=norm_params, weight_decay=o.get("bn_weight_decay", 0.0), lr_scale=bn_scale)]
    opt = torch.optim.SGD([g for g in groups if g["params"]], lr=lr, momentum=o.get("momentum", 0.0),
                          nesterov=o.get("nesterov", False))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg.get("loss", {}).get("label_smoothing", 0.0))
    epochs = a.epochs or t.get("epochs", 5)
    batch = t.get("batch_size", 64)
    steps_per_epoch = math.ceil(xtr.shape[0] / batch)
    total = epochs * steps_per_epoch
    beta = o.get("ema", 0.0)
    # The EMA averages the trained parameters and batch norm's running statistics alike (kiln's
    # optimizer.ema since the statistics are averaged with the weights: docs/speedrun.md).
    params = [p for p in model.parameters() if p.requires_grad] + \
        [b for n, b in model.named_buffers() if n.endswith(("running_mean", "running_var"))]
    ema = [torch.zeros_like(p) for p in params] if beta > 0 else None
    order_rng = np.random.default_rng(seed)
    coin = torch.from_numpy(np.random.default_rng(seed + 1).random(xtr.shape[0]) < 0.5)
    step, train_seconds = 0, 0.0
    rows = []
    for epoch in range(epochs):
        t0 = time.perf_counter()
        for xb, yb in batches(xtr_t, ytr_t, batch, epoch, d.get("crop_pad", 0),
                              d.get("crop_fill", "black") == "reflect", d.get("alternate_flip", False),
                              d.get("hflip", False), order_rng, coin):
            if a.channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            rate = lr_at(s, lr, step, total) if s.get("name") in ("onecycle", "triangle") else lr
            for g in opt.param_groups:
                g["lr"] = rate * g["lr_scale"]
            loss = loss_fn(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            if ema is not None:
                with torch.no_grad():
                    for e, p in zip(ema, params):
                        e.mul_(beta).add_(p, alpha=1 - beta)
        train_seconds += time.perf_counter() - t0
        if ema is not None:
            live = [p.detach().clone() for p in params]
            with torch.no_grad():
                for e, p in zip(ema, params):
                    p.copy_(e / (1 - beta ** step))
        acc = evaluate(model, xte_t, yte_t, t.get("eval_batch_size", 1000), t.get("eval_flip", False),
                       t.get("eval_translate", 0), a.channels_last)
        if ema is not None:
            with torch.no_grad():
                for l, p in zip(live, params):
                    p.copy_(l)
        rows.append({"epoch": epoch + 1, "train_seconds": round(train_seconds, 2), "test_acc": acc})
        print(f"epoch {epoch + 1:3d}  {train_seconds:8.1f} s  test accuracy {100 * acc:.2f}%  "
              f"(loss {loss.item():.4f})", flush=True)
    print(json.dumps({"framework": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "config": a.config, "channels_last": a.channels_last, "epochs": rows}))


if __name__ == "__main__":
    main()
