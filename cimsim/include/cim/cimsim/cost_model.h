// The cost model: latency, energy and area of a mapped network, per layer and
// per component, from the per-event costs of the device YAML. Every formula
// and default is explained in docs/cost-model.md.
//
// Conventions: energies are per inference (a batch's energy divided by the
// batch), latencies are for the whole batch, areas are of whole chips. Every
// component figure carries the YAML `source` of the per-event cost it used.
// A cost the YAML does not give is never a zero: the component is marked
// unknown and the totals that need it are reported as unknown (nullopt).
#pragma once

#include <cim/cimsim/cost_components.h>
#include <cim/device/device_spec.h>
#include <cim/ir/graph.h>
#include <cim/mapper/mapping.h>

#include <array>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cim {


// One component's share. `known` is false when the YAML lacks a cost that is
// needed (then energy_j / latency_s are not meaningful and are reported null).
struct ComponentCost {
    double energy_j = 0;   // per inference
    double latency_s = 0;  // busy time for the batch (components overlap; see LayerCost::latency_s)
    double events = 0;     // per inference, in `event_unit`
    bool known = true;
};

// Static description of a component for one device: the per-event cost and its provenance.
struct ComponentInfo {
    std::string event_unit;      // "conversions", "bytes", ...
    std::optional<double> energy_pj_per_event;
    std::optional<double> latency_ns_per_event;
    std::string energy_source;   // "energy.adc_pj_per_conversion: <YAML source>"
    std::string latency_source;
    std::string energy_estimator, latency_estimator;  // the estimator that priced it; "" for a number
};

// Data densities (see docs/cost-model.md): the mean input slice over its largest
// value, and the mean stored cell digit over its largest value.
struct LayerDensity {
    std::optional<double> input_density, weight_density;
};
struct DataStats {
    LayerDensity defaults;                       // for layers not listed
    std::map<std::string, LayerDensity> layers;  // by node name
    std::string source;                          // file or "calibration run on ..." for reports
};

struct CostOptions {
    int batch = 1;
    DataStats stats;   // empty: the YAML's reference densities (the energies as given)
    int hops = 1;      // router hops per byte of layer output
    bool describe = true;  // false: CostReport::info is left empty (a sweep reads only the numbers)
};

struct LayerCost {
    int layer = -1;               // index into Mapping::layers
    double latency_s = 0;         // layer-by-layer: this layer's time for the batch
    double stage_s = 0;           // per-sample time of this layer's stage in a layer pipeline
    double energy_j = 0;          // per inference, including its share of leakage
    double ops = 0;               // 2 x MACs per inference
    double area_mm2 = 0;          // its arrays (all copies) and their share of the tiles
    double input_density = 0, weight_density = 0;  // as used
    std::string density_source;   // "reference (YAML)", "stats", ...
    CostComponent bound_by = CostComponent::array_read;  // slowest overlapping component
    bool known = true;            // false if a needed cost is missing
    std::array<ComponentCost, kCostComponents> components{};
};

struct AreaItem {
    double area_mm2 = 0;
    double count = 0;             // instances on the chips
    std::string source;
};

struct CostReport {
    int batch = 1;
    std::vector<LayerCost> layers;  // one per Mapping layer, same order
    std::array<ComponentCost, kCostComponents> components{};  // sums over layers
    std::array<ComponentInfo, kCostComponents> info{};
    std::array<AreaItem, kAreaComponents> area{};

    // Totals; nullopt when a needed cost is missing (see `notes`).
    std::optional<double> latency_s;             // layer by layer, for the batch
    std::optional<double> energy_j;              // per inference
    std::optional<double> throughput_inf_per_s;  // layer by layer: batch / latency
    std::optional<double> latency_pipelined_s;   // batch through a layer pipeline
    std::optional<double> throughput_pipelined_inf_per_s;
    std::optional<double> energy_pipelined_j;    // per inference, leakage over the pipelined time
    std::optional<double> power_w;               // energy of the batch / latency
    std::optional<double> tops, tops_pipelined, tops_per_w, tops_per_mm2;
    double ops = 0;                              // per inference (2 x MACs)
    double area_mm2 = 0;                         // chips in use
    double chips_area = 0;                       // number of chips counted in area_mm2
    double leakage_w = 0;
    bool pipelining_possible = true;
    std::vector<std::string> notes;              // what is excluded or approximated, and why
};

// Estimates the cost of `m` (made by map_model from `g` on `d`).
CostReport estimate_cost(const Graph& g, const Mapping& m, const DeviceSpec& d, const CostOptions& options = {});

// Peak figures of one chip with every array busy on full tiles (cim-map --describe).
struct PeakFigures {
    double ops_per_vector = 0;         // per array: 2 x usable rows x outputs
    double vector_time_s = 0;          // per array, for one input vector
    double cycle_s = 0;                // one array cycle
    CostComponent bound_by = CostComponent::array_read;
    double tops = 0;                   // at the device precision (weight.bits x input.bits)
    double tops_1b = 0;                // normalized to 1b x 1b ops
    double power_w = 0;                // one chip at full activity
    double tile_power_w = 0, tile_area_mm2 = 0;
    double macro_energy_per_vector_j = 0;  // one array, one input vector, array events only
    double tops_per_w = 0, tops_1b_per_w = 0;
    double area_mm2 = 0;               // one chip
    double tops_per_mm2 = 0, tops_1b_per_mm2 = 0;
    double energy_per_op_j = 0;
    std::array<double, kCostComponents> power_by_component_w{};
    std::array<ComponentInfo, kCostComponents> info{};
    std::array<AreaItem, kAreaComponents> area{};  // one chip
};
// `density` replaces the YAML's reference densities (e.g. to sweep a macro's data dependence).
PeakFigures peak_figures(const DeviceSpec& d, const LayerDensity& density = {});

// Activation statistics from a JSON file:
//   {"input_density": 0.3, "weight_density": 0.4,
//    "layers": {"conv1": {"input_density": 0.2, "weight_density": 0.45}}}
// Every field is optional; values lie in [0, 1]. Throws InputError naming the file and key.
DataStats load_data_stats(const std::string& path);

// A calibration run measures them from the quantizer's program: cim/cimsim/measured_densities.h.

}  // namespace cim
