// The reads of a planned crossbar layer (crossbar_impl.h): the one-GEMM shortcut where every read is
// exact, else the bit-plane path over blocks of input vectors, each read's column sums from the
// planned kernel, converted by the ADC and shift-added.
#include "crossbar_impl.h"

namespace cim::sim {

ReadWorkspace::ReadWorkspace() : buffers_(std::make_unique<Buffers>()) {}
ReadWorkspace::~ReadWorkspace() = default;
ReadWorkspace::ReadWorkspace(ReadWorkspace&&) noexcept = default;
ReadWorkspace& ReadWorkspace::operator=(ReadWorkspace&&) noexcept = default;

size_t ReadWorkspace::capacity_bytes() const {
    const Buffers& b = *buffers_;
    auto bytes = [](const auto& v) { return v.capacity() * sizeof(v[0]); };
    auto rows = [&](const auto& r) { return bytes(r.terms) + bytes(r.count) + bytes(r.dense) + bytes(r.dense_f) + bytes(r.partial); };
    return bytes(b.in.bits) + bytes(b.in.negative) + bytes(b.in.magnitude) + bytes(b.in_bytes.reads) + bytes(b.in_bytes.pos) +
           bytes(b.in_bytes.neg) + bytes(b.in_bytes.P) + bytes(b.in_bytes.Q) + bytes(b.sums) + bytes(b.pneg) + bytes(b.S_f) +
           bytes(b.S_d) + bytes(b.D_f) + bytes(b.D_d) + bytes(b.sq) + bytes(b.cols) + bytes(b.P) + bytes(b.Q) + bytes(b.z) +
           bytes(b.oracle_inv) + bytes(b.oracle_w) + rows(b.rows_f) + rows(b.rows_d) + rows(b.rows_h) + bytes(b.X);
}

// What one block of reads by kernel k writes, at most: every buffer reserved here is only resized
// within these sizes by run_blocks and the kernels.
void CrossbarLayer::Impl::reserve(ReadWorkspace::Buffers& ws, bool bitplanes) const {
    const size_t V = size_t(block_vectors()), P_ = size_t(planes), J_ = size_t(J);
    int64_t rows_max = 0, words_max = 0;
    for (size_t gi = 0; gi < groups.size(); ++gi) {
        rows_max = std::max(rows_max, groups[gi].r1 - groups[gi].r0);
        if (gi < packed.words.size()) words_max = std::max(words_max, packed.words[gi]);
    }
    auto grow = [](auto& v, size_t n) { v.reserve(std::max(v.capacity(), n)); };
    if (exact_reads) grow(ws.X, size_t(kExactBlock) * size_t(K));
    if (!bitplanes) return;
    const SumKernel k = kernel_in_force();
    const bool integer = k == SumKernel::popcount || k == SumKernel::int8_dot;
    if (k == SumKernel::popcount) {
        grow(ws.in.bits, V * size_t(planes * dac_bits) * size_t(words_max));
        grow(ws.in.negative, V * size_t(words_max));
        grow(ws.in.magnitude, size_t(rows_max));
    } else if (k == SumKernel::int8_dot) {
        const size_t quads = size_t((rows_max + 3) / 4);
        grow(ws.in_bytes.reads, V * P_);
        grow(ws.in_bytes.pos, V * P_ * quads);
        grow(ws.in_bytes.neg, V * P_ * quads);
        grow(ws.in_bytes.P, V * P_);
        grow(ws.in_bytes.Q, V * P_);
    } else if (k == SumKernel::fixed_rows) {
        detail::reserve_rows_scratch(ws.rows_h, int64_t(V), planes, rows_max);
    } else if (use_double) {
        detail::reserve_rows_scratch(ws.rows_d, int64_t(V), planes, rows_max);
    } else {
        detail::reserve_rows_scratch(ws.rows_f, int64_t(V), planes, rows_max);
    }
    if (integer) {
        grow(ws.sums, V * P_ * J_);
        grow(ws.pneg, V * P_ * J_);
    }
    if (use_double) grow(ws.S_d, V * P_ * J_);
    else grow(ws.S_f, V * P_ * J_);
    if (!col_minus.empty()) {
        if (use_double) grow(ws.D_d, P_ * J_);
        else grow(ws.D_f, P_ * J_);
    }
    grow(ws.sq, V * P_);
    grow(ws.cols, V * J_);
    grow(ws.P, P_);
    grow(ws.Q, P_);
    grow(ws.z, J_ + 2);
    if (adc_range == AdcRange::oracle) {
        grow(ws.oracle_inv, J_);
        grow(ws.oracle_w, J_);
    }
}

void CrossbarLayer::reserve(ReadWorkspace& ws) const { impl_->reserve(ws.buffers(), !impl_->exact_reads || impl_->force_bitplanes); }

void CrossbarLayer::run(const int32_t* x, int64_t V, double* out, uint64_t chunk_id) const {
    ReadWorkspace ws;
    reserve(ws);
    run(x, V, out, chunk_id, ws);
}

void CrossbarLayer::run(const int32_t* x, int64_t V, double* out, uint64_t chunk_id, ReadWorkspace& ws, int64_t first_vector) const {
    const Impl& s = *impl_;
    if (s.exact_reads && !s.force_bitplanes) {
        // Integer sums far below 2^53: exact in any order, so blocks of the GEMM give the same results.
        std::vector<double>& X = ws.buffers().X;
        for (int64_t v0 = 0; v0 < V; v0 += kExactBlock) {
            const int64_t nv = std::min(kExactBlock, V - v0);
            X.resize(size_t(nv * s.K));
            for (int64_t i = 0; i < nv * s.K; ++i) X[size_t(i)] = double(x[v0 * s.K + i]);
            Eigen::Map<const RowMatD> Xm(X.data(), nv, s.K);
            Eigen::Map<RowMatD> O(out + v0 * s.N, nv, s.N);
            O.noalias() = Xm * s.W_exact;
        }
        return;
    }
    const SumKernel k = s.kernel_in_force();
    if (s.use_double) s.run_blocks<double>(x, V, out, chunk_id, k, ws.buffers(), first_vector);
    else s.run_blocks<float>(x, V, out, chunk_id, k, ws.buffers(), first_vector);
}

// One read's column sums S (planes x J, before any pair folding; sq: the squared plane values per
// plane) through the ADC into the per-column accumulators col (J) of vector v.
template <class T>
void CrossbarLayer::Impl::read_out(size_t gi, const T* S_cols, const float* sq, int64_t v, GaussStream& rng, double* col,
                                   int64_t& conv, int64_t& clip, ReadWorkspace::Buffers& ws) const {
    const bool noisy_read = read_sigma > 0, noisy_adc = adc_sigma > 0 && adc_range != AdcRange::none;
    std::vector<float>& z = ws.z;  // one Gaussian per conversion: read and ADC noise combined
    std::vector<float>& oracle_inv = ws.oracle_inv;  // AdcRange::oracle: this read's own range
    std::vector<float>& oracle_w = ws.oracle_w;
    if (adc_range == AdcRange::oracle) {
        oracle_inv.assign(size_t(J), 0.0f);
        oracle_w.assign(size_t(J), 0.0f);
    }
    // Draws in (vector, group, plane) order, J rounded up to even each: placed by the read's
    // coordinates, so kernels that visit reads in another order (or skip reads) draw the same numbers.
    const uint64_t draws = uint64_t(J + (J & 1));
    const uint64_t first_draw = (uint64_t(v) * groups.size() + gi) * uint64_t(planes) * draws;
    if (noisy_read || noisy_adc) z.resize(size_t(J + 2));
    const float inv_full = float(1.0 / (g_on * double(active_rows)));
    // Analog pairs: IR drop on each column, then the difference; convert_plane then applies none.
    const bool pairs = !col_minus.empty();
    const T* S = fold_pairs(S_cols, float(ir_drop), inv_full, ws.D<T>());
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
        const float* lw = lsb_col.data() + range_row(gi, p);
        float pw = float(plane_weight(p));
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
            pw = 1.0f;
        }
        clip += detail::convert_plane(sp, J, inv, lw, pw, code_lo, code_top, float(adc_offset), noisy_read || noisy_adc ? z.data() : nullptr,
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
void CrossbarLayer::Impl::run_blocks(const int32_t* x, int64_t V, double* out, uint64_t chunk_id, SumKernel k,
                                     ReadWorkspace::Buffers& ws, int64_t first_vector) const {
    const int64_t kBlock = block_vectors();
    GaussStream rng(stream_key({stream[0], stream[1], stream[2], stream[3], detail::kReads, chunk_id}));
    auto& in = ws.in;
    auto& in_bytes = ws.in_bytes;
    auto& sums = ws.sums;
    auto& pneg = ws.pneg;
    std::vector<T>& S = ws.S<T>();
    auto& sq = ws.sq;
    auto& cols = ws.cols;
    auto& P = ws.P;
    auto& Q = ws.Q;
    in.nbits = planes * dac_bits;
    in.sign_magnitude = bipolar_inputs;
    in_bytes.planes = planes;
    in_bytes.dac_bits = dac_bits;
    in_bytes.sign_magnitude = bipolar_inputs;
    const bool integer = k == SumKernel::popcount || k == SumKernel::int8_dot;
    const bool need_pneg = integer && packed.signed_digits && g_off != 0;
    const bool fixed = k == SumKernel::fixed_rows;
    const T* conductances = integer || fixed ? nullptr : tiles<T>();
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
            } else if (fixed) {
                if constexpr (std::is_same_v<T, float>)
                    detail::plane_sums(F_tiles.data(), J, K, g.r0, x + v0 * K + g.r0, K, nv, g.r1 - g.r0, planes, dac_bits, bipolar_inputs,
                                       fixed_inv_scale, S.data(), sq.data(), ws.rows_h);
                else  // supports(fixed_rows) requires float sums; a plan reaching here would read nothing
                    CIM_INTERNAL_CHECK(false, "fixed-point rows read with double sums");
            } else {
                detail::plane_sums(conductances, J, K, g.r0, x + v0 * K + g.r0, K, nv, g.r1 - g.r0, planes, dac_bits, bipolar_inputs,
                                   S.data(), sq.data(), ws.rows<T>());
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
                read_out(gi, S.data() + v * planes * J, sq.data() + v * planes, first_vector + v0 + v, rng, cols.data() + v * J, conv, clip,
                         ws);
        }
        for (int64_t v = 0; v < nv; ++v) scatter(cols.data() + v * J, out + (v0 + v) * N);
    }
    conversions += conv;
    clipped += clip;
}

void CrossbarLayer::run_bitplanes(const int32_t* x, int64_t V, double* out, uint64_t chunk_id) const {
    const Impl& s = *impl_;
    ReadWorkspace ws;
    s.reserve(ws.buffers(), true);
    const SumKernel k = s.kernel_in_force();
    if (s.use_double) s.run_blocks<double>(x, V, out, chunk_id, k, ws.buffers(), 0);
    else s.run_blocks<float>(x, V, out, chunk_id, k, ws.buffers(), 0);
}
}  // namespace cim::sim
