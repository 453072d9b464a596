// Internal: the grid of a DequantizeLinear, for the importer's folding and the activation lookup.
#pragma once

#include <cim/ir/graph.h>

#include <optional>

namespace cim {

// Scale, zero point, axis and code range of DequantizeLinear `n` over codes of `code_type`
// (int8 or uint8; nullopt otherwise, or when the scale or zero point is not constant) in a
// tensor of rank `rank`. The codes are left empty.
std::optional<ModelQuantization> dequantize_grid(const Node& n, ElemType code_type, int64_t rank, const Tensor* scale,
                                                 const Tensor* zero_point);

}  // namespace cim
