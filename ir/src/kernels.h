// Internal: the semantics of every op, as a shape/type inference function and
// a float reference kernel. The same inference runs at import (static shapes,
// -1 for run-time dimensions) and in the executor (actual shapes), so the two
// cannot disagree.
#pragma once

#include <cim/error.h>
#include <cim/ir/graph.h>

#include <cmath>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace cim::kern {

// What is known of one input when inferring: type, shape and, if constant or
// at run time, its data.
struct InValue {
    bool present = false;
    ElemType type = ElemType::Undefined;
    Shape shape;
    bool rank_known = false;
    const Tensor* data = nullptr;
};

struct OutInfo {
    ElemType type = ElemType::Undefined;
    Shape shape;
    bool rank_known = true;
};

using InferFn = std::vector<OutInfo> (*)(const Node&, std::span<const InValue>, int opset);
// Outputs arrive allocated with the inferred type and shape.
using ComputeFn = void (*)(const Node&, std::span<const Tensor* const>, std::span<Tensor>, int opset);
// Returns "" when cimforge implements this node's configuration, else why not.
using CheckFn = std::string (*)(const Node&, int opset);

struct OpDef {
    InferFn infer = nullptr;
    ComputeFn compute = nullptr;
    CheckFn check = nullptr;  // optional
};

const OpDef& op_def(OpKind op);

// Registration from each kernel file.
void register_elementwise(OpDef* table);
void register_nn(OpDef* table);
void register_products(OpDef* table);
void register_shape(OpDef* table);
void register_rnn(OpDef* table);

// ---- helpers shared by kernel files ----
// A configuration cimforge does not implement (e.g. an integer Conv): the
// importer reports it with the other unsupported ops.
class Unsupported : public InputError {
public:
    Unsupported(std::string node_, std::string op_, std::string reason_, const std::string& msg)
        : InputError(msg), node(std::move(node_)), op(std::move(op_)), reason(std::move(reason_)) {}
    std::string node, op, reason;
};
// Run-time inputs as inference inputs (an absent one: not present), for kernels that reuse their
// op's inference on actual data.
InValue as_value(const Tensor* t);
std::vector<InValue> as_values(std::span<const Tensor* const> in);
[[noreturn]] void fail(const Node& n, const std::string& msg);
[[noreturn]] void unsupported(const Node& n, const std::string& reason);
// Throws Unsupported unless every present input is of a floating type.
void require_floating(const Node& n, std::span<const InValue> in, size_t count = 64);
Shape broadcast(const Node& n, const Shape& a, const Shape& b);
int64_t norm_axis(const Node& n, int64_t axis, int64_t rank);
inline OutInfo unknown_rank(ElemType t) { return OutInfo{t, {}, false}; }

// Integer tensors hold uint64 as its int64 bit pattern; comparing these keys orders
// uint64 values correctly (and leaves every other type as is).
inline int64_t order_key(int64_t v, ElemType t) {
    return t == ElemType::UInt64 ? int64_t(uint64_t(v) ^ (uint64_t(1) << 63)) : v;
}

// Position of the first (with last: the last) maximum or minimum of get(0) .. get(len - 1),
// len >= 1. NaN counts as the extreme, as in numpy's argmax/argmin, ONNX's reference.
template <class Get>
int64_t arg_extreme(int64_t len, bool is_max, bool last, Get&& get) {
    int64_t best = 0;
    auto bv = get(0);
    for (int64_t k = 1; k < len; ++k) {
        const auto v = get(k);
        bool take;
        if constexpr (std::is_floating_point_v<decltype(v)>) {
            if (std::isnan(bv)) {
                take = last && std::isnan(v);
                if (take) best = k;
                continue;
            }
            if (std::isnan(v)) take = true;
            else take = is_max ? v > bv : v < bv;
        } else {
            take = is_max ? v > bv : v < bv;
        }
        if (take || (last && v == bv)) {
            best = k;
            bv = v;
        }
    }
    return best;
}

}  // namespace cim::kern
