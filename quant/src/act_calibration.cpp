// The float calibration pass: one executor run of the calibration batches that observes
// every weight-stationary layer's input (and a recurrent layer's hidden states) as it is
// produced, then each layer's input quantizer from what its calibrator needs of them.
#include "act_calibration.h"

#include "model_quant.h"
#include "value_summary.h"

#include <cim/error.h>

#include <optional>
#include <span>

namespace cim::quant::detail {

namespace {

// One layer's calibration values: all of them, or their streamed summary.
struct ActValues {
    const std::vector<float>* all = nullptr;
    const ValueSummary* summary = nullptr;

    std::optional<Range> range(CalibrationMethod m, double p, bool symmetric, bool nonnegative, int64_t levels) const {
        if (all) return quant::calibrate_range(*all, m, p, symmetric, nonnegative, levels);
        return calibrate_range(*summary, m, p, symmetric, nonnegative, levels);
    }
    std::optional<double> clipped(const ActQuant& a) const {
        if (all) return clipped_fraction(a, *all);
        const auto c = summary->clipped(a);
        if (!c) return std::nullopt;
        return summary->seen() ? double(*c) / double(summary->seen()) : 0.0;
    }
};

// The input quantizer calibrated on `values`; nullopt when a summary cannot give it exactly.
std::optional<ActQuant> make_act_quant(const ActValues& values, bool is_signed, const DeviceSpec& d,
                                       const QuantDefaults& q, const std::string& layer, double* clipped) {
    ActQuant a;
    a.bits = q.activation_bits;
    a.is_signed = is_signed;
    const int b = a.bits;
    if (!is_signed) {
        a.realization = InputRealization::unsigned_code;
        a.code_min = 0;
        a.code_max = int32_t((int64_t(1) << b) - 1);
        const auto r = values.range(q.calibration, q.percentile, false, true, a.code_max);
        if (!r) return std::nullopt;
        a.scale = r->hi > 0 ? r->hi / a.code_max : 1.0;
        if (q.power_of_two_scales) a.scale = pow2_scale(a.scale);
    } else {
        switch (d.input.signed_handling) {
            case SignedInputHandling::unsigned_only:
                throw InputError(d.source_path + ": input.signed_handling is unsigned_only, but layer '" + layer +
                                 "' has signed inputs (no ReLU before it); set input.signed_handling to offset, "
                                 "pos_neg_split, twos_complement or bipolar");
            case SignedInputHandling::offset: {
                a.realization = InputRealization::offset;
                a.code_min = 0;
                a.code_max = int32_t((int64_t(1) << b) - 1);
                const auto r = values.range(q.calibration, q.percentile, false, false, a.code_max);
                if (!r) return std::nullopt;
                a.scale = r->hi > r->lo ? (r->hi - r->lo) / a.code_max : 1.0;
                if (q.power_of_two_scales) a.scale = pow2_scale(a.scale);
                a.zero_point = int32_t(std::clamp(std::nearbyint(-r->lo / a.scale), 0.0, double(a.code_max)));
                break;
            }
            case SignedInputHandling::pos_neg_split:
            case SignedInputHandling::twos_complement:
            case SignedInputHandling::bipolar: {
                if (b < 2)
                    throw InputError("layer '" + layer + "': signed inputs need quant.activation_bits >= 2");
                a.realization = d.input.signed_handling == SignedInputHandling::pos_neg_split ? InputRealization::pos_neg_split
                                : d.input.signed_handling == SignedInputHandling::bipolar     ? InputRealization::bipolar
                                                                                               : InputRealization::twos_complement;
                a.code_max = int32_t((int64_t(1) << (b - 1)) - 1);
                a.code_min = -a.code_max;
                const auto r = values.range(q.calibration, q.percentile, true, false, a.code_max);
                if (!r) return std::nullopt;
                a.scale = r->hi > 0 ? r->hi / a.code_max : 1.0;
                if (q.power_of_two_scales) a.scale = pow2_scale(a.scale);
                break;
            }
        }
    }
    if (!(a.scale > 0) || !std::isfinite(a.scale)) a.scale = 1.0;
    const auto c = values.clipped(a);
    if (!c) return std::nullopt;
    *clipped = *c;
    return a;
}

// One executor run over the batches: `input(layer, batch, x)` before each weight-stationary
// layer with its data input, `output(layer, batch, y)` after it with its first output.
using LayerVisit = std::function<void(size_t layer, size_t batch, const Tensor&)>;
void float_pass(const Graph& G, const std::vector<MvmView>& views, const std::vector<std::vector<Tensor>>& batches,
                const LayerVisit& input, const LayerVisit& output, const std::function<void()>& batch_done) {
    std::vector<int> view_of_node(G.nodes.size(), -1);
    for (size_t i = 0; i < views.size(); ++i) view_of_node[size_t(views[i].node)] = int(i);
    Executor exec(G);
    for (size_t bi = 0; bi < batches.size(); ++bi) {
        auto capture = [&](const Node& n, std::span<const Tensor* const> ins, std::span<Tensor>) {
            const int li = view_of_node[size_t(&n - G.nodes.data())];
            if (li >= 0) input(size_t(li), bi, *ins[size_t(views[size_t(li)].data_input)]);
            return false;
        };
        auto observe = [&](const Node& n, std::span<const Tensor> outs) {
            const int li = view_of_node[size_t(&n - G.nodes.data())];
            if (li >= 0) output(size_t(li), bi, outs[0]);
        };
        exec.run(batches[bi], observe, capture);
        if (batch_done) batch_done();
    }
}

// Streams each layer's values into its summary: positions in the concatenation (inputs of
// every batch, then a recurrent layer's outputs) follow from the first batch's sizes, checked
// on every batch.
class Summarizer {
public:
    Summarizer(const std::vector<MvmView>& views, const std::vector<std::vector<Tensor>>& batches,
               std::vector<size_t> sample_cap, double percentile)
        : views_(views), sample_cap_(std::move(sample_cap)), percentile_(percentile), layers_(views.size()) {
        for (const auto& b : batches) {
            batch_items_.push_back(b.at(0).shape.at(0));
            items_ += batch_items_.back();
        }
    }

    void input(size_t i, size_t bi, const Tensor& x) {
        if (views_[i].is_recurrent()) layers_[i].pending = x;  // added with the outputs, once both sizes are known
        else add(i, 0, bi, x);
    }
    void output(size_t i, size_t bi, const Tensor& y) {
        if (!views_[i].is_recurrent()) return;
        Layer& L = layers_[i];
        add(i, 0, bi, L.pending, &y);
        L.pending = Tensor();
        add(i, 1, bi, y);
    }
    std::vector<ValueSummary> finish() {
        std::vector<ValueSummary> out;
        for (Layer& L : layers_) {
            L.summary.finish();
            out.push_back(std::move(L.summary));
        }
        return out;
    }

private:
    struct Layer {
        int64_t per_item[2] = {0, 0}, done[2] = {0, 0};
        ValueSummary summary;
        Tensor pending;
    };

    // Segment 0: the layer's inputs; 1: a recurrent layer's outputs. `second`: the output
    // whose size the first batch's summary needs too.
    void add(size_t i, int seg, size_t bi, const Tensor& t, const Tensor* second = nullptr) {
        Layer& L = layers_[i];
        const int64_t items = batch_items_[bi];
        if (bi == 0 && seg == 0) {
            int64_t total = 0;
            bool even = true;
            for (int s = 0; s < (second ? 2 : 1); ++s) {
                const Tensor& u = s == 0 ? t : *second;
                even = even && items > 0 && u.numel() % items == 0;
                L.per_item[s] = items > 0 ? u.numel() / items : 0;
                total += L.per_item[s] * items_;
            }
            L.summary = ValueSummary(total, sample_cap_[i], percentile_);
            if (!even) L.summary.mark_inexact();
        }
        if (!t.floating() || t.numel() != L.per_item[seg] * items) {
            L.summary.mark_inexact();
            return;
        }
        const int64_t offset = seg == 0 ? 0 : L.per_item[0] * items_;
        L.summary.add(offset + L.done[seg], t.f.data(), t.f.size());
        L.done[seg] += t.numel();
    }

    const std::vector<MvmView>& views_;
    std::vector<size_t> sample_cap_;
    double percentile_;
    std::vector<Layer> layers_;
    std::vector<int64_t> batch_items_;
    int64_t items_ = 0;
};

}  // namespace

FloatPass calibrate_activations(QuantizedModel& model, QuantReport& report, const std::vector<MvmView>& views,
                                const std::vector<std::vector<Tensor>>& batches, const std::string& source_file,
                                const QuantDefaults& q, const ActCalibration& how) {
    const Graph& G = model.graph;
    const DeviceSpec& device = model.device;
    const size_t nl = views.size();
    const std::vector<bool> nonneg = nonnegative_values(G);
    std::vector<bool> is_signed(nl);
    std::vector<std::optional<ModelQuantization>> grid(nl);
    std::vector<size_t> sample_cap(nl, 0);
    for (size_t i = 0; i < nl; ++i) {
        const MvmView& v = views[i];
        const Node& n = G.nodes[size_t(v.node)];
        // A recurrent layer's rows also carry h_{t-1}: its range is that of the hidden states (Y),
        // and the gates make it signed.
        is_signed[i] = v.is_recurrent() || !nonneg[size_t(n.inputs[size_t(v.data_input)])];
        if (q.use_model_quantization && !v.is_recurrent()) grid[i] = activation_quantization(G, n.inputs[size_t(v.data_input)]);
        const bool magnitude = !is_signed[i] || device.input.signed_handling != SignedInputHandling::offset;
        if (!grid[i]) sample_cap[i] = calibration_sample_cap(q.calibration, magnitude);
    }

    FloatPass kept;
    kept.inputs.resize(how.keep_inputs ? nl : 0);
    kept.outputs.resize(how.keep_outputs ? nl : 0);
    // The whole values of the layers in `whole` (inputs, then a recurrent layer's outputs).
    std::vector<std::vector<float>> values(nl), out_values(nl);
    std::vector<bool> whole(nl, !how.stream);
    auto keep_whole = [&](std::vector<float>& to, size_t i, const Tensor& t) {
        if (whole[i]) to.insert(to.end(), t.f.begin(), t.f.end());
    };
    std::vector<ValueSummary> summaries;
    {
        std::optional<Summarizer> sum;
        if (how.stream)
            sum.emplace(views, batches, sample_cap, q.calibration == CalibrationMethod::percentile ? q.percentile : 0.0);
        float_pass(
            G, views, batches,
            [&](size_t i, size_t bi, const Tensor& x) {
                if (how.keep_inputs) kept.inputs[i].push_back(x);
                if (sum) sum->input(i, bi, x);
                keep_whole(values[i], i, x);
            },
            [&](size_t i, size_t bi, const Tensor& y) {
                if (how.keep_outputs) kept.outputs[i].push_back(y);
                if (sum) sum->output(i, bi, y);
                if (views[i].is_recurrent()) keep_whole(out_values[i], i, y);
            },
            how.batch_done);
        if (sum) summaries = sum->finish();
    }

    // Calibrates layer i from `v`; false when the summary cannot give the exact result.
    auto calibrate = [&](size_t i, const ActValues& v) {
        const Node& n = G.nodes[size_t(views[i].node)];
        QuantLayer& L = model.layers[i];
        LayerReport& r = report.layers[i];
        if (grid[i]) {
            L.input = model_act_quant(*grid[i], is_signed[i], device, source_file + ": layer '" + n.name + "'");
            const auto c = v.clipped(L.input);
            if (!c) return false;
            r.activation_clipped_fraction = *c;
            r.input_from_model = true;
            return true;
        }
        const auto a = make_act_quant(v, is_signed[i], device, q, n.name, &r.activation_clipped_fraction);
        if (a) L.input = *a;
        return a.has_value();
    };
    // The concatenation (inputs, then a recurrent layer's outputs), calibrated and released.
    auto calibrate_whole = [&](size_t i) {
        values[i].insert(values[i].end(), out_values[i].begin(), out_values[i].end());
        out_values[i] = {};
        ActValues v;
        v.all = &values[i];
        calibrate(i, v);
        values[i] = {};
    };
    std::vector<size_t> again;
    for (size_t i = 0; i < nl; ++i) {
        if (whole[i]) {
            calibrate_whole(i);
            continue;
        }
        ActValues v;
        v.summary = &summaries[i];
        if (!calibrate(i, v)) again.push_back(i);
    }
    if (again.empty()) return kept;
    // Layers the summaries could not calibrate exactly: their whole values, a second pass.
    summaries.clear();
    for (size_t i : again) whole[i] = true;
    float_pass(
        G, views, batches, [&](size_t i, size_t, const Tensor& x) { keep_whole(values[i], i, x); },
        [&](size_t i, size_t, const Tensor& y) {
            if (views[i].is_recurrent()) keep_whole(out_values[i], i, y);
        },
        {});
    for (size_t i : again) calibrate_whole(i);
    return kept;
}

}  // namespace cim::quant::detail
