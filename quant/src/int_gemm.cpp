// Exact integer GEMM kernels. Each variant computes 4 x 4 blocks of dot products
// (4 input vectors x 4 outputs) with int32 lanes, reduces them and adds them to
// int64 accumulators; the dispatch picks the widest the CPU supports.
#include "int_gemm.h"

#include <immintrin.h>

namespace cim::quant::detail {

namespace {

void gemm_portable(const int16_t* X, int64_t V, const int16_t* W, int64_t N, int64_t ld, int64_t k0, int64_t k1,
                   int64_t* acc) {
    for (int64_t v = 0; v < V; ++v) {
        const int16_t* x = X + v * ld;
        for (int64_t n = 0; n < N; ++n) {
            const int16_t* w = W + n * ld;
            int32_t s = 0;
            for (int64_t k = k0; k < k1; ++k) s += int32_t(x[k]) * int32_t(w[k]);
            acc[v * N + n] += s;
        }
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) inline int32_t hsum256(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

template <int RV, int RN>
__attribute__((target("avx2"))) inline void block_avx2(const int16_t* X, const int16_t* W, int64_t ld, int64_t k0,
                                                       int64_t k1, int64_t* acc, int64_t N) {
    __m256i a[RV][RN];
    for (int i = 0; i < RV; ++i)
        for (int j = 0; j < RN; ++j) a[i][j] = _mm256_setzero_si256();
    for (int64_t k = k0; k < k1; k += 16) {
        __m256i x[RV], w[RN];
        for (int i = 0; i < RV; ++i) x[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(X + i * ld + k));
        for (int j = 0; j < RN; ++j) w[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(W + j * ld + k));
        for (int i = 0; i < RV; ++i)
            for (int j = 0; j < RN; ++j) a[i][j] = _mm256_add_epi32(a[i][j], _mm256_madd_epi16(x[i], w[j]));
    }
    for (int i = 0; i < RV; ++i)
        for (int j = 0; j < RN; ++j) acc[i * N + j] += hsum256(a[i][j]);
}

template <int RV, int RN>
__attribute__((target("avx512f,avx512bw"))) inline void block_avx512(const int16_t* X, const int16_t* W, int64_t ld,
                                                                     int64_t k0, int64_t k1, int64_t* acc, int64_t N) {
    __m512i a[RV][RN];
    for (int i = 0; i < RV; ++i)
        for (int j = 0; j < RN; ++j) a[i][j] = _mm512_setzero_si512();
    for (int64_t k = k0; k < k1; k += 32) {
        __m512i x[RV], w[RN];
        for (int i = 0; i < RV; ++i) x[i] = _mm512_loadu_si512(X + i * ld + k);
        for (int j = 0; j < RN; ++j) w[j] = _mm512_loadu_si512(W + j * ld + k);
        for (int i = 0; i < RV; ++i)
            for (int j = 0; j < RN; ++j) a[i][j] = _mm512_add_epi32(a[i][j], _mm512_madd_epi16(x[i], w[j]));
    }
    for (int i = 0; i < RV; ++i)
        for (int j = 0; j < RN; ++j) acc[i * N + j] += _mm512_reduce_add_epi32(a[i][j]);
}

// Walks the V x N output in 4 x 4 blocks with 1-wide edges.
template <class Block44, class Block41, class Block14, class Block11>
inline void tile(const int16_t* X, int64_t V, const int16_t* W, int64_t N, int64_t ld, int64_t k0, int64_t k1,
                 int64_t* acc, Block44 b44, Block41 b41, Block14 b14, Block11 b11) {
    int64_t v = 0;
    for (; v + 4 <= V; v += 4) {
        int64_t n = 0;
        for (; n + 4 <= N; n += 4) b44(X + v * ld, W + n * ld, ld, k0, k1, acc + v * N + n, N);
        for (; n < N; ++n) b41(X + v * ld, W + n * ld, ld, k0, k1, acc + v * N + n, N);
    }
    for (; v < V; ++v) {
        int64_t n = 0;
        for (; n + 4 <= N; n += 4) b14(X + v * ld, W + n * ld, ld, k0, k1, acc + v * N + n, N);
        for (; n < N; ++n) b11(X + v * ld, W + n * ld, ld, k0, k1, acc + v * N + n, N);
    }
}

__attribute__((target("avx2"))) void gemm_avx2(const int16_t* X, int64_t V, const int16_t* W, int64_t N,
                                               int64_t ld, int64_t k0, int64_t k1, int64_t* acc) {
    tile(X, V, W, N, ld, k0, k1, acc, block_avx2<4, 4>, block_avx2<4, 1>, block_avx2<1, 4>, block_avx2<1, 1>);
}

__attribute__((target("avx512f,avx512bw"))) void gemm_avx512(const int16_t* X, int64_t V, const int16_t* W,
                                                              int64_t N, int64_t ld, int64_t k0, int64_t k1,
                                                              int64_t* acc) {
    tile(X, V, W, N, ld, k0, k1, acc, block_avx512<4, 4>, block_avx512<4, 1>, block_avx512<1, 4>,
         block_avx512<1, 1>);
}
#endif

using GemmFn = void (*)(const int16_t*, int64_t, const int16_t*, int64_t, int64_t, int64_t, int64_t, int64_t*);

struct Dispatch {
    GemmFn fn = gemm_portable;
    const char* name = "portable";
    Dispatch() {
#if defined(__x86_64__)
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")) {
            fn = gemm_avx512;
            name = "avx512bw";
        } else if (__builtin_cpu_supports("avx2")) {
            fn = gemm_avx2;
            name = "avx2";
        }
#endif
    }
};

const Dispatch& dispatch() {
    static const Dispatch d;
    return d;
}

}  // namespace

void gemm_i16(const int16_t* X, int64_t V, const int16_t* W, int64_t N, int64_t ld, int64_t k0, int64_t k1,
              int64_t* acc) {
    if (V <= 0 || N <= 0 || k1 <= k0) return;
    dispatch().fn(X, V, W, N, ld, k0, k1, acc);
}

const char* gemm_i16_kernel() { return dispatch().name; }

}  // namespace cim::quant::detail
