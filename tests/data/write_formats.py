#!/usr/bin/python3
"""Writes the first Fashion-MNIST test images in every format the dataset layer reads, for the
end-to-end tests: .npy + labels .npy, .npz (x, y), ONNX .pb folders (one case, and
test_data_set_*/), a PNG image folder, CIFAR-10 binary batches (padded to 3x32x32), a re-gzipped
IDX pair, plus a calibration .npy and a CIFAR-shaped copy of a zoo model (3x32x32 input: channel 0
cropped to 28x28, then the model) so that padded data can be scored against the IDX path.

usage: write_formats.py OUT_DIR COUNT CALIB_COUNT ZOO_MODEL.onnx
"""
import gzip
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

MEAN, STD = np.float32(0.2860), np.float32(0.3530)
FMNIST = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def normalize(pixels):
    # The float32 operations of models/train.py, in its order: bit-identical to the IDX path.
    return (pixels.astype(np.float32) / np.float32(255) - MEAN) / STD


def save_pb(array, name, path):
    t = numpy_helper.from_array(np.ascontiguousarray(array), name)
    with open(path, "wb") as f:
        f.write(t.SerializeToString())


def cifar_shaped_model(zoo_path, out_path):
    m = onnx.load(zoo_path)
    g = m.graph
    old_input = g.input[0].name
    new_input = "x32"
    # Slice channel 0 and rows/cols 2..30 of a [N,3,32,32] input: the padded image back.
    consts = [numpy_helper.from_array(np.array(v, dtype=np.int64), n) for n, v in
              (("pad_starts", [0, 2, 2]), ("pad_ends", [1, 30, 30]), ("pad_axes", [1, 2, 3]))]
    g.initializer.extend(consts)
    node = helper.make_node("Slice", [new_input, "pad_starts", "pad_ends", "pad_axes"], [old_input], name="crop_to_28")
    g.node.insert(0, node)
    vi = helper.make_tensor_value_info(new_input, TensorProto.FLOAT, ["N", 3, 32, 32])
    g.input.remove(g.input[0])
    g.input.insert(0, vi)
    onnx.save(m, out_path)


def main():
    out, count, calib, zoo = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    os.makedirs(out, exist_ok=True)
    images = read_idx(f"{FMNIST}/t10k-images-idx3-ubyte.gz")[:count]
    labels = read_idx(f"{FMNIST}/t10k-labels-idx1-ubyte.gz")[:count].astype(np.int64)
    train = read_idx(f"{FMNIST}/train-images-idx3-ubyte.gz")[:calib]
    x = normalize(images)[:, None, :, :]  # [N,1,28,28]

    np.save(f"{out}/x.npy", x)
    np.save(f"{out}/y.npy", labels)
    np.save(f"{out}/calib.npy", normalize(train)[:, None, :, :])
    np.savez(f"{out}/stored.npz", x=x, y=labels)
    np.savez_compressed(f"{out}/compressed.npz", x=x.astype(np.float16).astype(np.float32), y=labels)
    np.save(f"{out}/x_f16.npy", x.astype(np.float16))

    os.makedirs(f"{out}/pb_one", exist_ok=True)
    save_pb(x, "input", f"{out}/pb_one/input_0.pb")
    half = count // 2
    for k, (a, b) in enumerate(((0, half), (half, count))):
        d = f"{out}/pb_sets/test_data_set_{k}"
        os.makedirs(d, exist_ok=True)
        save_pb(x[a:b], "input", f"{d}/input_0.pb")

    # IDX, as Debian ships it (gzip).
    def write_idx(path, arr):
        head = bytes([0, 0, 8, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
        with gzip.open(path, "wb") as f:
            f.write(head + arr.astype(np.uint8).tobytes())
    write_idx(f"{out}/t10k-images-idx3-ubyte.gz", images)
    write_idx(f"{out}/t10k-labels-idx1-ubyte.gz", labels.astype(np.uint8))

    # CIFAR-10 binary: label byte + 3x32x32 planes; the 28x28 image in channel 0 at offset (2, 2).
    padded = np.zeros((count, 3, 32, 32), dtype=np.uint8)
    padded[:, 0, 2:30, 2:30] = images
    os.makedirs(f"{out}/cifar", exist_ok=True)
    with open(f"{out}/cifar/test_batch.bin", "wb") as f:
        for i in range(count):
            f.write(bytes([int(labels[i])]) + padded[i].tobytes())
    np.save(f"{out}/x32.npy", ((padded.astype(np.float32) / np.float32(255) - MEAN) / STD))

    # PNG image folder (ImageFolder layout; class folders named so sorted order = label order).
    try:
        from PIL import Image
        for i in range(count):
            d = f"{out}/png/class_{labels[i]:02d}"
            os.makedirs(d, exist_ok=True)
            Image.fromarray(images[i], mode="L").save(f"{d}/img_{i:05d}.png")
        for c in range(10):  # every class present, so labels equal the folder index
            os.makedirs(f"{out}/png/class_{c:02d}", exist_ok=True)
    except ImportError:
        pass

    with open(f"{out}/fmnist.yaml", "w") as f:
        f.write("# Fashion-MNIST as models/train.py normalizes it\ngrayscale: true\nmean: [0.2860]\nstd: [0.3530]\n")
    with open(f"{out}/fmnist32.yaml", "w") as f:
        f.write("# the padded 3-channel copy, normalized alike\nmean: [0.2860, 0.2860, 0.2860]\nstd: [0.3530, 0.3530, 0.3530]\n")
    cifar_shaped_model(zoo, f"{out}/model32.onnx")


if __name__ == "__main__":
    main()
