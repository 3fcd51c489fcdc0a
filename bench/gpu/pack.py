"""What the GPU machine lacks, gathered here into .gpu/ (git-ignored) and opened there.

The GPU machine has nvcc, CMake, ninja, a C++ compiler, Python with PyTorch and numpy, and no
Debian packages beyond its image; nothing can be fetched there. So .gpu/ holds:
  deps/usr/...   the headers and CMake files of toml11, CLI11 and zlib, and GoogleTest's headers,
                 static libraries and CMake files, copied from this machine's Debian packages
                 with their paths kept (CMAKE_PREFIX_PATH points there);
  lib/*.xz       OpenBLAS (which kiln loads at run time) and the Fortran runtime it links,
                 xz-compressed (36 MiB -> 4 MiB), with zlib's shared library as a fallback;
  fashion-mnist/ the four gzipped IDX files of Debian's dataset-fashion-mnist;
  MANIFEST.txt   every file with its size.
CIFAR-10 is not carried: the VGG-style net trains on synthetic CIFAR-shaped data made there
(synth_cifar below), which measures speed, not accuracy on real images.
"""
import lzma
import os
import shutil
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACK = os.path.join(ROOT, ".gpu")
LIMIT = 64 << 20  # the device tool's limit for the working tree plus carried paths
ARCH = "x86_64-linux-gnu"
PACKAGES = ["libtoml11-dev", "libcli11-dev", "libgtest-dev", "zlib1g-dev"]
LIBS = [f"/usr/lib/{ARCH}/libopenblas.so.0", f"/usr/lib/{ARCH}/libgfortran.so.5", f"/usr/lib/{ARCH}/libquadmath.so.0",
        f"/usr/lib/{ARCH}/libz.so.1"]
FASHION = "/usr/share/datasets/fashion-mnist"


def package_files(pkg):
    """The regular files of an installed Debian package, documentation left out."""
    out = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"--pack: Debian package {pkg} is not installed here (scripts/deps.sh --test installs it)")
    return [p for p in out.stdout.split("\n")
            if p and os.path.isfile(p) and not p.startswith(("/usr/share/doc", "/usr/src", "/usr/share/lintian"))]


def pack():
    """Fills .gpu/ afresh; returns its size in bytes. Exits if it would exceed the carry limit."""
    shutil.rmtree(PACK, ignore_errors=True)
    deps = os.path.join(PACK, "deps")
    for pkg in PACKAGES:
        for src in package_files(pkg):
            if pkg == "zlib1g-dev" and not src.startswith("/usr/include/"):
                continue  # zlib's library comes from the machine (or lib/ below), its static one is not needed
            dst = os.path.join(deps, src.lstrip("/"))
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy2(src, dst)
    os.makedirs(os.path.join(PACK, "lib"))
    for lib in LIBS:
        real = os.path.realpath(lib)
        with open(real, "rb") as f, lzma.open(os.path.join(PACK, "lib", os.path.basename(lib) + ".xz"), "wb",
                                              preset=6) as out:
            shutil.copyfileobj(f, out)
    shutil.copytree(FASHION, os.path.join(PACK, "fashion-mnist"))
    rows, total = [], 0
    for d, _, files in sorted(os.walk(PACK)):
        for n in sorted(files):
            p = os.path.join(d, n)
            total += os.path.getsize(p)
            rows.append(f"{os.path.getsize(p):>10} {os.path.relpath(p, PACK)}")
    with open(os.path.join(PACK, "MANIFEST.txt"), "w") as f:
        f.write("\n".join(rows) + f"\n{total:>10} total\n")
    if total > LIMIT:
        raise SystemExit(f".gpu is {total / 2**20:.1f} MiB, over the {LIMIT >> 20} MiB the device tool carries")
    return total


def unpack(dest):
    """Decompresses .gpu/lib into dest; returns (prefix for CMake, folder of the shared libraries)."""
    if not os.path.isdir(os.path.join(PACK, "deps")):
        raise SystemExit("no .gpu/deps: run bench/gpu/compare.py --pack on the development machine and carry .gpu")
    os.makedirs(dest, exist_ok=True)
    for n in os.listdir(os.path.join(PACK, "lib")):
        out = os.path.join(dest, n[:-3])
        if not os.path.exists(out):
            with lzma.open(os.path.join(PACK, "lib", n)) as f, open(out, "wb") as o:
                shutil.copyfileobj(f, o)
    return os.path.join(PACK, "deps", "usr"), dest


def synth_cifar(dest, train=20000, test=2000, seed=1):
    """CIFAR-10's binary format (5 data_batch_N.bin + test_batch.bin, records of a label byte and
    3072 pixel bytes) filled with a learnable signal: each image is half its class's fixed random
    template and half noise. Standard library only (big-integer byte arithmetic), a few seconds."""
    import random
    rng = random.Random(seed)
    rec = 3072
    mask = int.from_bytes(b"\x7f" * rec, "little")
    templates = [int.from_bytes(rng.randbytes(rec), "little") >> 1 & mask for _ in range(10)]

    def records(n):
        out = bytearray()
        for _ in range(n):
            c = rng.randrange(10)
            noise = int.from_bytes(rng.randbytes(rec), "little") >> 1 & mask
            out.append(c)
            out += (templates[c] + noise).to_bytes(rec, "little")
        return out

    os.makedirs(dest, exist_ok=True)
    for i in range(1, 6):
        with open(os.path.join(dest, f"data_batch_{i}.bin"), "wb") as f:
            f.write(records(train // 5))
    with open(os.path.join(dest, "test_batch.bin"), "wb") as f:
        f.write(records(test))
    return dest
