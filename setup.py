"""Builds the cimforge extension with the project's CMake (pip install --no-build-isolation .).

The CMake build goes to build-python/ (or $CIMFORGE_CMAKE_BUILD), configured for the module only;
the extension it makes is copied into the wheel beside python/cimforge/__init__.py.
"""
import os
import pathlib
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build = pathlib.Path(os.environ.get("CIMFORGE_CMAKE_BUILD", ROOT / "build-python"))
        subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build), "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
                        "-DCIM_BUILD_TESTS=OFF", "-DCIM_BUILD_BENCH=OFF", "-DCIM_PYTHON=ON",
                        f"-DPython3_EXECUTABLE={sys.executable}"], check=True)
        subprocess.run(["cmake", "--build", str(build), "--target", "_cimforge", "-j", str(os.cpu_count() or 1)], check=True)
        built = sorted((build / "python" / "cimforge").glob("_cimforge*.so"))
        if not built:
            raise RuntimeError(f"the CMake build in {build} made no _cimforge extension")
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built[0], target)


setup(ext_modules=[Extension("cimforge._cimforge", sources=[])], cmdclass={"build_ext": CMakeBuild})
