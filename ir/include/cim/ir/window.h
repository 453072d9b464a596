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

// Visits the receptive field of output position o (flat over out[0..2]) for `channels` input
// channels, in im2col row order (c, kd, kh, kw): f(k, at) with k the row and `at` the element's
// index in those channels' input (c * in_size() + spatial index), or -1 where it reads padding.
template <class F>
void for_each_tap(const Window& w, int64_t channels, int64_t o, F&& f) {
    const int64_t od = o / (w.out[1] * w.out[2]), oh = (o / w.out[2]) % w.out[1], ow = o % w.out[2];
    const int64_t I3 = w.in_size();
    int64_t k = 0;
    for (int64_t c = 0; c < channels; ++c)
        for (int64_t kd = 0; kd < w.k[0]; ++kd) {
            const int64_t id = od * w.s[0] - w.pb[0] + kd * w.d[0];
            for (int64_t kh = 0; kh < w.k[1]; ++kh) {
                const int64_t ih = oh * w.s[1] - w.pb[1] + kh * w.d[1];
                const bool inside = id >= 0 && id < w.in[0] && ih >= 0 && ih < w.in[1];
                for (int64_t kw = 0; kw < w.k[2]; ++kw, ++k) {
                    const int64_t iw = ow * w.s[2] - w.pb[2] + kw * w.d[2];
                    f(k, inside && iw >= 0 && iw < w.in[2] ? c * I3 + (id * w.in[1] + ih) * w.in[2] + iw : int64_t(-1));
                }
            }
        }
}

// in_spatial may hold -1 (unknown) during static inference; out is then -1. Throws on
// inconsistent attributes, naming the node.
Window make_window(const Node& n, const Shape& in_spatial, const std::vector<int64_t>& kernel, bool ceil_mode);

// The kernel of a Conv node: its kernel_shape attribute, else the weight's trailing dims.
std::vector<int64_t> conv_kernel(const Node& n, const Shape& weight_shape);

// The window of a Conv node with input shape x [N, C, ...] and weight shape w [M, C/group, ...].
Window conv_window(const Node& n, const Shape& x, const Shape& w);

// The window of a ConvTranspose node with input x [N, C, ...] and weight w [C, M/group, ...]: `in` is
// the input's spatial size, `out` the output's, pads as used (auto_pad and output_shape resolved).
Window convtranspose_window(const Node& n, const Shape& x, const Shape& w);

// ConvTranspose's col2im: the output spatial index (flat over out[0..2]) that input position i
// (flat over in[0..2]) reaches through kernel tap t (flat over k[0..2]), or -1 outside the output.
inline int64_t transposed_target(const Window& w, int64_t i, int64_t t) {
    const int64_t id = i / (w.in[1] * w.in[2]), ih = (i / w.in[2]) % w.in[1], iw = i % w.in[2];
    const int64_t kd = t / (w.k[1] * w.k[2]), kh = (t / w.k[2]) % w.k[1], kw = t % w.k[2];
    const int64_t od = id * w.s[0] - w.pb[0] + kd * w.d[0], oh = ih * w.s[1] - w.pb[1] + kh * w.d[1],
                  ow = iw * w.s[2] - w.pb[2] + kw * w.d[2];
    if (od < 0 || od >= w.out[0] || oh < 0 || oh >= w.out[1] || ow < 0 || ow >= w.out[2]) return -1;
    return (od * w.out[1] + oh) * w.out[2] + ow;
}

}  // namespace cim
