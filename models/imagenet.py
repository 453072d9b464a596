#!/usr/bin/python3
"""Write full-size ImageNet architectures, with random (seeded) weights, as ONNX.

Usage:
    /usr/bin/python3 models/imagenet.py --model all              # into models/imagenet/
    /usr/bin/python3 models/imagenet.py --model vgg16 --out DIR
    /usr/bin/python3 models/imagenet.py --model vgg16 --external-data

The networks are written by hand in PyTorch to match torchvision's vgg16,
resnet18, resnet50 and mobilenet_v2 layer for layer (torchvision is not a
dependency); the script checks the parameter counts against torchvision's.
They are for mapping and simulation studies of realistic layer shapes: the
weights are random (torchvision's initialization, seeded), not trained. The
BatchNorm running statistics are calibrated on a few seeded N(0,1) random
images, so that activations stay of order 1 through the network.

Every model: opset 13, input "input" [N,3,224,224] float32 with a dynamic batch
axis N, output "logits" [N,1000], exported in eval mode so BatchNorm is folded
into the convolutions and Dropout disappears. VGG16 is about 553 MB, under the
2 GB protobuf limit; --external-data stores the weights next to the model as
<name>.onnx.data (ONNX external data) instead.

models/imagenet/ is git-ignored: regenerate the files rather than commit them.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import json
import sys
import time

import torch
import torch.nn as nn

torch.set_num_threads(1)
torch.set_num_interop_threads(1)

SEED = 20240611
HERE = os.path.dirname(os.path.abspath(__file__))

# Parameter counts of torchvision's models (torchvision.models.<name>()), before BN folding.
TORCHVISION_PARAMS = {
    "vgg16": 138_357_544,
    "resnet18": 11_689_512,
    "resnet50": 25_557_032,
    "mobilenetv2": 3_504_872,
}


# ---------------------------------------------------------------------------
# VGG16 (torchvision vgg16, configuration "D", no BatchNorm)
# ---------------------------------------------------------------------------

class VGG16(nn.Module):
    CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]

    def __init__(self, num_classes=1000):
        super().__init__()
        layers, cin = [], 3
        for v in self.CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=True)]
                cin = v
        self.features = nn.Sequential(*layers)
        # torchvision has AdaptiveAvgPool2d((7, 7)) here; for a 224x224 input the
        # feature map is already 7x7, so it is the identity and is left out.
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(inplace=True), nn.Dropout(),
            nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(),
            nn.Linear(4096, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


# ---------------------------------------------------------------------------
# ResNet-18 / ResNet-50 (torchvision, v1.5: stride in the 3x3 conv)
# ---------------------------------------------------------------------------

class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes=1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], 2)
        self.layer3 = self._make_layer(block, 256, layers[2], 2)
        self.layer4 = self._make_layer(block, 512, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        # nn.Linear keeps PyTorch's default initialization, as in torchvision.

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# ---------------------------------------------------------------------------
# MobileNetV2 (torchvision mobilenet_v2, width 1.0)
# ---------------------------------------------------------------------------

def conv_bn_relu6(cin, cout, k=3, stride=1, groups=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand_ratio):
        super().__init__()
        hidden = int(round(cin * expand_ratio))
        self.use_res = stride == 1 and cin == cout
        layers = []
        if expand_ratio != 1:
            layers.append(conv_bn_relu6(cin, hidden, 1))
        layers += [conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden),
                   nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2(nn.Module):
    SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]  # t, c, n, s

    def __init__(self, num_classes=1000):
        super().__init__()
        cin = 32
        features = [conv_bn_relu6(3, cin, stride=2)]
        for t, c, n, s in self.SETTINGS:
            for i in range(n):
                features.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        features.append(conv_bn_relu6(cin, 1280, 1))
        self.features = nn.Sequential(*features)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


BUILDERS = {
    "vgg16": VGG16,
    "resnet18": lambda: ResNet(BasicBlock, [2, 2, 2, 2]),
    "resnet50": lambda: ResNet(Bottleneck, [3, 4, 6, 3]),
    "mobilenetv2": MobileNetV2,
}
MODEL_NAMES = list(BUILDERS)


def calibrate_batchnorm(model, images=8):
    """Sets every BatchNorm's running mean and variance to the statistics of its
    input for a few seeded N(0,1) random images. With freshly initialized
    statistics (mean 0, variance 1) and random weights, activations shrink or grow
    from layer to layer (MobileNetV2's logits would be ~1e-9); calibrated, every
    layer's activations stay of order 1, which quantization and simulation
    studies need."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    if not bns:
        return
    gen = torch.Generator().manual_seed(SEED + 1)
    x = torch.randn(images, 3, 224, 224, generator=gen)
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over the calibration pass
    model.train()
    with torch.no_grad():
        model(x)
    model.eval()


def count_macs(model):
    """MACs of Conv2d and Linear layers for one 3x224x224 image."""
    total = [0]

    def hook(mod, inp, out):
        if isinstance(mod, nn.Conv2d):
            total[0] += out.numel() * mod.kernel_size[0] * mod.kernel_size[1] * (mod.in_channels // mod.groups)
        else:
            total[0] += out.numel() * mod.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model(torch.zeros(1, 3, 224, 224))
    for h in handles:
        h.remove()
    return total[0]


def write(name, out_dir, external_data):
    import onnx

    torch.manual_seed(SEED)
    model = BUILDERS[name]()
    calibrate_batchnorm(model)
    model.eval()
    params = sum(p.numel() for p in model.parameters())
    if params != TORCHVISION_PARAMS[name]:
        raise RuntimeError(f"{name}: {params} parameters, torchvision's has {TORCHVISION_PARAMS[name]}")
    macs = count_macs(model)
    # Weights of the layers that go onto crossbars (Conv2d and Linear, without biases).
    mvm_weights = sum(m.weight.numel() for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))
    path = os.path.join(out_dir, f"{name}.onnx")
    data_name = f"{name}.onnx.data"
    if os.path.exists(os.path.join(out_dir, data_name)):
        os.remove(os.path.join(out_dir, data_name))
    t0 = time.time()
    with torch.no_grad():
        torch.onnx.export(model, torch.zeros(1, 3, 224, 224), path, opset_version=13,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                          do_constant_folding=True, training=torch.onnx.TrainingMode.EVAL)
    m = onnx.load(path)
    ops = sorted({n.op_type for n in m.graph.node})
    if "BatchNormalization" in ops or "Dropout" in ops:
        raise RuntimeError(f"{name}: export left BatchNormalization/Dropout in the graph: {ops}")
    meta = {
        "architecture": f"torchvision {name} (written by hand in models/imagenet.py)",
        "weights": f"random, torch.manual_seed({SEED}); not trained",
        "batchnorm_statistics": "calibrated on 8 seeded N(0,1) random images (none in vgg16)",
        "parameters": str(params),
        "macs_per_image": str(macs),
        "mvm_weights": str(mvm_weights),
        "input": "[N,3,224,224] float32",
        "generated_by": "models/imagenet.py",
    }
    del m.metadata_props[:]
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    if external_data:
        onnx.save_model(m, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=data_name, size_threshold=1024)
        onnx.checker.check_model(path)
    else:
        onnx.checker.check_model(m)
        onnx.save_model(m, path)
    size = os.path.getsize(path)
    data_path = os.path.join(out_dir, data_name)
    data_size = os.path.getsize(data_path) if os.path.exists(data_path) else 0
    info = {"parameters": params, "mvm_weights": mvm_weights, "macs_per_image": macs, "onnx_bytes": size,
            "external_data_bytes": data_size, "onnx_ops": ops, "seconds": round(time.time() - t0, 1)}
    print(f"{name}: {params} parameters, {macs} MACs/image, {size} bytes"
          + (f" + {data_size} bytes external data" if data_size else "")
          + f" -> {path} ({info['seconds']} s)", flush=True)
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="all", help="all or one of: " + ", ".join(MODEL_NAMES))
    ap.add_argument("--out", default=os.path.join(HERE, "imagenet"), help="output directory (default models/imagenet)")
    ap.add_argument("--external-data", action="store_true",
                    help="store the weights as ONNX external data (<name>.onnx.data)")
    ap.add_argument("--keep-existing", action="store_true",
                    help="skip models already in --out (listed in its summary.json with their .onnx present)")
    args = ap.parse_args()
    names = MODEL_NAMES if args.model == "all" else [args.model]
    for n in names:
        if n not in BUILDERS:
            ap.error(f"unknown model {n!r}; choose all or one of {', '.join(MODEL_NAMES)}")
    os.makedirs(args.out, exist_ok=True)
    summary_path = os.path.join(args.out, "summary.json")
    summary = {}
    if os.path.exists(summary_path):
        with open(summary_path) as f:
            summary = json.load(f)
    for n in names:
        if args.keep_existing and n in summary and "mvm_weights" in summary[n] \
                and os.path.exists(os.path.join(args.out, f"{n}.onnx")):
            print(f"{n}: kept {os.path.join(args.out, n + '.onnx')}", flush=True)
            continue
        summary[n] = write(n, args.out, args.external_data)
        with open(summary_path, "w") as f:
            json.dump(summary, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
