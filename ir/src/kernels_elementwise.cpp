// Elementwise ops with ONNX (numpy) broadcasting, variadic Min/Max/Sum/Mean, PRelu,
// unary activations, Clip, Cast.
#include "int_arith.h"
#include "kernels.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace cim::kern {

namespace {

// Calls f(out_index, in_index[N]) for every output element, with numpy broadcasting.
template <size_t N, class F>
void broadcast_for(const Shape& out, const std::array<const Shape*, N>& ins, F&& f) {
    const size_t r = out.size();
    int64_t total = shape_numel(out);
    if (total == 0) return;
    std::array<std::vector<int64_t>, N> strides;
    bool all_same = true;
    for (size_t k = 0; k < N; ++k) {
        const Shape& s = *ins[k];
        if (s != out) all_same = false;
        strides[k].assign(r, 0);
        int64_t st = 1;
        for (size_t d = 0; d < s.size(); ++d) {
            size_t od = r - 1 - d;
            size_t sd = s.size() - 1 - d;
            strides[k][od] = (s[sd] == 1 && out[od] != 1) ? 0 : st;
            st *= s[sd];
        }
    }
    std::array<int64_t, N> idx{};
    if (all_same) {
        for (int64_t o = 0; o < total; ++o) {
            idx.fill(o);
            f(o, idx);
        }
        return;
    }
    if (r == 0) {
        f(0, idx);
        return;
    }
    const int64_t inner = out[r - 1];
    std::vector<int64_t> counter(r, 0);
    std::array<int64_t, N> inner_stride;
    for (size_t k = 0; k < N; ++k) inner_stride[k] = strides[k][r - 1];
    for (int64_t o = 0; o < total; o += inner) {
        std::array<int64_t, N> base{};
        for (size_t k = 0; k < N; ++k)
            for (size_t d = 0; d + 1 < r; ++d) base[k] += counter[d] * strides[k][d];
        for (int64_t j = 0; j < inner; ++j) {
            for (size_t k = 0; k < N; ++k) idx[k] = base[k] + j * inner_stride[k];
            f(o + j, idx);
        }
        for (int d = int(r) - 2; d >= 0; --d) {
            if (++counter[size_t(d)] < out[size_t(d)]) break;
            counter[size_t(d)] = 0;
        }
    }
}

bool is_compare(OpKind op) {
    return op == OpKind::Equal || op == OpKind::Less || op == OpKind::Greater || op == OpKind::LessOrEqual ||
           op == OpKind::GreaterOrEqual;
}
bool is_logical(OpKind op) { return op == OpKind::And || op == OpKind::Or || op == OpKind::Xor; }

std::vector<OutInfo> infer_binary(const Node& n, std::span<const InValue> in, int) {
    if (in.size() < 2 || !in[0].present || !in[1].present) fail(n, "needs two inputs");
    ElemType t = is_compare(n.op) || is_logical(n.op) ? ElemType::Bool : in[0].type;
    if (n.op == OpKind::Mod && in[0].type != ElemType::Undefined && is_floating(in[0].type) && n.attr_int("fmod", 0) == 0)
        // ONNX requires fmod=1 for floating types and runtimes disagree on what fmod=0 would mean.
        unsupported(n, "Mod with fmod=0 on floating-point inputs");
    if (!in[0].rank_known || !in[1].rank_known) return {unknown_rank(t)};
    if (n.op != OpKind::Pow && in[0].type != in[1].type && in[0].type != ElemType::Undefined &&
        in[1].type != ElemType::Undefined)
        fail(n, "input types differ (" + elem_type_name(in[0].type) + " and " + elem_type_name(in[1].type) + ")");
    return {OutInfo{t, broadcast(n, in[0].shape, in[1].shape)}};
}

std::string check_mod(const Node& n, int) {
    const int64_t fmod = n.attr_int("fmod", 0);
    if (fmod != 0 && fmod != 1) return "Mod with fmod=" + std::to_string(fmod) + " is not supported";
    return "";
}

// Integer remainder: with fmod the sign of the dividend (C's %), else of the divisor (Python's %).
int64_t int_mod(const Node& n, int64_t x, int64_t z, bool fmod, bool u64) {
    if (z == 0) fail(n, "integer division by zero");
    if (u64) return int64_t(uint64_t(x) % uint64_t(z));
    if (z == -1) return 0;  // INT64_MIN % -1 overflows in C++
    int64_t r = x % z;
    if (!fmod && r != 0 && (r < 0) != (z < 0)) r += z;
    return r;
}


void compute_binary(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    const Tensor& a = *in[0];
    const Tensor& b = *in[1];
    Tensor& y = out[0];
    std::array<const Shape*, 2> shapes{&a.shape, &b.shape};
    const OpKind op = n.op;
    if (is_compare(op)) {
        broadcast_for<2>(y.shape, shapes, [&](int64_t o, const std::array<int64_t, 2>& k) {
            double x = a.get(k[0]), z = b.get(k[1]);
            bool r = op == OpKind::Equal          ? x == z
                     : op == OpKind::Less         ? x < z
                     : op == OpKind::Greater      ? x > z
                     : op == OpKind::LessOrEqual  ? x <= z
                                                  : x >= z;
            y.i[size_t(o)] = r;
        });
        return;
    }
    if (is_logical(op)) {
        broadcast_for<2>(y.shape, shapes, [&](int64_t o, const std::array<int64_t, 2>& k) {
            const bool x = a.get(k[0]) != 0, z = b.get(k[1]) != 0;
            y.i[size_t(o)] = op == OpKind::And ? x && z : op == OpKind::Or ? x || z : x != z;
        });
        return;
    }
    if (a.floating()) {
        const float* pa = a.f.data();
        float* py = y.f.data();
        auto run = [&](auto fn) {
            if (b.floating()) {
                const float* pb = b.f.data();
                broadcast_for<2>(y.shape, shapes,
                                 [&](int64_t o, const std::array<int64_t, 2>& k) { py[o] = fn(pa[k[0]], pb[k[1]]); });
            } else {
                broadcast_for<2>(y.shape, shapes, [&](int64_t o, const std::array<int64_t, 2>& k) {
                    py[o] = fn(pa[k[0]], float(b.i[size_t(k[1])]));
                });
            }
        };
        switch (op) {
            case OpKind::Add: run([](float x, float z) { return x + z; }); break;
            case OpKind::Sub: run([](float x, float z) { return x - z; }); break;
            case OpKind::Mul: run([](float x, float z) { return x * z; }); break;
            case OpKind::Div: run([](float x, float z) { return x / z; }); break;
            case OpKind::Pow: run([](float x, float z) { return z == 2.0f ? x * x : std::pow(x, z); }); break;
            case OpKind::Mod: run([](float x, float z) { return std::fmod(x, z); }); break;  // fmod=1 (see infer)
            default: fail(n, "not a binary arithmetic op");
        }
        return;
    }
    // Integer types compute in int64 (Div truncates toward zero, as C and ONNX do).
    int64_t* py = y.i.data();
    auto runi = [&](auto fn) {
        broadcast_for<2>(y.shape, shapes, [&](int64_t o, const std::array<int64_t, 2>& k) {
            py[o] = fn(a.i[size_t(k[0])], b.get_int(k[1]));
        });
    };
    switch (op) {
        case OpKind::Add: runi(wrap_add); break;
        case OpKind::Sub: runi(wrap_sub); break;
        case OpKind::Mul: runi(wrap_mul); break;
        case OpKind::Div:
            runi([&](int64_t x, int64_t z) {
                if (z == 0) fail(n, "integer division by zero");
                return wrap_div(x, z);
            });
            break;
        case OpKind::Pow:
            if (b.floating())
                broadcast_for<2>(y.shape, shapes, [&](int64_t o, const std::array<int64_t, 2>& k) {
                    py[o] = saturating_int64(std::pow(double(a.i[size_t(k[0])]), double(b.f[size_t(k[1])])));
                });
            else
                runi([](int64_t x, int64_t z) { return z < 0 ? saturating_int64(std::pow(double(x), double(z))) : wrap_pow(x, z); });
            break;
        case OpKind::Mod: {
            const bool fmod = n.attr_int("fmod", 0) != 0, u64 = a.type == ElemType::UInt64;
            runi([&](int64_t x, int64_t z) { return int_mod(n, x, z, fmod, u64); });
            break;
        }
        default: fail(n, "not a binary arithmetic op");
    }
}

// Wrap integer results to the element type's width (e.g. uint8 arithmetic).
}  // namespace

// ---- Min / Max / Sum / Mean: any number of inputs, broadcast together ----
static std::vector<OutInfo> infer_variadic(const Node& n, std::span<const InValue> in, int) {
    std::vector<const InValue*> xs;
    for (const InValue& v : in)
        if (v.present) xs.push_back(&v);
    if (xs.empty()) fail(n, "needs at least one input");
    const ElemType t = xs[0]->type;
    for (const InValue* v : xs)
        if (v->type != t && v->type != ElemType::Undefined && t != ElemType::Undefined)
            fail(n, "input types differ (" + elem_type_name(t) + " and " + elem_type_name(v->type) + ")");
    if (n.op == OpKind::Mean) require_floating(n, in);  // an integer mean would need a rounding rule ONNX does not give
    Shape out;
    for (const InValue* v : xs) {
        if (!v->rank_known) return {unknown_rank(t)};
        out = broadcast(n, out, v->shape);
    }
    return {OutInfo{t, out}};
}
static void compute_variadic(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    Tensor& y = out[0];
    const OpKind op = n.op;
    bool first = true;
    int64_t count = 0;
    // y is already broadcast to the output shape, so it is read at the index it is written.
    for (const Tensor* t : in) {
        if (!t) continue;
        ++count;
        const Tensor& x = *t;
        std::array<const Shape*, 2> shapes{&y.shape, &x.shape};
        if (first) {
            first = false;
            std::array<const Shape*, 1> one{&x.shape};
            broadcast_for<1>(y.shape, one, [&](int64_t o, const std::array<int64_t, 1>& k) {
                if (y.floating()) y.f[size_t(o)] = x.f[size_t(k[0])];
                else y.i[size_t(o)] = x.i[size_t(k[0])];
            });
            continue;
        }
        if (y.floating()) {
            float* py = y.f.data();
            const float* px = x.f.data();
            auto run = [&](auto fn) {
                broadcast_for<2>(y.shape, shapes, [&](int64_t o, const std::array<int64_t, 2>& k) { py[o] = fn(py[o], px[k[1]]); });
            };
            // NaN propagates through Min and Max, as numpy's minimum/maximum (ONNX's reference).
            if (op == OpKind::Max) run([](float a, float b) { return b > a || std::isnan(b) ? b : a; });
            else if (op == OpKind::Min) run([](float a, float b) { return b < a || std::isnan(b) ? b : a; });
            else run([](float a, float b) { return a + b; });
        } else {
            int64_t* py = y.i.data();
            const int64_t* px = x.i.data();
            const ElemType t = y.type;
            auto run = [&](auto fn) {
                broadcast_for<2>(y.shape, shapes, [&](int64_t o, const std::array<int64_t, 2>& k) { py[o] = fn(py[o], px[k[1]]); });
            };
            if (op == OpKind::Max) run([&](int64_t a, int64_t b) { return order_key(b, t) > order_key(a, t) ? b : a; });
            else if (op == OpKind::Min) run([&](int64_t a, int64_t b) { return order_key(b, t) < order_key(a, t) ? b : a; });
            else run(wrap_add);
        }
    }
    if (op == OpKind::Mean)
        for (float& v : y.f) v /= float(count);
}

// ---- PRelu: slope broadcasts to X (one way); before opset 7 a 1-D slope is per channel ----
static Shape prelu_slope_shape(const Shape& x, const Shape& slope, int opset) {
    if (opset < 7 && slope.size() == 1 && x.size() >= 2 && slope[0] == x[1]) {
        Shape s(x.size() - 1, 1);  // [C] applies along axis 1, as Caffe2 and PyTorch exported it
        s[0] = slope[0];
        return s;
    }
    return slope;
}
static std::vector<OutInfo> infer_prelu(const Node& n, std::span<const InValue> in, int opset) {
    if (in.size() < 2 || !in[0].present || !in[1].present) fail(n, "needs inputs X and slope");
    const InValue &x = in[0], &slope = in[1];
    if (x.type != slope.type && x.type != ElemType::Undefined && slope.type != ElemType::Undefined)
        fail(n, "input types differ (" + elem_type_name(x.type) + " and " + elem_type_name(slope.type) + ")");
    if (x.rank_known && slope.rank_known) {
        const Shape s = prelu_slope_shape(x.shape, slope.shape, opset);
        const Shape b = broadcast(n, x.shape, s);
        bool ok = b.size() == x.shape.size();
        for (size_t d = 0; ok && d < b.size(); ++d) ok = x.shape[d] < 0 || b[d] == x.shape[d];
        if (!ok) fail(n, "slope " + shape_str(slope.shape) + " does not broadcast to X " + shape_str(x.shape));
    }
    return {OutInfo{x.type, x.shape, x.rank_known}};
}
static void compute_prelu(const Node&, std::span<const Tensor* const> in, std::span<Tensor> out, int opset) {
    const Tensor &x = *in[0], &slope = *in[1];
    Tensor& y = out[0];
    const Shape s = prelu_slope_shape(x.shape, slope.shape, opset);
    std::array<const Shape*, 2> shapes{&x.shape, &s};
    if (y.floating())
        broadcast_for<2>(y.shape, shapes, [&](int64_t o, const std::array<int64_t, 2>& k) {
            const float v = x.f[size_t(k[0])];
            y.f[size_t(o)] = v < 0.0f ? v * slope.f[size_t(k[1])] : v;
        });
    else
        broadcast_for<2>(y.shape, shapes, [&](int64_t o, const std::array<int64_t, 2>& k) {
            const int64_t v = x.i[size_t(k[0])];
            y.i[size_t(o)] = v < 0 ? v * slope.i[size_t(k[1])] : v;
        });
}

// ---- Where ----
static std::vector<OutInfo> infer_where(const Node& n, std::span<const InValue> in, int) {
    if (in.size() < 3) fail(n, "needs three inputs");
    if (!in[0].rank_known || !in[1].rank_known || !in[2].rank_known) return {unknown_rank(in[1].type)};
    return {OutInfo{in[1].type, broadcast(n, broadcast(n, in[0].shape, in[1].shape), in[2].shape)}};
}
static void compute_where(const Node&, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    const Tensor &c = *in[0], &x = *in[1], &z = *in[2];
    Tensor& y = out[0];
    std::array<const Shape*, 3> shapes{&c.shape, &x.shape, &z.shape};
    if (y.floating())
        broadcast_for<3>(y.shape, shapes, [&](int64_t o, const std::array<int64_t, 3>& k) {
            y.f[size_t(o)] = c.get_int(k[0]) ? x.f[size_t(k[1])] : z.f[size_t(k[2])];
        });
    else
        broadcast_for<3>(y.shape, shapes, [&](int64_t o, const std::array<int64_t, 3>& k) {
            y.i[size_t(o)] = c.get_int(k[0]) ? x.i[size_t(k[1])] : z.i[size_t(k[2])];
        });
}

// ---- unary ----
static std::vector<OutInfo> infer_same(const Node& n, std::span<const InValue> in, int) {
    if (in.empty() || !in[0].present) fail(n, "needs an input");
    switch (n.op) {  // ops defined on integers too
        case OpKind::Neg: case OpKind::Abs: case OpKind::Relu: case OpKind::Not: case OpKind::Identity:
        case OpKind::Floor: case OpKind::Ceil: case OpKind::Clip: case OpKind::Dropout: case OpKind::Sign: break;
        default: require_floating(n, in, 1);
    }
    ElemType t = n.op == OpKind::Not ? ElemType::Bool : in[0].type;
    return {OutInfo{t, in[0].shape, in[0].rank_known}};
}

static std::string check_float_only(const Node&, int) { return ""; }

static void compute_unary(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int opset) {
    const Tensor& x = *in[0];
    Tensor& y = out[0];
    const size_t count = size_t(x.numel());
    if (!x.floating()) {
        for (size_t k = 0; k < count; ++k) {
            int64_t v = x.i[k];
            switch (n.op) {
                case OpKind::Neg: y.i[k] = wrap_neg(v); break;
                case OpKind::Abs: y.i[k] = wrap_abs(v); break;
                case OpKind::Relu: y.i[k] = v < 0 ? 0 : v; break;
                case OpKind::Not: y.i[k] = !v; break;
                case OpKind::Sign: y.i[k] = x.type == ElemType::UInt64 ? v != 0 : (v > 0) - (v < 0); break;
                case OpKind::Floor:
                case OpKind::Ceil:
                case OpKind::Round:
                case OpKind::Identity:
                case OpKind::Dropout: y.i[k] = v; break;
                default: fail(n, "needs a floating-point input, got " + elem_type_name(x.type));
            }
        }
        return;
    }
    const float* px = x.f.data();
    float* py = y.f.data();
    const float alpha_leaky = n.attr_float("alpha", 0.01f);
    const float hs_alpha = n.attr_float("alpha", 0.2f), hs_beta = n.attr_float("beta", 0.5f);
    const float alpha_one = n.attr_float("alpha", 1.0f);  // Elu, Celu, ThresholdedRelu
    const float selu_alpha = n.attr_float("alpha", 1.67326319217681884765625f);
    const float selu_gamma = n.attr_float("gamma", 1.05070102214813232421875f);
    (void)opset;
    auto apply = [&](auto fn) {
        for (size_t k = 0; k < count; ++k) py[k] = fn(px[k]);
    };
    switch (n.op) {
        case OpKind::Sqrt: apply([](float v) { return std::sqrt(v); }); break;
        case OpKind::Neg: apply([](float v) { return -v; }); break;
        case OpKind::Reciprocal: apply([](float v) { return 1.0f / v; }); break;
        case OpKind::Exp: apply([](float v) { return std::exp(v); }); break;
        case OpKind::Log: apply([](float v) { return std::log(v); }); break;
        case OpKind::Abs: apply([](float v) { return std::fabs(v); }); break;
        case OpKind::Floor: apply([](float v) { return std::floor(v); }); break;
        case OpKind::Ceil: apply([](float v) { return std::ceil(v); }); break;
        case OpKind::Relu: apply([](float v) { return v > 0.0f ? v : 0.0f; }); break;
        case OpKind::LeakyRelu: apply([&](float v) { return v >= 0.0f ? v : alpha_leaky * v; }); break;
        case OpKind::Sigmoid:
            apply([](float v) { return v >= 0 ? 1.0f / (1.0f + std::exp(-v)) : std::exp(v) / (1.0f + std::exp(v)); });
            break;
        case OpKind::Tanh: apply([](float v) { return std::tanh(v); }); break;
        case OpKind::HardSigmoid:
            apply([&](float v) { return std::max(0.0f, std::min(1.0f, hs_alpha * v + hs_beta)); });
            break;
        case OpKind::HardSwish:
            apply([](float v) { return v * std::max(0.0f, std::min(1.0f, v / 6.0f + 0.5f)); });
            break;
        case OpKind::Erf: apply([](float v) { return std::erf(v); }); break;
        case OpKind::Softplus:
            apply([](float v) { return v > 20.0f ? v : std::log1p(std::exp(v)); });
            break;
        case OpKind::Elu: apply([&](float v) { return v >= 0.0f ? v : alpha_one * std::expm1(v); }); break;
        case OpKind::Selu:
            apply([&](float v) { return v > 0.0f ? selu_gamma * v : selu_gamma * selu_alpha * std::expm1(v); });
            break;
        case OpKind::Celu:
            apply([&](float v) { return v > 0.0f ? v : alpha_one * std::expm1(v / alpha_one); });
            break;
        case OpKind::Softsign: apply([](float v) { return v / (1.0f + std::fabs(v)); }); break;
        case OpKind::ThresholdedRelu: apply([&](float v) { return v > alpha_one ? v : 0.0f; }); break;
        case OpKind::Mish:
            apply([](float v) { return v * std::tanh(v > 20.0f ? v : std::log1p(std::exp(v))); });
            break;
        case OpKind::Sin: apply([](float v) { return std::sin(v); }); break;
        case OpKind::Cos: apply([](float v) { return std::cos(v); }); break;
        case OpKind::Tan: apply([](float v) { return std::tan(v); }); break;
        case OpKind::Asin: apply([](float v) { return std::asin(v); }); break;
        case OpKind::Acos: apply([](float v) { return std::acos(v); }); break;
        case OpKind::Atan: apply([](float v) { return std::atan(v); }); break;
        case OpKind::Sinh: apply([](float v) { return std::sinh(v); }); break;
        case OpKind::Cosh: apply([](float v) { return std::cosh(v); }); break;
        case OpKind::Asinh: apply([](float v) { return std::asinh(v); }); break;
        case OpKind::Acosh: apply([](float v) { return std::acosh(v); }); break;
        case OpKind::Atanh: apply([](float v) { return std::atanh(v); }); break;
        case OpKind::Round: apply([](float v) { return std::nearbyint(v); }); break;  // half to even
        case OpKind::Sign: apply([](float v) { return v > 0.0f ? 1.0f : v < 0.0f ? -1.0f : v; }); break;  // keeps NaN
        case OpKind::Identity:
        case OpKind::Dropout: apply([](float v) { return v; }); break;
        default: fail(n, "not a unary op");
    }
}

// ---- Clip: min/max as attributes before opset 11, as optional inputs after ----
static void compute_clip(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int opset) {
    const Tensor& x = *in[0];
    Tensor& y = out[0];
    double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
    if (opset < 11) {
        lo = n.attr_float("min", -std::numeric_limits<float>::infinity());
        hi = n.attr_float("max", std::numeric_limits<float>::infinity());
    } else {
        if (in.size() > 1 && in[1]) lo = in[1]->get(0);
        if (in.size() > 2 && in[2]) hi = in[2]->get(0);
    }
    if (x.floating()) {
        for (size_t k = 0; k < x.f.size(); ++k) {
            float v = x.f[k];
            if (v < lo) v = float(lo);
            if (v > hi) v = float(hi);
            y.f[k] = v;
        }
    } else {
        for (size_t k = 0; k < x.i.size(); ++k) {
            double v = double(x.i[k]);
            y.i[k] = int64_t(std::min(std::max(v, lo), hi));
        }
    }
}

// ---- Cast ----
static std::vector<OutInfo> infer_cast(const Node& n, std::span<const InValue> in, int) {
    return {OutInfo{ElemType(n.attr_int("to", 1)), in[0].shape, in[0].rank_known}};
}
// CastLike: Cast to the element type of the second input.
static std::vector<OutInfo> infer_cast_like(const Node& n, std::span<const InValue> in, int) {
    if (in.size() < 2 || !in[0].present || !in[1].present) fail(n, "needs an input and a target");
    if (!is_supported_type(int(in[1].type)))
        unsupported(n, "CastLike to element type " + elem_type_name(in[1].type) + " is not supported");
    return {OutInfo{in[1].type, in[0].shape, in[0].rank_known}};
}
static std::string check_cast(const Node& n, int) {
    int64_t to = n.attr_int("to", 0);
    if (!is_supported_type(int(to))) return "Cast to element type " + elem_type_name(ElemType(to)) + " is not supported";
    return "";
}
static int64_t wrap_int(int64_t v, ElemType t) {
    switch (t) {
        case ElemType::UInt8: return int64_t(uint8_t(v));
        case ElemType::Int8: return int64_t(int8_t(v));
        case ElemType::UInt16: return int64_t(uint16_t(v));
        case ElemType::Int16: return int64_t(int16_t(v));
        case ElemType::Int32: return int64_t(int32_t(v));
        case ElemType::UInt32: return int64_t(uint32_t(v));
        case ElemType::Bool: return v != 0;
        default: return v;
    }
}
static void compute_cast(const Node&, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    const Tensor& x = *in[0];
    Tensor& y = out[0];
    const size_t count = size_t(x.numel());
    for (size_t k = 0; k < count; ++k) {
        if (y.floating()) {
            y.f[k] = x.floating() ? x.f[k] : float(x.i[k]);
        } else if (x.floating()) {
            float v = x.f[k];
            if (y.type == ElemType::Bool)
                y.i[k] = v != 0.0f;
            else
                y.i[k] = std::isfinite(v) ? wrap_int(int64_t(v), y.type) : 0;
        } else {
            y.i[k] = wrap_int(x.i[k], y.type);
        }
    }
}

// ---- IsNaN, IsInf: a boolean per element ----
static std::vector<OutInfo> infer_is_class(const Node& n, std::span<const InValue> in, int) {
    if (in.empty() || !in[0].present) fail(n, "needs an input");
    require_floating(n, in, 1);
    return {OutInfo{ElemType::Bool, in[0].shape, in[0].rank_known}};
}
static void compute_is_class(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    const Tensor& x = *in[0];
    Tensor& y = out[0];
    const bool neg = n.attr_int("detect_negative", 1) != 0, pos = n.attr_int("detect_positive", 1) != 0;
    for (size_t k = 0; k < x.f.size(); ++k) {
        const float v = x.f[k];
        y.i[k] = n.op == OpKind::IsNaN ? std::isnan(v) : std::isinf(v) && (v > 0 ? pos : neg);
    }
}

// ---- Shrink: y = x + bias below -lambd, x - bias above lambd, else 0 ----
static void compute_shrink(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    const Tensor& x = *in[0];
    Tensor& y = out[0];
    const double lambd = n.attr_float("lambd", 0.5f), bias = n.attr_float("bias", 0.0f);
    for (int64_t k = 0; k < x.numel(); ++k) {
        const double v = x.get(k), r = v < -lambd ? v + bias : v > lambd ? v - bias : 0.0;
        if (y.floating()) y.f[size_t(k)] = float(r);
        else y.i[size_t(k)] = int64_t(r);
    }
}
static std::vector<OutInfo> infer_shrink(const Node& n, std::span<const InValue> in, int) {
    if (in.empty() || !in[0].present) fail(n, "needs an input");
    return {OutInfo{in[0].type, in[0].shape, in[0].rank_known}};
}

// ---- QuantizeLinear / DequantizeLinear (opsets 10 and 13) ----
// What quantized (QDQ) exports put around weights and activations. The scale and zero point are
// scalars (per tensor) or, from opset 13, 1-D along `axis` of x (per channel).
static int64_t qdq_axis(const Node& n, std::span<const InValue> in) {
    const InValue& s = in[1];
    if (s.present && s.type != ElemType::Float) unsupported(n, "a scale of element type " + elem_type_name(s.type));
    if (!s.rank_known || s.shape.empty() || (s.shape.size() == 1 && s.shape[0] == 1)) return -1;  // per tensor
    if (s.shape.size() != 1) fail(n, "the scale must be a scalar or 1-D, got " + shape_str(s.shape));
    if (!in[0].rank_known) return -1;
    const int64_t axis = norm_axis(n, n.attr_int("axis", 1), int64_t(in[0].shape.size()));
    const int64_t c = in[0].shape[size_t(axis)];
    if (c >= 0 && s.shape[0] >= 0 && s.shape[0] != c)
        fail(n, "the scale has " + std::to_string(s.shape[0]) + " values, axis " + std::to_string(axis) + " of the input has " +
                    std::to_string(c));
    return axis;
}
static void qdq_check_zero_point(const Node& n, std::span<const InValue> in) {
    if (in.size() < 3 || !in[2].present || !in[2].rank_known || !in[1].rank_known) return;
    if (shape_numel(in[2].shape) != shape_numel(in[1].shape))
        fail(n, "the zero point " + shape_str(in[2].shape) + " does not match the scale " + shape_str(in[1].shape));
}
static std::vector<OutInfo> infer_quantize(const Node& n, std::span<const InValue> in, int) {
    if (!is_floating(in[0].type) && in[0].type != ElemType::Int32) unsupported(n, "QuantizeLinear of " + elem_type_name(in[0].type));
    const ElemType t = in.size() > 2 && in[2].present ? in[2].type : ElemType::UInt8;
    if (t != ElemType::UInt8 && t != ElemType::Int8) unsupported(n, "QuantizeLinear to element type " + elem_type_name(t) + " is not supported");
    qdq_axis(n, in);
    qdq_check_zero_point(n, in);
    return {OutInfo{t, in[0].shape, in[0].rank_known}};
}
static std::vector<OutInfo> infer_dequantize(const Node& n, std::span<const InValue> in, int) {
    const ElemType t = in[0].type;
    if (t != ElemType::UInt8 && t != ElemType::Int8 && t != ElemType::Int32)
        unsupported(n, "DequantizeLinear of element type " + elem_type_name(t) + " is not supported");
    qdq_axis(n, in);
    qdq_check_zero_point(n, in);
    return {OutInfo{ElemType::Float, in[0].shape, in[0].rank_known}};
}
// Calls f(k, channel) for every element k of x, with the channel along axis (0 when per tensor).
template <class F>
static void for_each_channel(const Tensor& x, int64_t axis, F&& f) {
    const int64_t count = x.numel();
    if (axis < 0) {
        for (int64_t k = 0; k < count; ++k) f(k, int64_t(0));
        return;
    }
    int64_t inner = 1;
    for (size_t d = size_t(axis) + 1; d < x.shape.size(); ++d) inner *= x.shape[d];
    const int64_t channels = x.shape[size_t(axis)];
    for (int64_t k = 0; k < count; ++k) f(k, (k / inner) % channels);
}
static void compute_quantize(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    const Tensor& x = *in[0];
    const Tensor& scale = *in[1];
    const Tensor* zp = in.size() > 2 ? in[2] : nullptr;
    Tensor& y = out[0];
    const int64_t lo = y.type == ElemType::UInt8 ? 0 : -128, hi = y.type == ElemType::UInt8 ? 255 : 127;
    for_each_channel(x, qdq_axis(n, as_values(in)), [&](int64_t k, int64_t c) {
        // In float32 as ONNX defines it (x / scale rounds before the rounding to an integer), round
        // half to even (nearbyint in the default rounding mode), then saturate.
        const float ratio = float(x.get(k)) / scale.f[size_t(c)];
        const double q = double(std::nearbyint(ratio)) + (zp ? double(zp->get_int(c)) : 0.0);
        y.i[size_t(k)] = std::isnan(q) ? 0 : int64_t(std::clamp(q, double(lo), double(hi)));
    });
}
static void compute_dequantize(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    const Tensor& x = *in[0];
    const Tensor& scale = *in[1];
    const Tensor* zp = in.size() > 2 ? in[2] : nullptr;
    Tensor& y = out[0];
    for_each_channel(x, qdq_axis(n, as_values(in)), [&](int64_t k, int64_t c) {
        y.f[size_t(k)] = float(double(x.i[size_t(k)] - (zp ? zp->get_int(c) : 0)) * double(scale.get(c)));
    });
}

void register_elementwise(OpDef* t) {
    for (OpKind op : {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div, OpKind::Pow, OpKind::Equal, OpKind::Less,
                      OpKind::Greater, OpKind::LessOrEqual, OpKind::GreaterOrEqual, OpKind::And, OpKind::Or, OpKind::Xor})
        t[size_t(op)] = {infer_binary, compute_binary, nullptr};
    t[size_t(OpKind::Mod)] = {infer_binary, compute_binary, check_mod};
    for (OpKind op : {OpKind::Sqrt, OpKind::Neg, OpKind::Reciprocal, OpKind::Exp, OpKind::Log, OpKind::Abs,
                      OpKind::Floor, OpKind::Ceil, OpKind::Relu, OpKind::LeakyRelu, OpKind::Sigmoid, OpKind::Tanh,
                      OpKind::HardSigmoid, OpKind::HardSwish, OpKind::Erf, OpKind::Softplus, OpKind::Not,
                      OpKind::Identity, OpKind::Elu, OpKind::Selu, OpKind::Celu, OpKind::Softsign,
                      OpKind::ThresholdedRelu, OpKind::Mish, OpKind::Sin, OpKind::Cos, OpKind::Tan, OpKind::Sign,
                      OpKind::Asin, OpKind::Acos, OpKind::Atan, OpKind::Sinh, OpKind::Cosh, OpKind::Asinh, OpKind::Acosh,
                      OpKind::Atanh, OpKind::Round})
        t[size_t(op)] = {infer_same, compute_unary, check_float_only};
    for (OpKind op : {OpKind::Min, OpKind::Max, OpKind::Sum, OpKind::Mean})
        t[size_t(op)] = {infer_variadic, compute_variadic, nullptr};
    t[size_t(OpKind::PRelu)] = {infer_prelu, compute_prelu, nullptr};
    t[size_t(OpKind::Where)] = {infer_where, compute_where, nullptr};
    t[size_t(OpKind::Clip)] = {infer_same, compute_clip, nullptr};
    t[size_t(OpKind::Cast)] = {infer_cast, compute_cast, check_cast};
    t[size_t(OpKind::CastLike)] = {infer_cast_like, compute_cast, nullptr};
    for (OpKind op : {OpKind::IsNaN, OpKind::IsInf}) t[size_t(op)] = {infer_is_class, compute_is_class, nullptr};
    t[size_t(OpKind::Shrink)] = {infer_shrink, compute_shrink, nullptr};
    t[size_t(OpKind::QuantizeLinear)] = {infer_quantize, compute_quantize, nullptr};
    t[size_t(OpKind::DequantizeLinear)] = {infer_dequantize, compute_dequantize, nullptr};
}

}  // namespace cim::kern
