// The reads of a planned crossbar layer (crossbar_impl.h): the one-GEMM shortcut where every read is
// exact, else the bit-plane path over blocks of input vectors, each read's column sums from the
// planned kernel, converted by the ADC and shift-added.
#include "crossbar_impl.h"

namespace cim::sim {

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
}  // namespace cim::sim
