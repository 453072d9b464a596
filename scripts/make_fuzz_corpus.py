#!/usr/bin/python3
"""Writes the seed corpora of these libFuzzer targets (fuzz/) into tests/fuzz/corpus/<target>/
and their dictionaries into tests/fuzz/*.dict, from valid files:

  fuzz_onnx_import  the small zoo models (models/zoo/{lenet5,mobilenet,vit}/model.onnx), the ONNX
                    backend node tests (Debian's libonnx-testdata) whose ops cimforge implements (the
                    two smallest per op), and a few models written here: dynamic batch, Conv +
                    BatchNorm folding, Constant/Reshape/Identity/Dropout, QDQ weights, external data
                    (weights.bin, which the fuzz target writes beside the model) and an unsupported op.
  fuzz_tensor_pb    the zoo test outputs (output_0.pb), the first zoo test image, the node tests'
                    small input/output tensors, and tensors of every storage kind written here.
  fuzz_device_yaml  configs/*.yaml, and one with `#set PATH=VALUE` override lines.
  fuzz_sweep_spec   configs/sweeps/*.yaml, and sweeps with ranges, random and Latin-hypercube sampling.
  fuzz_idx          the first images and labels of Fashion-MNIST's test set (Debian's
                    dataset-fashion-mnist), plain IDX and gzip-compressed.

The output is deterministic; scripts/fuzz.sh copies it into a scratch corpus, so CI never grows it.
Rerun after changing what the loaders accept:   /usr/bin/python3 scripts/make_fuzz_corpus.py
"""

import gzip
import os
import re
import shutil
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
OUT = os.path.join(ROOT, "tests", "fuzz")
CORPUS = os.path.join(OUT, "corpus")
NODE_TESTS = "/usr/share/libonnx-testdata/data/node"
FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
ZOO_SEEDS = ["lenet5", "mobilenet", "vit"]  # the small zoo models (resnet and vgg are 1.6-1.8 MB)
MAX_NODE_TEST_BYTES = 4096  # node-test models and tensors larger than this are left out
TARGETS = ["fuzz_onnx_import", "fuzz_tensor_pb", "fuzz_device_yaml", "fuzz_sweep_spec", "fuzz_idx"]
EXTERNAL_DATA = "weights.bin"  # written by fuzz/fuzz_util.h: float32 0, 1, ..., 1023


def target_dir(target):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    return d


def write(target, name, data):
    with open(os.path.join(target_dir(target), name), "wb") as f:
        f.write(data)


def copy(target, name, src):
    shutil.copyfile(src, os.path.join(target_dir(target), name))


def supported_ops():
    text = open(os.path.join(ROOT, "ir", "include", "cim", "ir", "ops.h")).read()
    body = text[text.index("#define CIM_OP_LIST"):text.index("enum class OpKind")]
    return set(re.findall(r"X\((\w+), \d+\)", body))


def model(nodes, inputs, outputs, initializers=(), opset=13, name="seed"):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(initializers))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="make_fuzz_corpus")
    m.ir_version = 8
    return m.SerializeToString()


def f32(name, shape, values=None):
    values = np.arange(int(np.prod(shape)), dtype=np.float32) / 7 - 1 if values is None else values
    return numpy_helper.from_array(np.asarray(values, dtype=np.float32).reshape(shape), name)


def external_tensor(name, dims, offset, length):
    """A float tensor whose data is `length` bytes at `offset` of weights.bin."""
    t = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=dims, data_location=TensorProto.EXTERNAL)
    for k, v in (("location", EXTERNAL_DATA), ("offset", str(offset)), ("length", str(length))):
        e = t.external_data.add()
        e.key, e.value = k, v
    return t


def vinfo(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


# ---------------------------------------------------------------- ONNX models
def onnx_seeds(ops):
    t = "fuzz_onnx_import"
    for z in ZOO_SEEDS:
        copy(t, f"zoo_{z}.onnx", os.path.join(ROOT, "models", "zoo", z, "model.onnx"))

    # Dynamic batch, Gemm with float_data weights and raw_data bias.
    w = helper.make_tensor("W", TensorProto.FLOAT, [3, 4], [float(i) / 10 for i in range(12)])
    write(t, "gemm_dynamic_batch.onnx", model(
        [helper.make_node("Gemm", ["X", "W", "B"], ["Y"], transB=1), helper.make_node("Relu", ["Y"], ["Z"])],
        [vinfo("X", ["N", 4])], [vinfo("Z", ["N", 3])], [w, f32("B", [3])]))

    # Conv + BatchNormalization (folded) + Relu + MaxPool + Flatten + MatMul + Add + Softmax.
    write(t, "conv_bn_pool.onnx", model(
        [helper.make_node("Conv", ["X", "CW", "CB"], ["c"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
         helper.make_node("BatchNormalization", ["c", "g", "b", "m", "v"], ["n"], epsilon=1e-5),
         helper.make_node("Relu", ["n"], ["r"]),
         helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
         helper.make_node("Flatten", ["p"], ["f"], axis=1),
         helper.make_node("MatMul", ["f", "FW"], ["mm"]),
         helper.make_node("Add", ["mm", "FB"], ["a"]),
         helper.make_node("Softmax", ["a"], ["Y"], axis=1)],
        [vinfo("X", ["N", 1, 8, 8])], [vinfo("Y", ["N", 10])],
        [f32("CW", [2, 1, 3, 3]), f32("CB", [2]), f32("g", [2], [1, 2]), f32("b", [2], [0, 1]),
         f32("m", [2], [0.5, -0.5]), f32("v", [2], [1, 4]), f32("FW", [32, 10]), f32("FB", [10])]))

    # Constant, Shape, Reshape, Transpose, Concat, Unsqueeze, Identity, Dropout (removed or folded).
    shape = numpy_helper.from_array(np.array([0, -1], dtype=np.int64), "shape")
    axes = numpy_helper.from_array(np.array([0], dtype=np.int64), "axes")
    write(t, "shape_ops.onnx", model(
        [helper.make_node("Constant", [], ["k"], value=f32("kv", [1, 6])),
         helper.make_node("Reshape", ["X", "shape"], ["r"]),
         helper.make_node("Identity", ["r"], ["i"]),
         helper.make_node("Dropout", ["i"], ["d"]),
         helper.make_node("Concat", ["d", "k"], ["c"], axis=0),
         helper.make_node("Transpose", ["c"], ["tr"], perm=[1, 0]),
         helper.make_node("Unsqueeze", ["tr", "axes"], ["u"]),
         helper.make_node("Shape", ["u"], ["s"])],
        [vinfo("X", [2, 2, 3])], [vinfo("u", [1, 6, 3]), vinfo("s", [3], TensorProto.INT64)], [shape, axes]))

    # A quantized (QDQ) export: int8 weights dequantized per channel, activations quantized per tensor.
    wq = numpy_helper.from_array((np.arange(12, dtype=np.int8) - 6).reshape(3, 4), "Wq")
    write(t, "qdq.onnx", model(
        [helper.make_node("QuantizeLinear", ["X", "xs", "xz"], ["xq"]),
         helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
         helper.make_node("DequantizeLinear", ["Wq", "ws", "wz"], ["W"], axis=0),
         helper.make_node("Gemm", ["xd", "W"], ["Y"], transB=1)],
        [vinfo("X", [1, 4])], [vinfo("Y", [1, 3])],
        [wq, f32("xs", [], [0.05]), numpy_helper.from_array(np.array(0, dtype=np.uint8), "xz"),
         f32("ws", [3], [0.1, 0.2, 0.3]), numpy_helper.from_array(np.zeros(3, dtype=np.int8), "wz")]))

    # External data: 12 floats at byte 64 of weights.bin, beside the model.
    we = external_tensor("We", [4, 3], 64, 48)
    write(t, "external_data.onnx", model(
        [helper.make_node("MatMul", ["X", "We"], ["Y"])], [vinfo("X", ["N", 4])], [vinfo("Y", ["N", 3])], [we]))

    # An op cimforge does not implement: UnsupportedOpsError.
    write(t, "unsupported_op.onnx", model(
        [helper.make_node("NonMaxSuppression", ["X", "S"], ["Y"]), helper.make_node("Relu", ["X"], ["R"])],
        [vinfo("X", [1, 4, 4]), vinfo("S", [1, 1, 4])], [vinfo("Y", [3, 3], TensorProto.INT64), vinfo("R", [1, 4, 4])]))

    # The two smallest ONNX backend node tests per implemented op.
    per_op = {}
    if os.path.isdir(NODE_TESTS):
        for case in sorted(os.listdir(NODE_TESTS)):
            path = os.path.join(NODE_TESTS, case, "model.onnx")
            if not os.path.isfile(path) or os.path.getsize(path) > MAX_NODE_TEST_BYTES:
                continue
            m = onnx.load(path, load_external_data=False)
            types = {n.op_type for n in m.graph.node}
            if not types or not types <= ops or any(o.domain not in ("", "ai.onnx") for o in m.opset_import):
                continue
            for op in types:
                per_op.setdefault(op, []).append((os.path.getsize(path), case))
    chosen = sorted({case for cases in per_op.values() for _, case in sorted(cases)[:2]})
    for case in chosen:
        copy(t, f"node_{case[len('test_'):]}.onnx", os.path.join(NODE_TESTS, case, "model.onnx"))
    return chosen


# ---------------------------------------------------------------- TensorProto files
def tensor_seeds(node_cases):
    t = "fuzz_tensor_pb"
    for z in sorted(os.listdir(os.path.join(ROOT, "models", "zoo"))):
        out = os.path.join(ROOT, "models", "zoo", z, "test_data_set_0", "output_0.pb")
        if os.path.isfile(out):
            copy(t, f"zoo_{z}_output_0.pb", out)
    # The first image of the zoo's test input, as its own [1, 1, 28, 28] tensor.
    first = onnx.load_tensor(os.path.join(ROOT, "models", "zoo", "lenet5", "test_data_set_0", "input_0.pb"))
    image = numpy_helper.to_array(first)[:1]
    write(t, "zoo_first_image.pb", numpy_helper.from_array(image, first.name).SerializeToString())

    kinds = {
        "float_data": helper.make_tensor("f", TensorProto.FLOAT, [2, 3], [0.5, -1, 2, 3.25, 0, 1e-3]),
        "double_data": helper.make_tensor("d", TensorProto.DOUBLE, [3], [1.5, -2, 1e300]),
        "int32_data_int8": helper.make_tensor("i8", TensorProto.INT8, [4], [-128, -1, 0, 127]),
        "int32_data_uint8": helper.make_tensor("u8", TensorProto.UINT8, [2, 2], [0, 1, 254, 255]),
        "int32_data_int16": helper.make_tensor("i16", TensorProto.INT16, [2], [-32768, 32767]),
        "int32_data_uint16": helper.make_tensor("u16", TensorProto.UINT16, [2], [0, 65535]),
        "int32_data_bool": helper.make_tensor("b", TensorProto.BOOL, [3], [True, False, True]),
        "int32_data_float16": helper.make_tensor("h", TensorProto.FLOAT16, [2], np.array([1.5, -2], dtype=np.float16)),
        "int32_data_int32": helper.make_tensor("i32", TensorProto.INT32, [3], [-(2**31), 0, 2**31 - 1]),
        "int64_data": helper.make_tensor("i64", TensorProto.INT64, [2], [-(2**63), 2**63 - 1]),
        "uint64_data": helper.make_tensor("u64", TensorProto.UINT64, [2], [0, 2**64 - 1]),
        "uint64_data_uint32": helper.make_tensor("u32", TensorProto.UINT32, [2], [0, 2**32 - 1]),
        "raw_float": numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(1, 2, 3), "rf"),
        "raw_int64": numpy_helper.from_array(np.array([[1, -2], [3, -4]], dtype=np.int64), "ri"),
        "raw_bool": numpy_helper.from_array(np.array([True, False]), "rb"),
        "scalar": numpy_helper.from_array(np.array(3.0, dtype=np.float32), "s"),
        "empty": numpy_helper.from_array(np.zeros((0, 4), dtype=np.float32), "e"),
        "string": helper.make_tensor("str", TensorProto.STRING, [2], [b"a", b"bc"]),
    }
    kinds["external_data"] = external_tensor("x", [2, 4], 16, 32)
    for name, tensor in kinds.items():
        write(t, f"{name}.pb", tensor.SerializeToString())

    seen = set()  # many node tests share a tensor
    for case in node_cases:
        for f in ("input_0.pb", "output_0.pb"):
            p = os.path.join(NODE_TESTS, case, "test_data_set_0", f)
            if not os.path.isfile(p) or os.path.getsize(p) > MAX_NODE_TEST_BYTES:
                continue
            data = open(p, "rb").read()
            if data not in seen:
                seen.add(data)
                write(t, f"node_{case[len('test_'):]}_{f}", data)


# ---------------------------------------------------------------- YAML
def yaml_seeds():
    configs = os.path.join(ROOT, "configs")
    for f in sorted(os.listdir(configs)):
        if f.endswith(".yaml"):
            copy("fuzz_device_yaml", f, os.path.join(configs, f))
    isaac = open(os.path.join(configs, "isaac.yaml")).read()
    write("fuzz_device_yaml", "isaac_with_sets.yaml",
          (isaac + "#set array.adc.bits=6\n#set cell.bits=1\n#set noise.programming_sigma=0.05\n").encode())

    sweeps = os.path.join(configs, "sweeps")
    for f in sorted(os.listdir(sweeps)):
        if f.endswith(".yaml"):
            copy("fuzz_sweep_spec", f, os.path.join(sweeps, f))
    extra = {
        "ranges.yaml": """name: ranges
device: isaac
set: {array.capacity_bits: ~}
models: [mlp, lenet5]
axes:
  - path: array.rows
    range: {from: 64, to: 512, step: 64}
  - path: array.adc.bits
    range: {from: 4, to: 8, count: 3, integer: true}
  - name: sigma
    path: noise.programming_sigma
    range: {from: 0.001, to: 0.1, count: 4, scale: log}
constraints: ["array.rows >= 128 or model == 'mlp'", "sigma < 0.05"]
pareto: {minimize: [energy_j], per: [sigma]}
plot: {x: energy_j, y: latency_s, color: model}
""",
        "random.yaml": """device: wtm2101
models: [lenet5]
axes:
  - path: array.adc.bits
    values: [4, 5, 6, 7, 8]
  - path: cell.bits
    values: [1, 2]
sampling: {method: random, count: 6, seed: 7}
metrics: {batch: 4, accuracy: {images: 10, instances: 2, seed: 3, calibration: 16}}
""",
        "latin_hypercube.yaml": """device: ../isaac.yaml
models: [../../models/zoo/mlp/model.onnx]
set: ["array.capacity_bits=~"]
axes:
  - paths: [array.rows, array.cols]
    values: [[64, 64], [128, 128], [256, 256]]
  - path: input.bits
    values: [4, 8]
sampling: {method: latin_hypercube, count: 5}
pareto: {minimize: [area_mm2], maximize: [tops_per_w]}
""",
    }
    for name, text in extra.items():
        write("fuzz_sweep_spec", name, text.encode())


def dict_entry(word):
    """A libFuzzer dictionary line: printable ASCII as is, \\ and \" escaped, other bytes as \\xNN."""
    out = ""
    for b in word.encode():
        c = chr(b)
        out += "\\" + c if c in '\\"' else c if 32 <= b < 127 else f"\\x{b:02X}"
    return '"' + out + '"'


def yaml_dict():
    """YAML syntax, the schema's keys and enum values (docs/device-schema.md), the sweep keys."""
    words = set()
    schema = open(os.path.join(ROOT, "docs", "device-schema.md")).read()
    for token in re.findall(r"^\| `([A-Za-z0-9_.]+)`", schema, re.M):
        words.update(token.split("."))
    words.update(["name", "device", "set", "models", "axes", "path", "paths", "values", "range", "from", "to", "step",
                  "count", "scale", "linear", "log", "integer", "sampling", "method", "grid", "random",
                  "latin_hypercube", "seed", "constraints", "metrics", "batch", "accuracy", "images", "instances",
                  "calibration", "dataset_dir", "pareto", "minimize", "maximize", "per", "plot", "x", "y", "color",
                  "value", "source", "energy_j", "latency_s", "area_mm2", "model", "mlp", "lenet5", "isaac",
                  "wtm2101", "true", "false", "null", "~", ".inf", "-.inf", ".nan", "0x7fffffff", "1e308",
                  "9223372036854775807", "#set ", "ceil(", "log2(", " and ", " or ", " not ", "==", "<=", ">=", "**"])
    syntax = [": ", "- ", "\n", "  ", "{", "}", "[", "]", ", ", "&a ", "*a", "<<: ", "!!str ", "!!int ", "'", '"',
              "|\n", ">\n", "---\n", "...\n", "? ", "%YAML 1.2\n", "#"]
    lines = ["# Tokens for fuzz_device_yaml and fuzz_sweep_spec (written by scripts/make_fuzz_corpus.py)."]
    lines += [dict_entry(w) for w in sorted(words) + syntax]
    with open(os.path.join(OUT, "yaml.dict"), "w") as f:
        f.write("\n".join(lines) + "\n")


def onnx_dict(ops):
    """Op types and common attribute names: strings inside the protobuf."""
    words = sorted(ops) + ["axis", "axes", "perm", "pads", "strides", "kernel_shape", "dilations", "group",
                           "transA", "transB", "alpha", "beta", "epsilon", "keepdims", "mode", "value", "to",
                           "auto_pad", "SAME_UPPER", "location", "offset", "length", EXTERNAL_DATA, "../", "/dev/zero"]
    lines = ["# Tokens for fuzz_onnx_import and fuzz_tensor_pb (written by scripts/make_fuzz_corpus.py)."]
    lines += [dict_entry(w) for w in words]
    with open(os.path.join(OUT, "onnx.dict"), "w") as f:
        f.write("\n".join(lines) + "\n")


# ---------------------------------------------------------------- IDX
def idx_seeds():
    t = "fuzz_idx"
    images = gzip.open(os.path.join(FASHION_MNIST, "t10k-images-idx3-ubyte.gz")).read()
    labels = gzip.open(os.path.join(FASHION_MNIST, "t10k-labels-idx1-ubyte.gz")).read()
    for n in (1, 3):
        img = struct.pack(">IIII", 0x803, n, 28, 28) + images[16:16 + n * 28 * 28]
        lab = struct.pack(">II", 0x801, n) + labels[8:8 + n]
        write(t, f"t10k_images_{n}.idx", img)
        write(t, f"t10k_labels_{n}.idx", lab)
        # mtime=0: the same bytes on every run
        write(t, f"t10k_images_{n}.idx.gz", gzip.compress(img, mtime=0))
        write(t, f"t10k_labels_{n}.idx.gz", gzip.compress(lab, mtime=0))
    write(t, "images_2x3x2.idx", struct.pack(">IIII", 0x803, 2, 3, 2) + bytes(range(12)))


def main():
    for target in TARGETS:  # other targets' corpora (fuzz_image) are written elsewhere
        shutil.rmtree(os.path.join(CORPUS, target), ignore_errors=True)
    ops = supported_ops()
    node_cases = onnx_seeds(ops)
    tensor_seeds(node_cases)
    yaml_seeds()
    yaml_dict()
    onnx_dict(ops)
    idx_seeds()
    total = 0
    for target in sorted(os.listdir(CORPUS)):
        files = os.listdir(os.path.join(CORPUS, target))
        size = sum(os.path.getsize(os.path.join(CORPUS, target, f)) for f in files)
        total += size
        print(f"{target}: {len(files)} files, {size / 1024:.0f} KiB")
    print(f"total {total / 1024:.0f} KiB in {os.path.relpath(CORPUS, ROOT)} (every target's)")


if __name__ == "__main__":
    sys.exit(main())
