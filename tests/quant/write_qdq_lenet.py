#!/usr/bin/python3
"""Writes LeNet-5 (models/zoo/lenet5 weights) quantized to int8/uint8 in the QDQ node patterns
that quantization tools export, with the logits of each model's own integer arithmetic.

    write_qdq_lenet.py OUT_DIR FASHION_MNIST_DIR [TEST_IMAGES] [CALIBRATION_IMAGES]

Patterns (one model each, OUT_DIR/lenet_PATTERN.onnx):
  ort       ONNX Runtime quantize_static (QDQ format, per_channel=True): weights stored as int8
            initializers -> DequantizeLinear (axis 0), biases as int32 initializers ->
            DequantizeLinear (scale = input scale x weight scale), uint8 activations with a zero
            point (0 after ReLU), Q/DQ around MaxPool and on the logits.
  pytorch   PyTorch QAT export: float weights -> QuantizeLinear -> DequantizeLinear (int8, per
            tensor), float biases, uint8 activations; scales and zero points as Constant nodes,
            MaxPool and Flatten between a DequantizeLinear and the next layer.
  brevitas  Brevitas QCDQ: int8 activations (zero point 0, also after ReLU), int8 per-channel
            weight initializers -> DequantizeLinear, float biases.

Also written: data.npz (x: normalized test images as the zoo takes them, y: labels),
calibration.npz (training images), and per pattern ref_PATTERN.npy, the logits of the model's
integer arithmetic computed here with NumPy: input codes as the model's QuantizeLinear makes
them (float32 division, round half to even, saturation), exact int64 accumulation of codes
times weight codes plus the int32 bias, the requantization scale (input scale x weight scale)
applied in float64 and the result rounded to float32, ReLU and max pooling on those values,
and the next QuantizeLinear. Every step is what cimforge's integer program does in the same
order, so cim-sim on an ideal device must reproduce these logits bit for bit.
codes_PATTERN_LAYER.npy holds a layer's weight codes ([outputs, inputs], the ONNX weight's
order) and scales_PATTERN_LAYER.npy its scales; summary.json each model's accuracy.
"""
import gzip
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ZOO = os.path.join(HERE, "..", "..", "models", "zoo", "lenet5", "model.onnx")
MEAN, STD = 0.2860, 0.3530  # the zoo's normalization (model metadata)


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def images(fmnist, split, count):
    prefix = "t10k" if split == "test" else "train"
    x = read_idx(os.path.join(fmnist, prefix + "-images-idx3-ubyte.gz"))[:count]
    y = read_idx(os.path.join(fmnist, prefix + "-labels-idx1-ubyte.gz"))[:count]
    x = ((x.astype(np.float32) / np.float32(255) - np.float32(MEAN)) / np.float32(STD)).astype(np.float32)
    return x.reshape(count, 1, 28, 28), y.astype(np.int64)


# ---- integer arithmetic ----

def im2col(x, k, pad):
    """x [B, C, H, W] -> [B * OH * OW, C * k * k] (rows (c, kh, kw), stride 1)."""
    b, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = h + 2 * pad - k + 1, w + 2 * pad - k + 1
    cols = np.empty((b, oh, ow, c, k, k), dtype=x.dtype)
    for i in range(k):
        for j in range(k):
            cols[:, :, :, :, i, j] = xp[:, :, i:i + oh, j:j + ow].transpose(0, 2, 3, 1)
    return cols.reshape(b * oh * ow, c * k * k), (b, oh, ow)


def quantize(y, scale, zp, lo, hi):
    """ONNX QuantizeLinear in float32: round(y / scale) half to even, + zero point, saturate."""
    return np.clip(np.rint(y.astype(np.float32) / np.float32(scale)).astype(np.int64) + zp, lo, hi)


def requantize(acc, bias_code, s_x, s_w):
    """float32(float64(s_x) * float64(s_w[n]) * (acc + bias)) as cimforge's program computes it."""
    out_scale = np.float64(s_x) * s_w.astype(np.float64)
    return (out_scale * (acc + bias_code).astype(np.float64)).astype(np.float32)


def maxpool2(x):
    b, c, h, w = x.shape
    return x.reshape(b, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def layer_int(codes_in, layer, spatial):
    """One layer in integers: logical input codes (q - z) -> float32 output."""
    w = layer["codes"].astype(np.int64)
    if spatial:
        cols, (b, oh, ow) = im2col(codes_in, 5, layer["pad"])
        acc = cols @ w.reshape(w.shape[0], -1).T
        y = requantize(acc, layer["bias_code"], layer["s_x"], layer["s_w"])
        return y.reshape(b, oh, ow, -1).transpose(0, 3, 1, 2)
    return requantize(codes_in @ w.T, layer["bias_code"], layer["s_x"], layer["s_w"])


def integer_logits(x, layers, acts):
    """The model's own integer arithmetic. acts[i] = (scale, zero point, lo, hi) of layer i's input."""
    c = quantize(x, *acts[0]) - acts[0][1]
    y = layer_int(c, layers[0], True)
    c = maxpool2(quantize(np.maximum(y, 0), *acts[1])) - acts[1][1]
    y = layer_int(c, layers[1], True)
    c = maxpool2(quantize(np.maximum(y, 0), *acts[2])) - acts[2][1]
    y = layer_int(c.reshape(c.shape[0], -1), layers[2], False)
    c = quantize(np.maximum(y, 0), *acts[3]) - acts[3][1]
    y = layer_int(c, layers[3], False)
    c = quantize(np.maximum(y, 0), *acts[4]) - acts[4][1]
    return layer_int(c, layers[4], False)


# ---- float model, for calibration ----

def float_forward(x, weights):
    """Float LeNet-5; returns each layer's input and the logits."""
    ins = []

    def conv(x, w, b, pad):
        cols, (bn, oh, ow) = im2col(x, 5, pad)
        return (cols @ w.reshape(w.shape[0], -1).T + b).reshape(bn, oh, ow, -1).transpose(0, 3, 1, 2)

    ins.append(x)
    h = maxpool2(np.maximum(conv(x, weights[0][0], weights[0][1], 2), 0))
    ins.append(h)
    h = maxpool2(np.maximum(conv(h, weights[1][0], weights[1][1], 0), 0)).reshape(x.shape[0], -1)
    ins.append(h)
    h = np.maximum(h @ weights[2][0].T + weights[2][1], 0)
    ins.append(h)
    h = np.maximum(h @ weights[3][0].T + weights[3][1], 0)
    ins.append(h)
    return ins, h @ weights[4][0].T + weights[4][1]


def activation_grid(values, code_type, nonnegative):
    """(scale, zero point, lo, hi) of an activation quantizer, as the tools calibrate (min-max)."""
    if code_type == "uint8":
        lo = 0.0 if nonnegative else min(float(values.min()), 0.0)
        hi = max(float(values.max()), 0.0)
        scale = np.float32((hi - lo) / 255)
        return scale, int(np.rint(-lo / scale)), 0, 255
    scale = np.float32(float(np.abs(values).max()) / 127)  # int8, symmetric
    return scale, 0, -128, 127


def weight_codes(w, per_channel, pytorch):
    """Symmetric int8 weight codes. PyTorch's qint8 observers (per_tensor_symmetric) use the whole
    range -128..127 with scale max|w| / 127.5, so the largest negative weight becomes -128;
    ONNX Runtime and Brevitas keep -127..127 with scale max|w| / 127."""
    half_range = 127.5 if pytorch else 127.0
    if per_channel:
        s = (np.abs(w).reshape(w.shape[0], -1).max(axis=1) / half_range).astype(np.float32)
        sb = s.reshape(-1, *([1] * (w.ndim - 1)))
    else:
        s = np.array([np.abs(w).max() / half_range], dtype=np.float32)
        sb = s[0]
    codes = np.clip(np.rint(w.astype(np.float32) / sb), -128 if pytorch else -127, 127).astype(np.int64)
    return codes, s


# ---- ONNX writing ----

class Writer:
    def __init__(self, pattern):
        self.pattern = pattern
        self.nodes, self.inits, self.count = [], [], 0

    def const(self, name, array):
        """A scale or zero point: an initializer, or a Constant node (PyTorch's export)."""
        if self.pattern == "pytorch":
            self.nodes.append(helper.make_node("Constant", [], [name], value=numpy_helper.from_array(array, name)))
        else:
            self.inits.append(numpy_helper.from_array(array, name))
        return name

    def qdq(self, x, grid, code_type, tag):
        scale, zp = grid[0], grid[1]
        dtype = np.uint8 if code_type == "uint8" else np.int8
        s = self.const(tag + "_scale", np.array(scale, dtype=np.float32))
        z = self.const(tag + "_zero_point", np.array(zp, dtype=dtype))
        # PyTorch's export gives the Q and DQ nodes their own constants.
        s2 = self.const(tag + "_scale_dq", np.array(scale, dtype=np.float32)) if self.pattern == "pytorch" else s
        z2 = self.const(tag + "_zero_point_dq", np.array(zp, dtype=dtype)) if self.pattern == "pytorch" else z
        self.nodes.append(helper.make_node("QuantizeLinear", [x, s, z], [tag + "_q"], name=tag + "_QuantizeLinear"))
        self.nodes.append(helper.make_node("DequantizeLinear", [tag + "_q", s2, z2], [tag + "_dq"], name=tag + "_DequantizeLinear"))
        return tag + "_dq"

    def weight(self, name, w, codes, s):
        """The weight's dequantization, in the pattern's form; returns the dequantized value's name."""
        axis = [helper.make_attribute("axis", 0)] if s.size > 1 else []
        scale = s if s.size > 1 else np.array(s[0], dtype=np.float32)
        zp = np.zeros(s.shape, np.int8) if s.size > 1 else np.array(0, dtype=np.int8)
        self.const(name + "_scale", scale)
        self.const(name + "_zero_point", zp)
        if self.pattern == "pytorch":  # float weight -> QuantizeLinear -> DequantizeLinear
            self.inits.append(numpy_helper.from_array(w.astype(np.float32), name))
            q = helper.make_node("QuantizeLinear", [name, name + "_scale", name + "_zero_point"], [name + "_q"], name=name + "_QuantizeLinear")
            q.attribute.extend(axis)
            self.nodes.append(q)
        else:  # int8 codes stored as the initializer
            self.inits.append(numpy_helper.from_array(codes.astype(np.int8), name + "_q"))
        dq = helper.make_node("DequantizeLinear", [name + "_q", name + "_scale", name + "_zero_point"], [name + "_dq"],
                              name=name + "_DequantizeLinear")
        dq.attribute.extend(axis)
        self.nodes.append(dq)
        return name + "_dq"

    def bias(self, name, b, code, s_b):
        if self.pattern == "ort":  # int32 codes with scale = input scale x weight scale
            self.inits.append(numpy_helper.from_array(code.astype(np.int32), name + "_q"))
            self.const(name + "_scale", s_b.astype(np.float32))
            self.const(name + "_zero_point", np.zeros(s_b.shape, np.int32))
            dq = helper.make_node("DequantizeLinear", [name + "_q", name + "_scale", name + "_zero_point"], [name + "_dq"],
                                  name=name + "_DequantizeLinear")
            if s_b.size > 1:
                dq.attribute.extend([helper.make_attribute("axis", 0)])
            self.nodes.append(dq)
            return name + "_dq"
        self.inits.append(numpy_helper.from_array(b.astype(np.float32), name))
        return name


def build(pattern, weights, calib, out_dir):
    per_channel = pattern != "pytorch"
    act_type = "int8" if pattern == "brevitas" else "uint8"
    ins, logits_f = float_forward(calib, weights)
    acts = [activation_grid(ins[0], act_type, False)] + [activation_grid(v, act_type, True) for v in ins[1:]]
    names = ["conv1", "conv2", "fc1", "fc2", "fc3"]
    layers = []
    wr = Writer(pattern)
    for i, (w, b) in enumerate(weights):
        codes, s = weight_codes(w, per_channel, pattern == "pytorch")
        s_x = acts[i][0]
        if pattern == "ort":  # ORT's bias: int32 codes at scale float32(input scale x weight scale)
            s_b = (np.float32(s_x) * s).astype(np.float32)
            bias_code = np.rint(b.astype(np.float64) / s_b.astype(np.float64)).astype(np.int64)
        else:  # a float bias: the integer kernels' int32 bias, round(b / (s_x s_w)) in double
            s_b = None
            s_w = np.broadcast_to(s, (w.shape[0],)).astype(np.float64)
            bias_code = np.rint(b.astype(np.float64) / (np.float64(s_x) * s_w)).astype(np.int64)
        layers.append({"name": names[i], "codes": codes, "s_w": np.broadcast_to(s, (w.shape[0],)).astype(np.float32),
                       "s_x": s_x, "bias_code": bias_code, "pad": 2 if i == 0 else 0, "w": w, "b": b, "s_b": s_b})

    x = wr.qdq("input", acts[0], act_type, "input")
    for i, L in enumerate(layers):
        wname = wr.weight(L["name"] + ".weight", L["w"], L["codes"], L["s_w"] if per_channel else L["s_w"][:1])
        bname = wr.bias(L["name"] + ".bias", L["b"], L["bias_code"], L["s_b"])
        out = L["name"] + "_out"
        if i < 2:
            pads = [L["pad"]] * 4
            wr.nodes.append(helper.make_node("Conv", [x, wname, bname], [out], name=L["name"], kernel_shape=[5, 5], pads=pads))
        else:
            wr.nodes.append(helper.make_node("Gemm", [x, wname, bname], [out], name=L["name"], transB=1))
        if i == 4:
            break
        wr.nodes.append(helper.make_node("Relu", [out], [out + "_relu"], name=L["name"] + "_relu"))
        x = wr.qdq(out + "_relu", acts[i + 1], act_type, L["name"] + "_act")
        if i < 2:
            wr.nodes.append(helper.make_node("MaxPool", [x], [L["name"] + "_pool"], name=L["name"] + "_pool", kernel_shape=[2, 2],
                                             strides=[2, 2]))
            x = L["name"] + "_pool"
            if pattern == "ort":  # ORT re-quantizes MaxPool's output with its input's parameters
                x = wr.qdq(x, acts[i + 1], act_type, L["name"] + "_pool_act")
        if i == 1:
            wr.nodes.append(helper.make_node("Flatten", [x], ["flat"], name="flatten", axis=1))
            x = "flat"
    logits = "fc3_out"
    out_grid = None
    if pattern == "ort":  # ORT quantizes the model output too
        out_grid = activation_grid(logits_f, "uint8", False)
        logits = wr.qdq("fc3_out", out_grid, "uint8", "logits")
    wr.nodes.append(helper.make_node("Identity", [logits], ["logits"], name="output"))
    graph = helper.make_graph(wr.nodes, "lenet_" + pattern,
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 28, 28])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], wr.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="write_qdq_lenet.py")
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out_dir, "lenet_" + pattern + ".onnx"))
    for L in layers:  # as float32 (exact for these codes), the type every cimforge reader takes
        np.save(os.path.join(out_dir, "codes_%s_%s.npy" % (pattern, L["name"])),
                L["codes"].reshape(L["codes"].shape[0], -1).astype(np.float32))
        np.save(os.path.join(out_dir, "scales_%s_%s.npy" % (pattern, L["name"])), L["s_w"])
    return layers, acts, out_grid


def main():
    out_dir, fmnist = sys.argv[1], sys.argv[2]
    n_test = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    n_calib = int(sys.argv[4]) if len(sys.argv) > 4 else 256
    os.makedirs(out_dir, exist_ok=True)
    zoo = {t.name: numpy_helper.to_array(t) for t in onnx.load(ZOO).graph.initializer}
    weights = [(zoo[p + ".weight"].astype(np.float32), zoo[p + ".bias"].astype(np.float32))
               for p in ["features.0", "features.3", "classifier.0", "classifier.2", "classifier.4"]]
    x, y = images(fmnist, "test", n_test)
    calib, _ = images(fmnist, "train", n_calib)
    np.savez(os.path.join(out_dir, "data.npz"), x=x, y=y)
    np.savez(os.path.join(out_dir, "calibration.npz"), x=calib)
    summary = {}
    for pattern in ["ort", "pytorch", "brevitas"]:
        layers, acts, out_grid = build(pattern, weights, calib, out_dir)
        logits = integer_logits(x, layers, acts)
        if out_grid is not None:  # the output's Q/DQ
            q = quantize(logits, *out_grid)
            logits = ((q - out_grid[1]).astype(np.float64) * np.float64(out_grid[0])).astype(np.float32)
        np.save(os.path.join(out_dir, "ref_" + pattern + ".npy"), logits)
        # Accuracy of the integer arithmetic (first maximum, as cimforge scores).
        summary[pattern] = {"accuracy": int((logits.argmax(axis=1) == y).sum()) / len(y)}
        print(pattern, "integer-arithmetic accuracy", summary[pattern]["accuracy"])
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
