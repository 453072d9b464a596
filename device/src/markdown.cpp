// docs/device-schema.md, rendered from the schema declarations so that the
// reference cannot drift from the parser.
#include <fmt/format.h>

#include "cim/device/device_spec.h"
#include "estimators/estimator.h"
#include "schema.h"

namespace cim {
namespace {

using device_detail::KeyDecl;
using device_detail::Presence;
using device_detail::ValueKind;

constexpr const char* kIntroduction = R"(# Device description schema

<!-- Generated from device/src/schema.cpp by `cim_device_schema_doc`; do not edit by hand.
     Regenerate: cmake --build build --target device-schema-doc -->

A device YAML (`configs/*.yaml`) describes one compute-in-memory device: its
array geometry, cells, converters, per-component costs, non-idealities and
quantization defaults. `cim-map --device NAME` accepts a path or the name of a
bundled config (`wtm2101` finds `configs/wtm2101.yaml`).

## Device kinds

`kind: cim` (the default) is a compute-in-memory chip, described by the sections below from
`technology` to `noise`. `kind: digital_npu` is a digital MAC-array accelerator (section `npu`) and
`kind: fpga_dsp` an FPGA computing with DSP slices (section `fpga`): digital baselines to compare CIM
chips against (`cim-map MODEL --device A --device B`). A device gives only its kind's keys; a CIM
key on a digital device (or an `npu` key on a CIM chip) is an error at its line. `name`,
`description`, `node_nm`, `supply_v` and `quant` belong to every kind.

## Layout

```yaml
name: ...            # identity: name, description, technology, node_nm
technology: ...
node_nm: ...
chip:    {tiles, macros_per_tile, max_chips, clock_mhz}
array:   {rows, cols, usable_rows, usable_cols, max_active_rows, bias_rows, bias_row_input,
          capacity_bits, max_groups_per_array, adc: {range, bits, cols_per_adc}}
cell:    {bits, on_off_ratio}
weight:  {bits, clip, encoding}
input:   {bits, mode, dac_bits, signed_handling}
output:  {bits, shift_bits_min, shift_bits_max}
energy:  {...}       # per event, pJ (leakage in mW)
latency: {...}       # per event, ns
area:    {...}       # per instance, um^2
noise:   {...}       # non-idealities for the functional simulator
quant:   {...}       # quantization defaults
```

## Hierarchy

A **chip** holds `chip.tiles` **tiles**; a tile holds `chip.macros_per_tile`
**macros**. A macro is one crossbar **array** (`array.rows` x `array.cols`
cells) with its row drivers (DACs), ADCs (`array.cols / array.adc.cols_per_adc`
of them) and shift-add logic. Tiles add buffers, a router and digital units
(activation, pooling, element-wise ops); chips add I/O and chip-to-chip links.
A model may use up to `chip.max_chips` chips; without it, as many as it needs.
A config of a single published macro uses `tiles: 1, macros_per_tile: 1`.

Costs are counted per instance: `area.array_um2`, `area.shift_add_um2`,
`area.macro_other_um2` per array; `area.row_driver_um2` per row of an array;
`area.adc_um2` per ADC; `area.tile_*` per tile; `area.chip_other_um2` per chip.

## Array cycles and costs

An **array cycle** applies one input slice of `input.dac_bits` bits to every
active row of one array and reads the columns; an input vector of
`input.bits` bits takes `ceil(input.bits / input.dac_bits)` cycles
(`bit_serial`), or one (`multi_bit`). Per array cycle a cost model charges
`energy.row_drive_pj_per_row` per active row, `energy.array_read_pj_per_column`
per column read and/or `energy.array_read_pj_per_cell` per active cell,
`energy.adc_pj_per_conversion` per converted column and
`energy.shift_add_pj_per_op` per column result accumulated. A cycle lasts
`latency.array_read_ns`, followed by `cols_per_adc` conversions of
`latency.adc_ns_per_conversion` (overlapped with the next cycle when
`latency.pipelined`).

Every energy, latency and area entry is a number or a mapping
`{value: N, source: "paper / datasheet / derivation"}`; the source travels with
the number into reports. Costs have no defaults: a missing cost is an error,
never a silent zero. Where a source does not give a component (for example a
macro measurement that excludes buffers), write `0` with a source that says so.

## Signed weights (`weight.encoding`)

Weights are signed integer codes of `weight.bits` bits clipped to
`[-weight.clip, weight.clip]`; cells store unsigned digits of `cell.bits` bits.

| encoding | stored as | cell digits (slices) per weight | columns per weight |
|---|---|---|---|
| `differential` | W = W+ - W-, the magnitude on one of two columns | ceil((bits-1) / cell.bits) | 2 x slices |
| `offset` | W + 2^(bits-1), unsigned; reference columns per array (one per slice, the digits of 2^(bits-1)) give the offset times the input sum, subtracted digitally | ceil(bits / cell.bits) | slices (+ slices reference columns per array) |
| `twos_complement` | the low bits-1 bits in cell digits, then the sign bit alone in a column that weighs -2^(bits-1) in shift-add (with 1-bit cells: the two's-complement bit slices) | ceil((bits-1) / cell.bits) + 1 | slices |
| `native_signed` | the cell stores the signed code directly (WTM2101 NOR flash, +-275) | 1 | 1 |

Slices sit on neighbouring columns; shift-add combines them with weights
2^(k x cell.bits). The mapper, the quantizer and the simulator take this layout from
one function, `cim::column_layout` (device/include/cim/device/column_layout.h).

## Signed inputs (`input.signed_handling`)

Arrays take unsigned inputs. `offset` shifts x by 2^(bits-1) and subtracts the
offset times the column's weight sum digitally; `pos_neg_split` drives x+ on
the weight rows and x- on a second row set holding -W (twice the rows);
`twos_complement` (bit-serial only, `input.dac_bits` 1 or all of `input.bits` in one
cycle, so the sign is a plane of its own) subtracts the MSB plane in shift-add;
`bipolar` drives +-V on the one row set (K rows, not 2K): bit-serial, each plane of
|x| is driven with the sign of x as its polarity (sign-magnitude); multi-bit, the DAC
is bipolar. The column sums are then bipolar and the ADC converts a symmetric range
(its bits include the sign); `unsigned_only` rejects layers whose inputs can be negative.

## Differential readout (`weight.differential_readout`)

With `weight.encoding: differential`, `digital` (the default) converts the W+ and the
W- column of each slice separately and subtracts in shift-add; `analog` subtracts the
two bit-line currents and converts the difference once with a bipolar ADC whose range
is symmetric (-R..+R, the same `array.adc.bits` levels, the sign included): half the
conversions per pair, the same columns on the arrays. Every `array.adc.range`
granularity calibrates R on the difference; read noise is drawn on each column before
the subtraction.

## ADC range (`array.adc.range`)

`full_scale` spans the largest possible column sum (max_active_rows x largest
digit x largest input slice), so the conversion is exact when `adc.bits` covers
it. The `calibrated_*` modes set the range from calibration data once per
layer, per array or per column, trading clipping for resolution. `none` means
no ADC: the column sum is read exactly (all-digital macros).

## Overrides and errors

`--set path.to.key=value` (repeatable) changes one key before validation; the
value is read as YAML, so `--set array.adc.bits=6` and `--set array.adc.range=none`
work, and `~` resets a key that is not required to its default (or unsets it:
`--set chip.max_chips=~`). An override is checked like the file, and its
errors name the `--set` text. Costs set this way record the `--set` text as
their source.

Validation reports every problem at once, one per line, as
`FILE:LINE:COL: path.to.key: problem`: unknown keys (with a "did you mean"),
duplicate keys, wrong types (quoted numbers are strings; booleans are `true` or
`false`), values out of range, missing required keys, and the cross-field
rules below. Malformed YAML reports the place of the syntax error.

Cross-field rules:

- `array.usable_rows <= array.rows`, `array.usable_cols <= array.cols`,
  `array.max_active_rows <= array.usable_rows`;
  `array.capacity_bits = rows x cols x cell.bits` when given.
- `array.adc.cols_per_adc` divides `array.cols`.
- `array.adc.bits`, `energy.adc_pj_per_conversion`, `latency.adc_ns_per_conversion`
  and `area.adc_um2` are required when `array.adc.range` is not `none`, and
  must be absent when it is; `technology: sram_digital` needs `range: none`.
- At least one of `energy.array_read_pj_per_column`, `energy.array_read_pj_per_cell`.
- `energy.chip_link_pj_per_byte` and `latency.chip_link_ns_per_byte` are required
  unless `chip.max_chips` is 1.
- `native_signed` needs `weight.bits <= cell.bits`; other encodings need
  `weight.clip <= 2^(weight.bits-1) - 1`; a weight's columns fit in `array.usable_cols`.
- `input.dac_bits <= input.bits`, equal to it for `multi_bit`;
  `twos_complement` inputs need `bit_serial` and `input.dac_bits` 1 or `input.bits` (the sign
  plane is subtracted on its own); `array.bias_row_input <= 2^input.bits - 1`.
- `output.shift_bits_min <= output.shift_bits_max`.
- `noise.stuck_on_rate + noise.stuck_off_rate <= 1`; `noise.drift_time_s >= noise.drift_t0_s`.
- `quant.weight_bits <= weight.bits`; `quant.activation_bits <= input.bits`.

## Name lookup

`--device X` uses X as a path when the file exists; otherwise
`<configs>/X.yaml`, where `<configs>` is `$CIMFORGE_CONFIGS` when set, else the
source tree's `configs/`, else `<executable dir>/../share/cimforge/configs`.
An unknown name lists the bundled devices.

## Keys
)";

std::string type_text(const KeyDecl& k) {
    switch (k.kind) {
        case ValueKind::integer: return "integer";
        case ValueKind::number: return "number";
        case ValueKind::boolean: return "boolean";
        case ValueKind::string: return "string";
        case ValueKind::enumeration: return "enum";
        case ValueKind::cost: return "cost";
    }
    return "?";
}

std::string number_text(const KeyDecl& k, double v) {
    return k.kind == ValueKind::integer ? fmt::format("{}", static_cast<long long>(v)) : fmt::format("{}", v);
}

std::string allowed_text(const KeyDecl& k) {
    if (!k.allowed.empty()) {
        std::string out;
        for (const auto& a : k.allowed) out += (out.empty() ? "" : ", ") + ("`" + a + "`");
        return out;
    }
    if (k.min && k.max)
        return fmt::format("{}{}, {}]", k.min->exclusive ? "(" : "[", number_text(k, k.min->value),
                           number_text(k, k.max->value));
    if (k.min) return fmt::format("{} {}", k.min->exclusive ? ">" : ">=", number_text(k, k.min->value));
    if (k.max) return fmt::format("<= {}", number_text(k, k.max->value));
    return "";
}

std::string default_text(const KeyDecl& k) {
    switch (k.presence) {
        case Presence::required: return "**required**";
        case Presence::conditional: return "**" + k.default_text + "**";
        case Presence::defaulted:
        case Presence::derived:
        case Presence::optional: return k.default_text;
    }
    return "";
}

void render_table(std::string& out, const device_detail::Schema& schema, const std::string& section) {
    bool any = false;
    for (const auto& name : schema.children(section)) {
        const KeyDecl* k = schema.find_key(device_detail::join_path(section, name));
        if (!k) continue;
        if (!any) {
            out += "| key | type | unit | default | allowed | description |\n";
            out += "|---|---|---|---|---|---|\n";
            any = true;
        }
        const bool all = k->kinds == device_detail::kAllKinds;
        out += fmt::format("| `{}` | {} | {} | {} | {} | {}{} |\n", k->path, type_text(*k), k->unit,
                           default_text(*k), allowed_text(*k), all || !section.empty() ? "" : "(kind " + device_detail::kinds_text(k->kinds) + " only) ",
                           k->description);
    }
    if (any) out += "\n";
}

}  // namespace

std::string device_schema_markdown() {
    const auto& schema = device_detail::device_schema();
    std::string out = kIntroduction;
    out += "\n### Top level\n\n";
    render_table(out, schema, "");
    for (const auto& section : schema.sections()) {
        const bool all = section.kinds == device_detail::kAllKinds;
        out += fmt::format("### `{}`{}\n\n{}\n\n", section.path,
                           all ? "" : " (kind " + device_detail::kinds_text(section.kinds) + ")", section.description);
        render_table(out, schema, section.path);
    }
    out += "A `cost` is a non-negative number, `{value: N, source: \"...\"}`, or an estimator "
           "`{model: NAME, <parameter>: N, ..., anchor: {value: N, <input>: N, ...}, source: \"...\"}` "
           "(docs/cost-estimators.md).\n\n";
    out += "## Cost estimators\n\n"
           "Generated from the estimator registry (device/src/estimators/). Inputs come from the device; a "
           "parameter of the same name replaces one. Parameters marked *cancels* may be left out of an "
           "anchored entry.\n\n"
           "| estimator | prices | inputs | parameters | reference |\n|---|---|---|---|---|\n";
    for (const auto& e : device_detail::estimators()) {
        std::vector<std::string> inputs, params;
        for (const auto& i : e.inputs) inputs.push_back(fmt::format("`{}` ({})", i.name, i.from));
        for (const auto& p : e.params) {
            std::string text = fmt::format("`{}`{}: {}", p.name, p.unit.empty() ? "" : " [" + p.unit + "]", p.doc);
            if (p.default_value) text += fmt::format("; default {:g} ({})", *p.default_value, p.default_source);
            else if (p.cancels) text += "; cancels";
            else if (p.optional) text += "; optional";
            else text += "; required";
            params.push_back(text);
        }
        std::vector<std::string> serves;
        for (const auto& s : e.serves) serves.push_back("`" + s + "`");
        out += fmt::format("| `{}`: {} | {} | {} | {} | {} |\n", e.name, e.summary, fmt::join(serves, ", "),
                           fmt::join(inputs, "; "), fmt::join(params, "; "), e.reference);
    }
    return out;
}

}  // namespace cim
