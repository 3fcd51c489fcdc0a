"""Builds kiln's Python extension (_kiln) with CMake, as the target kiln_python of the
project's own CMakeLists.txt, and installs it into the kiln package.

Environment:
  KILN_BUILD_DIR  a CMake build folder to build the target in (default build/python); an
                  existing one (the test suite's build/release) keeps its settings
  KILN_CUDA       ON/OFF: the CUDA backend where nvcc is found (default OFF: CPU only, a
                  much shorter build; KILN_CUDA=ON builds the same library as the kiln command)
  CMAKE_ARGS      further arguments for the first configure (-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  CMAKE_BUILD_PARALLEL_LEVEL  build jobs (default: all cores)
"""
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build = Path(os.environ.get("KILN_BUILD_DIR") or ROOT / "build" / "python")
        if not build.is_absolute():
            build = ROOT / build
        if not (build / "CMakeCache.txt").exists():
            args = [f"-DPython_EXECUTABLE={sys.executable}", "-DCMAKE_BUILD_TYPE=Release", "-DKILN_TESTS=OFF",
                    "-DKILN_BENCH=OFF", f"-DKILN_CUDA={os.environ.get('KILN_CUDA', 'OFF')}"]
            args += shlex.split(os.environ.get("CMAKE_ARGS", ""))
            if shutil.which("ninja"):
                args += ["-G", "Ninja"]
            subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build), *args], check=True)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 1))
        subprocess.run(["cmake", "--build", str(build), "--target", "kiln_python", "-j", jobs], check=True)
        # An existing build folder keeps its Python; its module must fit this interpreter.
        built = build / "python" / "kiln" / ("_kiln" + sysconfig.get_config_var("EXT_SUFFIX"))
        if not built.exists():
            raise RuntimeError(f"no {built.name} in {built.parent}: CMake says 'kiln: Python module OFF' without "
                               "pybind11-dev and python3-dev; a build folder configured for another Python "
                               "builds another name (use a fresh KILN_BUILD_DIR)")
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, target)


setup(ext_modules=[Extension("kiln._kiln", sources=[])], cmdclass={"build_ext": CMakeBuild})
