#!/usr/bin/python3
"""Writes the models and data of the multi-input and batch-pinned end-to-end tests (issue 14).

two_input.onnx: inputs 'image' [N,1,8,8] and 'extra' [N,6], two Gemm branches concatenated into a
Gemm classifier of 10 classes; its data as an .npz (arrays named after the inputs, y), as ONNX .pb
folders (TensorProtos named after the inputs but stored in the other order, and unnamed in input
order), a calibration .npz, and bad data (a .npy of one input, an .npz with a wrong shape).
expected.json holds the float accuracy numpy computes on the 240 samples.

pinned.onnx pins a batch of 1 in a way make_batch_dynamic cannot rewrite ([1,4,8] reshaped to
[4,8], a MatMul, reshaped to [1,24], a Gemm); batchable.onnx computes the same with the same
weights on [N,4,8]. x.npy / y.npy / calib.npy are their data, x.pb their data as one TensorProto.

usage: write_model_cases.py OUT_DIR
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

COUNT, CALIB = 240, 64


def save_pb(array, name, path):
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(np.ascontiguousarray(array), name).SerializeToString())


def labels_for(logits, rng):
    # The float model's class for 3 samples in 4, another class for the 4th: accuracy 0.75.
    y = logits.argmax(axis=1).astype(np.int64)
    y[::4] = (y[::4] + 1 + rng.integers(0, 9, size=y[::4].shape)) % 10
    return y


def two_input(out, rng):
    w1 = rng.normal(0, 0.3, (16, 64)).astype(np.float32)
    b1 = rng.normal(0, 0.1, 16).astype(np.float32)
    w2 = rng.normal(0, 0.5, (8, 6)).astype(np.float32)
    b2 = rng.normal(0, 0.1, 8).astype(np.float32)
    w3 = rng.normal(0, 0.5, (10, 24)).astype(np.float32)
    b3 = rng.normal(0, 0.1, 10).astype(np.float32)
    init = [numpy_helper.from_array(a, n) for a, n in
            [(w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"), (w3, "w3"), (b3, "b3")]]
    nodes = [
        helper.make_node("Flatten", ["image"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "w1", "b1"], ["g1"], name="image_fc", transB=1),
        helper.make_node("Relu", ["g1"], ["h1"], name="relu1"),
        helper.make_node("Gemm", ["extra", "w2", "b2"], ["g2"], name="extra_fc", transB=1),
        helper.make_node("Relu", ["g2"], ["h2"], name="relu2"),
        helper.make_node("Concat", ["h1", "h2"], ["h"], name="join", axis=1),
        helper.make_node("Gemm", ["h", "w3", "b3"], ["logits"], name="classifier", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "two_input",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 8, 8]),
         helper.make_tensor_value_info("extra", TensorProto.FLOAT, ["N", 6])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], init)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), f"{out}/two_input.onnx")

    def forward(image, extra):
        h1 = np.maximum(image.reshape(len(image), -1) @ w1.T + b1, 0)
        h2 = np.maximum(extra @ w2.T + b2, 0)
        return np.concatenate([h1, h2], axis=1) @ w3.T + b3

    image = rng.uniform(0, 1, (COUNT, 1, 8, 8)).astype(np.float32)
    extra = rng.uniform(0, 1, (COUNT, 6)).astype(np.float32)
    logits = forward(image, extra)
    y = labels_for(logits, rng)
    np.savez(f"{out}/two.npz", image=image, extra=extra, y=y)
    np.savez(f"{out}/two_calib.npz", image=rng.uniform(0, 1, (CALIB, 1, 8, 8)).astype(np.float32),
             extra=rng.uniform(0, 1, (CALIB, 6)).astype(np.float32))
    np.save(f"{out}/two_y.npy", y)
    os.makedirs(f"{out}/two_named", exist_ok=True)  # named, stored in the other order
    save_pb(extra, "extra", f"{out}/two_named/input_0.pb")
    save_pb(image, "image", f"{out}/two_named/input_1.pb")
    os.makedirs(f"{out}/two_unnamed", exist_ok=True)  # unnamed: bound by position
    save_pb(image, "", f"{out}/two_unnamed/input_0.pb")
    save_pb(extra, "", f"{out}/two_unnamed/input_1.pb")
    np.save(f"{out}/image.npy", image)
    np.savez(f"{out}/two_badshape.npz", image=image, extra=extra[:, :5], y=y)
    # 'accuracy' over the first 200 (the run's --limit), argmax in float64 and float32 agreeing.
    agree = (logits.argmax(1) == logits.astype(np.float32).argmax(1)).all()
    return {"two_input_float_accuracy": float((logits[:200].argmax(1) == y[:200]).mean()), "argmax_stable": bool(agree)}


def pinned(out, rng):
    w = rng.normal(0, 0.5, (8, 6)).astype(np.float32)
    w2 = rng.normal(0, 0.4, (10, 24)).astype(np.float32)
    b2 = rng.normal(0, 0.1, 10).astype(np.float32)

    def model(path, batch):
        init = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(w2, "w2"), numpy_helper.from_array(b2, "b2"),
                numpy_helper.from_array(np.array([1, -1] if batch == 1 else [-1, 24], np.int64), "flat_shape")]
        nodes = []
        x = "x"
        if batch == 1:  # the batch dropped, then restored: make_batch_dynamic cannot rewrite this
            init.append(numpy_helper.from_array(np.array([4, 8], np.int64), "drop_shape"))
            nodes.append(helper.make_node("Reshape", ["x", "drop_shape"], ["x2"], name="drop_batch"))
            x = "x2"
        nodes += [
            helper.make_node("MatMul", [x, "w"], ["m"], name="mm"),
            helper.make_node("Relu", ["m"], ["r"], name="relu"),
            helper.make_node("Reshape", ["r", "flat_shape"], ["f"], name="flat"),
            helper.make_node("Gemm", ["f", "w2", "b2"], ["y"], name="classifier", transB=1),
        ]
        n = 1 if batch == 1 else "N"
        graph = helper.make_graph(nodes, "pinned" if batch == 1 else "batchable",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, 4, 8])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, 10])], init)
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)

    model(f"{out}/pinned.onnx", 1)
    model(f"{out}/batchable.onnx", None)
    x = rng.uniform(0, 1, (COUNT, 4, 8)).astype(np.float32)
    logits = (np.maximum(x @ w, 0).reshape(COUNT, -1)) @ w2.T + b2
    np.save(f"{out}/x.npy", x)
    np.save(f"{out}/y.npy", labels_for(logits, rng))
    np.save(f"{out}/calib.npy", rng.uniform(0, 1, (CALIB, 4, 8)).astype(np.float32))
    save_pb(x[:20], "x", f"{out}/x.pb")


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(14)
    expected = two_input(out, rng)
    pinned(out, rng)
    with open(f"{out}/expected.json", "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main()
