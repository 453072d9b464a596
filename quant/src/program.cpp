// The integer program's executor: the float executor with every active
// weight-stationary node replaced by input quantization, im2col, an integer MVM
// through the backend, and requantization.
#include "program_internal.h"

#include <cim/error.h>
#include <cim/ir/window.h>
#include <cim/quant/digital_units.h>

#include <algorithm>
#include <cmath>

namespace cim::quant {

namespace detail {

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Vectors per MVM call: RunOptions::call_bytes of rows and accumulators, at least
// kMinCallVectors, at most the chunk's `vectors`. Depends on shapes only, not threads.
int64_t call_vectors(const RunOptions& opt, int64_t rows, int64_t cols, int64_t vectors) {
    const int64_t per_vector = rows * int64_t(sizeof(int32_t)) + (cols + 1) * int64_t(sizeof(int64_t));
    return std::min(vectors, std::max(kMinCallVectors, opt.call_bytes / per_vector));
}

// Conv groups one backend call carries (MvmBackend::groups_per_call, within the layer's groups).
int64_t call_groups(const QuantLayer& L, const MvmBackend& backend, const LayerTap* tap) {
    const int64_t gpc = std::clamp<int64_t>(backend.groups_per_call(L), 1, L.groups);
    CIM_INTERNAL_CHECK(gpc == 1 || !(tap && tap->accumulators), "accumulator taps read one group per call");
    return gpc;
}

// One thread's buffers for calls of up to `vectors` vectors of `groups` groups: the array rows,
// the accumulators and each group's input sum per vector.
struct CallBuffers {
    std::vector<int32_t> rows;
    std::vector<int64_t> acc, qsum;
    CallBuffers(int64_t vectors, int64_t groups, int64_t R, int64_t N)
        : rows(size_t(vectors * groups * R)), acc(size_t(vectors * groups * N)), qsum(size_t(vectors * groups)) {}
};

// Convolution geometry, 1 to 3 spatial dims padded to 3.
// Input codes of one layer: quantizes a float tensor to logical codes.
void quantize_codes(const ActQuant& a, const float* x, int64_t count, int32_t* q) {
    const double inv = 1.0 / a.scale;
    const double z = a.zero_point, lo = a.code_min, hi = a.code_max;
#pragma omp parallel for schedule(static) if (count > 65536)
    for (int64_t i = 0; i < count; ++i) {
        double v = std::nearbyint(double(x[i]) * inv) + z;
        v = v >= lo ? (v <= hi ? v : hi) : lo;  // NaN -> lo
        q[i] = int32_t(v);
    }
}

}  // namespace

bool run_layer(const QuantLayer& L, const Node& node, std::span<const Tensor* const> in, std::span<Tensor> out,
               const RunOptions& opt, MvmBackend& backend, const LayerTap* tap) {
    if (L.op == OpKind::LSTM || L.op == OpKind::GRU || L.op == OpKind::RNN)
        return run_recurrent_layer(L, node, in, out, opt, backend, tap);
    const bool split = L.input.realization == InputRealization::pos_neg_split;
    const int64_t K = L.K, N = L.N, G = L.groups, R = L.rows();
    const Tensor& X = *in[size_t(L.data_input)];
    Tensor& Y = out[0];
    const int64_t total = X.numel();
    std::vector<int32_t> q(static_cast<size_t>(total));
    quantize_codes(L.input, X.f.data(), total, q.data());
    if (tap && tap->input_codes) tap->input_codes(L, X, q);
    const int64_t chunk = std::max(1, opt.chunk_items);

    if (node.op == OpKind::Conv) {
        const Tensor& W = *in[1];
        const Window geo = conv_window(node, X.shape, W.shape);
        CIM_INTERNAL_CHECK(geo.out_size() * X.shape[0] * W.shape[0] == Y.numel(), "conv output shape");
        const int64_t B = X.shape[0], Cin = X.shape[1], Cg = Cin / G, I3 = geo.in_size(), O3 = geo.out_size(),
                      K3 = geo.k_size(), M = G * N;
        CIM_INTERNAL_CHECK(Cg * K3 == K, "conv K");
        const int32_t pad = L.input.realization == InputRealization::offset ? L.input.zero_point : 0;
        const int64_t nchunks = ceil_div(B, chunk);
        // Groups read together (packed in one array): each vector carries the block's groups' rows.
        const int64_t gpc = call_groups(L, backend, tap);
        const int64_t cap = call_vectors(opt, gpc * R, gpc * N, std::min(chunk, B) * O3);
#pragma omp parallel
        {
            CallBuffers buf(cap, gpc, R, N);
            std::vector<int32_t>& xcol = buf.rows;
            std::vector<int64_t>& acc = buf.acc;
            std::vector<int64_t>& qsum = buf.qsum;
#pragma omp for schedule(dynamic)
            for (int64_t c = 0; c < nchunks; ++c) {
                const int64_t b0 = c * chunk, b1 = std::min(B, b0 + chunk), items = b1 - b0;
                for (int64_t g0 = 0; g0 < G; g0 += gpc) {
                    const int64_t gc = std::min(gpc, G - g0), Rb = gc * R, Nb = gc * N;
                    for (int64_t v0 = 0; v0 < items * O3; v0 += cap) {
                        const int64_t v1 = std::min(items * O3, v0 + cap), vectors = v1 - v0;
                        // im2col: one vector per output position, rows (c, kd, kh, kw) of each group.
                        for (int64_t v = v0; v < v1; ++v) {
                            const int64_t b = b0 + v / O3, o = v % O3;
                            for (int64_t i = 0; i < gc; ++i) {
                                const int32_t* xg = q.data() + (b * Cin + (g0 + i) * Cg) * I3;
                                int32_t* row = xcol.data() + (v - v0) * Rb + i * R;
                                int64_t sum = 0;
                                for_each_tap(geo, Cg, o, [&](int64_t k, int64_t at) {
                                    const int32_t val = at >= 0 ? xg[at] : pad;
                                    put_row(row, K, k, val, split);
                                    sum += val;
                                });
                                qsum[size_t((v - v0) * gc + i)] = sum;
                            }
                        }
                        backend.mvm(L, int(g0), xcol.data(), vectors, acc.data(), MvmContext{opt.first_item + b0, items, O3, v0});
                        if (tap && tap->accumulators) tap->accumulators(L, int(g0), xcol.data(), vectors, acc.data());
                        // Per image of the call, its run of output positions, channel by channel.
                        for (int64_t v = v0; v < v1;) {
                            const int64_t b = b0 + v / O3, o0 = v % O3, o1 = std::min(O3, o0 + (v1 - v));
                            for (int64_t i = 0; i < gc; ++i)
                                for (int64_t n = 0; n < N; ++n) {
                                    const int64_t g = g0 + i;
                                    float* y = Y.f.data() + (b * M + g * N + n) * O3;
                                    const int64_t* a = acc.data() + (v - v0) * Nb + i * N + n;
                                    const int64_t* s = qsum.data() + (v - v0) * gc + i;
                                    for (int64_t o = o0; o < o1; ++o)
                                        y[o] = float(L.requantize(g, n, a[(o - o0) * Nb], s[(o - o0) * gc]));
                                }
                            v += o1 - o0;
                        }
                    }
                }
            }
        }
        return true;
    }

    if (node.op == OpKind::ConvTranspose) {
        // Weight-stationary as the mapper places it: one vector per input position (its Cin/G
        // channels), N = (Cout/G) x kernel columns, scattered into the output (col2im) digitally,
        // then the per-channel bias (the columns' bias codes hold only a bias correction).
        const Tensor& W = *in[1];
        const Window geo = convtranspose_window(node, X.shape, W.shape);
        const int64_t B = X.shape[0], Cin = X.shape[1], I3 = geo.in_size(), O3 = geo.out_size(), K3 = geo.k_size();
        const int64_t Mg = N / K3, M = G * Mg;
        CIM_INTERNAL_CHECK(Cin == G * K && Mg * K3 == N && Y.numel() == B * M * O3, "convtranspose geometry");
        std::vector<int64_t> target(size_t(I3 * K3));
        for (int64_t i = 0; i < I3; ++i)
            for (int64_t t = 0; t < K3; ++t) target[size_t(i * K3 + t)] = transposed_target(geo, i, t);
        const Tensor* bias = node.has_input(2) && in.size() > 2 ? in[2] : nullptr;
        std::fill(Y.f.begin(), Y.f.end(), 0.0f);
        const int64_t nchunks = ceil_div(B, chunk);
        const int64_t gpc = call_groups(L, backend, tap);  // as for Conv
        const int64_t cap = call_vectors(opt, gpc * R, gpc * N, std::min(chunk, B) * I3);
#pragma omp parallel
        {
            CallBuffers buf(cap, gpc, R, N);
            std::vector<int32_t>& xrows = buf.rows;
            std::vector<int64_t>& acc = buf.acc;
            std::vector<int64_t>& qsum = buf.qsum;
#pragma omp for schedule(dynamic)
            for (int64_t c = 0; c < nchunks; ++c) {
                const int64_t b0 = c * chunk, b1 = std::min(B, b0 + chunk), items = b1 - b0;
                for (int64_t g0 = 0; g0 < G; g0 += gpc) {
                    const int64_t gc = std::min(gpc, G - g0), Rb = gc * R, Nb = gc * N;
                    for (int64_t v0 = 0; v0 < items * I3; v0 += cap) {
                        const int64_t v1 = std::min(items * I3, v0 + cap), vectors = v1 - v0;
                        for (int64_t v = v0; v < v1; ++v) {
                            const int64_t b = b0 + v / I3, i = v % I3;
                            for (int64_t gi = 0; gi < gc; ++gi) {
                                int32_t* row = xrows.data() + (v - v0) * Rb + gi * R;
                                int64_t sum = 0;
                                for (int64_t k = 0; k < K; ++k) {
                                    const int32_t val = q[size_t((b * Cin + (g0 + gi) * K + k) * I3 + i)];
                                    put_row(row, K, k, val, split);
                                    sum += val;
                                }
                                qsum[size_t((v - v0) * gc + gi)] = sum;
                            }
                        }
                        backend.mvm(L, int(g0), xrows.data(), vectors, acc.data(),
                                    MvmContext{opt.first_item + b0, items, I3, v0});
                        if (tap && tap->accumulators) tap->accumulators(L, int(g0), xrows.data(), vectors, acc.data());
                        for (int64_t v = v0; v < v1; ++v) {
                            const int64_t b = b0 + v / I3, i = v % I3, j = v - v0;
                            for (int64_t gi = 0; gi < gc; ++gi) {
                                const int64_t g = g0 + gi;
                                for (int64_t n = 0; n < N; ++n) {
                                    const int64_t o = target[size_t(i * K3 + n % K3)];
                                    if (o < 0) continue;
                                    Y.f[size_t((b * M + g * Mg + n / K3) * O3 + o)] +=
                                        float(L.requantize(g, n, acc[size_t(j * Nb + gi * N + n)], qsum[size_t(j * gc + gi)]));
                                }
                            }
                        }
                    }
                }
                if (bias)
                    for (int64_t b = b0; b < b1; ++b)
                        for (int64_t m = 0; m < M; ++m) {
                            float* y = Y.f.data() + (b * M + m) * O3;
                            for (int64_t o = 0; o < O3; ++o) y[o] += bias->f[size_t(m)];
                        }
            }
        }
        return true;
    }

    // Gemm / MatMul: gather vectors, one per output row (or column for a left constant).
    int64_t V = 0, per_item = 1, items_total = 1;
    // Vector j's element k lives at in_index(j, k); output (j, n) at out_index(j, n).
    int64_t P = 1;
    if (node.op == OpKind::Gemm) {
        V = L.trans_a ? X.shape[1] : X.shape[0];
        items_total = V;
    } else if (!L.const_left) {
        V = total / K;
        items_total = X.rank() >= 2 ? X.shape[0] : 1;
        per_item = V / items_total;
    } else {
        P = X.shape.back();
        V = total / K;
        items_total = X.rank() >= 3 ? X.shape[0] : 1;
        per_item = V / items_total;
    }
    auto in_index = [&](int64_t j, int64_t k) -> int64_t {
        if (node.op == OpKind::Gemm) return L.trans_a ? k * V + j : j * K + k;
        if (!L.const_left) return j * K + k;
        const int64_t b = j / P, p = j % P;
        return (b * K + k) * P + p;
    };
    auto out_index = [&](int64_t j, int64_t n) -> int64_t {
        if (!L.const_left) return j * N + n;
        const int64_t b = j / P, p = j % P;
        return (b * N + n) * P + p;
    };
    const int64_t chunk_vectors = chunk * per_item;
    const int64_t nchunks = ceil_div(V, chunk_vectors);
    const int64_t cap = call_vectors(opt, R, N, std::min(V, chunk_vectors));
#pragma omp parallel if (nchunks > 1)
    {
        CallBuffers buf(cap, 1, R, N);
        std::vector<int32_t>& xrows = buf.rows;
        std::vector<int64_t>& acc = buf.acc;
        std::vector<int64_t>& qsum = buf.qsum;
#pragma omp for schedule(dynamic)
        for (int64_t c = 0; c < nchunks; ++c) {
            const int64_t j0 = c * chunk_vectors, j1 = std::min(V, j0 + chunk_vectors);
            for (int64_t s0 = j0; s0 < j1; s0 += cap) {
                const int64_t s1 = std::min(j1, s0 + cap), vectors = s1 - s0;
                for (int64_t j = s0; j < s1; ++j) {
                    int32_t* row = xrows.data() + (j - s0) * R;
                    int64_t sum = 0;
                    for (int64_t k = 0; k < K; ++k) {
                        const int32_t val = q[size_t(in_index(j, k))];
                        put_row(row, K, k, val, split);
                        sum += val;
                    }
                    qsum[size_t(j - s0)] = sum;
                }
                backend.mvm(L, 0, xrows.data(), vectors, acc.data(),
                            MvmContext{opt.first_item + j0 / per_item, ceil_div(j1 - j0, per_item), per_item, s0 - j0});
                if (tap && tap->accumulators) tap->accumulators(L, 0, xrows.data(), vectors, acc.data());
                for (int64_t j = s0; j < s1; ++j)
                    for (int64_t n = 0; n < N; ++n)
                        Y.f[size_t(out_index(j, n))] =
                            float(L.requantize(0, n, acc[size_t((j - s0) * N + n)], qsum[size_t(j - s0)]));
            }
        }
    }
    (void)items_total;
    return true;
}

std::vector<float> layer_rows(const QuantLayer& L, const Graph& graph, const Tensor& X, int64_t group,
                              int64_t* vectors) {
    const Node& node = graph.nodes[size_t(L.node)];
    const int64_t K = L.K;
    std::vector<float> rows;
    if (node.op == OpKind::Conv) {
        const Window geo = conv_window(node, X.shape, graph.value(node.inputs[1]).shape);
        const int64_t B = X.shape[0], Cin = X.shape[1], Cg = Cin / L.groups, I3 = geo.in_size(), O3 = geo.out_size();
        rows.assign(size_t(B * O3 * K), 0.0f);
        for (int64_t b = 0; b < B; ++b) {
            const float* xg = X.f.data() + (b * Cin + group * Cg) * I3;
            for (int64_t o = 0; o < O3; ++o) {
                float* row = rows.data() + (b * O3 + o) * K;
                for_each_tap(geo, Cg, o, [&](int64_t k, int64_t at) { row[k] = at >= 0 ? xg[at] : 0.0f; });
            }
        }
        *vectors = B * O3;
        return rows;
    }
    if (node.op == OpKind::ConvTranspose) {  // one vector per input position
        const int64_t B = X.shape[0], Cin = X.shape[1], I3 = X.numel() / std::max<int64_t>(1, B * Cin);
        rows.assign(size_t(B * I3 * K), 0.0f);
        for (int64_t b = 0; b < B; ++b)
            for (int64_t i = 0; i < I3; ++i)
                for (int64_t k = 0; k < K; ++k)
                    rows[size_t((b * I3 + i) * K + k)] = X.f[size_t((b * Cin + group * K + k) * I3 + i)];
        *vectors = B * I3;
        return rows;
    }
    const int64_t total = X.numel();
    const int64_t V = total / K;
    rows.assign(size_t(V * K), 0.0f);
    if (node.op == OpKind::Gemm && L.trans_a) {
        for (int64_t j = 0; j < V; ++j)
            for (int64_t k = 0; k < K; ++k) rows[size_t(j * K + k)] = X.f[size_t(k * V + j)];
    } else if (L.const_left) {
        const int64_t P = X.shape.back();
        for (int64_t j = 0; j < V; ++j)
            for (int64_t k = 0; k < K; ++k) rows[size_t(j * K + k)] = X.f[size_t(((j / P) * K + k) * P + j % P)];
    } else {
        std::copy(X.f.begin(), X.f.end(), rows.begin());
    }
    *vectors = V;
    return rows;
}

}  // namespace detail

std::vector<Tensor> run_program(const QuantizedModel& model, const std::vector<Tensor>& inputs,
                                const RunOptions& options, const Executor::Observer& observer) {
    return detail::run_program_tapped(model, inputs, options, observer, nullptr);
}

namespace detail {

std::vector<Tensor> run_program_tapped(const QuantizedModel& model, const std::vector<Tensor>& inputs,
                                       const RunOptions& options, const Executor::Observer& observer,
                                       const LayerTap* tap) {
    ExactMvmBackend exact;
    MvmBackend& backend = options.backend ? *options.backend : static_cast<MvmBackend&>(exact);
    Executor exec(model.graph);
    const Graph* g = &model.graph;
    auto on_arrays = [&](size_t idx) {
        return idx < model.layer_of_node.size() && model.layer_of_node[idx] >= 0 &&
               (!options.active || (*options.active)[idx]);
    };
    // Integer digital units (device `digital.arithmetic: integer`): a unit's first node computes the
    // whole unit from its input, the chain's inner nodes are skipped, its last node hands the result on.
    const DigitalSpec& dspec = model.device.digital;
    digital::DigitalPlan plan;
    if (dspec.arithmetic == DigitalArithmetic::integer) {
        std::vector<bool> skip(g->nodes.size());
        for (size_t k = 0; k < skip.size(); ++k) skip[k] = on_arrays(k);
        plan = digital::plan_digital_units(*g, skip);
    }
    std::vector<Tensor> unit_result(plan.units.size());
    auto override_kernel = [&](const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out) -> bool {
        const size_t idx = size_t(&n - g->nodes.data());
        if (tap && tap->before_node) tap->before_node(n, in);
        if (!plan.empty() && plan.unit_of_node[idx] >= 0) {
            const int ui = plan.unit_of_node[idx];
            const digital::DigitalUnit& u = plan.units[size_t(ui)];
            const bool first = u.nodes.front() == int(idx), last = u.nodes.back() == int(idx);
            if (first && last) {
                return digital::run_unit(dspec, *g, u, *in[0], in.size() > 1 ? in[1] : nullptr, out[0]);
            } else if (first) {
                Tensor& y = unit_result[size_t(ui)];
                y = Tensor(ElemType::Float, in[0]->shape);
                CIM_INTERNAL_CHECK(digital::run_unit(dspec, *g, u, *in[0], nullptr, y), "digital unit shapes");
            } else if (last) {
                CIM_INTERNAL_CHECK(out[0].shape == unit_result[size_t(ui)].shape, "digital unit output shape");
                out[0] = std::move(unit_result[size_t(ui)]);
            }
            return true;
        }
        if (!on_arrays(idx)) return false;
        const int li = model.layer_of_node[idx];
        if (options.active && !(*options.active)[idx]) return false;
        if (tap && tap->before) tap->before(model.layers[size_t(li)], in);
        return run_layer(model.layers[size_t(li)], n, in, out, options, backend, tap);
    };
    return exec.run(inputs, observer, override_kernel);
}

}  // namespace detail

}  // namespace cim::quant
