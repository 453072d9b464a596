#!/usr/bin/python3
"""The Python tutorial's run (docs/python.md): every figure and number the tutorial shows.

    PYTHONPATH=build/python /usr/bin/python3 scripts/python_tutorial.py [--limit 200] [--instances 3]

Writes docs/python-accuracy-vs-adc-bits.svg and docs/python-layer-error.svg (needs matplotlib:
Debian's python3-matplotlib) and prints the tables the tutorial quotes.
"""
import argparse
import pathlib

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import cimforge  # noqa: E402

print = __import__("functools").partial(print, flush=True)  # noqa: A001 (the tables appear as they are made)

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=200, help="Fashion-MNIST test images per point")
    ap.add_argument("--instances", type=int, default=3, help="chip instances per point")
    args = ap.parse_args()
    # Fixed for the figures (the SVGs' ids and dates would change on every run otherwise).
    plt.rcParams["svg.hashsalt"] = "cimforge"
    metadata = {"Date": None}

    # 1. A zoo model.
    vgg = cimforge.Model(ROOT / "models/zoo/vgg/model.onnx")
    print(vgg, "array layers:", vgg.array_layers)

    # 2. Mapped on two devices.
    print(f"\n{'device':<10} {'arrays':>7} {'chips':>6} {'latency':>12} {'energy/inf':>12} {'TOPS/W':>8}")
    for name in ("isaac", "wtm2101"):
        t = cimforge.map(vgg, name).total
        print(f"{name:<10} {t['arrays']:>7} {t['chips']:>6} {t['latency_s'] * 1e6:>9.2f} us {t['energy_j'] * 1e6:>9.3f} uJ "
              f"{t['tops_per_w']:>8.2f}")

    # 3. Accuracy against ADC bits, with the 95 % interval over chip instances.
    # ISAAC with 8-bit differential weights in 2-bit cells and programming and read noise (docs/simulator.md).
    base = cimforge.Device("isaac", {"weight.bits": 8, "cell.bits": 2, "weight.encoding": "differential", "input.bits": 8,
                                     "quant.weight_bits": 8, "quant.activation_bits": 8,
                                     "noise.programming_sigma": 0.02, "noise.read_sigma": 0.01})
    bits = list(range(3, 9))
    runs = [cimforge.simulate(vgg, base.with_overrides({"array.adc.bits": b}), dataset="fashion-mnist", limit=args.limit,
                              instances=args.instances, seed=1, progress=False) for b in bits]
    acc = np.array([r.accuracy for r in runs])
    lo = np.array([r.accuracy_ci95[0] for r in runs])
    hi = np.array([r.accuracy_ci95[1] for r in runs])
    print("\nADC bits  accuracy  95% CI            quantized (ideal arrays)")
    for b, r in zip(bits, runs):
        print(f"{b:>8}  {100 * r.accuracy:7.2f}%  {100 * r.accuracy_ci95[0]:6.2f}..{100 * r.accuracy_ci95[1]:6.2f}%"
              f"  {100 * r['quant_accuracy']:.2f}%")
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.errorbar(bits, 100 * acc, yerr=[100 * (acc - lo), 100 * (hi - acc)], marker="o", capsize=3, label="simulated")
    ax.axhline(100 * runs[-1]["quant_accuracy"], color="grey", ls="--", label="quantized, ideal arrays")
    ax.axhline(100 * runs[-1]["float_accuracy"], color="black", ls=":", label="float")
    ax.set_xlabel("array.adc.bits")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"zoo VGG on isaac with noise ({args.limit} images, {args.instances} instances)", fontsize=10)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(DOCS / "python-accuracy-vs-adc-bits.svg", metadata=metadata)

    # 4. One layer's error: its simulated outputs against the integer program's, at 5 ADC bits.
    layer = vgg.array_layers[1]
    r = cimforge.simulate(vgg, base.with_overrides({"array.adc.bits": 5}), dataset="fashion-mnist", limit=args.limit, seed=1,
                          outputs=[layer], progress=False)
    out = r.outputs[layer]
    snr = {entry["name"]: entry["snr_db"] for entry in r.layers}
    print(f"\n{layer}: output {out.simulated.shape}, SNR of the output {out.snr_db():.1f} dB "
          f"(the array reads alone, cim-sim's per-layer SNR: {snr[layer]:.1f} dB)")
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(8, 3.4))
    sample = np.random.default_rng(0).choice(out.exact.size, 4000, replace=False)
    a1.scatter(out.exact.ravel()[sample], out.simulated.ravel()[sample], s=1, alpha=0.3, rasterized=True)  # small SVG
    a1.set_xlabel("exact (integer program)")
    a1.set_ylabel("simulated (crossbars)")
    a1.set_title(layer)
    a2.hist(out.error.ravel(), bins=100, log=True, rasterized=True)
    a2.set_xlabel("simulated - exact")
    a2.set_title(f"error, output SNR {out.snr_db():.1f} dB")
    fig.tight_layout()
    fig.savefig(DOCS / "python-layer-error.svg", metadata=metadata)
    print("wrote", DOCS / "python-accuracy-vs-adc-bits.svg", "and", DOCS / "python-layer-error.svg")


if __name__ == "__main__":
    main()
