// Cell digits packed as bits, and the popcount kernels over them (internal to cim_sim).
//
// A read of group g (rows r0..r1 of one array) with input plane values p_k has the integer
// column sums  sum_k p_k d_kj  and, for signed digits, P-_j = sum of p_k over rows whose digit is
// negative. Both come exactly from popcounts of input bit words against digit bit slices, 64 rows
// per word: popcount(x_bit & d_slice) << (bit + slice). The work per read does not depend on how
// many input bits are set, and no float rounding enters (docs/performance.md, "Kernels").
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace cim::sim::detail {

struct ReadGroup {
    int64_t r0, r1;     // rows [r0, r1) read together
    int64_t array_row;  // the row tile (array) they belong to
};

// Tests: run the portable kernels even where the CPU has AVX-512 VPOPCNTDQ (not thread-safe; set
// it before running). Both give identical results.
void use_portable_kernels(bool on);
bool avx512_kernels();

// The digits of a K x J matrix (row-major) packed per read group: for group gi, [slice][word][column]
// the bits of |d| on rows with d > 0 (pos) and d < 0 (neg), and [word][column] the rows whose digit
// is negative (neg_rows); neg and neg_rows only when some digit is negative.
struct PackedDigits {
    int64_t J = 0;
    int slices = 0;
    bool signed_digits = false;
    std::vector<int64_t> words, first_word;  // per group: 64-row words and where its bits start
    std::vector<int> dmax;                   // per group and column: the largest |digit|
    std::vector<uint64_t> pos, neg, neg_rows;

    PackedDigits() = default;
    PackedDigits(const std::vector<int16_t>& digits, int64_t J, const std::vector<ReadGroup>& groups);
    size_t slice_at(size_t gi, int s, int64_t w) const {
        return (size_t(first_word[gi]) * size_t(slices) + size_t(s) * size_t(words[gi]) + size_t(w)) * size_t(J);
    }
    size_t rows_at(size_t gi, int64_t w) const { return (size_t(first_word[gi]) + size_t(w)) * size_t(J); }
    // The K x J digits again (row-major), from the groups they were packed with.
    std::vector<int16_t> unpack(const std::vector<ReadGroup>& groups, int64_t K) const;
};

// X[b * W + r / 64] bit r % 64 = bit b of x[r], for n rows and the low nbits bits (the input bit
// planes of one read; X zeroed by the caller).
void transpose_bits(const int32_t* x, int64_t n, int nbits, uint64_t* X, size_t W);

// The input bits of a block of V vectors (x: V x K codes) for the rows of one read group, as the
// bit-plane path slices them: bit b = p * dac_bits + t of plane p ((x >> p * dac_bits) & mask,
// two's-complement codes included), or of |x| with the rows driven negative marked (sign_magnitude).
struct InputBits {
    int nbits = 0;
    size_t W = 0;
    bool sign_magnitude = false;
    std::vector<uint64_t> bits;      // [v][bit][word]
    std::vector<uint64_t> negative;  // [v][word]: rows driven negative (sign_magnitude only)
    std::vector<int32_t> magnitude;  // scratch

    void load(const int32_t* x, int64_t V, int64_t K, const ReadGroup& g, size_t words);
    const uint64_t* vector_bits(int64_t v) const { return bits.data() + size_t(v) * size_t(nbits) * W; }
    const uint64_t* vector_negative(int64_t v) const { return sign_magnitude ? negative.data() + size_t(v) * W : nullptr; }
};

// For the V vectors of `in` read by group gi, planes x dac_bits input bits each:
//   sums[(v * planes + p) * J + j] = sum_k p_vk d_kj, and, when pneg is not null and the digits are
//   signed, pneg[(v * planes + p) * J + j] = P-_j. Exact in int32 when rows x (2^dac_bits - 1) x max|d| < 2^31.
// Columns in steps of 32 (four 8-column VPOPCNTDQ words) where the CPU has them, else scalar popcounts.
void popcount_sums(const PackedDigits& d, size_t gi, const InputBits& in, int64_t V, int planes, int dac_bits, int32_t* sums,
                   int32_t* pneg);

// Per vector and plane of `in`: P = sum_k p_k (signed) and Q = sum_k p_k^2 (the read-noise variance's factor).
void plane_totals(const InputBits& in, int64_t v, int planes, int dac_bits, int64_t* P, int64_t* Q);

}  // namespace cim::sim::detail
