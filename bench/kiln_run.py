"""Runs `kiln train` for the benchmark scripts and reads back what the run recorded."""
import csv
import os
import subprocess
import sys


def kiln_train(cmd, cwd, env=None):
    """Runs the `kiln train ...` command line `cmd` (a list, or a string for the shell) in `cwd`;
    exits with its error output if it fails. Returns the run folder it printed and the rows of
    its metrics.csv."""
    out = subprocess.run(cmd, shell=isinstance(cmd, str), cwd=cwd, env=env, capture_output=True, text=True)
    sys.stdout.write(out.stdout)
    if out.returncode != 0:
        sys.exit(f"failed: {cmd if isinstance(cmd, str) else ' '.join(cmd)}\n{out.stderr}")
    run_dir = next(l.split(": ", 1)[1] for l in out.stdout.splitlines() if l.startswith("run folder: "))
    with open(os.path.join(cwd, run_dir, "metrics.csv")) as f:
        return run_dir, list(csv.DictReader(f))
