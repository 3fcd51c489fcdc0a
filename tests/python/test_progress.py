"""fit()'s progress bar: one line rewritten in a terminal, only epoch lines elsewhere."""
import io

from kiln._progress import ProgressBar


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_terminal_rewrites_one_line_then_prints_the_epoch():
    out = Tty()
    bar = ProgressBar(True, out)
    bar(1, 3, 5, 10, 0.5, 0.25, 1234.0)
    bar(1, 3, 10, 10, 0.4, 0.5, 2345.0)
    bar.epoch_done({"epoch": 1, "loss": 0.4, "accuracy": 0.5, "lr": 0.05, "seconds": 1.5}, 3)
    text = out.getvalue()
    assert text.count("\r") == 3 and "5/10" in text and "10/10" in text and "2.3k img/s" in text
    assert text.endswith("epoch   1/3  loss 0.4000 acc 50.00%  lr 0.05  1.5s\n")


def test_a_log_file_gets_epoch_lines_only_and_quiet_gets_nothing():
    out = io.StringIO()
    bar = ProgressBar(True, out)
    bar(1, 1, 5, 10, 0.5, 0.25, 10.0)
    bar.epoch_done({"epoch": 1, "loss": 0.4, "accuracy": 0.5, "val_loss": 0.3, "val_accuracy": 0.75,
                    "lr": 0.05, "seconds": 1.0}, 1)
    assert out.getvalue() == "epoch   1/1  loss 0.4000 acc 50.00%  val loss 0.3000 acc 75.00%  lr 0.05  1.0s\n"
    quiet = io.StringIO()
    ProgressBar(False, quiet).epoch_done({"epoch": 1, "loss": 0, "accuracy": 0, "lr": 0, "seconds": 0}, 1)
    assert quiet.getvalue() == ""


def test_in_jupyter_one_display_is_updated(monkeypatch):
    # A stand-in for IPython in a notebook kernel: display(..., display_id=True) returns a handle.
    import sys
    import types

    shown = []

    class Handle:
        def update(self, obj, raw):
            shown.append(("update", obj["text/plain"]))

    def display(obj, raw, display_id):
        shown.append(("display", obj["text/plain"]))
        return Handle()

    class ZMQInteractiveShell:
        pass

    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: ZMQInteractiveShell()
    ipython_display = types.ModuleType("IPython.display")
    ipython_display.display = display
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", ipython_display)
    out = io.StringIO()
    bar = ProgressBar(True, out)
    bar(1, 2, 1, 4, 0.5, 0.25, 10.0)
    bar(1, 2, 4, 4, 0.4, 0.5, 10.0)
    assert [kind for kind, _ in shown] == ["display", "update"] and "4/4" in shown[1][1]
    bar.epoch_done({"epoch": 1, "loss": 0.4, "accuracy": 0.5, "lr": 0.05, "seconds": 1.0}, 2)
    assert out.getvalue().startswith("epoch   1/2") and "\r" not in out.getvalue()
