// Which nodes are weight-stationary (the mapper's set) and their K x N view.
#include <cim/error.h>
#include <cim/quant/quantizer.h>

namespace cim::quant {

namespace {
int64_t prod(const Shape& s, size_t from = 0) {
    int64_t p = 1;
    for (size_t d = from; d < s.size(); ++d) p *= s[d];
    return p;
}
}  // namespace

float MvmView::weight(const Tensor& w, int64_t g, int64_t k, int64_t n) const {
    switch (op) {
        case OpKind::Conv: return w.f[size_t((g * N + n) * K + k)];
        default:
            if (left) return w.f[size_t(n * K + k)];
            return alpha * (trans ? w.f[size_t(n * K + k)] : w.f[size_t(k * N + n)]);
    }
}

void MvmView::set_weight(Tensor& w, int64_t g, int64_t k, int64_t n, float v) const {
    switch (op) {
        case OpKind::Conv: w.f[size_t((g * N + n) * K + k)] = v; return;
        default:
            if (left) {
                w.f[size_t(n * K + k)] = v;
                return;
            }
            (trans ? w.f[size_t(n * K + k)] : w.f[size_t(k * N + n)]) = v / alpha;
    }
}


std::vector<MvmView> find_mvm_layers(const Graph& g, std::vector<std::string>* skipped) {
    std::vector<MvmView> out;
    for (size_t idx = 0; idx < g.nodes.size(); ++idx) {
        const Node& n = g.nodes[idx];
        MvmView v;
        v.node = int(idx);
        v.op = n.op;
        const Tensor* w = n.inputs.size() > 1 ? g.constant(n.inputs[1]) : nullptr;
        const Tensor* a_const = !n.inputs.empty() ? g.constant(n.inputs[0]) : nullptr;
        auto skip = [&](const std::string& why) {
            if (skipped) skipped->push_back("node '" + n.name + "' (" + std::string(op_name(n.op)) + ") runs in float: " + why);
        };
        if (n.op == OpKind::Conv && w && !a_const) {
            if (!w->floating()) continue;
            const Shape& ws = w->shape;
            v.groups = n.attr_int("group", 1);
            v.K = prod(ws, 1);
            v.N = ws[0] / v.groups;
            if (n.has_input(2)) {
                const Tensor* b = g.constant(n.inputs[2]);
                if (!b) {
                    skip("its bias is not a constant");
                    continue;
                }
                v.bias_input = 2;
            }
        } else if (n.op == OpKind::Gemm && w && !a_const) {
            if (!w->floating()) continue;
            v.trans = n.attr_int("transB", 0);
            v.trans_a = n.attr_int("transA", 0);
            v.alpha = n.attr_float("alpha", 1.0f);
            v.beta = n.attr_float("beta", 1.0f);
            v.K = v.trans ? w->shape[1] : w->shape[0];
            v.N = v.trans ? w->shape[0] : w->shape[1];
            if (n.has_input(2) && v.beta != 0.0f) {
                const Tensor* c = g.constant(n.inputs[2]);
                const bool per_output = c && (c->numel() == v.N || c->numel() == 1) &&
                                        (c->rank() <= 1 || (c->rank() == 2 && c->shape[0] == 1));
                if (!per_output) {
                    skip("its C input is not a constant per-output bias");
                    continue;
                }
                v.bias_input = 2;
            }
        } else if (n.op == OpKind::MatMul && w && w->rank() == 2 && !a_const) {
            if (!w->floating()) continue;
            v.K = w->shape[0];
            v.N = w->shape[1];
        } else if (n.op == OpKind::MatMul && a_const && a_const->rank() == 2 && !w) {
            if (!a_const->floating()) continue;
            const Value& x = g.value(n.inputs[1]);
            if (!x.rank_known || x.shape.size() < 2) {
                skip("a constant left operand needs a data operand of rank >= 2");
                continue;
            }
            v.left = true;
            v.weight_input = 0;
            v.data_input = 1;
            v.K = a_const->shape[1];
            v.N = a_const->shape[0];
        } else if (n.op == OpKind::ConvTranspose && w && !a_const) {
            skip("ConvTranspose is not quantized yet (issue 5 covers Conv, Gemm and MatMul)");
            continue;
        } else {
            continue;
        }
        out.push_back(v);
    }
    return out;
}

}  // namespace cim::quant
