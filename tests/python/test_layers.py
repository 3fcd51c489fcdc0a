"""The course view: single layers against their math written in numpy, and gradient checks."""
import numpy as np
import pytest

import kiln


def test_dense_forward_backward_match_the_math():
    d = kiln.layers.Dense(5, 3)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 5)).astype(np.float32)
    dy = rng.standard_normal((4, 3)).astype(np.float32)
    W, b = d.params["weight"], d.params["bias"]
    assert W.shape == (3, 5) and b.shape == (3,)
    y = d.forward(x)
    np.testing.assert_allclose(y, x @ W.T + b, rtol=1e-5, atol=1e-6)
    dx = d.backward(dy)
    np.testing.assert_allclose(dx, dy @ W, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(d.grads["weight"], dy.T @ x, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(d.grads["bias"], dy.sum(axis=0), rtol=1e-5, atol=1e-6)
    # Views: writing the parameters changes what the layer computes.
    W[...] = 0
    b[...] = 1
    np.testing.assert_array_equal(d.forward(x), np.ones((4, 3), np.float32))


def test_conv_and_relu():
    c = kiln.layers.Conv2d(2, 3, 3, pad=1, image_size=(5, 5))
    x = np.random.default_rng(2).standard_normal((2, 2, 5, 5)).astype(np.float32)
    assert c.forward(x).shape == (2, 3, 5, 5)
    r = kiln.layers.ReLU((3,))
    np.testing.assert_array_equal(r.forward(np.array([[-1, 0, 2]], np.float32)), [[0, 0, 2]])
    np.testing.assert_array_equal(r.backward(np.array([[5, 5, 5]], np.float32)), [[0, 0, 5]])


def test_backward_needs_forward_and_the_right_shape():
    d = kiln.layers.Dense(5, 3)
    with pytest.raises(ValueError, match="call forward"):
        d.backward(np.zeros((4, 3), np.float32))
    d.forward(np.zeros((4, 5), np.float32))
    with pytest.raises(ValueError, match="dy: expected"):
        d.backward(np.zeros((2, 3), np.float32))


def test_gradcheck_per_parameter():
    x = np.random.default_rng(3).standard_normal((4, 2, 6, 6)).astype(np.float32)
    errors = kiln.gradcheck(kiln.layers.Conv2d(2, 3, 3, pad=1, image_size=(6, 6)), x)
    assert set(errors) == {"input", "weight", "bias"}
    assert max(errors.values()) < 1e-2
    m = kiln.Model(["conv 4 3x3 pad=1", "tanh", "avgpool 2", "dense 3"], input_shape=(2, 6, 6))
    errors = kiln.gradcheck(m, x, np.array([0, 1, 2, 1]))
    assert set(errors) == {"0.weight", "0.bias", "3.weight", "3.bias"}
    assert max(errors.values()) < 1e-2
    with pytest.raises(ValueError, match="labels"):
        kiln.gradcheck(m, x)
