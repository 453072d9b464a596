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

}  // namespace cim
