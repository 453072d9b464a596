#!/usr/bin/python3
"""Write a VGG-8 in NeuroSim's channel widths for 28x28 one-channel inputs, random (seeded) weights, as ONNX.

Usage:
    /usr/bin/python3 bench/vgg8_neurosim.py --out /tmp/vgg8/model.onnx

The timing workload of issue 21 (docs/performance.md): NeuroSim 1.4's VGG-8 (conv 128, 128, pool, 256, 256,
pool, 512, 512, pool, FC 1024, FC 10; 3x3 same padding, no bias) on Fashion-MNIST-sized inputs, 0.468 G MACs per
image (0.616 G on NeuroSim's 32x32x3 CIFAR-10 inputs). The weights are Kaiming-normal, seeded, not trained: the
model is for simulator timing, and its accuracy means nothing. Input "input" [N,1,28,28], output "logits" [N,10],
opset 13, dynamic batch axis.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse

import torch
import torch.nn as nn

SEED = 20240611


class VGG8(nn.Module):
    CFG = [128, 128, "M", 256, 256, "M", 512, 512, "M"]

    def __init__(self, cin=1, side=28, classes=10):
        super().__init__()
        layers = []
        for v in self.CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
                side //= 2
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1, bias=False), nn.ReLU()]
                cin = v
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(cin * side * side, 1024, bias=False), nn.ReLU(),
                                        nn.Linear(1024, classes, bias=False))
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")

    def forward(self, x):
        return self.classifier(self.features(x))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="ONNX file to write")
    args = ap.parse_args()
    torch.manual_seed(SEED)
    model = VGG8().eval()
    macs = 0

    def hook(mod, inp, out):
        nonlocal macs
        macs += out.numel() * (mod.weight[0].numel())

    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m.register_forward_hook(hook)
    x = torch.randn(1, 1, 28, 28)
    with torch.no_grad():
        model(x)
    macs_per_image = macs  # before the export's trace runs the hooks again
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)  # the default /tmp/vgg8 may not exist yet
    torch.onnx.export(model, x, args.out, opset_version=13, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    print(f"{args.out}: {macs_per_image / 1e9:.3f} G MACs per image")


if __name__ == "__main__":
    main()
