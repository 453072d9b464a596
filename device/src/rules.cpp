#include "rules.h"

#include <initializer_list>
#include <string>

#include <fmt/format.h>

namespace cim::device_detail {
namespace {

class RuleContext {
public:
    RuleContext(const DeviceSpec& d, Diagnostics& diag) : d(d), diag(diag) {}

    // True when none of the keys failed, so their values can be compared.
    bool ok(std::initializer_list<const char*> paths) const {
        for (const char* p : paths)
            if (diag.failed(p)) return false;
        return true;
    }
    void error(const std::string& path, const std::string& problem) const { diag.error(path, problem); }

    const DeviceSpec& d;
    Diagnostics& diag;
};

void check_geometry(const RuleContext& c) {
    const auto& a = c.d.array;
    if (c.ok({"array.usable_rows", "array.rows"}) && a.usable_rows > a.rows)
        c.error("array.usable_rows", fmt::format("{} exceeds array.rows = {}", a.usable_rows, a.rows));
    if (c.ok({"array.usable_cols", "array.cols"}) && a.usable_cols > a.cols)
        c.error("array.usable_cols", fmt::format("{} exceeds array.cols = {}", a.usable_cols, a.cols));
    if (c.ok({"array.max_active_rows", "array.usable_rows"}) && a.max_active_rows > a.usable_rows)
        c.error("array.max_active_rows",
                fmt::format("{} exceeds array.usable_rows = {}", a.max_active_rows, a.usable_rows));
    if (a.capacity_bits && c.ok({"array.capacity_bits", "array.rows", "array.cols", "cell.bits"})) {
        const long long computed = 1LL * a.rows * a.cols * c.d.cell.bits;
        if (computed != *a.capacity_bits)
            c.error("array.capacity_bits",
                    fmt::format("{} does not match array.rows x array.cols x cell.bits = {} x {} x {} = {}",
                                *a.capacity_bits, a.rows, a.cols, c.d.cell.bits, computed));
    }
    if (a.bias_rows > 0 && c.ok({"array.bias_row_input", "input.bits"}) &&
        a.bias_row_input > (1 << c.d.input.bits) - 1)
        c.error("array.bias_row_input",
                fmt::format("{} exceeds the largest input code 2^input.bits - 1 = {}", a.bias_row_input,
                            (1 << c.d.input.bits) - 1));
}

// Keys that exist exactly when the device has an ADC.
void check_adc(const RuleContext& c) {
    if (!c.ok({"array.adc.range"})) return;
    const bool has_adc = c.d.array.adc.range != AdcRange::none;
    const std::string range(to_string(c.d.array.adc.range));
    auto present = [&](const char* path) { return c.diag.given(path) || c.diag.failed(path); };

    for (const char* path : {"array.adc.bits", "energy.adc_pj_per_conversion",
                             "latency.adc_ns_per_conversion", "area.adc_um2"}) {
        if (has_adc && !present(path))
            c.error(path, "required key is missing (array.adc.range is " + range + ")");
        if (!has_adc && c.diag.given(path))
            c.error(path, "given, but array.adc.range is none (no ADC); remove it");
    }
    if (!has_adc && c.diag.given("array.adc.cols_per_adc"))
        c.error("array.adc.cols_per_adc", "given, but array.adc.range is none (no ADC); remove it");

    const auto& a = c.d.array;
    if (has_adc && c.ok({"array.adc.cols_per_adc", "array.cols"})) {
        if (a.adc.cols_per_adc > a.cols)
            c.error("array.adc.cols_per_adc", fmt::format("{} exceeds array.cols = {}", a.adc.cols_per_adc, a.cols));
        else if (a.cols % a.adc.cols_per_adc != 0)
            c.error("array.adc.cols_per_adc",
                    fmt::format("{} does not divide array.cols = {} (an array has a whole number of ADCs)",
                                a.adc.cols_per_adc, a.cols));
    }
    if (c.ok({"technology"}) && c.d.technology == Technology::sram_digital && has_adc)
        c.error("array.adc.range", "must be none for technology sram_digital (an all-digital macro "
                                   "reads exact column sums)");
}

void check_weights_and_inputs(const RuleContext& c) {
    const auto& w = c.d.weight;
    if (c.ok({"weight.encoding", "weight.bits", "cell.bits"}) && w.encoding == WeightEncoding::native_signed &&
        w.bits > c.d.cell.bits)
        c.error("weight.bits", fmt::format("{} exceeds cell.bits = {}; a native_signed cell stores the whole "
                                           "weight (use another encoding to slice it)",
                                           w.bits, c.d.cell.bits));
    if (c.ok({"weight.encoding", "weight.bits", "weight.clip"}) && w.encoding != WeightEncoding::native_signed) {
        const int largest = (1 << (w.bits - 1)) - 1;
        if (w.clip > largest)
            c.error("weight.clip", fmt::format("{} exceeds 2^(weight.bits-1) - 1 = {}; only native_signed "
                                               "cells store larger codes",
                                               w.clip, largest));
    }
    if (c.ok({"weight.encoding", "weight.offset_reference"}) && w.offset_reference == OffsetReference::digital &&
        w.encoding != WeightEncoding::offset)
        c.error("weight.offset_reference", fmt::format("digital applies to weight.encoding offset only ({} has no "
                                                       "reference columns); remove it or use converted",
                                                       to_string(w.encoding)));
    if (c.ok({"weight.encoding", "weight.leak_reference"}) && w.leak_reference == LeakReference::digital &&
        w.encoding != WeightEncoding::twos_complement)
        c.error("weight.leak_reference",
                fmt::format("digital applies to twos_complement weights only ({}); remove it",
                            w.encoding == WeightEncoding::differential ? "differential pairs cancel the leak in their subtraction"
                            : w.encoding == WeightEncoding::offset     ? "offset reference columns cancel the leak"
                                                                       : "a native signed cell's leak takes its digit's sign"));
    if (c.ok({"weight.encoding", "weight.differential_readout"}) &&
        w.differential_readout == DifferentialReadout::analog && w.encoding != WeightEncoding::differential)
        c.error("weight.differential_readout", fmt::format("analog applies to weight.encoding differential only ({} "
                                                           "has no W+/W- column pairs to subtract); remove it or "
                                                           "use digital",
                                                           to_string(w.encoding)));
    if (c.ok({"weight.encoding", "weight.bits", "cell.bits", "array.usable_cols"})) {
        const int columns = columns_per_weight(c.d);
        if (columns > c.d.array.usable_cols)
            c.error("weight.bits", fmt::format("a weight needs {} columns ({} encoding, {}-bit cells) but "
                                               "array.usable_cols = {}",
                                               columns, to_string(w.encoding), c.d.cell.bits,
                                               c.d.array.usable_cols));
    }

    const auto& in = c.d.input;
    if (c.ok({"input.dac_bits", "input.bits", "input.mode"})) {
        if (in.dac_bits > in.bits)
            c.error("input.dac_bits", fmt::format("{} exceeds input.bits = {}", in.dac_bits, in.bits));
        else if (in.mode == InputMode::multi_bit && in.dac_bits != in.bits)
            c.error("input.dac_bits", fmt::format("{} must equal input.bits = {} when input.mode is multi_bit",
                                                  in.dac_bits, in.bits));
    }
    if (c.ok({"input.signed_handling", "input.mode"}) &&
        in.signed_handling == SignedInputHandling::twos_complement && in.mode != InputMode::bit_serial)
        c.error("input.signed_handling", "twos_complement needs input.mode bit_serial (the MSB plane is "
                                         "subtracted in shift-add)");
    else if (c.ok({"input.signed_handling", "input.mode", "input.dac_bits", "input.bits"}) &&
             in.signed_handling == SignedInputHandling::twos_complement && in.dac_bits > 1 && in.dac_bits < in.bits)
        c.error("input.dac_bits", fmt::format("{} with input.signed_handling twos_complement: the sign bit needs "
                                              "an input cycle of its own (the MSB plane is subtracted), so use 1 "
                                              "(or input.bits = {}, one cycle)",
                                              in.dac_bits, in.bits));

    const auto& o = c.d.output;
    if (c.ok({"output.shift_bits_min", "output.shift_bits_max"}) && o.shift_bits_max < o.shift_bits_min)
        c.error("output.shift_bits_max",
                fmt::format("{} is below output.shift_bits_min = {}", o.shift_bits_max, o.shift_bits_min));
}

void check_costs(const RuleContext& c) {
    const auto& e = c.d.energy;
    if (!e.array_read_pj_per_column && !e.array_read_pj_per_cell && !c.diag.failed("energy") &&
        !c.diag.failed("energy.array_read_pj_per_column") && !c.diag.failed("energy.array_read_pj_per_cell"))
        c.error("energy.array_read_pj_per_column",
                "required key is missing (give array_read_pj_per_column, array_read_pj_per_cell or both)");

    // A model may spill onto several chips unless max_chips is 1: then the link cost is needed.
    if (c.ok({"chip.max_chips"}) && c.d.chip.max_chips.value_or(0) != 1) {
        for (const char* path : {"energy.chip_link_pj_per_byte", "latency.chip_link_ns_per_byte"})
            if (!c.diag.given(path) && !c.diag.failed(path))
                c.error(path, "required key is missing (chip.max_chips is not 1, so a model may span "
                              "chips; set chip.max_chips: 1 for a single-chip device)");
    }
}

void check_noise_and_quant(const RuleContext& c) {
    const auto& n = c.d.noise;
    if (c.ok({"noise.stuck_on_rate", "noise.stuck_off_rate"}) && n.stuck_on_rate + n.stuck_off_rate > 1)
        c.error("noise.stuck_off_rate", fmt::format("noise.stuck_on_rate + noise.stuck_off_rate = {} exceeds 1",
                                                    n.stuck_on_rate + n.stuck_off_rate));
    if (c.ok({"noise.drift_time_s", "noise.drift_t0_s"}) && n.drift_time_s < n.drift_t0_s)
        c.error("noise.drift_time_s",
                fmt::format("{} is before noise.drift_t0_s = {}", n.drift_time_s, n.drift_t0_s));

    const auto& q = c.d.quant;
    if (c.ok({"quant.weight_bits", "weight.bits"}) && q.weight_bits > c.d.weight.bits)
        c.error("quant.weight_bits", fmt::format("{} exceeds weight.bits = {} (the device stores no wider codes)",
                                                 q.weight_bits, c.d.weight.bits));
    if (c.ok({"quant.activation_bits", "input.bits"}) && q.activation_bits > c.d.input.bits)
        c.error("quant.activation_bits", fmt::format("{} exceeds input.bits = {} (the array takes no wider inputs)",
                                                     q.activation_bits, c.d.input.bits));
}

}  // namespace

void check_cross_field_rules(const DeviceSpec& d, Diagnostics& diag) {
    const RuleContext c(d, diag);
    check_geometry(c);
    check_adc(c);
    check_weights_and_inputs(c);
    if (d.kind == DeviceKind::cim) check_costs(c);
    check_noise_and_quant(c);
    check_digital_rules(d, diag);
}

}  // namespace cim::device_detail
