// The one op table: every ONNX op cimforge knows, in one X-macro list.
// Adding an op here makes -Wswitch flag every switch that does not handle it.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace cim {

// X(Name, first opset whose semantics we implement)
#define CIM_OP_LIST(X)                                                                        \
    X(Conv, 1) X(ConvTranspose, 1) X(Gemm, 7) X(MatMul, 1) X(RNN, 7) X(GRU, 7) X(LSTM, 7)           \
    X(Add, 7) X(Sub, 7) X(Mul, 7) X(Div, 7) X(Pow, 7) X(Sqrt, 6) X(Neg, 6) X(Reciprocal, 6)  \
    X(Exp, 6) X(Log, 6) X(Abs, 6) X(Floor, 6) X(Ceil, 6)                                       \
    X(Relu, 6) X(LeakyRelu, 6) X(Clip, 6) X(Sigmoid, 6) X(Tanh, 6) X(HardSigmoid, 6)          \
    X(HardSwish, 14) X(Erf, 9) X(Softplus, 1)                                                  \
    X(PRelu, 6) X(Elu, 6) X(Selu, 6) X(Celu, 12) X(Softsign, 1) X(ThresholdedRelu, 10)        \
    X(Mish, 18) X(Sin, 7) X(Cos, 7) X(Tan, 7) X(Sign, 9) X(Mod, 10)                           \
    X(Asin, 7) X(Acos, 7) X(Atan, 7) X(Sinh, 9) X(Cosh, 9) X(Asinh, 9) X(Acosh, 9) X(Atanh, 9) \
    X(Round, 11) X(IsNaN, 9) X(IsInf, 10) X(Shrink, 9) X(CastLike, 15)                          \
    X(Min, 6) X(Max, 6) X(Sum, 6) X(Mean, 6)                                                   \
    X(Softmax, 1) X(LogSoftmax, 1) X(Hardmax, 1)                                               \
    X(MaxPool, 1) X(AveragePool, 7) X(GlobalAveragePool, 1) X(GlobalMaxPool, 1)               \
    X(ReduceMean, 1) X(ReduceSum, 1) X(ReduceMax, 1) X(ReduceMin, 1) X(ReduceProd, 1)         \
    X(ReduceL1, 1) X(ReduceL2, 1) X(ReduceSumSquare, 1) X(ReduceLogSum, 1)                    \
    X(ReduceLogSumExp, 1) X(ArgMax, 1) X(ArgMin, 1) X(CumSum, 11)                             \
    X(Flatten, 1) X(Reshape, 5) X(Transpose, 1) X(Concat, 4) X(Split, 2) X(Slice, 10)         \
    X(Gather, 1) X(GatherElements, 11) X(Squeeze, 1) X(Unsqueeze, 1) X(Shape, 1) X(Size, 1)   \
    X(Cast, 6) X(Expand, 8) X(DepthToSpace, 1) X(SpaceToDepth, 1)                             \
    X(QuantizeLinear, 10) X(DequantizeLinear, 10)                                              \
    X(Where, 9) X(Equal, 7) X(Less, 7) X(Greater, 7) X(LessOrEqual, 12) X(GreaterOrEqual, 12) X(Not, 1) X(And, 7) X(Or, 7) X(Xor, 7)   \
    X(Pad, 2) X(Trilu, 14) X(EyeLike, 9)                                                       \
    X(LayerNormalization, 17) X(BatchNormalization, 7) X(InstanceNormalization, 6) X(LRN, 1)  \
    X(Resize, 11) X(ConstantOfShape, 9) X(Range, 11) X(Tile, 6)                               \
    X(Constant, 1) X(Identity, 1) X(Dropout, 7)

enum class OpKind {
#define CIM_OP_ENUM(name, since) name,
    CIM_OP_LIST(CIM_OP_ENUM)
#undef CIM_OP_ENUM
        Count
};

std::string_view op_name(OpKind op);
int op_min_opset(OpKind op);
// nullopt if cimforge does not know the ONNX op type.
std::optional<OpKind> op_from_name(std::string_view onnx_op_type);

// Whether the float executor has shape inference and a kernel for the op (every op should:
// tests/ir/test_op_traits.cpp checks).
bool op_has_kernel(OpKind op);

// The highest default-domain opset cimforge reads.
inline constexpr int kMaxOpset = 18;

}  // namespace cim
