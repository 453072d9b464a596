// The quantization pipeline: calibration on the float model, weight codes,
// optional AdaRound (adaround.cpp) and bias correction layer by layer (with the layers
// before already quantized), mixed precision, and the per-layer report. Evaluation of the
// result: evaluate.cpp.
#include "act_calibration.h"
#include "adaround.h"
#include "model_quant.h"
#include "program_internal.h"

#include <cim/error.h>
#include <cim/ir/batch.h>
#include <cim/ir/onnx_import.h>
#include <cim/quant/quantizer.h>
#include <cim/quant/digital_units.h>

#include <Eigen/Core>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <set>

namespace cim::quant {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using detail::adaround_layer;
using detail::Gram;
using detail::MatD;

Tensor slice_items(const Tensor& t, int64_t begin, int64_t end) {
    CIM_INTERNAL_CHECK(t.rank() >= 1 && begin >= 0 && end <= t.shape[0] && begin <= end, "slice_items range");
    Shape s = t.shape;
    s[0] = end - begin;
    Tensor out(t.type, s);
    const int64_t per = t.shape[0] ? t.numel() / t.shape[0] : 0;
    if (t.floating())
        std::copy(t.f.begin() + begin * per, t.f.begin() + end * per, out.f.begin());
    else
        std::copy(t.i.begin() + begin * per, t.i.begin() + end * per, out.i.begin());
    return out;
}

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double sqnr_db(double signal, double noise) {
    if (noise <= 0) return 200.0;
    if (signal <= 0) return -200.0;
    return 10.0 * std::log10(signal / noise);
}

struct WeightStats {
    double clipped = 0, signal = 0, noise = 0;
    int64_t count = 0;
};

int32_t weight_qmax(const DeviceSpec& d, const QuantDefaults& q, WeightMode mode, int bits) {
    if (mode != WeightMode::uniform || bits == 1) return 1;
    int32_t qmax = std::min<int32_t>((int32_t(1) << (bits - 1)) - 1, d.weight.clip);
    if (q.weight_full_range && bits == d.weight.bits) qmax = d.weight.clip;
    return qmax;
}

// Codes, scales and zero points of one layer's weights at `bits` (nearest rounding).
WeightStats quantize_weights(QuantLayer& L, const MvmView& v, const Tensor& W, const DeviceSpec& d,
                             const QuantDefaults& q, int bits) {
    WeightMode mode = q.weight_mode;
    if (mode == WeightMode::uniform && bits == 1) mode = WeightMode::binary;
    L.weight_mode = mode;
    L.weight_bits = mode == WeightMode::binary ? 1 : mode == WeightMode::ternary ? 2 : bits;
    L.weight_qmax = weight_qmax(d, q, mode, bits);
    const int64_t G = L.groups, K = L.K, N = L.N, qmax = L.weight_qmax;
    L.w.assign(size_t(G * K * N), 0);
    L.w_scale.assign(size_t(G * N), 1.0);
    L.w_zero_point.assign(size_t(G * N), 0);
    const bool per_channel = q.per_channel;
    const int64_t channels = per_channel ? G * N : 1;
    std::vector<WeightStats> stats(static_cast<size_t>(channels));
#pragma omp parallel for schedule(dynamic)
    for (int64_t ch = 0; ch < channels; ++ch) {
        // The (g, n) pairs of this channel.
        std::vector<std::pair<int64_t, int64_t>> outs;
        if (per_channel) outs.push_back({ch / N, ch % N});
        else
            for (int64_t g = 0; g < G; ++g)
                for (int64_t n = 0; n < N; ++n) outs.push_back({g, n});
        std::vector<float> vals;
        vals.reserve(outs.size() * size_t(K));
        for (auto [g, n] : outs)
            for (int64_t k = 0; k < K; ++k) vals.push_back(v.weight(W, g, k, n));
        double scale = 1.0;
        int32_t zp = 0;
        double thresh = 0;  // ternary threshold
        if (mode == WeightMode::binary) {
            double s = 0;
            for (float x : vals) s += std::fabs(x);
            scale = vals.empty() ? 1.0 : s / double(vals.size());
        } else if (mode == WeightMode::ternary) {
            // Optimal ternary: keep the k largest magnitudes, alpha = their mean, k maximizing (sum)^2 / k.
            std::vector<float> m(vals.size());
            for (size_t i = 0; i < vals.size(); ++i) m[i] = std::fabs(vals[i]);
            std::sort(m.begin(), m.end(), std::greater<float>());
            double sum = 0, best = -1;
            size_t bk = 1;
            for (size_t k = 0; k < m.size(); ++k) {
                sum += m[k];
                const double score = sum * sum / double(k + 1);
                if (score > best) {
                    best = score;
                    bk = k + 1;
                }
            }
            double s = 0;
            for (size_t k = 0; k < bk && k < m.size(); ++k) s += m[k];
            scale = bk ? s / double(bk) : 1.0;
            thresh = bk < m.size() ? 0.5 * (double(m[bk - 1]) + double(m[bk])) : 0.0;
        } else {
            const Range r = calibrate_range(vals, q.weight_calibration, q.percentile, q.symmetric, false,
                                            q.symmetric ? qmax : 2 * qmax);
            if (q.symmetric) {
                scale = r.hi > 0 ? r.hi / double(qmax) : 1.0;
            } else {
                scale = r.hi > r.lo ? (r.hi - r.lo) / double(2 * qmax) : 1.0;
                zp = int32_t(std::nearbyint(-double(qmax) - r.lo / scale));
            }
        }
        if (!(scale > 0) || !std::isfinite(scale)) scale = 1.0;
        if (q.power_of_two_scales) {
            if (mode == WeightMode::uniform && q.symmetric) scale = pow2_scale(scale, vals.data(), vals.size(), qmax);
            else scale = pow2_scale(scale);
            if (mode == WeightMode::uniform && !q.symmetric) {
                // Keep the zero point inside the code range after the scale moved.
                const double lo = double(*std::min_element(vals.begin(), vals.end()));
                zp = int32_t(std::nearbyint(-double(qmax) - std::min(lo, 0.0) / scale));
            }
        }
        WeightStats st;
        for (auto [g, n] : outs) {
            L.w_scale[size_t(g * N + n)] = scale;
            L.w_zero_point[size_t(g * N + n)] = zp;
            for (int64_t k = 0; k < K; ++k) {
                const double x = v.weight(W, g, k, n);
                int32_t c;
                if (mode == WeightMode::binary) c = x >= 0 ? 1 : -1;
                else if (mode == WeightMode::ternary) c = std::fabs(x) > thresh ? (x > 0 ? 1 : -1) : 0;
                else {
                    const double raw = std::nearbyint(x / scale) + zp;
                    if (raw > qmax || raw < -qmax) st.clipped += 1;
                    c = int32_t(std::clamp<double>(raw, -double(qmax), double(qmax)));
                }
                L.w[size_t((g * K + k) * N + n)] = c;
                const double deq = scale * double(c - zp);
                st.signal += x * x;
                st.noise += (x - deq) * (x - deq);
                ++st.count;
            }
        }
        stats[size_t(ch)] = st;
    }
    WeightStats total;
    for (const auto& s : stats) {
        total.clipped += s.clipped;
        total.signal += s.signal;
        total.noise += s.noise;
        total.count += s.count;
    }
    return total;
}

// Float bias of a layer (per output, groups * N values; zeros when none).
std::vector<double> float_bias(const Graph& g, const MvmView& v, int64_t GN) {
    std::vector<double> b(size_t(GN), 0.0);
    if (v.is_recurrent()) {  // W's and R's biases, per gate column (weight_stationary.h)
        const Tensor* t = v.bias_input >= 0 ? g.constant(g.nodes[size_t(v.node)].inputs[size_t(v.bias_input)]) : nullptr;
        for (int64_t i = 0; i < GN; ++i) b[size_t(i)] = v.recurrent_bias(t, i / v.N, i % v.N);
        return b;
    }
    // ConvTranspose's bias is per output channel, added after the scatter (program.cpp): the
    // columns start with none.
    if (v.bias_input < 0 || v.op == OpKind::ConvTranspose) return b;
    const Tensor* t = g.constant(g.nodes[size_t(v.node)].inputs[size_t(v.bias_input)]);
    for (int64_t i = 0; i < GN; ++i) b[size_t(i)] = double(v.beta) * t->get(t->numel() == 1 ? 0 : i);
    return b;
}

void set_bias_codes(QuantLayer& L, const std::vector<double>& bias, int bias_bits) {
    const int64_t GN = L.groups * L.N;
    L.out_scale.assign(size_t(GN), 0.0);
    L.bias_code.assign(size_t(GN), 0);
    const double lim = std::ldexp(1.0, std::min(bias_bits, 62) - 1) - 1;
    for (int64_t i = 0; i < GN; ++i) {
        L.out_scale[size_t(i)] = L.input.scale * L.w_scale[size_t(i)];
        L.bias_code[size_t(i)] = int64_t(std::clamp(std::nearbyint(bias[size_t(i)] / L.out_scale[size_t(i)]), -lim, lim));
    }
}

}  // namespace

// ---------------- the pipeline ----------------

QuantResult quantize(const Graph& graph, const DeviceSpec& device, const std::vector<Tensor>& calibration,
                     const QuantOptions& options) {
    const auto t_start = std::chrono::steady_clock::now();
    const QuantDefaults& q = options.q;
    auto log = [&](const std::string& msg) {
        if (options.verbose) std::fprintf(stderr, "cim-quant: %s (%.1f s)\n", msg.c_str(), seconds_since(t_start));
    };
    if (q.weight_bits > device.weight.bits)
        throw InputError("quant.weight_bits = " + std::to_string(q.weight_bits) + " exceeds weight.bits = " +
                         std::to_string(device.weight.bits) + " of " + device.name);
    if (q.activation_bits > device.input.bits)
        throw InputError("quant.activation_bits = " + std::to_string(q.activation_bits) + " exceeds input.bits = " +
                         std::to_string(device.input.bits) + " of " + device.name);
    if (q.mixed_precision_budget_arrays && q.mixed_precision_min_bits > q.weight_bits)
        throw InputError("quant.mixed_precision_min_bits = " + std::to_string(q.mixed_precision_min_bits) +
                         " exceeds quant.weight_bits = " + std::to_string(q.weight_bits));
    if (q.mixed_precision_budget_arrays && q.weight_mode != WeightMode::uniform)
        throw InputError("quant.mixed_precision_budget_arrays needs quant.weight_mode = uniform");
    for (const auto& [name, bits] : options.layer_bits)
        if (!graph.find_node(name)) throw InputError("per-layer bits: no node named '" + name + "' in " + graph.source_file);
    if (calibration.size() != graph.inputs.size())
        throw InputError(graph.source_file + ": calibration data has " + std::to_string(calibration.size()) +
                         " tensors, the model takes " + std::to_string(graph.inputs.size()) + " input(s)");
    const int64_t items = calibration.empty() ? 0 : calibration[0].shape.at(0);
    if (items < 1) throw InputError("calibration data is empty");

    QuantResult result;
    QuantizedModel& model = result.model;
    QuantReport& report = result.report;
    model.graph = graph;
    model.device = device;
    report.calibration_images = int(items);
    if (q.cle) report.cle_pairs = equalize_cross_layer(model.graph, q.use_model_quantization);
    const Graph& G = model.graph;
    std::vector<std::string> skipped;
    for (const std::string& name : options.host_layers)
        if (!G.find_node(name)) throw InputError("--host-layers: no node named '" + name + "' in " + graph.source_file);
    std::vector<MvmView> views = find_mvm_layers(G, &skipped);
    // Layers pinned to the host run in float there, like every op the arrays do not take.
    std::erase_if(views, [&](const MvmView& v) {
        const std::string& name = G.nodes[size_t(v.node)].name;
        if (!options.host_layers.count(name)) return false;
        skipped.push_back("node '" + name + "' (" + std::string(op_name(G.nodes[size_t(v.node)].op)) + ") runs in float on the host (--host-layers)");
        return true;
    });
    model.notes = skipped;
    report.notes = skipped;
    // Progress in steps: the float pass's batches, the layers refined, the layers measured.
    int64_t steps_done = 0, steps_total = 0;
    auto step = [&] {
        ++steps_done;
        if (options.progress) options.progress(steps_done, std::max(steps_done, steps_total));
    };
    model.layer_of_node.assign(G.nodes.size(), -1);
    const size_t nl = views.size();

    // Calibration batches (of one item for a graph that pins a batch of 1).
    const bool pinned = batch_pinned(G);
    if (pinned) report.notes.push_back("the graph pins a batch of 1: calibrated one sample at a time");
    const int64_t batch = pinned ? 1 : 128;
    std::vector<std::vector<Tensor>> batches;
    for (int64_t b0 = 0; b0 < items; b0 += batch) {
        std::vector<Tensor> in;
        for (const Tensor& t : calibration) in.push_back(slice_items(t, b0, std::min(items, b0 + batch)));
        batches.push_back(std::move(in));
    }
    steps_total = int64_t(batches.size()) + (q.adaround || q.bias_correction ? int64_t(nl) : 0) +
                  (options.report_sqnr && nl > 0 ? int64_t(nl) + 1 : 0);

    // ---- layers, and their input quantizers from the float pass over the calibration data ----
    std::vector<int> view_of_node(G.nodes.size(), -1);
    for (size_t i = 0; i < nl; ++i) view_of_node[size_t(views[i].node)] = int(i);
    report.layers.resize(nl);
    model.layers.resize(nl);
    for (size_t i = 0; i < nl; ++i) {
        const MvmView& v = views[i];
        const Node& n = G.nodes[size_t(v.node)];
        QuantLayer& L = model.layers[i];
        L.name = n.name;
        L.node = v.node;
        L.op = n.op;
        L.K = v.K;
        L.N = v.N;
        L.groups = v.groups;
        L.data_input = v.data_input;
        L.const_left = v.const_left;
        L.trans_a = v.trans_a;
        model.layer_of_node[size_t(v.node)] = int(i);
    }
    detail::ActCalibration how;
    how.keep_inputs = q.adaround || q.bias_correction;  // the float rows their statistics compare with
    how.keep_outputs = options.report_sqnr;             // the reference of the per-layer SQNR
    how.stream = options.stream_calibration;
    how.batch_done = step;
    const detail::FloatPass fp = detail::calibrate_activations(model, report, views, batches, graph.source_file, q, how);
    const std::vector<std::vector<Tensor>>& float_in = fp.inputs;
    const std::vector<std::vector<Tensor>>& float_out = fp.outputs;
    log("float calibration pass done");
    // Weights a QDQ model quantized itself: their codes are taken as given.
    std::vector<const ModelQuantization*> model_weights(nl, nullptr);
    for (size_t i = 0; i < nl && q.use_model_quantization; ++i) {
        const Node& n = G.nodes[size_t(views[i].node)];
        model_weights[i] = G.value(n.inputs[size_t(views[i].weight_input)]).model_quantization.get();
        if (model_weights[i] && views[i].is_recurrent()) {
            model_weights[i] = nullptr;
            report.notes.push_back("layer '" + n.name + "': the model's quantization of a recurrent W is not kept (W and R are "
                                   "quantized together on the arrays): requantized from its float values");
        }
        if (!model_weights[i]) continue;
        report.layers[i].weights_from_model = true;
        const std::string fix = " chooses weight widths, but the model's own quantization fixes layer '" + n.name +
                                "''s; set quant.use_model_quantization=false to requantize it";
        if (q.mixed_precision_budget_arrays) throw InputError("quant.mixed_precision_budget_arrays" + fix);
        if (options.layer_bits.count(n.name)) throw InputError("a per-layer weight width" + fix);
    }
    for (const LayerReport& r : report.layers)
        report.model_quantization = report.model_quantization || r.weights_from_model || r.input_from_model;

    // ---- weight bits per layer (uniform, per-layer overrides, or mixed precision) ----
    std::vector<int> bits(nl, q.weight_bits);
    for (size_t i = 0; i < nl; ++i) {
        auto it = options.layer_bits.find(model.layers[i].name);
        if (it != options.layer_bits.end()) bits[i] = it->second;
    }
    std::vector<std::vector<double>> biases(nl);
    for (size_t i = 0; i < nl; ++i) biases[i] = float_bias(G, views[i], views[i].groups * views[i].N);

    auto weight_tensor = [&](size_t i) -> const Tensor& {
        return *G.constant(G.nodes[size_t(views[i].node)].inputs[size_t(views[i].weight_input)]);
    };
    auto build_layer = [&](size_t i, int b) {
        QuantLayer& L = model.layers[i];
        WeightStats st;
        if (model_weights[i])
            detail::model_weights(L, views[i], *model_weights[i], device, graph.source_file + ": layer '" + L.name + "'");
        else
            st = quantize_weights(L, views[i], weight_tensor(i), device, q, b);
        set_bias_codes(L, biases[i], q.bias_bits);
        L.finalize(device);
        return st;
    };

    if (q.mixed_precision_budget_arrays) {
        MixedPrecisionReport mp;
        mp.budget_arrays = *q.mixed_precision_budget_arrays;
        for (int b = q.mixed_precision_min_bits; b <= q.weight_bits; ++b) mp.candidate_bits.push_back(b);
        const size_t nb = mp.candidate_bits.size();
        // Arrays per layer and width, from the mapper (one batch-1 mapping per width).
        if (!options.arrays_at_width)
            throw InputError("quant.mixed_precision_budget_arrays needs the arrays each layer takes at each width: "
                             "set QuantOptions::arrays_at_width (cim::arrays_per_layer_at_width from the mapper)");
        const Graph g1 = specialize_batch(G, 1);
        mp.arrays_per_bits.assign(nl, std::vector<int64_t>(nb, 0));
        for (size_t j = 0; j < nb; ++j) {
            const auto arrays = options.arrays_at_width(g1, device, mp.candidate_bits[j]);
            for (size_t i = 0; i < nl; ++i) {
                const auto it = arrays.find(model.layers[i].name);
                mp.arrays_per_bits[i][j] = it != arrays.end() ? it->second : 0;
            }
        }
        // Sensitivity: normalized logit error with only layer i's weights quantized at width b.
        const size_t sens_batches = std::min<size_t>(batches.size(), 2);
        std::vector<std::vector<Tensor>> ref(sens_batches);
        {
            Executor exec(G);
            for (size_t bi = 0; bi < sens_batches; ++bi) ref[bi] = exec.run(batches[bi]);
        }
        double energy = 0;
        for (const auto& r : ref)
            for (float x : r[0].f) energy += double(x) * x;
        mp.sensitivity.assign(nl, std::vector<double>(nb, 0.0));
        std::vector<bool> active(G.nodes.size(), false);
        for (size_t i = 0; i < nl; ++i) {
            active.assign(G.nodes.size(), false);
            active[size_t(views[i].node)] = true;
            // Weights only: the layer's input quantizer is widened to 14 bits meanwhile.
            const ActQuant saved = model.layers[i].input;
            ActQuant wide = saved;
            wide.bits = 14;
            const double factor = std::ldexp(1.0, 14 - saved.bits);
            wide.scale = saved.scale / factor;
            wide.zero_point = int32_t(std::lround(saved.zero_point * factor));
            wide.code_min = int32_t(std::lround(saved.code_min * factor));
            wide.code_max = int32_t(std::lround((saved.code_max + 1) * factor - 1));
            model.layers[i].input = wide;
            for (size_t j = 0; j < nb; ++j) {
                build_layer(i, mp.candidate_bits[j]);
                double err = 0;
                for (size_t bi = 0; bi < sens_batches; ++bi) {
                    RunOptions ro;
                    ro.active = &active;
                    const auto out = run_program(model, batches[bi], ro);
                    for (size_t k = 0; k < out[0].f.size(); ++k) {
                        const double dlt = double(out[0].f[k]) - ref[bi][0].f[k];
                        err += dlt * dlt;
                    }
                }
                mp.sensitivity[i][j] = energy > 0 ? err / energy : err;
            }
            model.layers[i].input = saved;
            // More bits never hurt: smooth out measurement noise.
            for (size_t j = 1; j < nb; ++j) mp.sensitivity[i][j] = std::min(mp.sensitivity[i][j], mp.sensitivity[i][j - 1]);
        }
        // Multiple-choice knapsack by dynamic programming over arrays.
        const int64_t budget = mp.budget_arrays;
        const double inf = std::numeric_limits<double>::infinity();
        std::vector<std::vector<double>> dp(nl + 1, std::vector<double>(size_t(budget + 1), inf));
        std::vector<std::vector<int>> choice(nl + 1, std::vector<int>(size_t(budget + 1), -1));
        dp[0][0] = 0;
        for (size_t i = 0; i < nl; ++i)
            for (int64_t a = 0; a <= budget; ++a) {
                if (dp[i][size_t(a)] == inf) continue;
                for (size_t jj = nb; jj-- > 0;) {  // widest first: ties keep more bits
                    const size_t j = jj;
                    const int64_t a2 = a + mp.arrays_per_bits[i][j];
                    if (a2 > budget) continue;
                    const double val = dp[i][size_t(a)] + mp.sensitivity[i][j];
                    if (val < dp[i + 1][size_t(a2)]) {
                        dp[i + 1][size_t(a2)] = val;
                        choice[i + 1][size_t(a2)] = int(j);
                    }
                }
            }
        int64_t best_a = -1;
        for (int64_t a = 0; a <= budget; ++a)
            if (dp[nl][size_t(a)] < inf && (best_a < 0 || dp[nl][size_t(a)] < dp[nl][size_t(best_a)])) best_a = a;
        int64_t min_arrays = 0;
        for (size_t i = 0; i < nl; ++i) min_arrays += mp.arrays_per_bits[i][0];
        if (best_a < 0)
            throw InputError("quant.mixed_precision_budget_arrays = " + std::to_string(budget) +
                             " is too small: even " + std::to_string(q.mixed_precision_min_bits) +
                             "-bit weights everywhere need " + std::to_string(min_arrays) + " arrays on " + device.name);
        mp.chosen_bits.assign(nl, 0);
        int64_t a = best_a;
        for (size_t i = nl; i > 0; --i) {
            const int j = choice[i][size_t(a)];
            mp.chosen_bits[i - 1] = mp.candidate_bits[size_t(j)];
            a -= mp.arrays_per_bits[i - 1][size_t(j)];
        }
        mp.arrays = best_a;
        for (size_t j = 0; j < nb; ++j) {
            int64_t total = 0;
            for (size_t i = 0; i < nl; ++i) total += mp.arrays_per_bits[i][j];
            if (total <= budget) {
                mp.uniform_bits_fitting = mp.candidate_bits[j];
                mp.uniform_arrays = total;
            }
        }
        for (size_t i = 0; i < nl; ++i) bits[i] = mp.chosen_bits[i];
        report.mixed_precision = mp;
        log("mixed precision allocation done");
    }

    // ---- weights, nearest rounding ----
    std::vector<WeightStats> wstats(nl);
    for (size_t i = 0; i < nl; ++i) wstats[i] = build_layer(i, bits[i]);
    log("weights quantized");

    // ---- AdaRound and bias correction, layer by layer with the layers before quantized ----
    if (q.adaround || q.bias_correction) {
        std::vector<bool> active(G.nodes.size(), false);
        for (size_t i = 0; i < nl; ++i) {
            QuantLayer& L = model.layers[i];
            const MvmView& v = views[i];
            if (v.is_recurrent()) {  // AdaRound and bias correction work on one layer input, not a recurrence
                active[size_t(v.node)] = true;
                step();
                continue;
            }
            const int64_t K = L.K, Gr = L.groups;
            std::vector<Gram> grams(static_cast<size_t>(Gr));
            for (auto& gm : grams) {
                if (q.adaround) {
                    gm.H = MatD::Zero(K, K);
                    gm.C = MatD::Zero(K, K);
                }
                gm.mean_q = Eigen::VectorXd::Zero(K);
                gm.mean_f = Eigen::VectorXd::Zero(K);
            }
            for (size_t bi = 0; bi < batches.size(); ++bi) {
                Tensor xq;
                detail::LayerTap tap;
                tap.before_node = [&](const Node& n, std::span<const Tensor* const> ins) {
                    if (&n - G.nodes.data() == v.node) xq = *ins[size_t(v.data_input)];
                };
                RunOptions ro;
                ro.active = &active;
                detail::run_program_tapped(model, batches[bi], ro, {}, &tap);
                for (float& x : xq.f) x = L.input.dequantize(L.input.quantize(x));
                for (int64_t g = 0; g < Gr; ++g) {
                    int64_t vq = 0, vf = 0;
                    const std::vector<float> rq = detail::layer_rows(L, G, xq, g, &vq);
                    const std::vector<float> rf = detail::layer_rows(L, G, float_in[i][bi], g, &vf);
                    Eigen::Map<const RowMat> Xq(rq.data(), vq, K), Xf(rf.data(), vf, K);
                    Gram& gm = grams[size_t(g)];
                    gm.mean_q += Xq.cast<double>().colwise().sum().transpose();
                    gm.mean_f += Xf.cast<double>().colwise().sum().transpose();
                    gm.rows += vq;
                    if (q.adaround) {
                        gm.H += (Xq.transpose() * Xq).cast<double>();
                        gm.C += (Xq.transpose() * Xf).cast<double>();
                    }
                }
            }
            const Tensor& W = weight_tensor(i);
            if (q.adaround && L.weight_mode == WeightMode::uniform && !model_weights[i]) {
                int64_t flipped = 0;
                for (int64_t g = 0; g < Gr; ++g)
                    flipped += adaround_layer(L, v, W, g, grams[size_t(g)], items, q.adaround_iterations);
                report.layers[i].adaround_flipped = flipped;
            }
            if (q.bias_correction && !model_weights[i]) {  // a QDQ model's bias stays as given
                double rms = 0;
                for (int64_t g = 0; g < Gr; ++g) {
                    const Gram& gm = grams[size_t(g)];
                    const Eigen::VectorXd mq = gm.mean_q / double(std::max<int64_t>(1, gm.rows));
                    const Eigen::VectorXd mf = gm.mean_f / double(std::max<int64_t>(1, gm.rows));
                    for (int64_t n = 0; n < L.N; ++n) {
                        const size_t o = size_t(g * L.N + n);
                        double yq = 0, yf = 0;
                        for (int64_t k = 0; k < K; ++k) {
                            const double wq = L.w_scale[o] * double(L.w[size_t((g * K + k) * L.N + n)] - L.w_zero_point[o]);
                            yq += mq[k] * wq;
                            yf += mf[k] * v.weight(W, g, k, n);
                        }
                        biases[i][o] -= yq - yf;
                        rms += (yq - yf) * (yq - yf);
                    }
                }
                report.layers[i].bias_correction_rms = std::sqrt(rms / double(std::max<int64_t>(1, Gr * L.N)));
            }
            set_bias_codes(L, biases[i], q.bias_bits);
            L.finalize(device);
            active[size_t(v.node)] = true;
            log("layer " + L.name + " refined");
            step();
        }
    }

    // ---- report ----
    for (size_t i = 0; i < nl; ++i) {
        const QuantLayer& L = model.layers[i];
        LayerReport& r = report.layers[i];
        r.name = L.name;
        r.op = L.op;
        r.K = L.K;
        r.N = L.N;
        r.groups = L.groups;
        r.weight_mode = L.weight_mode;
        r.weight_bits = L.weight_bits;
        r.activation_bits = L.input.bits;
        r.weight_qmax = L.weight_qmax;
        r.per_channel = model_weights[i] ? model_weights[i]->axis >= 0 : q.per_channel;
        r.weight_scale_min = *std::min_element(L.w_scale.begin(), L.w_scale.end());
        r.weight_scale_max = *std::max_element(L.w_scale.begin(), L.w_scale.end());
        r.weight_scales_pow2 = q.power_of_two_scales && !model_weights[i];
        r.activation_scale = L.input.scale;
        r.activation_zero_point = L.input.zero_point;
        r.activation_signed = L.input.is_signed;
        r.realization = L.input.realization;
        // Final codes (after AdaRound) for the weight statistics.
        const Tensor& W = weight_tensor(i);
        double sig = 0, noise = 0;
        for (int64_t g = 0; g < L.groups; ++g)
            for (int64_t k = 0; k < L.K; ++k)
                for (int64_t n = 0; n < L.N; ++n) {
                    const size_t o = size_t(g * L.N + n);
                    const double x = views[i].weight(W, g, k, n);
                    const double d = L.w_scale[o] * double(L.w[size_t((g * L.K + k) * L.N + n)] - L.w_zero_point[o]);
                    sig += x * x;
                    noise += (x - d) * (x - d);
                }
        r.weight_sqnr_db = sqnr_db(sig, noise);
        r.weight_clipped_fraction = wstats[i].count ? wstats[i].clipped / double(wstats[i].count) : 0.0;
        if (report.mixed_precision) {
            const auto& mp = *report.mixed_precision;
            for (size_t j = 0; j < mp.candidate_bits.size(); ++j)
                if (mp.candidate_bits[j] == L.weight_bits) r.arrays = mp.arrays_per_bits[i][j];
        }
    }
    if (options.report_sqnr && nl > 0) {
        auto measure = [&](const std::vector<bool>& active, std::vector<double>& sig, std::vector<double>& noise,
                           int only) {
            for (size_t bi = 0; bi < batches.size(); ++bi) {
                auto observe = [&](const Node& n, std::span<const Tensor> outs) {
                    const int li = view_of_node[size_t(&n - G.nodes.data())];
                    if (li < 0 || (only >= 0 && li != only)) return;
                    const Tensor& ref = float_out[size_t(li)][bi];
                    for (size_t k = 0; k < ref.f.size(); ++k) {
                        const double d = double(outs[0].f[k]) - ref.f[k];
                        sig[size_t(li)] += double(ref.f[k]) * ref.f[k];
                        noise[size_t(li)] += d * d;
                    }
                };
                RunOptions ro;
                ro.active = &active;
                run_program(model, batches[bi], ro, observe);
            }
        };
        std::vector<double> sig(nl, 0.0), noise(nl, 0.0);
        std::vector<bool> all(G.nodes.size(), true);
        measure(all, sig, noise, -1);
        step();
        for (size_t i = 0; i < nl; ++i) report.layers[i].output_sqnr_db = sqnr_db(sig[i], noise[i]);
        for (size_t i = 0; i < nl; ++i) {
            std::vector<bool> one(G.nodes.size(), false);
            one[size_t(views[i].node)] = true;
            std::vector<double> s1(nl, 0.0), n1(nl, 0.0);
            measure(one, s1, n1, int(i));
            report.layers[i].output_sqnr_alone_db = sqnr_db(s1[i], n1[i]);
            step();
        }
        log("report measured");
    }
    if (device.digital.arithmetic == DigitalArithmetic::integer) {
        std::vector<bool> on_arrays(G.nodes.size());
        for (size_t k = 0; k < on_arrays.size(); ++k) on_arrays[k] = result.model.layer_of_node[k] >= 0;
        const digital::DigitalPlan plan = digital::plan_digital_units(G, on_arrays);
        int count[5] = {0, 0, 0, 0, 0};
        for (const auto& u : plan.units) ++count[size_t(u.kind)];
        const DigitalSpec& ds = device.digital;
        auto n = [&](digital::UnitKind k) { return std::to_string(count[size_t(k)]); };
        auto fn = [](DigitalFunction f) { return std::string(f == DigitalFunction::lut ? "lut" : "fixed_point"); };
        report.notes.push_back("digital units in " + std::to_string(ds.activation_bits) + "-bit integer arithmetic (" +
                               std::to_string(ds.accumulator_bits) + "-bit sums, " + std::to_string(ds.matmul_bits) +
                               "-bit MatMul operands, softmax " + fn(ds.softmax) + ", GELU " + fn(ds.gelu) + "): " +
                               n(digital::UnitKind::softmax) + " softmax, " + n(digital::UnitKind::layernorm) +
                               " LayerNorm, " + n(digital::UnitKind::gelu) + " GELU, " + n(digital::UnitKind::matmul) +
                               " MatMul of two activations, " + n(digital::UnitKind::elementwise) +
                               " element-wise Add/Sub/Mul; the other digital ops in float");
    }
    report.seconds = seconds_since(t_start);
    return result;
}

}  // namespace cim::quant
