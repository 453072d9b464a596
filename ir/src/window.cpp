// Sliding-window geometry of Conv and pooling nodes.
#include "kernels.h"

#include <cim/ir/window.h>

#include <algorithm>

namespace cim {

namespace {
int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }
}  // namespace

Window make_window(const Node& n, const Shape& in_spatial, const std::vector<int64_t>& kernel, bool ceil_mode) {
    Window w;
    const int S = int(in_spatial.size());
    if (S < 1 || S > 3) kern::fail(n, "supports 1 to 3 spatial dimensions, got " + std::to_string(S));
    if (int(kernel.size()) != S) kern::fail(n, "kernel_shape has " + std::to_string(kernel.size()) + " dims, input has " + std::to_string(S) + " spatial dims");
    w.spatial = S;
    auto strides = n.attr_ints("strides", std::vector<int64_t>(size_t(S), 1));
    auto dil = n.attr_ints("dilations", std::vector<int64_t>(size_t(S), 1));
    auto pads = n.attr_ints("pads", std::vector<int64_t>(size_t(2 * S), 0));
    if (int(strides.size()) != S || int(dil.size()) != S || int(pads.size()) != 2 * S)
        kern::fail(n, "strides/dilations/pads do not match the " + std::to_string(S) + " spatial dims");
    const std::string auto_pad = n.attr_string("auto_pad", "NOTSET");
    const int off = 3 - S;
    for (int i = 0; i < S; ++i) {
        int64_t I = in_spatial[size_t(i)], K = kernel[size_t(i)], St = strides[size_t(i)], D = dil[size_t(i)];
        if (K < 1 || St < 1 || D < 1) kern::fail(n, "kernel, strides and dilations must be positive");
        int64_t eff = (K - 1) * D + 1;
        int64_t pb = pads[size_t(i)], pe = pads[size_t(i + S)], O = -1;
        if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
            if (I >= 0) {
                O = ceil_div(I, St);
                int64_t total = std::max<int64_t>(0, (O - 1) * St + eff - I);
                pb = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
                pe = total - pb;
            }
        } else if (auto_pad == "VALID") {
            pb = pe = 0;
            if (I >= 0) O = (I - eff) / St + 1;
        } else if (auto_pad == "NOTSET") {
            if (I >= 0) {
                int64_t span = I + pb + pe - eff;
                O = (ceil_mode ? ceil_div(span, St) : (span >= 0 ? span / St : -1)) + 1;
                // A window may not start inside the end padding (PyTorch and ONNX agree).
                if (ceil_mode && O > 0 && (O - 1) * St >= I + pb) --O;
            }
        } else {
            kern::fail(n, "unknown auto_pad '" + auto_pad + "'");
        }
        if (I >= 0 && O < 1) kern::fail(n, "output spatial size would be " + std::to_string(O) + " (input " + std::to_string(I) + ", kernel " + std::to_string(K) + ")");
        w.in[off + i] = I;
        w.k[off + i] = K;
        w.s[off + i] = St;
        w.d[off + i] = D;
        w.pb[off + i] = pb;
        w.pe[off + i] = pe;
        w.out[off + i] = O;
    }
    return w;
}

std::vector<int64_t> conv_kernel(const Node& n, const Shape& wshape) {
    auto ks = n.attr_ints("kernel_shape");
    if (ks.empty()) ks.assign(wshape.begin() + 2, wshape.end());
    return ks;
}

Window conv_window(const Node& n, const Shape& x, const Shape& w) {
    return make_window(n, Shape(x.begin() + 2, x.end()), conv_kernel(n, w), false);
}

Window convtranspose_window(const Node& n, const Shape& x, const Shape& wshape) {
    const int S = int(x.size()) - 2;
    if (S < 1 || S > 3) kern::fail(n, "supports 1 to 3 spatial dimensions");
    auto ks = conv_kernel(n, wshape);
    auto strides = n.attr_ints("strides", std::vector<int64_t>(size_t(S), 1));
    auto dil = n.attr_ints("dilations", std::vector<int64_t>(size_t(S), 1));
    auto pads = n.attr_ints("pads", std::vector<int64_t>(size_t(2 * S), 0));
    auto out_pad = n.attr_ints("output_padding", std::vector<int64_t>(size_t(S), 0));
    auto out_shape = n.attr_ints("output_shape");
    const std::string auto_pad = n.attr_string("auto_pad", "NOTSET");
    if (int(ks.size()) != S || int(strides.size()) != S || int(dil.size()) != S || int(pads.size()) != 2 * S || int(out_pad.size()) != S)
        kern::fail(n, "attribute lengths do not match the spatial rank");
    if (!out_shape.empty() && int(out_shape.size()) > S) out_shape.erase(out_shape.begin(), out_shape.end() - S);
    Window w;
    w.spatial = S;
    const int off = 3 - S;
    for (int i = 0; i < S; ++i) {
        int64_t I = x[size_t(2 + i)], K = ks[size_t(i)], St = strides[size_t(i)], D = dil[size_t(i)];
        int64_t eff = (K - 1) * D + 1, pb = pads[size_t(i)], pe = pads[size_t(S + i)], O = -1;
        if (!out_shape.empty() || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
            int64_t target = !out_shape.empty() ? out_shape[size_t(i)] : (I >= 0 ? I * St : -1);
            if (I >= 0 && target >= 0) {
                int64_t total = St * (I - 1) + out_pad[size_t(i)] + eff - target;
                const int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);  // floor, as ONNX's spec
                if (auto_pad == "SAME_UPPER") {
                    pb = half;
                    pe = total - half;
                } else {
                    pe = half;
                    pb = total - half;
                }
                O = target;
            }
        } else if (I >= 0) {
            if (auto_pad == "VALID") pb = pe = 0;
            O = St * (I - 1) + out_pad[size_t(i)] + eff - pb - pe;
        }
        if (I >= 0 && O < 1) kern::fail(n, "output spatial size would be " + std::to_string(O));
        w.in[off + i] = I;
        w.k[off + i] = K;
        w.s[off + i] = St;
        w.d[off + i] = D;
        w.pb[off + i] = pb;
        w.pe[off + i] = pe;
        w.out[off + i] = O;
    }
    return w;
}

}  // namespace cim
