"""tools/kiln_twin.py, the PyTorch translation of kiln's layer lines that the benchmarks' twins
train (bench/torch_speed.py, bench/torch_speedrun.py). Needs PyTorch (python3-torch)."""
import os
import sys

import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed (apt-get install python3-torch): the twin is not tested")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
from kiln_twin import twin  # noqa: E402


def test_the_twin_is_built_in_training_mode():
    # Measuring each layer's output shape runs the modules built so far; it must not leave them
    # in eval mode, where batch norm normalises with its initial running statistics (0 and 1:
    # no normalisation at all) and stops gathering new ones. Before this test, every twin trained
    # its first epoch that way: the speed-run twin diverged (loss NaN) and the speed benchmarks
    # timed eval-mode batch norm in "training".
    model = twin(["conv 4 3x3 pad=1", "bn", "gelu", "conv 4 3x3 pad=1", "bn scale=false", "dropout 0.5",
                  "flatten", "dense 3"], (1, 6, 6))
    assert all(m.training for m in model.modules())
    x = torch.randn(8, 1, 6, 6) * 5 + 3
    bn = model[1]
    before = bn.running_mean.clone()
    model(x)  # a training-mode pass moves them towards this batch's statistics
    assert not torch.equal(bn.running_mean, before)


def test_measuring_shapes_does_not_move_running_statistics():
    model = twin(["conv 2 3x3", "bn", "conv 2 3x3", "bn", "flatten", "dense 2"], (1, 8, 8))
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            assert torch.equal(m.running_mean, torch.zeros(2)) and torch.equal(m.running_var, torch.ones(2))
            assert int(m.num_batches_tracked) == 0
