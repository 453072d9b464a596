// Bit-plane crossbar simulation. Each layer is planned once per chip instance: the stored
// conductances, and, when the cells are exact in integers (no programming error, no stuck cells),
// the cell digits packed as bits for the popcount kernel (packed_digits.h) and, where it does less
// work, as bytes for the int8 kernel (int8_dot.h). A read (at most max_active_rows rows of one
// array, every input plane) then gets its column sums from popcounts or int8 dot products over a
// block of input vectors at once, or, with programming variation, from adding the stored
// conductance rows of the inputs whose plane bit is set (read_kernels.h); each sum is then
// converted by the ADC and shift-added with its column and plane weight. The ideal case (every
// read exact) is one integer-valued GEMM.
#include <cim/cimsim/crossbar.h>
#include <cim/error.h>

#include "int8_dot.h"
#include "read_model.h"
#include "nominal_sums.h"
#include "read_kernels.h"

#include <Eigen/Core>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <limits>
#include <mutex>

namespace cim::sim {

namespace {

using RowMatD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

using detail::GaussStream;
using detail::ReadGroup;
using detail::stream_key;

// The int8 kernel costs one dot-product pass per plane (16 columns x 4 rows an instruction), the
// popcount kernel slices x dac_bits AND + popcount passes (8 columns x 64 rows, skipping 64-row words
// with no bit set). On bench_crossbar's kernels (docs/performance.md) popcount is 1.4-2.1x faster at
// 1 pass per plane, 0.9-1.5x at 2; from 4 passes int8 is 1.0-5x faster, 18-21x for 7-bit cells with
// 8-bit inputs.
bool int8_does_less(int slices, int dac_bits) { return slices * dac_bits > 2; }

}  // namespace

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
    std::vector<float> lsb_weight;  // groups x planes x J: lsb x column factor x plane weight
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
        lsb_weight.assign(groups.size() * size_t(planes) * size_t(J), 0.0f);
        for (size_t gi = 0; gi < groups.size(); ++gi)
            for (int p = 0; p < planes; ++p)
                for (int64_t j = 0; j < J; ++j) {
                    const size_t i = range_row(gi, p) + size_t(j);
                    double lsb = 0;
                    if (adc_range != AdcRange::none && !no_adc[size_t(j)]) {
                        lsb = lsb_for(range[i], top);
                        inv_lsb[i] = float(1.0 / lsb);
                    }
                    lsb_weight[(gi * size_t(planes) + size_t(p)) * size_t(J) + size_t(j)] = float(lsb * col_factor[size_t(j)] * plane_weight(p));
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
    void reads(const int32_t* xv, Visit&& visit) const {
        thread_local std::vector<T> S;
        thread_local std::vector<float> sq;
        S.resize(size_t(planes * J));
        sq.resize(size_t(planes));
        const T* base = tiles<T>();
        for (size_t gi = 0; gi < groups.size(); ++gi) {
            const ReadGroup& g = groups[gi];
            detail::plane_sums(base, J, K, g.r0, xv + g.r0, K, 1, g.r1 - g.r0, planes, dac_bits, bipolar_inputs, S.data(), sq.data());
            visit(gi, S.data(), sq.data());
        }
    }
    template <class T>
    const T* tiles() const {
        std::call_once(tiles_built, [this] { tiles_from_digits(); });
        if constexpr (std::is_same_v<T, double>) return Gd_tiles.data();
        else return G_tiles.data();
    }
    // The stored conductances of ideal cells from the packed digits: sign x (g_off + |d|) x drift,
    // as the constructor computes them (no programming error or stuck cells where there is a plan).
    void tiles_from_digits() const {
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
    const T* fold_pairs(const T* S, float ir_drop, float inv_full) const {
        if (col_minus.empty()) return S;
        thread_local std::vector<T> D;
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
                  int64_t& clip) const;
    void scatter(const double* col, double* o) const;
    template <class T>
    void run_blocks(const int32_t* x, int64_t V, double* out, uint64_t chunk_id, SumKernel k) const;
};

CrossbarLayer::~CrossbarLayer() = default;
CrossbarLayer::CrossbarLayer(CrossbarLayer&&) noexcept = default;

CrossbarLayer::CrossbarLayer(const DeviceSpec& d, ProgrammedMatrix m, uint64_t seed, uint64_t instance, uint64_t layer, uint64_t group)
    : impl_(std::make_unique<Impl>()) {
    Impl& s = *impl_;
    s.dmax = d.weight.encoding == WeightEncoding::native_signed ? double(d.weight.clip) : std::ldexp(1.0, d.cell.bits) - 1;
    s.input_bits = d.input.bits;
    if (d.input.mode == InputMode::multi_bit) {
        s.dac_bits = d.input.bits;
        s.planes = 1;
    } else {
        s.dac_bits = d.input.dac_bits;
        s.planes = (d.input.bits + d.input.dac_bits - 1) / d.input.dac_bits;
    }
    s.signed_inputs = m.signed_inputs;
    s.bipolar_inputs = m.bipolar_inputs;
    if (s.signed_inputs && s.dac_bits != 1 && s.planes > 1)
        throw InputError(d.source_path + ": two's-complement inputs need input.dac_bits = 1 (the sign bit is its own cycle)");
    s.adc_range = d.array.adc.range;
    s.adc_bits = d.array.adc.bits;
    // The non-idealities, each a named part (read_model.h, cimsim/src/nonideal/).
    const detail::ReadModel model = detail::read_model(d, s.dmax);
    s.g_off = model.g_off;
    s.g_on = s.dmax + s.g_off;
    s.read_sigma = model.read_sigma;
    s.ir_drop = model.ir_drop;
    s.adc_sigma = model.adc_sigma_lsb;
    s.adc_offset = model.adc_offset_lsb;
    s.active_rows = std::max(1, d.array.max_active_rows);
    const double drift = model.drift;
    // Per-cell draws (programming variation, stuck cells) end the cells' exactness in integers.
    const bool cell_draws = !model.cell_draws.empty();
    const bool programming = model.off_grid;
    s.ideal_cells = !cell_draws && drift == 1.0 && s.g_off == 0 && s.ir_drop == 0;

    s.K = m.rows;
    s.J = m.cols;
    s.N = m.outputs;
    s.cols_per_array = m.cols_per_array > 0 ? m.cols_per_array : m.cols;
    if (int64_t(m.digits.size()) != s.K * s.J || int64_t(m.col_output.size()) != s.J || int64_t(m.col_factor.size()) != s.J ||
        (!m.col_output_end.empty() && int64_t(m.col_output_end.size()) != s.J))
        throw InternalError("ProgrammedMatrix sizes are inconsistent");
    s.col_begin = m.col_output;
    s.col_end.resize(size_t(s.J));
    s.col_factor.resize(size_t(s.J));
    for (int64_t j = 0; j < s.J; ++j) {
        s.col_end[size_t(j)] = m.col_output_end.empty() ? m.col_output[size_t(j)] + 1 : m.col_output_end[size_t(j)];
        s.col_factor[size_t(j)] = double(m.col_factor[size_t(j)]);
        if (s.col_begin[size_t(j)] < 0 || s.col_end[size_t(j)] > s.N || s.col_end[size_t(j)] <= s.col_begin[size_t(j)])
            throw InternalError("ProgrammedMatrix column output range out of bounds");
    }
    if (!m.col_reference.empty() && int64_t(m.col_reference.size()) != s.J) throw InternalError("ProgrammedMatrix reference flags");
    s.col_digital.assign(size_t(s.J), 0);
    s.col_slice.assign(size_t(s.J), 0);
    // A slice is the columns of one |shift-add weight|: an offset reference column holds the offset's
    // digit of that slice and shares its range (their difference is what the slice contributes).
    std::vector<int64_t> slice_keys;
    for (int64_t j = 0; j < s.J; ++j) {
        const int reference = m.col_reference.empty() ? 0 : int(m.col_reference[size_t(j)]);
        s.col_digital[size_t(j)] = uint8_t(reference && m.digital_reference);
        const int64_t key = std::abs(m.col_factor[size_t(j)]);
        auto at = std::find(slice_keys.begin(), slice_keys.end(), key);
        if (at == slice_keys.end()) at = slice_keys.insert(at, key);
        s.col_slice[size_t(j)] = int(at - slice_keys.begin());
    }
    s.no_adc = s.col_digital;
    if (!m.col_minus.empty()) {
        if (int64_t(m.col_minus.size()) != s.J) throw InternalError("ProgrammedMatrix differential pairs");
        s.col_minus = m.col_minus;
        for (int64_t j = 0; j < s.J; ++j) {
            const int64_t minus = m.col_minus[size_t(j)];
            if (minus < 0) continue;
            if (minus >= s.J || m.col_factor[size_t(minus)] != -m.col_factor[size_t(j)] || m.col_output[size_t(minus)] != m.col_output[size_t(j)])
                throw InternalError("an analog differential pair whose columns differ in output or weight");
            s.no_adc[size_t(minus)] = 1;
        }
    }
    // A bipolar ADC (codes -2^(b-1)..2^(b-1)-1) for signed column sums: analog pairs and bipolar inputs.
    s.bipolar = !s.col_minus.empty() || s.bipolar_inputs;
    s.converted_cols = s.J - std::count(s.no_adc.begin(), s.no_adc.end(), uint8_t(1));

    // Read groups: arrays of rows_per_array rows (the mapper's row tiles), each read max_active_rows rows at a time.
    const int64_t R = m.rows_per_array > 0 ? m.rows_per_array : d.array.usable_rows;
    for (int64_t t0 = 0, tile = 0; t0 < s.K; t0 += R, ++tile)
        for (int64_t r0 = t0; r0 < std::min(s.K, t0 + R); r0 += s.active_rows)
            s.groups.push_back({r0, std::min({s.K, t0 + R, r0 + s.active_rows}), tile});

    // Stored conductances of this chip instance. A native signed cell (WTM2101) is a
    // signed conductance (a device pair inside the cell); its noise scales with |g|.
    s.stream = {seed, instance, layer, group};
    // The popcount kernel's plan: cells exact in integers (drift and the OFF leak are one scale and
    // one offset per read), at most 32 input bits a row, and integer sums inside int32. Its layers
    // keep no float conductances (built on demand: tiles_from_digits).
    s.drift = drift;
    int64_t group_rows = 0;
    for (const ReadGroup& g : s.groups) group_rows = std::max(group_rows, g.r1 - g.r0);
    const double largest_sum = double(group_rows) * (std::ldexp(1.0, s.dac_bits) - 1) * s.dmax;
    const bool packable = !cell_draws && s.planes * s.dac_bits <= 32 && largest_sum < std::ldexp(1.0, 31);
    if (!packable) s.G.resize(size_t(s.K * s.J));
    GaussStream rng(stream_key({seed, instance, layer, group, detail::kProgramming}));
    const detail::CellLevels levels{s.dmax, s.g_off, s.g_on};
    for (int64_t k = 0; k < s.K; ++k)
        for (int64_t j = 0; j < s.J; ++j) {
            const int digit = m.digits[size_t(k * s.J + j)];
            if (digit < 0) s.bipolar = true;
            if (std::abs(digit) > s.dmax) throw InternalError("cell digit exceeds the cell's range");
            if (packable) continue;  // ideal cells: no random draws to keep in step
            const double sign = digit < 0 ? -1.0 : 1.0;
            double g = s.g_off + std::abs(digit);
            if (s.col_digital[size_t(j)]) {  // computed by the periphery from the nominal value
                s.G[size_t(k * s.J + j)] = float(sign * g * drift);
                continue;
            }
            for (const detail::NonIdeality* part : model.cell_draws) g = part->draw(d, levels, g, rng);
            g = std::max(g, 0.0) * drift;  // a conductance cannot go negative
            s.G[size_t(k * s.J + j)] = float(sign * g);
        }

    s.plain_weight.resize(size_t(s.planes * s.J));
    for (int p = 0; p < s.planes; ++p)
        for (int64_t j = 0; j < s.J; ++j) s.plain_weight[size_t(p * s.J + j)] = float(s.col_factor[size_t(j)] * s.plane_weight(p));
    s.range_planes = (s.adc_range == AdcRange::calibrated_plane || s.adc_range == AdcRange::calibrated_slice_plane) ? s.planes : 1;
    std::vector<double> fs(s.groups.size() * size_t(s.range_planes) * size_t(s.J));
    double largest = 0;
    for (size_t gi = 0; gi < s.groups.size(); ++gi)
        for (int p = 0; p < s.range_planes; ++p)
            for (int64_t j = 0; j < s.J; ++j) largest = std::max(largest, fs[s.range_row(gi, p) + size_t(j)] = s.full_scale(s.groups[gi]));
    s.set_ranges(fs);
    // Float column sums round above 2^24. Cells with programming variation have no exact integer sums
    // to keep, though: float rounds each of a group's additions by at most 2^-24 of the full scale, the
    // sum by at most group_rows x 2^-24 of it, and while that is under 1/16 of a full-scale ADC LSB
    // (group_rows <= 2^(20 - adc_bits)) float stays, at twice double's rate (docs/simulator.md).
    const bool float_suffices = programming && s.adc_bits > 0 && double(group_rows) <= std::ldexp(1.0, 20 - s.adc_bits);
    s.use_double = largest >= double(1 << 24) && !float_suffices;
    if (packable) {
        s.packed = detail::PackedDigits(m.digits, s.J, s.groups);
        s.int8_fits = detail::int8_fits(m.digits, s.dac_bits);
        s.planned = s.int8_fits && int8_does_less(s.packed.slices, s.dac_bits) ? SumKernel::int8_dot : SumKernel::popcount;
        if (s.planned == SumKernel::int8_dot) s.bytes = detail::Int8Digits(m.digits, s.J, s.groups);
    }
    if (s.packed.words.empty()) {
        if (s.use_double) s.Gd_tiles = detail::tile_conductances(std::vector<double>(s.G.begin(), s.G.end()), s.K, s.J);
        else s.G_tiles = detail::tile_conductances(s.G, s.K, s.J);
    }
    std::vector<float>().swap(s.G);  // only the tiles are read
    const bool adc_exact = s.adc_range == AdcRange::none ||
                           (s.adc_range == AdcRange::full_scale && largest <= double(s.code_top));
    s.exact_reads = s.ideal_cells && adc_exact && s.read_sigma == 0 && s.adc_sigma == 0 && s.adc_offset == 0;
    // The one-GEMM shortcut's weights, only for a layer that can take it (a read once inexact, e.g.
    // with a calibrated range, never becomes exact again).
    if (s.exact_reads) {
        s.W_exact = RowMatD::Zero(s.K, s.N);
        for (int64_t k = 0; k < s.K; ++k)
            for (int64_t j = 0; j < s.J; ++j) {
                const double v = s.col_factor[size_t(j)] * m.digits[size_t(k * s.J + j)];
                for (int64_t n = s.col_begin[size_t(j)]; n < s.col_end[size_t(j)]; ++n) s.W_exact(k, n) += v;
            }
    }
    if (adc_range_calibrated(s.adc_range)) {
        if (!s.col_minus.empty()) {  // the pair's difference: digits d+ - d-, the off-cell leak cancels
            ProgrammedMatrix folded = m;
            for (int64_t k = 0; k < s.K; ++k)
                for (int64_t j = 0; j < s.J; ++j)
                    if (m.col_minus[size_t(j)] >= 0) {
                        int16_t& plus = folded.digits[size_t(k * s.J + j)];
                        int16_t& minus = folded.digits[size_t(k * s.J + m.col_minus[size_t(j)])];
                        plus = int16_t(plus - minus);
                        minus = 0;
                    }
            s.nominal = detail::NominalSums(folded, s.groups, s.planes, s.dac_bits, 0.0, drift, s.bipolar_inputs);
        } else {
            s.nominal = detail::NominalSums(m, s.groups, s.planes, s.dac_bits, s.g_off, drift, s.bipolar_inputs);
        }
    }
}

bool CrossbarLayer::exact() const { return impl_->exact_reads; }
int64_t CrossbarLayer::rows() const { return impl_->K; }
int64_t CrossbarLayer::outputs() const { return impl_->N; }
AdcStats CrossbarLayer::adc_stats() const { return {impl_->conversions.load(), impl_->clipped.load()}; }

void CrossbarLayer::run(const int32_t* x, int64_t V, double* out, uint64_t chunk_id) const {
    const Impl& s = *impl_;
    if (s.exact_reads && !s.force_bitplanes) {
        thread_local RowMatD X;
        X.resize(V, s.K);
        for (int64_t i = 0; i < V * s.K; ++i) X.data()[i] = double(x[i]);
        Eigen::Map<RowMatD> O(out, V, s.N);
        O.noalias() = X * s.W_exact;
        return;
    }
    run_bitplanes(x, V, out, chunk_id);
}

// One read's column sums S (planes x J, before any pair folding; sq: the squared plane values per
// plane) through the ADC into the per-column accumulators col (J) of vector v.
template <class T>
void CrossbarLayer::Impl::read_out(size_t gi, const T* S_cols, const float* sq, int64_t v, GaussStream& rng, double* col,
                                   int64_t& conv, int64_t& clip) const {
    const bool noisy_read = read_sigma > 0, noisy_adc = adc_sigma > 0 && adc_range != AdcRange::none;
    thread_local std::vector<float> z;  // one Gaussian per conversion: read and ADC noise combined
    thread_local std::vector<float> oracle_inv, oracle_w;  // AdcRange::oracle: this read's own range
    if (adc_range == AdcRange::oracle) {
        oracle_inv.assign(size_t(J), 0.0f);
        oracle_w.assign(size_t(J), 0.0f);
    }
    // Draws in (vector, group, plane) order, J rounded up to even each: placed by the read's
    // coordinates, so kernels that visit reads in another order (or skip reads) draw the same numbers.
    const uint64_t draws = uint64_t(J + (J & 1));
    const uint64_t first_draw = (uint64_t(v) * groups.size() + gi) * uint64_t(planes) * draws;
    if (noisy_read || noisy_adc) z.resize(size_t(J + 1));
    const float inv_full = float(1.0 / (g_on * double(active_rows)));
    // Analog pairs: IR drop on each column, then the difference; convert_plane then applies none.
    const bool pairs = !col_minus.empty();
    const T* S = fold_pairs(S_cols, float(ir_drop), inv_full);
    const float ir = pairs ? 0.0f : float(ir_drop);
    for (int p = 0; p < planes; ++p) {
        if (sq[p] == 0 && skips_zero_planes()) {
            if (adc_range != AdcRange::none) conv += converted_cols;
            continue;
        }
        const T* sp = S + p * J;
        if (adc_range == AdcRange::none) {
            detail::accumulate_plane(sp, J, plain_weight.data() + p * J, col);
            continue;
        }
        // Read noise: each conducting cell adds sigma x (g_on - g_off) independently.
        // An analog pair's difference carries both columns' noise (independent: variance twice).
        const float rs = noisy_read ? float(read_sigma * dmax * std::sqrt(double(sq[p]) * (pairs ? 2.0 : 1.0))) : 0.0f;
        if (noisy_read || noisy_adc) {
            rng.seek(first_draw + uint64_t(p) * draws);
            rng.fill(z.data(), J);
        }
        const float* inv = inv_lsb.data() + range_row(gi, p);
        const float* lw = lsb_weight.data() + (gi * size_t(planes) + size_t(p)) * size_t(J);
        if (adc_range == AdcRange::oracle) {  // the range of this read's largest |column sum|
            double m = 0;
            for (int64_t j = 0; j < J; ++j)
                if (!no_adc[size_t(j)]) m = std::max(m, double(std::fabs(sp[j])));
            const double lsb = lsb_for(m, double(code_top));
            for (int64_t j = 0; j < J; ++j)
                if (!no_adc[size_t(j)]) {
                    oracle_inv[size_t(j)] = float(1.0 / lsb);
                    oracle_w[size_t(j)] = float(lsb * double(plain_weight[size_t(p * J + j)]));
                }
            inv = oracle_inv.data();
            lw = oracle_w.data();
        }
        clip += detail::convert_plane(sp, J, inv, lw, code_lo, code_top, float(adc_offset), noisy_read || noisy_adc ? z.data() : nullptr,
                                      rs, noisy_adc ? float(adc_sigma) : 0.0f, ir, inv_full, col);
        conv += converted_cols;
        if (converted_cols < J)  // digital references: the nominal reading, exactly
            for (int64_t j = 0; j < J; ++j)
                if (col_digital[size_t(j)]) col[j] += double(sp[j]) * double(plain_weight[size_t(p * J + j)]);
    }
}

// Every column's accumulated reading into its outputs.
void CrossbarLayer::Impl::scatter(const double* col, double* o) const {
    std::fill(o, o + N, 0.0);
    for (int64_t j = 0; j < J; ++j)
        for (int64_t n = col_begin[size_t(j)]; n < col_end[size_t(j)]; ++n) o[n] += col[j];
}

// The bit-plane path over blocks of input vectors: for each read group, the column sums of the
// whole block at once, by popcount or int8 dot products over the planned digits (integer sums, then
// drift x (g_off x (P - 2 P-) + sum) rounded once) or by the float conductance rows; then each read through the ADC.
template <class T>
void CrossbarLayer::Impl::run_blocks(const int32_t* x, int64_t V, double* out, uint64_t chunk_id, SumKernel k) const {
    // Vectors per kernel call: their sums (kBlock x planes x J) stay in L2; with few planes more vectors,
    // so that the float kernel's dense blocks share each chunk of conductance rows in L1.
    const int64_t kBlock = std::max<int64_t>(8, 32 / planes);
    GaussStream rng(stream_key({stream[0], stream[1], stream[2], stream[3], detail::kReads, chunk_id}));
    thread_local detail::InputBits in;
    thread_local detail::InputBytes in_bytes;
    thread_local std::vector<int32_t> sums, pneg;
    thread_local std::vector<T> S;
    thread_local std::vector<float> sq;
    thread_local std::vector<double> cols;
    thread_local std::vector<int64_t> P, Q;
    in.nbits = planes * dac_bits;
    in.sign_magnitude = bipolar_inputs;
    in_bytes.planes = planes;
    in_bytes.dac_bits = dac_bits;
    in_bytes.sign_magnitude = bipolar_inputs;
    const bool integer = k == SumKernel::popcount || k == SumKernel::int8_dot;
    const bool need_pneg = integer && packed.signed_digits && g_off != 0;
    const T* conductances = integer ? nullptr : tiles<T>();
    if (integer) sums.resize(size_t(kBlock * planes * J));
    if (need_pneg) pneg.resize(sums.size());
    S.resize(size_t(kBlock * planes * J));
    sq.resize(size_t(kBlock * planes));
    P.resize(size_t(planes));
    Q.resize(size_t(planes));
    int64_t conv = 0, clip = 0;
    for (int64_t v0 = 0; v0 < V; v0 += kBlock) {
        const int64_t nv = std::min(kBlock, V - v0);
        cols.assign(size_t(nv * J), 0.0);
        for (size_t gi = 0; gi < groups.size(); ++gi) {
            const ReadGroup& g = groups[gi];
            if (k == SumKernel::int8_dot) {
                in_bytes.load(x + v0 * K, nv, K, g);
                detail::int8_sums(bytes, gi, in_bytes, nv, sums.data(), need_pneg ? pneg.data() : nullptr);
            } else if (k == SumKernel::popcount) {
                in.load(x + v0 * K, nv, K, g, size_t(packed.words[gi]));
                detail::popcount_sums(packed, gi, in, nv, planes, dac_bits, sums.data(), need_pneg ? pneg.data() : nullptr);
            } else {
                detail::plane_sums(conductances, J, K, g.r0, x + v0 * K + g.r0, K, nv, g.r1 - g.r0, planes, dac_bits, bipolar_inputs,
                                   S.data(), sq.data());
            }
            if (integer)
                for (int64_t v = 0; v < nv; ++v) {
                    if (k == SumKernel::int8_dot) {
                        std::copy_n(in_bytes.P.data() + v * planes, planes, P.data());
                        std::copy_n(in_bytes.Q.data() + v * planes, planes, Q.data());
                    } else {
                        detail::plane_totals(in, v, planes, dac_bits, P.data(), Q.data());
                    }
                    for (int p = 0; p < planes; ++p) {
                        const int64_t at = (v * planes + p) * J;
                        sq[size_t(v * planes + p)] = float(Q[size_t(p)]);
                        if (Q[size_t(p)] == 0 && skips_zero_planes()) continue;  // read_out skips it
                        detail::conductance_sums(sums.data() + at, need_pneg ? pneg.data() + at : nullptr, J, double(P[size_t(p)]),
                                                 g_off, drift, S.data() + at);
                    }
                }
            for (int64_t v = 0; v < nv; ++v)
                read_out(gi, S.data() + v * planes * J, sq.data() + v * planes, v0 + v, rng, cols.data() + v * J, conv, clip);
        }
        for (int64_t v = 0; v < nv; ++v) scatter(cols.data() + v * J, out + (v0 + v) * N);
    }
    conversions += conv;
    clipped += clip;
}

void CrossbarLayer::run_bitplanes(const int32_t* x, int64_t V, double* out, uint64_t chunk_id) const {
    const Impl& s = *impl_;
    const SumKernel k = s.kernel == SumKernel::automatic ? s.planned : s.kernel;
    if (s.use_double) s.run_blocks<double>(x, V, out, chunk_id, k);
    else s.run_blocks<float>(x, V, out, chunk_id, k);
}

bool CrossbarLayer::supports(SumKernel k) const {
    switch (k) {
        case SumKernel::automatic:
        case SumKernel::float_rows:
            return true;
        case SumKernel::popcount:
            return !impl_->packed.words.empty();
        case SumKernel::int8_dot:
            return impl_->int8_fits;
    }
    return false;
}

void CrossbarLayer::force_kernel(SumKernel k) {
    Impl& s = *impl_;
    if (!supports(k)) throw InternalError("a kernel the layer's cells do not fit (popcount and int8_dot: cells exact in integers)");
    if (k == SumKernel::int8_dot && s.bytes.empty()) s.bytes = detail::Int8Digits(s.packed.unpack(s.groups, s.K), s.J, s.groups);
    s.kernel = k;
}

SumKernel CrossbarLayer::kernel() const { return impl_->planned; }

void CrossbarLayer::force_bitplanes(bool on) { impl_->force_bitplanes = on; }

void CrossbarLayer::observe_for_calibration(const int32_t* x, int64_t V, std::vector<double>& maxima) const {
    const Impl& s = *impl_;
    if (maxima.size() != s.range.size()) maxima.assign(s.range.size(), 0.0);
    auto visit = [&](size_t gi, const auto* S_cols, const float*) {
        const auto* S = s.fold_pairs(S_cols, 0.0f, 0.0f);  // observed before the IR drop, as unpaired columns are
        for (int p = 0; p < s.planes; ++p) {
            double* obs = maxima.data() + s.range_row(gi, p);
            for (int64_t j = 0; j < s.J; ++j) obs[j] = std::max(obs[j], double(std::fabs(S[p * s.J + j])));
        }
    };
    for (int64_t v = 0; v < V; ++v) {
        if (s.use_double) s.reads<double>(x + v * s.K, visit);
        else s.reads<float>(x + v * s.K, visit);
    }
}

void CrossbarLayer::observe_nominal(const int32_t* x, int64_t V, std::vector<double>& maxima) const {
    const Impl& s = *impl_;
    CIM_INTERNAL_CHECK(!s.nominal.empty(), "nominal column sums of a layer without a calibrated ADC range");
    if (maxima.size() != s.range.size()) maxima.assign(s.range.size(), 0.0);
    // The layer-wide skip is exact only when every observed column sets the layer's range.
    s.nominal.observe(x, V, maxima.data(), s.adc_range == AdcRange::calibrated_layer && s.converted_cols == s.J, s.range_planes > 1);
}

const std::vector<double>& CrossbarLayer::calibration_maxima() const { return impl_->observed; }
const std::vector<double>& CrossbarLayer::adc_ranges() const { return impl_->range; }

void CrossbarLayer::merge_calibration(const std::vector<double>& maxima) {
    Impl& s = *impl_;
    if (s.observed.empty()) s.observed.assign(s.range.size(), 0.0);
    CIM_INTERNAL_CHECK(maxima.size() == s.observed.size(), "calibration maxima of another layer");
    for (size_t k = 0; k < maxima.size(); ++k) s.observed[k] = std::max(s.observed[k], maxima[k]);
}

void CrossbarLayer::observe_for_calibration(const int32_t* x, int64_t V) {
    std::vector<double> maxima;
    observe_for_calibration(x, V, maxima);
    merge_calibration(maxima);
}

void CrossbarLayer::finish_calibration() {
    Impl& s = *impl_;
    if (!adc_range_calibrated(s.adc_range) || s.observed.empty()) return;
    std::vector<double> r = s.observed;
    const size_t J = size_t(s.J);
    switch (s.adc_range) {
        case AdcRange::none:
        case AdcRange::full_scale:
        case AdcRange::oracle:
        case AdcRange::calibrated_column:
            break;
        case AdcRange::calibrated_layer: {
            double m = 0;
            for (size_t i = 0; i < r.size(); ++i)
                if (!s.no_adc[i % J]) m = std::max(m, s.observed[i]);
            std::fill(r.begin(), r.end(), m);
            break;
        }
        case AdcRange::calibrated_array:
            // One range per array: the row tile of the group and the column tile of the column.
            for (size_t gi = 0; gi < s.groups.size(); ++gi)
                for (int64_t c0 = 0; c0 < s.J; c0 += s.cols_per_array) {
                    const int64_t c1 = std::min(s.J, c0 + s.cols_per_array);
                    double m = 0;
                    for (size_t gj = 0; gj < s.groups.size(); ++gj)
                        if (s.groups[gj].array_row == s.groups[gi].array_row)
                            for (int64_t j = c0; j < c1; ++j)
                                if (!s.no_adc[size_t(j)]) m = std::max(m, s.observed[gj * J + size_t(j)]);
                    for (int64_t j = c0; j < c1; ++j) r[gi * J + size_t(j)] = m;
                }
            break;
        case AdcRange::calibrated_slice:
        case AdcRange::calibrated_plane:
        case AdcRange::calibrated_slice_plane: {
            // One range per class (slice, plane or both): the largest observation over every group and
            // column of the class. Observations are [group][range plane][column].
            const bool by_slice = s.adc_range != AdcRange::calibrated_plane;
            const size_t RP = size_t(s.range_planes);
            auto cls = [&](size_t i) { return (by_slice ? size_t(s.col_slice[i % J]) : 0) * RP + (i / J) % RP; };
            std::vector<double> m(J * RP, 0.0);
            for (size_t i = 0; i < r.size(); ++i)
                if (!s.no_adc[i % J]) m[cls(i)] = std::max(m[cls(i)], s.observed[i]);
            for (size_t i = 0; i < r.size(); ++i) r[i] = m[cls(i)];
            break;
        }
    }
    for (double& v : r) v = std::max(v, 1.0);  // an all-zero column still needs a range
    s.set_ranges(r);
    s.exact_reads = false;
}

void CrossbarLayer::set_range(double range) {
    Impl& s = *impl_;
    if (!adc_range_calibrated(s.adc_range)) return;
    s.set_ranges(std::vector<double>(s.range.size(), std::max(range, 1.0)));
    s.exact_reads = false;
}

}  // namespace cim::sim
