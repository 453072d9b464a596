#!/usr/bin/python3
"""Train and export the cimforge Fashion-MNIST model zoo.

Usage:
    /usr/bin/python3 models/train.py --model all            # retrain every model
    /usr/bin/python3 models/train.py --model vgg            # one model
    /usr/bin/python3 models/train.py --model all --epochs-scale 0.2   # quick trial
    /usr/bin/python3 models/train.py --benchmark            # time a few steps per model

Everything is seeded (torch, numpy, and a torch.Generator that draws the data
order and the augmentation), and training uses ONE thread, so a rerun on the
same machine and software gives the same weights.

Input normalization (the C++ loader cim::models::load_fashion_mnist does the
same): x = pixel / 255; x = (x - 0.2860) / 0.3530.

Output, per model, in models/zoo/<name>/:
    model.onnx                      opset 13, input "input" [N,1,28,28] float32,
                                    output "logits" [N,10]; BatchNorm folded.
    test_data_set_0/input_0.pb      first 256 test images, normalized
    test_data_set_0/output_0.pb     PyTorch's float32 logits for them
and models/zoo/summary.json with parameters, MACs, accuracy and training time.
"""

import os

# One thread everywhere (torch's intra-op pool, OpenMP, OpenBLAS): the machine is shared.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import gzip
import json
import math
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
torch.set_num_interop_threads(1)

SEED = 20240611
MEAN = 0.2860
STD = 0.3530
NORMALIZATION = "x/255; (x-0.2860)/0.3530"
DEFAULT_DATA_DIR = "/usr/share/datasets/fashion-mnist"
HERE = os.path.dirname(os.path.abspath(__file__))
ZOO_DIR = os.path.join(HERE, "zoo")
TEST_DATA_COUNT = 256


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------

def read_idx_gz(path, expected_magic):
    """Reads an IDX file compressed with gzip; returns a uint8 numpy array."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: truncated IDX header")
    magic = struct.unpack(">I", data[:4])[0]
    if magic != expected_magic:
        raise ValueError(f"{path}: bad magic number {magic}, expected {expected_magic}")
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    offset = 4 + 4 * ndim
    count = int(np.prod(dims))
    if len(data) - offset != count:
        raise ValueError(f"{path}: expected {count} bytes of data, found {len(data) - offset}")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)


def load_split(data_dir, split):
    """split: 'train' or 't10k'. Returns (normalized float32 [N,1,28,28], int64 labels [N])."""
    images = read_idx_gz(os.path.join(data_dir, f"{split}-images-idx3-ubyte.gz"), 2051)
    labels = read_idx_gz(os.path.join(data_dir, f"{split}-labels-idx1-ubyte.gz"), 2049)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{split}: {images.shape[0]} images but {labels.shape[0]} labels")
    x = normalize(images).reshape(-1, 1, 28, 28)
    return torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64))


def normalize(u8):
    x = u8.astype(np.float32) / np.float32(255.0)
    return (x - np.float32(MEAN)) / np.float32(STD)


BACKGROUND = (0.0 - MEAN) / STD  # a black pixel after normalization


def augment(x, gen, crop, flip):
    """Random horizontal flip and random crop with padding 2 (background-filled)."""
    b = x.shape[0]
    if flip:
        mask = torch.rand(b, generator=gen) < 0.5
        x = torch.where(mask[:, None, None, None], x.flip(3), x)
    if crop:
        pad = 2
        xp = F.pad(x, (pad, pad, pad, pad), value=BACKGROUND)
        dy = torch.randint(0, 2 * pad + 1, (b,), generator=gen)
        dx = torch.randint(0, 2 * pad + 1, (b,), generator=gen)
        ar = torch.arange(28)
        rows = (dy[:, None] + ar[None, :])[:, :, None]  # [B,28,1]
        cols = (dx[:, None] + ar[None, :])[:, None, :]  # [B,1,28]
        x = xp[torch.arange(b)[:, None, None], 0, rows, cols].unsqueeze(1)
    return x


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------

class MatMul(nn.Module):
    """torch.matmul as a module, so that the MAC-counting hooks see it."""

    def forward(self, a, b):
        return torch.matmul(a, b)


def conv_bn(cin, cout, k=3, stride=1, groups=1):
    return [nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, 256), nn.ReLU(inplace=True), nn.Dropout(0.2),
            nn.Linear(256, 128), nn.ReLU(inplace=True), nn.Dropout(0.2),
            nn.Linear(128, 10))

    def forward(self, x):
        return self.net(x)


class LeNet5(nn.Module):
    """LeNet-5 (ReLU and max pooling instead of tanh and subsampling)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(inplace=True), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Linear(16 * 5 * 5, 120), nn.ReLU(inplace=True),
            nn.Linear(120, 84), nn.ReLU(inplace=True),
            nn.Linear(84, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class VGG(nn.Module):
    """The VGG-11 layer pattern: 8 conv3x3+BN+ReLU layers in five stages of 1-1-2-2-2
    convs, then 3 fully connected layers. Channels are scaled down (64-128-256-512-512
    -> 16-32-64-96-96). A 28x28 input allows only three 2x2 poolings before 3x3, so
    stages 4 and 5 both run at 3x3 and the net ends in a 3x3 max pool (to 1x1)."""

    CFG = [16, "M", 32, "M", 64, 64, "M", 96, 96, 96, 96, "P3"]

    def __init__(self):
        super().__init__()
        layers, cin = [], 1
        for v in self.CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            elif v == "P3":
                layers.append(nn.MaxPool2d(3))
            else:
                layers += conv_bn(cin, v)
                cin = v
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Linear(cin, 256), nn.ReLU(inplace=True), nn.Dropout(0.3),
            nn.Linear(256, 256), nn.ReLU(inplace=True), nn.Dropout(0.3),
            nn.Linear(256, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.shortcut is None else self.shortcut(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    """A small ResNet: 3x3 stem, basic blocks with identity / 1x1 projection skips."""

    BLOCKS = [(16, 32, 2), (32, 32, 1), (32, 64, 2), (64, 64, 1), (64, 128, 2)]

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(*conv_bn(1, 16))
        self.layers = nn.Sequential(*[BasicBlock(a, b, s) for a, b, s in self.BLOCKS])
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(self.BLOCKS[-1][1], 10)

    def forward(self, x):
        x = self.pool(self.layers(self.stem(x)))
        return self.fc(torch.flatten(x, 1))


class MobileNet(nn.Module):
    """MobileNet-v1 style: 3x3 stem, then depthwise 3x3 + pointwise 1x1 blocks."""

    BLOCKS = [(16, 32, 1), (32, 64, 2), (64, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2)]

    def __init__(self):
        super().__init__()
        layers = conv_bn(1, 16)
        for cin, cout, stride in self.BLOCKS:
            layers += conv_bn(cin, cin, 3, stride=stride, groups=cin)  # depthwise
            layers += conv_bn(cin, cout, 1)  # pointwise
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(self.BLOCKS[-1][1], 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


class Attention(nn.Module):
    """Multi-head self-attention with explicit MatMuls and Softmax."""

    def __init__(self, dim, heads, tokens):
        super().__init__()
        self.dim, self.heads, self.tokens = dim, heads, tokens
        self.head_dim = dim // heads
        self.scale = self.head_dim ** -0.5
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)
        self.mm_qk = MatMul()
        self.mm_av = MatMul()
        self.softmax = nn.Softmax(dim=-1)

    def split(self, t):  # [B,T,D] -> [B,H,T,hd]
        return t.reshape(-1, self.tokens, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x):
        q = self.split(self.q(x) * self.scale)
        k = self.split(self.k(x))
        v = self.split(self.v(x))
        attn = self.softmax(self.mm_qk(q, k.transpose(2, 3)))  # [B,H,T,T]
        out = self.mm_av(attn, v).transpose(1, 2).reshape(-1, self.tokens, self.dim)
        return self.proj(out)


class TransformerBlock(nn.Module):
    def __init__(self, dim, heads, mlp_dim, tokens):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, tokens)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_dim), nn.GELU(), nn.Linear(mlp_dim, dim))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class ViT(nn.Module):
    """A small Vision Transformer: 4x4 patches (Conv patch embedding), learned position
    embedding, pre-LayerNorm blocks, mean pooling over tokens."""

    PATCH, DIM, DEPTH, HEADS, MLP_DIM = 4, 64, 4, 4, 128

    def __init__(self):
        super().__init__()
        self.grid = 28 // self.PATCH
        self.tokens = self.grid * self.grid
        self.patch = nn.Conv2d(1, self.DIM, self.PATCH, stride=self.PATCH)
        self.pos = nn.Parameter(torch.zeros(1, self.tokens, self.DIM))
        nn.init.trunc_normal_(self.pos, std=0.02)
        self.blocks = nn.Sequential(*[TransformerBlock(self.DIM, self.HEADS, self.MLP_DIM, self.tokens)
                                      for _ in range(self.DEPTH)])
        self.ln = nn.LayerNorm(self.DIM)
        self.head = nn.Linear(self.DIM, 10)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.patch(x).reshape(-1, self.DIM, self.tokens).transpose(1, 2) + self.pos
        x = self.ln(self.blocks(x))
        return self.head(x.mean(dim=1))


class RowRecurrent(nn.Module):
    """Reads the image row by row: 28 time steps of 28 features (the sequence axis first, as ONNX's
    recurrent ops take it), one recurrent layer, the last hidden state into a linear classifier.
    The shape of a keyword-spotting network on frames of audio features."""

    HIDDEN = 128

    def __init__(self, cell):
        super().__init__()
        self.rnn = cell(28, self.HIDDEN)
        self.head = nn.Linear(self.HIDDEN, 10)

    def forward(self, x):
        seq = x.reshape(-1, 28, 28).transpose(0, 1)  # [N,1,28,28] -> [T=28, N, 28]
        out = self.rnn(seq)[0]
        return self.head(out[-1])


class LSTMNet(RowRecurrent):
    def __init__(self):
        super().__init__(nn.LSTM)


class GRUNet(RowRecurrent):
    def __init__(self):
        super().__init__(nn.GRU)


# Training recipes. lr is the OneCycle peak.
RECIPES = {
    "mlp":       dict(cls=MLP,       epochs=12, opt="adam", lr=2e-3, wd=1e-4, bs=128, crop=False, flip=False, ls=0.0),
    "lenet5":    dict(cls=LeNet5,    epochs=12, opt="adam", lr=3e-3, wd=1e-4, bs=128, crop=False, flip=True,  ls=0.0),
    "vgg":       dict(cls=VGG,       epochs=15, opt="sgd",  lr=0.1,  wd=5e-4, bs=128, crop=True,  flip=True,  ls=0.0),
    "resnet":    dict(cls=ResNet,    epochs=9,  opt="sgd",  lr=0.1,  wd=5e-4, bs=128, crop=True,  flip=True,  ls=0.0),
    "mobilenet": dict(cls=MobileNet, epochs=8,  opt="sgd",  lr=0.1,  wd=4e-5, bs=128, crop=True,  flip=True,  ls=0.0),
    "vit":       dict(cls=ViT,       epochs=10, opt="adamw", lr=2e-3, wd=0.05, bs=128, crop=True, flip=True,  ls=0.0),
    "lstm":      dict(cls=LSTMNet,   epochs=8,  opt="adam", lr=3e-3, wd=0.0,  bs=128, crop=False, flip=False, ls=0.0),
    "gru":       dict(cls=GRUNet,    epochs=8,  opt="adam", lr=3e-3, wd=0.0,  bs=128, crop=False, flip=False, ls=0.0),
}
MODEL_NAMES = list(RECIPES)


# ---------------------------------------------------------------------------
# Counting
# ---------------------------------------------------------------------------

def count_macs(model):
    """MACs for one 1x28x28 image: Conv2d, Linear, MatMul (attention) and the gate products of
    LSTM/GRU (gates x (inputs + hidden) x hidden per time step)."""
    total = [0]

    def hook(mod, inp, out):
        if isinstance(mod, nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1] * (mod.in_channels // mod.groups)
            total[0] += out.numel() * k
        elif isinstance(mod, nn.Linear):
            total[0] += out.numel() * mod.in_features
        elif isinstance(mod, MatMul):
            total[0] += out.numel() * inp[0].shape[-1]
        elif isinstance(mod, (nn.LSTM, nn.GRU)):
            gates = 4 if isinstance(mod, nn.LSTM) else 3
            steps = inp[0].shape[0]
            total[0] += steps * gates * (mod.input_size + mod.hidden_size) * mod.hidden_size

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear, MatMul, nn.LSTM, nn.GRU))]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 1, 28, 28))
    model.train(was_training)
    for h in handles:
        h.remove()
    return total[0]


def count_params(model):
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------

def make_optimizer(model, r):
    if r["opt"] == "sgd":
        return torch.optim.SGD(model.parameters(), lr=r["lr"], momentum=0.9, nesterov=True,
                               weight_decay=r["wd"])
    if r["opt"] == "adam":
        return torch.optim.Adam(model.parameters(), lr=r["lr"], weight_decay=r["wd"])
    # AdamW without decay on biases, norms and the position embedding.
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (no_decay if p.ndim <= 1 or n == "pos" else decay).append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": r["wd"]},
                              {"params": no_decay, "weight_decay": 0.0}], lr=r["lr"])


@torch.no_grad()
def evaluate(model, x, y, bs=1000):
    model.eval()
    correct = 0
    for i in range(0, x.shape[0], bs):
        correct += (model(x[i:i + bs]).argmax(1) == y[i:i + bs]).sum().item()
    return correct


def seed_everything():
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    return torch.Generator().manual_seed(SEED)


def train(name, data, epochs_scale, log):
    r = RECIPES[name]
    xtr, ytr, xte, yte = data
    gen = seed_everything()
    model = r["cls"]()
    epochs = max(1, int(round(r["epochs"] * epochs_scale)))
    bs = r["bs"]
    steps_per_epoch = math.ceil(xtr.shape[0] / bs)
    opt = make_optimizer(model, r)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=r["lr"], epochs=epochs,
                                                steps_per_epoch=steps_per_epoch, pct_start=0.25)
    log(f"[{name}] params={count_params(model)} macs={count_macs(model)} epochs={epochs}")
    start = time.time()
    for epoch in range(epochs):
        model.train()
        t0 = time.time()
        perm = torch.randperm(xtr.shape[0], generator=gen)
        total_loss, seen = 0.0, 0
        for i in range(0, xtr.shape[0], bs):
            idx = perm[i:i + bs]
            xb = augment(xtr[idx], gen, r["crop"], r["flip"])
            yb = ytr[idx]
            loss = F.cross_entropy(model(xb), yb, label_smoothing=r["ls"])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total_loss += loss.item() * idx.shape[0]
            seen += idx.shape[0]
        correct = evaluate(model, xte, yte)
        log(f"[{name}] epoch {epoch + 1}/{epochs} loss={total_loss / seen:.4f} "
            f"test_acc={correct / xte.shape[0]:.4f} epoch_time={time.time() - t0:.1f}s")
    train_seconds = time.time() - start
    model.eval()
    correct = evaluate(model, xte, yte)
    return model, correct, train_seconds, epochs


# ---------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------

def export(name, model, correct, xte, out_dir):
    import onnx
    from onnx import numpy_helper

    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "model.onnx")
    model.eval()
    torch.onnx.export(model, xte[:1], path, opset_version=13,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                      do_constant_folding=True,
                      training=torch.onnx.TrainingMode.EVAL)
    m = onnx.load(path)
    ops = {n.op_type for n in m.graph.node}
    if "BatchNormalization" in ops or "Dropout" in ops:
        raise RuntimeError(f"{name}: export left {ops & {'BatchNormalization', 'Dropout'}} in the graph")
    n_test = xte.shape[0]
    meta = {
        "float_test_accuracy": f"{correct / n_test:.4f}",
        "test_correct": str(correct),
        "test_images": str(n_test),
        "dataset": "fashion-mnist",
        "normalization": NORMALIZATION,
        "trained_by": "models/train.py",
    }
    del m.metadata_props[:]
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    m.doc_string = f"cimforge model zoo: {name} trained on Fashion-MNIST"
    onnx.checker.check_model(m)
    onnx.save(m, path)

    # ONNX backend-test layout: test_data_set_0/{input_0,output_0}.pb
    td = os.path.join(out_dir, "test_data_set_0")
    os.makedirs(td, exist_ok=True)
    x = xte[:TEST_DATA_COUNT].contiguous()
    with torch.no_grad():
        y = model(x)
    for fname, arr, tname in (("input_0.pb", x, "input"), ("output_0.pb", y, "logits")):
        t = numpy_helper.from_array(arr.numpy().astype(np.float32), name=tname)
        with open(os.path.join(td, fname), "wb") as f:
            f.write(t.SerializeToString())

    weights = sum(int(np.prod(i.dims)) for i in m.graph.initializer
                  if i.data_type == onnx.TensorProto.FLOAT)
    return path, weights, sorted(ops)


# ---------------------------------------------------------------------------

def benchmark(names, data, steps=20):
    xtr, ytr, _, _ = data
    for name in names:
        r = RECIPES[name]
        gen = seed_everything()
        model = r["cls"]()
        opt = make_optimizer(model, r)
        model.train()
        bs = r["bs"]
        times = []
        for s in range(steps + 3):
            idx = torch.randint(0, xtr.shape[0], (bs,), generator=gen)
            t0 = time.time()
            xb = augment(xtr[idx], gen, r["crop"], r["flip"])
            loss = F.cross_entropy(model(xb), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if s >= 3:
                times.append(time.time() - t0)
        per_step = sum(times) / len(times)
        epoch = per_step * math.ceil(xtr.shape[0] / bs)
        print(f"{name:10s} params={count_params(model):8d} macs={count_macs(model):10d} "
              f"step={per_step * 1000:.1f}ms epoch~{epoch:.0f}s x{r['epochs']} = {epoch * r['epochs'] / 60:.1f} min",
              flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="all", help="all or one of: " + ", ".join(MODEL_NAMES))
    ap.add_argument("--epochs-scale", type=float, default=1.0,
                    help="multiply every recipe's epoch count (e.g. 0.2 for a quick trial)")
    ap.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    ap.add_argument("--out", default=ZOO_DIR, help="zoo directory (default models/zoo)")
    ap.add_argument("--benchmark", action="store_true", help="only time a few training steps per model")
    args = ap.parse_args()

    names = MODEL_NAMES if args.model == "all" else [args.model]
    for n in names:
        if n not in RECIPES:
            ap.error(f"unknown model {n!r}; choose all or one of {', '.join(MODEL_NAMES)}")

    xtr, ytr = load_split(args.data_dir, "train")
    xte, yte = load_split(args.data_dir, "t10k")
    data = (xtr, ytr, xte, yte)
    if args.benchmark:
        benchmark(names, data)
        return

    def log(msg):
        print(time.strftime("%H:%M:%S ") + msg, flush=True)

    os.makedirs(args.out, exist_ok=True)
    summary_path = os.path.join(args.out, "summary.json")
    summary = {}
    if os.path.exists(summary_path):
        with open(summary_path) as f:
            summary = json.load(f)
    summary.setdefault("models", {})
    summary["dataset"] = "fashion-mnist"
    summary["normalization"] = NORMALIZATION
    summary["torch_version"] = torch.__version__
    summary["threads"] = 1

    for name in names:
        model, correct, secs, epochs = train(name, data, args.epochs_scale, log)
        path, weights, ops = export(name, model, correct, xte, os.path.join(args.out, name))
        entry = {
            "parameters": count_params(model),
            "onnx_float_weights": weights,
            "macs_per_image": count_macs(model),
            "float_test_accuracy": round(correct / xte.shape[0], 4),
            "test_correct": correct,
            "test_images": int(xte.shape[0]),
            "epochs": epochs,
            "epochs_scale": args.epochs_scale,
            "train_seconds": round(secs, 1),
            "onnx_bytes": os.path.getsize(path),
            "onnx_ops": ops,
        }
        summary["models"][name] = entry
        summary["models"] = {k: summary["models"][k] for k in MODEL_NAMES if k in summary["models"]}
        with open(summary_path, "w") as f:
            json.dump(summary, f, indent=2)
            f.write("\n")
        log(f"[{name}] done: test_acc={correct / xte.shape[0]:.4f} time={secs:.0f}s "
            f"onnx={os.path.getsize(path)} bytes -> {path}")


if __name__ == "__main__":
    sys.exit(main())
