// The cost model's timing, overlap and totals (docs/cost-model.md explains every
// formula used here); event counts, prices and area live in their own files
// (cost_internal.h).
#include <cim/ir/op_traits.h>
#include <cim/cimsim/cost_model.h>
#include <cim/error.h>

#include "cost_internal.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

namespace cim {

namespace {

using namespace cost_detail;

// The device's geometry and prices, with the array cycle both set.
struct Dev : Geometry {
    Prices p;

    explicit Dev(const DeviceSpec& dev) : Geometry(dev), p(dev) {}

    // One array cycle with `cols` columns converted: the read, then the shared ADC's
    // conversions (contiguous columns share an ADC; an analog differential pair, one conversion),
    // overlapped when pipelined.
    double conversions_per_adc(double cols) const { return has_adc ? std::ceil(std::min(cpa, cols) * readings_per_col) : 0.0; }
    double cycle_ns(double cols) const {
        const double conv = conversions_per_adc(cols) * p.t_adc;
        return d.latency.pipelined ? std::max(p.t_read, conv) : p.t_read + conv;
    }
};

// Ops that only reinterpret a buffer or make constants: no data moves.
bool is_view(OpKind op) {
    const OpRole role = op_traits(op).role;
    return role == OpRole::view || role == OpRole::constant;
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
    if (d.kind != DeviceKind::cim) return estimate_digital_cost(g, m, d, opt);
    const Dev v(d);
    const double B = opt.batch;
    CostReport rep;
    rep.batch = opt.batch;
    if (opt.describe) rep.info = component_info(v, v.p);  // texts for reports, a third of a sweep point's time

    // ---- device-level situation ----
    const bool shared = d.array.multi_layer;
    std::optional<double> limit_chips;
    if (d.chip.max_chips) limit_chips = *d.chip.max_chips;
    const bool time_multiplexed = !m.fits_device && limit_chips;
    const double chips_present = time_multiplexed ? *limit_chips : double(m.chips);
    rep.chips_area = chips_present;
    const double tiles_powered =
        time_multiplexed ? std::min<double>(double(m.tiles_used), chips_present * d.chip.tiles) : double(m.tiles_used);
    rep.leakage_w = v.p.leak_mw * 1e-3 * std::max(1.0, tiles_powered);

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
    const bool program_known = v.p.e_prog.has_value() && v.p.t_prog.has_value();
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
            c[idx(CC::array_read)].energy_j += V * (e.col_reads * v.p.e_col + e.cells * v.p.e_cell * r_cell) * 1e-12;
            c[idx(CC::row_drive)].events += V * e.row_drives;
            c[idx(CC::row_drive)].energy_j += V * e.row_drives * v.p.e_row * r_in * 1e-12;
            charge(CC::adc, V * e.conversions, v.p.e_adc);
            charge(CC::shift_add, V * e.shift_adds, v.p.e_sa);
            charge(CC::input_buffer, V * e.in_bytes, v.p.e_ibuf);
            charge(CC::output_buffer, V * e.out_bytes, v.p.e_obuf);
            charge(CC::interconnect, V * e.out_bytes * opt.hops, v.p.e_ic);
            // Requantization per output, plus what the digital units do beyond it (a recurrent
            // layer's gates and state update: L.digital_ops).
            charge(CC::digital, V * e.requant_ops + double(L.digital_ops), v.p.e_dig);

            // Time for the batch: each copy takes its share of the vectors; tiles run in
            // parallel (in turn when layers share arrays).
            const double copies = double(std::max<int64_t>(1, L.duplication));
            const double per_copy = ceil_div(V * B, copies);
            const double serial = shared ? ceil_div(double(L.arrays), std::min<double>(double(L.arrays), std::max<int64_t>(1, m.arrays_used))) : 1.0;
            const double n_cycles = per_copy * v.cin * e.passes_max * serial;
            const double conv = v.conversions_per_adc(e.cols_max);
            busy[idx(CC::array_read)] = n_cycles * v.p.t_read;
            busy[idx(CC::adc)] = n_cycles * conv * v.p.t_adc;
            array_path_ns = n_cycles * v.cycle_ns(e.cols_max);
            if (shared) shared_array_ns += array_path_ns;
            const double u = units[n];
            buf_in_ns = V * B * e.in_bytes * v.p.t_buf / u;
            buf_out_ns = V * B * e.out_bytes * v.p.t_buf / u;
            ic_ns = V * B * e.out_bytes * opt.hops * v.p.t_ic / u;
            dig_ns = (V * e.requant_ops + double(L.digital_ops)) * B * v.p.t_dig / u;
            // A recurrence alternates: the gates wait for a step's MVM and the next MVM for the
            // gates (h_t), so the two do not overlap as streams do.
            if (L.sequential_steps > 1) array_path_ns += dig_ns;
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
            charge(CC::digital, ops, v.p.e_dig);
            charge(CC::input_buffer, in_b, v.p.e_ibuf);
            charge(CC::output_buffer, out_b, v.p.e_obuf);
            const double u = units[n];
            dig_ns = B * ops * v.p.t_dig / u;
            buf_in_ns = B * in_b * v.p.t_buf / u;
            buf_out_ns = B * out_b * v.p.t_buf / u;
        }
        // (array layers with every weight zero place nothing and cost nothing)

        double link_ns = 0, host_ns = 0;
        if (link_bytes > 0) {
            charge(CC::chip_link, link_bytes, v.p.e_link);
            if (v.p.t_link) link_ns = B * link_bytes * *v.p.t_link;
        }
        if (host_bytes > 0) {
            if (v.p.e_link && v.p.t_link) {
                charge(CC::host_transfer, host_bytes, v.p.e_link);
                host_ns = B * host_bytes * *v.p.t_link;
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
                c[idx(CC::weight_program)].energy_j += cells_per_batch / B * *v.p.e_prog * 1e-12;
                prog_ns = (rounds - 1) * v.R * *v.p.t_prog * share;
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
            lc.area_mm2 = arrays * (array_um2(v) + (d.area.tile_buffer_um2.value + d.area.tile_other_um2.value) / v.mpt) * 1e-6;
        }
    }

    // ---- totals ----
    double latency = 0, energy = 0, stage_max = 0, stage_sum = 0;
    for (const LayerCost& lc : rep.layers) {
        add_to_components(rep, lc);
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
    rep.area_mm2 = chips_present * chip_um2(v) * 1e-6;
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
    if (d.kind != DeviceKind::cim) return digital_peak_figures(d);
    const Dev v(d);
    PeakFigures p;
    const double r_in = density.input_density.value_or(d.energy.reference_input_density) / d.energy.reference_input_density;
    const double r_cell =
        r_in * density.weight_density.value_or(d.energy.reference_weight_density) / d.energy.reference_weight_density;
    p.info = component_info(v, v.p);
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
    e_pj[idx(CC::array_read)] = col_reads * v.p.e_col + cells * v.p.e_cell * r_cell;
    e_pj[idx(CC::row_drive)] = row_drives * v.p.e_row * r_in;
    e_pj[idx(CC::adc)] = conv * v.p.e_adc;
    e_pj[idx(CC::shift_add)] = col_reads * v.p.e_sa;
    p.macro_energy_per_vector_j = (e_pj[0] + e_pj[1] + e_pj[2] + e_pj[3]) * 1e-12;
    e_pj[idx(CC::input_buffer)] = in_b * v.p.e_ibuf;
    e_pj[idx(CC::output_buffer)] = out_b * v.p.e_obuf;
    e_pj[idx(CC::interconnect)] = out_b * v.p.e_ic;
    e_pj[idx(CC::digital)] = dig_ops * v.p.e_dig;

    // The tile's shared buffer, router and digital unit must keep up with its arrays.
    const double buf_ns = v.mpt * (in_b + out_b) * v.p.t_buf, ic_ns = v.mpt * out_b * v.p.t_ic, dig_ns = v.mpt * dig_ops * v.p.t_dig;
    double period = array_ns;
    p.bound_by = v.has_adc && v.conversions_per_adc(cols) * v.p.t_adc > v.p.t_read ? CC::adc : CC::array_read;
    for (auto [ns, who] : {std::pair{buf_ns, CC::input_buffer}, {ic_ns, CC::interconnect}, {dig_ns, CC::digital}})
        if (ns > period) {
            period = ns;
            p.bound_by = who;
        }
    p.vector_time_s = period * 1e-9;

    const double arrays = v.per_chip;
    for (std::size_t k = 0; k < kCostComponents; ++k)
        p.power_by_component_w[k] = arrays * e_pj[k] / period * 1e-3;  // pJ / ns = mW
    p.power_by_component_w[idx(CC::leakage)] = d.chip.tiles * v.p.leak_mw * 1e-3;
    // A device that may span chips drives its chip links at full bandwidth.
    if (d.chip.max_chips.value_or(0) != 1 && v.p.e_link && v.p.t_link && *v.p.t_link > 0)
        p.power_by_component_w[idx(CC::chip_link)] = *v.p.e_link / *v.p.t_link * 1e-3;
    p.power_w = 0;
    for (double w : p.power_by_component_w) p.power_w += w;
    p.tile_power_w = (p.power_w - p.power_by_component_w[idx(CC::chip_link)]) / d.chip.tiles;
    p.tile_area_mm2 = tile_um2(v) * 1e-6;
    p.area_mm2 = chip_um2(v) * 1e-6;
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
