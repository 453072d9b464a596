// The buffers of a ReadWorkspace (crossbar.h), internal to cim_sim: everything a read writes besides
// its output, so that kernels allocate nothing once CrossbarLayer::reserve has sized them.
#pragma once

#include <cim/cimsim/crossbar.h>

#include "int8_dot.h"
#include "packed_digits.h"
#include "read_kernels.h"

#include <type_traits>
#include <vector>

namespace cim::sim {

struct ReadWorkspace::Buffers {
    detail::InputBits in;        // the popcount kernel's input bits of one block
    detail::InputBytes in_bytes;  // the int8 kernel's plane bytes of one block
    std::vector<int32_t> sums, pneg;  // integer column sums (and P-) of a block: [v][p][j]
    std::vector<float> S_f;           // conductance sums of a block: [v][p][j]
    std::vector<double> S_d;
    std::vector<float> D_f;           // one read's sums with analog pairs folded: [p][j]
    std::vector<double> D_d;
    std::vector<float> sq;            // [v][p]: sum of squared plane values (read-noise variance)
    std::vector<double> cols;         // [v][j]: every column's shift-added readings
    std::vector<int64_t> P, Q;        // [p]: plane totals of one vector
    std::vector<float> z;             // one read's Gaussians (J rounded up to even)
    std::vector<float> oracle_inv, oracle_w;  // AdcRange::oracle: one read's own range
    detail::RowsScratch<float> rows_f;        // the float rows kernel's terms
    detail::RowsScratch<double> rows_d;
    detail::RowsScratch<int16_t> rows_h;      // the fixed-point rows kernel's
    std::vector<double> X;            // the one-GEMM shortcut's block of inputs: kExactBlock x K

    template <class T>
    std::vector<T>& S() {
        if constexpr (std::is_same_v<T, double>) return S_d;
        else return S_f;
    }
    template <class T>
    std::vector<T>& D() {
        if constexpr (std::is_same_v<T, double>) return D_d;
        else return D_f;
    }
    template <class T>
    detail::RowsScratch<T>& rows() {
        if constexpr (std::is_same_v<T, double>) return rows_d;
        else return rows_f;
    }
};

}  // namespace cim::sim
