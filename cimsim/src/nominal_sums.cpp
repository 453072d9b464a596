#include "nominal_sums.h"

#include <cim/error.h>

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace cim::sim::detail {

namespace {

// One term of a read's integer column sums: popcount(x & d[j]) << shift for every column j
// (x: one 64-row word of one input bit; d: one digit bit slice of that word, column-major).
struct Term {
    uint64_t x;
    const uint64_t* d;
    int shift;
};

// A read, fused: per column, sum = pos - neg terms and P- = the `rows` less the `rows_sub` terms (rows
// holding a negative digit; rows_sub: those driven negative, sign-magnitude inputs only), then maxima[j] = max(itself, |drift * (g_off * (P - 2 P-) + sum)|), one pass
// over the columns with the sums in registers. VPOPCNTDQ does 8 columns per instruction.
__attribute__((target("avx512f,avx512dq,avx512vpopcntdq"))) void read_fold_avx512(
    const Term* pos, int n_pos, const Term* neg, int n_neg, const Term* rows, int n_rows, const Term* rows_sub, int n_rows_sub,
    int64_t J, int64_t P, double g_off, double drift, double* __restrict maxima) {
    const __m512d g_off_v = _mm512_set1_pd(g_off), drift_v = _mm512_set1_pd(drift);
    const __m512i P_v = _mm512_set1_epi64(P);
    for (int64_t j = 0; j < J; j += 8) {
        const __mmask8 m = J - j >= 8 ? __mmask8(0xFF) : __mmask8((1u << (J - j)) - 1);
        __m512i sum = _mm512_setzero_si512(), p_neg = _mm512_setzero_si512();
        for (int i = 0; i < n_pos; ++i) {
            const __m512i c = _mm512_popcnt_epi64(_mm512_and_si512(_mm512_maskz_loadu_epi64(m, pos[i].d + j), _mm512_set1_epi64(int64_t(pos[i].x))));
            sum = _mm512_add_epi64(sum, _mm512_sll_epi64(c, _mm_cvtsi32_si128(pos[i].shift)));
        }
        for (int i = 0; i < n_neg; ++i) {
            const __m512i c = _mm512_popcnt_epi64(_mm512_and_si512(_mm512_maskz_loadu_epi64(m, neg[i].d + j), _mm512_set1_epi64(int64_t(neg[i].x))));
            sum = _mm512_sub_epi64(sum, _mm512_sll_epi64(c, _mm_cvtsi32_si128(neg[i].shift)));
        }
        for (int i = 0; i < n_rows; ++i) {
            const __m512i c = _mm512_popcnt_epi64(_mm512_and_si512(_mm512_maskz_loadu_epi64(m, rows[i].d + j), _mm512_set1_epi64(int64_t(rows[i].x))));
            p_neg = _mm512_add_epi64(p_neg, _mm512_sll_epi64(c, _mm_cvtsi32_si128(rows[i].shift)));
        }
        for (int i = 0; i < n_rows_sub; ++i) {
            const __m512i c = _mm512_popcnt_epi64(_mm512_and_si512(_mm512_maskz_loadu_epi64(m, rows_sub[i].d + j), _mm512_set1_epi64(int64_t(rows_sub[i].x))));
            p_neg = _mm512_sub_epi64(p_neg, _mm512_sll_epi64(c, _mm_cvtsi32_si128(rows_sub[i].shift)));
        }
        const __m512d leak = _mm512_cvtepi64_pd(_mm512_sub_epi64(P_v, _mm512_add_epi64(p_neg, p_neg)));
        const __m512d v = _mm512_abs_pd(_mm512_mul_pd(drift_v, _mm512_add_pd(_mm512_mul_pd(g_off_v, leak), _mm512_cvtepi64_pd(sum))));
        _mm512_mask_storeu_pd(maxima + j, m, _mm512_max_pd(_mm512_maskz_loadu_pd(m, maxima + j), v));
    }
}

// The same without AVX-512 (identical results: integer sums, then the same three roundings).
__attribute__((target_clones("popcnt", "default"))) void read_fold_scalar(const Term* pos, int n_pos, const Term* neg, int n_neg,
                                                                         const Term* rows, int n_rows, const Term* rows_sub,
                                                                         int n_rows_sub, int64_t J, int64_t P, double g_off,
                                                                         double drift, double* __restrict maxima) {
    for (int64_t j = 0; j < J; ++j) {
        int64_t sum = 0, p_neg = 0;
        for (int i = 0; i < n_pos; ++i) sum += int64_t(__builtin_popcountll(pos[i].x & pos[i].d[j])) << pos[i].shift;
        for (int i = 0; i < n_neg; ++i) sum -= int64_t(__builtin_popcountll(neg[i].x & neg[i].d[j])) << neg[i].shift;
        for (int i = 0; i < n_rows; ++i) p_neg += int64_t(__builtin_popcountll(rows[i].x & rows[i].d[j])) << rows[i].shift;
        for (int i = 0; i < n_rows_sub; ++i) p_neg -= int64_t(__builtin_popcountll(rows_sub[i].x & rows_sub[i].d[j])) << rows_sub[i].shift;
        const double leak = double(P - 2 * p_neg);
        const double v = std::fabs(drift * (g_off * leak + double(sum)));
        maxima[j] = std::max(maxima[j], v);
    }
}

}  // namespace

NominalSums::NominalSums(const ProgrammedMatrix& m, const std::vector<ReadGroup>& groups, int planes, int dac_bits, double g_off,
                         double drift, bool sign_magnitude, const PackedDigits* plan_packed, const Int8Digits* plan_bytes)
    : K_(m.rows), J_(m.cols), planes_(planes), dac_bits_(dac_bits), sign_magnitude_(sign_magnitude), g_off_(g_off), drift_(drift),
      groups_(groups) {
    CIM_INTERNAL_CHECK(planes * dac_bits <= 32, "more than 32 input bits per row");
    if (plan_packed && !plan_packed->words.empty()) plan_packed_ = plan_packed;
    else own_packed_ = PackedDigits(m.digits, J_, groups_);
    // The int8 kernel computes every read of a block, where popcount skips the reads that cannot raise
    // the maxima: it pays only from many popcount passes per plane (8-bit inputs on multi-bit cells).
    constexpr int kInt8Passes = 8;
    if (packed().slices * dac_bits >= kInt8Passes && int8_fits(m.digits, dac_bits)) {
        if (plan_bytes && !plan_bytes->empty()) plan_bytes_ = plan_bytes;
        else own_bytes_ = Int8Digits(m.digits, J_, groups_);
    }
}

// After a read raised the maxima of `slot`: the skip bound of that slot (per-column ranges), or of every
// group when the layer's largest maximum grew (one range per layer).
void NominalSums::update_skip(size_t gi, size_t slot, const double* maxima, bool layer_wide, std::vector<double>& skip,
                              double& layer_max) const {
    const size_t J = size_t(J_);
    if (!layer_wide) {
        skip[slot] = skip_below(gi, maxima + slot * J, -1);
        return;
    }
    const double before = layer_max;
    for (size_t j = 0; j < J; ++j) layer_max = std::max(layer_max, maxima[slot * J + j]);
    if (layer_max > before)
        for (size_t gj = 0; gj < groups_.size(); ++gj) skip[gj] = skip_below(gj, maxima + gj * J, layer_max);
}

void NominalSums::observe_int8(const int32_t* x, int64_t V, double* maxima, bool layer_wide, size_t RP, std::vector<double>& skip,
                               double& layer_max) const {
    constexpr int64_t kBlock = 8;
    const size_t J = size_t(J_);
    thread_local InputBytes in;
    thread_local std::vector<int32_t> sums, pneg;
    thread_local std::vector<int64_t> magnitude;  // [v][p]: sum of |plane value| (the skip bound's P)
    in.planes = planes_;
    in.dac_bits = dac_bits_;
    in.sign_magnitude = sign_magnitude_;
    const int32_t mask = int32_t((int64_t(1) << dac_bits_) - 1);
    const bool signed_digits = bytes().signed_digits;
    for (int64_t v0 = 0; v0 < V; v0 += kBlock) {
        const int64_t nv = std::min(kBlock, V - v0);
        for (size_t gi = 0; gi < groups_.size(); ++gi) {
            const ReadGroup& g = groups_[gi];
            in.load(x + v0 * K_, nv, K_, g);
            sums.resize(size_t(nv * planes_) * J);
            if (signed_digits) pneg.resize(sums.size());
            int8_sums(bytes(), gi, in, nv, sums.data(), signed_digits ? pneg.data() : nullptr);
            magnitude.assign(size_t(nv * planes_), 0);
            for (int64_t v = 0; v < nv; ++v)
                for (int64_t k = g.r0; k < g.r1; ++k) {
                    const int32_t code = x[(v0 + v) * K_ + k];
                    const uint32_t a = sign_magnitude_ && code < 0 ? uint32_t(-int64_t(code)) : uint32_t(code);  // as the planes slice it
                    for (int p = 0; p < planes_; ++p) magnitude[size_t(v * planes_ + p)] += int64_t((a >> (p * dac_bits_)) & uint32_t(mask));
                }
            for (int64_t v = 0; v < nv; ++v)
                for (int p = 0; p < planes_; ++p) {
                    const size_t read = size_t(v * planes_ + p), slot = gi * RP + (RP > 1 ? size_t(p) : 0);
                    const int64_t P_abs = magnitude[read];
                    if (P_abs == 0 || double(P_abs) <= skip[slot]) continue;
                    const int64_t P = in.P[read];
                    double* obs = maxima + slot * J;
                    const int32_t* s = sums.data() + read * J;
                    const int32_t* n = signed_digits ? pneg.data() + read * J : nullptr;
                    for (size_t j = 0; j < J; ++j) {  // read_fold's roundings: the same maxima
                        const double leak = double(P - 2 * (n ? int64_t(n[j]) : 0));
                        obs[j] = std::max(obs[j], std::fabs(drift_ * (g_off_ * leak + double(s[j]))));
                    }
                    update_skip(gi, slot, maxima, layer_wide, skip, layer_max);
                }
        }
    }
}

// The plane-value sum P at or below which no read of group gi can raise what `maxima` holds
// (|S_j| <= drift * (g_off + dmax_j) * P), with a margin for the rounding of the two products.
double NominalSums::skip_below(size_t gi, const double* group_maxima, double layer_max) const {
    const size_t J = size_t(J_);
    double p = std::numeric_limits<double>::infinity();
    for (size_t j = 0; j < J; ++j) {
        const double per_unit = drift_ * (g_off_ + double(packed().dmax[gi * J + j]));
        if (per_unit > 0) p = std::min(p, (layer_max >= 0 ? layer_max : group_maxima[j]) / per_unit);
    }
    return p * (1 - 1e-9);
}

void NominalSums::observe(const int32_t* x, int64_t V, double* maxima, bool layer_wide, bool per_plane) const {
    CIM_INTERNAL_CHECK(!(layer_wide && per_plane), "a per-layer range has no per-plane maxima");
    const size_t RP = per_plane ? size_t(planes_) : 1;  // maxima rows per group
    const int nbits = planes_ * dac_bits_;
    const size_t S = size_t(packed().slices), J = size_t(J_);
    const bool bipolar = packed().signed_digits;
    thread_local InputBits in;  // one read's input bits
    thread_local std::vector<uint64_t> none_negative;
    thread_local std::vector<Term> pos, neg, rows, rows_sub;  // one read's terms
    in.nbits = nbits;
    in.sign_magnitude = sign_magnitude_;
    thread_local std::vector<double> skip;  // per group: P at or below which a read cannot matter
    double layer_max = layer_wide ? 0.0 : -1.0;
    if (layer_wide)
        for (size_t i = 0; i < groups_.size() * J; ++i) layer_max = std::max(layer_max, maxima[i]);
    skip.resize(groups_.size() * RP);
    for (size_t gi = 0; gi < groups_.size(); ++gi)
        for (size_t rp = 0; rp < RP; ++rp) skip[gi * RP + rp] = skip_below(gi, maxima + (gi * RP + rp) * J, layer_max);
    if (!bytes().empty()) return observe_int8(x, V, maxima, layer_wide, RP, skip, layer_max);
    for (int64_t v = 0; v < V; ++v) {
        for (size_t gi = 0; gi < groups_.size(); ++gi) {
            const size_t W = size_t(packed().words[gi]);
            in.load(x + v * K_, 1, K_, groups_[gi], W);
            const uint64_t* X = in.vector_bits(0);
            if (!sign_magnitude_) none_negative.assign(W, 0);  // no row driven negative
            const uint64_t* negative = sign_magnitude_ ? in.vector_negative(0) : none_negative.data();
            for (int p = 0; p < planes_; ++p) {
                const size_t slot = gi * RP + (per_plane ? size_t(p) : 0);
                double* obs = maxima + slot * J;
                int64_t P = 0, P_abs = 0;  // the sum of the (signed) plane values, and of their magnitudes
                for (int t = 0; t < dac_bits_; ++t)
                    for (size_t w = 0; w < W; ++w) {
                        const uint64_t xw = X[size_t(p * dac_bits_ + t) * W + w];
                        P_abs += int64_t(__builtin_popcountll(xw)) << t;
                        P += (int64_t(__builtin_popcountll(xw & ~negative[w])) - int64_t(__builtin_popcountll(xw & negative[w]))) * (int64_t(1) << t);
                    }
                if (P_abs == 0 || double(P_abs) <= skip[slot]) continue;  // 0 when P_abs == 0: the maxima (>= 0) hold it already
                pos.clear();
                neg.clear();
                rows.clear();
                rows_sub.clear();
                for (int t = 0; t < dac_bits_; ++t)
                    for (size_t w = 0; w < W; ++w) {
                        const uint64_t xw = X[size_t(p * dac_bits_ + t) * W + w];
                        // Rows driven positive (xp) add digit x plane; rows driven negative (xn) subtract it.
                        const uint64_t xp = xw & ~negative[w], xn = xw & negative[w];
                        for (size_t s = 0; s < S; ++s) {
                            const size_t at = packed().slice_at(gi, int(s), int64_t(w));
                            if (xp) pos.push_back({xp, packed().pos.data() + at, int(s) + t});
                            if (xn) neg.push_back({xn, packed().pos.data() + at, int(s) + t});
                            if (bipolar && xp) neg.push_back({xp, packed().neg.data() + at, int(s) + t});
                            if (bipolar && xn) pos.push_back({xn, packed().neg.data() + at, int(s) + t});
                        }
                        const uint64_t* negative_rows = bipolar ? packed().neg_rows.data() + packed().rows_at(gi, int64_t(w)) : nullptr;
                        if (bipolar && xp) rows.push_back({xp, negative_rows, t});
                        if (bipolar && xn) rows_sub.push_back({xn, negative_rows, t});
                    }
                (avx512_kernels() ? read_fold_avx512 : read_fold_scalar)(pos.data(), int(pos.size()), neg.data(), int(neg.size()), rows.data(),
                                                                   int(rows.size()), rows_sub.data(), int(rows_sub.size()), J_, P,
                                                                   g_off_, drift_, obs);
                update_skip(gi, slot, maxima, layer_wide, skip, layer_max);
            }
        }
    }
}

}  // namespace cim::sim::detail
