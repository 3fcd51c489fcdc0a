"""Layers one at a time, for seeing the math: forward(x), backward(dy) returning dL/dx, and
the parameters and their gradients as numpy views (.params, .grads). Each is the layer the
experiment-file line of the same meaning builds, on a one-layer kiln model.

    d = kiln.layers.Dense(5, 3)
    y = d.forward(x)            # x: (N, 5) float32
    dx = d.backward(dy)         # dy: (N, 3); d.grads["weight"] is dL/dW of this backward
"""
from . import _kiln

__all__ = ["Layer", "Dense", "Conv2d", "MaxPool2d", "ReLU", "Tanh", "Sigmoid", "Flatten", "Dropout", "BatchNorm"]


class Layer:
    """A layer from its spec line ("conv 16 5x5 pad=2") for a per-sample input shape."""

    def __init__(self, spec, input_shape, seed=1):
        self._l = _kiln.Layer(spec, [int(d) for d in input_shape], seed)
        self.input_shape = tuple(int(d) for d in input_shape)

    def forward(self, x):
        return self._l.forward(x)

    def backward(self, dy):
        """dL/dx of the last forward for dL/dy = dy; .grads become this backward's dL/dθ."""
        return self._l.backward(dy)

    __call__ = forward

    @property
    def params(self):
        return self._l.params

    @property
    def grads(self):
        return self._l.grads

    @property
    def spec(self):
        return self._l.spec

    def __repr__(self):
        return f"kiln.layers.Layer({self.spec!r}, input_shape={self.input_shape})"


class Dense(Layer):
    def __init__(self, in_features, out_features, bias=True, seed=1):
        super().__init__(f"dense {int(out_features)}" + ("" if bias else " bias=false"), (in_features,), seed)


class Conv2d(Layer):
    """Conv2d(in_channels, out_channels, kernel_size, stride=1, pad=0, image_size=(H, W))."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, pad=0, image_size=(28, 28), bias=True, seed=1):
        k = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size, kernel_size)
        spec = f"conv {int(out_channels)} {int(k[0])}x{int(k[1])} stride={int(stride)} pad={int(pad)}"
        super().__init__(spec + ("" if bias else " bias=false"), (in_channels, *image_size), seed)


class MaxPool2d(Layer):
    def __init__(self, kernel_size, input_shape, stride=None):
        super().__init__(f"maxpool {int(kernel_size)}" + (f" stride={int(stride)}" if stride else ""), input_shape)


class ReLU(Layer):
    def __init__(self, input_shape):
        super().__init__("relu", input_shape)


class Tanh(Layer):
    def __init__(self, input_shape):
        super().__init__("tanh", input_shape)


class Sigmoid(Layer):
    def __init__(self, input_shape):
        super().__init__("sigmoid", input_shape)


class Flatten(Layer):
    def __init__(self, input_shape):
        super().__init__("flatten", input_shape)


class Dropout(Layer):
    def __init__(self, p, input_shape, seed=1):
        super().__init__(f"dropout {float(p)}", input_shape, seed)


class BatchNorm(Layer):
    def __init__(self, input_shape):
        super().__init__("bn", input_shape)
