// Cross-layer equalization (Nagel et al., "Data-free quantization", 2019):
// for two weight-stationary layers joined only by positively homogeneous ops
// (ReLU, max pooling, flattening), output channel i of the first is divided by
// s_i and input channel i of the second multiplied by s_i, with
// s_i = sqrt(r1_i / r2_i) so both ranges become sqrt(r1_i r2_i). The float
// function is unchanged; per-tensor quantization loses much less.
#include <cim/error.h>
#include <cim/quant/quantizer.h>

#include <algorithm>
#include <cmath>
#include <memory>

namespace cim::quant {

namespace {

// f(a x) = a f(x) for a > 0, channel by channel: a per-channel scale passes through unchanged.
bool positively_homogeneous(const Node& n) {
    if (n.op == OpKind::Flatten) return n.attr_int("axis", 1) == 1;  // keeps each channel's values contiguous
    return n.op == OpKind::Relu || n.op == OpKind::MaxPool || n.op == OpKind::Identity || n.op == OpKind::Dropout;
}

}  // namespace

std::vector<std::string> equalize_cross_layer(Graph& g, bool keep_model_quantization) {
    std::vector<std::string> pairs;
    const auto views = find_mvm_layers(g);
    std::vector<int> view_of_node(g.nodes.size(), -1);
    for (size_t i = 0; i < views.size(); ++i) view_of_node[size_t(views[i].node)] = int(i);
    const auto consumers = g.consumers();
    struct Pair {
        size_t a, b;
        int64_t spatial;  // input features of b per channel of a (Flatten of C x H x W)
    };
    std::vector<Pair> found;
    for (size_t i = 0; i < views.size(); ++i) {
        const MvmView& va = views[i];
        if (va.op != OpKind::Conv && va.op != OpKind::Gemm) continue;
        if (va.op == OpKind::Gemm && va.trans_a) continue;
        int value = g.nodes[size_t(va.node)].outputs[0];
        int64_t spatial = 1;
        bool ok = true;
        int target = -1;
        for (int guard = 0; guard < 16 && ok; ++guard) {
            const auto& cons = consumers[size_t(value)];
            if (cons.size() != 1 || std::find(g.outputs.begin(), g.outputs.end(), value) != g.outputs.end()) {
                ok = false;
                break;
            }
            const Node& n = g.nodes[size_t(cons[0])];
            if (view_of_node[size_t(cons[0])] >= 0) {
                target = cons[0];
                break;
            }
            if (!positively_homogeneous(n)) {
                ok = false;
                break;
            }
            if (n.op == OpKind::Flatten) {
                const Shape& s = g.value(n.inputs[0]).shape;
                spatial = 1;
                for (size_t d = 2; d < s.size(); ++d) spatial *= s[d];
            }
            value = n.outputs[0];
        }
        if (!ok || target < 0) continue;
        const MvmView& vb = views[size_t(view_of_node[size_t(target)])];
        if (vb.is_recurrent()) continue;  // its rows mix inputs and hidden states
        if (vb.const_left || g.nodes[size_t(vb.node)].inputs[size_t(vb.data_input)] != value) continue;
        if (keep_model_quantization && (g.value(g.nodes[size_t(va.node)].inputs[1]).model_quantization ||
                                        g.value(g.nodes[size_t(vb.node)].inputs[size_t(vb.weight_input)]).model_quantization))
            continue;  // a QDQ model's codes are taken as given, not rescaled
        const int64_t channels = va.groups * va.N;
        // b's input features are (channel, spatial) for Conv -> Flatten -> Gemm, or
        // b's input channels (K = Cin/G * k) for Conv -> Conv.
        if (vb.op == OpKind::Conv) {
            const int64_t cin = vb.K / std::max<int64_t>(1, vb.K / 1) ;
            (void)cin;
            if (g.value(g.nodes[size_t(vb.node)].inputs[0]).shape.at(1) != channels) continue;
            spatial = 1;
        } else if (vb.op == OpKind::Gemm || vb.op == OpKind::MatMul) {
            if (vb.groups * vb.K != channels * spatial) continue;
        } else {
            continue;
        }
        found.push_back({i, size_t(view_of_node[size_t(target)]), spatial});
    }
    // A few sweeps: equalizing a pair changes the ranges its neighbours see.
    for (int sweep = 0; sweep < 4; ++sweep) {
        for (const Pair& p : found) {
            const MvmView& va = views[p.a];
            const MvmView& vb = views[p.b];
            const Node& na = g.nodes[size_t(va.node)];
            const Node& nb = g.nodes[size_t(vb.node)];
            Tensor wa = *g.constant(na.inputs[1]);
            Tensor wb = *g.constant(nb.inputs[size_t(vb.weight_input)]);
            std::shared_ptr<Tensor> ba;
            if (va.bias_input >= 0) ba = std::make_shared<Tensor>(*g.constant(na.inputs[size_t(va.bias_input)]));
            const int64_t C = va.groups * va.N;
            std::vector<double> r1(size_t(C), 0.0), r2(size_t(C), 0.0);
            for (int64_t ga = 0; ga < va.groups; ++ga)
                for (int64_t n = 0; n < va.N; ++n)
                    for (int64_t k = 0; k < va.K; ++k)
                        r1[size_t(ga * va.N + n)] = std::max<double>(r1[size_t(ga * va.N + n)], std::fabs(va.weight(wa, ga, k, n)));
            // Input channel c of b: Conv (group gb = c / Cg, k in [ (c % Cg) * K3, +K3 )); Gemm: k in [c*spatial, +spatial).
            auto for_input_channel = [&](int64_t c, auto&& fn) {
                if (vb.op == OpKind::Conv) {
                    const int64_t cin = C, cg = cin / vb.groups, k3 = vb.K / cg;
                    const int64_t gb = c / cg, ci = c % cg;
                    for (int64_t n = 0; n < vb.N; ++n)
                        for (int64_t kk = 0; kk < k3; ++kk) fn(gb, ci * k3 + kk, n);
                } else {
                    for (int64_t n = 0; n < vb.N; ++n)
                        for (int64_t s = 0; s < p.spatial; ++s) fn(int64_t(0), c * p.spatial + s, n);
                }
            };
            for (int64_t c = 0; c < C; ++c)
                for_input_channel(c, [&](int64_t gb, int64_t k, int64_t n) {
                    r2[size_t(c)] = std::max<double>(r2[size_t(c)], std::fabs(vb.weight(wb, gb, k, n)));
                });
            bool changed = false;
            for (int64_t c = 0; c < C; ++c) {
                if (!(r1[size_t(c)] > 0) || !(r2[size_t(c)] > 0)) continue;
                const double s = std::sqrt(r1[size_t(c)] / r2[size_t(c)]);
                if (std::fabs(s - 1.0) < 1e-6) continue;
                changed = true;
                const int64_t ga = c / va.N, n = c % va.N;
                for (int64_t k = 0; k < va.K; ++k) va.set_weight(wa, ga, k, n, float(va.weight(wa, ga, k, n) / s));
                if (ba) ba->f[size_t(c)] = float(ba->f[size_t(c)] / s);
                for_input_channel(c, [&](int64_t gb, int64_t k, int64_t n2) {
                    vb.set_weight(wb, gb, k, n2, float(vb.weight(wb, gb, k, n2) * s));
                });
            }
            if (!changed) continue;
            g.value(na.inputs[1]).constant = std::make_shared<const Tensor>(std::move(wa));
            g.value(nb.inputs[size_t(vb.weight_input)]).constant = std::make_shared<const Tensor>(std::move(wb));
            // Rescaled weights are no longer the codes a QDQ model gave.
            g.value(na.inputs[1]).model_quantization.reset();
            g.value(nb.inputs[size_t(vb.weight_input)]).model_quantization.reset();
            if (ba) g.value(na.inputs[size_t(va.bias_input)]).constant = ba;
        }
    }
    for (const Pair& p : found) pairs.push_back(g.nodes[size_t(views[p.a].node)].name + " -> " + g.nodes[size_t(views[p.b].node)].name);
    return pairs;
}

}  // namespace cim::quant
