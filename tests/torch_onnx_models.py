"""PyTorch models exported with torch.onnx.export, for tests/onnx_torch_test.cpp: the seed
MNIST and CIFAR-10 CNNs (configs/mnist_cnn.toml, configs/cifar10_cnn.toml written in torch,
flattening with x.view(x.size(0), -1) and torch.flatten), an MLP with BatchNorm1d and Dropout,
and a small ResNet with BN whose blocks are kiln's residual layer (an identity skip, and a 1x1
stride-2 projection without bias). Weights are random, BN running statistics non-trivial.

usage: torch_onnx_models.py OUT_DIR
writes, for each NAME: NAME.onnx, NAME.in.f32 (a batch of inputs), NAME.out.f32 (torch's
outputs on it, in eval mode), NAME.shape (the input's dims, one line), and NAME.kiln (the
kiln layer specs of the same architecture, one a line, where the export keeps its layers: not
where BN is folded into the convolution before it), listed in OUT_DIR/models.txt. Then models
kiln cannot take, in OUT_DIR/unsupported.txt: NAME, a tab, what kiln's error must say. And for
tools/torch_state_dict_to_kiln.py: ckpt_NAME.pt (torch.save(model.state_dict())) of the MNIST
CNN and the ResNet, with ckpt_NAME.in.f32 / .out.f32 / .shape as above."""
import os
import sys

import torch
from torch import nn


class MnistCnn(nn.Module):
    """configs/mnist_cnn.toml: conv 16 5x5 pad=2, relu, maxpool 2 (twice), dense 10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 5, padding=2)
        self.conv2 = nn.Conv2d(16, 16, 5, padding=2)
        self.fc = nn.Linear(16 * 7 * 7, 10)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.fc(x.view(x.size(0), -1))  # Shape -> Gather -> Unsqueeze -> Concat -> Reshape


def cifar_cnn():
    """configs/cifar10_cnn.toml, as nn.Sequential (nn.Flatten -> Flatten)."""
    return nn.Sequential(nn.Conv2d(3, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 16, 5, padding=2), nn.ReLU(), nn.Flatten(), nn.Linear(16 * 16 * 16, 10))


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.3),
                         MatMulDense(32, 16), nn.Tanh(), nn.Linear(16, 5))


class MatMulDense(nn.Module):
    """x @ W + b: MatMul then Add (nn.Linear writes Gemm)."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.w = nn.Parameter(torch.randn(n_in, n_out) / n_in ** 0.5)
        self.b = nn.Parameter(torch.randn(n_out) * 0.1)

    def forward(self, x):
        return x @ self.w + self.b


class Block(nn.Module):
    """y = f(x) + P x: kiln's residual layer (P the identity, or a 1x1 convolution without bias)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                                  nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.proj = nn.Conv2d(cin, cout, 1, stride, bias=False) if stride != 1 or cin != cout else None

    def forward(self, x):
        return self.body(x) + (self.proj(x) if self.proj is not None else x)


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.block1 = Block(8, 8, 1)
        self.block2 = Block(8, 16, 2)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        x = self.stem(x)
        x = torch.relu(self.block1(x))
        x = torch.relu(self.block2(x))
        x = torch.nn.functional.adaptive_avg_pool2d(x, 1)  # GlobalAveragePool
        return self.head(torch.flatten(x, 1))


RESBLOCK1 = "residual { conv 8 3x3 pad=1 bias=false; bn; relu; conv 8 3x3 pad=1 bias=false; bn }"
RESBLOCK2 = "residual { conv 16 3x3 stride=2 pad=1 bias=false; bn; relu; conv 16 3x3 pad=1 bias=false; bn }"
SPECS = {  # kiln's twins of the models
    "mnist_cnn": ["conv 16 5x5 pad=2", "relu", "maxpool 2", "conv 16 5x5 pad=2", "relu", "maxpool 2", "dense 10"],
    "cifar10_cnn": ["conv 16 5x5 pad=2", "relu", "maxpool 2", "conv 16 5x5 pad=2", "relu", "dense 10"],
    "mlp": ["flatten", "dense 32", "bn", "relu", "dense 16", "tanh", "dense 5"],
    "resnet": ["conv 8 3x3 pad=1 bias=false", "bn", "relu", RESBLOCK1, "relu", RESBLOCK2, "relu", "gap", "dense 10"],
}

class Rows(nn.Module):
    """A Reshape that is not a flatten of the batch: (N, 2, 4, 4) -> (2N, 16)."""

    def forward(self, x):
        return x.view(x.size(0) * 2, -1)


# Models with what kiln lacks: an operator (Softplus), SiLU (x * sigmoid(x): a branch joined by
# Mul) and a Reshape that mixes samples, with what the error must name.
UNSUPPORTED = [
    ("softplus", lambda: nn.Sequential(nn.Conv2d(1, 2, 3), nn.Softplus()), (1, 1, 6, 6),
     "operator Softplus (node '/1/Softplus') is not supported"),
    ("silu", lambda: nn.Sequential(nn.Conv2d(1, 2, 3), nn.SiLU()), (1, 1, 6, 6), "meet at Mul node"),
    ("rows", lambda: nn.Sequential(nn.Conv2d(1, 2, 3), Rows()), (1, 1, 6, 6), "which is not a flatten of the batch"),
]

# name, model, input shape, opset, export options. training=PRESERVE (on a model in eval mode)
# keeps BatchNormalization nodes; the default (EVAL) folds BN into the convolution before it.
MODELS = [
    ("mnist_cnn", MnistCnn, (5, 1, 28, 28), 13, {}),
    ("cifar10_cnn", cifar_cnn, (4, 3, 32, 32), 17, {}),
    ("mlp", mlp, (6, 1, 8, 8), 14, {}),
    ("resnet", ResNet, (3, 3, 16, 16), 15, {}),
    ("resnet_bn_nodes", ResNet, (3, 3, 16, 16), 16, {"training": torch.onnx.TrainingMode.PRESERVE}),
    ("mnist_cnn_fixed_batch", MnistCnn, (2, 1, 28, 28), 13, {"dynamic": False}),
]


def randomise(model, gen):
    """Random weights at the scale of torch's init, and BN statistics far from (0, 1)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.weight.uniform_(0.5, 1.5, generator=gen)
                m.bias.uniform_(-0.5, 0.5, generator=gen)
                m.running_mean.uniform_(-0.5, 0.5, generator=gen)
                m.running_var.uniform_(0.5, 2.0, generator=gen)


def write(path, tensor):
    with open(path, "wb") as f:
        f.write(tensor.detach().contiguous().numpy().astype("<f4").tobytes())


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    gen = torch.Generator().manual_seed(15)
    torch.manual_seed(15)
    names = []
    for name, make, shape, opset, opts in MODELS:
        opts = dict(opts)
        model = make()
        randomise(model, gen)
        model.eval()
        x = torch.rand(shape, generator=gen)
        with torch.no_grad():
            y = model(x)
        dynamic = opts.pop("dynamic", True)
        axes = {"input": {0: "N"}, "logits": {0: "N"}} if dynamic else None
        torch.onnx.export(model, x, os.path.join(out, name + ".onnx"), opset_version=opset, input_names=["input"],
                          output_names=["logits"], dynamic_axes=axes, **opts)
        write(os.path.join(out, name + ".in.f32"), x)
        write(os.path.join(out, name + ".out.f32"), y)
        with open(os.path.join(out, name + ".shape"), "w") as f:
            f.write(" ".join(str(d) for d in shape) + "\n")
        if name != "resnet":  # BN folded: its convolutions gained a bias
            with open(os.path.join(out, name + ".kiln"), "w") as f:
                f.write("\n".join(SPECS[name.replace("_bn_nodes", "").replace("_fixed_batch", "")]) + "\n")
        names.append(name)
    with open(os.path.join(out, "models.txt"), "w") as f:
        f.write("\n".join(names) + "\n")
    for name, make, shape in [("mnist_cnn", MnistCnn, (3, 1, 28, 28)), ("resnet", ResNet, (2, 3, 16, 16))]:
        model = make()
        randomise(model, gen)
        model.eval()
        x = torch.rand(shape, generator=gen)
        with torch.no_grad():
            y = model(x)
        torch.save(model.state_dict(), os.path.join(out, f"ckpt_{name}.pt"))
        write(os.path.join(out, f"ckpt_{name}.in.f32"), x)
        write(os.path.join(out, f"ckpt_{name}.out.f32"), y)
        with open(os.path.join(out, f"ckpt_{name}.shape"), "w") as f:
            f.write(" ".join(str(d) for d in shape) + "\n")
        with open(os.path.join(out, f"ckpt_{name}.layers"), "w") as f:
            f.write("; ".join(SPECS[name]) + "\n")
    with open(os.path.join(out, "unsupported.txt"), "w") as f:
        for name, make, shape, message in UNSUPPORTED:
            torch.onnx.export(make().eval(), torch.rand(shape), os.path.join(out, name + ".onnx"), opset_version=13)
            f.write(f"{name}\t{message}\n")


if __name__ == "__main__":
    main()
