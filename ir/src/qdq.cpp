// A QDQ model's own quantization: what a DequantizeLinear says about the codes behind a
// weight (recorded when the importer folds it) or an activation (read from the graph).
#include "qdq.h"

#include <cim/ir/graph.h>

#include <algorithm>
#include <cmath>
#include <iterator>

namespace cim {

namespace {

bool is_code_type(ElemType t) { return t == ElemType::Int8 || t == ElemType::UInt8; }

// Ops whose every output element is one of their first input's elements (or, for ReLU, 0,
// which is on every grid): a value on a quantization grid stays on it.
bool keeps_grid(const Graph& g, const Node& n) {
    static constexpr OpKind kMoves[] = {OpKind::Reshape, OpKind::Flatten,  OpKind::Squeeze,      OpKind::Unsqueeze,
                                        OpKind::Transpose, OpKind::Identity, OpKind::Dropout,     OpKind::MaxPool,
                                        OpKind::GlobalMaxPool, OpKind::Relu, OpKind::Slice,       OpKind::Gather,
                                        OpKind::Split,   OpKind::Expand,   OpKind::Tile,         OpKind::DepthToSpace,
                                        OpKind::SpaceToDepth};
    if (std::find(std::begin(kMoves), std::end(kMoves), n.op) != std::end(kMoves)) return true;
    if (n.op != OpKind::Pad) return false;
    // Edge and reflect pads repeat elements; a constant pad must add 0.
    if (n.attr_string("mode", "constant") != "constant") return true;
    if (n.has_input(2)) {
        const Tensor* v = g.constant(n.inputs[2]);
        return v && v->numel() == 1 && v->get(0) == 0;
    }
    return n.attr_float("value", 0.0f) == 0.0f;
}

}  // namespace

std::optional<ModelQuantization> dequantize_grid(const Node& n, ElemType code_type, int64_t rank, const Tensor* scale,
                                                 const Tensor* zero_point) {
    if (n.op != OpKind::DequantizeLinear || !is_code_type(code_type) || !scale || !scale->floating()) return std::nullopt;
    if (n.has_input(2) && !zero_point) return std::nullopt;  // a zero point computed at run time
    ModelQuantization m;
    m.node = n.name;
    m.code_type = code_type;
    m.code_min = code_type == ElemType::UInt8 ? 0 : -128;
    m.code_max = code_type == ElemType::UInt8 ? 255 : 127;
    const int64_t channels = scale->numel();
    const bool per_tensor = scale->rank() == 0 || (scale->rank() == 1 && channels == 1);
    if (!per_tensor) {
        int64_t axis = n.attr_int("axis", 1);
        if (axis < 0) axis += rank;
        if (axis < 0 || axis >= rank) return std::nullopt;  // shape inference reports the node
        m.axis = axis;
    }
    for (int64_t c = 0; c < channels; ++c) {
        m.scale.push_back(float(scale->get(c)));
        m.zero_point.push_back(zero_point ? int32_t(zero_point->get_int(zero_point->numel() == 1 ? 0 : c)) : 0);
    }
    return m;
}

std::optional<ModelQuantization> activation_quantization(const Graph& g, int value) {
    while (value >= 0) {
        const Value& v = g.value(value);
        if (v.constant || v.producer < 0) return std::nullopt;
        const Node& n = g.nodes[size_t(v.producer)];
        if (n.op != OpKind::DequantizeLinear) {
            if (!keeps_grid(g, n) || !n.has_input(0)) return std::nullopt;
            value = n.inputs[0];
            continue;
        }
        if (!n.has_input(0) || !n.has_input(1)) return std::nullopt;
        const Value& x = g.value(n.inputs[0]);
        if (!x.rank_known) return std::nullopt;
        auto m = dequantize_grid(n, x.type, int64_t(x.shape.size()), g.constant(n.inputs[1]),
                                 n.has_input(2) ? g.constant(n.inputs[2]) : nullptr);
        if (!m) return std::nullopt;
        // Codes narrower than the type: QuantizeLinear -> Clip(lo, hi) -> DequantizeLinear (Brevitas).
        if (x.producer >= 0) {
            const Node& clip = g.nodes[size_t(x.producer)];
            if (clip.op == OpKind::Clip) {
                const Tensor* lo = clip.has_input(1) ? g.constant(clip.inputs[1]) : nullptr;
                const Tensor* hi = clip.has_input(2) ? g.constant(clip.inputs[2]) : nullptr;
                if (lo && lo->numel() == 1) m->code_min = std::max<int32_t>(m->code_min, int32_t(std::ceil(lo->get(0))));
                if (hi && hi->numel() == 1) m->code_max = std::min<int32_t>(m->code_max, int32_t(std::floor(hi->get(0))));
            }
        }
        return m;
    }
    return std::nullopt;
}

StoredCodeRange stored_code_range(const ModelQuantization& m) {
    StoredCodeRange r;
    if (m.codes.empty()) return r;
    const auto [lo, hi] = std::minmax_element(m.codes.begin(), m.codes.end());
    const bool symmetric = std::all_of(m.zero_point.begin(), m.zero_point.end(), [](int32_t z) { return z == 0; });
    r.shift = symmetric ? 0 : int32_t(std::floor((double(*lo) + double(*hi)) / 2.0 + 0.5));
    r.min = std::min<int64_t>(0, int64_t(*lo) - r.shift);
    r.max = std::max<int64_t>(0, int64_t(*hi) - r.shift);
    return r;
}

}  // namespace cim
