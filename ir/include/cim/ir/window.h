// Sliding-window geometry of Conv and pooling nodes (kernel, strides, dilations, pads or
// auto_pad, ceil_mode), padded to 3 spatial dims with size-1 dims: defined once, for the float
// kernels, the quantizer's integer program and anything else that walks a convolution.
#pragma once

#include <cim/ir/graph.h>

#include <cstdint>
#include <vector>

namespace cim {

struct Window {
    int spatial = 0;  // 1 to 3 spatial dims; the leading ones of in/k/... are padding
    int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, d[3] = {1, 1, 1};
    int64_t pb[3] = {0, 0, 0}, pe[3] = {0, 0, 0}, out[3] = {1, 1, 1};  // pads at begin and end
    int64_t in_size() const { return in[0] * in[1] * in[2]; }
    int64_t out_size() const { return out[0] * out[1] * out[2]; }
    int64_t k_size() const { return k[0] * k[1] * k[2]; }
};

// in_spatial may hold -1 (unknown) during static inference; out is then -1. Throws on
// inconsistent attributes, naming the node.
Window make_window(const Node& n, const Shape& in_spatial, const std::vector<int64_t>& kernel, bool ceil_mode);

// The kernel of a Conv node: its kernel_shape attribute, else the weight's trailing dims.
std::vector<int64_t> conv_kernel(const Node& n, const Shape& weight_shape);

// The window of a Conv node with input shape x [N, C, ...] and weight shape w [M, C/group, ...].
Window conv_window(const Node& n, const Shape& x, const Shape& w);

}  // namespace cim
