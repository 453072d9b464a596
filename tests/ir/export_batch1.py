#!/usr/bin/python3
"""Export small PyTorch models the way users do by default: torch.onnx.export at
batch 1 without dynamic_axes, so the batch is pinned and the shape arithmetic
traced at batch 1 is folded into constants. Used by tests/ir/test_batch.cpp.

Usage: /usr/bin/python3 tests/ir/export_batch1.py OUT_DIR [--resnet18]

For each model NAME it writes OUT_DIR/NAME.onnx and, for the models PyTorch
itself runs on any batch, OUT_DIR/NAME/input_0.pb (3 seeded items) and
OUT_DIR/NAME/output_0.pb (PyTorch's eager result on those 3 items at once).
--resnet18 adds models/imagenet.py's ResNet-18 exported the same way (its
BatchNorm statistics calibrated on 2 images, not 8, to save time), with a
reference for 2 items.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
SEED = 1234
HERE = os.path.dirname(os.path.abspath(__file__))


class LeNetView(nn.Module):
    """LeNet-5 on 3x32x32 flattened with x.view(1, -1): a Reshape to the constant [1, 400]."""

    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(3, 6, 5), nn.Conv2d(6, 16, 5)
        self.f1, self.f2, self.f3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        x = x.view(1, -1)
        return self.f3(F.relu(self.f2(F.relu(self.f1(x)))))


class LeNetFlatten(LeNetView):
    """The same with torch.flatten(x, 1): ONNX Flatten, which pins nothing."""

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        return self.f3(F.relu(self.f2(F.relu(self.f1(torch.flatten(x, 1))))))


class ShapeZero(nn.Module):
    """x.reshape(x.shape[0], -1) and x.view(x.size(0), 4, -1): Shape/Gather/Concat chains folded at batch 1."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.fc = nn.Linear(8 * 4 * 4, 5)

    def forward(self, x):
        x = F.avg_pool2d(torch.tanh(self.conv(x)), 2)
        y = x.view(x.size(0), 4, -1).softmax(-1)
        return self.fc(y.reshape(x.shape[0], -1))


class Attention(nn.Module):
    """Batch-first multi-head self-attention written out: every reshape carries x.shape[0]."""

    def __init__(self, dim=16, heads=4):
        super().__init__()
        self.heads = heads
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        a = (q @ k.transpose(-2, -1) * (c // self.heads) ** -0.5).softmax(-1)
        return self.proj((a @ v).transpose(1, 2).reshape(b, n, c))


class ClassToken(nn.Module):
    """ViT's class token: cls.expand(x.shape[0], -1, -1) folds to a [1, 1, D] constant joined to x."""

    def __init__(self, dim=8):
        super().__init__()
        self.embed = nn.Conv2d(1, dim, 4, 4)
        self.cls = nn.Parameter(torch.randn(1, 1, dim))
        self.head = nn.Linear(dim, 3)

    def forward(self, x):
        t = self.embed(x).flatten(2).transpose(1, 2)
        t = torch.cat([self.cls.expand(x.shape[0], -1, -1), t], dim=1)
        t = t + torch.zeros(x.shape[0], 1, 1)
        return self.head(t[:, 0])


class Gram(nn.Module):
    """Style-transfer Gram matrix: x.view(C, H*W) puts the batch into the channel axis (cannot batch)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)

    def forward(self, x):
        f = self.conv(x)
        f = f.view(4, -1)
        return (f @ f.t()).view(1, -1)


class BatchMatMul(nn.Module):
    """h.t() @ h: a MatMul over the batch axis (cannot batch)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 4)

    def forward(self, x):
        h = self.fc(x)
        return (h.t() @ h).reshape(1, -1)


class BatchSoftmax(nn.Module):
    """Softmax over dim 0, the batch: every shape infers, only the values differ (cannot batch)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 4)

    def forward(self, x):
        return torch.softmax(self.fc(x), dim=0)


# name: (class, input shape at batch 1, PyTorch runs it on any batch)
MODELS = {
    "lenet_view": (LeNetView, (1, 3, 32, 32), False),  # view(1, -1) is batch 1 in PyTorch too
    "lenet_flatten": (LeNetFlatten, (1, 3, 32, 32), True),
    "shape_zero": (ShapeZero, (1, 1, 8, 8), True),
    "attention": (Attention, (1, 5, 16), True),
    "class_token": (ClassToken, (1, 1, 8, 8), True),
    "gram": (Gram, (1, 2, 6, 6), False),
    "batch_matmul": (BatchMatMul, (1, 6), False),
    "batch_softmax": (BatchSoftmax, (1, 6), False),
}


def save_pb(array, name, path):
    from onnx import numpy_helper
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(array, name).SerializeToString())


def export(model, shape, path):
    model.eval()
    with torch.no_grad():
        torch.onnx.export(model, torch.zeros(*shape), path, opset_version=13, input_names=["input"],
                          output_names=["output"], do_constant_folding=True)


def write_reference(model, shape, folder):
    """Seeded items of `shape` and PyTorch's eager result on all of them at once, as .pb files."""
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(SEED))
    with torch.no_grad():
        y = model(x)
    os.makedirs(folder, exist_ok=True)
    save_pb(x.numpy(), "input", os.path.join(folder, "input_0.pb"))
    save_pb(y.numpy(), "output", os.path.join(folder, "output_0.pb"))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for k, (name, (cls, shape, any_batch)) in enumerate(MODELS.items()):
        torch.manual_seed(SEED + k)
        model = cls().eval()
        export(model, shape, os.path.join(out, name + ".onnx"))
        if any_batch:
            write_reference(model, (3,) + shape[1:], os.path.join(out, name))
    if "--resnet18" in sys.argv:
        sys.path.insert(0, os.path.join(HERE, "..", "..", "models"))
        import imagenet
        torch.manual_seed(imagenet.SEED)
        model = imagenet.BUILDERS["resnet18"]()
        imagenet.calibrate_batchnorm(model, images=2)
        export(model, (1, 3, 224, 224), os.path.join(out, "resnet18.onnx"))
        write_reference(model, (2, 3, 224, 224), os.path.join(out, "resnet18"))
    print("exported to", out)


if __name__ == "__main__":
    main()
