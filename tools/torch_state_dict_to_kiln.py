#!/usr/bin/env python3
"""PyTorch checkpoint -> kiln weights file.

    tools/torch_state_dict_to_kiln.py CHECKPOINT.pt EXPERIMENT.toml OUT.kiln
    tools/torch_state_dict_to_kiln.py CHECKPOINT.pt --layers "conv 16 5x5 pad=2; relu; maxpool 2; dense 10" \
        --input 1,28,28 OUT.kiln

CHECKPOINT.pt is what `torch.save(model.state_dict(), path)` writes (a dict {"state_dict": ...}
or {"model": ...} around it is also taken). The architecture comes from the kiln layer specs:
the [model] layers of an experiment file (its input shape from [data] dataset: mnist and
fashion-mnist 1x28x28, cifar10 3x32x32; or --input), or --layers. OUT.kiln is the weights
format of docs/formats.md: `kiln eval OUT.kiln --data DIR`, `kiln predict OUT.kiln FILE...` and
`kiln train EXPERIMENT.toml --init OUT.kiln` read it.

How: the script builds the torch twin of the specs (every kiln layer that has a torch
counterpart: conv, dense, bn, relu, leakyrelu, tanh, sigmoid, maxpool, avgpool, gap, flatten,
dropout, residual [proj] { ... }), loads the checkpoint's tensors into it, exports it with
torch.onnx.export (BatchNormalization kept as its own nodes, so the layers stay the specs'),
and has kiln's ONNX importer write the weights (`kiln import`). So the mapping of every tensor
(Conv/Linear layouts, BN running statistics, residual projections) is written once, in
kiln's importer, and tested there against torch's outputs.

Tensors are matched to the twin's in order (torch's state_dict order: the modules' order of
registration, for a model written layer by layer the order of the forward pass), each shape
checked, BN's num_batches_tracked ignored; --by-name requires the twin's own names instead
("0.weight", "3.body.0.bias", ...). A mismatch is an error naming both tensors and shapes.

Needs torch (Debian python3-torch) and the kiln command (--kiln PATH, else $KILN, else `kiln`
on PATH, else build/*/kiln of this checkout).
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kiln_twin import UnknownLayer, split_specs, twin  # noqa: E402

INPUTS = {"mnist": (1, 28, 28), "fashion-mnist": (1, 28, 28), "fashion": (1, 28, 28), "cifar10": (3, 32, 32)}


def fail(msg):
    sys.exit(f"torch_state_dict_to_kiln: {msg}")


def load_state_dict(path):
    import torch
    sd = torch.load(path, map_location="cpu")
    if isinstance(sd, dict):
        for key in ("state_dict", "model", "model_state_dict"):
            if key in sd and isinstance(sd[key], dict):
                sd = sd[key]
                break
    if not isinstance(sd, dict) or not all(hasattr(v, "shape") for v in sd.values()):
        fail(f"{path}: not a state_dict (a dict of tensors, as torch.save(model.state_dict(), path) writes)")
    return sd


def matched(model, sd, by_name, path):
    """The checkpoint's tensors under the twin's names."""
    want = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    have = {k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}
    if by_name:
        missing, extra = sorted(set(want) - set(have)), sorted(set(have) - set(want))
        if missing or extra:
            fail(f"{path}: names differ from the twin's: missing {missing}, unexpected {extra}")
        pairs = [(k, k) for k in want]
    else:
        if len(want) != len(have):
            fail(f"{path}: {len(have)} tensors, the layers take {len(want)}: "
                 f"{[f'{k} {tuple(v.shape)}' for k, v in want.items()]}")
        pairs = list(zip(want, have))
    out = {}
    for mine, theirs in pairs:
        if tuple(want[mine].shape) != tuple(have[theirs].shape):
            fail(f"{path}: tensor '{theirs}' is {tuple(have[theirs].shape)}, the layers' '{mine}' is {tuple(want[mine].shape)}")
        out[mine] = have[theirs].detach().float()
    return out


def kiln_command(given):
    if given:
        return given
    for c in (os.environ.get("KILN"), shutil.which("kiln")):
        if c and os.access(c, os.X_OK):
            return c
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    built = sorted(glob.glob(os.path.join(here, "build", "*", "kiln")), key=os.path.getmtime)
    if built:
        return built[-1]
    fail("no kiln command: give --kiln PATH or set KILN")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], epilog="see the docstring of this file for details",
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", help="torch.save(model.state_dict(), path)'s file")
    p.add_argument("experiment", nargs="?", help="a kiln experiment file (its [model] layers and [data] dataset)")
    p.add_argument("out", help="the kiln weights file to write")
    p.add_argument("--layers", help="kiln layer specs separated by ';' (instead of an experiment file)")
    p.add_argument("--input", help="the per-sample input shape, C,H,W or F (default: from the experiment's dataset)")
    p.add_argument("--dataset", help="the dataset format recorded in the weights (default: the experiment's)")
    p.add_argument("--by-name", action="store_true", help="match tensors by the twin's names, not by order")
    p.add_argument("--kiln", help="the kiln command")
    a = p.parse_args()
    dataset = a.dataset
    if a.experiment:
        with open(a.experiment, "rb") as f:
            exp = tomllib.load(f)
        specs = exp.get("model", {}).get("layers")
        if not specs:
            fail(f"{a.experiment}: no [model] layers")
        dataset = dataset or exp.get("data", {}).get("dataset", "mnist")
    elif a.layers:
        specs = split_specs(a.layers)
    else:
        fail("give an experiment file or --layers")
    if a.input:
        shape = tuple(int(v) for v in re.split(r"[,x]", a.input))
    elif dataset in INPUTS:
        shape = INPUTS[dataset]
    else:
        fail(f"the input shape of dataset '{dataset}' is not known here: give --input C,H,W")

    import torch
    try:
        model = twin(specs, shape)
    except UnknownLayer as e:
        fail(str(e))
    model.load_state_dict(matched(model, load_state_dict(a.checkpoint), a.by_name, a.checkpoint), strict=False)
    model.eval()
    with tempfile.TemporaryDirectory() as tmp:
        onnx = os.path.join(tmp, "model.onnx")
        torch.onnx.export(model, torch.zeros(2, *shape), onnx, opset_version=13, input_names=["input"],
                          output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                          training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
        cmd = [kiln_command(a.kiln), "import", onnx, a.out] + (["--dataset", dataset] if dataset else [])
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"{' '.join(cmd)}: {r.stderr.strip()}")
    print(f"{a.out}: kiln weights of {a.checkpoint} ({len(specs)} layers, input {shape})")


if __name__ == "__main__":
    main()
