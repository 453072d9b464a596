// The cost model's seams (internal to cimsim): event counts with no prices
// (cost_events.cpp), the price table with its provenance (cost_prices.cpp) and
// area (cost_area.cpp). Timing, overlap and totals: cost_model.cpp.
#pragma once

#include <cim/cimsim/cost_model.h>

#include <array>
#include <cmath>
#include <optional>

namespace cim::cost_detail {

using CC = CostComponent;
constexpr std::size_t idx(CC c) { return std::size_t(c); }

inline double ceil_div(double a, double b) { return std::ceil(a / b - 1e-12); }

// The device geometry the event counts use, read once.
struct Geometry {
    const DeviceSpec& d;
    double R, C, mar, cin, cpo, in_bytes, out_bytes, act_bytes;  // cpo: columns per device-width weight
    bool has_adc;
    double cpa, adcs;
    double readings_per_col;  // digital readings per column read: 1/2 with an analog differential readout (one per pair)
    double per_chip, mpt;

    explicit Geometry(const DeviceSpec& dev);
};

// A weight-stationary layer's array events per input vector (all tiles of one copy).
struct ArrayEvents {
    double row_drives = 0, col_reads = 0, cells = 0, conversions = 0, shift_adds = 0;
    double in_bytes = 0, out_bytes = 0, requant_ops = 0;
    double passes_max = 0, cols_max = 0, tiles = 0;
};
ArrayEvents array_events(const Geometry& v, const LayerMapping& L, bool has_bias);

// The price of one event of each kind: energies in pJ, latencies in ns, leakage in mW per tile.
struct Prices {
    double e_col = 0, e_cell = 0, e_row, e_adc = 0, e_sa, e_ibuf, e_obuf, e_ic, e_dig, leak_mw;
    std::optional<double> e_link, e_prog, t_link, t_prog;
    double t_read, t_adc = 0, t_buf, t_ic, t_dig;

    explicit Prices(const DeviceSpec& d);
};
// Each component's prices with the YAML entry (and estimator) they come from.
std::array<ComponentInfo, kCostComponents> component_info(const Geometry& g, const Prices& p);

// Area in um^2 of one array with its periphery, of one tile and of one chip.
double array_um2(const Geometry& v);
double tile_um2(const Geometry& v);
double chip_um2(const Geometry& v);
std::array<AreaItem, kAreaComponents> area_items(const Geometry& v, double chips);

// "energy.adc_pj_per_conversion = 1.56 pJ (source)", with the estimator when one priced it.
std::string cite(const std::string& path, const Cost& c, const std::string& unit);

// Adds a layer's components into the report's sums (a component unknown in one layer is unknown in all).
inline void add_to_components(CostReport& rep, const LayerCost& lc) {
    for (std::size_t k = 0; k < kCostComponents; ++k) {
        rep.components[k].energy_j += lc.components[k].energy_j;
        rep.components[k].latency_s += lc.components[k].latency_s;
        rep.components[k].events += lc.components[k].events;
        if (!lc.components[k].known) rep.components[k].known = false;
    }
}

// The digital kinds (digital_npu, fpga_dsp): cost_digital.cpp, docs/cost-model.md "Digital baselines".
CostReport estimate_digital_cost(const Graph& g, const Mapping& m, const DeviceSpec& d, const CostOptions& opt);
PeakFigures digital_peak_figures(const DeviceSpec& d);

}  // namespace cim::cost_detail
