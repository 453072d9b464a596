// The cost model (docs/cost-model.md explains every formula used here).
#include <cim/ir/op_traits.h>
#include <cim/cimsim/cost_model.h>
#include <cim/error.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

namespace cim {

namespace {
constexpr std::array<std::string_view, kCostComponents> kComponentNames = {
    "array_read", "row_drive", "adc", "shift_add", "input_buffer", "output_buffer",
    "interconnect", "chip_link", "digital", "host_transfer", "weight_program", "leakage"};
static_assert(kComponentNames.size() == kCostComponents);

constexpr std::array<std::string_view, kAreaComponents> kAreaNames = {
    "cells", "row_drivers", "adcs", "shift_add", "macro_other", "tile_buffer", "tile_other", "chip_other"};
static_assert(kAreaNames.size() == kAreaComponents);
}  // namespace

std::string_view to_string(CostComponent c) {
    const auto i = std::size_t(c);
    CIM_INTERNAL_CHECK(i < kCostComponents, "cost component without a name");
    return kComponentNames[i];
}

std::string_view to_string(AreaComponent c) {
    const auto i = std::size_t(c);
    CIM_INTERNAL_CHECK(i < kAreaComponents, "area component without a name");
    return kAreaNames[i];
}

namespace {

using CC = CostComponent;
constexpr std::size_t idx(CC c) { return std::size_t(c); }

double ceil_div(double a, double b) { return std::ceil(a / b - 1e-12); }

std::string cite(const std::string& path, const Cost& c, const std::string& unit) {
    return fmt::format("{} = {:g} {} ({})", path, c.value, unit, c.source.empty() ? "no source given" : c.source);
}

// Per-device constants the formulas use, read once.
struct Dev {
    const DeviceSpec& d;
    double R, C, mar, cin, cpo, in_bytes, out_bytes, act_bytes;  // cpo: columns per device-width weight
    bool has_adc;
    double cpa, adcs;
    // energies (pJ) and latencies (ns)
    double e_col = 0, e_cell = 0, e_row, e_adc = 0, e_sa, e_ibuf, e_obuf, e_ic, e_dig, leak_mw;
    std::optional<double> e_link, e_prog, t_link, t_prog;
    double t_read, t_adc = 0, t_buf, t_ic, t_dig;
    double per_chip, mpt;

    explicit Dev(const DeviceSpec& dev) : d(dev) {
        R = d.array.usable_rows;
        C = d.array.usable_cols;
        mar = std::max(1, d.array.max_active_rows);
        cin = input_cycles(d);
        cpo = columns_per_weight(d);
        in_bytes = d.input.bits / 8.0;
        act_bytes = in_bytes;
        out_bytes = d.output.bits.value_or(d.quant.bias_bits) / 8.0;
        has_adc = d.array.adc.range != AdcRange::none;
        cpa = has_adc ? d.array.adc.cols_per_adc : 0;
        adcs = adcs_per_array(d);
        const auto& e = d.energy;
        if (e.array_read_pj_per_column) e_col = e.array_read_pj_per_column->value;
        if (e.array_read_pj_per_cell) e_cell = e.array_read_pj_per_cell->value;
        e_row = e.row_drive_pj_per_row.value;
        if (has_adc) {
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
        mpt = d.chip.macros_per_tile;
        per_chip = double(d.chip.tiles) * mpt;
    }

    // One array cycle with `cols` columns converted: the read, then the shared ADC's
    // conversions (contiguous columns share an ADC), overlapped when pipelined.
    double conversions_per_adc(double cols) const { return has_adc ? std::min(cpa, cols) : 0.0; }
    double cycle_ns(double cols) const {
        const double conv = conversions_per_adc(cols) * t_adc;
        return d.latency.pipelined ? std::max(t_read, conv) : t_read + conv;
    }

    double array_um2() const {
        double a = d.area.array_um2.value + d.array.rows * d.area.row_driver_um2.value + d.area.shift_add_um2.value +
                   d.area.macro_other_um2.value;
        if (d.area.adc_um2) a += adcs * d.area.adc_um2->value;
        return a;
    }
    double tile_um2() const { return mpt * array_um2() + d.area.tile_buffer_um2.value + d.area.tile_other_um2.value; }
    double chip_um2() const { return d.chip.tiles * tile_um2() + d.area.chip_other_um2.value; }
};

std::array<ComponentInfo, kCostComponents> component_info(const Dev& v) {
    const DeviceSpec& d = v.d;
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
        if (parts.size() == 1) ar.energy_pj_per_event = d.energy.array_read_pj_per_cell ? v.e_cell : v.e_col;
    }
    ar.latency_ns_per_event = v.t_read;
    ar.latency_source = cite("latency.array_read_ns", d.latency.array_read_ns, "ns");

    auto& rd = info[idx(CC::row_drive)];
    rd.event_unit = "row drives";
    rd.energy_pj_per_event = v.e_row;
    rd.energy_source = cite("energy.row_drive_pj_per_row", d.energy.row_drive_pj_per_row, "pJ");
    rd.latency_source = "within latency.array_read_ns";

    auto& adc = info[idx(CC::adc)];
    adc.event_unit = "conversions";
    if (v.has_adc) {
        adc.energy_pj_per_event = v.e_adc;
        adc.latency_ns_per_event = v.t_adc;
        adc.energy_source = cite("energy.adc_pj_per_conversion", *d.energy.adc_pj_per_conversion, "pJ");
        adc.latency_source = cite("latency.adc_ns_per_conversion", *d.latency.adc_ns_per_conversion, "ns");
    } else {
        adc.energy_source = adc.latency_source = "no ADC (array.adc.range: none)";
    }

    auto& sa = info[idx(CC::shift_add)];
    sa.event_unit = "ops";
    sa.energy_pj_per_event = v.e_sa;
    sa.energy_source = cite("energy.shift_add_pj_per_op", d.energy.shift_add_pj_per_op, "pJ");
    sa.latency_source = "alongside the conversions (one result per conversion)";

    auto& ib = info[idx(CC::input_buffer)];
    ib.event_unit = "bytes";
    ib.energy_pj_per_event = v.e_ibuf;
    ib.latency_ns_per_event = v.t_buf;
    ib.energy_source = cite("energy.input_buffer_pj_per_byte", d.energy.input_buffer_pj_per_byte, "pJ");
    ib.latency_source = cite("latency.buffer_ns_per_byte", d.latency.buffer_ns_per_byte, "ns");

    auto& ob = info[idx(CC::output_buffer)];
    ob.event_unit = "bytes";
    ob.energy_pj_per_event = v.e_obuf;
    ob.latency_ns_per_event = v.t_buf;
    ob.energy_source = cite("energy.output_buffer_pj_per_byte", d.energy.output_buffer_pj_per_byte, "pJ");
    ob.latency_source = ib.latency_source;

    auto& ic = info[idx(CC::interconnect)];
    ic.event_unit = "byte hops";
    ic.energy_pj_per_event = v.e_ic;
    ic.latency_ns_per_event = v.t_ic;
    ic.energy_source = cite("energy.interconnect_pj_per_byte", d.energy.interconnect_pj_per_byte, "pJ");
    ic.latency_source = cite("latency.interconnect_ns_per_byte", d.latency.interconnect_ns_per_byte, "ns");

    for (CC c : {CC::chip_link, CC::host_transfer}) {
        auto& cl = info[idx(c)];
        cl.event_unit = "bytes";
        cl.energy_pj_per_event = v.e_link;
        cl.latency_ns_per_event = v.t_link;
        cl.energy_source = d.energy.chip_link_pj_per_byte
                               ? cite("energy.chip_link_pj_per_byte", *d.energy.chip_link_pj_per_byte, "pJ")
                               : "not given (energy.chip_link_pj_per_byte; chip.max_chips is 1)";
        cl.latency_source = d.latency.chip_link_ns_per_byte
                                ? cite("latency.chip_link_ns_per_byte", *d.latency.chip_link_ns_per_byte, "ns")
                                : "not given (latency.chip_link_ns_per_byte)";
    }

    auto& dg = info[idx(CC::digital)];
    dg.event_unit = "ops";
    dg.energy_pj_per_event = v.e_dig;
    dg.latency_ns_per_event = v.t_dig;
    dg.energy_source = cite("energy.digital_pj_per_op", d.energy.digital_pj_per_op, "pJ");
    dg.latency_source = cite("latency.digital_ns_per_op", d.latency.digital_ns_per_op, "ns");

    auto& wp = info[idx(CC::weight_program)];
    wp.event_unit = "cells written";
    wp.energy_pj_per_event = v.e_prog;
    wp.energy_source = d.energy.weight_program_pj_per_cell
                           ? cite("energy.weight_program_pj_per_cell", *d.energy.weight_program_pj_per_cell, "pJ")
                           : "not given (energy.weight_program_pj_per_cell)";
    wp.latency_source = d.latency.weight_program_ns_per_row
                            ? cite("latency.weight_program_ns_per_row", *d.latency.weight_program_ns_per_row, "ns")
                            : "not given (latency.weight_program_ns_per_row)";

    auto& lk = info[idx(CC::leakage)];
    lk.event_unit = "tile-seconds";
    lk.energy_pj_per_event = v.leak_mw * 1e9;  // mW x 1 s = 1e9 pJ
    lk.energy_source = cite("energy.leakage_mw_per_tile", d.energy.leakage_mw_per_tile, "mW");
    lk.latency_source = "static power, no latency of its own";
    return info;
}

std::array<AreaItem, kAreaComponents> area_items(const Dev& v, double chips) {
    const DeviceSpec& d = v.d;
    const double tiles = chips * d.chip.tiles, arrays = tiles * v.mpt;
    std::array<AreaItem, kAreaComponents> a{};
    auto set = [&](AreaComponent c, double count, double um2_each, const std::string& source) {
        a[std::size_t(c)] = {count * um2_each * 1e-6, count, source};
    };
    set(AreaComponent::cells, arrays, d.area.array_um2.value, cite("area.array_um2", d.area.array_um2, "um^2"));
    set(AreaComponent::row_drivers, arrays * d.array.rows, d.area.row_driver_um2.value,
        cite("area.row_driver_um2", d.area.row_driver_um2, "um^2"));
    if (d.area.adc_um2)
        set(AreaComponent::adcs, arrays * v.adcs, d.area.adc_um2->value, cite("area.adc_um2", *d.area.adc_um2, "um^2"));
    else
        a[std::size_t(AreaComponent::adcs)].source = "no ADC (array.adc.range: none)";
    set(AreaComponent::shift_add, arrays, d.area.shift_add_um2.value, cite("area.shift_add_um2", d.area.shift_add_um2, "um^2"));
    set(AreaComponent::macro_other, arrays, d.area.macro_other_um2.value,
        cite("area.macro_other_um2", d.area.macro_other_um2, "um^2"));
    set(AreaComponent::tile_buffer, tiles, d.area.tile_buffer_um2.value,
        cite("area.tile_buffer_um2", d.area.tile_buffer_um2, "um^2"));
    set(AreaComponent::tile_other, tiles, d.area.tile_other_um2.value, cite("area.tile_other_um2", d.area.tile_other_um2, "um^2"));
    set(AreaComponent::chip_other, chips, d.area.chip_other_um2.value, cite("area.chip_other_um2", d.area.chip_other_um2, "um^2"));
    return a;
}

// Ops that only reinterpret a buffer or make constants: no data moves.
bool is_view(OpKind op) {
    const OpRole role = op_traits(op).role;
    return role == OpRole::view || role == OpRole::constant;
}

// A weight-stationary layer's array events per input vector (all tiles of one copy).
struct ArrayEvents {
    double row_drives = 0, col_reads = 0, cells = 0, conversions = 0, shift_adds = 0;
    double in_bytes = 0, out_bytes = 0, requant_ops = 0;
    double passes_max = 0, cols_max = 0, tiles = 0;
};

ArrayEvents array_events(const Dev& v, const LayerMapping& L, bool has_bias) {
    struct Cls { double rows, outputs, count; };
    std::vector<Cls> cls;
    double segments = 1;  // partial sums per output (row tiles x passes)
    const double Rv = double(L.rows_per_vector), N = double(L.n), G = double(L.groups);
    double bias_tiles = 0;
    if (L.groups_per_array > 1) {
        const double gpa = double(L.groups_per_array);
        const double full = std::floor(G / gpa), rem = G - full * gpa;
        if (full > 0) cls.push_back({Rv * gpa, N * gpa, full});
        if (rem > 0) cls.push_back({Rv * rem, N * rem, 1});
        segments = ceil_div(Rv * gpa, v.mar);
        bias_tiles = full + (rem > 0 ? 1 : 0);
    } else {
        const double RT = double(L.row_tiles), CT = double(L.col_tiles), opa = double(L.outputs_per_array);
        const double last_r = Rv - (RT - 1) * v.R, last_o = N - (CT - 1) * opa;
        std::vector<std::pair<double, double>> rows = {{v.R, RT - 1}, {last_r, 1}};
        std::vector<std::pair<double, double>> outs = {{opa, CT - 1}, {last_o, 1}};
        for (auto [r, rc] : rows)
            for (auto [o, oc] : outs)
                if (rc > 0 && oc > 0 && r > 0 && o > 0) cls.push_back({r, o, rc * oc * G});
        segments = (RT - 1) * ceil_div(v.R, v.mar) + ceil_div(last_r, v.mar);
        bias_tiles = CT * G;
    }
    ArrayEvents e;
    double cols_sum = 0;
    for (const Cls& c : cls) {
        const double cols = c.outputs * double(L.cols_per_output) + double(L.reference_cols);  // the layer's own width
        const double passes = ceil_div(c.rows, v.mar);
        e.row_drives += v.cin * c.rows * c.count;
        e.col_reads += v.cin * passes * cols * c.count;
        e.cells += v.cin * c.rows * cols * c.count;
        e.in_bytes += c.rows * v.in_bytes * c.count;
        e.out_bytes += c.outputs * v.out_bytes * c.count;
        e.passes_max = std::max(e.passes_max, passes);
        e.cols_max = std::max(e.cols_max, cols);
        e.tiles += c.count;
        cols_sum += cols * c.count;
    }
    if (has_bias && v.d.array.bias_rows > 0 && e.tiles > 0) {
        // Bias rows of the first row tile are driven with the inputs.
        const double br = v.d.array.bias_rows;
        e.row_drives += v.cin * br * bias_tiles;
        e.cells += v.cin * br * (cols_sum / e.tiles) * bias_tiles;
    }
    e.conversions = v.has_adc ? e.col_reads : 0;
    const double outputs = N * G;
    e.shift_adds = e.col_reads + outputs * (segments - 1);
    e.requant_ops = outputs;
    // All-zero tiles the mapper skipped are not read.
    if (e.tiles > 0 && L.arrays < e.tiles) {
        const double s = double(L.arrays) / e.tiles;
        for (double* x : {&e.row_drives, &e.col_reads, &e.cells, &e.conversions, &e.shift_adds, &e.in_bytes, &e.out_bytes})
            *x *= s;
    }
    return e;
}

// Chips a node's work sits on: array layers their own, others those of their data.
struct ChipRange {
    int first = 0, last = 0;
    bool host = false;  // the data comes from the host (a graph input)
};

}  // namespace

CostReport estimate_cost(const Graph& g, const Mapping& m, const DeviceSpec& d, const CostOptions& opt) {
    if (opt.batch < 1) throw InputError("--batch must be at least 1 (got " + std::to_string(opt.batch) + ")");
    CIM_INTERNAL_CHECK(m.layers.size() == g.nodes.size(), "mapping and graph disagree on the number of nodes");
    const Dev v(d);
    const double B = opt.batch;
    CostReport rep;
    rep.batch = opt.batch;
    rep.info = component_info(v);

    // ---- device-level situation ----
    const bool shared = d.array.multi_layer;
    std::optional<double> limit_chips;
    if (d.chip.max_chips) limit_chips = *d.chip.max_chips;
    const bool time_multiplexed = !m.fits_device && limit_chips;
    const double chips_present = time_multiplexed ? *limit_chips : double(m.chips);
    rep.chips_area = chips_present;
    const double tiles_powered =
        time_multiplexed ? std::min<double>(double(m.tiles_used), chips_present * d.chip.tiles) : double(m.tiles_used);
    rep.leakage_w = v.leak_mw * 1e-3 * std::max(1.0, tiles_powered);

    // Weight reprogramming rounds when the model does not fit the chips it may use.
    double rounds = 1;
    double weight_cells_total = 0;
    if (time_multiplexed) {
        double arrays_needed = 0;
        for (const auto& L : m.layers)
            if (L.placement == Placement::arrays) {
                arrays_needed += double(L.arrays);
                weight_cells_total += double(L.used_cells);
            }
        if (shared) arrays_needed = double(m.arrays_used);
        rounds = std::max(1.0, ceil_div(arrays_needed, chips_present * v.per_chip));
        rep.pipelining_possible = rounds <= 1;
        rep.notes.push_back(fmt::format(
            "{}: weights are reloaded {} times per batch ({} rounds on {} chip(s)); layer pipelining is not possible",
            m.fit_note.empty() ? "the model does not fit" : m.fit_note, rounds - 1, rounds, chips_present));
    }
    const bool program_known = v.e_prog.has_value() && v.t_prog.has_value();
    bool totals_known = true;
    if (rounds > 1 && !program_known) {
        totals_known = false;
        rep.notes.push_back(fmt::format(
            "totals unknown: reloading weights needs energy.weight_program_pj_per_cell and "
            "latency.weight_program_ns_per_row, which {} does not give",
            d.source_path.empty() ? d.name : d.source_path));
    }

    // ---- chip ranges and digital units of every node ----
    std::vector<int> producer(g.values.size(), -1);
    for (size_t n = 0; n < g.nodes.size(); ++n)
        for (int o : g.nodes[n].outputs)
            if (o >= 0) producer[size_t(o)] = int(n);
    std::vector<ChipRange> range(g.nodes.size());
    std::vector<double> units(g.nodes.size(), 1.0);  // tiles whose units serve the node
    auto first_dynamic_input = [&](const Node& n) -> int {
        for (int i : n.inputs)
            if (i >= 0 && !g.value(i).constant) return i;
        return -1;
    };
    for (size_t n = 0; n < g.nodes.size(); ++n) {
        const LayerMapping& L = m.layers[n];
        if (L.placement == Placement::arrays && L.arrays > 0) {
            range[n] = {L.first_chip, L.last_chip, false};
            const double arrays = shared ? double(L.arrays) : double(L.arrays * L.duplication);
            units[n] = std::max(1.0, ceil_div(arrays, v.mpt));
            if (shared) units[n] = std::min(units[n], std::max(1.0, double(m.tiles_used)));
        } else {
            const int in = first_dynamic_input(g.nodes[n]);
            const int p = in >= 0 ? producer[size_t(in)] : -1;
            if (p >= 0) {
                range[n] = range[size_t(p)];
                units[n] = units[size_t(p)];
            } else {
                range[n] = {0, 0, true};
            }
        }
    }
    // Graph inputs and outputs cross the host link.
    std::vector<double> host_in_elems(g.nodes.size(), 0), host_out_elems(g.nodes.size(), 0);
    {
        std::set<int> graph_inputs(g.inputs.begin(), g.inputs.end());
        std::set<int> charged;
        for (size_t n = 0; n < g.nodes.size(); ++n)
            for (int i : g.nodes[n].inputs)
                if (i >= 0 && graph_inputs.count(i) && !charged.count(i)) {
                    charged.insert(i);
                    host_in_elems[n] += double(std::max<int64_t>(0, shape_numel(g.value(i).shape)));
                }
        for (int o : g.outputs)
            if (o >= 0 && producer[size_t(o)] >= 0)
                host_out_elems[size_t(producer[size_t(o)])] += double(std::max<int64_t>(0, shape_numel(g.value(o).shape)));
    }
    bool host_missing = false, host_compute = false;
    std::vector<std::string> host_layers;

    // ---- per layer ----
    rep.layers.resize(m.layers.size());
    double shared_array_ns = 0;  // array time of layers that share arrays (multi_layer devices)
    for (size_t n = 0; n < m.layers.size(); ++n) {
        const LayerMapping& L = m.layers[n];
        const Node& node = g.nodes[n];
        LayerCost& lc = rep.layers[n];
        lc.layer = int(n);
        lc.ops = 2.0 * double(L.macs);
        auto& c = lc.components;
        auto charge = [&](CC k, double events, std::optional<double> pj) {
            c[idx(k)].events += events;
            if (events <= 0) return;
            if (pj) c[idx(k)].energy_j += events * *pj * 1e-12;
            else c[idx(k)].known = false;
        };
        // Streaming components overlap; the slowest sets the layer's time.
        std::array<double, kCostComponents> busy{};

        // Densities (array layers only).
        lc.input_density = d.energy.reference_input_density;
        lc.weight_density = d.energy.reference_weight_density;
        lc.density_source = "reference (YAML energy.reference_*_density)";
        {
            LayerDensity ld = opt.stats.defaults;
            if (auto it = opt.stats.layers.find(L.name); it != opt.stats.layers.end()) {
                if (it->second.input_density) ld.input_density = it->second.input_density;
                if (it->second.weight_density) ld.weight_density = it->second.weight_density;
            }
            if (ld.input_density || ld.weight_density) {
                lc.density_source = opt.stats.source.empty() ? "stats" : opt.stats.source;
                if (!ld.input_density || !ld.weight_density) lc.density_source += " (partly reference)";
            }
            if (ld.input_density) lc.input_density = *ld.input_density;
            if (ld.weight_density) lc.weight_density = *ld.weight_density;
        }

        // Chip-link bytes: the input of a node whose chips differ from its producer's.
        double link_bytes = 0;
        if (!time_multiplexed && L.placement == Placement::arrays && L.arrays > 0) {
            const int in = first_dynamic_input(node);
            const int p = in >= 0 ? producer[size_t(in)] : -1;
            if (p >= 0 && !range[size_t(p)].host) {
                const ChipRange a = range[n], b = range[size_t(p)];
                const double span = a.last - a.first + 1;
                const double overlap = std::max(0, std::min(a.last, b.last) - std::max(a.first, b.first) + 1);
                link_bytes = double(L.input_elems) * v.act_bytes * (span - overlap) / span;  // per inference
            }
        }

        double host_bytes = (host_in_elems[n] * v.in_bytes + host_out_elems[n] * v.act_bytes);  // per inference
        double array_path_ns = 0, dig_ns = 0, buf_in_ns = 0, buf_out_ns = 0, ic_ns = 0;

        if (L.placement == Placement::arrays && L.arrays > 0) {
            const bool has_bias = op_traits(node.op).role == OpRole::matmul && node.has_input(2);
            const ArrayEvents e = array_events(v, L, has_bias);
            const double V = double(L.vectors);  // per inference
            const double r_in = lc.input_density / d.energy.reference_input_density;
            const double r_cell = r_in * lc.weight_density / d.energy.reference_weight_density;
            // Energy per inference.
            c[idx(CC::array_read)].events += V * (d.energy.array_read_pj_per_cell ? e.cells : e.col_reads);
            c[idx(CC::array_read)].energy_j += V * (e.col_reads * v.e_col + e.cells * v.e_cell * r_cell) * 1e-12;
            c[idx(CC::row_drive)].events += V * e.row_drives;
            c[idx(CC::row_drive)].energy_j += V * e.row_drives * v.e_row * r_in * 1e-12;
            charge(CC::adc, V * e.conversions, v.e_adc);
            charge(CC::shift_add, V * e.shift_adds, v.e_sa);
            charge(CC::input_buffer, V * e.in_bytes, v.e_ibuf);
            charge(CC::output_buffer, V * e.out_bytes, v.e_obuf);
            charge(CC::interconnect, V * e.out_bytes * opt.hops, v.e_ic);
            charge(CC::digital, V * e.requant_ops, v.e_dig);

            // Time for the batch: each copy takes its share of the vectors; tiles run in
            // parallel (in turn when layers share arrays).
            const double copies = double(std::max<int64_t>(1, L.duplication));
            const double per_copy = ceil_div(V * B, copies);
            const double serial = shared ? ceil_div(double(L.arrays), std::min<double>(double(L.arrays), std::max<int64_t>(1, m.arrays_used))) : 1.0;
            const double n_cycles = per_copy * v.cin * e.passes_max * serial;
            const double conv = v.conversions_per_adc(e.cols_max);
            busy[idx(CC::array_read)] = n_cycles * v.t_read;
            busy[idx(CC::adc)] = n_cycles * conv * v.t_adc;
            array_path_ns = n_cycles * v.cycle_ns(e.cols_max);
            if (shared) shared_array_ns += array_path_ns;
            const double u = units[n];
            buf_in_ns = V * B * e.in_bytes * v.t_buf / u;
            buf_out_ns = V * B * e.out_bytes * v.t_buf / u;
            ic_ns = V * B * e.out_bytes * opt.hops * v.t_ic / u;
            dig_ns = V * B * e.requant_ops * v.t_dig / u;
        } else if (L.placement == Placement::host) {
            host_compute = true;
            host_layers.push_back(L.name);
            host_bytes += (double(L.input_elems) + double(L.output_elems)) * v.act_bytes;
        } else if (L.placement == Placement::digital) {
            const double ops = double(L.digital_ops);
            double in_b = 0, out_b = 0;
            if (ops > 0) {
                in_b = double(L.input_elems) * v.act_bytes;
                out_b = double(L.output_elems) * v.act_bytes;
            } else if (!is_view(L.op)) {
                in_b = double(L.input_elems) * v.act_bytes;  // data movement: read and write once
                out_b = double(L.output_elems) * v.act_bytes;
            }
            charge(CC::digital, ops, v.e_dig);
            charge(CC::input_buffer, in_b, v.e_ibuf);
            charge(CC::output_buffer, out_b, v.e_obuf);
            const double u = units[n];
            dig_ns = B * ops * v.t_dig / u;
            buf_in_ns = B * in_b * v.t_buf / u;
            buf_out_ns = B * out_b * v.t_buf / u;
        }
        // (array layers with every weight zero place nothing and cost nothing)

        double link_ns = 0, host_ns = 0;
        if (link_bytes > 0) {
            charge(CC::chip_link, link_bytes, v.e_link);
            if (v.t_link) link_ns = B * link_bytes * *v.t_link;
        }
        if (host_bytes > 0) {
            if (v.e_link && v.t_link) {
                charge(CC::host_transfer, host_bytes, v.e_link);
                host_ns = B * host_bytes * *v.t_link;
            } else {
                c[idx(CC::host_transfer)].events += host_bytes;
                c[idx(CC::host_transfer)].known = false;
                host_missing = true;
            }
        }
        busy[idx(CC::input_buffer)] = buf_in_ns;
        busy[idx(CC::output_buffer)] = buf_out_ns;
        busy[idx(CC::interconnect)] = ic_ns;
        busy[idx(CC::digital)] = dig_ns;
        busy[idx(CC::chip_link)] = link_ns;
        busy[idx(CC::host_transfer)] = host_ns;

        // Weight reprogramming: this layer's share of the cells rewritten per batch.
        double prog_ns = 0;
        if (rounds > 1 && L.placement == Placement::arrays && weight_cells_total > 0) {
            const double share = double(L.used_cells) / weight_cells_total;
            const double cells_per_batch = double(L.used_cells) * (rounds - 1) / rounds;
            c[idx(CC::weight_program)].events += cells_per_batch / B;
            if (program_known) {
                c[idx(CC::weight_program)].energy_j += cells_per_batch / B * *v.e_prog * 1e-12;
                prog_ns = (rounds - 1) * v.R * *v.t_prog * share;
            } else if (L.used_cells > 0) {
                c[idx(CC::weight_program)].known = false;
            }
            busy[idx(CC::weight_program)] = prog_ns;
        }

        // Layer time: overlapping streams, then the serial host transfers and reprogramming.
        struct Stream { double ns; CC who; };
        const CC array_who = busy[idx(CC::adc)] > busy[idx(CC::array_read)] ? CC::adc : CC::array_read;
        const std::array<Stream, 5> streams = {{{array_path_ns, array_who},
                                                {buf_in_ns + buf_out_ns, buf_in_ns >= buf_out_ns ? CC::input_buffer : CC::output_buffer},
                                                {ic_ns, CC::interconnect},
                                                {dig_ns, CC::digital},
                                                {link_ns, CC::chip_link}}};
        Stream slow = streams[0];
        for (const Stream& s : streams)
            if (s.ns > slow.ns) slow = s;
        lc.bound_by = slow.ns > 0 ? slow.who : (host_ns > 0 ? CC::host_transfer : CC::array_read);
        const double layer_ns = slow.ns + host_ns + prog_ns;
        lc.latency_s = layer_ns * 1e-9;
        lc.stage_s = lc.latency_s / B;
        for (std::size_t k = 0; k < kCostComponents; ++k) c[k].latency_s = busy[k] * 1e-9;

        // Leakage over this layer's time.
        c[idx(CC::leakage)].events += std::max(1.0, tiles_powered) * lc.latency_s / B;
        c[idx(CC::leakage)].energy_j += rep.leakage_w * lc.latency_s / B;

        lc.known = true;
        lc.energy_j = 0;
        for (std::size_t k = 0; k < kCostComponents; ++k) {
            if (k == idx(CC::host_transfer) && !c[k].known) continue;  // excluded, noted below
            if (!c[k].known) lc.known = false;
            lc.energy_j += c[k].energy_j;
        }

        // Area: the layer's arrays with their share of the tiles.
        if (L.placement == Placement::arrays && L.arrays > 0) {
            const double arrays = shared ? double(L.used_cells) / (v.R * v.C) : double(L.arrays * L.duplication);
            lc.area_mm2 = arrays * (v.array_um2() + (d.area.tile_buffer_um2.value + d.area.tile_other_um2.value) / v.mpt) * 1e-6;
        }
    }

    // ---- totals ----
    double latency = 0, energy = 0, stage_max = 0, stage_sum = 0;
    for (const LayerCost& lc : rep.layers) {
        for (std::size_t k = 0; k < kCostComponents; ++k) {
            rep.components[k].energy_j += lc.components[k].energy_j;
            rep.components[k].latency_s += lc.components[k].latency_s;
            rep.components[k].events += lc.components[k].events;
            if (!lc.components[k].known) rep.components[k].known = false;
        }
        latency += lc.latency_s;
        energy += lc.energy_j;
        stage_max = std::max(stage_max, lc.stage_s);
        stage_sum += lc.stage_s;
        rep.ops += lc.ops;
    }
    // Layers that share arrays cannot overlap there: the shared arrays' total time bounds the pipeline.
    if (shared && m.arrays_used > 0) {
        const double bound = shared_array_ns * 1e-9 / B / double(m.arrays_used);
        if (bound > stage_max) {
            stage_max = bound;
            rep.notes.push_back(fmt::format("layers share arrays (array.multi_layer): the layer pipeline is bounded by "
                                            "the arrays' total busy time, {:.4g} s per inference",
                                            bound));
        }
    }
    rep.area = area_items(v, chips_present);
    rep.area_mm2 = chips_present * v.chip_um2() * 1e-6;
    if (host_missing)
        rep.notes.push_back(fmt::format("host transfers ({:.4g} bytes per inference) not charged: {} gives no chip link "
                                        "cost (energy.chip_link_pj_per_byte), the device's own I/O is outside the model",
                                        rep.components[idx(CC::host_transfer)].events, d.name));
    if (host_compute)
        rep.notes.push_back(fmt::format("compute of host layers ({}) is not modelled; only their transfers are charged",
                                        fmt::join(host_layers, ", ")));
    if (totals_known) {
        for (std::size_t k = 0; k < kCostComponents; ++k)
            if (!rep.components[k].known && k != idx(CC::host_transfer)) totals_known = false;
    }
    if (totals_known && latency > 0) {
        rep.latency_s = latency;
        rep.energy_j = energy;
        rep.throughput_inf_per_s = B / latency;
        rep.power_w = energy * B / latency;
        rep.tops = rep.ops * B / latency * 1e-12;
        if (energy > 0) rep.tops_per_w = rep.ops / energy * 1e-12;
        if (rep.area_mm2 > 0) rep.tops_per_mm2 = *rep.tops / rep.area_mm2;
        if (rep.pipelining_possible && stage_max > 0) {
            const double pipe = stage_sum + (B - 1) * stage_max;
            rep.latency_pipelined_s = pipe;
            rep.throughput_pipelined_inf_per_s = 1.0 / stage_max;
            rep.tops_pipelined = rep.ops / stage_max * 1e-12;
            const double leak = rep.components[idx(CC::leakage)].energy_j;
            rep.energy_pipelined_j = energy - leak + rep.leakage_w * pipe / B;
        } else {
            rep.latency_pipelined_s = rep.latency_s;
            rep.throughput_pipelined_inf_per_s = rep.throughput_inf_per_s;
            rep.tops_pipelined = rep.tops;
            rep.energy_pipelined_j = rep.energy_j;
        }
    }
    return rep;
}

PeakFigures peak_figures(const DeviceSpec& d, const LayerDensity& density) {
    const Dev v(d);
    PeakFigures p;
    const double r_in = density.input_density.value_or(d.energy.reference_input_density) / d.energy.reference_input_density;
    const double r_cell =
        r_in * density.weight_density.value_or(d.energy.reference_weight_density) / d.energy.reference_weight_density;
    p.info = component_info(v);
    // One array on a full tile: every usable row, every usable column holding weights.
    const double rows = v.R, cols = v.C;
    const double outputs = std::floor(cols / v.cpo);
    const double passes = ceil_div(rows, v.mar);
    const double cycles = v.cin * passes;
    p.ops_per_vector = 2.0 * rows * outputs;
    p.cycle_s = v.cycle_ns(cols) * 1e-9;
    const double array_ns = cycles * v.cycle_ns(cols);

    // Events of one array for one input vector.
    const double row_drives = v.cin * rows, col_reads = cycles * cols, cells = v.cin * rows * cols;
    const double conv = v.has_adc ? col_reads : 0;
    const double in_b = rows * v.in_bytes, out_b = outputs * v.out_bytes, dig_ops = outputs;
    std::array<double, kCostComponents> e_pj{};
    e_pj[idx(CC::array_read)] = col_reads * v.e_col + cells * v.e_cell * r_cell;
    e_pj[idx(CC::row_drive)] = row_drives * v.e_row * r_in;
    e_pj[idx(CC::adc)] = conv * v.e_adc;
    e_pj[idx(CC::shift_add)] = col_reads * v.e_sa;
    p.macro_energy_per_vector_j = (e_pj[0] + e_pj[1] + e_pj[2] + e_pj[3]) * 1e-12;
    e_pj[idx(CC::input_buffer)] = in_b * v.e_ibuf;
    e_pj[idx(CC::output_buffer)] = out_b * v.e_obuf;
    e_pj[idx(CC::interconnect)] = out_b * v.e_ic;
    e_pj[idx(CC::digital)] = dig_ops * v.e_dig;

    // The tile's shared buffer, router and digital unit must keep up with its arrays.
    const double buf_ns = v.mpt * (in_b + out_b) * v.t_buf, ic_ns = v.mpt * out_b * v.t_ic, dig_ns = v.mpt * dig_ops * v.t_dig;
    double period = array_ns;
    p.bound_by = v.has_adc && v.conversions_per_adc(cols) * v.t_adc > v.t_read ? CC::adc : CC::array_read;
    for (auto [ns, who] : {std::pair{buf_ns, CC::input_buffer}, {ic_ns, CC::interconnect}, {dig_ns, CC::digital}})
        if (ns > period) {
            period = ns;
            p.bound_by = who;
        }
    p.vector_time_s = period * 1e-9;

    const double arrays = v.per_chip;
    for (std::size_t k = 0; k < kCostComponents; ++k)
        p.power_by_component_w[k] = arrays * e_pj[k] / period * 1e-3;  // pJ / ns = mW
    p.power_by_component_w[idx(CC::leakage)] = d.chip.tiles * v.leak_mw * 1e-3;
    // A device that may span chips drives its chip links at full bandwidth.
    if (d.chip.max_chips.value_or(0) != 1 && v.e_link && v.t_link && *v.t_link > 0)
        p.power_by_component_w[idx(CC::chip_link)] = *v.e_link / *v.t_link * 1e-3;
    p.power_w = 0;
    for (double w : p.power_by_component_w) p.power_w += w;
    p.tile_power_w = (p.power_w - p.power_by_component_w[idx(CC::chip_link)]) / d.chip.tiles;
    p.tile_area_mm2 = v.tile_um2() * 1e-6;
    p.area_mm2 = v.chip_um2() * 1e-6;
    p.area = area_items(v, 1);

    p.tops = arrays * p.ops_per_vector / period * 1e-3;  // ops / ns = 1e9 ops/s; /1e12
    const double to_1b = double(d.weight.bits) * double(d.input.bits);
    p.tops_1b = p.tops * to_1b;
    if (p.power_w > 0) {
        p.tops_per_w = p.tops / p.power_w;
        p.tops_1b_per_w = p.tops_1b / p.power_w;
        p.energy_per_op_j = p.power_w / (p.tops * 1e12);
    }
    if (p.area_mm2 > 0) {
        p.tops_per_mm2 = p.tops / p.area_mm2;
        p.tops_1b_per_mm2 = p.tops_1b / p.area_mm2;
    }
    return p;
}

}  // namespace cim
