#!/usr/bin/env python3
"""kiln's CUDA backend against PyTorch on the same GPU, nets, data and batch sizes: one command.

Here, on a machine with Debian's packages (no GPU needed):
    bench/gpu/compare.py --pack
copies what the GPU machine lacks into .gpu/ (git-ignored): Fashion-MNIST's four files (Debian's
dataset-fashion-mnist), CIFAR-10's JPEG copy from ../shared/datasets, and the .deb files of
toml11, GoogleTest, OpenBLAS (with the Fortran runtime it links) and zlib's headers. Then on the GPU machine, from the repository root (the device
tool: carry [".gpu"]):
    bench/gpu/compare.py [--epochs N] [--skip-tests] [--out DIR]
unpacks those, builds kiln with the CUDA backend (sm_90 + PTX), runs the op suite and the
whole-network checks on the GPU (ctest -R Backend), then trains each net for whole epochs in
kiln (`kiln train --device cuda`) and in the machine's PyTorch (bench/gpu/torch_train.py: eager,
torch.compile, and bf16 channels-last for the VGG net), and writes a table of per-epoch time,
images/s, final test accuracy and the ratios to DIR/gpu-performance.md (default docs/).

The nets and targets are the CUDA issue's: the seed MNIST CNN on Fashion-MNIST at batch 256
and 64, the VGG-style CIFAR-10 net at batch 512.
"""
import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from kiln_run import kiln_train  # noqa: E402
from machine import cpu_model  # noqa: E402
PACK = os.path.join(ROOT, ".gpu")
DEPS = "/tmp/kiln-gpu-deps"
BUILD = os.path.join(ROOT, "build", "gpu")

# (label, experiment file, data folder under .gpu, batch, PyTorch modes)
NETS = [
    ("seed MNIST CNN, Fashion-MNIST", "configs/fashion_mnist_cnn.toml", "fashion-mnist", 256, ["eager", "compile"]),
    ("seed MNIST CNN, Fashion-MNIST", "configs/fashion_mnist_cnn.toml", "fashion-mnist", 64, ["eager", "compile"]),
    ("VGG-style + BN, CIFAR-10", "configs/cifar10_vgg_bn.toml", "cifar10", 512, ["eager", "compile", "bf16"]),
]


def sh(cmd, **kw):
    print("+ " + cmd, flush=True)
    return subprocess.run(cmd, shell=True, check=True, cwd=ROOT, **kw)


def pack():
    os.makedirs(os.path.join(PACK, "debs"), exist_ok=True)
    shutil.copytree("/usr/share/datasets/fashion-mnist", os.path.join(PACK, "fashion-mnist"), dirs_exist_ok=True)
    shutil.copytree(os.path.join(ROOT, "../shared/datasets/cifar10-jpg"), os.path.join(PACK, "cifar10-jpg"),
                    dirs_exist_ok=True)
    sh("cd .gpu/debs && apt-get download libtoml11-dev libgtest-dev libopenblas0-pthread libgfortran5 libquadmath0 "
       "zlib1g-dev")
    sh("du -sh .gpu")


def unpack():
    for deb in glob.glob(os.path.join(PACK, "debs", "*.deb")):
        sh(f"dpkg -x {deb} {DEPS}")
    cifar = os.path.join(PACK, "cifar10")
    if not os.path.exists(os.path.join(cifar, "test_batch.bin")):
        sh(f"bash .gpu/cifar10-jpg/make-cifar10-bin.sh {cifar}")


def build(tests):
    blas = glob.glob(f"{DEPS}/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0")
    if not blas:
        sys.exit("OpenBLAS not unpacked: run bench/gpu/compare.py --pack here first and carry .gpu")
    lib = f"{DEPS}/usr/lib/x86_64-linux-gnu"
    os.environ["LD_LIBRARY_PATH"] = f"{os.path.dirname(blas[0])}:{lib}:" + os.environ.get("LD_LIBRARY_PATH", "")
    # zlib's headers come from the package, the library from the machine (the package's libz.so
    # is an absolute link to Debian's own file name).
    libz = next((p for p in ("/usr/lib/x86_64-linux-gnu/libz.so.1", "/lib/x86_64-linux-gnu/libz.so.1") if os.path.exists(p)),
                None)
    if not libz:
        sys.exit("no libz.so.1 on this machine")
    # CMakeLists.txt builds sm_90 machine code and compute_90 PTX by default.
    sh(f"cmake -S . -B {BUILD} -G Ninja -DCMAKE_BUILD_TYPE=Release "
       f"-DCMAKE_PREFIX_PATH={DEPS}/usr -DKILN_OPENBLAS={blas[0]} -DZLIB_INCLUDE_DIR={DEPS}/usr/include "
       f"-DZLIB_LIBRARY={libz} -DKILN_TESTS={'ON' if tests else 'OFF'} > /dev/null")
    sh(f"cmake --build {BUILD} -j{os.cpu_count()}")


def kiln_run(cfg, data, batch, epochs):
    runs = os.path.join(BUILD, "runs")
    cmd = (f"{BUILD}/kiln train {cfg} --device cuda --runs {runs} --no-progress --set 'data.dir=\"{data}\"' "
           f"--set train.batch_size={batch}" + (f" --set train.epochs={epochs}" if epochs else ""))
    _, rows = kiln_train(cmd, ROOT)
    return [float(r["seconds"]) for r in rows], float(rows[-1]["test_acc"])


def torch_run(cfg, data, batch, epochs, mode):
    cmd = (f"{sys.executable} bench/gpu/torch_train.py {cfg} --batch {batch} --mode {mode} --data {data}"
           + (f" --epochs {epochs}" if epochs else ""))
    out = subprocess.run(cmd, shell=True, cwd=ROOT, capture_output=True, text=True,
                         env=dict(os.environ, PYTHONUNBUFFERED="1"))
    if out.returncode != 0:
        print(f"PyTorch {mode} failed: {out.stderr[-2000:]}")
        return None
    lines = [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]
    print(f"  pytorch {mode}: {lines[-1]}", flush=True)
    return [l["seconds"] for l in lines[:-1]], lines[-1]["test_acc"], lines[-1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pack", action="store_true", help="gather what the GPU machine needs into .gpu (run here)")
    ap.add_argument("--epochs", type=int, default=0, help="epochs per run (default: the experiment's)")
    ap.add_argument("--skip-tests", action="store_true")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs"))
    a = ap.parse_args()
    if a.pack:
        return pack()
    unpack()
    build(not a.skip_tests)
    if not a.skip_tests:
        sh(f"ctest --test-dir {BUILD} -R Backend --output-on-failure -j4 | tail -n 25")
    gpu = subprocess.run("nvidia-smi --query-gpu=name,driver_version --format=csv,noheader", shell=True,
                         capture_output=True, text=True).stdout.strip()
    rows = []
    for label, cfg, data, batch, modes in NETS:
        data_dir = os.path.join(PACK, data)
        print(f"{label}, batch {batch}", flush=True)
        k_secs, k_acc = kiln_run(cfg, data_dir, batch, a.epochs)
        row = {"label": label, "batch": batch, "epochs": len(k_secs), "kiln": (k_secs, k_acc), "torch": {}}
        for mode in modes:
            r = torch_run(cfg, data_dir, batch, a.epochs, mode)
            if r:
                row["torch"][mode] = r
        rows.append(row)

    torch_version = next((v[2]["torch"] for r in rows for v in r["torch"].values()), "?")
    # The first epoch of each side includes its warm-up (cuBLAS handles, graph capture; PyTorch's
    # is excluded by torch_train.py): the median epoch is the figure compared.
    lines = ["# kiln's CUDA backend against PyTorch", "",
             f"Generated by `bench/gpu/compare.py` on {time.strftime('%Y-%m-%d')}: {gpu}, host CPU {cpu_model()}; "
             f"PyTorch {torch_version}. "
             "Same experiment files, data files, batch sizes and epochs; median epoch time (training only).", "",
             "| net | batch | epochs | kiln s/epoch | kiln acc | PyTorch mode | PyTorch s/epoch | PyTorch acc | "
             "PyTorch / kiln time |", "|---|---:|---:|---:|---:|---|---:|---:|---:|"]
    for r in rows:
        k = statistics.median(r["kiln"][0])
        for mode, (secs, acc, _) in r["torch"].items():
            t = statistics.median(secs)
            lines.append(f"| {r['label']} | {r['batch']} | {r['epochs']} | {k:.3f} | {100 * r['kiln'][1]:.2f}% | {mode} | "
                         f"{t:.3f} | {100 * acc:.2f}% | **{t / k:.2f}×** |")
    lines.append("")
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "gpu-performance.md")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))
    print(f"written: {path}")


if __name__ == "__main__":
    main()
