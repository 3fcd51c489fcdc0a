#!/usr/bin/env python3
"""kiln's CUDA backend on the GPU machine, against PyTorch there: one staged command.

Here (the development machine, no GPU needed):
    bench/gpu/compare.py --pack       gathers what the GPU machine lacks into .gpu/ (pack.py)
    bench/gpu/compare.py --dry-run    prints the stage plan and its time limits, runs nothing
On the GPU machine (the device tool, carry [".gpu"]; docs/gpu-performance.md has the exact call):
    bench/gpu/compare.py --out $OUT [--budget SECONDS] [--stages a,b,...]

The stages run in order, each under its own time limit and all of them within --budget; each
appends its commands and their whole output to OUT/compare.log as they run, and every
measurement is added to OUT/results.jsonl and to the table OUT/gpu-performance.md as soon as it
is taken, so a run cut short still brings back what it did. A failed stage is logged and the
next one runs, except after `build` (nothing else can run without it). The exit status is 1 if
any stage failed.
"""
import argparse
import csv
import glob
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pack as packing  # noqa: E402

ROOT = packing.ROOT
BUILD = os.path.join(ROOT, "build", "gpu")
SCRATCH = "/tmp/kiln-gpu"
FASHION_CFG, VGG_CFG = "configs/fashion_mnist_cnn.toml", "configs/cifar10_vgg_bn.toml"
MEMCHECK_FILTER = ":".join(f"Backend/BackendOps.MatchesCpu/cuda_{p}*" for p in
                           ("conv2d", "maxpool", "avgpool", "global_avgpool", "batchnorm", "softmax_xent"))
ENV_COMMANDS = [
    "nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv",
    "{nvcc} --version", "cmake --version | head -n1", "ninja --version", "c++ --version | head -n1", "nproc",
    "python3 -c 'import torch; print(\"torch\", torch.__version__, \"CUDA\", torch.version.cuda, "
    "\"cuDNN\", torch.backends.cudnn.version(), torch.cuda.get_device_name())'",
    "python3 -m pip show nvidia-cudnn-cu13 2>/dev/null | head -n2", "compute-sanitizer --version | tail -n1",
]


class Run:
    """The log, the results and the clock of one invocation."""

    def __init__(self, out, budget, dry):
        self.out, self.budget, self.dry, self.t0 = out, budget, dry, time.monotonic()
        os.makedirs(out, exist_ok=True)
        self.log_path = os.path.join(out, "compare.log")
        self.results = []
        self.env = dict(os.environ, PYTHONUNBUFFERED="1")

    def left(self):
        return self.budget - (time.monotonic() - self.t0)

    def log(self, text):
        line = f"[{time.monotonic() - self.t0:6.1f}s] {text}"
        print(line, flush=True)
        if not self.dry:
            with open(self.log_path, "a") as f:
                f.write(line + "\n")

    def sh(self, cmd, limit, env=None):
        """Runs cmd (a shell line) with its output appended to the log; kills its whole process
        session after `limit` seconds. Returns (exit status or 'timeout', its output)."""
        limit = max(1, min(limit, self.left()))
        self.log(f"$ {cmd}   (limit {limit:.0f}s)")
        if self.dry:
            return 0, ""
        with open(self.log_path, "a") as f:
            start = f.tell()
            p = subprocess.Popen(cmd, shell=True, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT,
                                 env=env or self.env, start_new_session=True, executable="/bin/bash")
            try:
                rc = p.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                kill_session(p.pid)
                p.wait()
                rc = "timeout"
        with open(self.log_path) as f:
            f.seek(start)
            output = f.read()
        self.log(f"exit {rc}")
        return rc, output

    def record(self, row):
        self.results.append(row)
        with open(os.path.join(self.out, "results.jsonl"), "a") as f:
            f.write(json.dumps(row) + "\n")
        write_table(self.results, os.path.join(self.out, "gpu-performance.md"))


def write_table(rows, path):
    lines = ["# kiln's CUDA backend against PyTorch (bench/gpu/compare.py)", "",
             "Median epoch time, training only; the first epoch of each run includes its warm-up.", "",
             "| net | batch | framework | mode | epochs | s/epoch (median) | images/s | test acc |",
             "|---|---:|---|---|---:|---:|---:|---:|"]
    for r in rows:
        if "seconds" not in r:
            lines.append(f"| {r['net']} | {r['batch']} | {r['framework']} | {r['mode']} | | {r.get('error', '')} | | |")
            continue
        med = statistics.median(r["seconds"])
        lines.append(f"| {r['net']} | {r['batch']} | {r['framework']} | {r['mode']} | {len(r['seconds'])} | {med:.3f} | "
                     f"{r['images'] / med:,.0f} | {100 * r['test_acc']:.2f}% |")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def kill_session(sid):
    """Kills every process of the session sid (the command and all it started: ninja runs each
    compiler in a process group of its own, so killing the command's group is not enough)."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[3]) == sid:  # field 6 of stat: the session id
                os.kill(int(pid), signal.SIGKILL)
        except (OSError, IndexError, ValueError):
            pass


def find_nvcc():
    for c in [os.environ.get("CUDACXX"), shutil.which("nvcc"), "/usr/local/cuda/bin/nvcc",
              *sorted(glob.glob("/usr/local/cuda-*/bin/nvcc"))]:
        if c and os.access(c, os.X_OK):
            return c
    return None


# ---------------------------------------------------------------------------------------------
# The stages: each returns True when it passed.

def stage_env(run, a):
    nvcc = find_nvcc() or "nvcc"
    for cmd in ENV_COMMANDS:
        run.sh(cmd.format(nvcc=nvcc), 20)
    return True


def stage_build(run, a):
    nvcc = find_nvcc()
    if not nvcc and not run.dry:
        run.log("no nvcc (CUDACXX, PATH, /usr/local/cuda*/bin): cannot build the CUDA backend")
        return False
    prefix, libdir = (os.path.join(packing.PACK, "deps", "usr"), f"{SCRATCH}/lib") if run.dry else \
        packing.unpack(f"{SCRATCH}/lib")
    libz = next((p for p in (f"/usr/lib/{packing.ARCH}/libz.so.1", f"/lib/{packing.ARCH}/libz.so.1")
                 if os.path.exists(p)), f"{libdir}/libz.so.1")
    gen = "-G Ninja" if shutil.which("ninja") or run.dry else ""
    rc, out = run.sh(
        f"cmake -S . -B {BUILD} {gen} -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_COMPILER={nvcc} -DKILN_CUDA=ON "
        f"-DKILN_F64=OFF -DKILN_BENCH=OFF -DKILN_TESTS=ON -DKILN_WERROR=OFF -DCMAKE_PREFIX_PATH={prefix} "
        f"-DKILN_OPENBLAS={libdir}/libopenblas.so.0 -DZLIB_INCLUDE_DIR={prefix}/include -DZLIB_LIBRARY={libz}", 60)
    if rc != 0:
        return False
    if not run.dry and "kiln: CUDA backend ON" not in out:
        run.log("configure did not turn the CUDA backend ON: stopping")
        return False
    # Warnings are errors here (the development machine and CI, KILN_WERROR=ON), not there: a
    # newer compiler's new warning must not cost the GPU run; they are in the log, counted.
    rc, out = run.sh(f"cmake --build {BUILD} -j{a.jobs} --target kiln kiln_tests", a.build_limit)
    run.log(f"build: {out.count('warning:')} compiler warnings")
    return rc == 0


def stage_ctest(run, a):
    # Every Backend test must run and pass: with KILN_REQUIRE_GPU=1 a CUDA test that cannot start
    # the backend fails instead of skipping. BackendNoGpu (the errors of a machine without a GPU)
    # is left out: it skips by design where there is a GPU.
    env = dict(run.env, KILN_REQUIRE_GPU="1")
    rc, out = run.sh(f"set -o pipefail; ctest --test-dir {BUILD} -R Backend -E BackendNoGpu --output-on-failure "
                     f"-j8 --timeout 60", 90, env)
    if "did not run" in out or "Skipped" in out:
        run.log("ctest: some Backend tests were skipped; on a GPU machine that is a failure")
        return False
    return rc == 0


def stage_gradcheck(run, a):
    env = dict(run.env, KILN_REQUIRE_GPU="1")
    rc, _ = run.sh(f"{BUILD}/kiln_tests --gtest_filter='BackendCuda.NetworkGradientCheck:BackendNetwork.*'", 60, env)
    return rc == 0


def kiln_run(run, a, net, cfg, data, batch, epochs, mode, env_extra, limit, precision="tf32"):
    env = dict(run.env, **env_extra)
    runs = f"{SCRATCH}/runs"
    rc, out = run.sh(f"{BUILD}/kiln train {cfg} --device {a.kiln_device} --runs {runs} --no-progress "
                     f"--set 'data.dir=\"{data}\"' --set train.batch_size={batch} --set train.epochs={epochs} "
                     f"--set 'train.precision=\"{precision}\"'",
                     limit, env)
    row = {"net": net, "batch": batch, "framework": "kiln", "mode": mode}
    folder = next((l.split(": ", 1)[1].strip() for l in out.splitlines() if l.startswith("run folder: ")), None)
    if rc != 0 or not folder:
        if not run.dry:
            run.record(dict(row, error=f"exit {rc}"))
        return rc == 0
    with open(os.path.join(folder if os.path.isabs(folder) else os.path.join(ROOT, folder), "metrics.csv")) as f:
        rows = list(csv.DictReader(f))
    n_train = int(rows[0].get("train_examples") or 0) if rows else 0
    run.record(dict(row, seconds=[float(r["seconds"]) for r in rows], test_acc=float(rows[-1]["test_acc"]),
                    images=n_train or (60000 if "fashion" in cfg else a.synth_train),
                    graph_lines=[l for l in out.splitlines() if "graph" in l.lower()][-3:]))
    return True


def torch_run(run, net, cfg, data, batch, epochs, mode, limit):
    rc, out = run.sh(f"python3 bench/gpu/torch_train.py {cfg} --batch {batch} --mode {mode} --data {data} "
                     f"--epochs {epochs}", limit)
    row = {"net": net, "batch": batch, "framework": "pytorch", "mode": mode}
    lines = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    if rc != 0 or not lines:
        if not run.dry:
            run.record(dict(row, error=f"exit {rc}"))
        return rc == 0
    last = lines[-1]
    run.record(dict(row, seconds=[l["seconds"] for l in lines[:-1]], test_acc=last["test_acc"],
                    images=last["images_per_s"] * last["seconds"] / max(1, last["epochs"]),
                    torch=last.get("torch"), cudnn=last.get("cudnn")))
    return True


def stage_fashion(run, a):
    ok, data = True, os.path.join(packing.PACK, "fashion-mnist")
    for batch in (256, 64):
        for graphs in ("1", "0"):
            ok &= kiln_run(run, a, "seed CNN, Fashion-MNIST", FASHION_CFG, data, batch, a.fashion_epochs,
                           "graphs" if graphs == "1" else "no graphs", {"KILN_CUDA_GRAPHS": graphs}, a.run_limit)
    return ok


def synth_dir(run, a):
    d = f"{SCRATCH}/cifar-synth"
    if not run.dry and not os.path.exists(os.path.join(d, "test_batch.bin")):
        packing.synth_cifar(d, a.synth_train, a.synth_test)
    return d


def stage_vgg(run, a):
    ok, data = True, synth_dir(run, a)
    for mode in ("fp32", "tf32"):
        ok &= kiln_run(run, a, "VGG-style + BN, synthetic CIFAR", VGG_CFG, data, a.vgg_batch, a.vgg_epochs, mode, {},
                       a.run_limit, precision=mode)
    run.log("kiln bf16: not measured (kiln has no bf16 autocast yet)")
    return ok


def stage_torch(run, a):
    ok, fashion = True, os.path.join(packing.PACK, "fashion-mnist")
    for batch in (256, 64):
        ok &= torch_run(run, "seed CNN, Fashion-MNIST", FASHION_CFG, fashion, batch, a.fashion_epochs, "eager",
                        a.run_limit)
    for mode in ("fp32", "tf32", "bf16"):
        ok &= torch_run(run, "VGG-style + BN, synthetic CIFAR", VGG_CFG, synth_dir(run, a), a.vgg_batch, a.vgg_epochs,
                        mode, a.run_limit)
    return ok


def stage_memcheck(run, a):
    rc, _ = run.sh(f"compute-sanitizer --tool memcheck --error-exitcode 1 {BUILD}/kiln_tests "
                   f"--gtest_filter='{MEMCHECK_FILTER}'", run.left())
    return rc == 0


# (name, least seconds worth starting it with, what it does)
STAGES = [("env", 5, stage_env), ("build", 60, stage_build), ("ctest", 20, stage_ctest),
          ("gradcheck", 10, stage_gradcheck), ("fashion", 30, stage_fashion), ("vgg", 30, stage_vgg),
          ("torch", 30, stage_torch), ("memcheck", 20, stage_memcheck)]


def main():
    global BUILD
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pack", action="store_true", help="gather what the GPU machine needs into .gpu (run here)")
    ap.add_argument("--dry-run", action="store_true", help="print the stages and their commands, run nothing")
    ap.add_argument("--out", default=os.environ.get("OUT") or os.path.join(SCRATCH, "out"))
    ap.add_argument("--budget", type=float, default=520, help="seconds for all the stages together")
    ap.add_argument("--stages", default=",".join(s[0] for s in STAGES))
    ap.add_argument("--jobs", type=int, default=16)
    ap.add_argument("--build-limit", type=float, default=270)
    ap.add_argument("--run-limit", type=float, default=75, help="seconds for one training run")
    ap.add_argument("--fashion-epochs", type=int, default=3)
    ap.add_argument("--vgg-epochs", type=int, default=2)
    ap.add_argument("--vgg-batch", type=int, default=256)
    ap.add_argument("--synth-train", type=int, default=20000)
    ap.add_argument("--synth-test", type=int, default=2000)
    ap.add_argument("--build-dir", default=BUILD, help="(for a CPU smoke test of the stages here)")
    ap.add_argument("--kiln-device", default="cuda", help="(for a CPU smoke test of the stages here)")
    a = ap.parse_args()
    BUILD = os.path.abspath(a.build_dir)
    if a.pack:
        size = packing.pack()
        print(f".gpu: {size / 2**20:.1f} MiB (limit {packing.LIMIT >> 20} MiB); files in .gpu/MANIFEST.txt")
        return 0
    wanted = a.stages.split(",")
    unknown = set(wanted) - {s[0] for s in STAGES}
    if unknown:
        sys.exit(f"unknown stages: {', '.join(sorted(unknown))} (known: {', '.join(s[0] for s in STAGES)})")
    run = Run(a.out, a.budget, a.dry_run)
    nvcc = find_nvcc()
    if nvcc:  # compute-sanitizer lives beside nvcc
        run.env["PATH"] = os.path.dirname(nvcc) + ":" + run.env.get("PATH", "")
    # OpenBLAS and the Fortran runtime, as the build stage unpacks them (kiln loads OpenBLAS
    # at run time for the CPU reference backend).
    run.env["LD_LIBRARY_PATH"] = f"{SCRATCH}/lib:" + run.env.get("LD_LIBRARY_PATH", "")
    failed = []
    for name, least, fn in STAGES:
        if name not in wanted:
            continue
        if run.left() < least and not run.dry:
            run.log(f"== {name}: skipped, {run.left():.0f}s left of the budget")
            failed.append(name)
            continue
        run.log(f"== {name} ({run.left():.0f}s left)")
        ok = fn(run, a)
        run.log(f"== {name}: {'passed' if ok else 'FAILED'}")
        if not ok:
            failed.append(name)
            if name == "build":
                break
    run.log(f"== done: {'all passed' if not failed else 'failed or skipped: ' + ', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
