// The price table: the per-event energy and latency of every component, read
// from the device's cost entries (a number with its source, or an estimator's
// figure with formula and inputs), and where each price comes from.
#include "cost_internal.h"

#include <cim/error.h>

#include <fmt/format.h>

#include <string>
#include <vector>

namespace cim::cost_detail {

std::string cite(const std::string& path, const Cost& c, const std::string& unit) {
    const std::string source = c.source.empty() ? "no source given" : c.source;
    if (c.estimate)
        return fmt::format("{} = {:g} {} (estimator {}: {}; {})", path, c.value, unit, c.estimate->model,
                           estimate_formula(*c.estimate), source);
    return fmt::format("{} = {:g} {} ({})", path, c.value, unit, source);
}

namespace {
// An optional entry's citation, or what its absence means.
std::string cite_optional(const std::string& path, const std::optional<Cost>& c, const std::string& unit,
                          const std::string& when_absent) {
    return c ? cite(path, *c, unit) : "not given (" + path + when_absent + ")";
}

std::string estimator_of(const Cost& c) { return c.estimate ? c.estimate->model : ""; }
std::string estimator_of(const std::optional<Cost>& c) { return c ? estimator_of(*c) : ""; }
}  // namespace

Prices::Prices(const DeviceSpec& d) {
    const auto& e = d.energy;
    if (e.array_read_pj_per_column) e_col = e.array_read_pj_per_column->value;
    if (e.array_read_pj_per_cell) e_cell = e.array_read_pj_per_cell->value;
    e_row = e.row_drive_pj_per_row.value;
    if (d.array.adc.range != AdcRange::none) {
        CIM_INTERNAL_CHECK(e.adc_pj_per_conversion && d.latency.adc_ns_per_conversion,
                           "a device with an ADC lacks its costs (the schema requires them)");
        e_adc = e.adc_pj_per_conversion->value;
        t_adc = d.latency.adc_ns_per_conversion->value;
    }
    e_sa = e.shift_add_pj_per_op.value;
    e_ibuf = e.input_buffer_pj_per_byte.value;
    e_obuf = e.output_buffer_pj_per_byte.value;
    e_ic = e.interconnect_pj_per_byte.value;
    e_dig = e.digital_pj_per_op.value;
    leak_mw = e.leakage_mw_per_tile.value;
    if (e.chip_link_pj_per_byte) e_link = e.chip_link_pj_per_byte->value;
    if (e.weight_program_pj_per_cell) e_prog = e.weight_program_pj_per_cell->value;
    if (d.latency.chip_link_ns_per_byte) t_link = d.latency.chip_link_ns_per_byte->value;
    if (d.latency.weight_program_ns_per_row) t_prog = d.latency.weight_program_ns_per_row->value;
    t_read = d.latency.array_read_ns.value;
    t_buf = d.latency.buffer_ns_per_byte.value;
    t_ic = d.latency.interconnect_ns_per_byte.value;
    t_dig = d.latency.digital_ns_per_op.value;
}

std::array<ComponentInfo, kCostComponents> component_info(const Geometry& g, const Prices& p) {
    const DeviceSpec& d = g.d;
    std::array<ComponentInfo, kCostComponents> info{};
    auto& ar = info[idx(CC::array_read)];
    ar.event_unit = d.energy.array_read_pj_per_cell ? "cell activations" : "column reads";
    {
        std::vector<std::string> parts;
        if (d.energy.array_read_pj_per_column)
            parts.push_back(cite("energy.array_read_pj_per_column", *d.energy.array_read_pj_per_column, "pJ"));
        if (d.energy.array_read_pj_per_cell)
            parts.push_back(cite("energy.array_read_pj_per_cell", *d.energy.array_read_pj_per_cell, "pJ"));
        ar.energy_source = fmt::format("{}", fmt::join(parts, "; "));
        if (parts.size() == 1) ar.energy_pj_per_event = d.energy.array_read_pj_per_cell ? p.e_cell : p.e_col;
    }
    ar.latency_ns_per_event = p.t_read;
    ar.latency_source = cite("latency.array_read_ns", d.latency.array_read_ns, "ns");

    auto& rd = info[idx(CC::row_drive)];
    rd.event_unit = "row drives";
    rd.energy_pj_per_event = p.e_row;
    rd.energy_source = cite("energy.row_drive_pj_per_row", d.energy.row_drive_pj_per_row, "pJ");
    rd.latency_source = "within latency.array_read_ns";

    auto& adc = info[idx(CC::adc)];
    adc.event_unit = "conversions";
    if (g.has_adc) {
        adc.energy_pj_per_event = p.e_adc;
        adc.latency_ns_per_event = p.t_adc;
        adc.energy_source = cite("energy.adc_pj_per_conversion", *d.energy.adc_pj_per_conversion, "pJ");
        adc.latency_source = cite("latency.adc_ns_per_conversion", *d.latency.adc_ns_per_conversion, "ns");
    } else {
        adc.energy_source = adc.latency_source = "no ADC (array.adc.range: none)";
    }

    auto& sa = info[idx(CC::shift_add)];
    sa.event_unit = "ops";
    sa.energy_pj_per_event = p.e_sa;
    sa.energy_source = cite("energy.shift_add_pj_per_op", d.energy.shift_add_pj_per_op, "pJ");
    sa.latency_source = "alongside the conversions (one result per conversion)";

    auto& ib = info[idx(CC::input_buffer)];
    ib.event_unit = "bytes";
    ib.energy_pj_per_event = p.e_ibuf;
    ib.latency_ns_per_event = p.t_buf;
    ib.energy_source = cite("energy.input_buffer_pj_per_byte", d.energy.input_buffer_pj_per_byte, "pJ");
    ib.latency_source = cite("latency.buffer_ns_per_byte", d.latency.buffer_ns_per_byte, "ns");

    auto& ob = info[idx(CC::output_buffer)];
    ob.event_unit = "bytes";
    ob.energy_pj_per_event = p.e_obuf;
    ob.latency_ns_per_event = p.t_buf;
    ob.energy_source = cite("energy.output_buffer_pj_per_byte", d.energy.output_buffer_pj_per_byte, "pJ");
    ob.latency_source = ib.latency_source;

    auto& ic = info[idx(CC::interconnect)];
    ic.event_unit = "byte hops";
    ic.energy_pj_per_event = p.e_ic;
    ic.latency_ns_per_event = p.t_ic;
    ic.energy_source = cite("energy.interconnect_pj_per_byte", d.energy.interconnect_pj_per_byte, "pJ");
    ic.latency_source = cite("latency.interconnect_ns_per_byte", d.latency.interconnect_ns_per_byte, "ns");

    for (CC c : {CC::chip_link, CC::host_transfer}) {
        auto& cl = info[idx(c)];
        cl.event_unit = "bytes";
        cl.energy_pj_per_event = p.e_link;
        cl.latency_ns_per_event = p.t_link;
        cl.energy_source = cite_optional("energy.chip_link_pj_per_byte", d.energy.chip_link_pj_per_byte, "pJ",
                                "; chip.max_chips is 1");
        cl.latency_source = cite_optional("latency.chip_link_ns_per_byte", d.latency.chip_link_ns_per_byte, "ns", "");
    }

    auto& dg = info[idx(CC::digital)];
    dg.event_unit = "ops";
    dg.energy_pj_per_event = p.e_dig;
    dg.latency_ns_per_event = p.t_dig;
    dg.energy_source = cite("energy.digital_pj_per_op", d.energy.digital_pj_per_op, "pJ");
    dg.latency_source = cite("latency.digital_ns_per_op", d.latency.digital_ns_per_op, "ns");

    auto& wp = info[idx(CC::weight_program)];
    wp.event_unit = "cells written";
    wp.energy_pj_per_event = p.e_prog;
    wp.energy_source = cite_optional("energy.weight_program_pj_per_cell", d.energy.weight_program_pj_per_cell, "pJ", "");
    wp.latency_source = cite_optional("latency.weight_program_ns_per_row", d.latency.weight_program_ns_per_row, "ns", "");

    auto& lk = info[idx(CC::leakage)];
    lk.event_unit = "tile-seconds";
    lk.energy_pj_per_event = p.leak_mw * 1e9;  // mW x 1 s = 1e9 pJ
    lk.energy_source = cite("energy.leakage_mw_per_tile", d.energy.leakage_mw_per_tile, "mW");
    lk.latency_source = "static power, no latency of its own";
    // The digital kinds' own components (cost_digital.cpp).
    for (CC c : {CC::mac, CC::dram}) {
        auto& none = info[idx(c)];
        none.event_unit = std::string(component_row(c).event_unit);
        none.energy_source = none.latency_source = "not part of a CIM device (digital_npu and fpga_dsp only)";
    }

    // Which components an estimator priced.
    const auto& e = d.energy;
    const auto& l = d.latency;
    ar.energy_estimator = e.array_read_pj_per_cell ? estimator_of(e.array_read_pj_per_cell) : estimator_of(e.array_read_pj_per_column);
    ar.latency_estimator = estimator_of(l.array_read_ns);
    rd.energy_estimator = estimator_of(e.row_drive_pj_per_row);
    adc.energy_estimator = estimator_of(e.adc_pj_per_conversion);
    adc.latency_estimator = estimator_of(l.adc_ns_per_conversion);
    sa.energy_estimator = estimator_of(e.shift_add_pj_per_op);
    ib.energy_estimator = estimator_of(e.input_buffer_pj_per_byte);
    ob.energy_estimator = estimator_of(e.output_buffer_pj_per_byte);
    ib.latency_estimator = ob.latency_estimator = estimator_of(l.buffer_ns_per_byte);
    ic.energy_estimator = estimator_of(e.interconnect_pj_per_byte);
    ic.latency_estimator = estimator_of(l.interconnect_ns_per_byte);
    for (CC c : {CC::chip_link, CC::host_transfer}) {
        info[idx(c)].energy_estimator = estimator_of(e.chip_link_pj_per_byte);
        info[idx(c)].latency_estimator = estimator_of(l.chip_link_ns_per_byte);
    }
    dg.energy_estimator = estimator_of(e.digital_pj_per_op);
    dg.latency_estimator = estimator_of(l.digital_ns_per_op);
    wp.energy_estimator = estimator_of(e.weight_program_pj_per_cell);
    wp.latency_estimator = estimator_of(l.weight_program_ns_per_row);
    lk.energy_estimator = estimator_of(e.leakage_mw_per_tile);
    return info;
}

}  // namespace cim::cost_detail
