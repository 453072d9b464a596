#include <cim/error.h>
#include <cim/ir/op_traits.h>
#include <cim/ir/weight_stationary.h>

namespace cim {

namespace {

int64_t prod(const Shape& s, size_t from = 0) {
    int64_t p = 1;
    for (size_t d = from; d < s.size(); ++d) p *= s[d];
    return p;
}

int64_t known_numel(const Value& v) { return v.rank_known && shape_known(v.shape) ? shape_numel(v.shape) : 0; }

}  // namespace

namespace {

// Recurrent: where column n of the layer reads W's and R's gate rows (-1: a zero block).
// LSTM/RNN: column n is gate row n of both. GRU: z r stacked, then W_h alone, then R_h alone.
struct GateRows {
    int64_t w = -1, r = -1;
};
GateRows gate_rows(OpKind op, int64_t hidden, int64_t n) {
    if (op != OpKind::GRU || n < 2 * hidden) return {n, n};
    if (n < 3 * hidden) return {n, -1};
    return {-1, n - hidden};
}

}  // namespace

float WeightStationaryView::recurrent_bias(const Tensor* b, int64_t g, int64_t n) const {
    if (!b) return 0.0f;
    const int64_t gh = (op == OpKind::LSTM ? 4 : op == OpKind::GRU ? 3 : 1) * hidden;
    const GateRows at = gate_rows(op, hidden, n);
    float v = 0.0f;
    if (at.w >= 0) v += b->f[size_t(g * 2 * gh + at.w)];
    if (at.r >= 0) v += b->f[size_t(g * 2 * gh + gh + at.r)];
    return v;
}

int64_t WeightStationaryView::weight_index(int64_t g, int64_t k, int64_t n) const {
    if (is_recurrent()) throw InternalError("weight_index of a recurrent layer (its weights span W and R)");
    // Only the matmul-role ops of op_traits.cpp have a view.
    if (op == OpKind::Conv) return (g * N + n) * K + k;           // [G*N, K]
    if (op == OpKind::ConvTranspose) return (g * K + k) * N + n;  // [G*K, N]
    if (op == OpKind::Gemm) return trans_b ? n * K + k : k * N + n;
    if (op == OpKind::MatMul) return const_left ? n * K + k : k * N + n;
    throw InternalError("WeightStationaryView of a non-matmul op " + std::string(op_name(op)));
}

int WeightStationaryView::output_axis() const {
    if (op == OpKind::ConvTranspose) return -1;
    return op == OpKind::Conv || (op == OpKind::Gemm && trans_b) || (op == OpKind::MatMul && const_left) ? 0 : 1;
}

float WeightStationaryView::weight(const Tensor& w, int64_t g, int64_t k, int64_t n) const {
    if (is_recurrent()) {
        const int64_t gh = (op == OpKind::LSTM ? 4 : op == OpKind::GRU ? 3 : 1) * hidden;
        const GateRows at = gate_rows(op, hidden, n);
        if (k < recurrent_rows_from)
            return at.w < 0 ? 0.0f : w.f[size_t((g * gh + at.w) * recurrent_rows_from + k)];
        return at.r < 0 ? 0.0f : recurrent->f[size_t((g * gh + at.r) * hidden + k - recurrent_rows_from)];
    }
    const float v = w.f[size_t(weight_index(g, k, n))];
    return op == OpKind::Gemm ? alpha * v : v;
}

void WeightStationaryView::set_weight(Tensor& w, int64_t g, int64_t k, int64_t n, float v) const {
    if (is_recurrent()) throw InternalError("set_weight of a recurrent layer (its weights span W and R)");
    w.f[size_t(weight_index(g, k, n))] = op == OpKind::Gemm ? v / alpha : v;
}

namespace {

template <class No>
bool recurrent_view(const Graph& g, int idx, WeightStationaryView& v, No no) {
    const Node& n = g.nodes.at(size_t(idx));
    const Tensor* w = n.has_input(1) ? g.constant(n.inputs[1]) : nullptr;
    const Tensor* r = n.has_input(2) ? g.constant(n.inputs[2]) : nullptr;
    if (!w || !r) return no("its W or R is computed, not a constant: no weights to hold in arrays");
    if (!w->floating() || !r->floating() || w->rank() != 3 || r->rank() != 3) return no("its W and R are not float tensors of rank 3");
    if (n.has_input(3) && !g.constant(n.inputs[3])) return no("its bias B is computed, not a constant");
    const int64_t gates = n.op == OpKind::LSTM ? 4 : n.op == OpKind::GRU ? 3 : 1;
    v = WeightStationaryView{};
    v.node = idx;
    v.op = n.op;
    v.groups = w->shape[0];
    v.hidden = r->shape[2];
    v.recurrent_rows_from = w->shape[2];
    v.recurrent = r;
    v.K = w->shape[2] + v.hidden;
    v.N = (n.op == OpKind::GRU ? 4 : gates) * v.hidden;
    v.bias_input = n.has_input(3) ? 3 : -1;
    // Vectors: one per step and sequence (each direction reads its own, as its own group).
    const Value& x = g.value(n.inputs[0]);
    v.vectors = x.rank_known && x.shape.size() == 3 && x.shape[0] >= 0 && x.shape[1] >= 0 ? x.shape[0] * x.shape[1] : 0;
    return true;
}

}  // namespace

bool weight_stationary_view(const Graph& g, int idx, WeightStationaryView& v, std::string* why_not) {
    const Node& n = g.nodes.at(size_t(idx));
    auto no = [&](const std::string& why) {
        if (why_not) *why_not = why;
        return false;
    };
    if (why_not) why_not->clear();
    if (op_traits(n.op).role == OpRole::recurrent) return recurrent_view(g, idx, v, no);
    if (op_traits(n.op).role != OpRole::matmul) return false;
    v = WeightStationaryView{};
    v.node = idx;
    v.op = n.op;
    const Tensor* b_const = n.has_input(1) ? g.constant(n.inputs[1]) : nullptr;
    const Tensor* a_const = n.has_input(0) ? g.constant(n.inputs[0]) : nullptr;
    if (a_const && b_const) return no("both operands are constants");
    if (!a_const && !b_const) return no("two dynamic operands (e.g. attention QK^T, AV): no weights to hold in arrays");
    const Tensor* w = b_const ? b_const : a_const;
    if (!w->floating()) return no("its constant operand holds " + elem_type_name(w->type) + " values, not weights");
    auto constant_bias = [&](size_t k) {
        if (!n.has_input(k)) return true;
        if (!g.constant(n.inputs[k])) return no("its bias is computed, not a constant");
        v.bias_input = int(k);
        return true;
    };
    if (n.op == OpKind::Conv || n.op == OpKind::ConvTranspose) {
        if (!b_const) return no("its weight operand is not a constant");
        const Shape& ws = w->shape;
        if (ws.size() < 3) return no("its weight has rank " + std::to_string(ws.size()));
        v.groups = n.attr_int("group", 1);
        const Value& x = g.value(n.inputs[0]);
        if (n.op == OpKind::Conv) {
            v.K = prod(ws, 1);
            v.N = ws[0] / v.groups;
            const Value& y = g.value(n.outputs[0]);
            v.vectors = y.rank_known && shape_known(y.shape) ? prod(y.shape, 2) * y.shape[0] : 0;
        } else {
            v.K = ws[0] / v.groups;
            v.N = prod(ws, 1);
            v.vectors = x.rank_known && shape_known(x.shape) ? prod(x.shape, 2) * x.shape[0] : 0;
        }
        return constant_bias(2);
    }
    if (n.op == OpKind::Gemm) {
        if (!b_const) return no("a constant A operand (Gemm holds weights in B)");
        v.trans_b = n.attr_int("transB", 0);
        v.trans_a = n.attr_int("transA", 0);
        v.alpha = n.attr_float("alpha", 1.0f);
        v.beta = n.attr_float("beta", 1.0f);
        if (w->rank() != 2) return no("its B operand has rank " + std::to_string(w->rank()));
        v.K = v.trans_b ? w->shape[1] : w->shape[0];
        v.N = v.trans_b ? w->shape[0] : w->shape[1];
        const Value& a = g.value(n.inputs[0]);
        v.vectors =
            a.rank_known && a.shape.size() == 2 && a.shape[v.trans_a ? 1 : 0] >= 0 ? a.shape[v.trans_a ? 1 : 0] : 0;
        if (n.has_input(2) && v.beta != 0.0f) {
            const Tensor* c = g.constant(n.inputs[2]);
            const bool per_output =
                c && (c->numel() == v.N || c->numel() == 1) && (c->rank() <= 1 || (c->rank() == 2 && c->shape[0] == 1));
            if (!per_output) return no("its C input is not a constant per-output bias");
            v.bias_input = 2;
        }
        return true;
    }
    if (n.op == OpKind::MatMul) {
        if (w->rank() != 2)
            return no("its constant operand has rank " + std::to_string(w->rank()) + " (batched weights)");
        if (b_const) {
            v.K = w->shape[0];
            v.N = w->shape[1];
            const int64_t numel = known_numel(g.value(n.inputs[0]));
            v.vectors = numel / std::max<int64_t>(v.K, 1);
            return true;
        }
        const Value& x = g.value(n.inputs[1]);
        if (!x.rank_known || x.shape.size() < 2) return no("a constant left operand needs a data operand of rank >= 2");
        v.const_left = true;
        v.weight_input = 0;
        v.data_input = 1;
        v.K = w->shape[1];
        v.N = w->shape[0];
        v.vectors = known_numel(x) / std::max<int64_t>(v.K, 1);
        return true;
    }
    throw InternalError("op " + std::string(op_name(n.op)) + " has the matmul role but no weight-stationary view");
}

std::vector<WeightStationaryView> weight_stationary_layers(const Graph& g,
                                                           std::vector<NotWeightStationary>* not_stationary) {
    std::vector<WeightStationaryView> out;
    for (size_t idx = 0; idx < g.nodes.size(); ++idx) {
        WeightStationaryView v;
        std::string why;
        if (weight_stationary_view(g, int(idx), v, &why))
            out.push_back(v);
        else if (!why.empty() && not_stationary)
            not_stationary->push_back({int(idx), why});
    }
    return out;
}

}  // namespace cim
