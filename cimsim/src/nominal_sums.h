// Column sums of the nominal conductances, for calibrated ADC ranges (internal to cim_sim).
//
// A cell programmed to digit d nominally conducts g = drift * (g_off + |d|), with the sign of d
// (native signed cells); programming error, stuck cells, IR drop, noise and the ADC are left out.
// One read's column sum is then, with p_k the input plane values of its rows,
//   S_j = drift * (g_off * (P - 2 P-_j) + sum_k p_k d_kj),   P = sum_k p_k,
// P-_j the part of P on rows whose digit is negative. Both sums are integers, computed exactly
// from popcounts of input bit planes against digit bit slices (64 rows per word): the work per
// read does not depend on how many input bits are set, and no float rounding enters.
// Sign-magnitude inputs (input.signed_handling bipolar): p_k is signed, the planes of |x_k| with
// the sign of x_k; P and P-_j are then signed sums, and the bound below uses sum_k |p_k|.
#pragma once

#include <cim/cimsim/crossbar.h>

#include "int8_dot.h"
#include "packed_digits.h"

#include <cstdint>
#include <vector>

namespace cim::sim::detail {

class NominalSums {
public:
    NominalSums() = default;
    // planes x dac_bits input bits per row; g_off and drift as the layer's conductances use them.
    // sign_magnitude: the codes are signed, each plane |x| >> (p * dac_bits) driven with the sign of x.
    // plan_packed / plan_bytes: the layer's read plan of the same digits and groups, when it has one
    // (non-empty); read in place of a copy of its own, so they must outlive this object.
    NominalSums(const ProgrammedMatrix& m, const std::vector<ReadGroup>& groups, int planes, int dac_bits, double g_off,
                double drift, bool sign_magnitude = false, const PackedDigits* plan_packed = nullptr,
                const Int8Digits* plan_bytes = nullptr);
    bool empty() const { return groups_.empty(); }
    // maxima[gi * cols + j] = max(itself, |S_j|) over the reads of every plane of the V vectors
    // (x: V x rows input codes, as CrossbarLayer::run takes them) that can matter: a read is skipped
    // when the bound |S_j| <= drift * (g_off + max |d|) * P shows it cannot raise a column's maximum,
    // or, with layer_wide (the ranges are one per layer), the largest maximum of the layer. So the
    // per-column maxima may then stay below the true ones, never their largest: the ranges come out
    // the same, read for read, as from every read.
    // With per_plane, maxima are kept per group, input plane and column ([gi][p][j]; not with layer_wide).
    void observe(const int32_t* x, int64_t V, double* maxima, bool layer_wide, bool per_plane = false) const;

private:
    double skip_below(size_t gi, const double* group_maxima, double layer_max) const;
    void update_skip(size_t gi, size_t slot, const double* maxima, bool layer_wide, std::vector<double>& skip, double& layer_max) const;
    // The reads of wide inputs on multi-bit cells by the int8 kernel (int8_dot.h), a block of vectors at
    // a time: the same integers, folded with the same roundings.
    void observe_int8(const int32_t* x, int64_t V, double* maxima, bool layer_wide, size_t RP, std::vector<double>& skip,
                      double& layer_max) const;

    int64_t K_ = 0, J_ = 0;
    int planes_ = 0, dac_bits_ = 0;
    bool sign_magnitude_ = false;
    double g_off_ = 0, drift_ = 1;
    std::vector<ReadGroup> groups_;
    const PackedDigits& packed() const { return plan_packed_ ? *plan_packed_ : own_packed_; }
    const Int8Digits& bytes() const { return plan_bytes_ ? *plan_bytes_ : own_bytes_; }
    const PackedDigits* plan_packed_ = nullptr;  // the layer's own, shared (a second copy of
    const Int8Digits* plan_bytes_ = nullptr;     // ResNet-18's digits would be 23 MB)
    PackedDigits own_packed_;
    Int8Digits own_bytes_;  // only where the int8 kernel reads (kInt8Passes)
};

}  // namespace cim::sim::detail
