"""kiln.Model: building from layer lines, summary, fit with history and callbacks, predict,
evaluate, weights files, and the errors bad arrays and settings give."""
import os
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest

import kiln
from conftest import LAYERS, fit_like_experiment


def net(seed=3):
    return kiln.Model(LAYERS, input_shape=(1, 8, 8), seed=seed)


def test_parameters_and_summary():
    m = net()
    # conv 4 3x3 on 1 channel: 4·9 + 4; dense 4 on 4·4·4: 64·4 + 4.
    assert m.num_parameters() == 40 + 260
    table = m.summary(print_table=False)
    assert "conv 4 3x3 pad=1" in table and "total parameters: 300" in table
    assert m.output_shape == (4,)
    assert set(m.params) == {"0.weight", "0.bias", "3.weight", "3.bias"}


def test_fit_learns_and_reports_every_epoch(data):
    m = net()
    seen = []
    h = fit_like_experiment(m, data, epochs=3, validation_data=(data.x_test, data.y_test),
                            callbacks=[lambda epoch, logs: seen.append((epoch, logs["loss"]))])
    assert len(h) == 3 and [e for e, _ in seen] == [1, 2, 3]
    assert h.history["loss"][2] < h.history["loss"][0]
    assert h.history["val_accuracy"][-1] > 0.9  # the patches are easy to find
    assert h.stopped == "" and h.steps == 3 * 8
    p = m.predict(data.x_test)
    assert p.shape == (64, 4) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)
    ev = m.evaluate(data.x_test, data.y_test)
    assert ev["accuracy"] == pytest.approx(np.mean(p.argmax(axis=1) == data.y_test))
    assert ev["accuracy"] == pytest.approx(h.history["val_accuracy"][-1])
    assert ev["confusion"].sum() == 64


def test_callback_stops_training(data):
    class StopAfterTwo:
        def on_epoch_end(self, epoch, logs):
            return epoch == 2

    h = fit_like_experiment(net(), data, epochs=5, callbacks=StopAfterTwo())
    assert len(h) == 2 and "callback" in h.stopped


def test_ctrl_c_stops_at_the_next_batch(data):
    m = net()
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        h = m.fit(data.x, data.y, epochs=2000, batch_size=8, verbose=False)
    finally:
        timer.cancel()
    assert h.interrupted and "interrupted" in h.stopped
    assert 0 < h.steps < 2000 * 32
    assert np.isfinite(m.predict(data.x[:4])).all()  # the model is usable after it


def test_save_and_load_round_trip(data, tmp_path):
    m = net()
    fit_like_experiment(m, data, epochs=1)
    m.save(tmp_path / "m.kiln")
    back = kiln.load(tmp_path / "m.kiln")
    assert back.input_shape == (1, 8, 8)
    np.testing.assert_array_equal(back.predict(data.x_test), m.predict(data.x_test))


def test_flat_inputs():
    m = kiln.Model(["dense 16", "relu", "dense 3"], input_shape=(5,))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 5)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int32) + (x[:, 1] > 0)
    h = m.fit(x, y, epochs=20, batch_size=10, optimizer="adam", lr=0.01, verbose=False)
    assert h.history["accuracy"][-1] > 0.8


@pytest.mark.parametrize("call, words", [
    (lambda m, d: m.fit(d.x.astype(np.float64), d.y), "x: expected float32 samples of shape (N, 1, 8, 8)"),
    (lambda m, d: m.fit(d.x[:, :, :7], d.y), "got shape (256, 1, 7, 8)"),
    (lambda m, d: m.fit(d.x, d.y[:10]), "y: 10 labels for 256 samples"),
    (lambda m, d: m.fit(d.x, d.y.astype(np.float32)), "y: expected integer labels"),
    (lambda m, d: m.fit(d.x, d.y + 4), "labels must be in [0, 4)"),
    (lambda m, d: m.fit(list(d.x), d.y), "x: expected a numpy array, got list"),
    (lambda m, d: m.fit(d.x, d.y, lr=-1), "fit(lr=-1): -1 is outside the allowed range"),
    (lambda m, d: m.fit(d.x, d.y, optimizer="adm"), "did you mean 'adam'"),
    (lambda m, d: m.fit(d.x, d.y, epochs=0), "fit(epochs=0)"),
    (lambda m, d: m.fit(d.x, d.y, learning_rate=0.1), "unknown argument 'learning_rate'"),
    (lambda m, d: m.fit(d.x, d.y, validation_data=d.x), "validation_data: expected a pair"),
    (lambda m, d: m.predict(d.x[0]), "got shape (1, 8, 8)"),
    (lambda m, d: m.evaluate(d.x, d.y, batch_size=0), "batch_size: expected an integer in [1,"),
    (lambda m, d: kiln.Model(["dense ten"], (4,)), "layer 'dense ten'"),
    (lambda m, d: kiln.Model(["dense 3"], (0, 4)), "input_shape: expected 1 to 3 positive sizes"),
    (lambda m, d: kiln.Model("dense 3", (4,)), "layers: expected a list"),
    (lambda m, d: kiln.load("/nonexistent/w.kiln"), "/nonexistent/w.kiln"),
])
def test_bad_input_is_a_value_error_saying_what_was_expected(data, call, words):
    with pytest.raises(ValueError) as e:
        call(net(), data)
    assert words in str(e.value)


def test_the_gil_is_released_while_predicting_and_training(data):
    # Python code in the main thread keeps running while another thread is inside kiln.
    m = kiln.Model(["conv 16 3x3 pad=1", "relu", "dense 4"], input_shape=(1, 8, 8))
    x = np.repeat(data.x, 8, axis=0)
    for work in (lambda: m.predict(x), lambda: m.fit(x, np.repeat(data.y, 8), epochs=1, verbose=False)):
        t = threading.Thread(target=work)
        ticks = 0
        t.start()
        while t.is_alive():
            ticks += 1
        t.join()
        assert ticks > 1000


def _numpy_openblas():
    """numpy's OpenBLAS (Debian's numpy links libopenblas.so.0, the library kiln shares), or None."""
    import ctypes
    try:
        lib = ctypes.CDLL("libopenblas.so.0", mode=getattr(os, "RTLD_NOLOAD", 4))
    except OSError:
        return None
    return lib if hasattr(lib, "openblas_get_num_threads") else None


def test_numpy_keeps_its_blas_threads(data):
    # kiln runs the OpenBLAS it shares with numpy single-threaded (its own pool threads the
    # GEMMs), but only while it works: numpy's matrix products get their threads back.
    lib = _numpy_openblas()
    if lib is None:
        pytest.skip("numpy is not linked to libopenblas.so.0 here: nothing shared to check")
    lib.openblas_set_num_threads(2)
    assert lib.openblas_get_num_threads() == 2
    m = net()
    fit_like_experiment(m, data, epochs=1)
    m.predict(data.x_test)
    assert lib.openblas_get_num_threads() == 2


def _kilns_kernel_choice():
    """The kernels kiln has OpenBLAS run on this CPU (backend/cpu/blas.h: the machine's preset
    OPENBLAS_CORETYPE, else Cooperlake with AVX512-BF16, SkylakeX with AVX-512), or None where
    kiln leaves the choice to OpenBLAS."""
    if os.environ.get("OPENBLAS_CORETYPE"):
        return os.environ["OPENBLAS_CORETYPE"]
    with open("/proc/cpuinfo") as f:
        flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    return "Cooperlake" if "avx512_bf16" in flags else "SkylakeX" if "avx512f" in flags else None


def test_kiln_runs_its_kernel_choice_when_numpy_loaded_openblas_first():
    # numpy, imported first as in most notebooks, loads OpenBLAS with the kernels OpenBLAS picks
    # from the CPU model, and Debian 12's falls back to its SSE3 ones on Xeons it does not know.
    # kiln must still run the kernels the kiln command runs (else dense layers are 2.6x slower
    # and fit's sums differ from `kiln train`'s), and leave numpy's library as it was.
    want = _kilns_kernel_choice()
    if want is None:
        pytest.skip("no AVX-512 here: kiln leaves the kernel choice to OpenBLAS, as numpy does")
    code = ("import ctypes, numpy\n"
            "lib = ctypes.CDLL('libopenblas.so.0', mode=4)\n"  # RTLD_NOLOAD: numpy's
            "lib.openblas_get_corename.restype = ctypes.c_char_p\n"
            "before = lib.openblas_get_corename()\n"
            "import kiln\n"
            "print(kiln.system_info()['blas'])\n"
            "assert lib.openblas_get_corename() == before, 'numpy kernels changed'\n")
    if _numpy_openblas() is None:
        pytest.skip("numpy is not linked to libopenblas.so.0 here: nothing loaded before kiln")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert f"(kernels: {want})".lower() in out.stdout.lower(), out.stdout
