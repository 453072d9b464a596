// Helpers shared by the read kernels' tests (test_kernels.cpp, test_int8_kernel.cpp): plane values
// as the bit-plane path drives them, read groups as a layer plans them, and a layer run through a
// chosen kernel.
#pragma once

#include <cim/cimsim/crossbar.h>
#include <cim/device/device_spec.h>

#include "packed_digits.h"
#include "sim_test_util.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace kernel_test {

using namespace cim;
using namespace cim::sim;

// Plane p of code x as the bit-plane path drives it.
inline int64_t plane_value(int32_t x, int p, int dac_bits, bool sign_magnitude) {
    const int32_t mask = int32_t((int64_t(1) << dac_bits) - 1);
    if (sign_magnitude) return x < 0 ? -int64_t((-x >> (p * dac_bits)) & mask) : int64_t((x >> (p * dac_bits)) & mask);
    return int64_t((x >> (p * dac_bits)) & mask);
}

inline std::vector<detail::ReadGroup> read_groups(int64_t rows, int64_t array_rows, int64_t active_rows) {
    std::vector<detail::ReadGroup> groups;
    for (int64_t t0 = 0, tile = 0; t0 < rows; t0 += array_rows, ++tile)
        for (int64_t r0 = t0; r0 < std::min(rows, t0 + array_rows); r0 += active_rows)
            groups.push_back({r0, std::min({rows, t0 + array_rows, r0 + active_rows}), tile});
    return groups;
}

struct KernelCase {
    const char* what;
    int64_t rows, cols, array_rows, active_rows;
    int digit_lo, digit_hi, planes, dac_bits, input_lo, input_hi;
    bool sign_magnitude;
};

// Read (v, plane p) of group g, in int64: per column sum_k plane(x_k) d_kj and P-_j (the plane
// values on rows whose digit is negative), and the plane totals P = sum_k plane(x_k), Q = sum_k plane(x_k)^2.
struct ReadReference {
    std::vector<int64_t> sums, negative_rows;
    int64_t P = 0, Q = 0;
};
inline ReadReference reference_read(const KernelCase& c, const std::vector<int16_t>& digits, const std::vector<int32_t>& x,
                                    const detail::ReadGroup& g, int64_t v, int p) {
    ReadReference ref;
    ref.sums.assign(size_t(c.cols), 0);
    ref.negative_rows.assign(size_t(c.cols), 0);
    for (int64_t k = g.r0; k < g.r1; ++k) {
        const int64_t pv = plane_value(x[size_t(v * c.rows + k)], p, c.dac_bits, c.sign_magnitude);
        ref.P += pv;
        ref.Q += pv * pv;
        for (int64_t j = 0; j < c.cols; ++j) {
            const int d = digits[size_t(k * c.cols + j)];
            ref.sums[size_t(j)] += pv * d;
            if (d < 0) ref.negative_rows[size_t(j)] += pv;
        }
    }
    return ref;
}

struct LayerCase {
    const char* what;
    const char* device;
    std::vector<std::string> sets;
    int digit_lo, digit_hi, input_lo, input_hi;
    bool signed_inputs, bipolar_inputs, analog_pairs;
    bool exact;  // ideal cells: both kernels' sums are the same integers
};

inline std::vector<std::string> isaac_with(std::vector<std::string> sets) {
    std::vector<std::string> base{"weight.bits=8", "cell.bits=2", "weight.encoding=differential", "input.bits=8", "quant.weight_bits=8",
                                  "quant.activation_bits=8", "array.adc.bits=5", "array.adc.range=calibrated_column",
                                  "cell.on_off_ratio=inf", "noise.read_sigma=0.01", "noise.adc_sigma_lsb=0.5"};
    base.insert(base.end(), sets.begin(), sets.end());
    return base;
}

// Columns 2i and 2i + 1 become W+ and W- of output i, read as an analog differential pair.
inline void make_analog_pairs(ProgrammedMatrix& m) {
    m.outputs = m.cols / 2;
    m.col_minus.assign(size_t(m.cols), -1);
    for (int64_t j = 0; j < m.cols; ++j) {
        m.col_output[size_t(j)] = j / 2;
        m.col_factor[size_t(j)] = j % 2 ? -1 : 1;
        if (j % 2 == 0) m.col_minus[size_t(j)] = j + 1;
    }
}

// A case's matrix: 300 rows (arrays of 128, 128 and 44 rows: ragged words), 38 columns (not a
// multiple of 8 or 32), its input encoding and column pairing.
inline ProgrammedMatrix case_matrix(const LayerCase& c) {
    ProgrammedMatrix m = sim_test::random_matrix(300, 38, c.digit_lo, c.digit_hi, 41);
    m.signed_inputs = c.signed_inputs;
    m.bipolar_inputs = c.bipolar_inputs;
    if (c.analog_pairs) make_analog_pairs(m);
    return m;
}

inline std::vector<double> run_with(CrossbarLayer& layer, SumKernel k, const std::vector<int32_t>& x, int64_t V, AdcStats& stats) {
    layer.force_kernel(k);
    const AdcStats before = layer.adc_stats();
    std::vector<double> y(size_t(V * layer.outputs()));
    layer.run(x.data(), V, y.data(), 3);
    stats = {layer.adc_stats().conversions - before.conversions, layer.adc_stats().clipped - before.clipped};
    return y;
}

}  // namespace kernel_test
