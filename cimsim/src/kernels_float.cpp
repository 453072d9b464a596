// Float kernels of a read (read_kernels.h): conductance rows added per set input bit, and the ADC
// conversion. Compiled for AVX-512, AVX2 and a baseline, chosen at run time.
#include "read_kernels.h"

#include <algorithm>
#include <cmath>

#define CIM_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

namespace cim::sim::detail {

#define CIM_DEFINE_PLANE_SUMS(T)                                                                              \
    CIM_SIMD_CLONES                                                                                           \
    void plane_sums(const T* __restrict G, int64_t J, const int32_t* __restrict x, int64_t rows, int planes,  \
                    int dac_bits, bool sign_magnitude, T* __restrict S, float* __restrict sq) {               \
        std::fill(S, S + planes * J, T(0));                                                                   \
        std::fill(sq, sq + planes, 0.0f);                                                                     \
        const int32_t mask = int32_t((int64_t(1) << dac_bits) - 1);                                           \
        for (int64_t k = 0; k < rows; ++k) {                                                                  \
            const bool negative = sign_magnitude && x[k] < 0;                                                 \
            const int32_t v = negative ? -x[k] : x[k];                                                        \
            if (v == 0) continue;                                                                             \
            const T* __restrict g = G + k * J;                                                                \
            for (int p = 0; p < planes; ++p) {                                                                \
                const int32_t pv = (v >> (p * dac_bits)) & mask;                                              \
                if (pv == 0) continue;                                                                        \
                T* __restrict s = S + p * J;                                                                  \
                const T f = negative ? -T(pv) : T(pv);                                                        \
                sq[p] += float(f * f);                                                                        \
                if (pv == 1 && !negative)                                                                     \
                    for (int64_t j = 0; j < J; ++j) s[j] += g[j];                                             \
                else                                                                                          \
                    for (int64_t j = 0; j < J; ++j) s[j] += f * g[j];                                         \
            }                                                                                                 \
        }                                                                                                     \
    }
CIM_DEFINE_PLANE_SUMS(float)
CIM_DEFINE_PLANE_SUMS(double)

// The conversion loop of one variant, without branches so that it vectorizes (the variants are
// chosen once per plane, outside the loop).
template <class T, bool kIrDrop, bool kNoise>
__attribute__((always_inline)) inline int64_t convert_loop(const T* __restrict s, int64_t J, const float* __restrict inv_lsb,
                                                           const float* __restrict lsb_w, float lo, float top, float offset,
                                                           const float* __restrict z, float read_sigma, float adc_sigma, float ir_drop,
                                                           float inv_full, double* __restrict acc) {
    int clipped = 0;
    const float adc_var = adc_sigma * adc_sigma;
    const int bipolar = lo < 0;
    for (int64_t j = 0; j < J; ++j) {
        T v = s[j];
        if constexpr (kIrDrop) v = v / (T(1) + T(ir_drop) * v * T(inv_full));
        T c = v * T(inv_lsb[j]) + T(offset);
        if constexpr (kNoise) {
            const float r = read_sigma * inv_lsb[j];
            c += T(__builtin_sqrtf(r * r + adc_var)) * T(z[j]);
        }
        c = std::rint(c);
        clipped += int(c > T(top)) | (bipolar & int(c < T(lo)));
        c = std::min(std::max(c, T(lo)), T(top));
        acc[j] += double(c) * double(lsb_w[j]);
    }
    return clipped;
}

#define CIM_DEFINE_CONVERT(T)                                                                                                \
    CIM_SIMD_CLONES                                                                                                          \
    int64_t convert_plane(const T* s, int64_t J, const float* inv_lsb, const float* lsb_w, float lo, float top, float offset,  \
                          const float* z, float read_sigma, float adc_sigma, float ir_drop, float inv_full, double* acc) {     \
        if (ir_drop > 0)                                                                                                     \
            return z ? convert_loop<T, true, true>(s, J, inv_lsb, lsb_w, lo, top, offset, z, read_sigma, adc_sigma, ir_drop,  \
                                                   inv_full, acc)                                                            \
                     : convert_loop<T, true, false>(s, J, inv_lsb, lsb_w, lo, top, offset, z, read_sigma, adc_sigma, ir_drop, \
                                                    inv_full, acc);                                                          \
        return z ? convert_loop<T, false, true>(s, J, inv_lsb, lsb_w, lo, top, offset, z, read_sigma, adc_sigma, ir_drop,     \
                                                inv_full, acc)                                                               \
                 : convert_loop<T, false, false>(s, J, inv_lsb, lsb_w, lo, top, offset, z, read_sigma, adc_sigma, ir_drop,    \
                                                 inv_full, acc);                                                             \
    }                                                                                                                        \
    /* No ADC (digital macros): the column sum itself. */                                                                    \
    CIM_SIMD_CLONES                                                                                                          \
    void accumulate_plane(const T* __restrict s, int64_t J, const float* __restrict w, double* __restrict acc) {              \
        for (int64_t j = 0; j < J; ++j) acc[j] += double(s[j]) * double(w[j]);                                              \
    }                                                                                                                        \
    /* The popcount kernel's integer sums as conductance sums: drift x (g_off x (P - 2 P-_j) + sum_j). */                     \
    CIM_SIMD_CLONES                                                                                                          \
    void conductance_sums(const int32_t* __restrict sums, const int32_t* __restrict pneg, int64_t J, double P, double g_off, \
                          double drift, T* __restrict out) {                                                                 \
        if (g_off == 0 && drift == 1.0) {                                                                                    \
            for (int64_t j = 0; j < J; ++j) out[j] = T(sums[j]);                                                             \
        } else if (!pneg) {                                                                                                  \
            for (int64_t j = 0; j < J; ++j) out[j] = T(drift * (g_off * P + double(sums[j])));                               \
        } else {                                                                                                             \
            for (int64_t j = 0; j < J; ++j) out[j] = T(drift * (g_off * (P - 2.0 * double(pneg[j])) + double(sums[j])));     \
        }                                                                                                                    \
    }
CIM_DEFINE_CONVERT(float)
CIM_DEFINE_CONVERT(double)

}  // namespace cim::sim::detail
