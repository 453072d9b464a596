"""models/hwa_train.py: a short hardware-aware fine-tune lowers the loss under the device's noise, the
exported QDQ model runs through cim-sim on an ideal device exactly as its own integer arithmetic, and
learned widths fit the array budget. ctest hwa_train (label python); by hand from the repository root:
PYTHONPATH=build/python CIM_BIN_DIR=build/bin /usr/bin/python3 -m pytest -q tests/models/test_hwa_train.py"""
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

SOURCE_DIR = pathlib.Path(os.environ.get("CIM_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
BIN_DIR = pathlib.Path(os.environ.get("CIM_BIN_DIR", SOURCE_DIR / "build" / "bin"))
FASHION_MNIST = pathlib.Path("/usr/share/datasets/fashion-mnist")
sys.path.insert(0, str(SOURCE_DIR / "models"))

torch = pytest.importorskip("torch")
cimforge = pytest.importorskip("cimforge")
if not (FASHION_MNIST / "t10k-images-idx3-ubyte.gz").exists():
    pytest.skip("Debian's dataset-fashion-mnist is not installed", allow_module_level=True)

import hwa_train  # noqa: E402
import train as zoo  # noqa: E402
from hwa.graph import integer_forward  # noqa: E402

# A small noisy chip: 4-bit weights in 1-bit two's-complement cells, 2-bit DAC cycles, a 3-bit ADC,
# programming variation and read noise.
NOISY = ["weight.bits=4", "quant.weight_bits=4", "cell.bits=1", "array.capacity_bits=16384",
         "weight.encoding=twos_complement", "input.bits=8", "quant.activation_bits=8", "input.dac_bits=2",
         "array.adc.bits=3", "array.adc.range=calibrated_layer", "cell.on_off_ratio=.inf",
         "noise.programming_sigma=0.05", "noise.read_sigma=0.02"]
# The ideal chip of the round trip: ideal cells, no noise, an ADC whose range fits its codes (LSB 1).
IDEAL = ["weight.bits=8", "quant.weight_bits=8", "weight.encoding=differential", "input.bits=8",
         "quant.activation_bits=8", "array.adc.bits=16", "array.adc.range=calibrated_layer", "cell.on_off_ratio=.inf"]


def sets(fields):
    return [a for f in fields for a in ("--set", f)]


@pytest.fixture(scope="module")
def images():
    x, y = zoo.load_split(str(FASHION_MNIST), "t10k")
    return x[:200].contiguous(), y[:200]


def test_short_training_lowers_the_loss_under_noise(tmp_path):
    assert hwa_train.main(["--model", "mlp", "--device", "isaac", *sets(NOISY), "--out", str(tmp_path), "--steps", "200",
                           "--batch", "32", "--lr", "3e-4", "--seed", "3", "--eval-images", "200", "--calibration", "64",
                           "--quiet"]) == 0
    summary = json.loads((tmp_path / "train.json").read_text())
    first, last = summary["losses_first_last_50"]
    assert last < first
    # The same 200 test images under the same noise draws, before and after: the simulated loss falls.
    before, after = summary["eval_before"], summary["eval_after"]
    assert after["loss"] < 0.9 * before["loss"], (before, after)
    assert after["accuracy"] > before["accuracy"]


def test_export_runs_exactly_through_cim_sim_on_an_ideal_chip(tmp_path, images):
    x, y = images
    out = tmp_path / "lenet"
    assert hwa_train.main(["--model", "lenet5", "--device", "isaac", *sets(IDEAL), "--out", str(out), "--steps", "5",
                           "--batch", "16", "--seed", "2", "--calibration", "32", "--quiet"]) == 0
    path = str(out / "model.onnx")
    reference = integer_forward(path, x.numpy())
    model = cimforge.Model(path)
    last = model.array_layers[-1]
    r = cimforge.simulate(model, cimforge.Device("isaac", IDEAL), data=x.numpy(), labels=y.numpy().astype(np.int64),
                          calibration=x.numpy()[:32], outputs=[last], adc_ranges=out / "adc_ranges.yaml", progress=False)
    assert r["model_quantization"] is True
    assert all(layer["weight_source"] == "model" and layer["activation_source"] == "model" for layer in r.layers)
    assert r["adc_ranges_file"] == str(out / "adc_ranges.yaml")
    np.testing.assert_array_equal(r.outputs[last].simulated, reference)
    assert r["accuracy"] == float((reference.argmax(1) == y.numpy()).mean())
    # cim-map and cim-quant take the model as it is.
    for tool, extra in (("cim-map", []), ("cim-quant", ["--limit", "50"])):
        proc = subprocess.run([str(BIN_DIR / tool), path, "--device", "isaac", *sets(IDEAL), *extra,
                               *(["--dataset", "fashion-mnist"] if tool == "cim-quant" else []), "--json"],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr


def test_a_bad_adc_range_file_is_an_error_at_its_line(tmp_path):
    bad = tmp_path / "ranges.yaml"
    bad.write_text("adc_ranges:\n  \"/features/features.0/Conv\": 12\n  \"/features/features.3/Conv\": -1\n")
    proc = subprocess.run([str(BIN_DIR / "cim-sim"), str(SOURCE_DIR / "models/zoo/lenet5/model.onnx"), "--device", "isaac",
                           *sets(IDEAL), "--limit", "10", "--adc-ranges", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert f"{bad}:3:32: adc_ranges./features/features.3/Conv: expected a positive number" in proc.stderr
    bad.write_text("adc_ranges:\n  \"/nope/Conv\": 12\n")
    proc = subprocess.run([str(BIN_DIR / "cim-sim"), str(SOURCE_DIR / "models/zoo/lenet5/model.onnx"), "--device", "isaac",
                           *sets(IDEAL), "--limit", "10", "--adc-ranges", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert f"{bad}:2: adc_ranges./nope/Conv: no array layer of that name" in proc.stderr


def test_learned_widths_fit_the_array_budget(tmp_path):
    full = cimforge.map(str(SOURCE_DIR / "models/zoo/mlp/model.onnx"), cimforge.Device("isaac", IDEAL)).total["arrays"]
    budget = int(full * 0.6)
    assert hwa_train.main(["--model", "mlp", "--device", "isaac", *sets(IDEAL), "--out", str(tmp_path), "--steps", "30",
                           "--batch", "32", "--learn-width", "--array-budget", str(budget), "--no-adc", "--calibration", "64",
                           "--quiet"]) == 0
    summary = json.loads((tmp_path / "train.json").read_text())
    widths = summary["weight_bits"]
    assert all(2 <= b <= 8 for b in widths.values()) and min(widths.values()) < 8
    mapped = cimforge.map(str(SOURCE_DIR / "models/zoo/mlp/model.onnx"), cimforge.Device("isaac", IDEAL),
                          layer_weight_bits=widths)
    assert mapped.total["arrays"] <= budget
    # The exported codes are the widths the toolchain reads back.
    q = cimforge.quantize(str(tmp_path / "model.onnx"), cimforge.Device("isaac", IDEAL), calibration=np.zeros((4, 1, 28, 28), np.float32),
                          progress=False)
    for layer in q.layers:  # the toolchain reads each layer's width from its codes: at most the learned one
        assert 2 <= layer["weight_bits"] <= widths[layer["name"]], layer
