// The plan of one crossbar layer (CrossbarLayer::Impl), shared by the files that build it
// (crossbar.cpp), read through it (crossbar_read.cpp) and calibrate its ADC ranges
// (crossbar_calibration.cpp). Internal to cim_sim.
#pragma once

#include <cim/cimsim/crossbar.h>
#include <cim/error.h>

#include "int8_dot.h"
#include "nominal_sums.h"
#include "read_kernels.h"
#include "read_workspace.h"

#include <Eigen/Core>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <limits>
#include <mutex>

namespace cim::sim {

using RowMatD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using detail::GaussStream;
using detail::ReadGroup;
using detail::stream_key;

struct CrossbarLayer::Impl {
    // Device.
    int input_bits = 8, dac_bits = 1, planes = 8, adc_bits = 0;
    AdcRange adc_range = AdcRange::none;
    double dmax = 1, g_off = 0, g_on = 1;
    double read_sigma = 0, ir_drop = 0, adc_sigma = 0, adc_offset = 0;
    int64_t active_rows = 1;
    bool ideal_cells = true, bipolar = false, signed_inputs = false, bipolar_inputs = false;
    // Matrix.
    int64_t K = 0, J = 0, N = 0, cols_per_array = 0;
    std::vector<int64_t> col_begin, col_end;
    std::vector<double> col_factor;
    std::vector<uint8_t> col_digital;  // J: reference columns the periphery computes (no ADC, nominal conductances)
    std::vector<int> col_slice;        // J: the per-slice range class (|shift-add weight|)
    std::vector<int64_t> col_minus;    // J or empty: analog differential pairs (ProgrammedMatrix::col_minus)
    std::vector<uint8_t> no_adc;       // J: columns without a conversion of their own (digital references, W- of an analog pair)
    int64_t converted_cols = 0;        // columns through the ADC per read
    std::vector<ReadGroup> groups;
    std::vector<float> G;   // K x J stored conductances (digit units), row-major, while the plan is built
    // ... then in column tiles for the float rows kernel (read_kernels.h, tile_conductances), in double
    // when column sums can exceed float's exact range.
    // Where the popcount kernel has a plan, the tiles are built from its digits only when a float
    // path first asks for them (tests forcing the rows kernel, per-instance calibration): the plan
    // alone then holds the conductances (a few bits per cell instead of 4-8 bytes).
    mutable std::vector<float> G_tiles;
    mutable std::vector<double> Gd_tiles;
    // The fixed-point rows kernel's plan (cells with programming variation read by 1-bit planes):
    // round(G x fixed_scale) in int16 tiles of 128 columns; the float tiles are then built from these
    // on demand (a test forcing the float rows, per-instance calibration).
    std::vector<int16_t> F_tiles;
    float fixed_scale = 0, fixed_inv_scale = 0;
    mutable std::once_flag tiles_built;
    bool use_double = false;
    bool force_bitplanes = false;
    // The popcount kernel's plan: the digits as bits (empty when the cells are not exact in
    // integers), and what turns its integer sums into conductance sums.
    detail::PackedDigits packed;
    double drift = 1;
    SumKernel kernel = SumKernel::automatic;  // forced by a test
    // The int8 kernel's plan: the digits as signed bytes, built when the plan chooses it (or a test
    // forces it) on cells it fits (int8_fits: the popcount plan's cells, |d| <= 127, planes <= 8 bits).
    detail::Int8Digits bytes;
    bool int8_fits = false;
    SumKernel planned = SumKernel::float_rows;
    RowMatD W_exact;       // K x N: what the digital side believes the array holds (exact_reads layers only)
    // ADC, per (group, column), or per (group, input plane, column) for per-plane ranges.
    int range_planes = 1;           // input planes with ranges of their own: `planes` or 1
    std::vector<double> range;
    std::vector<float> inv_lsb;     // groups x range_planes x J
    // groups x range_planes x J: lsb x column factor. A plane's weight is a power of two, so the
    // conversion multiplies it in exactly (not stored per plane: 8x the size, 23 MB on ResNet-18).
    std::vector<float> lsb_col;
    std::vector<float> plain_weight;  // planes x J: column factor x plane weight (no ADC)
    std::vector<double> observed;   // calibration maxima of |column sum|, shaped as `range`
    detail::NominalSums nominal;    // the nominal column sums (calibrated ranges only)
    float code_lo = 0, code_top = 0;
    bool exact_reads = false;
    std::array<uint64_t, 4> stream{};  // (seed, instance, layer, group): the random streams' coordinates
    mutable std::atomic<int64_t> conversions{0}, clipped{0};

    double plane_weight(int p) const {
        const double w = std::ldexp(1.0, p * dac_bits);
        // Two's-complement inputs: the top bit weighs -2^(b-1) (bit-serial, one bit per cycle).
        return (signed_inputs && p == planes - 1) ? -w : w;
    }

    // Where the ranges of group gi's reads of plane p start.
    size_t range_row(size_t gi, int p) const {
        return (gi * size_t(range_planes) + size_t(range_planes > 1 ? p : 0)) * size_t(J);
    }

    void set_ranges(const std::vector<double>& r) {
        range = r;
        const double top = adc_bits > 0 ? (bipolar ? std::ldexp(1.0, adc_bits - 1) - 1 : std::ldexp(1.0, adc_bits) - 1) : 0;
        code_top = float(top);
        code_lo = bipolar ? float(-top - 1) : 0.0f;
        inv_lsb.assign(range.size(), 0.0f);
        lsb_col.assign(range.size(), 0.0f);
        for (size_t i = 0; i < range.size(); ++i) {
            const size_t j = i % size_t(J);
            if (adc_range == AdcRange::none || no_adc[j]) continue;
            const double lsb = lsb_for(range[i], top);
            inv_lsb[i] = float(1.0 / lsb);
            lsb_col[i] = float(lsb * col_factor[j]);
        }
    }
    // Integer sums that fit the codes are read exactly with a unit LSB.
    double lsb_for(double r, double top) const { return (ideal_cells && r <= top) ? 1.0 : std::max(r, 1e-12) / top; }

    double full_scale(const ReadGroup& g) const {
        const double plane_max = std::ldexp(1.0, dac_bits) - 1;
        return double(g.r1 - g.r0) * plane_max * g_on;
    }

    // Column sums of one vector for every read group: calls visit(gi, S, sq).
    template <class T, class Visit>
    void reads(const int32_t* xv, ReadWorkspace::Buffers& ws, Visit&& visit) const {
        std::vector<T>& S = ws.S<T>();
        S.resize(size_t(planes * J));
        ws.sq.resize(size_t(planes));
        const T* base = tiles<T>();
        for (size_t gi = 0; gi < groups.size(); ++gi) {
            const ReadGroup& g = groups[gi];
            detail::plane_sums(base, J, K, g.r0, xv + g.r0, K, 1, g.r1 - g.r0, planes, dac_bits, bipolar_inputs, S.data(), ws.sq.data(),
                               ws.rows<T>());
            visit(gi, S.data(), ws.sq.data());
        }
    }
    // Vectors per kernel call: their sums (block x planes x J) stay in L2; with few planes more vectors,
    // so that the float kernel's dense blocks share each chunk of conductance rows in L1.
    int64_t block_vectors() const { return std::max<int64_t>(8, 32 / planes); }
    SumKernel kernel_in_force() const { return kernel == SumKernel::automatic ? planned : kernel; }
    void reserve(ReadWorkspace::Buffers& ws, bool bitplanes) const;
    template <class T>
    const T* tiles() const {
        std::call_once(tiles_built, [this] { tiles_on_demand(); });
        if constexpr (std::is_same_v<T, double>) return Gd_tiles.data();
        else return G_tiles.data();
    }
    // Float tiles where the plan kept none: the fixed-point tiles dequantized, or the stored
    // conductances of ideal cells from the packed digits, sign x (g_off + |d|) x drift, as the
    // constructor computes them (no programming error or stuck cells where there is a plan).
    void tiles_on_demand() const {
        if (!F_tiles.empty()) {
            G_tiles = detail::tile_conductances(detail::untile_fixed_point(F_tiles, K, J, fixed_inv_scale), K, J);
            return;
        }
        if (packed.words.empty()) return;  // built by the constructor
        const std::vector<int16_t> digits = packed.unpack(groups, K);
        std::vector<float> G(size_t(K * J));
        for (size_t i = 0; i < G.size(); ++i) {
            const double sign = digits[i] < 0 ? -1.0 : 1.0;
            G[i] = float(sign * ((g_off + std::abs(int(digits[i]))) * drift));
        }
        if (use_double) Gd_tiles = detail::tile_conductances(std::vector<double>(G.begin(), G.end()), K, J);
        else G_tiles = detail::tile_conductances(G, K, J);
    }
    // Analog differential readout: the bit line of each W+ column carries I+ - I- (each current
    // through the IR drop of its own column first), the W- column is not converted (0). Other
    // layers: S itself.
    template <class T>
    const T* fold_pairs(const T* S, float ir_drop, float inv_full, std::vector<T>& D) const {
        if (col_minus.empty()) return S;
        D.resize(size_t(planes * J));
        for (int64_t i = 0; i < planes * J; ++i) D[size_t(i)] = ir_drop > 0 ? S[i] / (T(1) + T(ir_drop) * S[i] * T(inv_full)) : S[i];
        for (int p = 0; p < planes; ++p) {
            T* d = D.data() + p * J;
            for (int64_t j = 0; j < J; ++j)
                if (col_minus[size_t(j)] >= 0) {
                    d[j] -= d[col_minus[size_t(j)]];
                    d[col_minus[size_t(j)]] = T(0);
                }
        }
        return D.data();
    }
    // A read of a plane with no input set (high planes of ReLU codes) sums to zero on every column:
    // without ADC noise or offset every code is 0 (read noise scales with the set inputs), adding
    // nothing, so neither its sums nor its conversions are computed.
    bool skips_zero_planes() const { return !(adc_sigma > 0 && adc_range != AdcRange::none) && adc_offset == 0; }
    template <class T>
    void read_out(size_t gi, const T* S_cols, const float* sq, int64_t v, GaussStream& rng, double* col, int64_t& conv,
                  int64_t& clip, ReadWorkspace::Buffers& ws) const;
    void scatter(const double* col, double* o) const;
    template <class T>
    void run_blocks(const int32_t* x, int64_t V, double* out, uint64_t chunk_id, SumKernel k, ReadWorkspace::Buffers& ws,
                    int64_t first_vector) const;
};

}  // namespace cim::sim
