// Bit-plane crossbar simulation: for each read group (<= max_active_rows rows of one
// array) and each input plane, one GEMM of the plane values with the stored
// conductances gives every column sum; the ADC converts each, and the digital
// shift-add weighs the codes by plane and slice. The ideal case is one GEMM.
#include <cim/cimsim/crossbar.h>
#include <cim/error.h>

#include <Eigen/Core>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

namespace cim::sim {

namespace {

using RowMatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMatD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

uint64_t splitmix(uint64_t& s) {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t mix_key(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
    uint64_t s = a;
    uint64_t h = splitmix(s);
    s = h ^ b;
    h = splitmix(s);
    s = h ^ c;
    h = splitmix(s);
    s = h ^ d;
    return splitmix(s);
}

// A small counter-based Gaussian stream: the same key gives the same numbers on any
// platform and thread count (std::normal_distribution is not specified bit for bit).
class GaussStream {
public:
    explicit GaussStream(uint64_t key) : state_(key) {}
    double next() {
        if (have_spare_) {
            have_spare_ = false;
            return spare_;
        }
        double u1 = (double(splitmix(state_) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
        double u2 = double(splitmix(state_) >> 11) * (1.0 / 9007199254740992.0);
        double r = std::sqrt(-2.0 * std::log(u1));
        spare_ = r * std::sin(2.0 * M_PI * u2);
        have_spare_ = true;
        return r * std::cos(2.0 * M_PI * u2);
    }
    double uniform() { return (double(splitmix(state_) >> 11) + 0.5) * (1.0 / 9007199254740992.0); }

private:
    uint64_t state_;
    double spare_ = 0;
    bool have_spare_ = false;
};

struct ReadGroup {
    int64_t r0, r1;  // rows [r0, r1) read together
    int64_t array_row;  // which row tile (array) they belong to
};

}  // namespace

struct CrossbarLayer::Impl {
    // Device.
    int cell_bits = 1, input_bits = 8, dac_bits = 1, planes = 8, adc_bits = 0;
    AdcRange adc_range = AdcRange::none;
    double dmax = 1, g_off = 0, g_on = 1;
    double read_sigma = 0, ir_drop = 0, adc_sigma = 0, adc_offset = 0;
    int64_t active_rows = 1;
    bool ideal_cells = true;
    // Matrix.
    int64_t K = 0, J = 0, N = 0, cols_per_array = 0;
    std::vector<int64_t> col_output, col_factor;
    std::vector<ReadGroup> groups;
    RowMatF G;        // K x J stored conductances (digit units)
    RowMatD W_exact;  // K x N effective integer weights (exact path)
    bool use_double = false;  // column sums may exceed float's exact integer range
    // ADC: one range per (group, column) after calibration; full scale before.
    std::vector<double> range;   // groups x J
    std::vector<double> lsb;     // groups x J
    std::vector<double> observed;  // calibration maxima, groups x J
    bool exact_reads = false;
    uint64_t read_key = 0;  // read-noise stream of this (seed, instance, layer)
    mutable std::atomic<int64_t> conversions{0}, clipped{0};

    void set_ranges(const std::vector<double>& r) {
        range = r;
        lsb.resize(range.size());
        const double top = adc_bits > 0 ? std::ldexp(1.0, adc_bits) - 1 : 0;
        for (size_t i = 0; i < range.size(); ++i) {
            if (adc_range == AdcRange::none) lsb[i] = 0;
            // Integer sums that fit the codes are read exactly with a unit LSB.
            else if (ideal_cells && range[i] <= top) lsb[i] = 1;
            else lsb[i] = std::max(range[i], 1e-12) / top;
        }
    }

    double full_scale(const ReadGroup& g) const {
        const double plane_max = std::ldexp(1.0, dac_bits) - 1;
        return double(g.r1 - g.r0) * plane_max * g_on;
    }

    template <class Scalar, class Visit>
    void reads(const int32_t* x, int64_t V, Visit&& visit) const;

    template <class Scalar>
    void run_planes(const int32_t* x, int64_t V, double* out, uint64_t chunk_id, uint64_t key) const;
};

CrossbarLayer::~CrossbarLayer() = default;
CrossbarLayer::CrossbarLayer(CrossbarLayer&&) noexcept = default;

CrossbarLayer::CrossbarLayer(const DeviceSpec& d, ProgrammedMatrix m, uint64_t seed, uint64_t instance, uint64_t layer_id)
    : impl_(std::make_unique<Impl>()) {
    Impl& s = *impl_;
    s.cell_bits = d.cell.bits;
    s.dmax = std::ldexp(1.0, d.cell.bits) - 1;
    s.input_bits = d.input.bits;
    if (d.input.mode == InputMode::multi_bit) {
        s.dac_bits = d.input.bits;
        s.planes = 1;
    } else {
        s.dac_bits = d.input.dac_bits;
        s.planes = (d.input.bits + d.input.dac_bits - 1) / d.input.dac_bits;
    }
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
    if (int64_t(m.digits.size()) != s.K * s.J || int64_t(m.col_output.size()) != s.J || int64_t(m.col_factor.size()) != s.J)
        throw InternalError("ProgrammedMatrix sizes are inconsistent");
    s.col_output = std::move(m.col_output);
    s.col_factor = std::move(m.col_factor);

    // Read groups: arrays of usable_rows rows, each read max_active_rows rows at a time.
    const int64_t R = d.array.usable_rows;
    for (int64_t t0 = 0, tile = 0; t0 < s.K; t0 += R, ++tile)
        for (int64_t r0 = t0; r0 < std::min(s.K, t0 + R); r0 += s.active_rows)
            s.groups.push_back({r0, std::min({s.K, t0 + R, r0 + s.active_rows}), tile});

    // Stored conductances of this chip instance.
    s.read_key = mix_key(seed, instance, layer_id, 0x0EAD0001);
    s.G.resize(s.K, s.J);
    GaussStream rng(mix_key(seed, instance, layer_id, 0x5EED0001));
    for (int64_t k = 0; k < s.K; ++k)
        for (int64_t j = 0; j < s.J; ++j) {
            const uint8_t digit = m.digits[size_t(k * s.J + j)];
            if (digit > s.dmax) throw InternalError("cell digit exceeds 2^cell_bits - 1");
            double g = s.g_off + digit;
            if (stuck) {
                double u = rng.uniform();
                if (u < d.noise.stuck_on_rate) g = s.g_on;
                else if (u < d.noise.stuck_on_rate + d.noise.stuck_off_rate) g = s.g_off;
            }
            if (programming) {
                const double sigma = d.noise.programming_sigma_mode == NoiseMode::relative ? d.noise.programming_sigma * g
                                                                                            : d.noise.programming_sigma * s.dmax;
                g += sigma * rng.next();
            }
            g *= drift;
            s.G(k, j) = float(std::max(g, 0.0));  // a conductance cannot go negative
        }
    // Exact path weights: what the digital side believes the array holds.
    s.W_exact = RowMatD::Zero(s.K, s.N);
    for (int64_t k = 0; k < s.K; ++k)
        for (int64_t j = 0; j < s.J; ++j) s.W_exact(k, s.col_output[size_t(j)]) += double(s.col_factor[size_t(j)]) * m.digits[size_t(k * s.J + j)];

    std::vector<double> fs(s.groups.size() * size_t(s.J));
    for (size_t gi = 0; gi < s.groups.size(); ++gi)
        for (int64_t j = 0; j < s.J; ++j) fs[gi * size_t(s.J) + size_t(j)] = s.full_scale(s.groups[gi]);
    s.set_ranges(fs);
    double largest = 0;
    for (double f : fs) largest = std::max(largest, f);
    s.use_double = largest >= double(1 << 24);
    const bool adc_exact = s.adc_range == AdcRange::none ||
                           (s.adc_range == AdcRange::full_scale && std::all_of(s.lsb.begin(), s.lsb.end(), [](double l) { return l == 1; }));
    s.exact_reads = s.ideal_cells && adc_exact && s.read_sigma == 0 && s.adc_sigma == 0 && s.adc_offset == 0;
}

bool CrossbarLayer::exact() const { return impl_->exact_reads; }
int64_t CrossbarLayer::rows() const { return impl_->K; }
int64_t CrossbarLayer::outputs() const { return impl_->N; }
AdcStats CrossbarLayer::adc_stats() const { return {impl_->conversions.load(), impl_->clipped.load()}; }

// Calls visit(group index, plane, V x J column sums) for every read.
template <class Scalar, class Visit>
void CrossbarLayer::Impl::reads(const int32_t* x, int64_t V, Visit&& visit) const {
    using Mat = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    thread_local Mat P, S, Gs;
    const int32_t mask = int32_t((int64_t(1) << dac_bits) - 1);
    for (size_t gi = 0; gi < groups.size(); ++gi) {
        const ReadGroup& g = groups[gi];
        const int64_t rows = g.r1 - g.r0;
        if constexpr (std::is_same_v<Scalar, float>) {
            for (int p = 0; p < planes; ++p) {
                P.resize(V, rows);
                for (int64_t v = 0; v < V; ++v) {
                    const int32_t* xr = x + v * K + g.r0;
                    Scalar* pr = P.data() + v * rows;
                    for (int64_t k = 0; k < rows; ++k) pr[k] = Scalar((xr[k] >> (p * dac_bits)) & mask);
                }
                S.noalias() = P * G.middleRows(g.r0, rows);
                visit(gi, p, P, S);
            }
        } else {
            Gs = G.middleRows(g.r0, rows).template cast<double>();
            for (int p = 0; p < planes; ++p) {
                P.resize(V, rows);
                for (int64_t v = 0; v < V; ++v) {
                    const int32_t* xr = x + v * K + g.r0;
                    Scalar* pr = P.data() + v * rows;
                    for (int64_t k = 0; k < rows; ++k) pr[k] = Scalar((xr[k] >> (p * dac_bits)) & mask);
                }
                S.noalias() = P * Gs;
                visit(gi, p, P, S);
            }
        }
    }
}

template <class Scalar>
void CrossbarLayer::Impl::run_planes(const int32_t* x, int64_t V, double* out, uint64_t chunk_id, uint64_t key) const {
    std::fill(out, out + V * N, 0.0);
    GaussStream rng(mix_key(key, chunk_id, 0x0EAD0002, 0));
    const double top = adc_bits > 0 ? std::ldexp(1.0, adc_bits) - 1 : 0;
    std::vector<double> plane_sq(static_cast<size_t>(V));
    int64_t conv = 0, clip = 0;
    reads<Scalar>(x, V, [&](size_t gi, int p, const auto& P, const auto& S) {
        const double plane_weight = std::ldexp(1.0, p * dac_bits);
        if (read_sigma > 0)
            for (int64_t v = 0; v < V; ++v) plane_sq[size_t(v)] = double(P.row(v).squaredNorm());
        const double* lsb_row = lsb.data() + gi * size_t(J);
        for (int64_t v = 0; v < V; ++v) {
            const auto* srow = S.data() + v * J;
            double* orow = out + v * N;
            const double read_noise = read_sigma > 0 ? read_sigma * dmax * std::sqrt(plane_sq[size_t(v)]) : 0.0;
            for (int64_t j = 0; j < J; ++j) {
                double s = double(srow[j]);
                if (ir_drop > 0) s = s / (1.0 + ir_drop * (s / g_on) / double(active_rows));
                if (read_noise > 0) s += read_noise * rng.next();
                double reading = s;
                if (adc_range != AdcRange::none) {
                    const double l = lsb_row[j];
                    double code = std::nearbyint(s / l + adc_offset + (adc_sigma > 0 ? adc_sigma * rng.next() : 0.0));
                    if (code > top) {
                        code = top;
                        ++clip;
                    } else if (code < 0) {
                        code = 0;
                    }
                    ++conv;
                    reading = code * l;
                }
                orow[col_output[size_t(j)]] += double(col_factor[size_t(j)]) * plane_weight * reading;
            }
        }
    });
    conversions += conv;
    clipped += clip;
}

void CrossbarLayer::run(const int32_t* x, int64_t V, double* out, uint64_t chunk_id) const {
    const Impl& s = *impl_;
    if (s.exact_reads) {
        thread_local RowMatD X;
        X.resize(V, s.K);
        for (int64_t i = 0; i < V * s.K; ++i) X.data()[i] = double(x[i]);
        Eigen::Map<RowMatD> O(out, V, s.N);
        O.noalias() = X * s.W_exact;
        return;
    }
    run_bitplanes(x, V, out, chunk_id);
}

void CrossbarLayer::run_bitplanes(const int32_t* x, int64_t V, double* out, uint64_t chunk_id) const {
    const Impl& s = *impl_;
    if (s.use_double) s.run_planes<double>(x, V, out, chunk_id, s.read_key);
    else s.run_planes<float>(x, V, out, chunk_id, s.read_key);
}

void CrossbarLayer::observe_for_calibration(const int32_t* x, int64_t V) {
    Impl& s = *impl_;
    if (s.observed.empty()) s.observed.assign(s.groups.size() * size_t(s.J), 0.0);
    auto visit = [&](size_t gi, int, const auto&, const auto& S) {
        double* obs = s.observed.data() + gi * size_t(s.J);
        for (int64_t v = 0; v < V; ++v)
            for (int64_t j = 0; j < s.J; ++j) obs[j] = std::max(obs[j], double(S(v, j)));
    };
    if (s.use_double) s.reads<double>(x, V, visit);
    else s.reads<float>(x, V, visit);
}

void CrossbarLayer::finish_calibration() {
    Impl& s = *impl_;
    if (s.adc_range == AdcRange::none || s.adc_range == AdcRange::full_scale || s.observed.empty()) return;
    std::vector<double> r = s.observed;
    if (s.adc_range == AdcRange::calibrated_layer) {
        const double m = *std::max_element(r.begin(), r.end());
        std::fill(r.begin(), r.end(), m);
    } else if (s.adc_range == AdcRange::calibrated_array) {
        // One range per array: the row tile of the group and the column tile of the column.
        for (size_t gi = 0; gi < s.groups.size(); ++gi)
            for (int64_t c0 = 0; c0 < s.J; c0 += s.cols_per_array) {
                double m = 0;
                for (size_t gj = 0; gj < s.groups.size(); ++gj)
                    if (s.groups[gj].array_row == s.groups[gi].array_row)
                        for (int64_t j = c0; j < std::min(s.J, c0 + s.cols_per_array); ++j) m = std::max(m, s.observed[gj * size_t(s.J) + size_t(j)]);
                for (int64_t j = c0; j < std::min(s.J, c0 + s.cols_per_array); ++j) r[gi * size_t(s.J) + size_t(j)] = m;
            }
    }
    for (double& v : r) v = std::max(v, 1.0);  // an all-zero column still needs a range
    s.set_ranges(r);
    s.exact_reads = false;
}

}  // namespace cim::sim
