"""cimforge: the compute-in-memory toolchain from Python.

    import cimforge
    vgg = cimforge.Model("models/zoo/vgg/model.onnx")
    isaac = cimforge.Device("isaac", overrides={"array.adc.bits": 6})
    cost = cimforge.map(vgg, isaac)                      # the fields of cim-map --json
    q = cimforge.quantize(vgg, isaac, dataset="fashion-mnist", limit=1000)
    sim = cimforge.simulate(vgg, isaac, data=x, labels=y, instances=5, seed=1)

The module wraps the C++ libraries (not the command-line tools): results carry the same fields
as the tools' JSON, NumPy arrays cross without copies where their layout allows, long calls
release the GIL, stop on Ctrl-C and show a tqdm progress bar when tqdm is installed.
Bad input raises cimforge.InputError with the tools' message. docs/python.md is the tutorial.
"""

import io
import json
import os
import tempfile

from ._cimforge import Dataset, InputError
from . import _cimforge

__all__ = ["Device", "Model", "Dataset", "InputError", "map", "quantize", "simulate", "sweep",
           "MapResult", "QuantizeResult", "SimulateResult", "SweepResult"]


class _Section:
    """A section of a device's fields (device.array.adc): its keys as attributes."""

    def __init__(self, path):
        self._path = path

    def __repr__(self):
        keys = {k: v for k, v in vars(self).items() if not k.startswith("_")}
        return f"<{self._path}: {keys}>"


class Device:
    """A device description, validated: Device("isaac") or Device("my.yaml", overrides={...}).

    Every schema key is an attribute (device.array.adc.bits, device.energy.adc_pj_per_conversion:
    costs as their number); `fields` maps each dotted path to its value, `units` and `sources`
    give the unit and YAML source of each. overrides are cim-map's --set: a dict {path: value}
    or a list of "path=value" strings.
    """

    def __init__(self, name_or_path, overrides=None):
        self._spec = _cimforge._Device(os.fspath(name_or_path), overrides)
        self.fields, self.units, self.sources = {}, {}, {}
        for path, unit, value, source in self._spec.fields():
            self.fields[path] = value
            self.units[path] = unit
            if source is not None:
                self.sources[path] = source
            parts = path.split(".")
            node = self
            for depth, part in enumerate(parts[:-1]):
                child = node.__dict__.get(part)
                if child is None:
                    child = _Section(".".join(parts[:depth + 1]))
                    setattr(node, part, child)
                node = child
            if not (node is self and hasattr(Device, parts[-1])):  # name, description: properties already
                setattr(node, parts[-1], value)

    name = property(lambda self: self._spec.name)
    description = property(lambda self: self._spec.description)
    source_path = property(lambda self: self._spec.source_path)
    overrides = property(lambda self: list(self._spec.overrides))

    def describe(self):
        """The text of cim-map --device NAME --describe: peak figures, power and area per component."""
        return self._spec.describe()

    @property
    def peak(self):
        """The peak figures (cim-map --describe --json's "peak"): tops, tops_per_w, area_mm2, power_w, ..."""
        return self._spec.peak()

    @property
    def estimates(self):
        """Every cost an estimator priced, with formula, inputs, anchor and reference."""
        return self._spec.estimates()

    def with_overrides(self, overrides):
        """The same device with more --set overrides (a dict or a list of "path=value")."""
        more = [f"{k}={_yaml_text(v)}" for k, v in overrides.items()] if isinstance(overrides, dict) else list(overrides)
        return Device(self.source_path, self.overrides + more)

    def __repr__(self):
        return f"<cimforge.Device {self.name} ({self.source_path})>"


def _yaml_text(value):
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


class Model:
    """An ONNX model: Model("model.onnx"), or Model.from_torch(module, example_input)."""

    def __init__(self, path):
        self._model = _cimforge._Model(os.fspath(path))

    @classmethod
    def from_bytes(cls, data, label="<bytes>"):
        """A serialized ONNX model in memory (external data is refused: there is no folder)."""
        model = cls.__new__(cls)
        model._model = _cimforge._Model.from_bytes(bytes(data), label)
        return model

    @classmethod
    def from_torch(cls, module, example_input, *, input_names=None, opset_version=13, dynamic_batch=True, label=None):
        """Exports a torch.nn.Module in memory (torch.onnx.export to a buffer, in eval mode) and imports it.

        example_input is a tensor (or a tuple of them, one per input); dynamic_batch marks the
        first axis of every input dynamic, so that accuracy runs take any batch.
        """
        try:
            import torch
        except ImportError as e:
            raise ImportError("Model.from_torch needs PyTorch (Debian: apt-get install python3-torch)") from e
        args = example_input if isinstance(example_input, tuple) else (example_input,)
        if input_names is None:
            input_names = ["input"] if len(args) == 1 else [f"input_{k}" for k in range(len(args))]
        buffer = io.BytesIO()
        training = module.training
        module.eval()
        try:
            with torch.no_grad():
                torch.onnx.export(module, args, buffer, input_names=list(input_names), opset_version=opset_version,
                                  dynamic_axes={n: {0: "batch"} for n in input_names} if dynamic_batch else None,
                                  do_constant_folding=True)
        finally:
            module.train(training)
        return cls.from_bytes(buffer.getvalue(), label or f"<torch {type(module).__name__}>")

    label = property(lambda self: self._model.label, doc="the file, or <torch Name> for an in-memory export")
    inputs = property(lambda self: self._model.inputs, doc="[(name, shape)], -1 for a dynamic dimension")
    outputs = property(lambda self: self._model.outputs)
    nodes = property(lambda self: self._model.nodes, doc="[(name, op)] after import's simplifications")
    array_layers = property(lambda self: self._model.array_layers, doc="the weight-stationary nodes the mapper may place on arrays")
    metadata = property(lambda self: self._model.metadata)

    def __repr__(self):
        return f"<cimforge.Model {self.label}: {len(self.nodes)} nodes, {len(self.array_layers)} array layers>"


def _model(model):
    return model if isinstance(model, Model) else Model(model)


def _device(device):
    return device if isinstance(device, Device) else Device(device)


def _pandas(rows):
    try:
        import pandas
    except ImportError as e:
        raise ImportError("to_pandas() needs pandas (Debian: apt-get install python3-pandas)") from e
    return pandas.DataFrame(rows)


class _Report:
    """A result whose fields are a tool's JSON: result["field"], result.json, result.layers, to_pandas()."""

    def __init__(self, report):
        self.json = report

    def __getitem__(self, key):
        return self.json[key]

    def __contains__(self, key):
        return key in self.json

    @property
    def layers(self):
        """One dict per layer, the JSON's "layers"."""
        return self.json["layers"]

    def to_pandas(self):
        """The per-layer records as a pandas DataFrame (needs pandas)."""
        return _pandas(self.layers)


class MapResult(_Report):
    """cimforge.map's result: the fields of cim-map --json (layers, total, estimates)."""

    @property
    def total(self):
        return self.json["total"]


class _Progress:
    """The reporter of a long call: tqdm bars (one per phase) when tqdm is installed, a callable
    progress(label, done, total) of the caller's, or nothing."""

    def __init__(self, progress):
        self.bars = {}
        self.report = None
        if callable(progress):
            self.report = progress
        elif progress:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                return
            self.tqdm = tqdm
            self.report = self._tqdm

    def _tqdm(self, label, done, total):
        bar = self.bars.get(label)
        if bar is None or done < bar.n:  # a new phase, or the count started over (the next chip instance)
            if bar is not None:
                bar.close()
            bar = self.bars[label] = self.tqdm(total=total, desc=label, leave=False)
        bar.total = total
        bar.update(done - bar.n)
        if done >= total:
            bar.close()
            del self.bars[label]

    def __enter__(self):
        return self.report

    def __exit__(self, *exc):
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()


def map(model, device, *, chips=None, host_layers=(), duplicate=True, keep_zero_arrays=False, batch=1,
        layer_weight_bits=None, quantization=None):
    """Maps a model onto a device and estimates its cost: the fields of cim-map --json.

    quantization: a QuantizeResult whose per-layer weight widths the layers take (cim-map
    --quant-report); layer_weight_bits: the same as a dict {layer: bits}.
    """
    bits = dict(layer_weight_bits or {})
    if quantization is not None:
        bits.update({layer["name"]: layer["weight_bits"] for layer in quantization.layers})
    return MapResult(_cimforge._map(_model(model)._model, _device(device)._spec, chips, list(host_layers), duplicate,
                                    keep_zero_arrays, batch, bits))


class QuantizeResult(_Report):
    """cimforge.quantize's result: the fields of cim-quant --json, and per layer its integer
    weights, scales and cell digits as NumPy arrays (read-only views of the C++ model)."""

    def __init__(self, quantized):
        super().__init__(quantized.report)
        self._q = quantized

    def weights(self, layer):
        """Integer weight codes, int32 [groups, K, N]; real weight = scale * (code - zero point)."""
        return self._q.weights(layer)

    def weight_scales(self, layer):
        """float64 [groups, N]"""
        return self._q.weight_scales(layer)

    def weight_zero_points(self, layer):
        """int32 [groups, N] (0 for symmetric codes)"""
        return self._q.weight_zero_points(layer)

    def cell_digits(self, layer):
        """The digit in each cell, int16 [groups, array rows, N, columns per output] (docs/quantization.md)."""
        return self._q.cell_digits(layer)

    def column_weights(self, layer):
        """The shift-add weight of each column of one output, int64 [columns per output]."""
        return self._q.column_weights(layer)

    def input_quantizer(self, layer):
        """The layer's input codes: bits, scale, zero_point, signed, realization, code range."""
        return self._q.input_quantizer(layer)


def quantize(model, device, calibration=None, *, data=None, labels=None, dataset=None, preprocess=None, limit=None,
             host_layers=(), layer_bits=None, report_drops=False, progress=True):
    """Quantizes a model for a device: the fields of cim-quant --json.

    calibration: samples (an array, a Dataset or a data file) to calibrate on. With data (an
    array with labels, a Dataset, a file as cim-quant --data) or dataset="fashion-mnist" the
    float and quantized accuracy are measured too, calibrating as cim-quant does (on calibration,
    else on samples held apart from the data, or drawn from the training set). With neither,
    Fashion-MNIST is used.
    """
    with _Progress(progress) as reporter:
        q = _cimforge._quantize(_model(model)._model, _device(device)._spec, data, labels, calibration, dataset or "",
                                preprocess, limit, list(host_layers), dict(layer_bits or {}), report_drops, reporter)
    return QuantizeResult(q)


class LayerOutput:
    """One layer's output on every test sample: through the first chip instance's arrays
    (simulated) and from the integer program on ideal arrays (exact); float32 read-only views."""

    def __init__(self, simulated, exact):
        self.simulated, self.exact = simulated, exact

    @property
    def error(self):
        return self.simulated - self.exact

    def snr_db(self):
        """10 log10(exact power / error power) over every element (inf when they are equal)."""
        import numpy
        signal = float(numpy.sum(numpy.square(self.exact, dtype=numpy.float64)))
        noise = float(numpy.sum(numpy.square(self.error, dtype=numpy.float64)))
        return float("inf") if noise == 0 else 10 * numpy.log10(signal / noise)


class SimulateResult(_Report):
    """cimforge.simulate's result: the fields of cim-sim --json (accuracy, accuracy_ci95,
    per-layer snr_db, ...) and, for the layers asked for, their outputs."""

    def __init__(self, simulated):
        super().__init__(simulated.report)
        self._s = simulated
        self.outputs = {name: LayerOutput(s, e) for name, (s, e) in simulated.outputs().items()}

    accuracy = property(lambda self: self.json["accuracy"])
    accuracy_ci95 = property(lambda self: tuple(self.json["accuracy_ci95"]))
    instance_accuracy = property(lambda self: self.json["instance_accuracy"])


def simulate(model, device, data=None, labels=None, *, calibration=None, dataset=None, preprocess=None, limit=None,
             instances=1, seed=1, reference="labels", adc_calibration="nominal", calibration_samples=None,
             host_layers=(), outputs=None, adc_ranges=None, snr_images=1000, progress=True):
    """Simulates a model on a device's crossbars: the fields of cim-sim --json.

    data/labels: arrays (read in place), a Dataset, or a file as cim-sim --data; else
    dataset="fashion-mnist" (the default). calibration: the calibration set (else held apart from
    the data, as cim-sim does). outputs: layer names (or True for every array layer) whose outputs
    to keep, simulated and exact, in result.outputs. adc_ranges: a file of trained ADC ranges
    (cim-sim --adc-ranges; models/hwa_train.py writes one). snr_images: the test images whose
    reads are compared with the exact GEMM for the per-layer SNR (cim-sim --snr-images; None: all).
    """
    m = _model(model)
    if outputs is True:
        outputs = m.array_layers
    with _Progress(progress) as reporter:
        s = _cimforge._simulate(m._model, _device(device)._spec, data, labels, calibration, dataset or "", preprocess, limit,
                                instances, seed, reference, adc_calibration, calibration_samples, list(host_layers),
                                list(outputs or []), os.fspath(adc_ranges) if adc_ranges is not None else "",
                                -1 if snr_images is None else snr_images, reporter)
    return SimulateResult(s)


class SweepResult:
    """cimforge.sweep's result: the CSV's columns and rows (numbers as floats, empty cells as None)
    and cim-sweep --json's summary fields."""

    def __init__(self, summary):
        self.columns = list(summary.pop("columns"))
        self.rows = [dict(zip(self.columns, (_cell(v) for v in row))) for row in summary.pop("rows")]
        self.summary = summary

    def __getitem__(self, key):
        return self.summary[key]

    def to_pandas(self):
        return _pandas(self.rows)


def _cell(text):
    if text == "":
        return None
    try:
        return float(text)
    except ValueError:
        return text


def sweep(spec, *, out=None, resume=False, force=False, threads=0, limit=None, progress=True):
    """Evaluates a design space (docs/sweeps.md): spec is a sweep YAML file or the same as a dict.

    Rows are written to out (a CSV, as cim-sweep --out) as they finish; without out, to a
    temporary file. Relative paths in a dict are taken from the current folder.
    """
    if isinstance(spec, dict):
        path, text, base = "<sweep dict>", json.dumps(spec, indent=2), os.getcwd()  # JSON is YAML
    else:
        path, text, base = os.fspath(spec), "", ""
    with tempfile.TemporaryDirectory() as tmp, _Progress(progress) as reporter:
        csv = os.fspath(out) if out is not None else os.path.join(tmp, "sweep.csv")
        summary = _cimforge._sweep(path, text, base, csv, resume, force or out is None, threads, limit, reporter)
        if out is None:
            summary["csv"] = None
        return SweepResult(summary)
