// Non-finite (NaN, Inf) values in the weights a chip would be programmed with. Quantizing or
// mapping such a layer can only give garbage, so the tools refuse it (exit 2); the float executor
// may run it, with a warning.
#pragma once

#include <cim/ir/graph.h>

#include <cstdint>
#include <string>
#include <vector>

namespace cim {

struct NonFiniteWeights {
    std::string node;    // the Conv/ConvTranspose/Gemm/MatMul using the tensor
    std::string tensor;  // the constant's name (a folded weight names its BatchNormalization in `origin`)
    std::string origin;  // how the constant was made, when a pass made it ("" for an initializer)
    int64_t nan = 0, inf = 0, total = 0;
};

// Every constant float operand (weight, bias) of the ops that can be weight-stationary (Conv,
// ConvTranspose, Gemm, MatMul) that holds NaN or Inf.
std::vector<NonFiniteWeights> non_finite_weights(const Graph& g);

// One line per tensor: "node 'c1': weight 'w' holds 3 NaN and 1 Inf of 288 values".
std::string describe(const std::vector<NonFiniteWeights>& found);

// Throws InputError naming the file, every tensor and the count, when non_finite_weights finds any.
void check_finite_weights(const Graph& g);

// Throws InputError when a data tensor read from `file` holds NaN or Inf, naming the file, the
// first bad element's index (the sample along the first axis, and the flat index) and the count.
void check_finite_data(const Tensor& t, const std::string& file);

// Counts NaN and Inf in a float tensor (0, 0 for integer tensors).
void count_non_finite(const Tensor& t, int64_t& nan, int64_t& inf);

}  // namespace cim
