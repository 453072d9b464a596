// The cost model of the digital kinds (docs/cost-model.md, "Digital baselines"): a digital NPU's
// rows x cols MAC array, or an FPGA's DSP slices, running the layers one after another with weights
// streamed from DRAM and activations kept in the on-chip buffers while they fit.
#include <cim/cimsim/dsp_packing.h>
#include <cim/error.h>

#include "cost_internal.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace cim::cost_detail {

namespace {

constexpr double kAccumulatorBytes = 4;  // partial sums kept at 32 bits between row tiles

// The compute engine of a digital device, read once from its section.
struct Engine {
    const DeviceSpec& d;
    bool npu;
    double clock_hz, bytes;        // operand bytes (1 for INT8, 2 for INT16)
    double R = 0, C = 0;           // NPU MAC array
    double dsps = 0;               // FPGA slices in use (LUT-limited)
    double macs_per_dsp = 1;       // 2 with INT8 packing (dsp_packing.h)
    double weight_buffer_bytes, act_buffer_bytes, dram_bytes_per_s, vector_ops_per_s;
    std::string section;           // "npu" or "fpga"

    explicit Engine(const DeviceSpec& dev) : d(dev), npu(dev.kind == DeviceKind::digital_npu) {
        CIM_INTERNAL_CHECK(dev.kind != DeviceKind::cim, "digital cost model on a CIM device");
        section = npu ? "npu" : "fpga";
        const double mhz = npu ? d.npu.clock_mhz : d.fpga.clock_mhz;
        clock_hz = mhz * 1e6;
        bytes = (npu ? d.npu.precision_bits : d.fpga.precision_bits) / 8.0;
        if (npu) {
            R = d.npu.rows;
            C = d.npu.cols;
            weight_buffer_bytes = d.npu.weight_buffer_kib * 1024;
            act_buffer_bytes = d.npu.activation_buffer_kib * 1024;
            dram_bytes_per_s = d.npu.dram_gb_per_s * 1e9;
            vector_ops_per_s = d.npu.vector_ops_per_cycle * clock_hz;
        } else {
            dsps = d.fpga.dsp_slices;
            if (d.fpga.luts_per_dsp > 0) dsps = std::min(dsps, std::floor(double(d.fpga.luts) / d.fpga.luts_per_dsp));
            macs_per_dsp = dsp48e2::macs_per_cycle(d.fpga.precision_bits, d.fpga.int8_packing);
            weight_buffer_bytes = act_buffer_bytes = d.fpga.bram_kib * 1024 / 2;
            dram_bytes_per_s = d.fpga.dram_gb_per_s * 1e9;
            vector_ops_per_s = d.fpga.vector_ops_per_cycle * clock_hz;
        }
    }
    double macs_per_cycle() const { return npu ? R * C : dsps * macs_per_dsp; }

    // Cycles of one GEMM (groups x [M x K] x [K x N]) and the input passes it takes (how often the
    // inputs are read from the buffer: once per column tile).
    struct Gemm {
        double cycles = 0, input_passes = 1, row_tiles = 1, busy_units = 0;  // busy_units: DSP-cycles (FPGA)
    };
    Gemm gemm(double G, double M, double K, double N) const {
        Gemm out;
        if (npu) {
            out.row_tiles = std::ceil(K / R);
            out.input_passes = std::ceil(N / C);
            const double tiles = G * out.row_tiles * out.input_passes;
            const double per_tile = d.npu.dataflow == Dataflow::systolic
                                        ? std::max(M, R) + R + C - 2             // stream M vectors; fill and drain
                                        : M + std::ceil(std::log2(std::max(R, 2.0)));  // one vector per cycle; tree depth
            out.cycles = tiles * per_tile;
            return out;
        }
        // Each busy slice computes macs_per_dsp outputs (sharing the input) over the K terms.
        const double output_sets = std::ceil(N / macs_per_dsp);
        out.busy_units = G * M * output_sets * K;
        out.cycles = std::ceil(out.busy_units / dsps);
        out.input_passes = std::max(1.0, std::ceil(output_sets / dsps));
        return out;
    }
};

// An entry's price and citation.
struct Price {
    std::optional<double> value;
    std::string source, estimator;
};
Price price(const std::string& path, const Cost& c, const std::string& unit) {
    return {c.value, cite(path, c, unit), c.estimate ? c.estimate->model : ""};
}
Price price(const std::string& path, const std::optional<Cost>& c, const std::string& unit, const std::string& absent) {
    if (!c) return {std::nullopt, "not given (" + path + "): " + absent, ""};
    return price(path, *c, unit);
}

struct DigitalPrices {
    Price mac, sram, dram, vector, static_mw, area_um2;
    explicit DigitalPrices(const DeviceSpec& d) {
        if (d.kind == DeviceKind::digital_npu) {
            mac = price("npu.mac_pj", d.npu.mac_pj, "pJ per MAC");
            sram = price("npu.sram_pj_per_byte", d.npu.sram_pj_per_byte, "pJ per byte");
            dram = price("npu.dram_pj_per_byte", d.npu.dram_pj_per_byte, "pJ per byte");
            vector = price("npu.vector_pj_per_op", d.npu.vector_pj_per_op, "pJ per op");
            static_mw = price("npu.static_mw", d.npu.static_mw, "mW");
            area_um2 = price("npu.chip_um2", d.npu.chip_um2, "um^2", "area unknown");
        } else {
            mac = price("fpga.dsp_pj_per_cycle", d.fpga.dsp_pj_per_cycle, "pJ per DSP cycle");
            sram = price("fpga.bram_pj_per_byte", d.fpga.bram_pj_per_byte, "pJ per byte");
            dram = price("fpga.dram_pj_per_byte", d.fpga.dram_pj_per_byte, "pJ per byte");
            vector = price("fpga.fabric_pj_per_op", d.fpga.fabric_pj_per_op, "pJ per op");
            static_mw = price("fpga.static_mw", d.fpga.static_mw, "mW", "static power unknown");
            area_um2 = price("fpga.chip_um2", d.fpga.chip_um2, "um^2", "area unknown");
        }
    }
};

std::array<ComponentInfo, kCostComponents> digital_info(const Engine& e, const DigitalPrices& p) {
    std::array<ComponentInfo, kCostComponents> info{};
    const std::string unused = fmt::format("not part of a {} device", to_string(e.d.kind));
    for (std::size_t k = 0; k < kCostComponents; ++k) {
        info[k].event_unit = std::string(component_row(CostComponent(k)).event_unit);
        info[k].energy_source = info[k].latency_source = unused;
    }
    const std::string clock = fmt::format("{}.clock_mhz = {:g} MHz", e.section, e.clock_hz * 1e-6);
    auto set = [&](CC c, const Price& pr, std::string unit) {
        ComponentInfo& i = info[idx(c)];
        i.event_unit = std::move(unit);
        i.energy_pj_per_event = pr.value;
        i.energy_source = pr.source;
        i.energy_estimator = pr.estimator;
        i.latency_source = "overlapped with the MAC engine and DRAM (double-buffered)";
    };
    set(CC::mac, p.mac, e.npu ? "MACs" : "DSP cycles");
    set(CC::input_buffer, p.sram, "bytes read");
    set(CC::output_buffer, p.sram, "bytes written");
    set(CC::dram, p.dram, "bytes");
    set(CC::digital, p.vector, "ops");
    set(CC::leakage, p.static_mw, "seconds");
    if (p.static_mw.value) info[idx(CC::leakage)].energy_pj_per_event = *p.static_mw.value * 1e9;  // mW x 1 s in pJ
    info[idx(CC::mac)].latency_source = clock + (e.npu ? fmt::format(", {} {:g}x{} array", to_string(e.d.npu.dataflow), e.R, e.C)
                                                       : fmt::format(", {:g} slices x {:g} MAC(s) per cycle", e.dsps, e.macs_per_dsp));
    info[idx(CC::dram)].latency_source = fmt::format("{}.dram_gb_per_s = {:g} GB/s", e.section, e.dram_bytes_per_s * 1e-9);
    info[idx(CC::digital)].latency_source = fmt::format("{}.vector_ops_per_cycle x {}", e.section, clock);
    info[idx(CC::leakage)].latency_source = "the run time";
    return info;
}

// Area items: the die area where the device gives it; the CIM items are not part of it.
std::array<AreaItem, kAreaComponents> digital_area(const DeviceSpec& d, const Price& area_um2) {
    std::array<AreaItem, kAreaComponents> items{};
    for (auto& a : items) a.source = fmt::format("not part of a {} device", to_string(d.kind));
    items[std::size_t(AreaComponent::chip_other)] = {area_um2.value.value_or(0) * 1e-6, 1, area_um2.source};
    return items;
}

}  // namespace

CostReport estimate_digital_cost(const Graph& g, const Mapping& m, const DeviceSpec& d, const CostOptions& opt) {
    const Engine e(d);
    const DigitalPrices p(d);
    const double B = opt.batch;
    CostReport rep;
    rep.batch = opt.batch;
    if (opt.describe) rep.info = digital_info(e, p);
    rep.chips_area = 1;
    rep.pipelining_possible = false;  // one engine runs the layers in turn

    // Weights that all fit the weight buffer stay on chip between batches: no DRAM traffic for them.
    double weight_bytes_total = 0;
    for (const auto& L : m.layers)
        if (L.placement == Placement::arrays) weight_bytes_total += double(L.k) * double(L.n) * double(L.groups) * e.bytes;
    const bool weights_resident = weight_bytes_total <= e.weight_buffer_bytes;
    rep.notes.push_back(fmt::format("weights: {:.4g} MB; {}", weight_bytes_total * 1e-6,
                                    weights_resident ? "they fit the weight buffer and stay on chip (loaded once, not charged per batch)"
                                                     : "more than the weight buffer: every layer's weights stream from DRAM once per batch"));
    if (!e.npu && e.dsps < d.fpga.dsp_slices)
        rep.notes.push_back(fmt::format("LUT-bound: {} of {} DSP slices in use (fpga.luts {} / fpga.luts_per_dsp {})", e.dsps,
                                        d.fpga.dsp_slices, d.fpga.luts, d.fpga.luts_per_dsp));

    std::set<int> graph_inputs(g.inputs.begin(), g.inputs.end()), graph_outputs(g.outputs.begin(), g.outputs.end());
    const bool static_known = p.static_mw.value.has_value();
    double latency = 0, energy_batch = 0;
    bool spilled = false;
    for (std::size_t i = 0; i < m.layers.size(); ++i) {
        const LayerMapping& L = m.layers[i];
        const Node& n = g.nodes[i];
        LayerCost lc;
        lc.layer = int(i);
        lc.ops = 2.0 * double(L.macs);
        lc.density_source = "not used: digital MACs cost the same for any data";
        auto add = [&](CC c, double events, const Price& pr, double seconds) {
            ComponentCost& cc = lc.components[idx(c)];
            cc.events += events / B;
            cc.latency_s += seconds;
            if (pr.value) cc.energy_j += events * *pr.value * 1e-12 / B;
            else if (events > 0) cc.known = false;
        };
        // Activations: kept in the activation buffer when the layer's input and output fit it together.
        double in_bytes = double(L.input_elems) * e.bytes * B, out_bytes = double(L.output_elems) * e.bytes * B;
        const bool fits = in_bytes + out_bytes <= e.act_buffer_bytes;
        double dram_bytes = 0, compute_s = 0;
        for (int v : n.inputs)
            if (v >= 0 && graph_inputs.count(v)) dram_bytes += double(std::max<int64_t>(0, shape_numel(g.value(v).shape))) * e.bytes * B;
        for (int v : n.outputs)
            if (v >= 0 && graph_outputs.count(v)) dram_bytes += double(std::max<int64_t>(0, shape_numel(g.value(v).shape))) * e.bytes * B;
        if (L.placement == Placement::arrays) {
            const double M = double(L.vectors) * B, K = double(L.k), N = double(L.n), G = double(L.groups);
            const Engine::Gemm gm = e.gemm(G, M, K, N);
            compute_s = gm.cycles / e.clock_hz;
            const double macs = double(L.macs) * B;
            // SRAM: inputs once per column tile, weights once, partial sums once per row tile.
            const double sram_reads = G * M * K * e.bytes * gm.input_passes + G * K * N * e.bytes;
            const double sram_writes = G * M * N * kAccumulatorBytes * gm.row_tiles;
            add(CC::mac, e.npu ? macs : gm.busy_units, p.mac, compute_s);
            add(CC::input_buffer, sram_reads, p.sram, 0);
            add(CC::output_buffer, sram_writes, p.sram, 0);
            add(CC::digital, G * M * N, p.vector, G * M * N / e.vector_ops_per_s);  // requantization of the outputs
            if (!weights_resident) dram_bytes += G * K * N * e.bytes;
            if (!fits) dram_bytes += in_bytes * (in_bytes > e.act_buffer_bytes / 2 ? gm.input_passes : 1) + out_bytes;
        } else if (L.placement == Placement::digital) {
            const double ops = double(L.digital_ops) * B;
            compute_s = ops / e.vector_ops_per_s;
            add(CC::digital, ops, p.vector, compute_s);
            if (!fits && ops > 0) dram_bytes += in_bytes + out_bytes;
        } else {
            rep.notes.push_back(fmt::format("{}: pinned to the host (--host-layers); its compute is not modelled", L.name));
        }
        spilled = spilled || (!fits && (L.placement == Placement::arrays || L.digital_ops > 0));
        const double dram_s = dram_bytes / e.dram_bytes_per_s;
        add(CC::dram, dram_bytes, p.dram, dram_s);
        // Compute and DRAM transfers overlap (double-buffered tiles): the slower one sets the time.
        lc.latency_s = std::max(compute_s, dram_s);
        lc.bound_by = dram_s > compute_s ? CC::dram : L.placement == Placement::arrays ? CC::mac : CC::digital;
        lc.stage_s = lc.latency_s / B;
        add(CC::leakage, lc.latency_s, Price{p.static_mw.value ? std::optional<double>(*p.static_mw.value * 1e9) : std::nullopt, "", ""}, 0);
        for (const auto& c : lc.components) {
            lc.energy_j += c.known ? c.energy_j : 0;
            lc.known = lc.known && c.known;
        }
        add_to_components(rep, lc);
        latency += lc.latency_s;
        energy_batch += lc.energy_j;
        rep.ops += lc.ops;
        rep.layers.push_back(lc);
    }
    if (spilled) rep.notes.push_back("activations of some layers exceed the activation buffer and go through DRAM");
    rep.notes.push_back(fmt::format("{}: one {} runs the layers in turn; the layer-pipelined figures equal the layer-by-layer ones",
                                    to_string(d.kind), e.npu ? fmt::format("{}x{} MAC array", e.R, e.C)
                                                             : fmt::format("set of {} DSP slices ({} MAC(s) each per cycle)", e.dsps, e.macs_per_dsp)));
    if (!static_known) rep.notes.push_back("energy unknown: " + p.static_mw.source);
    if (p.static_mw.value) rep.leakage_w = *p.static_mw.value * 1e-3;
    rep.area = digital_area(d, p.area_um2);
    if (p.area_um2.value) {
        rep.area_mm2 = *p.area_um2.value * 1e-6;
    } else {
        rep.notes.push_back("area unknown: " + p.area_um2.source);
    }
    if (latency > 0) {
        rep.latency_s = latency;
        rep.throughput_inf_per_s = B / latency;
        rep.tops = rep.ops * B / latency * 1e-12;
        if (rep.area_mm2 > 0) rep.tops_per_mm2 = *rep.tops / rep.area_mm2;
        bool energy_known = true;
        for (const auto& c : rep.components) energy_known = energy_known && c.known;
        if (energy_known) {
            rep.energy_j = energy_batch;
            rep.power_w = energy_batch * B / latency;
            if (energy_batch > 0) rep.tops_per_w = rep.ops / energy_batch * 1e-12;
        }
        rep.latency_pipelined_s = rep.latency_s;
        rep.throughput_pipelined_inf_per_s = rep.throughput_inf_per_s;
        rep.tops_pipelined = rep.tops;
        rep.energy_pipelined_j = rep.energy_j;
    }
    return rep;
}

PeakFigures digital_peak_figures(const DeviceSpec& d) {
    const Engine e(d);
    const DigitalPrices p(d);
    PeakFigures f;
    f.info = digital_info(e, p);
    f.cycle_s = 1 / e.clock_hz;
    f.vector_time_s = f.cycle_s;
    f.ops_per_vector = 2 * e.macs_per_cycle();
    f.bound_by = CostComponent::mac;
    f.tops = f.ops_per_vector * e.clock_hz * 1e-12;
    const double bits = e.bytes * 8;
    f.tops_1b = f.tops * bits * bits;
    // At peak every MAC (DSP) is busy each cycle and reads one operand byte per row (input) from the buffer.
    const double busy = e.npu ? e.R * e.C : e.dsps;
    f.power_by_component_w[idx(CC::mac)] = busy * p.mac.value.value_or(0) * 1e-12 * e.clock_hz;
    f.power_by_component_w[idx(CC::input_buffer)] = (e.npu ? e.R : e.dsps) * e.bytes * p.sram.value.value_or(0) * 1e-12 * e.clock_hz;
    f.power_by_component_w[idx(CC::leakage)] = p.static_mw.value.value_or(0) * 1e-3;
    for (double w : f.power_by_component_w) f.power_w += w;
    f.tile_power_w = f.power_w;
    f.macro_energy_per_vector_j = f.power_by_component_w[idx(CC::mac)] * f.cycle_s;
    if (p.static_mw.value && f.power_w > 0) {
        f.tops_per_w = f.tops / f.power_w;
        f.tops_1b_per_w = f.tops_1b / f.power_w;
        f.energy_per_op_j = f.power_w / (f.tops * 1e12);
    }
    f.area = digital_area(d, p.area_um2);
    if (p.area_um2.value) {
        f.area_mm2 = f.tile_area_mm2 = *p.area_um2.value * 1e-6;
        f.tops_per_mm2 = f.tops / f.area_mm2;
        f.tops_1b_per_mm2 = f.tops_1b / f.area_mm2;
    }
    return f;
}

}  // namespace cim::cost_detail
