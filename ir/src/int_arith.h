// Integer arithmetic of ONNX integer tensors: two's-complement wrap-around, as ONNX Runtime's
// int64 kernels behave, never C++'s undefined signed overflow (a model's constants are untrusted).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace cim::kern {

inline int64_t wrap_add(int64_t a, int64_t b) { return int64_t(uint64_t(a) + uint64_t(b)); }
inline int64_t wrap_sub(int64_t a, int64_t b) { return int64_t(uint64_t(a) - uint64_t(b)); }
inline int64_t wrap_mul(int64_t a, int64_t b) { return int64_t(uint64_t(a) * uint64_t(b)); }
inline int64_t wrap_neg(int64_t a) { return int64_t(uint64_t(0) - uint64_t(a)); }
inline int64_t wrap_abs(int64_t a) { return a < 0 ? wrap_neg(a) : a; }
// INT64_MIN / -1 is the one quotient that overflows (a trap on x86, not just a wrong value).
inline int64_t wrap_div(int64_t a, int64_t b) { return b == -1 ? wrap_neg(a) : a / b; }
// base^e for e >= 0 by squaring: O(log e) steps, so an exponent of 10^18 cannot hang the importer.
inline int64_t wrap_pow(int64_t base, int64_t e) {
    uint64_t r = 1, b = uint64_t(base);
    for (uint64_t k = uint64_t(e); k; k >>= 1, b *= b)
        if (k & 1) r *= b;
    return int64_t(r);
}
// A double to int64 with out-of-range values saturated and NaN as 0 (a plain cast is undefined).
inline int64_t saturating_int64(double v) {
    if (std::isnan(v)) return 0;
    if (v >= 9.2233720368547758e18) return std::numeric_limits<int64_t>::max();
    if (v <= -9.2233720368547758e18) return std::numeric_limits<int64_t>::min();
    return int64_t(v);
}

}  // namespace cim::kern
