// The op-traits table: one exhaustive switch over OpKind (no default, so -Wswitch names any op
// added to CIM_OP_LIST and not classified here).
#include <cim/error.h>
#include <cim/ir/graph.h>
#include <cim/ir/op_traits.h>

#include <array>

namespace cim {

namespace {

constexpr OpTraits traits_of(OpKind op) {
    using R = OpRole;
    using S = SignRule;
    using C = DigitalCost;
    switch (op) {
        case OpKind::Conv: case OpKind::ConvTranspose: case OpKind::Gemm: case OpKind::MatMul:
            return {R::matmul, S::any, C::matmul};
        // Per gate value: the two bias adds, the activation and the state update.
        case OpKind::RNN: case OpKind::GRU: case OpKind::LSTM:
            return {R::recurrent, S::any, C::recurrent, 4};

        // Element-wise arithmetic that can change the sign.
        case OpKind::Sub: case OpKind::Pow: case OpKind::Neg: case OpKind::Log: case OpKind::HardSwish:
        case OpKind::Mish: case OpKind::Sin: case OpKind::Cos: case OpKind::Tan: case OpKind::Mod:
        case OpKind::Shrink: case OpKind::Where:
            return {R::elementwise, S::any, C::per_output, 1};
        // Non-negative whatever the input.
        case OpKind::Relu: case OpKind::Sigmoid: case OpKind::HardSigmoid: case OpKind::Abs: case OpKind::Exp:
        case OpKind::Sqrt: case OpKind::Softplus: case OpKind::Acos: case OpKind::Cosh: case OpKind::Acosh:
        case OpKind::IsNaN: case OpKind::IsInf: case OpKind::Equal: case OpKind::Less: case OpKind::Greater:
        case OpKind::LessOrEqual: case OpKind::GreaterOrEqual: case OpKind::Not: case OpKind::And: case OpKind::Or:
        case OpKind::Xor:
            return {R::elementwise, S::nonnegative, C::per_output, 1};
        // Odd or monotone through the origin: the sign of the input survives.
        case OpKind::Reciprocal: case OpKind::Floor: case OpKind::Ceil: case OpKind::Round: case OpKind::LeakyRelu:
        case OpKind::PRelu: case OpKind::Elu: case OpKind::Selu: case OpKind::Celu: case OpKind::Softsign:
        case OpKind::Tanh: case OpKind::Erf: case OpKind::Sign: case OpKind::Asin: case OpKind::Atan:
        case OpKind::Sinh: case OpKind::Asinh: case OpKind::Atanh:
            return {R::elementwise, S::follows_first, C::per_output, 1};
        case OpKind::Add: case OpKind::Mul: case OpKind::Div: case OpKind::Min: case OpKind::Max: case OpKind::Sum:
        case OpKind::Mean:
            return {R::elementwise, S::follows_all, C::per_output, 1};
        case OpKind::Clip: case OpKind::ThresholdedRelu:
            return {R::elementwise, S::by_attributes, C::per_output, 1};
        // A code stands for the real value (q - zero_point) * scale; its sign follows the input's
        // (rounding is monotone and the zero point is a code), and uint8 with zero point 0 is never negative.
        case OpKind::QuantizeLinear:
            return {R::elementwise, S::follows_first, C::per_output, 2};
        case OpKind::DequantizeLinear:
            return {R::elementwise, S::by_attributes, C::per_output, 2};

        case OpKind::Softmax: return {R::reduction, S::nonnegative, C::per_output, 3};  // exp, sum, divide
        case OpKind::LogSoftmax: return {R::reduction, S::any, C::per_output, 3};
        case OpKind::Hardmax: return {R::reduction, S::nonnegative, C::per_output, 1};

        case OpKind::MaxPool: case OpKind::AveragePool:
            return {R::window, S::follows_first, C::window};
        case OpKind::GlobalAveragePool: case OpKind::GlobalMaxPool: case OpKind::ReduceMean: case OpKind::ReduceSum:
        case OpKind::ReduceMax: case OpKind::ReduceMin: case OpKind::ReduceProd:
            return {R::reduction, S::follows_first, C::per_input, 1};
        case OpKind::ReduceL1: return {R::reduction, S::nonnegative, C::per_input, 2};
        case OpKind::ReduceL2: case OpKind::ReduceSumSquare: return {R::reduction, S::nonnegative, C::per_input, 2};
        case OpKind::ReduceLogSum: case OpKind::ReduceLogSumExp: return {R::reduction, S::any, C::per_input, 2};
        case OpKind::ArgMax: case OpKind::ArgMin: return {R::reduction, S::nonnegative, C::per_input, 1};
        case OpKind::CumSum: return {R::reduction, S::follows_first, C::per_output, 1};

        case OpKind::LayerNormalization: case OpKind::InstanceNormalization:
            return {R::normalization, S::any, C::per_output, 5};  // mean, variance, subtract, divide, affine
        case OpKind::LRN: return {R::normalization, S::follows_first, C::per_output, 5};
        case OpKind::BatchNormalization: return {R::normalization, S::any, C::per_output, 2};

        // Views: the same buffer under another shape.
        case OpKind::Flatten: case OpKind::Reshape: case OpKind::Squeeze: case OpKind::Unsqueeze: case OpKind::Identity:
        case OpKind::Dropout:
            return {R::view, S::follows_first, C::none};
        // Data movement: order-preserving, no arithmetic.
        case OpKind::Transpose: case OpKind::Split: case OpKind::Slice: case OpKind::Gather: case OpKind::GatherElements:
        case OpKind::Expand: case OpKind::DepthToSpace: case OpKind::SpaceToDepth: case OpKind::Cast:
        case OpKind::CastLike: case OpKind::Tile: case OpKind::Trilu:
            return {R::data_movement, S::follows_first, C::none};
        case OpKind::Concat: return {R::data_movement, S::follows_all, C::none};
        case OpKind::Pad: return {R::data_movement, S::by_attributes, C::none};     // the pad value
        case OpKind::Resize: return {R::data_movement, S::by_attributes, C::resize};  // cubic overshoots

        case OpKind::Shape: case OpKind::Size: case OpKind::EyeLike:
            return {R::constant, S::nonnegative, C::none};
        case OpKind::ConstantOfShape: return {R::constant, S::by_attributes, C::none};  // its value
        case OpKind::Range: case OpKind::Constant: return {R::constant, S::any, C::none};

        case OpKind::Count: break;
    }
    return {};
}

constexpr std::array<OpTraits, size_t(OpKind::Count)> make_table() {
    std::array<OpTraits, size_t(OpKind::Count)> t{};
    for (size_t k = 0; k < t.size(); ++k) t[k] = traits_of(OpKind(k));
    return t;
}

constexpr auto kTable = make_table();

int64_t prod_from(const Shape& s, size_t from) {
    int64_t p = 1;
    for (size_t d = from; d < s.size(); ++d) p *= s[d];
    return p;
}

}  // namespace

const OpTraits& op_traits(OpKind op) {
    CIM_INTERNAL_CHECK(size_t(op) < kTable.size(), "op_traits: not an op");
    return kTable[size_t(op)];
}

int64_t digital_ops(const Graph& g, const Node& n, int64_t out_elems, int64_t in_elems) {
    const OpTraits& t = op_traits(n.op);
    switch (t.cost) {
        case DigitalCost::none: return 0;
        case DigitalCost::per_output: return t.ops_per_element * out_elems;
        case DigitalCost::per_input: return t.ops_per_element * in_elems;
        case DigitalCost::window: {
            int64_t taps = 1;
            for (int64_t d : n.attr_ints("kernel_shape")) taps *= d;
            return out_elems * taps;
        }
        case DigitalCost::resize: {
            const std::string mode = n.attr_string("mode", "nearest");
            if (mode == "nearest") return 0;
            const Shape& in = g.value(n.inputs[0]).shape;
            const Shape& out = g.value(n.outputs[0]).shape;
            int64_t taps = 1;
            for (size_t d = 0; d < in.size() && d < out.size(); ++d)
                if (in[d] != out[d]) taps *= mode == "linear" ? 2 : 4;
            return 2 * taps * out_elems;  // a multiply and an add per tap
        }
        case DigitalCost::matmul: {
            // A multiply and an add per MAC. Conv: each output element takes Cin/G * kernel MACs;
            // ConvTranspose: each input element feeds Cout/G * kernel outputs.
            if (n.op == OpKind::Conv) return 2 * out_elems * prod_from(g.value(n.inputs[1]).shape, 1);
            if (n.op == OpKind::ConvTranspose) return 2 * in_elems * prod_from(g.value(n.inputs[1]).shape, 1);
            const Value& a = g.value(n.inputs[0]);
            int64_t K = a.shape.empty() ? 1 : a.shape.back();
            if (n.op == OpKind::Gemm && n.attr_int("transA", 0)) K = a.shape[0];
            return 2 * out_elems * K;
        }
        case DigitalCost::recurrent: {
            // W [dirs, gates*hidden, input], R [dirs, gates*hidden, hidden]; every (step, sample,
            // direction) runs both products in full (sequence_lens is known only at run time).
            const Shape& x = g.value(n.inputs[0]).shape;
            const Shape& w = g.value(n.inputs[1]).shape;
            const Shape& r = g.value(n.inputs[2]).shape;
            if (x.size() != 3 || w.size() != 3 || r.size() != 3 || !shape_known(x) || !shape_known(w) || !shape_known(r)) return 0;
            const int64_t runs = x[0] * x[1] * w[0];
            return runs * w[1] * (2 * (w[2] + r[2]) + t.ops_per_element);
        }
    }
    return out_elems;
}

}  // namespace cim
