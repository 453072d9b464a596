#!/usr/bin/python3
"""Regenerates the results table of docs/hwa-training.md: float vs post-training quantization (cim-sim on
the zoo model) vs hardware-aware training (models/hwa_train.py, then cim-sim on its QDQ export with its
trained ADC ranges), per model and device setting, with cim-sim's 95 % intervals over chip instances.

    PYTHONPATH=build/python /usr/bin/python3 scripts/hwa_table.py --out hwa-runs [--models lenet5 vgg resnet]
        [--settings adc4 noise] [--limit 10000] [--limits vgg=2000 ...] [--instances 3] [--steps lenet5=150 ...]
        [--warm-steps lenet5=1000 ...] [--warm-lrs resnet=1e-4 ...] [--lrs resnet-noise=1e-4 ...]

Every run's output (trained model, train.json, cim-sim JSON) stays in --out; a rerun reuses what is there,
so the table can be built up model by model. Prints the Markdown table.
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASE = ["array.adc.range=calibrated_layer", "input.bits=8", "quant.activation_bits=8"]
# The two noisy settings, as --set overrides of ISAAC (docs/hwa-training.md says why these).
# The third field: whether chip instances differ (random draws); one instance where they cannot. The fourth:
# extra hwa_train.py options of the noisy fine-tune. The fifth: whether it starts warm, from a noise-free LSQ
# fine-tune at the setting's widths (WARM_STEPS, --lr 1e-3; docs/hwa-training.md says why the noise setting does).
SETTINGS = {
    "adc4": ("8-bit weights in 1-bit cells, 4-bit ADC", False,
             BASE + ["weight.bits=8", "quant.weight_bits=8", "cell.bits=1", "array.capacity_bits=16384",
                     "weight.encoding=twos_complement", "array.adc.bits=4", "cell.on_off_ratio=.inf"], [], False),
    "noise": ("4-bit weights, programming sigma 0.05, read noise 0.05", True,
              BASE + ["weight.bits=4", "quant.weight_bits=4", "cell.bits=3", "array.capacity_bits=49152",
                      "weight.encoding=differential", "array.adc.bits=8", "noise.programming_sigma=0.05",
                      "noise.read_sigma=0.05"], [], True),
}
# Steps of the noisy fine-tune per model, or per model-setting where that differs.
DEFAULT_STEPS = {"lenet5": 150, "vgg": 60, "resnet": 40, "lenet5-noise": 400, "resnet-noise": 300}
# Weight learning rate of the noisy fine-tune where it is not hwa_train.py's 1e-4 (LeNet-5 noise: 3e-4 recovered
# more than 1e-3 from the same warm start; VGG noise ran at 1e-3; ResNet noise lost float accuracy at 1e-3 and
# ran at 1e-4; docs/hwa-training.md).
DEFAULT_LR = {"lenet5-noise": "3e-4", "vgg-noise": "1e-3", "resnet-noise": "1e-4"}
WARM_STEPS = {"lenet5": 1000, "vgg": 200, "resnet": 200}
# Learning rate of the noise-free warm start (--warm-lrs overrides it per model).
WARM_LR = {"resnet": "1e-4"}
NOISE_FREE = ["--no-programming", "--no-read-noise", "--no-adc"]
DEFAULT_BATCH = {"lenet5": 64, "vgg": 32, "resnet": 32}


def sets(fields):
    return [a for f in fields for a in ("--set", f)]


def run(cmd, log):
    t = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    log(f"{time.time() - t:.0f} s: {' '.join(cmd)}")
    return proc.stdout


def cached_json(path, cmd, log):
    if not os.path.exists(path):
        out = run(cmd, log)
        with open(path, "w") as f:
            f.write(out)
    with open(path) as f:
        return json.load(f)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--models", nargs="+", default=["lenet5", "vgg", "resnet"])
    ap.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    ap.add_argument("--limit", type=int, default=10000, help="test images per cim-sim run")
    ap.add_argument("--limits", nargs="*", default=[], metavar="MODEL=N", help="per-model test images")
    ap.add_argument("--instances", type=int, default=3, help="chip instances where they differ (noise)")
    ap.add_argument("--steps", nargs="*", default=[], metavar="MODEL[-SETTING]=N", help="noisy training steps per model")
    ap.add_argument("--lrs", nargs="*", default=[], metavar="MODEL-SETTING=LR", help="noisy fine-tune's weight learning rate")
    ap.add_argument("--warm-steps", nargs="*", default=[], metavar="MODEL=N", help="noise-free warm-start steps per model")
    ap.add_argument("--warm-lrs", nargs="*", default=[], metavar="MODEL=LR",
                    help="learning rate of the noise-free warm start per model (default 1e-3)")
    ap.add_argument("--batches", nargs="*", default=[], metavar="MODEL=N", help="training batch per model")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    args = ap.parse_args()
    steps = dict(DEFAULT_STEPS, **{k: int(v) for k, v in (s.split("=") for s in args.steps)})
    lrs = dict(DEFAULT_LR, **dict(s.split("=") for s in args.lrs))
    warm_steps = dict(WARM_STEPS, **{k: int(v) for k, v in (s.split("=") for s in args.warm_steps)})
    warm_lrs = dict(WARM_LR, **dict(s.split("=") for s in args.warm_lrs))
    batches = dict(DEFAULT_BATCH, **{k: int(v) for k, v in (s.split("=") for s in args.batches)})
    limits = {k: int(v) for k, v in (s.split("=") for s in args.limits)}
    os.makedirs(args.out, exist_ok=True)

    def log(m):
        print(time.strftime("%H:%M:%S ") + m, file=sys.stderr, flush=True)

    rows = []
    for model in args.models:
        limit = limits.get(model, args.limit)
        for key in args.settings:
            title, random, fields, train_options, warm = SETTINGS[key]
            instances = args.instances if random else 1
            sim = [os.path.join(args.bin, "cim-sim"), "--device", "isaac", *sets(fields), "--dataset", "fashion-mnist",
                   "--limit", str(limit), "--instances", str(instances), "--seed", str(args.seed), "--json", "--quiet"]
            tag = f"{model}-{key}"
            ptq = cached_json(os.path.join(args.out, f"{tag}-ptq-{limit}.json"),
                              [sim[0], os.path.join("models", "zoo", model, "model.onnx")] + sim[1:], log)
            hdir = os.path.join(args.out, f"{tag}-hwa")
            train = [sys.executable, "models/hwa_train.py", "--model", model, "--device", "isaac", *sets(fields),
                     "--batch", str(batches[model]), "--seed", str(args.seed), "--quiet"]
            if warm and not os.path.exists(os.path.join(args.out, f"{tag}-lsq", "train.json")):
                run(train + ["--steps", str(warm_steps[model]), "--lr", warm_lrs.get(model, "1e-3"), *NOISE_FREE, "--out",
                             os.path.join(args.out, f"{tag}-lsq")], log)
            if not os.path.exists(os.path.join(hdir, "train.json")):
                run(train + ["--steps", str(steps.get(tag, steps[model])), *train_options, "--out", hdir]
                    + (["--lr", lrs[tag]] if tag in lrs else [])
                    + (["--init", os.path.join(args.out, f"{tag}-lsq")] if warm else []), log)
            with open(os.path.join(hdir, "train.json")) as f:
                trained = json.load(f)
            if warm:
                with open(os.path.join(args.out, f"{tag}-lsq", "train.json")) as f:
                    trained["warm"] = json.load(f)
            ranges = os.path.join(hdir, "adc_ranges.yaml")  # trained ranges, where the ADC was in the loop
            hwa = cached_json(os.path.join(args.out, f"{tag}-hwa-{limit}.json"),
                              [sim[0], os.path.join(hdir, "model.onnx")]
                              + (["--adc-ranges", ranges] if os.path.exists(ranges) else []) + sim[1:], log)
            fl, p, h = ptq["float_accuracy"], ptq["accuracy"], hwa["accuracy"]
            lost = fl - p
            rows.append((model, title, fl, ptq, hwa, (h - p) / lost if lost > 0 else float("nan"), trained, limit))
    print("| model | setting | float | PTQ (95 % CI) | HWA (95 % CI) | recovered | training | images |")
    print("|---|---|---|---|---|---|---|---|")
    for model, title, fl, ptq, hwa, rec, trained, limit in rows:
        ci = lambda r: f"{100 * r['accuracy']:.2f} % ({100 * r['accuracy_ci95'][0]:.2f}-{100 * r['accuracy_ci95'][1]:.2f})"  # noqa: E731
        w = trained.get("warm")
        warm = f"{w['steps']} x {w['batch']} noise-free, {w['train_seconds']:.0f} s; then " if w else ""
        print(f"| {model} | {title} | {100 * fl:.2f} % | {ci(ptq)} | {ci(hwa)} | {100 * rec:.0f} % | "
              f"{warm}{trained['steps']} steps x {trained['batch']}, {trained['train_seconds']:.0f} s | {limit} |")


if __name__ == "__main__":
    main()
