// Data densities for the data-dependent energies: read from a JSON file, or
// measured by a calibration run of the float reference executor.
#include <cim/device/column_layout.h>
#include <cim/cimsim/cost_model.h>
#include <cim/error.h>
#include <cim/ir/executor.h>
#include <cim/ir/weight_stationary.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>

namespace cim {

namespace {

using json = nlohmann::json;

std::optional<double> read_density(const json& obj, const std::string& key, const std::string& where) {
    if (!obj.contains(key)) return std::nullopt;
    const json& v = obj.at(key);
    if (!v.is_number()) throw InputError(where + "." + key + ": expected a number in [0, 1], got " + v.dump());
    const double x = v.get<double>();
    if (!(x >= 0 && x <= 1)) throw InputError(where + "." + key + ": " + v.dump() + " is outside [0, 1]");
    return x;
}

void reject_unknown(const json& obj, const std::set<std::string>& known, const std::string& where) {
    for (auto it = obj.begin(); it != obj.end(); ++it)
        if (!known.count(it.key()))
            throw InputError(where + ": unknown key '" + it.key() + "' (expected " +
                             fmt::format("{}", fmt::join(known, ", ")) + ")");
}

LayerDensity read_layer(const json& obj, const std::string& where) {
    if (!obj.is_object()) throw InputError(where + ": expected an object");
    reject_unknown(obj, {"input_density", "weight_density"}, where);
    return {read_density(obj, "input_density", where), read_density(obj, "weight_density", where)};
}

// Mean of (code slice / largest slice value) over the slices an array sees,
// from a histogram of unsigned codes of `width` bits.
double slice_density(const std::vector<double>& hist, int width, int slice_bits) {
    double total = 0, count = 0;
    const int slices = (width + slice_bits - 1) / slice_bits;
    const double smax = double((1u << slice_bits) - 1);
    for (size_t u = 0; u < hist.size(); ++u) {
        if (hist[u] == 0) continue;
        double s = 0;
        for (int k = 0; k < slices; ++k) s += double((u >> (k * slice_bits)) & ((1u << slice_bits) - 1)) / smax;
        total += hist[u] * s / slices;
        count += hist[u];
    }
    return count > 0 ? total / count : 0.0;
}

// Input density of one activation tensor as the array sees it.
double input_density(const Tensor& t, const DeviceSpec& d, bool signed_inputs) {
    const int64_t n = t.numel();
    if (n <= 0) return 0;
    double maxabs = 0;
    for (int64_t k = 0; k < n; ++k) maxabs = std::max(maxabs, std::abs(t.get(k)));
    const int width = d.input.bits;
    const int b = std::min(d.quant.activation_bits, width);
    const int slice = d.input.mode == InputMode::multi_bit ? width : d.input.dac_bits;
    std::vector<double> hist(size_t(1) << width, 0.0);
    if (maxabs == 0) return 0;
    const SignedInputHandling h = signed_inputs ? d.input.signed_handling : SignedInputHandling::unsigned_only;
    const double umax = double((1 << b) - 1), smax = double((1 << (b - 1)) - 1);
    double split_factor = 1;
    for (int64_t k = 0; k < n; ++k) {
        const double x = t.get(k) / maxabs;
        int64_t u = 0;
        switch (h) {
            case SignedInputHandling::unsigned_only:
                u = std::llround(std::abs(x) * umax);
                break;
            case SignedInputHandling::offset:
                u = std::llround(x * smax) + (int64_t(1) << (b - 1));
                break;
            case SignedInputHandling::pos_neg_split:
                u = std::llround(std::abs(x) * umax);  // on one of the two row sets; the other is 0
                split_factor = 0.5;
                break;
            case SignedInputHandling::twos_complement: {
                const int64_t q = std::llround(x * smax);
                u = q & ((int64_t(1) << width) - 1);
                break;
            }
        }
        hist[size_t(std::clamp<int64_t>(u, 0, int64_t(hist.size()) - 1))] += 1;
    }
    return split_factor * slice_density(hist, width, slice);
}

// Mean stored cell digit over its largest value, for the device's encoding.
// (The layer's weights through its weight-stationary view: output (g, n) is one channel, as the
// quantizer scales them.)
double weight_density(const WeightStationaryView& v, const Tensor& w, const DeviceSpec& d) {
    const int64_t n = v.groups * v.K * v.N;
    if (n <= 0) return 0;
    const bool per_channel = d.quant.per_channel;
    std::vector<double> maxabs(per_channel ? size_t(v.groups * v.N) : 1, 0.0);
    auto ch = [&](int64_t g, int64_t c) { return per_channel ? size_t(g * v.N + c) : size_t(0); };
    for (int64_t g = 0; g < v.groups; ++g)
        for (int64_t c = 0; c < v.N; ++c)
            for (int64_t k = 0; k < v.K; ++k)
                maxabs[ch(g, c)] = std::max(maxabs[ch(g, c)], double(std::abs(v.weight(w, g, k, c))));
    const bool native = d.weight.encoding == WeightEncoding::native_signed;
    const int64_t qmax = native ? d.weight.clip : (int64_t(1) << (std::min(d.quant.weight_bits, d.weight.bits) - 1)) - 1;
    // Histogram of codes in [-qmax, qmax].
    std::vector<double> hist(size_t(2 * qmax + 1), 0.0);
    for (int64_t g = 0; g < v.groups; ++g)
        for (int64_t c = 0; c < v.N; ++c)
            for (int64_t k = 0; k < v.K; ++k) {
                const double m = maxabs[ch(g, c)];
                const int64_t q = m > 0 ? std::llround(double(v.weight(w, g, k, c)) / m * double(qmax)) : 0;
                hist[size_t(std::clamp<int64_t>(q, -qmax, qmax) + qmax)] += 1;
            }
    // Digits in the columns the mapper places (cim::column_layout at the layer's width), as the
    // quantizer programs them (quant/program.h).
    const ColumnLayout layout = column_layout(d);
    const int cb = d.cell.bits, B = layout.code_bits, S = layout.slices;
    const double dmax = double((1 << cb) - 1);
    auto digits = [&](int64_t u, int count) {
        double s = 0;
        for (int k = 0; k < count; ++k) s += double((u >> (k * cb)) & ((int64_t(1) << cb) - 1)) / dmax;
        return s;
    };
    double total = 0;
    for (int64_t q = -qmax; q <= qmax; ++q) {
        const double h = hist[size_t(q + qmax)];
        if (h == 0) continue;
        double dens = 0;
        switch (d.weight.encoding) {
            case WeightEncoding::differential: dens = digits(q < 0 ? -q : q, S) / layout.columns_per_output; break;
            case WeightEncoding::offset: dens = digits(q + (int64_t(1) << (B - 1)), S) / layout.columns_per_output; break;
            case WeightEncoding::twos_complement:  // the low B-1 bits, then the sign bit alone
                dens = (digits(q < 0 ? q + (int64_t(1) << (B - 1)) : q, S - 1) + (q < 0 ? 1.0 / dmax : 0.0)) /
                       layout.columns_per_output;
                break;
            case WeightEncoding::native_signed: dens = double(q < 0 ? -q : q) / double(qmax); break;
        }
        total += h * dens;
    }
    return total / double(n);
}

}  // namespace

DataStats load_data_stats(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw InputError(path + ": cannot read the activation statistics file");
    json j;
    try {
        j = json::parse(in);
    } catch (const json::parse_error& e) {
        throw InputError(path + ": not valid JSON: " + e.what());
    }
    if (!j.is_object()) throw InputError(path + ": expected a JSON object");
    reject_unknown(j, {"input_density", "weight_density", "layers", "source"}, path);
    DataStats s;
    s.source = "stats file " + path;
    s.defaults = {read_density(j, "input_density", path), read_density(j, "weight_density", path)};
    if (j.contains("source") && j["source"].is_string()) s.source += " (" + j["source"].get<std::string>() + ")";
    if (j.contains("layers")) {
        const json& layers = j["layers"];
        if (!layers.is_object()) throw InputError(path + ": layers: expected an object keyed by node name");
        for (auto it = layers.begin(); it != layers.end(); ++it)
            s.layers[it.key()] = read_layer(it.value(), path + ": layers." + it.key());
    }
    return s;
}

DataStats measure_data_stats(const Graph& g, const Mapping& m, const DeviceSpec& d, const std::vector<Tensor>& inputs,
                             const std::string& source) {
    DataStats s;
    s.source = source;
    // Which values feed array layers, and whether those layers see signed inputs.
    std::map<int, std::vector<const LayerMapping*>> wanted;
    for (const LayerMapping& L : m.layers) {
        if (L.placement != Placement::arrays || L.arrays == 0) continue;
        const Node* n = g.find_node(L.name);
        if (!n) continue;
        WeightStationaryView view;
        if (weight_stationary_view(g, int(n - g.nodes.data()), view)) {
            const Tensor& w = *g.constant(n->inputs[size_t(view.weight_input)]);
            if (L.weight_bits > 0 && L.weight_bits != d.weight.bits) {  // stored narrower (mixed precision)
                DeviceSpec narrow = d;
                narrow.weight.bits = L.weight_bits;
                narrow.weight.clip = std::min(narrow.weight.clip, (1 << (L.weight_bits - 1)) - 1);
                s.layers[L.name].weight_density = weight_density(view, w, narrow);
            } else {
                s.layers[L.name].weight_density = weight_density(view, w, d);
            }
        }
        const size_t k = size_t(view.data_input);
        if (n->has_input(k)) wanted[n->inputs[k]].push_back(&L);
    }
    auto record = [&](int value, const Tensor& t) {
        auto it = wanted.find(value);
        if (it == wanted.end()) return;
        for (const LayerMapping* L : it->second)
            s.layers[L->name].input_density = input_density(t, d, L->signed_inputs);
    };
    if (inputs.size() != g.inputs.size())
        throw InputError(fmt::format("calibration: {} expects {} input tensor(s), got {}", g.source_file, g.inputs.size(),
                                     inputs.size()));
    for (size_t k = 0; k < inputs.size(); ++k) record(g.inputs[k], inputs[k]);
    Executor ex(g);
    ex.run(inputs, [&](const Node& n, std::span<const Tensor> outs) {
        for (size_t k = 0; k < outs.size() && k < n.outputs.size(); ++k)
            if (n.outputs[k] >= 0) record(n.outputs[k], outs[k]);
    });
    return s;
}

}  // namespace cim
