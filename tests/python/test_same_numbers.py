"""The Python module is the CLI's core: fit() ends with the weights `kiln train` ends with on
the same data, seed and settings (bit for bit); kiln.train runs the CLI's trainer and kiln.Run
reads its folder; weights files go both ways; summary() is `kiln summary`'s table."""
import os

import numpy as np
import pytest

import kiln
from conftest import LAYERS, experiment, fit_like_experiment, kiln_cli, run_cli


def assert_same_weights(a, b):
    pa, pb = a.params, b.params
    assert set(pa) == set(pb)
    for name in pa:
        assert np.array_equal(pa[name], pb[name]), name


def test_fit_ends_with_the_trainers_weights_bit_for_bit(data, tmp_path):
    run_dir = kiln.train(experiment(data, tmp_path / "exp.toml"), runs_dir=tmp_path / "runs", progress=False)
    trained = kiln.load(os.path.join(run_dir, "weights.kiln"))
    net = kiln.Model(LAYERS, input_shape=(1, 8, 8), seed=3)
    fit_like_experiment(net, data, epochs=2)
    assert_same_weights(trained, net)
    assert trained.preprocessing["dataset"] == "idx" and trained.preprocessing["mean"] == [0.0]
    # A change of seed is a change of numbers: the check can fail.
    other = kiln.Model(LAYERS, input_shape=(1, 8, 8), seed=4)
    fit_like_experiment(other, data, epochs=2)
    assert not np.array_equal(other.params["3.weight"], net.params["3.weight"])

    run = kiln.Run(run_dir)
    assert [row["epoch"] for row in run.metrics] == [1, 2]
    assert run.config["seed"] == 3 and run.config["optimizer"]["name"] == "sgd"
    assert run.config["model"]["layers"] == LAYERS
    ev = run.evaluate()
    assert ev["confusion"].shape == (4, 4) and ev["confusion"].sum() == 64
    assert ev["accuracy"] == pytest.approx(run.metrics[-1]["test_acc"])
    # The run's test accuracy is fit's model on the same test images.
    assert net.evaluate(data.x_test, data.y_test)["accuracy"] == pytest.approx(ev["accuracy"])


def test_train_takes_overrides_and_refuses_bad_ones(data, tmp_path):
    cfg = experiment(data, tmp_path / "exp.toml")
    run_dir = kiln.train(cfg, set={"train.epochs": 1, "optimizer.lr": 0.01}, runs_dir=tmp_path / "runs", progress=False)
    run = kiln.Run(run_dir)
    assert len(run.metrics) == 1 and run.config["optimizer"]["lr"] == 0.01
    with pytest.raises(ValueError, match="train.epochs"):
        kiln.train(cfg, set={"train.epochs": -1}, runs_dir=tmp_path / "runs")
    with pytest.raises(ValueError, match="not a run folder"):
        kiln.Run(tmp_path)


@pytest.mark.skipif(kiln_cli() is None, reason="no kiln command (KILN_CLI)")
def test_the_kiln_command_trains_the_same_weights_and_reads_fits_files(data, tmp_path):
    cfg = experiment(data, tmp_path / "exp.toml")
    run_cli("train", str(cfg), "--runs", str(tmp_path / "runs"), "--no-progress")
    (run_dir,) = (tmp_path / "runs").iterdir()
    net = kiln.Model(LAYERS, input_shape=(1, 8, 8), seed=3)
    fit_like_experiment(net, data, epochs=2)
    assert_same_weights(kiln.load(run_dir / "weights.kiln"), net)
    assert net.summary(print_table=False) in run_cli("summary", str(cfg))
    net.set_preprocessing("idx", mean=[0], std=[1])  # x = pixel / 255, as conftest made them
    net.save(tmp_path / "fit.kiln")
    out = run_cli("eval", str(tmp_path / "fit.kiln"), "--data", data.dir)
    acc = net.evaluate(data.x_test, data.y_test)["accuracy"]
    assert f"{100 * acc:.2f}%" in out


def test_ctrl_c_in_train_saves_a_checkpoint_and_python_gets_its_handler_back(data, tmp_path):
    import signal
    import threading
    import time

    cfg = experiment(data, tmp_path / "exp.toml", epochs=5000)
    timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt, match="checkpoint saved"):
            kiln.train(cfg, runs_dir=tmp_path / "runs", progress=False)
    finally:
        timer.cancel()
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert (run_dir / "checkpoint.kiln").exists() and not (run_dir / "weights.kiln").exists()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)
