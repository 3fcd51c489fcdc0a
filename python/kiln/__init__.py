"""kiln from Python: the same C++ core as the kiln command (models from experiment-file layer
lines, its training loop, weights files and trainer), driven from numpy arrays.

    net = kiln.Model(["conv 16 5x5 pad=2", "relu", "maxpool 2", "dense 10"], input_shape=(1, 28, 28))
    history = net.fit(x, y, epochs=3, batch_size=64, optimizer="sgd", lr=0.05, momentum=0.9)
    probs = net.predict(x_test)

Inputs are float32 arrays (N, C, H, W) or (N, features), used as given (no normalisation);
labels are integer arrays (N,). Settings are experiment keys: fit(lr=0.01) is optimizer.lr,
with the same defaults, ranges and errors as an experiment file.
"""
import re

from . import _kiln
from . import layers
from ._progress import ProgressBar
from ._settings import overrides as _overrides
from ._runs import Run, train

__all__ = ["Model", "load", "train", "Run", "gradcheck", "layers", "History", "system_info"]


def system_info():
    """What kiln computes with in this process, as a run's manifest.toml records it: a dict
    of "cpu" (the model), "cores", "threads" (kiln's pool) and "blas" (the OpenBLAS build and
    the kernels it runs; where numpy had loaded OpenBLAS with other kernels than kiln's choice,
    kiln uses a copy of its own, and the string says so)."""
    return _kiln.system_info()

# fit() keyword -> experiment key.
_FIT_KEYS = {
    "epochs": "train.epochs",
    "batch_size": "train.batch_size",
    "eval_batch_size": "train.eval_batch_size",
    "optimizer": "optimizer.name",
    "lr": "optimizer.lr",
    "momentum": "optimizer.momentum",
    "nesterov": "optimizer.nesterov",
    "weight_decay": "optimizer.weight_decay",
    "loss": "loss.name",
    "label_smoothing": "loss.label_smoothing",
    "clip_grad_norm": "train.clip_grad_norm",
    "threads": "train.threads",
    "device": "train.device",
    "seed": "seed",
}


class History:
    """What fit() returns: one dict per epoch (epoch, loss, accuracy, val_loss, val_accuracy,
    lr, seconds) in .epochs, the same as lists per key in .history (Keras-style), and why
    training stopped early in .stopped ("" when it ran every epoch)."""

    def __init__(self, epochs, stopped, interrupted, steps):
        self.epochs = epochs
        self.stopped = stopped
        self.interrupted = interrupted
        self.steps = steps
        keys = epochs[0].keys() if epochs else []
        self.history = {k: [row[k] for row in epochs] for k in keys}

    def __len__(self):
        return len(self.epochs)

    def __getitem__(self, i):
        return self.epochs[i]

    def __repr__(self):
        return f"History({len(self.epochs)} epochs{', ' + self.stopped if self.stopped else ''})"


class Model:
    """A network from experiment-file layer lines for a per-sample input shape."""

    def __init__(self, layers, input_shape, seed=1):
        if isinstance(layers, str) or not all(isinstance(s, str) for s in layers):
            raise ValueError("layers: expected a list of layer lines like ['dense 10'], one string a layer")
        self._m = _kiln.Model(list(layers), _shape(input_shape), _seed(seed))

    @classmethod
    def _wrap(cls, m):
        self = cls.__new__(cls)
        self._m = m
        return self

    @property
    def input_shape(self):
        return tuple(self._m.input_shape)

    @property
    def output_shape(self):
        return tuple(self._m.output_shape)

    @property
    def seed(self):
        return self._m.seed

    @property
    def params(self):
        """Name -> numpy view of each parameter ("0.weight"), writable, into the model's memory."""
        return self._m.params()

    def summary(self, print_table=True):
        """The per-layer table of `kiln summary` (printed, and returned)."""
        table = self._m.summary_table()
        if print_table:
            print(table, end="")
        return table

    def num_parameters(self):
        return self._m.num_parameters()

    def fit(self, x, y, epochs=5, batch_size=64, optimizer=None, lr=None, momentum=None, weight_decay=None,
            schedule=None, validation_data=None, callbacks=None, verbose=True, seed=None, set=None, **settings):
        """Trains with kiln's training loop (the one `kiln train` runs) and returns a History.

        optimizer: "sgd", "adam", "adamw"; lr, momentum, weight_decay: [optimizer] keys;
        schedule: a name ("cosine") or a dict of [schedule] keys ({"name": "exponential",
        "decay": 0.88}); validation_data: (x_val, y_val), evaluated after each epoch;
        callbacks: callables or objects with on_epoch_end(epoch, logs), called after each
        epoch with its row; returning True stops training. Further keywords: nesterov,
        loss, label_smoothing, clip_grad_norm, threads, device, eval_batch_size; set: any
        other experiment keys ({"optimizer.beta2": 0.99}). seed (default: the model's)
        orders the data and keys dropout, as an experiment's seed.
        Ctrl-C stops at the next batch; the weights are those trained so far. Each call
        starts a fresh optimizer and schedule from the current weights. The GIL is released
        while it trains: other threads run, but must not use this model meanwhile.
        """
        given = dict(epochs=epochs, batch_size=batch_size, optimizer=optimizer, lr=lr, momentum=momentum,
                     weight_decay=weight_decay, seed=self.seed if seed is None else seed, **settings)
        keyed = {}
        for name, value in given.items():
            if name not in _FIT_KEYS:
                raise ValueError(f"fit(): unknown argument '{name}'; allowed: {', '.join(sorted(_FIT_KEYS))}, "
                                 "schedule, validation_data, callbacks, verbose, set")
            if value is not None:
                keyed[_FIT_KEYS[name]] = value
        keyed["model.layers"] = self._m.layer_lines()  # the experiment's [model], for its checks
        keyed.update(_schedule_keys(schedule))
        keyed.update(set or {})
        xv = yv = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("validation_data: expected a pair (x_val, y_val)")
            xv, yv = validation_data
        cbs = _callbacks(callbacks)
        bar = ProgressBar(verbose)
        total = keyed["train.epochs"]

        def on_epoch(row):
            bar.epoch_done(row, total)
            stop = False
            for cb in cbs:
                stop = bool(cb(row["epoch"], dict(row))) or stop
            return stop

        try:
            r = _kiln.fit(self._m, x, y, xv, yv, _overrides(keyed), bar, on_epoch)
        except ValueError as e:
            raise ValueError(_in_python_words(str(e))) from None
        if r["stopped"] and verbose:
            import sys
            print(f"kiln: {r['stopped']}", file=sys.stderr)
        return History(list(r["history"]), r["stopped"], r["interrupted"], r["steps"])

    def evaluate(self, x, y, batch_size=1000):
        """{"loss", "accuracy", "confusion"} on (x, y), in eval mode."""
        return self._m.evaluate(x, y, batch_size)

    def predict(self, x, batch_size=1000):
        """Softmax probabilities, (N, classes) float32."""
        return self._m.predict(x, batch_size)

    @property
    def preprocessing(self):
        """What the weights file says about the inputs (a model trained by `kiln train`): the
        dataset, and the normalisation its 8-bit pixels got, x = (pixel / 255 - mean[c]) / std[c];
        predict() and fit() take arrays as given, so normalise them so. A regression on a table
        adds its target column and the target's mean and std (target, target_mean, target_std):
        the model's output y stands for y * target_std + target_mean."""
        return self._m.preprocessing()

    def set_preprocessing(self, dataset, mean, std, class_names=()):
        """Records, for `kiln eval FILE --data DIR` on the saved file, which dataset format the
        model reads and how 8-bit pixels became its inputs (mean and std per input channel:
        [0] and [1] for x = pixel / 255)."""
        self._m.set_preprocessing(str(dataset), [float(v) for v in mean], [float(v) for v in std],
                                  [str(c) for c in class_names])

    def save(self, path):
        """A weights file (kiln's format, as runs' weights.kiln): kiln.load and `kiln eval` read it."""
        self._m.save(str(path))

    def __repr__(self):
        return f"kiln.Model({self._m.layer_lines()}, input_shape={self.input_shape})"


def load(path):
    """The model of a weights file or checkpoint (a run's weights.kiln, or Model.save's)."""
    return Model._wrap(_kiln.Model.load(str(path)))


def gradcheck(layer_or_model, x, y=None):
    """Central-difference check of the backward pass: name -> worst relative error
    |analytic - numeric| / max(|analytic|, |numeric|) over the checked elements (float32:
    around 1e-3 and below is right; a wrong gradient is off by far more).

    A layer: L = sum(y * layer(x)) (y: dL/d(output), default uniform random), with "input"
    for dL/dx. A model: the softmax cross-entropy of model(x) against labels y."""
    if isinstance(layer_or_model, Model):
        if y is None:
            raise ValueError("gradcheck(model, x, y): y, the integer labels, is needed for a model")
        return _kiln.gradcheck_model(layer_or_model._m, x, y)
    if isinstance(layer_or_model, layers.Layer):
        return layer_or_model._l.gradcheck(x, y)
    raise ValueError(f"gradcheck: expected a kiln.Model or a kiln.layers layer, got {type(layer_or_model).__name__}")


def _in_python_words(message):
    """The experiment parser's "--set optimizer.lr=-1: key 'optimizer.lr': ..." as fit(lr=-1)."""
    m = re.match(r"--set ([\w.]+)=(.*?): key '[\w.]+': (.*)", message, re.S)
    if not m:
        return message
    key, value, rest = m.groups()
    arg = {v: k for k, v in _FIT_KEYS.items()}.get(key)
    if arg is None and key.startswith("schedule."):
        return f"fit(schedule={{'{key[9:]}': {value}}}): {rest}"
    return f"fit({arg}={value}): {rest}" if arg else f"fit(set={{'{key}': {value}}}): {rest}"


def _shape(input_shape):
    try:
        dims = [int(d) for d in input_shape]
    except TypeError:
        raise ValueError(f"input_shape: expected a tuple like (1, 28, 28) or (784,), got {input_shape!r}") from None
    return dims


def _seed(seed):
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
    return seed


def _schedule_keys(schedule):
    if schedule is None:
        return {}
    if isinstance(schedule, str):
        return {"schedule.name": schedule}
    if isinstance(schedule, dict):
        return {f"schedule.{k}": v for k, v in schedule.items()}
    raise ValueError(f"schedule: expected a name ('cosine') or a dict of [schedule] keys, got {type(schedule).__name__}")


def _callbacks(callbacks):
    if callbacks is None:
        return []
    if callable(callbacks) or hasattr(callbacks, "on_epoch_end"):
        callbacks = [callbacks]
    out = []
    for cb in callbacks:
        if hasattr(cb, "on_epoch_end"):
            out.append(cb.on_epoch_end)
        elif callable(cb):
            out.append(cb)
        else:
            raise ValueError(f"callbacks: expected callables f(epoch, logs) or objects with on_epoch_end, got {cb!r}")
    return out
