// Bit-plane crossbar simulation. Each layer is planned once per chip instance: the stored
// conductances, and, when the cells are exact in integers (no programming error, no stuck cells),
// the cell digits packed as bits for the popcount kernel (packed_digits.h) and, where it does less
// work, as bytes for the int8 kernel (int8_dot.h). A read (at most max_active_rows rows of one
// array, every input plane) then gets its column sums from popcounts or int8 dot products over a
// block of input vectors at once, or, with programming variation, from adding the stored
// conductance rows of the inputs whose plane bit is set (read_kernels.h); each sum is then
// converted by the ADC and shift-added with its column and plane weight. The ideal case (every
// read exact) is one integer-valued GEMM.
// This file: the plan (the constructor) and the kernel choice; crossbar_read.cpp reads, and
// crossbar_calibration.cpp calibrates the ADC ranges.
#include "crossbar_impl.h"
#include "read_model.h"

namespace cim::sim {

namespace {

// The int8 kernel costs one dot-product pass per plane (16 columns x 4 rows an instruction), the
// popcount kernel slices x dac_bits AND + popcount passes (8 columns x 64 rows, skipping 64-row words
// with no bit set). On bench_crossbar's kernels (docs/performance.md) popcount is 1.4-2.1x faster at
// 1 pass per plane, 0.9-1.5x at 2; from 4 passes int8 is 1.0-5x faster, 18-21x for 7-bit cells with
// 8-bit inputs.
bool int8_does_less(int slices, int dac_bits) { return slices * dac_bits > 2; }

}  // namespace

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
    // keep no float conductances (built on demand: tiles_on_demand).
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
    // Fixed point where cells vary and planes are 1 bit: a read's sum is at most the largest column
    // sum of |G| over a read group's rows, so with scale = 32000 / that every sum of rounded
    // conductances fits int16 (each rounds up by at most 1/2: 32000 + group_rows / 2 < 32767 for
    // group_rows <= 1024). Each cell is off by at most 1/(2 scale); a read's sum by at most
    // group_rows / (2 scale), which the plan keeps under 1/8 of a full-scale ADC LSB, and typically by
    // sqrt(set rows / 12) / scale (docs/simulator.md, "Fixed-point rows").
    if (s.packed.words.empty() && !s.use_double && s.dac_bits == 1 && s.adc_bits > 0 && group_rows <= 1024 && detail::fixed_point_allowed()) {
        double largest_sum = 0;
        std::vector<double> column(size_t(s.J));
        for (const ReadGroup& g : s.groups) {
            std::fill(column.begin(), column.end(), 0.0);
            for (int64_t k = g.r0; k < g.r1; ++k)
                for (int64_t j = 0; j < s.J; ++j) column[size_t(j)] += std::fabs(double(s.G[size_t(k * s.J + j)]));
            for (double c : column) largest_sum = std::max(largest_sum, c);
        }
        const double scale = largest_sum > 0 ? 32000.0 / largest_sum : 0.0;
        const double worst = scale > 0 ? double(group_rows) / (2 * scale) : 0.0;
        const double fs_lsb = double(group_rows) * s.g_on / (std::ldexp(1.0, s.adc_bits) - 1);
        if (scale > 0 && worst <= fs_lsb / 8) {
            s.fixed_scale = float(scale);
            s.fixed_inv_scale = float(1.0 / scale);
            s.F_tiles = detail::tile_fixed_point(s.G, s.K, s.J, s.fixed_scale);
            s.planned = SumKernel::fixed_rows;
        }
    }
    if (s.packed.words.empty() && s.F_tiles.empty()) {
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
            // The same digits and groups as the read plan's: its packed copy serves both.
            s.nominal = detail::NominalSums(m, s.groups, s.planes, s.dac_bits, s.g_off, drift, s.bipolar_inputs, &s.packed, &s.bytes);
        }
    }
}

bool CrossbarLayer::exact() const { return impl_->exact_reads; }
int64_t CrossbarLayer::rows() const { return impl_->K; }
int64_t CrossbarLayer::outputs() const { return impl_->N; }
AdcStats CrossbarLayer::adc_stats() const { return {impl_->conversions.load(), impl_->clipped.load()}; }
bool CrossbarLayer::supports(SumKernel k) const {
    switch (k) {
        case SumKernel::automatic:
        case SumKernel::float_rows:
            return true;
        case SumKernel::popcount:
            return !impl_->packed.words.empty();
        case SumKernel::int8_dot:
            return impl_->int8_fits;
        case SumKernel::fixed_rows:
            return !impl_->F_tiles.empty();
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
}  // namespace cim::sim
