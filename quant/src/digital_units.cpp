// Integer arithmetic of the digital units (cim/quant/digital_units.h has the formulas).
// Intermediates are computed in 128 bits and saturated at the declared accumulator width, so an
// extreme scale saturates as the hardware would instead of overflowing.
#include <cim/quant/digital_units.h>

#include <algorithm>
#include <cmath>

namespace cim::quant::digital {

namespace {

using i128 = __int128;

int64_t sat128(i128 v, int bits) {
    const i128 hi = (i128(1) << (bits - 1)) - 1, lo = -hi - 1;
    return int64_t(v > hi ? hi : v < lo ? lo : v);
}

// floor(v), saturated at `bits` (v may be huge for a tiny scale).
int64_t floor_sat(double v, int bits) {
    const double hi = std::ldexp(1.0, std::min(bits, 62) - 1) - 1;  // exact in double, and castable
    if (!(v > -hi)) return int64_t(-hi);
    if (v >= hi) return int64_t(hi);
    return int64_t(std::floor(v));
}

int ceil_log2(int64_t n) {
    int b = 0;
    while ((int64_t(1) << b) < n) ++b;
    return b;
}

// round(a / b) for b > 0, halves away from zero.
i128 div_round(i128 a, i128 b) { return a >= 0 ? (2 * a + b) / (2 * b) : -((-2 * a + b) / (2 * b)); }

}  // namespace

int32_t max_code(int bits) { return int32_t((int64_t(1) << (bits - 1)) - 1); }

double symmetric_scale(std::span<const float> x, int bits) {
    float m = 0;
    for (float v : x) m = std::max(m, std::fabs(v));  // NaN is ignored
    return m > 0 && std::isfinite(m) ? double(m) / max_code(bits) : 1.0;
}

int32_t to_code(float x, double scale, int bits) {
    const double hi = max_code(bits);
    double v = std::nearbyint(double(x) / scale);
    v = v >= -hi ? (v <= hi ? v : hi) : -hi;  // NaN -> -hi
    return int32_t(v);
}

int64_t saturate(int64_t v, int bits) { return bits >= 64 ? v : sat128(v, bits); }

int64_t isqrt(int64_t v) {
    if (v <= 0) return 0;
    int64_t r = int64_t(std::sqrt(double(v)));
    while (i128(r) * r > v) --r;
    while (i128(r + 1) * (r + 1) <= v) ++r;
    return r;
}

void softmax_row(const DigitalSpec& spec, const int32_t* q, int64_t n, int64_t stride, double scale, int32_t* p,
                 int64_t out_stride) {
    const int A = spec.accumulator_bits, b = spec.activation_bits;
    const int64_t top = (int64_t(1) << b) - 1;  // probability 1
    int32_t mx = q[0];
    for (int64_t k = 1; k < n; ++k) mx = std::max(mx, q[k * stride]);
    // The exp of each code distance d = mx - q >= 0, in fixed point.
    std::vector<int64_t> e(static_cast<size_t>(n));
    if (spec.softmax == DigitalFunction::lut) {
        const int F = std::max(1, std::min(16, A - 2 - ceil_log2(n)));
        for (int64_t k = 0; k < n; ++k) {
            const int64_t d = int64_t(mx) - q[k * stride];
            e[size_t(k)] = int64_t(std::nearbyint(std::ldexp(std::exp(-double(d) * scale), F)));
        }
    } else {
        const int64_t q_ln2 = std::max<int64_t>(1, floor_sat(std::log(2.0) / scale, A));
        const int64_t q_b = floor_sat(1.353 / scale, A);
        const int64_t q_c = floor_sat(0.344 / (0.3585 * scale * scale), A);
        for (int64_t k = 0; k < n; ++k) {
            const int64_t d = int64_t(mx) - q[k * stride];
            const int64_t z = d / q_ln2, r = d - z * q_ln2;
            const i128 t = i128(q_b) - r;
            const int64_t L = sat128(t * t + q_c, A);
            e[size_t(k)] = z >= 63 ? 0 : (L >> z);
        }
    }
    i128 S = 0;
    for (int64_t v : e) S += v;
    const int64_t sum = sat128(S, A);
    for (int64_t k = 0; k < n; ++k)
        p[k * out_stride] = sum > 0 ? int32_t(std::min<i128>(top, (2 * i128(e[size_t(k)]) * top + sum) / (2 * i128(sum))))
                                    : 0;
}

LayerNormParams layernorm_params(const DigitalSpec& spec, std::span<const float> gamma, std::span<const float> beta,
                                 int64_t n) {
    LayerNormParams P;
    const int b = spec.activation_bits;
    P.fraction_bits = b;
    std::vector<float> g(gamma.begin(), gamma.end());
    if (g.empty()) g.assign(size_t(n), 1.0f);
    if (g.size() == 1) g.assign(size_t(n), g[0]);
    P.gamma_scale = symmetric_scale(g, b);
    P.gamma.resize(size_t(n));
    for (int64_t k = 0; k < n; ++k) P.gamma[size_t(k)] = to_code(g[size_t(k)], P.gamma_scale, b);
    P.out_scale = std::ldexp(P.gamma_scale, -P.fraction_bits);
    if (!beta.empty()) {
        P.beta.resize(size_t(n));
        for (int64_t k = 0; k < n; ++k) {
            const float v = beta[beta.size() == 1 ? 0 : size_t(k)];
            P.beta[size_t(k)] = floor_sat(std::nearbyint(double(v) / P.out_scale), spec.accumulator_bits);
        }
    }
    return P;
}

void layernorm_row(const DigitalSpec& spec, const LayerNormParams& P, const int32_t* q, int64_t n, double scale,
                   double epsilon, int64_t* out) {
    const int A = spec.accumulator_bits, F = P.fraction_bits;
    i128 Q = 0;
    for (int64_t k = 0; k < n; ++k) Q += q[k];
    const int64_t mu = int64_t(Q >= 0 ? (2 * Q + n) / (2 * n) : -((-2 * Q + n) / (2 * n)));
    i128 V = 0;
    for (int64_t k = 0; k < n; ++k) V += i128(q[k] - mu) * (q[k] - mu);
    const int64_t sum_sq = sat128(V, A);
    const int64_t eps_code = floor_sat(std::nearbyint(epsilon / (scale * scale)), A);
    // G fraction bits of sigma, as many as the accumulator holds (at most 8).
    int G = 0;
    while (G < 8 && ((i128(sum_sq) << (2 * (G + 1))) / n + (i128(eps_code) << (2 * (G + 1)))) <
                        (i128(1) << (A - 1)))
        ++G;
    const int64_t var = sat128((i128(sum_sq) << (2 * G)) / n + (i128(eps_code) << (2 * G)), A);
    const int64_t sigma = isqrt(var);
    for (int64_t k = 0; k < n; ++k) {
        const int64_t v = q[k] - mu;
        const int64_t y = sigma > 0 ? sat128(div_round(i128(v) * (i128(1) << (F + G)), sigma), A) : 0;
        const i128 o = i128(y) * P.gamma[size_t(k)] + (P.beta.empty() ? 0 : P.beta[size_t(k)]);
        out[k] = sat128(o, A);
    }
}

void gelu(const DigitalSpec& spec, const int32_t* q, int64_t n, double s, float* y) {
    const int A = spec.accumulator_bits, b = spec.activation_bits;
    if (spec.gelu == DigitalFunction::lut) {
        // Entries computed per code as the table holds them.
        const double hi = max_code(b);
        for (int64_t k = 0; k < n; ++k) {
            const double x = double(q[k]) * s;
            double t = std::nearbyint(0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))) / s);
            t = std::clamp(t, -hi, hi);
            y[k] = float(t * s);
        }
        return;
    }
    const double a = -0.2888, bb = -1.769, s_e = s / std::sqrt(2.0);
    const int64_t q_b = floor_sat(bb / s_e, A);              // negative
    const int64_t q_c = floor_sat(1.0 / (a * s_e * s_e), A);  // negative
    const double out_scale = s * a * s_e * s_e / 2.0;
    for (int64_t k = 0; k < n; ++k) {
        const int64_t m = std::min<int64_t>(std::abs(int64_t(q[k])), -q_b);
        const i128 t = i128(m) + q_b;
        const int64_t L = sat128((q[k] > 0 ? 1 : q[k] < 0 ? -1 : 0) * (t * t + q_c), A);
        const int64_t o = sat128(i128(q[k]) * (i128(L) + q_c), A);
        y[k] = float(double(o) * out_scale);
    }
}

bool elementwise(const DigitalSpec& spec, OpKind op, const Tensor& a, bool a_constant, const Tensor& b,
                 bool b_constant, Tensor& y) {
    const Shape& out = y.shape;
    const int64_t n = y.numel(), r = int64_t(out.size());
    // Index of each output element in an operand: itself, or through the broadcast of a constant.
    auto strides_for = [&](const Tensor& t, bool constant, std::vector<int64_t>& st) -> bool {
        if (!constant) return t.shape == out;
        if (int64_t(t.shape.size()) > r) return false;
        st.assign(size_t(r), 0);
        int64_t stride = 1;
        for (int64_t d = r - 1, e = int64_t(t.shape.size()) - 1; e >= 0; --d, --e) {
            const int64_t dim = t.shape[size_t(e)];
            if (dim != 1 && dim != out[size_t(d)]) return false;
            st[size_t(d)] = dim == 1 ? 0 : stride;
            stride *= dim;
        }
        return true;
    };
    std::vector<int64_t> sa_st, sb_st;
    if ((a_constant && b_constant) || !strides_for(a, a_constant, sa_st) || !strides_for(b, b_constant, sb_st)) return false;
    auto index = [&](const std::vector<int64_t>& st, int64_t i) {
        if (st.empty()) return i;
        int64_t at = 0;
        for (int64_t d = r - 1; d >= 0; --d) {
            at += (i % out[size_t(d)]) * st[size_t(d)];
            i /= out[size_t(d)];
        }
        return at;
    };
    const int bits = spec.activation_bits, A = spec.accumulator_bits;
    const int64_t B = r >= 2 ? out[0] : 1, per_item = n / std::max<int64_t>(1, B);
    const double sa_whole = a_constant ? symmetric_scale(a.f, bits) : 0, sb_whole = b_constant ? symmetric_scale(b.f, bits) : 0;
    for (int64_t item = 0; item < B; ++item) {
        const int64_t i0 = item * per_item;
        auto item_scale = [&](const Tensor& t) {
            return symmetric_scale(std::span<const float>(t.f.data() + i0, size_t(per_item)), bits);
        };
        const double sa = a_constant ? sa_whole : item_scale(a), sb = b_constant ? sb_whole : item_scale(b);
        if (op == OpKind::Mul) {
            for (int64_t i = i0; i < i0 + per_item; ++i) {
                const int64_t qa = to_code(a.f[size_t(index(sa_st, i))], sa, bits);
                const int64_t qb = to_code(b.f[size_t(index(sb_st, i))], sb, bits);
                y.f[size_t(i)] = float(double(saturate(qa * qb, A)) * sa * sb);
            }
            continue;
        }
        const double s = std::max(sa, sb);
        const int64_t ma = std::llround(std::ldexp(sa / s, 15)), mb = std::llround(std::ldexp(sb / s, 15));
        const int64_t sign = op == OpKind::Sub ? -1 : 1;
        for (int64_t i = i0; i < i0 + per_item; ++i) {
            const int64_t ra = (to_code(a.f[size_t(index(sa_st, i))], sa, bits) * ma + (int64_t(1) << 14)) >> 15;
            const int64_t rb = (to_code(b.f[size_t(index(sb_st, i))], sb, bits) * mb + (int64_t(1) << 14)) >> 15;
            y.f[size_t(i)] = float(double(saturate(ra + sign * rb, A)) * s);
        }
    }
    return true;
}

}  // namespace cim::quant::digital
