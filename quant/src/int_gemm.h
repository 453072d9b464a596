// Internal: exact int16 x int16 -> int32 dot-product GEMM with runtime dispatch
// (AVX-512BW, AVX2, portable).
#pragma once

#include <cstdint>

namespace cim::quant::detail {

// acc[v * N + n] += sum_{k in [k0, k1)} X[v * ld + k] * W[n * ld + k]  (int64 accumulators).
// ld, k0 and k1 are multiples of 32; the caller guarantees no int32 overflow within
// [k0, k1): (k1 - k0) * max|X| * max|W| < 2^31.
void gemm_i16(const int16_t* X, int64_t V, const int16_t* W, int64_t N, int64_t ld, int64_t k0, int64_t k1,
              int64_t* acc);

// Name of the kernel the dispatch picked ("avx512bw", "avx2", "portable").
const char* gemm_i16_kernel();

}  // namespace cim::quant::detail
