#!/usr/bin/python3
"""Writes the "whole chips from estimators only" tables of docs/validation.md: ISAAC, the TSMC 7 nm
SRAM-CIM macro and the Intel 22 nm C-2C macro priced by estimators only (configs/validation/*_estimated.yaml)
against the same designs with their published costs (configs/isaac.yaml, tsmc7_sram_analog.yaml,
intel22_c2c.yaml, which reproduce the papers' totals and component splits), component by component.
One `cim-map --describe --json` per config; the text between the estimated-chips markers is replaced.
tests/cimsim/test_estimated_chips.cpp reads the totals back from the doc.

    /usr/bin/python3 scripts/validation_table.py [--build build]
"""
import argparse
import json
import math
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "validation.md")
BEGIN = "<!-- estimated-chips: begin (scripts/validation_table.py writes this block) -->"
END = "<!-- estimated-chips: end -->"

# (title, published config, estimated config, tiles per chip (components shown per tile), published totals
# (figure, value, where from))
CHIPS = [
    ("ISAAC (Shafiee ISCA 2016), one tile", "isaac", "isaac_estimated", 168,
     [("tile power, mW", 330, "Table I"), ("tile area, mm²", 0.372, "Table I")]),
    ("TSMC 7 nm SRAM-CIM (Sinangil JSSC 2021), 0.8 V, output 6", "tsmc7_sram_analog", "tsmc7_sram_analog_estimated",
     1, [("TOPS/W", 351, "Table I"), ("area, µm²", 2556, "§IV")]),
    ("Intel 22 nm C-2C (Wang VLSI 2022), 0.7 V", "intel22_c2c", "intel22_c2c_estimated", 1,
     [("TOPS/W", 32.2, "Table III"), ("area, µm²", 124000, "0.124 mm²")]),
]


def describe(build, device):
    path = device if device in ("isaac", "tsmc7_sram_analog", "intel22_c2c") else \
        os.path.join(ROOT, "configs", "validation", device + ".yaml")
    out = subprocess.run([os.path.join(build, "bin", "cim-map"), "--device", path, "--describe", "--json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["peak"]


def total(peak, figure):
    return {"tile power, mW": peak["tile_power_w"] * 1e3, "tile area, mm²": peak["tile_area_mm2"],
            "TOPS/W": peak["tops_per_w"], "area, µm²": peak["area_mm2"] * 1e6}[figure]


def g4(x):
    """Four significant digits, without an exponent (the test reads the numbers back)."""
    if x == 0:
        return "0"
    decimals = max(0, 3 - math.floor(math.log10(abs(x))))
    return f"{x:.{decimals}f}"


def error(ours, theirs):
    if theirs == 0:
        return "—" if ours == 0 else "new"
    return f"{100 * (ours - theirs) / theirs:+.0f} %".replace("-", "−")


def component_rows(pub, est, tiles):
    rows = []
    per_tile = tiles > 1
    scale = 1.0 / tiles
    for name, p in pub["power_by_component"].items():
        e = est["power_by_component"][name]
        if per_tile and name in ("chip_link", "host_transfer"):
            continue
        if p["power_w"] == 0 and e["power_w"] == 0:
            continue
        rows.append((f"{name} power, mW", p["power_w"] * 1e3 * scale, e["power_w"] * 1e3 * scale,
                     e["estimator"] or "not estimated (0)"))
    unit, factor = ("mm²", 1.0) if per_tile else ("µm²", 1e6)
    for name, p in pub["area_by_component"].items():
        e = est["area_by_component"][name]
        if per_tile and name == "chip_other":
            continue
        if p["area_mm2"] == 0 and e["area_mm2"] == 0:
            continue
        rows.append((f"{name} area, {unit}", p["area_mm2"] * factor * scale, e["area_mm2"] * factor * scale,
                     "estimator" if e["area_mm2"] > 0 else "not estimated (0)"))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    args = ap.parse_args()
    lines = [BEGIN, "", "| config | figure | published | estimators only | error |", "|---|---|---|---|---|"]
    details = []
    for title, pub_name, est_name, tiles, totals in CHIPS:
        pub, est = describe(args.build, pub_name), describe(args.build, est_name)
        for figure, published, where in totals:
            ours = total(est, figure)
            lines.append(f"| `{est_name}` | {figure} | {g4(published)} | {g4(ours)} | {error(ours, published)} |")
        details += ["", f"**{title}**, published config `{pub_name}` against `{est_name}`:", "",
                    "| component | published split | estimators only | error | priced by |", "|---|---|---|---|---|"]
        for name, p, e, how in component_rows(pub, est, tiles):
            details.append(f"| {name} | {g4(p)} | {g4(e)} | {error(e, p)} | {how} |")
    text = "\n".join(lines + details + ["", END])
    doc = open(DOC, encoding="utf-8").read()
    if BEGIN not in doc or END not in doc:
        sys.exit(f"{DOC}: the markers {BEGIN!r} and {END!r} are missing")
    head, rest = doc.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    open(DOC, "w", encoding="utf-8").write(head + text + tail)
    print(text)


if __name__ == "__main__":
    main()
