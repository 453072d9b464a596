# The cimforge module against the command-line tools: the same numbers on the zoo models, every
# function, errors as Python exceptions with the tools' messages, and arrays crossing without copies.
import json
import os
import signal
import threading

import numpy as np
import pytest

import cimforge
from conftest import ZOO, assert_same, run_tool

VGG = str(ZOO / "vgg" / "model.onnx")
MLP = str(ZOO / "mlp" / "model.onnx")


def without_times(report):
    return {k: v for k, v in report.items() if k not in ("seconds", "phase_seconds")}


# ---- devices ----

def test_device_fields_are_attributes():
    d = cimforge.Device("isaac", overrides={"array.adc.bits": 6, "quant.cle": True})
    assert d.name == "isaac" and d.source_path.endswith("configs/isaac.yaml")
    assert d.array.adc.bits == 6 and d.fields["array.adc.bits"] == 6
    assert d.quant.cle is True
    assert d.weight.encoding == "offset"
    assert d.overrides == ["array.adc.bits=6", "quant.cle=true"]
    assert isinstance(d.energy.adc_pj_per_conversion, float) and "energy.adc_pj_per_conversion" in d.sources
    assert d.units["array.rows"] == "rows"
    assert d.with_overrides({"array.adc.bits": 7}).array.adc.bits == 7


def test_device_describe_and_peak_match_cim_map():
    d = cimforge.Device("wtm2101", overrides=["array.adc.bits=6"])
    text = run_tool("cim-map", "--device", "wtm2101", "--set", "array.adc.bits=6", "--describe").stdout
    assert d.describe() == text
    cli = run_tool("cim-map", "--device", "wtm2101", "--set", "array.adc.bits=6", "--describe", "--json")
    assert d.peak == cli["peak"]
    assert d.estimates == cli["estimates"]


def test_device_errors_carry_the_cli_message(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((ZOO.parents[1] / "configs" / "isaac.yaml").read_text().replace("rows: 128", "rows: -3", 1))
    cli = run_tool("cim-map", "--device", bad, "--describe", expect=2).stderr
    with pytest.raises(cimforge.InputError) as e:
        cimforge.Device(bad)
    assert cli.strip() == "cim-map: error: " + str(e.value).strip()
    assert f"{bad}:" in str(e.value)  # file:line:column
    with pytest.raises(cimforge.InputError, match="array.adc.bits"):
        cimforge.Device("isaac", overrides={"array.adc.bits": "many"})
    assert issubclass(cimforge.InputError, ValueError)


# ---- models ----

def test_model_import_and_errors(tmp_path):
    m = cimforge.Model(VGG)
    assert m.label == VGG and m.inputs[0][1][1:] == [1, 28, 28]
    assert len(m.array_layers) >= 4 and all(isinstance(n, str) for n in m.array_layers)
    with pytest.raises(cimforge.InputError, match="no such file"):
        cimforge.Model(tmp_path / "missing.onnx")
    with pytest.raises(cimforge.InputError, match="not a valid ONNX model"):
        cimforge.Model.from_bytes(b"\x08\x07garbage", "<junk>")


def test_model_from_bytes_maps_like_the_file():
    data = open(MLP, "rb").read()
    in_memory = cimforge.map(cimforge.Model.from_bytes(data, MLP), "isaac")
    assert in_memory.json == cimforge.map(MLP, "isaac").json


def test_model_from_torch():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 26 * 26, 10))
    m = cimforge.Model.from_torch(net, torch.zeros(1, 1, 28, 28))
    assert m.label == "<torch Sequential>" and len(m.array_layers) == 2
    assert m.inputs[0][1] == [-1, 1, 28, 28]  # the batch is dynamic
    assert [layer["runs_on"] for layer in cimforge.map(m, "wtm2101").layers].count("arrays") == 2
    # The in-memory export simulates like any model (here on its own outputs: no labels).
    x = np.random.default_rng(0).standard_normal((24, 1, 28, 28)).astype(np.float32)
    s = cimforge.simulate(m, "wtm2101", data=x, reference="float", progress=False)
    assert s["accuracy"] is None and 0 <= s["agreement_top1"] <= 1


# ---- map ----

@pytest.mark.parametrize("device", ["isaac", "wtm2101"])
def test_map_matches_cim_map(device):
    result = cimforge.map(VGG, device, batch=4)
    cli = run_tool("cim-map", VGG, "--device", device, "--batch", 4, "--json")
    assert result.json == cli
    assert result.total["arrays"] == cli["total"]["arrays"] and result.layers[0]["name"] == cli["layers"][0]["name"]


def test_map_options():
    vgg = cimforge.Model(VGG)
    first = vgg.array_layers[0]
    hosted = cimforge.map(vgg, "isaac", host_layers=[first], duplicate=False)
    cli = run_tool("cim-map", VGG, "--device", "isaac", "--host-layers", first, "--no-duplicate", "--json")
    assert hosted.json == cli
    with pytest.raises(cimforge.InputError, match="batch"):
        cimforge.map(vgg, "isaac", batch=0)


def test_map_to_pandas():
    pandas = pytest.importorskip("pandas")
    frame = cimforge.map(MLP, "isaac").to_pandas()
    assert isinstance(frame, pandas.DataFrame) and "energy_j" in frame.columns


# ---- quantize ----

def test_quantize_matches_cim_quant(fashion_mnist):
    q = cimforge.quantize(MLP, "wtm2101", dataset="fashion-mnist", limit=300, progress=False)
    cli = run_tool("cim-quant", MLP, "--device", "wtm2101", "--dataset", "fashion-mnist", "--limit", 300, "--json", "--quiet")
    for key in ("layers", "options", "float_accuracy", "accuracy", "images", "calibration_images", "calibration_source",
                "cle_pairs", "notes", "model_quantization"):
        assert_same(q[key], cli[key], key)


def test_quantized_arrays_are_views(fashion_mnist):
    q = cimforge.quantize(MLP, cimforge.Device("isaac", {"weight.encoding": "differential"}), dataset="fashion-mnist",
                          limit=50, progress=False)
    layer = q.layers[0]
    name = layer["name"]
    w = q.weights(name)
    assert w.dtype == np.int32 and w.shape == (layer["groups"], layer["k"], layer["n"])
    assert np.abs(w).max() <= layer["weight_qmax"]
    # Zero-copy out: two calls view the same C++ memory, which the arrays keep alive.
    assert np.shares_memory(w, q.weights(name)) and not w.flags.owndata and not w.flags.writeable
    # The cell digits hold the codes: sum over columns of column weight x digit (differential: no reference).
    digits, col = q.cell_digits(name), q.column_weights(name)
    assert np.array_equal(np.tensordot(digits.astype(np.int64), col, axes=([3], [0])), w)
    scales = q.weight_scales(name)
    assert scales.shape == (layer["groups"], layer["n"]) and np.all(scales > 0)
    assert q.weight_zero_points(name).shape == scales.shape
    assert q.input_quantizer(name)["bits"] == layer["activation_bits"]
    del q  # the views outlive the result object
    assert int(w.sum()) == int(np.asarray(w).sum())
    with pytest.raises(cimforge.InputError, match="no quantized layer named"):
        cimforge.quantize(MLP, "isaac", dataset="fashion-mnist", limit=20, progress=False).weights("nope")


def test_quantize_on_calibration_array_only():
    x = np.random.default_rng(1).random((64, 1, 28, 28), dtype=np.float32)
    q = cimforge.quantize(MLP, "isaac", calibration=x, progress=False)
    assert q["calibration_images"] == 64 and "accuracy" not in q and len(q.layers) == len(cimforge.Model(MLP).array_layers)


# ---- data crossing ----

def test_dataset_reads_arrays_in_place():
    x = np.zeros((10, 1, 28, 28), dtype=np.float32)
    y = np.arange(10) % 10
    d = cimforge.Dataset(x, y)
    assert len(d) == 10 and np.shares_memory(d.x, x)  # zero-copy in
    converted = cimforge.Dataset(x.astype(np.float64))
    assert not np.shares_memory(converted.x, x) and converted.x.dtype == np.float32
    strided = cimforge.Dataset(np.zeros((10, 1, 28, 56), dtype=np.float32)[..., ::2])
    assert strided.x.flags.c_contiguous
    with pytest.raises(cimforge.InputError, match="labels"):
        cimforge.Dataset(x, np.zeros(3, dtype=np.int64))


def _sample_set(n=60, seed=7):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, n)


def test_simulate_arrays_match_cim_sim_on_the_same_npz(tmp_path):
    x, y = _sample_set()
    np.savez(tmp_path / "set.npz", x=x, y=y)
    cli = run_tool("cim-sim", MLP, "--device", "wtm2101", "--data", tmp_path / "set.npz", "--seed", 5, "--instances", 2,
                   "--json", "--quiet")
    s = cimforge.simulate(MLP, "wtm2101", data=x, labels=y, seed=5, instances=2, progress=False)
    ours, theirs = without_times(s.json), without_times(cli)
    assert ours.pop("data") == "the NumPy array" and theirs.pop("data") == str(tmp_path / "set.npz")
    assert ours.pop("calibration_source").startswith("the last ") and theirs.pop("calibration_source").startswith("the last ")
    assert_same(ours, theirs)
    # The same data from the file, through the module.
    from_file = cimforge.simulate(MLP, "wtm2101", data=tmp_path / "set.npz", seed=5, instances=2, progress=False)
    assert from_file.accuracy == s.accuracy and from_file.layers == s.layers
    # The per-layer SNR on the first 50 images only, as cim-sim --snr-images 50; the reads are the same.
    cli50 = run_tool("cim-sim", MLP, "--device", "wtm2101", "--data", tmp_path / "set.npz", "--seed", 5, "--instances", 2,
                     "--snr-images", 50, "--json", "--quiet")
    s50 = cimforge.simulate(MLP, "wtm2101", data=tmp_path / "set.npz", seed=5, instances=2, snr_images=50, progress=False)
    assert s50.json["snr_images"] == cli50["snr_images"] and s50.layers == cli50["layers"]
    assert s50.accuracy == s.accuracy
    with pytest.raises(cimforge.InputError, match="snr_images"):
        cimforge.simulate(MLP, "wtm2101", data=x, labels=y, snr_images=-5, progress=False)


def test_simulate_zoo_vgg_matches_cim_sim(fashion_mnist):
    args = ["--device", "wtm2101", "--dataset", "fashion-mnist", "--limit", 100, "--seed", 3, "--set",
            "noise.read_sigma=0.02"]
    cli = run_tool("cim-sim", VGG, *args, "--json", "--quiet")
    dev = cimforge.Device("wtm2101", {"noise.read_sigma": 0.02})
    s = cimforge.simulate(VGG, dev, dataset="fashion-mnist", limit=100, seed=3, progress=False)
    assert s.accuracy == cli["accuracy"] and s.accuracy_ci95 == tuple(cli["accuracy_ci95"])
    assert_same(without_times(s.json), without_times(cli))


def test_simulate_layer_outputs(fashion_mnist):
    vgg = cimforge.Model(VGG)
    layer = vgg.array_layers[1]
    dev = cimforge.Device("wtm2101", {"noise.read_sigma": 0.02})
    s = cimforge.simulate(vgg, dev, dataset="fashion-mnist", limit=20, outputs=[layer], progress=False)
    out = s.outputs[layer]
    assert out.simulated.shape == out.exact.shape and out.simulated.shape[0] == 20
    assert out.simulated.dtype == np.float32 and not out.simulated.flags.owndata
    assert np.shares_memory(out.simulated, s._s.outputs()[layer][0])  # zero-copy out
    assert 0 < out.snr_db() < 200 and np.any(out.error != 0)
    with pytest.raises(cimforge.InputError, match="no node named 'nope'"):
        cimforge.simulate(vgg, "wtm2101", dataset="fashion-mnist", limit=5, outputs=["nope"], progress=False)


def test_simulate_errors():
    x, y = _sample_set(20)
    with pytest.raises(cimforge.InputError, match=r"\[1, 28, 28\]|shape"):
        cimforge.simulate(MLP, "wtm2101", data=x[:, :, :14], labels=y, progress=False)
    with pytest.raises(cimforge.InputError, match="20 labels for 10 samples|labels"):
        cimforge.simulate(MLP, "wtm2101", data=x[:10], labels=y, progress=False)
    with pytest.raises(cimforge.InputError, match="out of range"):
        cimforge.simulate(MLP, "wtm2101", data=x, labels=y + 10, progress=False)
    with pytest.raises(cimforge.InputError, match="instances"):
        cimforge.simulate(MLP, "wtm2101", data=x, labels=y, instances=0, progress=False)
    bad = x.copy()
    bad[3, 0, 0, 0] = np.nan
    with pytest.raises(cimforge.InputError, match="non-finite"):
        cimforge.simulate(MLP, "wtm2101", data=bad, labels=y, progress=False)


def test_long_calls_report_progress_release_the_gil_and_stop_on_ctrl_c():
    x, y = _sample_set(200)
    seen = []
    cimforge.simulate(MLP, "wtm2101", data=x, labels=y, progress=lambda label, done, total: seen.append((label, done, total)))
    labels = {label for label, _, _ in seen}
    assert {"float reference", "simulating"} <= labels and all(0 < d <= t for _, d, t in seen)

    ticks = []
    stop = threading.Event()
    worker = threading.Thread(target=lambda: [ticks.append(1) or stop.wait(0.001) for _ in iter(stop.is_set, True)])
    worker.start()
    try:
        cimforge.simulate(MLP, "wtm2101", data=x, labels=y, instances=3, progress=False)
    finally:
        stop.set()
        worker.join()
    assert len(ticks) > 5  # the other thread ran while the simulation did

    def interrupt(label, done, total):
        os.kill(os.getpid(), signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        cimforge.simulate(MLP, "wtm2101", data=x, labels=y, progress=interrupt)

    def broken(label, done, total):
        raise ValueError("reporter bug")
    with pytest.raises(RuntimeError, match="reporter bug"):
        cimforge.simulate(MLP, "wtm2101", data=x, labels=y, progress=broken)


def test_tqdm_progress_bar():
    pytest.importorskip("tqdm")
    x, y = _sample_set(30)
    assert cimforge.simulate(MLP, "wtm2101", data=x, labels=y, progress=True).accuracy is not None


# ---- sweep ----

def test_sweep_dict_matches_cim_sweep(tmp_path):
    spec = {"name": "py", "device": "isaac", "models": [MLP],
            "axes": [{"path": "array.adc.bits", "values": [5, 6, 7]}, {"path": "cell.bits", "values": [1, 2]}],
            "pareto": {"minimize": ["energy_j", "latency_s"]}}
    result = cimforge.sweep(spec, progress=False)
    assert result["points"] == 6 and len(result.rows) == 6 and result["csv"] is None
    (tmp_path / "py.yaml").write_text(json.dumps(spec))
    out = tmp_path / "py.csv"
    run_tool("cim-sweep", tmp_path / "py.yaml", "--out", out, "--quiet")
    lines = out.read_text().splitlines()
    assert lines[0].split(",") == result.columns
    ours = [[("" if v is None else v) for v in r.values()] for r in result.rows]
    theirs = [line.split(",") for line in lines[1:]]
    for a, b in zip(ours, theirs):
        assert [x if isinstance(x, str) else float(x) for x in a] == [y if not _number(y) else float(y) for y in b]
    # A file and an output CSV, as cim-sweep takes them.
    again = cimforge.sweep(tmp_path / "py.yaml", out=tmp_path / "again.csv", progress=False)
    assert again["csv"] == str(tmp_path / "again.csv") and (tmp_path / "again.csv").read_text() == out.read_text()
    with pytest.raises(cimforge.InputError, match="exists"):
        cimforge.sweep(tmp_path / "py.yaml", out=out, progress=False)
    with pytest.raises(cimforge.InputError, match="axes"):
        cimforge.sweep({"device": "isaac", "models": [MLP], "axes": "nonsense"}, progress=False)


def _number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False
