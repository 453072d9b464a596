#!/usr/bin/python3
"""Measures the readout table of docs/simulator.md ("Readout circuits"): the zoo VGG and ResNet at
NeuroSim-default and CrossSim-default settings, each readout's accuracy (mean and 95 % interval over chip
instances), the clipped share of its conversions, ADC conversions and ADC energy per image. One cim-sim run per
row (first LIMIT test images, 256 calibration images) and one cim-map run per row for the price of a conversion.
With --adc-bits, instead: the CrossSim-default VGG with each differential readout at those ADC widths (per-layer
ranges), beside CrossSim 3.2's own figures.

    /usr/bin/python3 scripts/readout_table.py [--build build] [--limit 500] [--instances 3] [--models vgg resnet]
    /usr/bin/python3 scripts/readout_table.py --adc-bits 4 5 8 [--limit 500] [--instances 3]
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# NeuroSim 1.4's defaults: 8-bit weights in 1-bit cells with offset encoding, 8 bit-serial input planes,
# 5-bit ADC, 128 x 128 arrays, ON/OFF ratio 10, no variation (so every chip instance is the same).
NEUROSIM = ["weight.bits=8", "cell.bits=1", "weight.encoding=offset", "input.bits=8", "input.dac_bits=1",
            "quant.weight_bits=8", "quant.activation_bits=8", "array.adc.bits=5", "cell.on_off_ratio=10",
            "array.capacity_bits=16384"]
# CrossSim 3.2's fast defaults: 8-bit weights on one differential pair of multi-level cells (7 magnitude
# bits per cell), 8-bit inputs in one multi-bit step, 8-bit ADC, 1152-row arrays, programming error 0.05.
CROSSSIM = ["weight.bits=8", "cell.bits=7", "weight.encoding=differential", "input.bits=8", "input.mode=multi_bit", "input.dac_bits=8",
            "quant.weight_bits=8", "quant.activation_bits=8", "array.adc.bits=8", "array.rows=1152",
            "array.usable_rows=1152", "array.max_active_rows=1152", "array.capacity_bits=~", "cell.on_off_ratio=.inf",
            "noise.programming_sigma=0.05"]

ANALOG = ["weight.differential_readout=analog"]  # W+ - W- on the bit lines, one bipolar conversion per pair

SETTINGS = {
    "NeuroSim-default": (NEUROSIM, [
        ("reference converted, per layer", ["array.adc.range=calibrated_layer"]),
        ("reference converted, per slice", ["array.adc.range=calibrated_slice"]),
        ("reference digital, per layer", ["weight.offset_reference=digital", "array.adc.range=calibrated_layer"]),
        ("reference digital, per slice", ["weight.offset_reference=digital", "array.adc.range=calibrated_slice"]),
        ("reference digital, per plane", ["weight.offset_reference=digital", "array.adc.range=calibrated_plane"]),
        ("reference digital, per slice and plane", ["weight.offset_reference=digital", "array.adc.range=calibrated_slice_plane"]),
        ("reference digital, per column", ["weight.offset_reference=digital", "array.adc.range=calibrated_column"]),
        ("reference digital, oracle (not realisable)", ["weight.offset_reference=digital", "array.adc.range=oracle"]),
        ("reference digital, per slice and plane, bipolar inputs",
         ["weight.offset_reference=digital", "array.adc.range=calibrated_slice_plane", "input.signed_handling=bipolar"]),
    ]),
    "CrossSim-default": (CROSSSIM, [
        ("per layer", ["array.adc.range=calibrated_layer"]),
        ("per array", ["array.adc.range=calibrated_array"]),
        ("per column", ["array.adc.range=calibrated_column"]),
        ("oracle (not realisable)", ["array.adc.range=oracle"]),
        ("analog pairs, per layer", ANALOG + ["array.adc.range=calibrated_layer"]),
        ("analog pairs, per column", ANALOG + ["array.adc.range=calibrated_column"]),
        ("analog pairs, oracle (not realisable)", ANALOG + ["array.adc.range=oracle"]),
        ("bipolar inputs, per layer", ["input.signed_handling=bipolar", "array.adc.range=calibrated_layer"]),
        ("analog pairs, bipolar inputs, per layer (CrossSim's readout)",
         ANALOG + ["input.signed_handling=bipolar", "array.adc.range=calibrated_layer"]),
    ]),
}
# CrossSim 3.2's figures on the zoo VGG with its default analog differential readout, by ADC bits (issue 20).
CROSSSIM_ANALOG = {4: 0.589, 5: 0.914, 8: 0.939}


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def sets_args(sets):
    args = []
    for s in sets:
        args += ["--set", s]
    return args


def adc_pj_per_conversion(build, model, sets):
    """The device's price of one conversion at these settings, from the cost model."""
    j = run_json([os.path.join(build, "bin", "cim-map"), model, "--device", "isaac", "--json"] + sets_args(sets))
    return j["total"]["components"]["adc"]["energy_pj_per_event"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--limit", type=int, default=500, help="test images per run")
    ap.add_argument("--instances", type=int, default=3, help="chip instances per run")
    ap.add_argument("--models", nargs="+", default=["vgg", "resnet"])
    ap.add_argument("--adc-bits", nargs="+", type=int, help="the CrossSim-default VGG's differential readouts at these ADC widths")
    a = ap.parse_args()
    if a.adc_bits:
        return adc_bits_table(a)
    print(f"First {a.limit} Fashion-MNIST test images, {a.instances} chip instances, 256 calibration images, "
          f"`scripts/readout_table.py --limit {a.limit} --instances {a.instances}`.\n")
    print("| model | setting | readout | accuracy (95 % CI over instances) | ADC clipped | ADC conversions / image | ADC energy / image (uJ) |")
    print("|---|---|---|---|---|---|---|")
    for m in a.models:
        model = os.path.join(ROOT, "models", "zoo", m, "model.onnx")
        for setting, (base, readouts) in SETTINGS.items():
            for name, extra in readouts:
                sets = base + extra
                j = simulate(a, model, sets)
                conv = sum(l["adc_conversions"] for l in j["layers"]) / (j["images"] * j["instances"])
                pj = adc_pj_per_conversion(a.build, model, sets)
                print(f"| {m} | {setting} | {name} | {accuracy(j)} | {100 * j['adc_clipped_fraction']:.2f} % | {conv:,.0f} | "
                      f"{conv * pj * 1e-6:.2f} |", flush=True)
    return 0


def simulate(a, model, sets):
    return run_json([os.path.join(a.build, "bin", "cim-sim"), model, "--device", "isaac", "--dataset", "fashion-mnist",
                     "--limit", str(a.limit), "--instances", str(a.instances), "--json"] + sets_args(sets))


def accuracy(j):
    lo, hi = j["accuracy_ci95"]
    return f"{100 * j['accuracy']:.1f} % ({100 * lo:.1f}-{100 * hi:.1f})"


def adc_bits_table(a):
    """The zoo VGG at CrossSim-default settings, per-layer ranges: each differential readout by ADC width."""
    model = os.path.join(ROOT, "models", "zoo", "vgg", "model.onnx")
    print(f"First {a.limit} Fashion-MNIST test images, {a.instances} chip instances, "
          f"`scripts/readout_table.py --adc-bits {' '.join(map(str, a.adc_bits))} --limit {a.limit} --instances {a.instances}`.\n")
    print("| ADC bits | digital pairs (per column) | analog pairs | analog pairs, bipolar inputs | CrossSim 3.2, analog |")
    print("|---|---|---|---|---|")
    for bits in a.adc_bits:
        cells = []
        for extra in ([], ANALOG, ANALOG + ["input.signed_handling=bipolar"]):
            cells.append(accuracy(simulate(a, model, CROSSSIM + extra + [f"array.adc.bits={bits}", "array.adc.range=calibrated_layer"])))
        theirs = CROSSSIM_ANALOG.get(bits)
        print(f"| {bits} | {' | '.join(cells)} | {f'{100 * theirs:.1f} %' if theirs else '-'} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
