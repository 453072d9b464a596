#!/usr/bin/python3
"""Measures the table of docs/accuracy.md: every zoo model on every bundled device at the device's
defaults (nothing overridden), float accuracy, the integer program's accuracy (the quantizer's, exact
arithmetic) and the simulated chip's (mean and 95 % interval over chip instances). One cim-sim run per
cell: the first LIMIT Fashion-MNIST test images, 256 calibration images from the training set, seed 1.

    /usr/bin/python3 scripts/accuracy_table.py [--build build] [--limit 500] [--instances 3]
                                               [--models mlp lenet5 ...] [--devices isaac ...] [--json out.json]

Prints the markdown table; with --json also writes every cim-sim result.
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = ["mlp", "lenet5", "vgg", "resnet", "mobilenet", "vit", "lstm", "gru"]
DEVICES = sorted(f[:-5] for f in os.listdir(os.path.join(ROOT, "configs")) if f.endswith(".yaml"))


def run_sim(build, model, device, limit, instances):
    cmd = [os.path.join(build, "bin", "cim-sim"), os.path.join(ROOT, "models", "zoo", model, "model.onnx"),
           "--device", device, "--dataset", "fashion-mnist", "--limit", str(limit), "--instances", str(instances),
           "--seed", "1", "--json", "--quiet"]
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.time() - t0
    if p.returncode != 0:
        # Not a crash of this script: the tool's own message is the table's entry.
        return {"error": (p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[-1], "wall_seconds": seconds}
    j = json.loads(p.stdout)
    j["wall_seconds"] = seconds
    return j


def pct(x):
    return "-" if x is None else "%.1f %%" % (100 * x)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--limit", type=int, default=500, help="test images per run")
    ap.add_argument("--instances", type=int, default=3, help="chip instances per run")
    ap.add_argument("--models", nargs="+", default=MODELS)
    ap.add_argument("--devices", nargs="+", default=DEVICES)
    ap.add_argument("--json", help="write every cim-sim result here")
    a = ap.parse_args()
    results = {}
    print(f"First {a.limit} Fashion-MNIST test images, {a.instances} chip instances, 256 calibration images, seed 1: "
          f"`scripts/accuracy_table.py --limit {a.limit} --instances {a.instances}`.\n")
    print("| model | device | float | integer program | simulated chip (95 % CI over instances) | run (s) |")
    print("|---|---|---|---|---|---|")
    for m in a.models:
        for d in a.devices:
            r = run_sim(a.build, m, d, a.limit, a.instances)
            results[f"{m}/{d}"] = r
            if "error" in r:
                print(f"| {m} | {d} | - | - | does not run: {r['error']} | {r['wall_seconds']:.0f} |", flush=True)
                continue
            lo, hi = r["accuracy_ci95"]
            sim = pct(r["accuracy"]) + (f" ({100 * lo:.1f}-{100 * hi:.1f})" if r["instances"] > 1 else "")
            print(f"| {m} | {d} | {pct(r['float_accuracy'])} | {pct(r['quant_accuracy'])} | {sim} | "
                  f"{r['wall_seconds']:.0f} |", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
