"""kiln layer specs -> the PyTorch module that computes the same function: the one translation
used by the benchmarks' PyTorch twins (bench/torch_speed.py, bench/torch_speedrun.py) and the
state_dict converter (tools/torch_state_dict_to_kiln.py). Shapes are inferred as kiln infers
them, by running the layers built so far on one zero sample.

    twin(["conv 16 5x5 pad=2", "relu", "maxpool 2", "dense 10"], (1, 28, 28))
    twin(split_specs("conv 8 3x3 pad=1; residual { conv 8 3x3 pad=1; relu }"), (1, 8, 8))

torch is imported on first use, so that the scripts can print --help without it.
"""

SUPPORTED = ("conv, whiten, dense, bn, relu, leakyrelu, gelu, tanh, sigmoid, scale, maxpool, avgpool, gap, flatten, "
             "dropout, residual { ... }")


class UnknownLayer(ValueError):
    pass


def split_specs(text):
    """'a; residual { b; c }; d' -> ['a', 'residual { b; c }', 'd'] (braces nest)."""
    out, depth, cur = [], 0, ""
    for ch in text:
        depth += ch == "{"
        depth -= ch == "}"
        if ch == ";" and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def size(text):
    """'5x5' -> (5, 5); '2' -> (2, 2)."""
    a, _, b = text.partition("x")
    return (int(a), int(b or a))


def twin(specs, in_shape, inplace=False):
    """An nn.Sequential of the specs for samples of in_shape (C, H, W) or (F,). inplace: ReLUs
    that overwrite their input (faster; never inside a residual body, whose input the skip
    still needs). Raises UnknownLayer for a layer with no counterpart here."""
    import torch
    from torch import nn

    class Residual(nn.Module):
        def __init__(self, body, proj):
            super().__init__()
            self.body, self.proj = body, proj

        def forward(self, x):
            return self.body(x) + (self.proj(x) if self.proj is not None else x)

    class Scale(nn.Module):  # y = F·x, as kiln's scale layer
        def __init__(self, factor):
            super().__init__()
            self.factor = factor

        def forward(self, x):
            return x * self.factor

    def out_shape(mods, shape):
        # One sample through the modules so far, in eval mode (batch norm then neither needs a
        # batch nor moves its running statistics), and back to training mode after: a module is
        # built in training mode, and eval() would leave batch norm normalising every training
        # batch by its initial statistics (0 and 1), i.e. not at all.
        if not mods:
            return tuple(shape)
        seq = nn.Sequential(*mods)
        with torch.no_grad():
            out = seq.eval()(torch.zeros(1, *shape)).shape[1:]
        seq.train()
        return tuple(out)

    mods = []
    for spec in specs:
        cur = out_shape(mods, in_shape)
        head = spec.split("{")[0].split()
        name, pos = head[0], [t for t in head[1:] if "=" not in t]
        opt = dict(t.split("=", 1) for t in head[1:] if "=" in t)
        if name == "residual":
            body = twin(split_specs(spec[spec.index("{") + 1:spec.rindex("}")]), cur)
            after = out_shape([body], cur)
            proj = None
            if pos == ["proj"] or after != cur:  # kiln's projection: a 1x1 conv without bias
                proj = nn.Conv2d(cur[0], after[0], 1, cur[1] // after[1], bias=False)
            mods.append(Residual(body, proj))
        elif name == "conv":
            r, s = size(pos[1])
            conv = nn.Conv2d(cur[0], int(pos[0]), (r, s), int(opt.get("stride", 1)), int(opt.get("pad", 0)),
                             bias=opt.get("bias", "true") == "true")
            if opt.get("dirac", "false") == "true":  # kiln's dirac=true: the first min(C, K) filters the identity
                with torch.no_grad():
                    nn.init.dirac_(conv.weight[:cur[0]])
            mods.append(conv)
        elif name == "whiten":
            # kiln's frozen whitening convolution: 2·C·R·S filters, no bias, set from data by
            # whiten_from_data() (bench/torch_speedrun.py), never trained.
            r, s = size(pos[0])
            conv = nn.Conv2d(cur[0], 2 * cur[0] * r * s, (r, s), bias=False)
            conv.weight.requires_grad_(False)
            conv.whiten_eps = float(opt.get("eps", 5e-4))
            mods.append(conv)
        elif name in ("maxpool", "avgpool"):
            k = size(pos[0])[0]
            mods.append((nn.MaxPool2d if name == "maxpool" else nn.AvgPool2d)(k, int(opt.get("stride", k))))
        elif name == "dense":
            if len(cur) > 1:
                mods.append(nn.Flatten())
                cur = (int(torch.tensor(cur).prod()),)
            mods.append(nn.Linear(cur[0], int(pos[0]), bias=opt.get("bias", "true") == "true"))
        elif name == "flatten":
            mods.append(nn.Flatten())
        elif name == "bn":
            bn = (nn.BatchNorm2d if len(cur) == 3 else nn.BatchNorm1d)(
                cur[0], eps=float(opt.get("eps", 1e-5)), momentum=float(opt.get("momentum", 0.1)))
            if opt.get("scale", "true") == "false":  # kiln's fixed γ = 1
                bn.weight.requires_grad_(False)
            mods.append(bn)
        elif name == "relu":
            mods.append(nn.ReLU(inplace=inplace))
        elif name == "leakyrelu":
            mods.append(nn.LeakyReLU(float(pos[0]) if pos else 0.01, inplace=inplace))
        elif name == "gelu":
            mods.append(nn.GELU())  # the erf form, as kiln's
        elif name == "tanh":
            mods.append(nn.Tanh())
        elif name == "sigmoid":
            mods.append(nn.Sigmoid())
        elif name == "scale":
            mods.append(Scale(float(pos[0]) if pos else float(opt.get("factor", 1.0))))
        elif name == "dropout":
            mods.append(nn.Dropout(float(pos[0]) if pos else 0.5))
        elif name == "gap":
            mods += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        else:
            raise UnknownLayer(f"layer '{spec}' has no PyTorch counterpart here (supported: {SUPPORTED})")
    return nn.Sequential(*mods)
