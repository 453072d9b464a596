// What each op is, for the stages that place and price it: one entry per OpKind, filled by one
// exhaustive switch (op_traits.cpp), so adding an op to CIM_OP_LIST fails the build until it is
// classified here.
#pragma once

#include <cim/ir/ops.h>

namespace cim {

struct Graph;
struct Node;

// The part of the chip an op needs.
enum class OpRole {
    matmul,         // a product with a weight operand: weight-stationary when the weight is constant
    recurrent,      // RNN/GRU/LSTM: W and R on arrays (weight_stationary.h), gates on the digital units
    elementwise,    // arithmetic per element (activations, add, compare, ...)
    window,         // pooling over a kernel window
    reduction,      // reduces axes (global pools, Reduce*, ArgMax, Softmax's sums)
    normalization,  // mean/variance statistics (LayerNorm, InstanceNorm, LRN, BatchNorm)
    view,           // reinterprets a buffer in place: no data moves (Reshape, Flatten, Squeeze, Identity, ...)
    data_movement,  // moves values, no arithmetic (Transpose, Concat, Slice, Pad, ...)
    constant,       // makes values from attributes or shapes only
};

// How a value's sign follows from the op's inputs (nonnegative_values()).
enum class SignRule {
    nonnegative,     // never negative whatever the input (ReLU, Sigmoid, Abs, Exp, Shape, ...)
    follows_first,   // non-negative when input 0 is (order-preserving moves, max/avg pools, ...)
    follows_all,     // non-negative when every input is (Add, Mul, Concat, Max, Min, Sum, Mean)
    by_attributes,   // decided from the op's parameters (Clip's lower bound, Pad's value)
    any,             // may be negative
};

// How many digital operations the op costs when it runs on a digital unit or the host
// (digital_ops()); data movement is counted as buffer traffic instead.
enum class DigitalCost {
    none,           // data movement or constants
    per_output,     // ops_per_element per output element
    per_input,      // ops_per_element per input element (reductions)
    window,         // one per output element per kernel tap
    matmul,         // a multiply and an add per MAC
    resize,         // nearest moves data; linear/cubic weigh 2 or 4 taps per resized dim
    recurrent,      // per step: a multiply and an add per MAC of W and R, ops_per_element per gate value
};

struct OpTraits {
    OpRole role = OpRole::elementwise;
    SignRule sign = SignRule::any;
    DigitalCost cost = DigitalCost::per_output;
    int ops_per_element = 1;  // with per_output / per_input
};

const OpTraits& op_traits(OpKind op);

// Digital operations of node n (in graph g) whose outputs hold out_elems and whose data
// inputs hold in_elems values.
int64_t digital_ops(const Graph& g, const Node& n, int64_t out_elems, int64_t in_elems);

}  // namespace cim
