# Where the tests find the repository and this build's command-line tools (ctest sets both;
# run by hand: PYTHONPATH=build/python python3 -m pytest python/tests from the repository root).
import json
import os
import pathlib
import subprocess

import pytest

SOURCE_DIR = pathlib.Path(os.environ.get("CIM_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
BIN_DIR = pathlib.Path(os.environ.get("CIM_BIN_DIR", SOURCE_DIR / "build" / "bin"))
ZOO = SOURCE_DIR / "models" / "zoo"
FASHION_MNIST = pathlib.Path("/usr/share/datasets/fashion-mnist")


def run_tool(tool, *args, expect=0):
    """Runs one of this build's CLIs; returns its parsed --json output (or the completed process)."""
    proc = subprocess.run([str(BIN_DIR / tool), *map(str, args)], capture_output=True, text=True)
    assert proc.returncode == expect, f"{tool} {' '.join(map(str, args))}: exit {proc.returncode}\n{proc.stderr}"
    return json.loads(proc.stdout) if expect == 0 and "--json" in args else proc


@pytest.fixture(scope="session")
def fashion_mnist():
    if not (FASHION_MNIST / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    return FASHION_MNIST


def assert_same(ours, theirs, where="report"):
    """The tools' JSON and the module's: equal, except that floats may differ in their last digits.
    (Some float sums depend on the OpenMP thread count, which importing torch in the same process
    changes; counts, accuracies and names must be identical.)"""
    if isinstance(theirs, float) and isinstance(ours, (int, float)) and not isinstance(ours, bool):
        assert ours == pytest.approx(theirs, rel=1e-5, abs=1e-12), where
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and sorted(ours) == sorted(theirs), where
        for key in theirs:
            assert_same(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs), where
        for k, (a, b) in enumerate(zip(ours, theirs)):
            assert_same(a, b, f"{where}[{k}]")
    else:
        assert ours == theirs, where
