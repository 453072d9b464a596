// Bit-plane crossbar simulation. For one input vector and one read group (at most
// max_active_rows rows of one array), every input plane's column sums come from
// adding the stored conductance rows of the inputs whose plane bit is set (work
// proportional to the set bits, as the charge on a bit line); each sum is then
// converted by the ADC and shift-added with its column and plane weight. The hot
// loops are compiled for AVX-512, AVX2 and a baseline, chosen at run time.
// The ideal case (every read exact) is one integer-valued GEMM.
#include <cim/cimsim/crossbar.h>
#include <cim/error.h>

#include "nominal_sums.h"

#include <Eigen/Core>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <initializer_list>
#include <limits>

#define CIM_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

namespace cim::sim {

namespace {

using RowMatD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

uint64_t splitmix(uint64_t& s) {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// Every random stream's key: one mixing function of the stream's coordinates, splitmix64 chained
// over them (order matters), so that distinct coordinates give unrelated streams without packing
// numbers into bit fields. Coordinates: (seed, instance, layer, group, purpose[, chunk]).
enum StreamPurpose : uint64_t { kProgramming = 1, kReads = 2 };
uint64_t stream_key(std::initializer_list<uint64_t> coordinates) {
    uint64_t h = 0;
    for (uint64_t c : coordinates) {
        uint64_t state = h ^ c;
        h = splitmix(state);
    }
    return h;
}

// n (even) standard normals from the counter-based stream (key, first..first+n): Box-Muller with
// polynomial log and sin/cos so that the loop vectorizes (errors below 1e-6, far below
// any noise level a device description can state).
CIM_SIMD_CLONES
void normals_at_pairs(uint64_t key, uint64_t first, float* __restrict cos_out, float* __restrict sin_out, int64_t half) {
    // 32-bit arithmetic throughout (murmur3's finalizer on key + counter) so that the loop
    // vectorizes without 64-bit vector multiplies.
    const uint32_t k1 = uint32_t(key), k2 = uint32_t(key >> 32) ^ 0x5BD1E995u;
    const uint32_t c0 = uint32_t(first / 2);
    for (int64_t i = 0; i < half; ++i) {
        uint32_t ha = (c0 + uint32_t(i)) * 0x9E3779B9u + k1, hb = (c0 + uint32_t(i)) * 0x85EBCA6Bu + k2;
        ha ^= ha >> 16; ha *= 0x85EBCA6Bu; ha ^= ha >> 13; ha *= 0xC2B2AE35u; ha ^= ha >> 16;
        hb ^= hb >> 16; hb *= 0x85EBCA6Bu; hb ^= hb >> 13; hb *= 0xC2B2AE35u; hb ^= hb >> 16;
        const float u1 = (float(int32_t(ha >> 8)) + 0.5f) * (1.0f / 16777216.0f);  // (0, 1)
        const float u2 = float(int32_t(hb >> 8)) * (1.0f / 16777216.0f);           // [0, 1)
        // ln(u1) = e ln 2 + ln(m), m in [1, 2): ln m = 2 atanh(t), t = (m - 1) / (m + 1) <= 1/3.
        int32_t bits;
        __builtin_memcpy(&bits, &u1, 4);
        const float e = float(((bits >> 23) & 255) - 127);
        const int32_t mbits = (bits & 0x7FFFFF) | 0x3F800000;
        float m;
        __builtin_memcpy(&m, &mbits, 4);
        const float t = (m - 1.0f) / (m + 1.0f), t2 = t * t;
        const float lnm = 2.0f * t * (1.0f + t2 * (1.0f / 3 + t2 * (1.0f / 5 + t2 * (1.0f / 7 + t2 * (1.0f / 9 + t2 * (1.0f / 11))))));
        const float r = __builtin_sqrtf(-2.0f * (e * 0.69314718f + lnm));
        // theta in [-pi, pi), folded to [-pi/2, pi/2] for the series.
        const float th = float(M_PI) * (2.0f * u2 - 1.0f);
        const float fold = (th > float(M_PI / 2) || th < -float(M_PI / 2)) ? 1.0f : 0.0f;  // branch-free: vectorizes
        const float a = th + fold * (__builtin_copysignf(float(M_PI), th) - 2.0f * th);
        const float a2 = a * a;
        const float sn = a * (1 - a2 / 6 * (1 - a2 / 20 * (1 - a2 / 42 * (1 - a2 / 72 * (1 - a2 / 110 * (1 - a2 / 156))))));
        float cs = 1 - a2 / 2 * (1 - a2 / 12 * (1 - a2 / 30 * (1 - a2 / 56 * (1 - a2 / 90 * (1 - a2 / 132)))));
        cs = cs * (1.0f - 2.0f * fold);
        cos_out[i] = r * cs;
        sin_out[i] = r * sn;
    }
}

void normals_at(uint64_t key, uint64_t first, float* out, int64_t n) {
    const int64_t half = (n + 1) / 2;
    normals_at_pairs(key, first, out, out + half, half);  // the cosine halves first, then the sine halves
}

// A counter-based Gaussian stream: the same key gives the same numbers on any platform
// and thread count (std::normal_distribution is not specified bit for bit).
class GaussStream {
public:
    explicit GaussStream(uint64_t key) : state_(key) {}
    double next() {
        double u1 = (double(splitmix(state_) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
        double u2 = double(splitmix(state_) >> 11) * (1.0 / 9007199254740992.0);
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
    }
    double uniform() { return (double(splitmix(state_) >> 11) + 0.5) * (1.0 / 9007199254740992.0); }
    // n standard normals at once (vectorized, see normals_at).
    // `out` must have room for n rounded up to even.
    void fill(float* out, int64_t n) {
        n += n & 1;
        normals_at(state_, counter_, out, n);
        counter_ += uint64_t(n);
    }

private:
    uint64_t state_;
    uint64_t counter_ = 0;
};

using detail::ReadGroup;

// S[p][j] = sum over rows k of plane_p(x[k]) * G[k][j], for all planes at once.
// sq[p] = sum_k plane_p(x[k])^2 (for the read-noise variance). With sign_magnitude (bipolar
// inputs) plane_p(x) = sign(x) x plane p of |x|: each plane driven with the input's polarity. Defined for float (column
// sums below 2^24 are exact) and double (larger sums, e.g. multi-bit inputs on 8-bit cells).
#define CIM_DEFINE_PLANE_SUMS(T)                                                                              \
    CIM_SIMD_CLONES                                                                                           \
    void plane_sums(const T* __restrict G, int64_t J, const int32_t* __restrict x, int64_t rows, int planes,  \
                    int dac_bits, bool sign_magnitude, T* __restrict S, float* __restrict sq) {               \
        std::fill(S, S + planes * J, T(0));                                                                   \
        std::fill(sq, sq + planes, 0.0f);                                                                     \
        const int32_t mask = int32_t((int64_t(1) << dac_bits) - 1);                                           \
        for (int64_t k = 0; k < rows; ++k) {                                                                  \
            const bool negative = sign_magnitude && x[k] < 0;                                                 \
            const int32_t v = negative ? -x[k] : x[k];                                                        \
            if (v == 0) continue;                                                                             \
            const T* __restrict g = G + k * J;                                                                \
            for (int p = 0; p < planes; ++p) {                                                                \
                const int32_t pv = (v >> (p * dac_bits)) & mask;                                              \
                if (pv == 0) continue;                                                                        \
                T* __restrict s = S + p * J;                                                                  \
                const T f = negative ? -T(pv) : T(pv);                                                        \
                sq[p] += float(f * f);                                                                        \
                if (pv == 1 && !negative)                                                                     \
                    for (int64_t j = 0; j < J; ++j) s[j] += g[j];                                             \
                else                                                                                          \
                    for (int64_t j = 0; j < J; ++j) s[j] += f * g[j];                                         \
            }                                                                                                 \
        }                                                                                                     \
    }
CIM_DEFINE_PLANE_SUMS(float)
CIM_DEFINE_PLANE_SUMS(double)

// One plane's reads through the ADC into per-column accumulators:
// acc[j] += weight[j] * lsb[j] * clamp(rint(s[j] * inv_lsb[j] + offset + sigma_j * z[j]), lo, top).
// Read noise (read_sigma, in column-sum units) and ADC noise (adc_sigma, in LSB) are independent
// Gaussians, so their sum is one Gaussian of sigma_j = sqrt((read_sigma * inv_lsb[j])^2 + adc_sigma^2):
// one draw z[j] per conversion (z null: no noise). Returns the number of clipped conversions (above
// top, or below lo when the ADC is bipolar: lo < 0).
#define CIM_DEFINE_CONVERT(T)                                                                                  \
    CIM_SIMD_CLONES                                                                                            \
    int64_t convert_plane(const T* __restrict s, int64_t J, const float* __restrict inv_lsb,                   \
                          const float* __restrict lsb_w, float lo, float top, float offset,                    \
                          const float* __restrict z, float read_sigma, float adc_sigma, float ir_drop,         \
                          float inv_full, double* __restrict acc) {                                            \
        int64_t clipped = 0;                                                                                   \
        const float adc_var = adc_sigma * adc_sigma;                                                           \
        for (int64_t j = 0; j < J; ++j) {                                                                      \
            T v = s[j];                                                                                        \
            if (ir_drop > 0) v = v / (T(1) + T(ir_drop) * v * T(inv_full));                                    \
            T c = v * T(inv_lsb[j]) + T(offset);                                                               \
            if (z) {                                                                                           \
                const float r = read_sigma * inv_lsb[j];                                                       \
                c += T(__builtin_sqrtf(r * r + adc_var)) * T(z[j]);                                            \
            }                                                                                                  \
            c = std::rint(c);                                                                                  \
            clipped += c > T(top) || (lo < 0 && c < T(lo));                                                    \
            c = std::min(std::max(c, T(lo)), T(top));                                                          \
            acc[j] += double(c) * double(lsb_w[j]);                                                            \
        }                                                                                                      \
        return clipped;                                                                                        \
    }                                                                                                          \
    /* No ADC (digital macros): the column sum itself. */                                                      \
    CIM_SIMD_CLONES                                                                                            \
    void accumulate_plane(const T* __restrict s, int64_t J, const float* __restrict w, double* __restrict acc) { \
        for (int64_t j = 0; j < J; ++j) acc[j] += double(s[j]) * double(w[j]);                                \
    }
CIM_DEFINE_CONVERT(float)
CIM_DEFINE_CONVERT(double)

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
    std::vector<float> G;   // K x J stored conductances (digit units), row-major
    std::vector<double> Gd; // the same in double when column sums can exceed float's exact range
    bool use_double = false;
    bool force_bitplanes = false;
    RowMatD W_exact;       // K x N: what the digital side believes the array holds
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
        const T* base;
        if constexpr (std::is_same_v<T, double>) base = Gd.data();
        else base = G.data();
        for (size_t gi = 0; gi < groups.size(); ++gi) {
            const ReadGroup& g = groups[gi];
            plane_sums(base + g.r0 * J, J, xv + g.r0, g.r1 - g.r0, planes, dac_bits, bipolar_inputs, S.data(), sq.data());
            visit(gi, S.data(), sq.data());
        }
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
    template <class T>
    void run_planes(const int32_t* x, int64_t V, double* out, uint64_t chunk_id) const;
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
    const double ratio = d.cell.on_off_ratio;
    s.g_off = (ratio > 1 && std::isfinite(ratio)) ? s.dmax / (ratio - 1) : 0.0;
    s.g_on = s.dmax + s.g_off;
    s.read_sigma = d.noise.read_sigma;
    s.ir_drop = d.noise.ir_drop;
    s.adc_sigma = d.noise.adc_sigma_lsb;
    s.adc_offset = d.noise.adc_offset_lsb;
    s.active_rows = std::max(1, d.array.max_active_rows);
    const double drift = (d.noise.drift_nu > 0 && d.noise.drift_time_s != d.noise.drift_t0_s)
                             ? std::pow(d.noise.drift_time_s / d.noise.drift_t0_s, -d.noise.drift_nu)
                             : 1.0;
    const bool programming = d.noise.programming_sigma > 0, stuck = d.noise.stuck_on_rate > 0 || d.noise.stuck_off_rate > 0;
    s.ideal_cells = !programming && !stuck && drift == 1.0 && s.g_off == 0 && s.ir_drop == 0;

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

    // Read groups: arrays of usable_rows rows, each read max_active_rows rows at a time.
    const int64_t R = d.array.usable_rows;
    for (int64_t t0 = 0, tile = 0; t0 < s.K; t0 += R, ++tile)
        for (int64_t r0 = t0; r0 < std::min(s.K, t0 + R); r0 += s.active_rows)
            s.groups.push_back({r0, std::min({s.K, t0 + R, r0 + s.active_rows}), tile});

    // Stored conductances of this chip instance. A native signed cell (WTM2101) is a
    // signed conductance (a device pair inside the cell); its noise scales with |g|.
    s.stream = {seed, instance, layer, group};
    s.G.resize(size_t(s.K * s.J));
    GaussStream rng(stream_key({seed, instance, layer, group, kProgramming}));
    for (int64_t k = 0; k < s.K; ++k)
        for (int64_t j = 0; j < s.J; ++j) {
            const int digit = m.digits[size_t(k * s.J + j)];
            if (digit < 0) s.bipolar = true;
            if (std::abs(digit) > s.dmax) throw InternalError("cell digit exceeds the cell's range");
            const double sign = digit < 0 ? -1.0 : 1.0;
            double g = s.g_off + std::abs(digit);
            if (s.col_digital[size_t(j)]) {  // computed by the periphery from the nominal value
                s.G[size_t(k * s.J + j)] = float(sign * g * drift);
                continue;
            }
            if (stuck) {
                const double u = rng.uniform();
                if (u < d.noise.stuck_on_rate) g = s.g_on;
                else if (u < d.noise.stuck_on_rate + d.noise.stuck_off_rate) g = s.g_off;
            }
            if (programming) {
                const double sigma = d.noise.programming_sigma_mode == NoiseMode::relative ? d.noise.programming_sigma * g
                                                                                            : d.noise.programming_sigma * s.dmax;
                g += sigma * rng.next();
            }
            g = std::max(g, 0.0) * drift;  // a conductance cannot go negative
            s.G[size_t(k * s.J + j)] = float(sign * g);
        }
    s.W_exact = RowMatD::Zero(s.K, s.N);
    for (int64_t k = 0; k < s.K; ++k)
        for (int64_t j = 0; j < s.J; ++j) {
            const double v = s.col_factor[size_t(j)] * m.digits[size_t(k * s.J + j)];
            for (int64_t n = s.col_begin[size_t(j)]; n < s.col_end[size_t(j)]; ++n) s.W_exact(k, n) += v;
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
    s.use_double = largest >= double(1 << 24);  // float column sums would round
    if (s.use_double) s.Gd.assign(s.G.begin(), s.G.end());
    const bool adc_exact = s.adc_range == AdcRange::none ||
                           (s.adc_range == AdcRange::full_scale && largest <= double(s.code_top));
    s.exact_reads = s.ideal_cells && adc_exact && s.read_sigma == 0 && s.adc_sigma == 0 && s.adc_offset == 0;
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

template <class T>
void CrossbarLayer::Impl::run_planes(const int32_t* x, int64_t V, double* out, uint64_t chunk_id) const {
    const Impl& s = *this;
    GaussStream rng(stream_key({s.stream[0], s.stream[1], s.stream[2], s.stream[3], kReads, chunk_id}));
    const bool noisy_read = s.read_sigma > 0, noisy_adc = s.adc_sigma > 0 && s.adc_range != AdcRange::none;
    thread_local std::vector<double> col;
    thread_local std::vector<float> z;  // one Gaussian per conversion: read and ADC noise combined
    thread_local std::vector<float> oracle_inv, oracle_w;  // AdcRange::oracle: this read's own range
    col.resize(size_t(s.J));
    if (s.adc_range == AdcRange::oracle) {
        oracle_inv.assign(size_t(s.J), 0.0f);
        oracle_w.assign(size_t(s.J), 0.0f);
    }
    if (noisy_read || noisy_adc) z.resize(size_t(s.J + 1));
    int64_t conv = 0, clip = 0;
    for (int64_t v = 0; v < V; ++v) {
        std::fill(col.begin(), col.end(), 0.0);
        s.template reads<T>(x + v * s.K, [&](size_t gi, const T* S_cols, const float* sq) {
            const ReadGroup& g = s.groups[gi];
            const float inv_full = float(1.0 / (s.g_on * double(s.active_rows)));
            // Analog pairs: IR drop on each column, then the difference; convert_plane then applies none.
            const bool pairs = !s.col_minus.empty();
            const T* S = s.fold_pairs(S_cols, float(s.ir_drop), inv_full);
            const float ir_drop = pairs ? 0.0f : float(s.ir_drop);
            for (int p = 0; p < s.planes; ++p) {
                const T* sp = S + p * s.J;
                if (s.adc_range == AdcRange::none) {
                    accumulate_plane(sp, s.J, s.plain_weight.data() + p * s.J, col.data());
                    continue;
                }
                // Read noise: each conducting cell adds sigma x (g_on - g_off) independently.
                // An analog pair's difference carries both columns' noise (independent: variance twice).
                const float rs = noisy_read ? float(s.read_sigma * s.dmax * std::sqrt(double(sq[p]) * (pairs ? 2.0 : 1.0))) : 0.0f;
                if (noisy_read || noisy_adc) rng.fill(z.data(), s.J);
                const float* inv = s.inv_lsb.data() + s.range_row(gi, p);
                const float* lw = s.lsb_weight.data() + (gi * size_t(s.planes) + size_t(p)) * size_t(s.J);
                if (s.adc_range == AdcRange::oracle) {  // the range of this read's largest |column sum|
                    double m = 0;
                    for (int64_t j = 0; j < s.J; ++j)
                        if (!s.no_adc[size_t(j)]) m = std::max(m, double(std::fabs(sp[j])));
                    const double lsb = s.lsb_for(m, double(s.code_top));
                    for (int64_t j = 0; j < s.J; ++j)
                        if (!s.no_adc[size_t(j)]) {
                            oracle_inv[size_t(j)] = float(1.0 / lsb);
                            oracle_w[size_t(j)] = float(lsb * double(s.plain_weight[size_t(p * s.J + j)]));
                        }
                    inv = oracle_inv.data();
                    lw = oracle_w.data();
                }
                clip += convert_plane(sp, s.J, inv, lw, s.code_lo, s.code_top,
                                      float(s.adc_offset), noisy_read || noisy_adc ? z.data() : nullptr, rs,
                                      noisy_adc ? float(s.adc_sigma) : 0.0f, ir_drop, inv_full, col.data());
                conv += s.converted_cols;
                if (s.converted_cols < s.J)  // digital references: the nominal reading, exactly
                    for (int64_t j = 0; j < s.J; ++j)
                        if (s.col_digital[size_t(j)]) col[size_t(j)] += double(sp[j]) * double(s.plain_weight[size_t(p * s.J + j)]);
            }
            (void)g;
        });
        double* o = out + v * s.N;
        std::fill(o, o + s.N, 0.0);
        for (int64_t j = 0; j < s.J; ++j)
            for (int64_t n = s.col_begin[size_t(j)]; n < s.col_end[size_t(j)]; ++n) o[n] += col[size_t(j)];
    }
    s.conversions += conv;
    s.clipped += clip;
}

void CrossbarLayer::run_bitplanes(const int32_t* x, int64_t V, double* out, uint64_t chunk_id) const {
    if (impl_->use_double) impl_->run_planes<double>(x, V, out, chunk_id);
    else impl_->run_planes<float>(x, V, out, chunk_id);
}

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

}  // namespace cim::sim
