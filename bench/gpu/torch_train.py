#!/usr/bin/env python3
"""PyTorch twin of `kiln train` for the GPU comparison: whole epochs of one shipped experiment.

    torch_train.py CONFIG [--device cuda] [--epochs N] [--batch N]
                   [--mode eager|fp32|tf32|compile|bf16] [--data DIR]

The network, optimizer and data come from the experiment file as bench/torch_speed.py
translates them; the learning-rate schedule is kiln's (src/optim/schedule.h), applied per step;
augmentation (random crop with padding, horizontal flip) is done on the device, as kiln's
loader does it on the CPU. The whole dataset is held on the device, normalised per channel
from the training set. Modes: eager with PyTorch's defaults (TF32 convolutions, fp32 matrix
products); fp32 (TF32 off everywhere); tf32 (TF32 on everywhere); torch.compile of the model;
bf16 autocast with channels-last (fp32 master weights). Prints one JSON line per epoch and a last one with the
totals: epoch seconds (training only, the device synchronised), images/s, test accuracy.
"""
import argparse
import json
import math
import os
import sys
import time
import tomllib

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import torch_speed  # noqa: E402  (the layer and optimizer translations)


def schedule(cfg, epochs, batches):
    """kiln's Schedule::lr(t, B) (src/optim/schedule.cpp) as a function of the step t."""
    s, o = cfg.get("schedule", {}), cfg.get("optimizer", {})
    name, lr = s.get("name", "constant"), o.get("lr", 0.01)
    B, T = max(batches, 1), epochs * max(batches, 1)

    def cosine(start, stop, frac):
        return stop + (start - stop) * (1 + math.cos(math.pi * min(max(frac, 0.0), 1.0))) / 2

    def rate(t):
        e = t // B
        if name == "onecycle":
            peak = s.get("max_lr", 0) or lr
            start = peak / s.get("div_factor", 25)
            end = start / s.get("final_div_factor", 1e4)
            up, last = s.get("pct_start", 0.3) * T - 1, T - 1
            if t <= up:
                return cosine(start, peak, t / up if up > 0 else 1)
            return cosine(peak, end, (t - up) / (last - up) if last > up else 1)
        r = lr
        if name == "step":
            r *= s.get("gamma", 0.1) ** (e // s.get("step_epochs", 10))
        elif name == "exponential":
            r *= s.get("decay", 0.88) ** e
        elif name == "cosine":
            r = cosine(lr, s.get("min_lr", 0), t / T)
        W = s.get("warmup_epochs", 0) * B
        if W > 0 and t < W:
            r *= (t + 1) / W
        return r

    return rate


def augment(x, crop_pad, hflip):
    """Random crop of the zero-padded batch back to its size, and a random horizontal flip."""
    n, _, h, w = x.shape
    if crop_pad > 0:
        p = F.pad(x, (crop_pad, crop_pad, crop_pad, crop_pad))
        oy = torch.randint(0, 2 * crop_pad + 1, (n, 1), device=x.device)
        ox = torch.randint(0, 2 * crop_pad + 1, (n, 1), device=x.device)
        rows = (torch.arange(h, device=x.device) + oy)[:, None, :, None].expand(n, x.shape[1], h, w + 2 * crop_pad)
        p = p.gather(2, rows)
        cols = (torch.arange(w, device=x.device) + ox)[:, None, None, :].expand(n, x.shape[1], h, w)
        x = p.gather(3, cols)
    if hflip:
        flip = torch.rand(n, device=x.device) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
    return x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--epochs", type=int, default=0)
    ap.add_argument("--batch", type=int, default=0)
    ap.add_argument("--mode", default="eager", choices=["eager", "fp32", "tf32", "compile", "bf16"])
    ap.add_argument("--data", default="", help="data directory (default: the experiment's)")
    a = ap.parse_args()
    with open(a.config, "rb") as f:
        cfg = tomllib.load(f)
    if a.data:
        cfg.setdefault("data", {})["dir"] = a.data
    d, t = cfg.get("data", {}), cfg.get("train", {})
    epochs = a.epochs or t.get("epochs", 1)
    B = a.batch or t.get("batch_size", 64)
    dev = torch.device(a.device)
    torch.manual_seed(cfg.get("seed", 1))
    torch.backends.cudnn.benchmark = True
    if a.mode in ("fp32", "tf32"):
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = a.mode == "tf32"

    x8, y = torch_speed.load(cfg, True)
    xt8, yt = torch_speed.load(cfg, False)
    x = torch.from_numpy(x8.copy()).to(dev).float() / 255
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    std = x.std(dim=(0, 2, 3), keepdim=True, unbiased=False)
    x = (x - mean) / std
    xt = (torch.from_numpy(xt8.copy()).to(dev).float() / 255 - mean) / std
    y, yt = torch.from_numpy(y).to(dev), torch.from_numpy(yt).to(dev)

    model = torch_speed.build(cfg["model"]["layers"], x.shape[1:]).to(dev)
    fmt = torch.channels_last if a.mode == "bf16" else torch.contiguous_format
    model = model.to(memory_format=fmt)
    opt = torch_speed.optimizer(cfg, model.parameters())
    batches = len(x) // B  # full batches, as kiln_speed times them; kiln trains the short last one too
    rate = schedule(cfg, epochs, batches)
    run = torch.compile(model) if a.mode == "compile" else model
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)

    def step(xb, yb):
        opt.zero_grad(set_to_none=True)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=a.mode == "bf16"):
            loss = F.cross_entropy(run(xb), yb)
        loss.backward()
        opt.step()
        return loss

    def test_accuracy():
        model.eval()
        correct = 0
        with torch.no_grad(), torch.autocast(dev.type, dtype=torch.bfloat16, enabled=a.mode == "bf16"):
            for i in range(0, len(xt), 1000):
                correct += (run(xt[i:i + 1000].contiguous(memory_format=fmt)).argmax(1) == yt[i:i + 1000]).sum().item()
        model.train()
        return correct / len(xt)

    # Warm-up on a copy of the state (compilation, cuDNN's algorithm search), then start afresh.
    state = ({k: v.clone() for k, v in model.state_dict().items()}, opt.state_dict())
    t0 = time.perf_counter()
    for i in range(3):
        step(x[i * B:(i + 1) * B].contiguous(memory_format=fmt), y[i * B:(i + 1) * B])
    sync()
    warmup = time.perf_counter() - t0
    model.load_state_dict(state[0])
    opt.load_state_dict(state[1])

    total, t = 0.0, 0
    for epoch in range(1, epochs + 1):
        perm = torch.randperm(len(x), device=dev)
        sync()
        t0 = time.perf_counter()
        for b in range(batches):
            for g in opt.param_groups:
                g["lr"] = rate(t)
            idx = perm[b * B:(b + 1) * B]
            xb = augment(x[idx], d.get("crop_pad", 0), d.get("hflip", False)).contiguous(memory_format=fmt)
            step(xb, y[idx])
            t += 1
        sync()
        secs = time.perf_counter() - t0
        total += secs
        acc = test_accuracy()
        print(json.dumps({"epoch": epoch, "seconds": round(secs, 4), "images_per_s": round(batches * B / secs, 1),
                          "test_acc": acc}), flush=True)
    print(json.dumps({"framework": "pytorch", "config": a.config, "mode": a.mode, "batch": B, "epochs": epochs,
                      "seconds": round(total, 4), "images_per_s": round(epochs * batches * B / total, 1),
                      "test_acc": acc, "warmup_seconds": round(warmup, 2), "torch": torch.__version__,
                      "cudnn": torch.backends.cudnn.version(), "tf32_conv": torch.backends.cudnn.allow_tf32,
                      "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
                      "device": torch.cuda.get_device_name() if dev.type == "cuda" else "cpu"}), flush=True)


if __name__ == "__main__":
    main()
