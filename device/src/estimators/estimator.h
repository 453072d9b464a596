// Cost estimators: named models that compute an energy, latency or area entry of
// a device from the device's own fields (docs/cost-estimators.md). Each lives in
// its own file of this folder; registry.cpp lists them all in one place and
// resolves every `{model: NAME, ...}` entry of a device after it is read.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cim/device/device_spec.h"

namespace cim::device_detail {

class Diagnostics;

struct ParamDecl {
    ParamDecl(std::string name_, std::string unit_, std::string doc_, std::optional<double> default_value_ = {},
              std::string default_source_ = {}, bool cancels_ = false, bool optional_ = false,
              std::vector<std::string> paths_ = {})
        : name(std::move(name_)), unit(std::move(unit_)), doc(std::move(doc_)), default_value(default_value_),
          default_source(std::move(default_source_)), cancels(cancels_), optional(optional_), paths(std::move(paths_)) {}

    std::string name, unit, doc;
    std::optional<double> default_value;  // nullopt: the entry must give it (or see `cancels`)
    std::string default_source;           // where the default comes from
    bool cancels = false;   // a pure factor: an anchored entry may omit it (it cancels in the ratio)
    bool optional = false;  // may be absent: the model then leaves its term out
    std::vector<std::string> paths;  // the cost paths it applies to; empty: all the estimator serves
    std::string default_from;        // "default: <default_source>", made by the registry
};

// The kinds of parameter an estimator declares.
// A pure factor without a default: the entry gives it, or an anchor cancels it.
inline ParamDecl factor_param(std::string name, std::string unit, std::string doc, std::vector<std::string> paths = {}) {
    return {std::move(name), std::move(unit), std::move(doc), std::nullopt, "", true, false, std::move(paths)};
}
// A value the entry must give, anchored or not.
inline ParamDecl required_param(std::string name, std::string unit, std::string doc) {
    return {std::move(name), std::move(unit), std::move(doc), std::nullopt, "", false};
}
// May be absent: the model then leaves its term out.
inline ParamDecl optional_param(std::string name, std::string unit, std::string doc, std::vector<std::string> paths = {}) {
    return {std::move(name), std::move(unit), std::move(doc), std::nullopt, "", false, true, std::move(paths)};
}
// With a default and where it comes from.
inline ParamDecl default_param(std::string name, std::string unit, std::string doc, double value, std::string source,
                               std::vector<std::string> paths = {}) {
    return {std::move(name), std::move(unit), std::move(doc), value, std::move(source), false, false, std::move(paths)};
}

struct InputDecl {
    std::string name, unit, from;  // from: the device field(s) it is read from
};

// The values one evaluation reads: device fields, parameters and defaults.
// Names, units and origins are views of static strings (literals or the registry's).
class Inputs {
public:
    Inputs() = default;
    // Reuses `storage`'s memory (a re-priced estimate's previous inputs).
    explicit Inputs(std::vector<EstimateInput> storage) : list_(std::move(storage)) { list_.clear(); }
    void add(std::string_view name, double value, std::string_view unit, std::string_view from);
    bool has(std::string_view name) const;
    double operator[](std::string_view name) const;  // an internal error when absent
    void set(std::string_view name, double value, std::string_view from);
    EstimateInput* find(std::string_view name);
    const std::vector<EstimateInput>& list() const { return list_; }
    std::vector<EstimateInput> take() { return std::move(list_); }

private:
    std::vector<EstimateInput> list_;
};

struct Estimator {
    std::string name;
    std::string summary;
    std::string reference;
    std::vector<std::string> serves;   // cost paths it can price
    std::vector<InputDecl> inputs;     // read from the device
    std::vector<ParamDecl> params;     // given in the entry (a parameter may replace an input)
    bool needs_anchor = false;         // the model only scales: an entry must give an anchor
    // Reads the device inputs for `path` into `in`; "" or the problem (e.g. a missing supply).
    std::function<std::string(const DeviceSpec&, const std::string& path, Inputs& in)> gather;
    // The model's figure for `path` in the cost key's unit; `formula` gets the formula text
    // (a string literal).
    std::function<double(const Inputs& in, const std::string& path, std::string_view* formula)> evaluate;
};

// Every registered estimator, in documentation order.
const std::vector<Estimator>& estimators();
const Estimator* find_estimator(std::string_view name);
// "adc_sar (fom_w_fj [fJ per step], ...), ..." for messages: the estimators that price `path`.
std::string estimators_for(const std::string& path);

// Computes every estimated cost of `d` (latencies, then areas, then energies, so that
// an energy may read a conversion time or a tile area). Problems go to `diag`.
void resolve_estimates(DeviceSpec& d, Diagnostics& diag);

// ---- shared by the estimator files ----

// Stillmaker & Baas 2017: energy per operation at `node_nm` and `vdd` relative to other
// nodes (a V^2 + b V + c per node, interpolated log-log between nodes); nullopt outside 7-180 nm.
std::optional<double> stillmaker_energy_factor(double node_nm, double vdd);
// Logic area at `node_nm` relative to 45 nm (Stillmaker & Baas 2017); nullopt outside 7-180 nm.
std::optional<double> stillmaker_area_factor(double node_nm);
// Energy at (node_nm, vdd) over energy at (ref_node_nm, ref_vdd); NaN when a node is out of range
// (the resolver then reports the estimator's figure as not a number).
double stillmaker_energy_ratio(double node_nm, double vdd, double ref_node_nm, double ref_vdd);
// "" or why `node_nm` cannot be scaled.
std::string scaling_range_problem(double node_nm);

// Adds node_nm and supply_v (the device's, else a common 1.0 V) to `in`.
void add_node_and_supply(const DeviceSpec& d, Inputs& in);

// Cell size in F^2 of the device's technology at its node (NeuroSim's cell sizes), or nullopt.
std::optional<double> default_cell_f2(Technology t, double node_nm);
// The `cell_f2` parameter (a factor: the technology's NeuroSim size when it has one), and its input.
ParamDecl cell_f2_param();
void add_cell_f2(const DeviceSpec& d, Inputs& in);

// Registration functions, one per file.
std::vector<Estimator> adc_estimators();
std::vector<Estimator> wordline_estimators();
std::vector<Estimator> array_read_estimators();
std::vector<Estimator> cell_area_estimators();
std::vector<Estimator> logic_estimators();
std::vector<Estimator> buffer_estimators();
std::vector<Estimator> wire_estimators();
std::vector<Estimator> scaled_estimators();

}  // namespace cim::device_detail
