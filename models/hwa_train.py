#!/usr/bin/python3
"""Hardware-aware fine-tuning of a Fashion-MNIST zoo model for a compute-in-memory device, exported as a
QDQ ONNX model that cim-map, cim-quant and cim-sim run as they are, with the learned ADC ranges in a side
file for cim-sim --adc-ranges. See docs/hwa-training.md.

    PYTHONPATH=build/python /usr/bin/python3 models/hwa_train.py --model lenet5 --device isaac \\
        --set weight.bits=8 --set cell.bits=1 --set weight.encoding=twos_complement ... --steps 300 --out out/

The device is read through the C++ schema (the cimforge module): weight and input widths, cell bits and
encoding, rows per read, ADC bits and range, programming and read noise. The forward pass quantizes every
array layer's input and weights with learned step sizes (LSQ), programs the codes' digits onto cells with
programming variation redrawn per batch, and reads every row group and input plane through read noise and
the ADC (learned range per layer, clipping), as cim-sim does; every part has a switch (--no-adc, ...).
Seeded: the data order, augmentation and device noise come from --seed.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import json
import math
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import train as zoo  # noqa: E402  (the zoo's data loading and augmentation)
from hwa.device import read_device, UnsupportedDevice  # noqa: E402
from hwa.graph import GraphNet, export, integer_forward  # noqa: E402,F401
from hwa.layers import Switches  # noqa: E402


def model_path(name):
    return os.path.join(zoo.ZOO_DIR, name, "model.onnx") if name in zoo.RECIPES else name


# ---------------------------------------------------------------------------
# Learned widths under an array budget
# ---------------------------------------------------------------------------

def arrays_by_width(path, hw, names):
    """{layer: [arrays at 2, 3, ..., weight_bits bits]} from the mapper (cimforge.map), as the quantizer's
    mixed-precision budget counts them."""
    import cimforge
    dev = cimforge.Device(hw.name, hw.overrides)
    table = {n: [] for n in names}
    for b in range(2, hw.weight_bits + 1):
        m = cimforge.map(path, dev, layer_weight_bits={n: b for n in names})
        for layer in m.layers:
            if layer["name"] in table:
                table[layer["name"]].append(float(layer["arrays"]))
    return table


def arrays_at(table, name, width):
    """Arrays of one layer at a continuous width (linear between the integer widths; differentiable)."""
    t = table[name]
    b = width.clamp(2.0, float(len(t) + 1))
    i = int(min(len(t) - 2, max(0, math.floor(float(b)) - 2)))
    return t[i] + (t[i + 1] - t[i]) * (b - (i + 2)) if len(t) > 1 else torch.tensor(t[0])


def round_widths(net, table, budget):
    """Rounds every learned width; while the total exceeds the budget, the layer whose one bit less saves
    the most arrays per bit of its rounding loses a bit."""
    widths = {L.name: int(round(float(L.width.clamp(2.0, float(L.hw.weight_bits))))) for L in net.layers}
    total = lambda: sum(table[n][w - 2] for n, w in widths.items())  # noqa: E731
    while total() > budget:
        cands = [(table[n][w - 2] - table[n][w - 3], n) for n, w in widths.items() if w > 2]
        if not cands:
            raise SystemExit(f"hwa_train: the array budget {budget} is below the arrays at 2-bit weights ({total():.0f})")
        widths[max(cands)[1]] -= 1
    for L in net.layers:
        L.fixed_bits = widths[L.name]
    return widths, total()


# ---------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="zoo model name (lenet5, vgg, resnet, ...) or an ONNX file of the zoo's ops")
    ap.add_argument("--device", required=True, help="device name or YAML file (as cim-sim --device)")
    ap.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", help="device field override (as cim-sim --set)")
    ap.add_argument("--out", required=True, help="output folder: model.onnx, adc_ranges.yaml, train.json")
    ap.add_argument("--steps", type=int, default=300, help="training steps (batches)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-4, help="Adam learning rate of weights and biases (cosine decay)")
    ap.add_argument("--lr-quant", type=float, default=1e-2,
                    help="learning rate of the log step sizes and log ADC ranges (a fraction per step) and of the widths")
    ap.add_argument("--lr-width", type=float, default=0.05, help="learning rate of the width coefficients (bits per step)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--calibration", type=int, default=256, help="training images that set the initial steps and ADC ranges")
    ap.add_argument("--init", metavar="DIR", help="warm start: the weights, steps and ADC ranges an earlier run left in "
                                                   "DIR/state.pt (e.g. a noise-free LSQ fine-tune at the same widths)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the machine is shared)")
    ap.add_argument("--power-of-two", action="store_true", help="step sizes rounded to powers of two (shift-only requantization)")
    ap.add_argument("--learn-width", action="store_true", help="learn each layer's weight width in [2, quant.weight_bits]")
    ap.add_argument("--array-budget", type=float, help="with --learn-width: arrays the rounded widths must fit in")
    ap.add_argument("--width-penalty", type=float, default=1.0, help="weight of the budget's penalty in the loss")
    ap.add_argument("--no-programming", action="store_true", help="leave out programming variation")
    ap.add_argument("--no-read-noise", action="store_true", help="leave out read noise")
    ap.add_argument("--no-adc", action="store_true", help="leave out ADC quantization and clipping")
    ap.add_argument("--eval-images", type=int, default=0,
                    help="first N test images scored by the forward pass under the device before and after training, with "
                         "the same noise draws (train.json eval_before / eval_after; 0: none)")
    ap.add_argument("--data-dir", default=zoo.DEFAULT_DATA_DIR)
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    if args.learn_width and args.array_budget is None:
        ap.error("--learn-width needs --array-budget")
    return args


def build(args):
    hw = read_device(args.device, args.set)
    sw = Switches(power_of_two=args.power_of_two or hw.power_of_two, learn_width=args.learn_width,
                  programming=not args.no_programming, read_noise=not args.no_read_noise, adc=not args.no_adc)
    net = GraphNet(onnx.load(model_path(args.model)), hw, sw)
    return hw, sw, net


@torch.no_grad()
def evaluate(net, x, y, seed, bs=500):
    """Accuracy and mean cross-entropy of the forward pass under the device (every switched-on
    non-ideality), with device noise drawn from `seed`: the same draws before and after training."""
    was = net.training
    net.eval()
    noise = torch.Generator().manual_seed(seed)
    for L in net.layers:
        L.generator = noise
    correct, loss = 0, 0.0
    for i in range(0, x.shape[0], bs):
        out = net(x[i:i + bs])
        correct += int((out.argmax(1) == y[i:i + bs]).sum())
        loss += float(F.cross_entropy(out, y[i:i + bs], reduction="sum"))
    net.train(was)
    return {"accuracy": correct / x.shape[0], "loss": loss / x.shape[0], "images": int(x.shape[0])}


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    log = (lambda m: None) if args.quiet else (lambda m: print(time.strftime("%H:%M:%S ") + m, flush=True))
    try:
        hw, sw, net = build(args)
    except (UnsupportedDevice, ValueError) as e:
        print(f"hwa_train: error: {e}", file=sys.stderr)
        return 2
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    xtr, ytr = zoo.load_split(args.data_dir, "train")
    recipe = zoo.RECIPES.get(args.model, dict(crop=False, flip=False))
    calib = xtr[torch.randperm(xtr.shape[0], generator=gen)[:args.calibration]]
    net.calibrate(calib)
    if args.init:
        try:
            state = torch.load(os.path.join(args.init, "state.pt"))
            with open(os.path.join(args.init, "train.json")) as f:
                init_adc = json.load(f)["adc_ranges"] is not None
            if not init_adc:  # a run without the ADC in the loop learned no range: keep the calibrated ones
                state.update({k: v for k, v in net.state_dict().items() if k.endswith("adc_log_range")})
            net.load_state_dict(state)
        except (OSError, RuntimeError, KeyError, ValueError) as e:
            print(f"hwa_train: error: --init {args.init}: {e}; give the --out of an earlier run of the same model "
                  f"and widths", file=sys.stderr)
            return 2
    evals = {}
    if args.eval_images:
        xte, yte = zoo.load_split(args.data_dir, "t10k")
        xte, yte = xte[:args.eval_images], yte[:args.eval_images]
        evals["eval_before"] = evaluate(net, xte, yte, args.seed + 7)
        log(f"before: {evals['eval_before']}")
    noise = torch.Generator().manual_seed(args.seed + 1)
    for L in net.layers:
        L.generator = noise
    table = None
    if args.learn_width:
        table = arrays_by_width(model_path(args.model), hw, [L.name for L in net.layers])
    quant_names = ("w_log_step", "x_log_step", "adc_log_range")
    group = lambda names, inside: [p for n, p in net.named_parameters() if (n.split(".")[-1] in names) == inside]  # noqa: E731
    opt = torch.optim.Adam([{"params": group(quant_names + ("width",), False), "lr": args.lr},
                            {"params": group(quant_names, True), "lr": args.lr_quant},
                            {"params": group(("width",), True), "lr": args.lr_width}])
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / max(1, args.steps))))
    net.train()
    losses, start = [], time.time()
    perm, pos = torch.randperm(xtr.shape[0], generator=gen), 0
    for step in range(args.steps):
        if pos + args.batch > xtr.shape[0]:
            perm, pos = torch.randperm(xtr.shape[0], generator=gen), 0
        idx = perm[pos:pos + args.batch]
        pos += args.batch
        xb = zoo.augment(xtr[idx], gen, recipe["crop"], recipe["flip"])
        loss = F.cross_entropy(net(xb), ytr[idx])
        total = loss
        if table is not None:
            arrays = sum(arrays_at(table, L.name, L.width) for L in net.layers)
            total = loss + args.width_penalty * F.relu(arrays / args.array_budget - 1.0)
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        sched.step()
        losses.append(float(loss))
        if (step + 1) % 50 == 0 or step == 0:
            log(f"step {step + 1}/{args.steps} loss {np.mean(losses[-50:]):.4f} ({time.time() - start:.0f} s)")
    seconds = time.time() - start
    widths = arrays_used = None
    if table is not None:
        widths, arrays_used = round_widths(net, table, args.array_budget)
        log(f"widths {widths}: {arrays_used:.0f} arrays (budget {args.array_budget:g})")
    os.makedirs(args.out, exist_ok=True)
    summary = {"model": args.model, "device": hw.name, "overrides": args.set, "steps": args.steps, "batch": args.batch,
               "lr": args.lr, "init": args.init, "seed": args.seed, "train_seconds": round(seconds, 1), "switches": vars(sw), "losses_first_last_50": [
                   float(np.mean(losses[:50])), float(np.mean(losses[-50:]))] if losses else None,
               "adc_ranges": {L.name: float(L.adc_range.detach().clamp(min=1)) for L in net.layers}
               if sw.adc and hw.adc_bits > 0 else None,
               "weight_bits": widths or {L.name: L.code_bits() for L in net.layers}, "arrays": arrays_used}
    meta = {"trained_by": "models/hwa_train.py", "hwa_device": hw.name, "hwa_overrides": " ".join(args.set),
            "hwa_steps": args.steps, "hwa_seed": args.seed, "hwa_adc_ranges": json.dumps(summary["adc_ranges"]) if summary["adc_ranges"] else "calibrated by cim-sim",
            "normalization": zoo.NORMALIZATION}
    # ADC ranges are written only when they were trained (the ADC in the loop); otherwise cim-sim calibrates.
    trained_adc = sw.adc and hw.adc_bits > 0
    torch.save(net.state_dict(), os.path.join(args.out, "state.pt"))
    export(net, os.path.join(args.out, "model.onnx"), meta, os.path.join(args.out, "adc_ranges.yaml") if trained_adc else None)
    if args.eval_images:
        evals["eval_after"] = evaluate(net, xte, yte, args.seed + 7)
        log(f"after: {evals['eval_after']}")
    summary.update(evals)
    with open(os.path.join(args.out, "train.json"), "w") as f:
        json.dump(summary, f, indent=1)
    log(f"{seconds:.0f} s of training; wrote {args.out}/model.onnx" + (" and adc_ranges.yaml" if trained_adc else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
