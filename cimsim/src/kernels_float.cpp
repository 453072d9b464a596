// Float kernels of a read (read_kernels.h): conductance rows added per set input bit, a block of
// vectors and one column tile at a time, and the ADC conversion. Compiled for AVX-512, AVX2 and a baseline, chosen at run time.
#include "read_kernels.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <type_traits>
#include <vector>

#define CIM_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

namespace cim::sim::detail {

namespace {

template <class T, class O>
__attribute__((always_inline)) inline void store(const T* __restrict acc, int64_t width, O* __restrict out, O out_scale) {
    if constexpr (std::is_same_v<T, O>)
        for (int64_t t = 0; t < width; ++t) out[t] = acc[t];
    else
        for (int64_t t = 0; t < width; ++t) out[t] = O(acc[t]) * out_scale;
}

// One (vector, plane) read's sums over one column tile: g points at the tile's first row. Fixed-point
// sums (T = int16_t) wrap in int16 lanes, which tile_fixed_point's bound keeps from happening, and
// go out as float x out_scale; float and double sums go out as they are.
template <class T, class O>
__attribute__((always_inline)) inline void add_rows(const T* __restrict g, const RowTerm<T>* terms, int64_t n, int64_t width,
                                                    O* __restrict out, O out_scale) {
    constexpr int64_t W = kTile<T>;
    T acc[W] = {};
    for (int64_t i = 0; i < n; ++i) {
        const T* __restrict row = g + terms[i].k * W;
        const T f = terms[i].f;
        if (f == T(1))
            for (int64_t t = 0; t < W; ++t) acc[t] = T(acc[t] + row[t]);
        else
            for (int64_t t = 0; t < W; ++t) acc[t] = T(acc[t] + f * row[t]);
    }
    store(acc, width, out, out_scale);
}

template <class T>
std::vector<T> tiled(const std::vector<T>& G, int64_t K, int64_t J) {
    constexpr int64_t W = kTile<T>;
    const int64_t tiles = (J + W - 1) / W;
    std::vector<T> out(size_t(tiles * K * W), T(0));
    for (int64_t k = 0; k < K; ++k)
        for (int64_t j = 0; j < J; ++j) out[size_t(((j / W) * K + k) * W + j % W)] = G[size_t(k * J + j)];
    return out;
}

// B dense (vector, plane) reads over one column tile at once: every row k adds f[b][k] x G[k] to read
// b, zeros included, so each row of the tile is loaded once for B reads instead of once per read (a
// tile of a tall array, e.g. 1152 rows x 256 bytes, lives in L2, not L1). The additions per read are
// the sparse kernel's, in the same row order, plus 0 x G[k] for unset rows, which leaves every sum
// unchanged: the two kernels agree bit for bit.
template <class T, int B>
__attribute__((always_inline)) inline void add_rows_dense(const T* __restrict g, const T* const* f, int64_t k0, int64_t k1,
                                                          T* __restrict partial) {
    constexpr int64_t W = kTile<T>;
    T acc[B][W];
    for (int b = 0; b < B; ++b)
        for (int64_t t = 0; t < W; ++t) acc[b][t] = partial[b * W + t];
    for (int64_t k = k0; k < k1; ++k) {
        const T* __restrict row = g + k * W;
        for (int b = 0; b < B; ++b) {
            const T fb = f[b][k];
            for (int64_t t = 0; t < W; ++t) acc[b][t] = T(acc[b][t] + fb * row[t]);
        }
    }
    for (int b = 0; b < B; ++b)
        for (int64_t t = 0; t < W; ++t) partial[b * W + t] = acc[b][t];
}

// A read is dense when at least this share of its rows is set: loading every row once for a block of
// such reads then costs less than loading each read's own rows.
constexpr int64_t kDenseShareInverse = 2;
constexpr int kDenseBlock = 4;
// Rows per pass of the dense blocks over a tile: 128 rows x 256 bytes = 32 KB stay in L1 while every
// block of dense reads goes by (the sums carried between passes in `partial`, in the same order).
constexpr int64_t kDenseRows = 128;

template <class T, class O>
__attribute__((always_inline)) inline void plane_sums_body(const T* __restrict Gt, int64_t J, int64_t K, int64_t r0,
                                                           const int32_t* __restrict x, int64_t x_stride,
                                                           int64_t V, int64_t rows, int planes, int dac_bits, bool sign_magnitude,
                                                           O out_scale, O* __restrict S, float* __restrict sq, RowsScratch<T>& scratch) {
    auto& [terms, count, dense, dense_f, partial] = scratch;
    terms.resize(size_t(V * planes * rows));
    count.assign(size_t(V * planes), 0);
    std::fill(sq, sq + V * planes, 0.0f);
    const int32_t mask = int32_t((int64_t(1) << dac_bits) - 1);
    for (int64_t v = 0; v < V; ++v)
        for (int64_t k = 0; k < rows; ++k) {
            const int32_t xk = x[v * x_stride + k];
            const bool negative = sign_magnitude && xk < 0;
            const int32_t a = negative ? -xk : xk;
            if (a == 0) continue;
            for (int p = 0; p < planes; ++p) {
                const int32_t pv = (a >> (p * dac_bits)) & mask;
                if (pv == 0) continue;
                const int64_t vp = v * planes + p;
                const T f = negative ? -T(pv) : T(pv);
                sq[vp] += float(f * f);
                terms[size_t(vp * rows + count[size_t(vp)]++)] = {k, f};
            }
        }
    dense.clear();
    for (int64_t vp = 0; vp < V * planes; ++vp)
        if (count[size_t(vp)] * kDenseShareInverse >= rows && count[size_t(vp)] > 0) dense.push_back(vp);
    const int64_t blocked = int64_t(dense.size()) / kDenseBlock * kDenseBlock;  // the rest go the sparse way
    dense_f.assign(size_t(blocked * rows), T(0));
    partial.resize(size_t(blocked * kTile<T>));
    for (int64_t d = 0; d < blocked; ++d) {
        const int64_t vp = dense[size_t(d)];
        const RowTerm<T>* t = terms.data() + vp * rows;
        T* fd = dense_f.data() + d * rows;
        for (int64_t i = 0; i < count[size_t(vp)]; ++i) fd[t[i].k] = t[i].f;
        count[size_t(vp)] = -1;  // done by the dense kernel
    }
    constexpr int64_t W = kTile<T>;
    for (int64_t j0 = 0; j0 < J; j0 += W) {
        const int64_t width = std::min(W, J - j0);
        const T* g = Gt + ((j0 / W) * K + r0) * W;
        std::fill(partial.begin(), partial.end(), T(0));
        for (int64_t k0 = 0; k0 < rows; k0 += kDenseRows)
            for (int64_t d = 0; d < blocked; d += kDenseBlock) {
                const T* f[kDenseBlock];
                for (int b = 0; b < kDenseBlock; ++b) f[b] = dense_f.data() + (d + b) * rows;
                add_rows_dense<T, kDenseBlock>(g, f, k0, std::min(rows, k0 + kDenseRows), partial.data() + d * W);
            }
        for (int64_t d = 0; d < blocked; ++d) store(partial.data() + d * W, width, S + dense[size_t(d)] * J + j0, out_scale);
        for (int64_t vp = 0; vp < V * planes; ++vp) {
            if (count[size_t(vp)] < 0) continue;
            const RowTerm<T>* t = terms.data() + vp * rows;
            add_rows(g, t, count[size_t(vp)], width, S + vp * J + j0, out_scale);
        }
    }
}

}  // namespace

#define CIM_DEFINE_PLANE_SUMS(T)                                                                                                \
    CIM_SIMD_CLONES                                                                                                             \
    void plane_sums(const T* Gt, int64_t J, int64_t K, int64_t r0, const int32_t* x, int64_t x_stride, int64_t V, int64_t rows,   \
                    int planes, int dac_bits, bool sign_magnitude, T* S, float* sq, RowsScratch<T>& scratch) {                 \
        plane_sums_body<T, T>(Gt, J, K, r0, x, x_stride, V, rows, planes, dac_bits, sign_magnitude, T(1), S, sq, scratch);     \
    }
CIM_DEFINE_PLANE_SUMS(float)
CIM_DEFINE_PLANE_SUMS(double)

// int16 lanes in 512-bit registers need AVX-512 BW (avx512f alone runs them 256 bits wide).
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
void plane_sums(const int16_t* Gt, int64_t J, int64_t K, int64_t r0, const int32_t* x, int64_t x_stride, int64_t V, int64_t rows,
                int planes, int dac_bits, bool sign_magnitude, float inv_scale, float* S, float* sq, RowsScratch<int16_t>& scratch) {
    plane_sums_body<int16_t, float>(Gt, J, K, r0, x, x_stride, V, rows, planes, dac_bits, sign_magnitude, inv_scale, S, sq, scratch);
}

std::vector<float> tile_conductances(const std::vector<float>& G, int64_t K, int64_t J) { return tiled(G, K, J); }
std::vector<double> tile_conductances(const std::vector<double>& G, int64_t K, int64_t J) { return tiled(G, K, J); }

namespace {
std::atomic<bool> fixed_point_on{true};
}  // namespace
bool fixed_point_allowed() { return fixed_point_on.load(); }
void allow_fixed_point(bool on) { fixed_point_on.store(on); }

std::vector<int16_t> tile_fixed_point(const std::vector<float>& G, int64_t K, int64_t J, float scale) {
    std::vector<int16_t> q(G.size());
    for (size_t i = 0; i < G.size(); ++i) q[i] = int16_t(std::lrint(G[i] * scale));
    return tiled(q, K, J);
}

std::vector<float> untile_fixed_point(const std::vector<int16_t>& tiles, int64_t K, int64_t J, float inv_scale) {
    constexpr int64_t W = kTile<int16_t>;
    std::vector<float> G(size_t(K * J));
    for (int64_t k = 0; k < K; ++k)
        for (int64_t j = 0; j < J; ++j) G[size_t(k * J + j)] = float(tiles[size_t(((j / W) * K + k) * W + j % W)]) * inv_scale;
    return G;
}

// The conversion loop of one variant, without branches so that it vectorizes (the variants are
// chosen once per plane, outside the loop).
template <class T, bool kIrDrop, bool kNoise>
__attribute__((always_inline)) inline int64_t convert_loop(const T* __restrict s, int64_t J, const float* __restrict inv_lsb,
                                                           const float* __restrict lsb_w, float plane_w, float lo, float top, float offset,
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
        acc[j] += double(float(c) * plane_w) * double(lsb_w[j]);  // exact: |c| <= 2^16 (array.adc.bits <= 16)
    }
    return clipped;
}

#define CIM_DEFINE_CONVERT(T)                                                                                                \
    CIM_SIMD_CLONES                                                                                                          \
    int64_t convert_plane(const T* s, int64_t J, const float* inv_lsb, const float* lsb_w, float plane_w, float lo, float top, float offset,  \
                          const float* z, float read_sigma, float adc_sigma, float ir_drop, float inv_full, double* acc) {     \
        if (ir_drop > 0)                                                                                                     \
            return z ? convert_loop<T, true, true>(s, J, inv_lsb, lsb_w, plane_w, lo, top, offset, z, read_sigma, adc_sigma, ir_drop,  \
                                                   inv_full, acc)                                                            \
                     : convert_loop<T, true, false>(s, J, inv_lsb, lsb_w, plane_w, lo, top, offset, z, read_sigma, adc_sigma, ir_drop, \
                                                    inv_full, acc);                                                          \
        return z ? convert_loop<T, false, true>(s, J, inv_lsb, lsb_w, plane_w, lo, top, offset, z, read_sigma, adc_sigma, ir_drop,     \
                                                inv_full, acc)                                                               \
                 : convert_loop<T, false, false>(s, J, inv_lsb, lsb_w, plane_w, lo, top, offset, z, read_sigma, adc_sigma, ir_drop,    \
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
