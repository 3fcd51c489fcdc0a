"""The progress bar of fit(): one line rewritten in a terminal, a display that updates in
Jupyter, and nothing but the epoch lines where output is neither (a log file)."""
import sys
import time


def _in_notebook():
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except AttributeError:
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _rate(v):
    return f"{v / 1000:.1f}k" if v >= 1000 else f"{v:.0f}"


class ProgressBar:
    """progress(epoch, epochs, batch, batches, loss, acc, img_per_s) from the training loop;
    epoch_done(row) after each epoch."""

    width = 30

    def __init__(self, verbose=True, stream=None, lines=None):
        # As `kiln train`: the bar on stderr, the epoch lines on stdout (given a stream: both there).
        self.verbose = verbose
        self.stream = stream or sys.stderr
        self.lines = lines or stream or sys.stdout
        self.notebook = _in_notebook()
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.handle = None
        self.started = time.monotonic()

    def _line(self, epoch, epochs, batch, batches, loss, acc, rate):
        done = int(self.width * batch / max(batches, 1))
        bar = "#" * done + "." * (self.width - done)
        return (f"epoch {epoch}/{epochs} [{bar}] {batch}/{batches}  loss {loss:.4f}  "
                f"acc {100 * acc:.2f}%  {_rate(rate)} img/s")

    def __call__(self, epoch, epochs, batch, batches, loss, acc, rate):
        if not self.verbose:
            return
        line = self._line(epoch, epochs, batch, batches, loss, acc, rate)
        if self.notebook:
            from IPython.display import display
            if self.handle is None:
                self.handle = display({"text/plain": line}, raw=True, display_id=True)
            else:
                self.handle.update({"text/plain": line}, raw=True)
        elif self.tty:
            self.stream.write("\r" + line)
            self.stream.flush()

    def epoch_done(self, row, epochs):
        if not self.verbose:
            return
        if self.tty and not self.notebook:
            self.stream.write("\r\033[K")
            self.stream.flush()
        self.handle = None
        val = ""
        if "val_loss" in row:
            val = f"  val loss {row['val_loss']:.4f} acc {100 * row['val_accuracy']:.2f}%"
        self.lines.write(f"epoch {row['epoch']:3d}/{epochs}  loss {row['loss']:.4f} acc {100 * row['accuracy']:.2f}%"
                         f"{val}  lr {row['lr']:.3g}  {row['seconds']:.1f}s\n")
        self.lines.flush()
