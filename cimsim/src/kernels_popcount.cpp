// Popcount kernels over packed cell digits (packed_digits.h). The AVX-512 kernels use VPOPCNTDQ (8
// columns per instruction); the portable ones give the same integers on any CPU.
#include "packed_digits.h"

#include <cim/error.h>

#include <immintrin.h>

#include <algorithm>
#include <cstdlib>

namespace cim::sim::detail {

namespace {

bool kHasAvx512 = [] {
    __builtin_cpu_init();  // this runs during static initialization, maybe before libgcc's own
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vpopcntdq");
}();
const bool kCpuHasAvx512 = kHasAvx512;

__attribute__((target("avx512f"))) void transpose_bits_avx512(const int32_t* x, int64_t n, int nbits, uint64_t* X, size_t W) {
    for (int64_t r = 0; r < n; r += 16) {
        const __mmask16 m = n - r >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (n - r)) - 1);
        const __m512i v = _mm512_maskz_loadu_epi32(m, x + r);
        const size_t w = size_t(r) / 64;
        const int at = int(r % 64);
        for (int b = 0; b < nbits; ++b)
            X[size_t(b) * W + w] |= uint64_t(_mm512_test_epi32_mask(v, _mm512_set1_epi32(int32_t(uint32_t(1) << b)))) << at;
    }
}

void transpose_bits_scalar(const int32_t* x, int64_t n, int nbits, uint64_t* X, size_t W) {
    const uint32_t mask = nbits >= 32 ? ~uint32_t(0) : (uint32_t(1) << nbits) - 1;
    for (int64_t r = 0; r < n; ++r) {
        uint32_t u = uint32_t(x[r]) & mask;
        const uint64_t bit = uint64_t(1) << (r % 64);
        while (u) {
            X[size_t(__builtin_ctz(u)) * W + size_t(r) / 64] |= bit;
            u &= u - 1;
        }
    }
}

// Four 8-column words per step: each input word is broadcast once for 32 columns, and the digit
// words of the step stay in L1 across the block's vectors and planes.
constexpr int kSteps = 4;

__attribute__((target("avx512f,avx512dq,avx512vpopcntdq"))) void popcount_sums_avx512(const PackedDigits& d, size_t gi,
                                                                                       const InputBits& in, int64_t V, int planes,
                                                                                       int dac_bits, int32_t* sums, int32_t* pneg) {
    const int64_t J = d.J, W = d.words[gi];
    const int S = d.slices;
    const bool sd = d.signed_digits, want_pneg = pneg != nullptr && sd;
    for (int64_t j0 = 0; j0 < J; j0 += 8 * kSteps) {
        __mmask8 m[kSteps];
        for (int u = 0; u < kSteps; ++u) {
            const int64_t left = J - (j0 + 8 * u);
            m[u] = left >= 8 ? __mmask8(0xFF) : left <= 0 ? __mmask8(0) : __mmask8((1u << left) - 1);
        }
        for (int64_t v = 0; v < V; ++v) {
            const uint64_t* xb = in.vector_bits(v);
            const uint64_t* ng = in.vector_negative(v);
            for (int p = 0; p < planes; ++p) {
                __m512i acc[kSteps], accn[kSteps];
                for (int u = 0; u < kSteps; ++u) acc[u] = accn[u] = _mm512_setzero_si512();
                for (int t = 0; t < dac_bits; ++t)
                    for (int64_t w = 0; w < W; ++w) {
                        const uint64_t xw = xb[size_t(p * dac_bits + t) * size_t(W) + size_t(w)];
                        if (xw == 0) continue;
                        // Rows driven positive (xp) add digit x plane; rows driven negative (xn) subtract it.
                        const uint64_t xn = ng ? xw & ng[w] : 0, xp = xw & ~xn;
                        const __m512i vp = _mm512_set1_epi64(int64_t(xp)), vn = _mm512_set1_epi64(int64_t(xn));
                        for (int s = 0; s < S; ++s) {
                            const __m128i shift = _mm_cvtsi32_si128(s + t);
                            const uint64_t* dp = d.pos.data() + d.slice_at(gi, s, w) + j0;
                            const uint64_t* dn = sd ? d.neg.data() + d.slice_at(gi, s, w) + j0 : nullptr;
                            for (int u = 0; u < kSteps; ++u) {
                                const __m512i a = _mm512_maskz_loadu_epi64(m[u], dp + 8 * u);
                                __m512i c = _mm512_popcnt_epi64(_mm512_and_si512(a, vp));
                                if (xn) c = _mm512_sub_epi64(c, _mm512_popcnt_epi64(_mm512_and_si512(a, vn)));
                                if (sd) {
                                    const __m512i b = _mm512_maskz_loadu_epi64(m[u], dn + 8 * u);
                                    c = _mm512_sub_epi64(c, _mm512_popcnt_epi64(_mm512_and_si512(b, vp)));
                                    if (xn) c = _mm512_add_epi64(c, _mm512_popcnt_epi64(_mm512_and_si512(b, vn)));
                                }
                                acc[u] = _mm512_add_epi64(acc[u], _mm512_sll_epi64(c, shift));
                            }
                        }
                        if (want_pneg) {
                            const __m128i shift = _mm_cvtsi32_si128(t);
                            const uint64_t* nr = d.neg_rows.data() + d.rows_at(gi, w) + j0;
                            for (int u = 0; u < kSteps; ++u) {
                                const __m512i r = _mm512_maskz_loadu_epi64(m[u], nr + 8 * u);
                                __m512i c = _mm512_popcnt_epi64(_mm512_and_si512(r, vp));
                                if (xn) c = _mm512_sub_epi64(c, _mm512_popcnt_epi64(_mm512_and_si512(r, vn)));
                                accn[u] = _mm512_add_epi64(accn[u], _mm512_sll_epi64(c, shift));
                            }
                        }
                    }
                const size_t row = (size_t(v) * size_t(planes) + size_t(p)) * size_t(J) + size_t(j0);
                for (int u = 0; u < kSteps; ++u) {
                    if (m[u] == 0) break;
                    _mm512_mask_cvtepi64_storeu_epi32(sums + row + 8 * u, m[u], acc[u]);
                    if (want_pneg) _mm512_mask_cvtepi64_storeu_epi32(pneg + row + 8 * u, m[u], accn[u]);
                }
            }
        }
    }
}

__attribute__((target_clones("popcnt", "default"))) void popcount_sums_scalar(const PackedDigits& d, size_t gi, const InputBits& in,
                                                                              int64_t V, int planes, int dac_bits, int32_t* sums,
                                                                              int32_t* pneg) {
    const int64_t J = d.J, W = d.words[gi];
    const bool sd = d.signed_digits, want_pneg = pneg != nullptr && sd;
    auto pc = [](uint64_t a) { return int32_t(__builtin_popcountll(a)); };
    for (int64_t v = 0; v < V; ++v) {
        const uint64_t* xb = in.vector_bits(v);
        const uint64_t* ng = in.vector_negative(v);
        for (int p = 0; p < planes; ++p) {
            const size_t row = (size_t(v) * size_t(planes) + size_t(p)) * size_t(J);
            int32_t* out = sums + row;
            std::fill(out, out + J, 0);
            if (want_pneg) std::fill(pneg + row, pneg + row + J, 0);
            for (int t = 0; t < dac_bits; ++t)
                for (int64_t w = 0; w < W; ++w) {
                    const uint64_t xw = xb[size_t(p * dac_bits + t) * size_t(W) + size_t(w)];
                    const uint64_t xn = ng ? xw & ng[w] : 0, xp = xw & ~xn;
                    for (int s = 0; s < d.slices; ++s) {
                        const int32_t weight = int32_t(1) << (s + t);  // a product: the difference may be negative
                        const uint64_t* dp = d.pos.data() + d.slice_at(gi, s, w);
                        for (int64_t j = 0; j < J; ++j) out[j] += (pc(dp[j] & xp) - pc(dp[j] & xn)) * weight;
                        if (!sd) continue;
                        const uint64_t* dn = d.neg.data() + d.slice_at(gi, s, w);
                        for (int64_t j = 0; j < J; ++j) out[j] -= (pc(dn[j] & xp) - pc(dn[j] & xn)) * weight;
                    }
                    if (!want_pneg) continue;
                    const uint64_t* nr = d.neg_rows.data() + d.rows_at(gi, w);
                    for (int64_t j = 0; j < J; ++j) pneg[row + size_t(j)] += (pc(nr[j] & xp) - pc(nr[j] & xn)) * (int32_t(1) << t);
                }
        }
    }
}

}  // namespace

void use_portable_kernels(bool on) { kHasAvx512 = !on && kCpuHasAvx512; }
bool avx512_kernels() { return kHasAvx512; }

PackedDigits::PackedDigits(const std::vector<int16_t>& digits, int64_t cols, const std::vector<ReadGroup>& groups) : J(cols) {
    int largest = 0;
    for (int16_t v : digits) {
        largest = std::max(largest, std::abs(int(v)));
        signed_digits = signed_digits || v < 0;
    }
    while ((1 << slices) <= largest) ++slices;
    int64_t total_words = 0;
    for (const ReadGroup& g : groups) {
        first_word.push_back(total_words);
        words.push_back((g.r1 - g.r0 + 63) / 64);
        total_words += words.back();
    }
    const size_t S = size_t(slices), Jc = size_t(J);
    pos.assign(size_t(total_words) * S * Jc, 0);
    if (signed_digits) {
        neg.assign(pos.size(), 0);
        neg_rows.assign(size_t(total_words) * Jc, 0);
    }
    dmax.assign(groups.size() * Jc, 0);
    for (size_t gi = 0; gi < groups.size(); ++gi) {
        const ReadGroup& g = groups[gi];
        for (int64_t r = g.r0; r < g.r1; ++r) {
            const int64_t w = (r - g.r0) / 64;
            const uint64_t bit = uint64_t(1) << ((r - g.r0) % 64);
            for (size_t j = 0; j < Jc; ++j) {
                const int v = digits[size_t(r) * Jc + j];
                dmax[gi * Jc + j] = std::max(dmax[gi * Jc + j], std::abs(v));
                std::vector<uint64_t>& bits = v < 0 ? neg : pos;
                for (int s = 0; s < slices; ++s)
                    if ((std::abs(v) >> s) & 1) bits[slice_at(gi, s, w) + j] |= bit;
                if (v < 0) neg_rows[rows_at(gi, w) + j] |= bit;
            }
        }
    }
}

std::vector<int16_t> PackedDigits::unpack(const std::vector<ReadGroup>& groups, int64_t K) const {
    std::vector<int16_t> digits(size_t(K * J));
    for (size_t gi = 0; gi < groups.size(); ++gi)
        for (int64_t r = groups[gi].r0; r < groups[gi].r1; ++r) {
            const int64_t w = (r - groups[gi].r0) / 64;
            const int bit = int((r - groups[gi].r0) % 64);
            for (int64_t j = 0; j < J; ++j) {
                const bool negative = signed_digits && ((neg_rows[rows_at(gi, w) + size_t(j)] >> bit) & 1);
                const std::vector<uint64_t>& bits = negative ? neg : pos;
                int magnitude = 0;
                for (int sl = 0; sl < slices; ++sl) magnitude |= int((bits[slice_at(gi, sl, w) + size_t(j)] >> bit) & 1) << sl;
                digits[size_t(r * J + j)] = int16_t(negative ? -magnitude : magnitude);
            }
        }
    return digits;
}

void transpose_bits(const int32_t* x, int64_t n, int nbits, uint64_t* X, size_t W) {
    (kHasAvx512 ? transpose_bits_avx512 : transpose_bits_scalar)(x, n, nbits, X, W);
}

void InputBits::load(const int32_t* x, int64_t V, int64_t K, const ReadGroup& g, size_t words) {
    W = words;
    bits.assign(size_t(V) * size_t(nbits) * W, 0);
    if (sign_magnitude) negative.assign(size_t(V) * W, 0);
    const int64_t n = g.r1 - g.r0;
    for (int64_t v = 0; v < V; ++v) {
        const int32_t* codes = x + v * K + g.r0;
        if (sign_magnitude) {  // the bits of |x|, and the sign per row
            magnitude.resize(size_t(n));
            uint64_t* neg = negative.data() + size_t(v) * W;
            for (int64_t r = 0; r < n; ++r) {
                magnitude[size_t(r)] = codes[r] < 0 ? -codes[r] : codes[r];
                if (codes[r] < 0) neg[size_t(r) / 64] |= uint64_t(1) << (r % 64);
            }
            codes = magnitude.data();
        }
        transpose_bits(codes, n, nbits, bits.data() + size_t(v) * size_t(nbits) * W, W);
    }
}

void popcount_sums(const PackedDigits& d, size_t gi, const InputBits& in, int64_t V, int planes, int dac_bits, int32_t* sums,
                   int32_t* pneg) {
    CIM_INTERNAL_CHECK(in.nbits == planes * dac_bits && in.W == size_t(d.words[gi]), "input bits of another read");
    (kHasAvx512 ? popcount_sums_avx512 : popcount_sums_scalar)(d, gi, in, V, planes, dac_bits, sums, pneg);
}

void plane_totals(const InputBits& in, int64_t v, int planes, int dac_bits, int64_t* P, int64_t* Q) {
    const uint64_t* xb = in.vector_bits(v);
    const uint64_t* ng = in.vector_negative(v);
    for (int p = 0; p < planes; ++p) {
        int64_t sum = 0, squares = 0;
        for (size_t w = 0; w < in.W; ++w) {
            const uint64_t n = ng ? ng[w] : 0;
            for (int t = 0; t < dac_bits; ++t) {
                const uint64_t xt = xb[size_t(p * dac_bits + t) * in.W + w];
                sum += (int64_t(__builtin_popcountll(xt & ~n)) - int64_t(__builtin_popcountll(xt & n))) * (int64_t(1) << t);
                // p^2 = sum over bit pairs (t, u) of b_t b_u 2^(t+u); the sign squares away.
                for (int u = 0; u < dac_bits; ++u)
                    squares += int64_t(__builtin_popcountll(xt & xb[size_t(p * dac_bits + u) * in.W + w])) << (t + u);
            }
        }
        P[p] = sum;
        Q[p] = squares;
    }
}

}  // namespace cim::sim::detail
