// The executor's float GEMM builds (ir/src/float_gemm.h): every path this CPU can run against the baseline
// build and against a double-precision product, on random matrices of ragged sizes, with every transpose and
// padded leading dimensions.
//
// Error bound: each path sums K products in float, so every element is within gamma_K * (|A| |B|)_ij of the
// exact product, gamma_K = K u / (1 - K u), u = 2^-24 (the standard bound for any summation order, FMA or not).
// Two paths therefore differ by at most 2 gamma_K (|A| |B|)_ij; both are checked.
#include <doctest/doctest.h>

#include <cim/error.h>

#include "float_gemm.h"

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace cim::kern;

namespace {

struct Case {
    int64_t M, K, N;
};

// op(X)(i, j) of a row-major operand stored with leading dimension ld.
float at(const std::vector<float>& X, int64_t ld, bool trans, int64_t i, int64_t j) {
    return trans ? X[size_t(j * ld + i)] : X[size_t(i * ld + j)];
}

}  // namespace

TEST_CASE("float GEMM: every available path agrees with the baseline and the exact product within the bound") {
    const FloatGemmPath paths[] = {FloatGemmPath::Baseline, FloatGemmPath::Avx2, FloatGemmPath::Avx512};
    std::mt19937 rng(21);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    const double unit = std::ldexp(1.0, -24);
    for (const Case c : {Case{1, 1, 1}, Case{7, 13, 5}, Case{129, 577, 33}, Case{64, 300, 1}, Case{3, 0, 4}}) {
        for (int t = 0; t < 4; ++t) {
            const bool ta = t & 1, tb = t & 2;
            // Leading dimensions padded by 3, so strides are exercised too.
            const int64_t lda = (ta ? c.M : c.K) + 3, ldb = (tb ? c.K : c.N) + 3, ldc = c.N + 3;
            std::vector<float> A(size_t((ta ? c.K : c.M) * lda)), B(size_t((tb ? c.N : c.K) * ldb));
            for (float& v : A) v = u(rng);
            for (float& v : B) v = u(rng);
            std::vector<double> exact(size_t(c.M * c.N)), magnitude(size_t(c.M * c.N));
            for (int64_t i = 0; i < c.M; ++i)
                for (int64_t j = 0; j < c.N; ++j)
                    for (int64_t k = 0; k < c.K; ++k) {
                        const double p = double(at(A, lda, ta, i, k)) * at(B, ldb, tb, k, j);
                        exact[size_t(i * c.N + j)] += p;
                        magnitude[size_t(i * c.N + j)] += std::abs(p);
                    }
            const double gamma = double(c.K) * unit / (1.0 - double(c.K) * unit);
            std::vector<float> base;
            for (FloatGemmPath p : paths) {
                if (!float_gemm_path_supported(p)) {
                    MESSAGE("path " << float_gemm_path_name(p) << " not available on this CPU: skipped");
                    CHECK_THROWS_AS(float_gemm_kernel(p), cim::InputError);
                    continue;
                }
                const std::string path = float_gemm_path_name(p);
                CAPTURE(path);
                CAPTURE(c.M);
                CAPTURE(c.K);
                CAPTURE(c.N);
                CAPTURE(t);
                const float sentinel = 12345.0f;  // the padding of C must stay untouched
                std::vector<float> C(size_t(c.M * ldc), sentinel), again(C);
                float_gemm_kernel(p)(A.data(), lda, ta, B.data(), ldb, tb, C.data(), ldc, c.M, c.K, c.N);
                float_gemm_kernel(p)(A.data(), lda, ta, B.data(), ldb, tb, again.data(), ldc, c.M, c.K, c.N);
                CHECK(std::memcmp(C.data(), again.data(), C.size() * sizeof(float)) == 0);  // deterministic
                std::vector<float> packed(size_t(c.M * c.N));
                bool padding_kept = true;
                for (int64_t i = 0; i < c.M; ++i) {
                    for (int64_t j = 0; j < c.N; ++j) packed[size_t(i * c.N + j)] = C[size_t(i * ldc + j)];
                    for (int64_t j = c.N; j < ldc; ++j) padding_kept &= C[size_t(i * ldc + j)] == sentinel;
                }
                CHECK(padding_kept);
                if (p == FloatGemmPath::Baseline) base = packed;
                int far_from_exact = 0, far_from_base = 0;
                for (size_t e = 0; e < packed.size(); ++e) {
                    // The bound, plus the rounding of the exact sum to float itself.
                    const double bound = gamma * magnitude[e] + unit * std::abs(exact[e]);
                    far_from_exact += std::abs(double(packed[e]) - exact[e]) > bound;
                    far_from_base += std::abs(double(packed[e]) - double(base[e])) > 2 * bound;
                }
                CHECK(far_from_exact == 0);
                CHECK(far_from_base == 0);
            }
        }
    }
}

TEST_CASE("float GEMM: CIM_FLOAT_GEMM's values") {
    CHECK(parse_float_gemm_path("baseline") == FloatGemmPath::Baseline);
    CHECK(parse_float_gemm_path("avx2") == FloatGemmPath::Avx2);
    CHECK(parse_float_gemm_path("avx512") == FloatGemmPath::Avx512);
    CHECK_THROWS_WITH_AS(parse_float_gemm_path("avx"), doctest::Contains("use baseline, avx2 or avx512"),
                         cim::InputError);
    // The process's path is one this CPU supports (the widest unless CIM_FLOAT_GEMM forces one).
    CHECK(float_gemm_path_supported(float_gemm_path()));
    MESSAGE("float GEMM path of this process: " << float_gemm_path_name(float_gemm_path()));
}
