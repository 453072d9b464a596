// Neural-network ops: pooling, normalizations, softmax and hardmax, resize (nearest, n-linear, cubic);
// the products (Conv, ConvTranspose, Gemm, MatMul) are in kernels_products.cpp.
#include "kernels.h"

#include <cim/ir/window.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace cim::kern {

namespace {

using cim::Window;
using cim::make_window;

Shape spatial_of(const Shape& s) { return Shape(s.begin() + 2, s.end()); }

}  // namespace

// ---------------- pooling ----------------
static std::vector<OutInfo> infer_pool(const Node& n, std::span<const InValue> in, int) {
    const InValue& x = in[0];
    if (n.op != OpKind::MaxPool) require_floating(n, in, 1);
    if (!x.rank_known) return {unknown_rank(x.type)};
    if (x.shape.size() < 3) fail(n, "input must have rank >= 3, got " + shape_str(x.shape));
    Shape out{x.shape[0], x.shape[1]};
    if (n.op == OpKind::GlobalAveragePool || n.op == OpKind::GlobalMaxPool) {
        out.resize(x.shape.size(), 1);
        return {OutInfo{x.type, out}};
    }
    Window w = make_window(n, spatial_of(x.shape), n.attr_ints("kernel_shape"), n.attr_int("ceil_mode", 0));
    for (int i = 3 - w.spatial; i < 3; ++i) out.push_back(w.out[i]);
    return {OutInfo{x.type, out}};
}

static std::string check_pool(const Node& n, int) {
    if (n.op == OpKind::MaxPool) {
        if (n.outputs.size() > 1 && n.outputs[1] >= 0) return "MaxPool with the Indices output is not supported";
        if (n.attr_int("storage_order", 0) != 0) return "MaxPool with storage_order=1 is not supported";
    }
    if ((n.op == OpKind::MaxPool || n.op == OpKind::AveragePool) && n.attr_ints("kernel_shape").empty())
        return "kernel_shape is required";
    return "";
}

static void compute_pool(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int opset) {
    if (!in[0]->floating()) {  // integer MaxPool: exact through float for values below 2^24
        Tensor xf(ElemType::Float, in[0]->shape), yf(ElemType::Float, out[0].shape);
        xf.f = in[0]->to_floats();
        const Tensor* ptr = &xf;
        compute_pool(n, std::span<const Tensor* const>(&ptr, 1), std::span<Tensor>(&yf, 1), opset);
        for (size_t k = 0; k < yf.f.size(); ++k) out[0].i[k] = int64_t(yf.f[k]);
        return;
    }
    const Tensor& X = *in[0];
    Tensor& Y = out[0];
    const int64_t N = X.shape[0], C = X.shape[1];
    const int64_t planes = N * C;
    if (n.op == OpKind::GlobalAveragePool || n.op == OpKind::GlobalMaxPool) {
        const int64_t I = shape_numel(X.shape) / std::max<int64_t>(planes, 1);
        const bool is_max = n.op == OpKind::GlobalMaxPool;
        for (int64_t p = 0; p < planes; ++p) {
            const float* x = X.f.data() + p * I;
            double acc = is_max ? -std::numeric_limits<double>::infinity() : 0.0;
            for (int64_t k = 0; k < I; ++k) acc = is_max ? std::max(acc, double(x[k])) : acc + x[k];
            Y.f[size_t(p)] = float(is_max ? acc : acc / double(I));
        }
        return;
    }
    const Window w = make_window(n, spatial_of(X.shape), n.attr_ints("kernel_shape"), n.attr_int("ceil_mode", 0));
    const bool is_max = n.op == OpKind::MaxPool;
    const bool include_pad = n.attr_int("count_include_pad", 0);
    const int64_t I3 = w.in_size(), O3 = w.out_size();
#pragma omp parallel for if (planes > 1) schedule(static)
    for (int64_t p = 0; p < planes; ++p) {
        const float* x = X.f.data() + p * I3;
        float* y = Y.f.data() + p * O3;
        for (int64_t od = 0; od < w.out[0]; ++od)
            for (int64_t oh = 0; oh < w.out[1]; ++oh)
                for (int64_t ow = 0; ow < w.out[2]; ++ow) {
                    double acc = is_max ? -std::numeric_limits<double>::infinity() : 0.0;
                    int64_t count = 0;
                    int64_t padded_count = 1;  // window clipped to the padded input (count_include_pad)
                    int64_t start[3] = {od * w.s[0] - w.pb[0], oh * w.s[1] - w.pb[1], ow * w.s[2] - w.pb[2]};
                    for (int i = 0; i < 3; ++i) {
                        int64_t lo = start[i], hi = start[i] + (w.k[i] - 1) * w.d[i] + 1;
                        hi = std::min(hi, w.in[i] + w.pe[i]);
                        padded_count *= (hi - lo + w.d[i] - 1) / w.d[i];
                    }
                    for (int64_t kd = 0; kd < w.k[0]; ++kd) {
                        int64_t id = start[0] + kd * w.d[0];
                        if (id < 0 || id >= w.in[0]) continue;
                        for (int64_t kh = 0; kh < w.k[1]; ++kh) {
                            int64_t ih = start[1] + kh * w.d[1];
                            if (ih < 0 || ih >= w.in[1]) continue;
                            for (int64_t kw = 0; kw < w.k[2]; ++kw) {
                                int64_t iw = start[2] + kw * w.d[2];
                                if (iw < 0 || iw >= w.in[2]) continue;
                                float v = x[(id * w.in[1] + ih) * w.in[2] + iw];
                                acc = is_max ? std::max(acc, double(v)) : acc + v;
                                ++count;
                            }
                        }
                    }
                    float r;
                    if (is_max) r = float(acc);
                    else r = float(acc / double(include_pad ? padded_count : std::max<int64_t>(count, 1)));
                    y[(od * w.out[1] + oh) * w.out[2] + ow] = r;
                }
    }
}

// ---------------- normalizations ----------------
static std::vector<OutInfo> infer_first(const Node& n, std::span<const InValue> in, int) {
    if (in.empty() || !in[0].present) fail(n, "needs an input");
    require_floating(n, in, 1);
    return {OutInfo{in[0].type, in[0].shape, in[0].rank_known}};
}

static std::string check_batchnorm(const Node& n, int opset) {
    if (n.attr_int("training_mode", 0) != 0) return "BatchNormalization in training mode is not supported";
    for (size_t k = 1; k < n.outputs.size(); ++k)
        if (n.outputs[k] >= 0) return "BatchNormalization with running-statistics outputs is not supported";
    if (opset < 9 && n.attr_int("spatial", 1) != 1) return "BatchNormalization with spatial=0 is not supported";
    return "";
}

static void compute_batchnorm(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    const Tensor &X = *in[0], &scale = *in[1], &bias = *in[2], &mean = *in[3], &var = *in[4];
    Tensor& Y = out[0];
    const float eps = n.attr_float("epsilon", 1e-5f);
    const int64_t N = X.shape[0], C = X.rank() > 1 ? X.shape[1] : 1;
    const int64_t I = N * C == 0 ? 0 : X.numel() / (N * C);
    if (scale.numel() != C || bias.numel() != C || mean.numel() != C || var.numel() != C)
        fail(n, "scale, B, mean and var must each have " + std::to_string(C) + " elements");
    for (int64_t b = 0; b < N; ++b)
        for (int64_t c = 0; c < C; ++c) {
            const float a = scale.f[size_t(c)] / std::sqrt(var.f[size_t(c)] + eps);
            const float s = bias.f[size_t(c)] - mean.f[size_t(c)] * a;
            const float* x = X.f.data() + (b * C + c) * I;
            float* y = Y.f.data() + (b * C + c) * I;
            for (int64_t k = 0; k < I; ++k) y[k] = x[k] * a + s;
        }
}

// LRN (AlexNet's local response normalization across channels):
// y = x / (bias + alpha / size * sum of x^2 over the channels c - floor((size-1)/2) .. c + ceil((size-1)/2))^beta.
static std::string check_lrn(const Node& n, int) {
    if (!n.has("size")) return "LRN without its required 'size' attribute";
    return "";
}
static void compute_lrn(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    const Tensor& X = *in[0];
    Tensor& Y = out[0];
    const double alpha = n.attr_float("alpha", 1e-4f), beta = n.attr_float("beta", 0.75f), bias = n.attr_float("bias", 1.0f);
    const int64_t size = n.attr_int("size", 1);
    if (size < 1) fail(n, "size must be positive");
    if (X.rank() < 2) fail(n, "needs an input of rank 2 or more");
    const int64_t N = X.shape[0], C = X.shape[1], I = X.numel() / std::max<int64_t>(N * C, 1);
    const int64_t before = (size - 1) / 2, after = size - 1 - before;
    for (int64_t b = 0; b < N; ++b)
        for (int64_t c = 0; c < C; ++c)
            for (int64_t i = 0; i < I; ++i) {
                double sq = 0;
                for (int64_t c2 = std::max<int64_t>(0, c - before); c2 <= std::min(C - 1, c + after); ++c2) {
                    const double v = X.f[size_t((b * C + c2) * I + i)];
                    sq += v * v;
                }
                const size_t at = size_t((b * C + c) * I + i);
                Y.f[at] = float(double(X.f[at]) / std::pow(bias + alpha / double(size) * sq, beta));
            }
}

static void compute_instancenorm(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    const Tensor &X = *in[0], &scale = *in[1], &bias = *in[2];
    Tensor& Y = out[0];
    const float eps = n.attr_float("epsilon", 1e-5f);
    const int64_t N = X.shape[0], C = X.shape[1], I = X.numel() / std::max<int64_t>(N * C, 1);
    for (int64_t b = 0; b < N; ++b)
        for (int64_t c = 0; c < C; ++c) {
            const float* x = X.f.data() + (b * C + c) * I;
            float* y = Y.f.data() + (b * C + c) * I;
            double mu = 0, var = 0;
            for (int64_t k = 0; k < I; ++k) mu += x[k];
            mu /= double(I);
            for (int64_t k = 0; k < I; ++k) var += (x[k] - mu) * (x[k] - mu);
            var /= double(I);
            const double a = scale.f[size_t(c)] / std::sqrt(var + eps);
            for (int64_t k = 0; k < I; ++k) y[k] = float((x[k] - mu) * a + bias.f[size_t(c)]);
        }
}

static std::vector<OutInfo> infer_layernorm(const Node& n, std::span<const InValue> in, int) {
    require_floating(n, in);
    const InValue& x = in[0];
    std::vector<OutInfo> outs{OutInfo{x.type, x.shape, x.rank_known}};
    if (n.outputs.size() > 1) {
        OutInfo stat{ElemType::Float, x.shape, x.rank_known};
        if (x.rank_known) {
            int64_t axis = norm_axis(n, n.attr_int("axis", -1), int64_t(x.shape.size()));
            for (size_t d = size_t(axis); d < stat.shape.size(); ++d) stat.shape[d] = 1;
        }
        for (size_t k = 1; k < n.outputs.size(); ++k) outs.push_back(stat);
    }
    return outs;
}

static void compute_layernorm(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    const Tensor &X = *in[0], &scale = *in[1];
    const Tensor* bias = in.size() > 2 ? in[2] : nullptr;
    Tensor& Y = out[0];
    const float eps = n.attr_float("epsilon", 1e-5f);
    const int64_t axis = norm_axis(n, n.attr_int("axis", -1), X.rank());
    int64_t inner = 1;
    for (int64_t d = axis; d < X.rank(); ++d) inner *= X.shape[size_t(d)];
    const int64_t outer = inner == 0 ? 0 : X.numel() / inner;
    if (scale.numel() != inner && scale.numel() != 1) fail(n, "Scale must have " + std::to_string(inner) + " elements");
    if (bias && bias->numel() != inner && bias->numel() != 1) fail(n, "B must have " + std::to_string(inner) + " elements");
    Tensor* mean_out = out.size() > 1 ? &out[1] : nullptr;
    Tensor* inv_out = out.size() > 2 ? &out[2] : nullptr;
#pragma omp parallel for if (outer > 64) schedule(static)
    for (int64_t o = 0; o < outer; ++o) {
        const float* x = X.f.data() + o * inner;
        float* y = Y.f.data() + o * inner;
        double mu = 0, var = 0;
        for (int64_t k = 0; k < inner; ++k) mu += x[k];
        mu /= double(inner);
        for (int64_t k = 0; k < inner; ++k) var += (x[k] - mu) * (x[k] - mu);
        var /= double(inner);
        const double inv = 1.0 / std::sqrt(var + eps);
        for (int64_t k = 0; k < inner; ++k) {
            float s = scale.f[size_t(scale.numel() == 1 ? 0 : k)];
            float b = bias ? bias->f[size_t(bias->numel() == 1 ? 0 : k)] : 0.0f;
            y[k] = float((x[k] - mu) * inv) * s + b;
        }
        if (mean_out && !mean_out->f.empty()) mean_out->f[size_t(o)] = float(mu);
        if (inv_out && !inv_out->f.empty()) inv_out->f[size_t(o)] = float(inv);
    }
}

// ---------------- Softmax / LogSoftmax / Hardmax ----------------
// The rows these ops normalize: element k of row (o, i) is at (o * len + k) * inner + i.
struct SoftmaxRows {
    int64_t outer = 1, len = 1, inner = 1;
};
static SoftmaxRows softmax_rows(const Node& n, const Tensor& X, int opset) {
    const int64_t r = X.rank();
    int64_t axis = norm_axis(n, n.attr_int("axis", opset >= 13 ? -1 : 1), std::max<int64_t>(r, 1));
    SoftmaxRows g;
    if (opset < 13) {  // coerced to 2-D at axis
        for (int64_t d = 0; d < axis; ++d) g.outer *= X.shape[size_t(d)];
        for (int64_t d = axis; d < r; ++d) g.len *= X.shape[size_t(d)];
    } else {
        for (int64_t d = 0; d < axis; ++d) g.outer *= X.shape[size_t(d)];
        g.len = r ? X.shape[size_t(axis)] : 1;
        for (int64_t d = axis + 1; d < r; ++d) g.inner *= X.shape[size_t(d)];
    }
    return g;
}

static void compute_softmax(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int opset) {
    const Tensor& X = *in[0];
    Tensor& Y = out[0];
    const bool log_out = n.op == OpKind::LogSoftmax;
    const auto [outer, len, inner] = softmax_rows(n, X, opset);
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
            const float* x = X.f.data() + o * len * inner + i;
            float* y = Y.f.data() + o * len * inner + i;
            float mx = -std::numeric_limits<float>::infinity();
            for (int64_t k = 0; k < len; ++k) mx = std::max(mx, x[k * inner]);
            double sum = 0;
            for (int64_t k = 0; k < len; ++k) sum += std::exp(double(x[k * inner] - mx));
            for (int64_t k = 0; k < len; ++k) {
                double z = double(x[k * inner] - mx);
                y[k * inner] = float(log_out ? z - std::log(sum) : std::exp(z) / sum);
            }
        }
}

// 1 at the first maximum of each row, 0 elsewhere.
static void compute_hardmax(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int opset) {
    const Tensor& X = *in[0];
    Tensor& Y = out[0];
    const auto [outer, len, inner] = softmax_rows(n, X, opset);
    std::fill(Y.f.begin(), Y.f.end(), 0.0f);
    if (len == 0) return;
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
            const float* x = X.f.data() + o * len * inner + i;
            const int64_t stride = inner;  // a structured binding cannot be captured before clang 16
            const int64_t k = arg_extreme(len, true, false, [&](int64_t j) { return x[j * stride]; });
            Y.f[size_t((o * len + k) * inner + i)] = 1.0f;
        }
}

// ---------------- Resize (nearest, n-linear, cubic) ----------------
namespace {
struct ResizePlan {
    Shape out;
    std::vector<double> scale;  // out/in per dim
};
ResizePlan resize_plan(const Node& n, const Shape& x, const InValue* scales, const InValue* sizes, bool& known) {
    ResizePlan p;
    known = true;
    const size_t r = x.size();
    p.out.assign(r, -1);
    p.scale.assign(r, 1.0);
    if (sizes && sizes->present && (!sizes->rank_known || sizes->shape.empty() || sizes->shape[0] != 0)) {
        if (!sizes->data) {
            known = false;
            return p;
        }
        auto s = sizes->data->to_ints();
        if (s.size() != r) fail(n, "sizes has " + std::to_string(s.size()) + " entries, input has rank " + std::to_string(r));
        for (size_t d = 0; d < r; ++d) {
            p.out[d] = s[d];
            p.scale[d] = x[d] > 0 ? double(s[d]) / double(x[d]) : 1.0;
        }
        return p;
    }
    if (scales && scales->present) {
        if (!scales->data) {
            known = false;
            return p;
        }
        auto s = scales->data->to_floats();
        if (s.size() != r) fail(n, "scales has " + std::to_string(s.size()) + " entries, input has rank " + std::to_string(r));
        for (size_t d = 0; d < r; ++d) {
            p.scale[d] = s[d];
            p.out[d] = x[d] < 0 ? -1 : int64_of(std::floor(double(x[d]) * double(s[d])));
        }
        return p;
    }
    fail(n, "needs either scales or sizes");
}
}  // namespace

static std::string check_resize(const Node& n, int) {
    const std::string mode = n.attr_string("mode", "nearest");
    if (mode != "nearest" && mode != "linear" && mode != "cubic") return "Resize mode '" + mode + "' is not supported";
    if (n.attr_int("antialias", 0) != 0) return "Resize with antialias is not supported";
    const std::string ct = n.attr_string("coordinate_transformation_mode", "half_pixel");
    if (ct != "half_pixel" && ct != "asymmetric" && ct != "align_corners" && ct != "pytorch_half_pixel" &&
        ct != "tf_half_pixel_for_nearest" && ct != "tf_half_pixel_for_nn")
        return "Resize coordinate_transformation_mode '" + ct + "' is not supported";
    const std::string nm = n.attr_string("nearest_mode", "round_prefer_floor");
    if (nm != "round_prefer_floor" && nm != "round_prefer_ceil" && nm != "floor" && nm != "ceil")
        return "Resize nearest_mode '" + nm + "' is not supported";
    if (n.has("axes")) return "Resize with the axes attribute is not supported";
    if (n.attr_string("keep_aspect_ratio_policy", "stretch") != "stretch") return "Resize keep_aspect_ratio_policy other than stretch is not supported";
    return "";
}

static std::vector<OutInfo> infer_resize(const Node& n, std::span<const InValue> in, int) {
    const InValue& x = in[0];
    if (!x.rank_known) return {unknown_rank(x.type)};
    bool known = true;
    ResizePlan p = resize_plan(n, x.shape, in.size() > 2 ? &in[2] : nullptr, in.size() > 3 ? &in[3] : nullptr, known);
    if (!known) return {OutInfo{x.type, Shape(x.shape.size(), -1)}};
    return {OutInfo{x.type, p.out}};
}

static void compute_resize(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    const Tensor& X = *in[0];
    Tensor& Y = out[0];
    const InValue sc = as_value(in.size() > 2 ? in[2] : nullptr), sz = as_value(in.size() > 3 ? in[3] : nullptr);
    bool known = true;
    ResizePlan p = resize_plan(n, X.shape, &sc, &sz, known);
    const std::string mode = n.attr_string("mode", "nearest");
    const std::string ct = n.attr_string("coordinate_transformation_mode", "half_pixel");
    const std::string nm = n.attr_string("nearest_mode", "round_prefer_floor");
    const double A = n.attr_float("cubic_coeff_a", -0.75f);
    const bool exclude_outside = n.attr_int("exclude_outside", 0) != 0;
    if (mode != "nearest" && !Y.floating()) fail(n, mode + " resize needs a floating-point input");
    const size_t r = X.shape.size();
    // Per dim and output index: the input indices it reads and their weights (ONNX's reference:
    // the 2 or 4 nearest input positions, edge-replicated, with linear or cubic coefficients).
    struct Taps {
        std::vector<int64_t> idx;  // taps per output index, flattened
        std::vector<double> w;
        int n = 1;
    };
    std::vector<Taps> taps(r);
    for (size_t d = 0; d < r; ++d) {
        const int64_t in_len = X.shape[d], out_len = Y.shape[d];
        const double s = p.scale[d];
        Taps& t = taps[d];
        t.n = mode == "nearest" ? 1 : mode == "linear" ? 2 : 4;
        for (int64_t o = 0; o < out_len; ++o) {
            double xo;
            if (ct == "asymmetric") xo = o / s;
            else if (ct == "align_corners")  // over the scaled width, which with scales need not be whole (as ONNX's reference)
                xo = out_len == 1 ? 0.0 : double(o) * double(in_len - 1) / (s * double(in_len) - 1);
            else if (ct == "pytorch_half_pixel") xo = out_len > 1 ? (o + 0.5) / s - 0.5 : 0.0;
            else if (ct == "tf_half_pixel_for_nearest" || ct == "tf_half_pixel_for_nn") xo = (o + 0.5) / s;
            else xo = (o + 0.5) / s - 0.5;  // half_pixel
            const double fl = std::floor(xo), frac = xo - fl;
            if (t.n == 1) {
                double idx;
                if (nm == "floor") idx = fl;
                else if (nm == "ceil") idx = std::ceil(xo);
                else if (nm == "round_prefer_ceil") idx = frac >= 0.5 ? fl + 1 : fl;
                else idx = frac > 0.5 ? fl + 1 : fl;  // round_prefer_floor
                // Clamped before the conversion: a tiny scale puts it past any integer.
                t.idx.push_back(int64_t(std::clamp(idx, 0.0, double(in_len - 1))));
                t.w.push_back(1.0);
                continue;
            }
            // The reference prefers the left neighbour: on an integer position the ratio is 1.
            const double ratio = frac == 0.0 ? 1.0 : frac;
            // fl clamped a few taps past the edges (where every tap clamps alike) before the conversion.
            const int64_t base = int64_t(std::clamp(fl, -8.0, double(in_len) + 8)) - (frac == 0.0 ? 1 : 0) - (t.n / 2 - 1);
            double c[4];
            if (t.n == 2) {
                c[0] = 1.0 - ratio;
                c[1] = ratio;
            } else {
                const double a = ratio + 1, b = 1 - ratio, e = b + 1;
                c[0] = ((A * a - 5 * A) * a + 8 * A) * a - 4 * A;
                c[1] = ((A + 2) * ratio - (A + 3)) * ratio * ratio + 1;
                c[2] = ((A + 2) * b - (A + 3)) * b * b + 1;
                c[3] = ((A * e - 5 * A) * e + 8 * A) * e - 4 * A;
            }
            if (exclude_outside) {
                double sum = 0;
                for (int k = 0; k < t.n; ++k) {
                    if (base + k < 0 || base + k >= in_len) c[k] = 0;
                    sum += c[k];
                }
                for (int k = 0; k < t.n; ++k) c[k] = sum != 0 ? c[k] / sum : 0.0;
            }
            for (int k = 0; k < t.n; ++k) {
                t.idx.push_back(std::clamp<int64_t>(base + k, 0, in_len - 1));
                t.w.push_back(c[k]);
            }
        }
    }
    std::vector<int64_t> in_stride(r, 1);
    for (int d = int(r) - 2; d >= 0; --d) in_stride[size_t(d)] = in_stride[size_t(d + 1)] * X.shape[size_t(d + 1)];
    const int64_t total = Y.numel();
    std::vector<int64_t> counter(r, 0), pick(r, 0);
    for (int64_t o = 0; o < total; ++o) {
        // Sum over every combination of one tap per dim (zero weights skipped).
        double acc = 0;
        std::fill(pick.begin(), pick.end(), 0);
        for (;;) {
            double w = 1;
            int64_t src = 0;
            for (size_t d = 0; d < r; ++d) {
                const size_t at = size_t(counter[d] * taps[d].n + pick[d]);
                w *= taps[d].w[at];
                src += taps[d].idx[at] * in_stride[d];
            }
            if (!Y.floating()) {  // nearest on integers: one tap
                Y.i[size_t(o)] = X.i[size_t(src)];
                break;
            }
            if (w != 0) acc += w * double(X.f[size_t(src)]);
            int d = int(r) - 1;
            for (; d >= 0; --d) {
                if (++pick[size_t(d)] < taps[size_t(d)].n) break;
                pick[size_t(d)] = 0;
            }
            if (d < 0) break;
        }
        if (Y.floating()) Y.f[size_t(o)] = float(acc);
        for (int d = int(r) - 1; d >= 0; --d) {
            if (++counter[size_t(d)] < Y.shape[size_t(d)]) break;
            counter[size_t(d)] = 0;
        }
    }
}

void register_nn(OpDef* t) {
    for (OpKind op : {OpKind::MaxPool, OpKind::AveragePool, OpKind::GlobalAveragePool, OpKind::GlobalMaxPool})
        t[size_t(op)] = {infer_pool, compute_pool, check_pool};
    t[size_t(OpKind::BatchNormalization)] = {infer_first, compute_batchnorm, check_batchnorm};
    t[size_t(OpKind::InstanceNormalization)] = {infer_first, compute_instancenorm, nullptr};
    t[size_t(OpKind::LRN)] = {infer_first, compute_lrn, check_lrn};
    t[size_t(OpKind::LayerNormalization)] = {infer_layernorm, compute_layernorm, nullptr};
    t[size_t(OpKind::Softmax)] = {infer_first, compute_softmax, nullptr};
    t[size_t(OpKind::LogSoftmax)] = {infer_first, compute_softmax, nullptr};
    t[size_t(OpKind::Hardmax)] = {infer_first, compute_hardmax, nullptr};
    t[size_t(OpKind::Resize)] = {infer_resize, compute_resize, check_resize};
}

}  // namespace cim::kern
