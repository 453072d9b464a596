// The executor's float GEMM, compiled three times (baseline x86-64, AVX2 + FMA, AVX-512) and chosen at run
// time by CPU features: the libraries are built for the baseline target, where Eigen's GEMM runs at SSE width.
#pragma once

#include <cstdint>
#include <string_view>

namespace cim::kern {

// C[M x N] = op(A)[M x K] * op(B)[K x N], every matrix row-major with a leading dimension (elements between
// rows as stored). op(X) = X, or X's transpose when trans_x (then A is stored K x M and B N x K).
// Single-threaded; the result depends only on the path and the operands, never on the thread count.
using FloatGemmFn = void (*)(const float* A, int64_t lda, bool trans_a, const float* B, int64_t ldb, bool trans_b,
                             float* C, int64_t ldc, int64_t M, int64_t K, int64_t N);

enum class FloatGemmPath { Baseline, Avx2, Avx512 };

const char* float_gemm_path_name(FloatGemmPath path);
// "baseline", "avx2" or "avx512" (CIM_FLOAT_GEMM's values); anything else throws InputError.
FloatGemmPath parse_float_gemm_path(std::string_view value);
// Whether this build and this CPU can run the path (AVX2 needs AVX2 and FMA; AVX-512 needs F, BW, DQ, VL, FMA).
bool float_gemm_path_supported(FloatGemmPath path);
// The path's kernel; InputError if the CPU lacks it.
FloatGemmFn float_gemm_kernel(FloatGemmPath path);
// Chosen once per process: CIM_FLOAT_GEMM if set, else the widest supported path. Throws InputError for an
// unknown or unsupported CIM_FLOAT_GEMM; call it outside OpenMP regions (an exception cannot leave one).
FloatGemmPath float_gemm_path();

// The three builds (float_gemm_{baseline,avx2,avx512}.cpp); only the dispatch should call them.
void float_gemm_baseline(const float* A, int64_t lda, bool trans_a, const float* B, int64_t ldb, bool trans_b,
                         float* C, int64_t ldc, int64_t M, int64_t K, int64_t N);
void float_gemm_avx2(const float* A, int64_t lda, bool trans_a, const float* B, int64_t ldb, bool trans_b, float* C,
                     int64_t ldc, int64_t M, int64_t K, int64_t N);
void float_gemm_avx512(const float* A, int64_t lda, bool trans_a, const float* B, int64_t ldb, bool trans_b,
                       float* C, int64_t ldc, int64_t M, int64_t K, int64_t N);

}  // namespace cim::kern
