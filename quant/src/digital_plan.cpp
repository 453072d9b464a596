// Which digital ops of a graph run as integer units, and running one unit on its tensors.
// PyTorch exports LayerNorm (before opset 17) and GELU as chains of element-wise ops; the chains
// are recognised whole, so the unit computes what the chip's LayerNorm or GELU unit would.
#include <cim/error.h>
#include <cim/quant/digital_units.h>

#include <algorithm>
#include <cmath>

namespace cim::quant::digital {

namespace {

struct Matcher {
    const Graph& g;
    const std::vector<std::vector<int>>& consumers;
    const std::vector<bool>& taken;

    const Node& node(int k) const { return g.nodes[size_t(k)]; }
    int out(int k) const { return node(k).outputs.empty() ? -1 : node(k).outputs[0]; }
    bool is_graph_output(int v) const { return std::find(g.outputs.begin(), g.outputs.end(), v) != g.outputs.end(); }
    // The only consumer of node k's output, when it has exactly one and is of `op`; else -1.
    int single(int k, OpKind op) const {
        const int v = out(k);
        if (v < 0 || is_graph_output(v)) return -1;
        const auto& c = consumers[size_t(v)];
        if (c.size() != 1 || node(c[0]).op != op || taken[size_t(c[0])]) return -1;
        return c[0];
    }
    // A scalar constant input of node k other than value `other`, or NaN.
    double scalar_operand(int k, int other) const {
        for (int in : node(k).inputs)
            if (in != other)
                if (const Tensor* t = g.constant(in); t && t->numel() == 1 && is_floating(t->type))
                    return double(t->f[0]);
        return std::nan("");
    }
    // The constant input of node k that is not `other` (-1 when none).
    int constant_operand(int k, int other) const {
        for (int in : node(k).inputs)
            if (in != other && g.constant(in) && is_floating(g.constant(in)->type)) return in;
        return -1;
    }
    bool uses(int k, int v) const {
        const auto& ins = node(k).inputs;
        return std::find(ins.begin(), ins.end(), v) != ins.end();
    }
    bool last_axis_reduce(int k) const {
        const Node& n = node(k);
        if (n.attr_int("keepdims", 1) != 1) return false;
        std::vector<int64_t> axes = n.attr_ints("axes");
        if (n.has_input(1)) {
            const Tensor* t = g.constant(n.inputs[1]);
            if (!t) return false;
            axes.assign(t->i.begin(), t->i.end());
        }
        const Value& x = g.value(n.inputs[0]);
        return axes.size() == 1 && x.rank_known && (axes[0] == -1 || axes[0] == int64_t(x.shape.size()) - 1);
    }

    // ReduceMean(x) -> Sub(x, m) -> Pow(d, 2) -> ReduceMean -> Add(eps) -> Sqrt -> Div(d, sd) [-> Mul(g) [-> Add(b)]].
    bool layernorm(int r1, DigitalUnit& u) const {
        if (!last_axis_reduce(r1)) return false;
        const int x = node(r1).inputs[0];
        const int sub = single(r1, OpKind::Sub);
        if (sub < 0 || node(sub).inputs != std::vector<int>{x, out(r1)}) return false;
        const int d = out(sub);
        if (is_graph_output(d) || consumers[size_t(d)].size() != 2) return false;
        int pw = -1, dv = -1;
        for (int c : consumers[size_t(d)]) {
            if (node(c).op == OpKind::Pow) pw = c;
            if (node(c).op == OpKind::Div) dv = c;
        }
        if (pw < 0 || dv < 0 || node(pw).inputs[0] != d || scalar_operand(pw, d) != 2.0) return false;
        const int r2 = single(pw, OpKind::ReduceMean);
        if (r2 < 0 || !last_axis_reduce(r2)) return false;
        const int add = single(r2, OpKind::Add);
        if (add < 0) return false;
        const double eps = scalar_operand(add, out(r2));
        const int sq = single(add, OpKind::Sqrt);
        if (!(eps >= 0) || sq < 0 || single(sq, OpKind::Div) != dv || node(dv).inputs != std::vector<int>{d, out(sq)})
            return false;
        u = DigitalUnit{};
        u.kind = UnitKind::layernorm;
        u.input = x;
        u.epsilon = float(eps);
        u.nodes = {r1, sub, pw, r2, add, sq, dv};
        int last = dv;
        if (const int mul = single(dv, OpKind::Mul); mul >= 0 && (u.gamma = constant_operand(mul, out(dv))) >= 0) {
            u.nodes.push_back(mul);
            last = mul;
            if (const int ad = single(mul, OpKind::Add); ad >= 0 && (u.beta = constant_operand(ad, out(mul))) >= 0) {
                u.nodes.push_back(ad);
                last = ad;
            }
        }
        u.output = out(last);
        return true;
    }

    // Add, Sub or Mul of two float operands, at least one an activation; two activations of one shape.
    bool elementwise(int k, DigitalUnit& u) const {
        const Node& n = node(k);
        if (n.inputs.size() != 2 || n.inputs[0] < 0 || n.inputs[1] < 0) return false;
        const Value& a = g.value(n.inputs[0]);
        const Value& b = g.value(n.inputs[1]);
        const bool ca = g.constant(n.inputs[0]) != nullptr, cb = g.constant(n.inputs[1]) != nullptr;
        if (!is_floating(a.type) || !is_floating(b.type) || (ca && cb) || !a.rank_known || !b.rank_known) return false;
        if (!ca && !cb && a.shape != b.shape) return false;
        u = DigitalUnit{};
        u.kind = UnitKind::elementwise;
        u.op = n.op;
        u.input = n.inputs[0];
        u.input_b = n.inputs[1];
        u.nodes = {k};
        u.output = out(k);
        return true;
    }

    // Div(x, sqrt 2) (or Mul(x, 1/sqrt 2)) -> Erf -> Add(1) -> Mul(x, .) -> Mul(0.5).
    bool gelu(int k, DigitalUnit& u) const {
        const Node& n0 = node(k);
        if (n0.inputs.size() != 2) return false;
        const int x = n0.inputs[0];
        const double c = scalar_operand(k, x);
        const bool scaled = n0.op == OpKind::Div ? std::fabs(c - std::sqrt(2.0)) < 1e-4
                                                 : n0.op == OpKind::Mul && std::fabs(c - std::sqrt(0.5)) < 1e-4;
        if (!scaled) return false;
        const int erf = single(k, OpKind::Erf);
        const int one = erf >= 0 ? single(erf, OpKind::Add) : -1;
        if (one < 0 || scalar_operand(one, out(erf)) != 1.0) return false;
        const int m1 = single(one, OpKind::Mul);
        if (m1 < 0 || !uses(m1, x) || !uses(m1, out(one))) return false;
        const int m2 = single(m1, OpKind::Mul);
        if (m2 < 0 || scalar_operand(m2, out(m1)) != 0.5) return false;
        u = DigitalUnit{};
        u.kind = UnitKind::gelu;
        u.input = x;
        u.nodes = {k, erf, one, m1, m2};
        u.output = out(m2);
        return true;
    }
};

}  // namespace

DigitalPlan plan_digital_units(const Graph& g, const std::vector<bool>& skip) {
    DigitalPlan plan;
    plan.unit_of_node.assign(g.nodes.size(), -1);
    const auto consumers = g.consumers();
    std::vector<bool> taken(g.nodes.size(), false);
    for (size_t k = 0; k < skip.size() && k < taken.size(); ++k) taken[k] = skip[k];
    const Matcher m{g, consumers, taken};
    for (size_t k = 0; k < g.nodes.size(); ++k) {
        if (taken[k]) continue;
        const Node& n = g.nodes[k];
        DigitalUnit u;
        bool ok = false;
        if (n.op == OpKind::Softmax) {
            u.kind = UnitKind::softmax;
            u.input = n.inputs[0];
            u.axis = n.attr_int("axis", g.opset >= 13 ? -1 : 1);
            u.nodes = {int(k)};
            u.output = n.outputs[0];
            ok = g.value(u.input).rank_known;
        } else if (n.op == OpKind::LayerNormalization) {
            const Value& x = g.value(n.inputs[0]);
            const int64_t axis = n.attr_int("axis", -1);
            ok = x.rank_known && (axis == -1 || axis == int64_t(x.shape.size()) - 1) && n.has_input(1) &&
                 g.constant(n.inputs[1]) && (!n.has_input(2) || g.constant(n.inputs[2]));
            for (size_t o = 1; o < n.outputs.size(); ++o) ok = ok && n.outputs[o] < 0;  // no mean/inv-std outputs
            u.kind = UnitKind::layernorm;
            u.input = n.inputs[0];
            u.gamma = n.inputs[1];
            u.beta = n.has_input(2) ? n.inputs[2] : -1;
            u.epsilon = n.attr_float("epsilon", 1e-5f);
            u.nodes = {int(k)};
            u.output = n.outputs[0];
        } else if (n.op == OpKind::MatMul) {
            const Value& a = g.value(n.inputs[0]);
            const Value& b = g.value(n.inputs[1]);
            // Two activations with the same batch dimensions (attention's QK^T and AV).
            ok = !g.constant(n.inputs[0]) && !g.constant(n.inputs[1]) && a.rank_known && b.rank_known &&
                 a.shape.size() >= 3 && a.shape.size() == b.shape.size() &&
                 std::equal(a.shape.begin(), a.shape.end() - 2, b.shape.begin());
            u.kind = UnitKind::matmul;
            u.input = n.inputs[0];
            u.input_b = n.inputs[1];
            u.nodes = {int(k)};
            u.output = n.outputs[0];
        } else if (n.op == OpKind::ReduceMean) {
            ok = m.layernorm(int(k), u);
        } else if (n.op == OpKind::Div || n.op == OpKind::Mul) {
            ok = m.gelu(int(k), u);
        }  // every other op stays in float
        if (!ok && (n.op == OpKind::Add || n.op == OpKind::Sub || n.op == OpKind::Mul)) ok = m.elementwise(int(k), u);
        if (!ok) continue;
        const int id = int(plan.units.size());
        for (int c : u.nodes) {
            plan.unit_of_node[size_t(c)] = id;
            taken[size_t(c)] = true;
        }
        plan.units.push_back(std::move(u));
    }
    return plan;
}

bool run_unit(const DigitalSpec& spec, const Graph& g, const DigitalUnit& u, const Tensor& x, const Tensor* x_b,
              Tensor& y) {
    const int64_t B = x.rank() >= 2 ? x.shape[0] : 1;  // images: one scale per image
    const int64_t per_item = x.numel() / std::max<int64_t>(1, B);
    auto item_scale = [&](const Tensor& t, int64_t b, int bits) {
        const int64_t m = t.numel() / std::max<int64_t>(1, B);
        return symmetric_scale(std::span<const float>(t.f.data() + b * m, size_t(m)), bits);
    };
    const int bits = spec.activation_bits;
    switch (u.kind) {
        case UnitKind::softmax: {
            const int64_t r = x.rank();
            int64_t axis = u.axis < 0 ? u.axis + r : u.axis;
            CIM_INTERNAL_CHECK(axis >= 0 && axis < r, "softmax axis");
            int64_t outer = 1, len = 1, inner = 1;
            for (int64_t d = 0; d < axis; ++d) outer *= x.shape[size_t(d)];
            if (g.opset >= 13) {
                len = x.shape[size_t(axis)];
                for (int64_t d = axis + 1; d < r; ++d) inner *= x.shape[size_t(d)];
            } else {
                for (int64_t d = axis; d < r; ++d) len *= x.shape[size_t(d)];
            }
            const double top = double((int64_t(1) << bits) - 1);
            std::vector<int32_t> q(static_cast<size_t>(len * inner)), p(static_cast<size_t>(len * inner));
            const bool per_image = axis >= 1;
            const double whole = per_image ? 0 : symmetric_scale(x.f, bits);
            const int64_t rows_per_item = std::max<int64_t>(1, outer / B);
            double s = whole;
            for (int64_t o = 0; o < outer; ++o) {
                const float* xs = x.f.data() + o * len * inner;
                if (per_image && o % rows_per_item == 0) s = item_scale(x, o / rows_per_item, bits);
                for (int64_t i = 0; i < len * inner; ++i) q[size_t(i)] = to_code(xs[i], s, bits);
                for (int64_t i = 0; i < inner; ++i) softmax_row(spec, q.data() + i, len, inner, s, p.data() + i, inner);
                float* ys = y.f.data() + o * len * inner;
                for (int64_t i = 0; i < len * inner; ++i) ys[i] = float(double(p[size_t(i)]) / top);
            }
            return true;
        }
        case UnitKind::layernorm: {
            const int64_t n = x.shape.back(), rows = x.numel() / std::max<int64_t>(1, n);
            const Tensor* gt = g.constant(u.gamma);
            const Tensor* bt = g.constant(u.beta);
            const LayerNormParams P = layernorm_params(
                spec, gt ? std::span<const float>(gt->f) : std::span<const float>(),
                bt ? std::span<const float>(bt->f) : std::span<const float>(), n);
            std::vector<int32_t> q(static_cast<size_t>(n));
            std::vector<int64_t> o(static_cast<size_t>(n));
            const int64_t rows_per_item = std::max<int64_t>(1, rows / B);
            double s = 1;
            for (int64_t row = 0; row < rows; ++row) {
                if (row % rows_per_item == 0) s = item_scale(x, row / rows_per_item, bits);
                const float* xs = x.f.data() + row * n;
                for (int64_t k = 0; k < n; ++k) q[size_t(k)] = to_code(xs[k], s, bits);
                layernorm_row(spec, P, q.data(), n, s, u.epsilon, o.data());
                float* ys = y.f.data() + row * n;
                for (int64_t k = 0; k < n; ++k) ys[k] = float(double(o[size_t(k)]) * P.out_scale);
            }
            return true;
        }
        case UnitKind::gelu: {
            std::vector<int32_t> q(static_cast<size_t>(per_item));
            for (int64_t b = 0; b < B; ++b) {
                const double s = item_scale(x, b, bits);
                const float* xs = x.f.data() + b * per_item;
                for (int64_t k = 0; k < per_item; ++k) q[size_t(k)] = to_code(xs[k], s, bits);
                gelu(spec, q.data(), per_item, s, y.f.data() + b * per_item);
            }
            return true;
        }
        case UnitKind::matmul: {
            CIM_INTERNAL_CHECK(x_b != nullptr, "matmul unit without its second operand");
            const Tensor& b_t = *x_b;
            const int64_t r = x.rank();
            if (r < 3 || b_t.rank() != r || !std::equal(x.shape.begin(), x.shape.end() - 2, b_t.shape.begin()))
                return false;
            const int64_t M = x.shape[size_t(r - 2)], K = x.shape[size_t(r - 1)], N = b_t.shape[size_t(r - 1)];
            CIM_INTERNAL_CHECK(b_t.shape[size_t(r - 2)] == K && y.numel() == x.numel() / K * N, "matmul unit shapes");
            const int64_t mats = x.numel() / (M * K), mats_per_item = std::max<int64_t>(1, mats / B);
            const int mb = spec.matmul_bits;
            std::vector<int32_t> qa(static_cast<size_t>(M * K)), qb(static_cast<size_t>(K * N));
            double sa = 1, sb = 1;
            for (int64_t t = 0; t < mats; ++t) {
                if (t % mats_per_item == 0) {
                    sa = item_scale(x, t / mats_per_item, mb);
                    sb = item_scale(b_t, t / mats_per_item, mb);
                }
                const float* a = x.f.data() + t * M * K;
                const float* bm = b_t.f.data() + t * K * N;
                for (int64_t i = 0; i < M * K; ++i) qa[size_t(i)] = to_code(a[i], sa, mb);
                for (int64_t i = 0; i < K * N; ++i) qb[size_t(i)] = to_code(bm[i], sb, mb);
                float* out = y.f.data() + t * M * N;
                for (int64_t i = 0; i < M; ++i)
                    for (int64_t j = 0; j < N; ++j) {
                        int64_t acc = 0;
                        for (int64_t k = 0; k < K; ++k) acc += int64_t(qa[size_t(i * K + k)]) * qb[size_t(k * N + j)];
                        out[i * N + j] = float(double(saturate(acc, spec.accumulator_bits)) * sa * sb);
                    }
            }
            return true;
        }
        case UnitKind::elementwise: {
            CIM_INTERNAL_CHECK(x_b != nullptr, "element-wise unit without its second operand");
            return elementwise(spec, u.op, x, g.constant(u.input) != nullptr, *x_b, g.constant(u.input_b) != nullptr, y);
        }
    }
    return false;
}

}  // namespace cim::quant::digital
