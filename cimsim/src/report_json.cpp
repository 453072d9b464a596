// The JSON of cim-map (and cimforge.map in Python): a mapping with its cost per layer and in
// total, the device's peak figures, its estimated costs, and the --describe text.
#include <cim/cimsim/report_json.h>

#include <cim/cimsim/cost_plot.h>

#include <fmt/format.h>

#include <iterator>

namespace cim {

namespace {

using json = nlohmann::json;

std::string si(double x, const char* unit) { return format_si(x, unit); }

json opt_json(const std::optional<double>& x) { return x ? json(*x) : json(nullptr); }

// The estimated costs of `d`, as cim-map --describe prints them.
void append_estimates(std::string& out, const DeviceSpec& d) {
    bool first = true;
    for (const NamedCost& c : list_costs(d)) {
        if (!c.cost || !c.cost->estimate) continue;
        const CostEstimate& e = *c.cost->estimate;
        if (first) fmt::format_to(std::back_inserter(out), "\nestimated costs (docs/cost-estimators.md):\n");
        first = false;
        fmt::format_to(std::back_inserter(out), "  {} = {:.6g} {}  [{}]\n", c.path, c.cost->value, c.unit, e.model);
        fmt::format_to(std::back_inserter(out), "      formula:   {}\n", estimate_formula(e));
        std::vector<std::string> in;
        for (const auto& i : e.inputs)
            in.push_back(fmt::format("{} = {:g}{}{} ({})", i.name, i.value, i.unit.empty() ? "" : " ", i.unit, i.from));
        fmt::format_to(std::back_inserter(out), "      inputs:    {}\n", fmt::join(in, "; "));
        if (e.anchor_value) {
            std::vector<std::string> at;
            for (const auto& [name, v] : e.anchor_at) at.push_back(fmt::format("{} = {:g}", name, v));
            fmt::format_to(std::back_inserter(out), "      anchor:    {:g} at {} (model there {:.6g}, here {:.6g})\n", *e.anchor_value,
                       at.empty() ? "the device's own inputs" : fmt::format("{}", fmt::join(at, ", ")), e.model_value_at_anchor,
                       e.model_value);
        } else {
            fmt::format_to(std::back_inserter(out), "      model:     {:.6g}\n", e.model_value);
        }
        fmt::format_to(std::back_inserter(out), "      reference: {}\n", e.reference);
        if (!c.cost->source.empty()) fmt::format_to(std::back_inserter(out), "      source:    {}\n", c.cost->source);
    }
}

json components_json(const CostReport& r) {
    json out = json::object();
    for (std::size_t k = 0; k < kCostComponents; ++k) {
        const auto& c = r.components[k];
        const auto& info = r.info[k];
        out[std::string(to_string(CostComponent(k)))] = {
            {"energy_j", c.known ? json(c.energy_j) : json(nullptr)},
            {"latency_s", c.known ? json(c.latency_s) : json(nullptr)},
            {"events", c.events},
            {"event_unit", info.event_unit},
            {"energy_pj_per_event", opt_json(info.energy_pj_per_event)},
            {"latency_ns_per_event", opt_json(info.latency_ns_per_event)},
            {"energy_source", info.energy_source},
            {"latency_source", info.latency_source},
            {"energy_estimator", info.energy_estimator.empty() ? json(nullptr) : json(info.energy_estimator)},
            {"latency_estimator", info.latency_estimator.empty() ? json(nullptr) : json(info.latency_estimator)},
            {"unit", std::string(component_row(CostComponent(k)).event_unit)},
            {"colour", std::string(component_row(CostComponent(k)).colour)},
            {"known", c.known}};
    }
    return out;
}

json area_json(const std::array<AreaItem, kAreaComponents>& area) {
    json out = json::object();
    for (std::size_t k = 0; k < kAreaComponents; ++k)
        out[std::string(to_string(AreaComponent(k)))] = {
            {"area_mm2", area[k].area_mm2}, {"count", area[k].count}, {"source", area[k].source}};
    return out;
}

}  // namespace

json estimates_json(const DeviceSpec& d) {
    json out = json::array();
    for (const NamedCost& c : list_costs(d)) {
        if (!c.cost || !c.cost->estimate) continue;
        const CostEstimate& e = *c.cost->estimate;
        json inputs = json::array();
        for (const auto& i : e.inputs)
            inputs.push_back({{"name", std::string(i.name)},
                              {"value", i.value},
                              {"unit", std::string(i.unit)},
                              {"from", std::string(i.from)}});
        json anchor = nullptr;
        if (e.anchor_value) {
            json at = json::object();
            for (const auto& [name, v] : e.anchor_at) at[name] = v;
            anchor = {{"value", *e.anchor_value}, {"at", at}, {"model_value_at_anchor", e.model_value_at_anchor}};
        }
        out.push_back({{"path", c.path},
                       {"value", c.cost->value},
                       {"unit", c.unit},
                       {"model", e.model},
                       {"formula", estimate_formula(e)},
                       {"model_value", e.model_value},
                       {"inputs", inputs},
                       {"anchor", anchor},
                       {"reference", std::string(e.reference)},
                       {"source", c.cost->source}});
    }
    return out;
}

json mapping_json(const Mapping& m, const DeviceSpec& d, const CostReport& r) {
    json layers = json::array();
    for (std::size_t i = 0; i < m.layers.size(); ++i) {
        const auto& L = m.layers[i];
        const auto& c = r.layers[i];
        json e_by = json::object(), l_by = json::object();
        for (std::size_t k = 0; k < kCostComponents; ++k) {
            const std::string name(to_string(CostComponent(k)));
            const auto& cc = c.components[k];
            if (cc.energy_j == 0 && cc.latency_s == 0 && cc.events == 0 && cc.known) continue;
            e_by[name] = cc.known ? json(cc.energy_j) : json(nullptr);
            l_by[name] = cc.latency_s;
        }
        json j = {{"name", L.name},
                  {"op", std::string(op_name(L.op))},
                  {"runs_on", std::string(to_string(L.placement))},
                  {"rows", L.k},
                  {"cols", L.n},
                  {"groups", L.groups},
                  {"vectors", L.vectors},
                  {"sequential_steps", L.sequential_steps},
                  {"macs", L.macs},
                  {"arrays", L.arrays * L.duplication},
                  {"arrays_per_copy", L.arrays},
                  {"duplication", L.duplication},
                  {"row_tiles", L.row_tiles},
                  {"col_tiles", L.col_tiles},
                  {"rows_per_vector", L.rows_per_vector},
                  {"cols_per_output", L.cols_per_output},
                  {"groups_per_array", L.groups_per_array},
                  {"zero_arrays_skipped", L.zero_arrays_skipped},
                  {"utilization", L.utilization},
                  {"signed_inputs", L.signed_inputs},
                  {"digital_ops", L.digital_ops},
                  {"first_chip", L.first_chip},
                  {"last_chip", L.last_chip},
                  {"note", L.note},
                  // Cost model: latency for the batch, energy per inference; null = unknown, never zero.
                  {"latency_s", c.latency_s},
                  {"energy_j", c.known ? json(c.energy_j) : json(nullptr)},
                  {"stage_s", c.stage_s},
                  {"bound_by", std::string(to_string(c.bound_by))},
                  {"ops", c.ops},
                  {"area_mm2", c.area_mm2},
                  {"energy_by_component_j", e_by},
                  {"latency_by_component_s", l_by}};
        if (L.placement == Placement::arrays) j["weight_bits"] = L.weight_bits;
        if (L.placement == Placement::arrays && L.arrays > 0) {
            j["input_density"] = c.input_density;
            j["weight_density"] = c.weight_density;
            j["density_source"] = c.density_source;
        }
        layers.push_back(j);
    }
    json total = {{"arrays", m.arrays_used},
                  {"chips", m.chips},
                  {"tiles", m.tiles_used},
                  {"utilization", m.utilization},
                  {"fits_device", m.fits_device},
                  {"fit_note", m.fit_note},
                  {"batch", r.batch},
                  {"latency_s", opt_json(r.latency_s)},
                  {"energy_j", opt_json(r.energy_j)},
                  // A digital device without a published area: unknown (null), never 0.
                  {"area_mm2", r.area_mm2 > 0 || d.kind == DeviceKind::cim ? json(r.area_mm2) : json(nullptr)},
                  {"area_chips", r.chips_area},
                  {"tops_per_w", opt_json(r.tops_per_w)},
                  {"tops", opt_json(r.tops)},
                  {"tops_per_mm2", opt_json(r.tops_per_mm2)},
                  {"power_w", opt_json(r.power_w)},
                  {"ops_per_inference", r.ops},
                  {"throughput_inf_per_s", opt_json(r.throughput_inf_per_s)},
                  {"latency_pipelined_s", opt_json(r.latency_pipelined_s)},
                  {"throughput_pipelined_inf_per_s", opt_json(r.throughput_pipelined_inf_per_s)},
                  {"tops_pipelined", opt_json(r.tops_pipelined)},
                  {"energy_pipelined_j", opt_json(r.energy_pipelined_j)},
                  {"pipelining_possible", r.pipelining_possible},
                  {"leakage_w", r.leakage_w},
                  {"components", components_json(r)},
                  {"area_by_component", area_json(r.area)},
                  {"notes", r.notes}};
    return {{"model", m.model}, {"device", d.name}, {"kind", std::string(to_string(d.kind))}, {"device_file", d.source_path}, {"overrides", d.overrides},
            {"layers", layers}, {"total", total}};
}

json peak_json(const PeakFigures& p) {
    json power = json::object();
    for (std::size_t k = 0; k < kCostComponents; ++k)
        power[std::string(to_string(CostComponent(k)))] = {
            {"power_w", p.power_by_component_w[k]},
            {"source", p.info[k].energy_source},
            {"estimator", p.info[k].energy_estimator.empty() ? json(nullptr) : json(p.info[k].energy_estimator)}};
    return {{"tops", p.tops},
            {"tops_1b", p.tops_1b},
            {"tops_per_w", p.tops_per_w},
            {"tops_1b_per_w", p.tops_1b_per_w},
            {"tops_per_mm2", p.tops_per_mm2},
            {"tops_1b_per_mm2", p.tops_1b_per_mm2},
            {"area_mm2", p.area_mm2},
            {"power_w", p.power_w},
            {"tile_power_w", p.tile_power_w},
            {"tile_area_mm2", p.tile_area_mm2},
            {"energy_per_op_j", p.energy_per_op_j},
            {"macro_energy_per_vector_j", p.macro_energy_per_vector_j},
            {"ops_per_vector", p.ops_per_vector},
            {"cycle_s", p.cycle_s},
            {"vector_time_s", p.vector_time_s},
            {"bound_by", std::string(to_string(p.bound_by))},
            {"power_by_component", power},
            {"area_by_component", area_json(p.area)}};
}

std::string describe_text(const DeviceSpec& d, const PeakFigures& p) {
    std::string out;
    fmt::format_to(std::back_inserter(out), "{}: {}\n  file {}\n", d.name, d.description, d.source_path);
    if (d.kind == DeviceKind::digital_npu)
        fmt::format_to(std::back_inserter(out), "  {} nm digital NPU: {}x{} {} array of INT{} MACs at {} MHz; buffers {} KiB (weights) + {} KiB "
                       "(activations); DRAM {} GB/s\n", d.node_nm, d.npu.rows, d.npu.cols, to_string(d.npu.dataflow), d.npu.precision_bits,
                       d.npu.clock_mhz, d.npu.weight_buffer_kib, d.npu.activation_buffer_kib, d.npu.dram_gb_per_s);
    else if (d.kind == DeviceKind::fpga_dsp)
        fmt::format_to(std::back_inserter(out), "  {} nm FPGA: {} DSP slices ({} LUTs, {} per busy DSP) at {} MHz, INT{}{}; BRAM {} KiB; DRAM {} GB/s\n",
                       d.node_nm, d.fpga.dsp_slices, d.fpga.luts, d.fpga.luts_per_dsp, d.fpga.clock_mhz, d.fpga.precision_bits,
                       d.fpga.int8_packing && d.fpga.precision_bits == 8 ? " packed two per DSP" : "", d.fpga.bram_kib, d.fpga.dram_gb_per_s);
    else {
        fmt::format_to(std::back_inserter(out), "  {} nm {}; chip: {} tile(s) x {} array(s) of {}x{} ({}x{} usable), {}-bit cells\n", d.node_nm,
               to_string(d.technology), d.chip.tiles, d.chip.macros_per_tile, d.array.rows, d.array.cols, d.array.usable_rows,
               d.array.usable_cols, d.cell.bits);
        fmt::format_to(std::back_inserter(out), "  {}-bit weights on {} column(s) ({}), {}-bit inputs in {} cycle(s) of {} bit(s), ADC: {}\n", d.weight.bits,
               columns_per_weight(d), to_string(d.weight.encoding), d.input.bits, input_cycles(d), d.input.dac_bits,
               d.array.adc.range == AdcRange::none
                   ? std::string("none")
                   : fmt::format("{} bits, {} column(s) each", d.array.adc.bits, d.array.adc.cols_per_adc));
    }
    const int prec = d.weight.bits * d.input.bits;
    fmt::format_to(std::back_inserter(out), "\npeak, one chip with every array busy on full tiles ({}b weights x {}b inputs):\n", d.weight.bits, d.input.bits);
    fmt::format_to(std::back_inserter(out), "  throughput  {:.4g} TOPS  ({:.4g} TOPS normalized to 1b x 1b, x{})\n", p.tops, p.tops_1b, prec);
    fmt::format_to(std::back_inserter(out), "  efficiency  {:.4g} TOPS/W  ({:.4g} 1b-TOPS/W); {} per op\n", p.tops_per_w, p.tops_1b_per_w,
               si(p.energy_per_op_j, "J"));
    fmt::format_to(std::back_inserter(out), "  density     {:.4g} TOPS/mm^2  ({:.4g} 1b-TOPS/mm^2)\n", p.tops_per_mm2, p.tops_1b_per_mm2);
    fmt::format_to(std::back_inserter(out), "  area        {:.4g} mm^2 per chip (tile {:.4g} mm^2)\n", p.area_mm2, p.tile_area_mm2);
    fmt::format_to(std::back_inserter(out), "  power       {} per chip (tile {})\n", si(p.power_w, "W"), si(p.tile_power_w, "W"));
    fmt::format_to(std::back_inserter(out), "  timing      array cycle {}, one input vector {} per array (bound by {}); {:.0f} ops per array per vector\n",
               si(p.cycle_s, "s"), si(p.vector_time_s, "s"), to_string(p.bound_by), p.ops_per_vector);
    fmt::format_to(std::back_inserter(out), "\n{:<15} {:>11} {:>6}  {}\n", "component", "power", "share", "per-event cost (source)");
    for (std::size_t k = 0; k < kCostComponents; ++k) {
        if (p.power_by_component_w[k] == 0) continue;
        fmt::format_to(std::back_inserter(out), "{:<15} {:>11} {:>5.1f}%  {}\n", to_string(CostComponent(k)), si(p.power_by_component_w[k], "W"),
                   100 * p.power_by_component_w[k] / p.power_w, p.info[k].energy_source);
    }
    fmt::format_to(std::back_inserter(out), "\n{:<15} {:>11} {:>6} {:>10}  {}\n", "area", "mm^2", "share", "count", "source");
    for (std::size_t k = 0; k < kAreaComponents; ++k) {
        if (p.area[k].area_mm2 == 0) continue;
        fmt::format_to(std::back_inserter(out), "{:<15} {:>11.4g} {:>5.1f}% {:>10.4g}  {}\n", to_string(AreaComponent(k)), p.area[k].area_mm2,
                   100 * p.area[k].area_mm2 / p.area_mm2, p.area[k].count, p.area[k].source);
    }
    append_estimates(out, d);
    return out;
}

}  // namespace cim
