// Two INT8 multiplies in one DSP48E2-like slice (27 x 18-bit multiplier, 48-bit result), as AMD/Xilinx
// WP486 describes: two weights that multiply the same activation share the slice. The second weight
// sits 18 bits above the first in the 27-bit port, so the 48-bit product holds w_low * x in its low
// 18 bits (signed) and w_high * x above them; because the low product is signed, the high field reads
// one less whenever the low one is negative, which the unpacking corrects. The cost model's
// "2 MACs per DSP per cycle" (fpga.int8_packing) rests on this arithmetic; tests/cimsim/test_dsp_packing.cpp
// checks it bit for bit, the extremes -128 and 127 included.
#pragma once

#include <cstdint>

namespace cim::dsp48e2 {

inline constexpr int kLowFieldBits = 18;   // the offset of the second operand
inline constexpr int kPortABits = 27, kPortBBits = 18, kResultBits = 48;
// INT8 x INT8 products lie in [-16256, 16384]; an 18-bit signed field holds 7 of them summed
// (7 x 16384 = 114688 <= 2^17 - 1), so the accumulator may add 7 packed products before unpacking.
inline constexpr int kPackedAccumulations = 7;

// Sign-extends the low `bits` bits of `v`.
constexpr int64_t sign_extend(int64_t v, int bits) {
    const uint64_t m = uint64_t(1) << (bits - 1);
    const uint64_t low = uint64_t(v) & ((uint64_t(1) << bits) - 1);
    return int64_t((low ^ m) - m);
}

// The 27-bit port A value: w_high x 2^18 + w_low (two's complement, fits 27 bits for INT8 weights).
constexpr int64_t pack_port_a(int8_t w_high, int8_t w_low) {
    return int64_t(w_high) * (int64_t(1) << kLowFieldBits) + int64_t(w_low);
}

// The slice's multiply: A (27 bits) x B (18 bits) into the 48-bit result, wrapping as the hardware does.
constexpr int64_t multiply(int64_t port_a, int64_t port_b) {
    return sign_extend(sign_extend(port_a, kPortABits) * sign_extend(port_b, kPortBBits), kResultBits);
}

struct Products {
    int64_t high = 0, low = 0;  // w_high x (sum of) x, w_low x (sum of) x
};

// Recovers both (accumulated) products from a 48-bit result: the low field sign-extended, and the
// high field corrected by the borrow the negative low field took from it.
constexpr Products unpack(int64_t result48) {
    const int64_t low = sign_extend(result48, kLowFieldBits);
    const int64_t high = (result48 - low) / (int64_t(1) << kLowFieldBits);
    return {high, low};
}

// The high field read without the correction: off by one whenever the low product is negative.
constexpr int64_t high_field_uncorrected(int64_t result48) {
    return sign_extend(result48 >> kLowFieldBits, kResultBits - kLowFieldBits);
}

// MACs one slice does per cycle at `precision_bits` with packing allowed or not: 2 only for INT8
// operands sharing one operand (the products above), else 1.
constexpr int macs_per_cycle(int precision_bits, bool packing) { return packing && precision_bits <= 8 ? 2 : 1; }

static_assert(unpack(multiply(pack_port_a(-128, -128), -128)).high == 16384 &&
              unpack(multiply(pack_port_a(-128, -128), -128)).low == 16384);
static_assert(unpack(multiply(pack_port_a(127, -128), 127)).high == 16129 &&
              unpack(multiply(pack_port_a(127, -128), 127)).low == -16256);

}  // namespace cim::dsp48e2
