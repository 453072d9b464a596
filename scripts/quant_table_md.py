#!/usr/bin/python3
"""Prints the markdown tables of docs/quantization.md from the JSON files written by
scripts/quant_table.sh and scripts/quant_mixed_precision.sh.
Usage: scripts/quant_table_md.py OUT_DIR"""
import json
import os
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "build/quant-table"
MODELS = ["mlp", "lenet5", "vgg", "resnet", "mobilenet", "vit", "lstm", "gru"]


def load(model, name):
    p = os.path.join(out, f"{model}.{name}.json")
    return json.load(open(p)) if os.path.exists(p) else None


def cell(j):
    if not j:
        return "not run"
    return f"{100 * j['accuracy']:.2f} ({100 * (j['accuracy'] - j['float_accuracy']):+.2f})"


print("| model | float | INT8 per-channel | INT8 per-channel, power-of-two scales | INT8 per-tensor, power-of-two scales | ternary (+ bias correction) |")
print("|---|---|---|---|---|---|")
for m in MODELS:
    j = load(m, "int8")
    if not j:
        continue
    print(f"| {m} | {100 * j['float_accuracy']:.2f} | {cell(j)} | {cell(load(m, 'pow2_int8'))} | "
          f"{cell(load(m, 'pow2_int8_tensor'))} | {cell(load(m, 'ternary'))} |")
print()
cols = [("w4_nearest", "min-max, nearest"), ("w4_mse", "MSE clipping"), ("w4_bc", "bias correction"),
        ("w4_cle_bc", "CLE + bias corr."), ("w4_adaround", "AdaRound"), ("w4_best", "CLE + AdaRound + bias corr.")]
print("| model | float | " + " | ".join(c[1] for c in cols) + " |")
print("|---|---|" + "---|" * len(cols))
for m in MODELS:
    j = load(m, "w4_nearest")
    if not j:
        continue
    print(f"| {m} | {100 * j['float_accuracy']:.2f} | " + " | ".join(cell(load(m, c[0])) for c in cols) + " |")
print()
print("| model | run | arrays (budget) | per-layer weight bits | accuracy (change) |")
print("|---|---|---|---|---|")
for m in MODELS:
    for name in ["uniform2", "uniform4"] + sorted(n[len(m) + 1:-5] for n in os.listdir(out) if n.startswith(m + ".mp")):
        j = load(m, name)
        if not j:
            continue
        mp = j.get("mixed_precision")
        if mp:
            print(f"| {m} | mixed precision | {mp['arrays']} ({mp['budget_arrays']}) | {' '.join(map(str, mp['chosen_bits']))} | {cell(j)} |")
        else:
            print(f"| {m} | uniform {name[7:]}-bit | | all {name[7:]} | {cell(j)} |")
