// The int8 dot-product kernel (internal to cim_sim): for cells exact in integers whose digits fit
// a signed byte and input planes of at most 8 bits, a read's column sums sum_k p_k d_kj as one pass
// of u8 x s8 dot products (AVX-512 VNNI vpdpbusd: 4 rows per 32-bit lane, 16 columns per
// instruction, int32 accumulators), instead of one AND + popcount pass per (input bit, digit
// slice). The integers are the popcount kernel's (packed_digits.h), exactly: every product is at
// most 255 x 127 and a read of up to 66,000 rows stays inside int32.
#pragma once

#include "packed_digits.h"

#include <cstdint>
#include <vector>

namespace cim::sim::detail {

// Tests: run the portable loop even where the CPU has AVX-512 VNNI (not thread-safe; set it before
// running). Both give identical integers.
void use_portable_int8(bool on);
bool vnni_kernel();

// Whether digits and planes fit the kernel: |d| <= 127 and dac_bits <= 8.
bool int8_fits(const std::vector<int16_t>& digits, int dac_bits);

// The digits of a K x J matrix (row-major) per read group as signed bytes in vpdpbusd's layout:
// [quad][column][4] for the group's rows in quads of 4 (the last quad zero-padded), columns padded
// with zeros to a multiple of 16; `negative` (signed digits only) holds 1 where the digit is negative.
struct Int8Digits {
    int64_t J = 0, Jpad = 0;
    bool signed_digits = false;
    std::vector<int64_t> quads, first_quad;  // per group
    std::vector<int8_t> digits, negative;

    Int8Digits() = default;
    Int8Digits(const std::vector<int16_t>& digits, int64_t J, const std::vector<ReadGroup>& groups);
    bool empty() const { return quads.empty(); }
    const int8_t* group_digits(size_t gi) const { return digits.data() + size_t(first_quad[gi]) * size_t(Jpad) * 4; }
    const int8_t* group_negative(size_t gi) const { return negative.data() + size_t(first_quad[gi]) * size_t(Jpad) * 4; }
};

// The plane values of a block of V vectors on one read group's rows, as the bit-plane path drives
// them: plane p of code x is (x >> p * dac_bits) & mask (two's-complement codes included), or with
// sign_magnitude that plane of |x| driven with x's sign. Four rows' values per 32-bit word, only
// for the (vector, plane) reads with an input set: pos (rows driven positive) and, when some row
// of the block is driven negative, neg. P and Q per (vector, plane): the signed sum of the plane
// values and the sum of their squares (the read-noise variance's factor).
struct InputBytes {
    int planes = 1, dac_bits = 1;
    bool sign_magnitude = false;
    int64_t quads = 0;
    bool any_negative = false;
    std::vector<int64_t> reads;     // the (v * planes + p) with an input set, in order
    std::vector<uint32_t> pos, neg;  // [read][quad]
    std::vector<int64_t> P, Q;       // [v * planes + p]

    void load(const int32_t* x, int64_t V, int64_t K, const ReadGroup& g);
};

// For the V vectors of `in` read by group gi: sums[(v * planes + p) * J + j] = sum_k p_vk d_kj and,
// when pneg is not null and the digits are signed, pneg[...] = P-_j, the sum of the plane values
// over rows whose digit is negative; zero for reads with no input set. As popcount_sums.
void int8_sums(const Int8Digits& d, size_t gi, const InputBytes& in, int64_t V, int32_t* sums, int32_t* pneg);

}  // namespace cim::sim::detail
