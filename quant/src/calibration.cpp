// Clipping-range calibrators shared by weights and activations: min-max,
// percentile, least squared error (MSE) and KL divergence (TensorRT's entropy
// calibration). docs/quantization.md states what each one computes.
#include <cim/error.h>
#include <cim/quant/quantizer.h>

#include "value_summary.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace cim::quant {

namespace {

// Histogram bins of the KL calibrator, and the candidate thresholds of the MSE
// calibrator on the magnitude side (amax * i / kBins, i = 1 .. kBins).
constexpr int kBins = 2048;
// Candidates per side of the asymmetric MSE search (lo * a / kSideSteps, hi * b / kSideSteps).
constexpr int kSideSteps = 64;

// Deterministic subsample (every k-th value) to at most `cap` values.
std::vector<float> subsample(const std::vector<float>& v, size_t cap) {
    if (v.size() <= cap) return v;
    std::vector<float> out;
    out.reserve(cap);
    const double step = double(v.size()) / double(cap);
    for (size_t i = 0; i < cap; ++i) out.push_back(v[size_t(double(i) * step)]);
    return out;
}

// The sample quantile: the value of rank round(p (n - 1)) in ascending order.
double quantile(std::vector<float>& v, double p) {
    if (v.empty()) return 0;
    const size_t k = detail::quantile_rank(v.size(), p);
    std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(k), v.end());
    return v[k];
}

// Values in ascending order with prefix sums of x and x^2, so the squared error of
// rounding them to any uniform grid costs O(occupied grid cells x log n), exactly.
class SortedSamples {
public:
    explicit SortedSamples(std::vector<float> values) : v_(std::move(values)) {
        std::sort(v_.begin(), v_.end());
        s1_.assign(v_.size() + 1, 0.0L);
        s2_.assign(v_.size() + 1, 0.0L);
        for (size_t k = 0; k < v_.size(); ++k) {
            s1_[k + 1] = s1_[k] + v_[k];
            s2_[k + 1] = s2_[k] + (long double)v_[k] * v_[k];
        }
    }

    // Sum of (x - q(x))^2 where q rounds x to the nearest of lo + j * step, j = 0 .. steps,
    // values beyond either end going to that end (clipping).
    double grid_error(double lo, double step, int64_t steps) const {
        const size_t n = v_.size();
        if (!(step > 0)) return cell_error(0, n, lo);
        long double e = 0;
        for (size_t k = 0; k < n;) {
            const int64_t j = int64_t(std::clamp(std::nearbyint((double(v_[k]) - lo) / step), 0.0, double(steps)));
            size_t end = n;
            if (j < steps) {
                const double upper = lo + (double(j) + 0.5) * step;  // the next cell starts here
                end = size_t(std::lower_bound(v_.begin() + std::ptrdiff_t(k), v_.end(), float(upper)) - v_.begin());
                while (end < n && double(v_[end]) < upper) ++end;  // float(upper) rounded down
            }
            end = std::max(end, k + 1);
            e += cell_error(k, end, lo + double(j) * step);
            k = end;
        }
        return double(e);
    }

private:
    long double cell_error(size_t a, size_t b, double q) const {
        const long double cnt = (long double)(b - a), s1 = s1_[b] - s1_[a], s2 = s2_[b] - s2_[a];
        return std::max(0.0L, s2 - 2.0L * q * s1 + (long double)q * q * cnt);
    }

    std::vector<float> v_;
    std::vector<long double> s1_, s2_;
};

// MSE calibration of magnitudes: the threshold t among amax * i / kBins whose grid
// 0, t/steps, ..., t (symmetric codes +-steps, or unsigned codes 0..steps) has the
// least squared error over the values.
double mse_threshold(const std::vector<float>& mags, double amax, int64_t steps) {
    const SortedSamples s(mags);
    double best = std::numeric_limits<double>::infinity(), t = amax;
    for (int i = kBins; i >= 1; --i) {  // from the top: ties keep the wider range
        const double c = amax * i / kBins;
        const double e = s.grid_error(0.0, c / double(steps), steps);
        if (e < best) {
            best = e;
            t = c;
        }
    }
    return t;
}

// KL(P || Q) of TensorRT's entropy calibration with the first `i` bins of `hist`
// kept and `levels` quantization levels; +inf when Q misses mass that P has.
//   P: hist[0 .. i-1], with the mass beyond (the clipped outliers) added to bin i-1;
//   Q: hist[0 .. i-1] alone, bin j merged into level floor(j * levels / i), each
//      level's mass spread evenly over its non-empty bins (empty bins stay empty).
// Both are normalized to sum 1.
double kl_divergence(const std::vector<double>& hist, const std::vector<double>& beyond, int i, int levels) {
    const double total = beyond[0];
    const double kept = total - beyond[size_t(i)];  // Q's mass: P's without the outliers
    if (!(kept > 0)) return std::numeric_limits<double>::infinity();
    double kl = 0;
    for (int l = 0; l < levels; ++l) {
        // Bins of level l: j with floor(j * levels / i) == l.
        const int a = int((int64_t(l) * i + levels - 1) / levels), b = int((int64_t(l + 1) * i + levels - 1) / levels);
        double mass = 0;
        int nonempty = 0;
        for (int j = a; j < b; ++j)
            if (hist[size_t(j)] > 0) {
                mass += hist[size_t(j)];
                ++nonempty;
            }
        for (int j = a; j < b; ++j) {
            const double p = (hist[size_t(j)] + (j == i - 1 ? beyond[size_t(i)] : 0.0)) / total;
            if (p <= 0) continue;
            if (hist[size_t(j)] <= 0) return std::numeric_limits<double>::infinity();
            const double q = mass / nonempty / kept;
            kl += p * std::log(p / q);
        }
    }
    return kl;
}

// Magnitude threshold of least KL divergence over `levels` levels (TensorRT's entropy
// calibration): a kBins-bin histogram of the magnitudes on [0, amax], every bin count
// i = levels .. kBins tried as the threshold i * amax / kBins.
//
// Exact zeros are left out of the histogram: zero is a code at every threshold, so
// they are represented exactly whatever the choice, and with them P and Q become
// a z : (1 - z) mixture of the same point mass and the rest, whose KL divergence is
// (1 - z) times that of the rest: the same argmin. Kept in bin 0, the zeros after a
// ReLU (often half the values) would instead be spread over the whole first level
// by the merging and push every threshold down.
double kl_threshold(const std::vector<float>& mags, double amax, int64_t levels) {
    if (!(amax > 0) || levels >= kBins) return amax;
    std::vector<double> hist(kBins, 0.0);
    const double width = amax / kBins;
    for (float m : mags)
        if (m > 0) hist[size_t(std::min<double>(kBins - 1, std::floor(m / width)))] += 1;
    std::vector<double> beyond(kBins + 1, 0.0);  // beyond[i] = sum of hist[i ..]
    for (int j = kBins - 1; j >= 0; --j) beyond[size_t(j)] = beyond[size_t(j + 1)] + hist[size_t(j)];
    if (!(beyond[0] > 0)) return amax;
    double best = std::numeric_limits<double>::infinity();
    int best_i = kBins;
    for (int i = kBins; i >= int(levels); --i) {  // from the top: ties keep the wider range
        const double kl = kl_divergence(hist, beyond, i, int(levels));
        if (kl < best) {
            best = kl;
            best_i = i;
        }
    }
    return double(best_i) * width;
}

// Asymmetric MSE calibration: [lo, hi] of least squared error over the grids cut from
// [lo * a / kSideSteps, hi * b / kSideSteps]; lo and hi come in as the extrema.
void mse_range(std::vector<float> sample, int64_t levels, double& lo, double& hi) {
    const SortedSamples s(std::move(sample));
    double best = std::numeric_limits<double>::infinity();
    const double L0 = lo, H0 = hi;
    for (int a = kSideSteps; a >= 1; --a)
        for (int b = kSideSteps; b >= 1; --b) {
            const double l = L0 * a / kSideSteps, h = H0 * b / kSideSteps;
            const double e = s.grid_error(l, (h - l) / double(levels), levels);
            if (e < best) {
                best = e;
                lo = l;
                hi = h;
            }
        }
}

}  // namespace

namespace detail {

size_t calibration_sample_cap(CalibrationMethod method, bool magnitude) {
    switch (method) {
        case CalibrationMethod::minmax:
        case CalibrationMethod::percentile: return 0;
        case CalibrationMethod::mse: return magnitude ? size_t(1) << 17 : size_t(1) << 15;
        case CalibrationMethod::kl: return size_t(1) << 20;
    }
    return 0;
}

size_t quantile_rank(size_t n, double p) {
    return std::min(n - 1, size_t(std::max(0.0, p * double(n - 1) + 0.5)));
}

// The same steps as calibrate_range below, on the summary's extrema, ranks and subsample.
std::optional<Range> calibrate_range(const ValueSummary& s, CalibrationMethod method, double percentile,
                                     bool symmetric, bool nonnegative, int64_t levels) {
    if (!s.exact()) return std::nullopt;
    if (s.seen() == 0) return Range{0, 0};
    const float mn = s.min(), mx = s.max();
    if (!(mx >= mn)) return Range{0, 0};
    const size_t n = size_t(s.finite());
    levels = std::max<int64_t>(1, levels);
    auto magnitudes = [](std::vector<float> v) {
        for (float& x : v) x = std::fabs(x);
        return v;
    };
    const bool magnitude = symmetric || nonnegative;
    if (magnitude) {
        const double amax = std::max(std::fabs(mn), std::fabs(mx));
        double t = amax;
        switch (method) {
            case CalibrationMethod::minmax: break;
            case CalibrationMethod::percentile: {
                const auto v = s.ranked_magnitude(quantile_rank(n, percentile / 100.0));
                if (!v) return std::nullopt;
                t = *v;
                break;
            }
            case CalibrationMethod::mse:
            case CalibrationMethod::kl: {
                auto sample = s.sample();
                if (!sample) return std::nullopt;
                t = method == CalibrationMethod::mse ? mse_threshold(magnitudes(std::move(*sample)), amax, levels)
                                                     : kl_threshold(magnitudes(std::move(*sample)), amax, levels + 1);
                break;
            }
        }
        if (!(t > 0)) t = amax;
        return Range{nonnegative && !symmetric ? 0.0 : -t, t};
    }
    double lo = std::min(0.0f, mn), hi = std::max(0.0f, mx);
    switch (method) {
        case CalibrationMethod::minmax: break;
        case CalibrationMethod::percentile: {
            const auto l = s.ranked(quantile_rank(n, 1.0 - percentile / 100.0));
            const auto h = s.ranked(quantile_rank(n, percentile / 100.0));
            if (!l || !h) return std::nullopt;
            lo = std::min(0.0, double(*l));
            hi = std::max(0.0, double(*h));
            break;
        }
        case CalibrationMethod::mse:
        case CalibrationMethod::kl: {
            auto sample = s.sample();
            if (!sample) return std::nullopt;
            if (method == CalibrationMethod::mse) {
                mse_range(std::move(*sample), levels, lo, hi);
                break;
            }
            const double t = kl_threshold(magnitudes(std::move(*sample)), std::max(-lo, hi), (levels + 1) / 2);
            lo = std::max(lo, -t);
            hi = std::min(hi, t);
            break;
        }
    }
    return Range{lo, hi};
}

}  // namespace detail

Range calibrate_range(std::vector<float> values, CalibrationMethod method, double percentile, bool symmetric,
                      bool nonnegative, int64_t levels) {
    if (values.empty()) return {0, 0};
    float mn = std::numeric_limits<float>::infinity(), mx = -mn;
    for (float v : values) {
        if (std::isnan(v)) continue;
        mn = std::min(mn, v);
        mx = std::max(mx, v);
    }
    if (!(mx >= mn)) return {0, 0};
    values.erase(std::remove_if(values.begin(), values.end(), [](float v) { return std::isnan(v); }), values.end());
    levels = std::max<int64_t>(1, levels);
    const bool magnitude = symmetric || nonnegative;
    if (magnitude) {
        // Symmetric codes +-levels or unsigned codes 0..levels: one threshold on |x|.
        for (float& v : values) v = std::fabs(v);
        const double amax = std::max(std::fabs(mn), std::fabs(mx));
        double t = amax;
        switch (method) {
            case CalibrationMethod::minmax: break;
            case CalibrationMethod::percentile: t = quantile(values, percentile / 100.0); break;
            case CalibrationMethod::mse:
                t = mse_threshold(subsample(values, detail::calibration_sample_cap(method, true)), amax, levels);
                break;
            case CalibrationMethod::kl:
                t = kl_threshold(subsample(values, detail::calibration_sample_cap(method, true)), amax, levels + 1);
                break;
        }
        if (!(t > 0)) t = amax;
        return {nonnegative && !symmetric ? 0.0 : -t, t};
    }
    // Asymmetric: codes 0..levels over [lo, hi] with lo <= 0 <= hi.
    double lo = std::min(0.0f, mn), hi = std::max(0.0f, mx);
    switch (method) {
        case CalibrationMethod::minmax: break;
        case CalibrationMethod::percentile: {
            std::vector<float> c = values;
            lo = std::min(0.0, quantile(c, 1.0 - percentile / 100.0));
            hi = std::max(0.0, quantile(values, percentile / 100.0));
            break;
        }
        case CalibrationMethod::mse:
            mse_range(subsample(values, detail::calibration_sample_cap(method, false)), levels, lo, hi);
            break;
        case CalibrationMethod::kl: {
            // One magnitude threshold for both sides, with the levels of one side.
            for (float& v : values) v = std::fabs(v);
            const double t = kl_threshold(subsample(values, detail::calibration_sample_cap(method, false)),
                                          std::max(-lo, hi), (levels + 1) / 2);
            lo = std::max(lo, -t);
            hi = std::min(hi, t);
            break;
        }
    }
    return {lo, hi};
}

double pow2_scale(double scale, const float* values, size_t count, int64_t qmax) {
    if (!(scale > 0)) return 1.0;
    const double lo = std::exp2(std::floor(std::log2(scale))), up = lo * 2;
    if (lo == scale) return scale;
    if (!values || count == 0 || qmax <= 0) return up;
    auto err = [&](double s) {
        double e = 0;
        for (size_t i = 0; i < count; ++i) {
            const double q = std::clamp(std::nearbyint(values[i] / s), -double(qmax), double(qmax));
            e += (values[i] - q * s) * (values[i] - q * s);
        }
        return e;
    };
    return err(lo) < err(up) ? lo : up;
}

}  // namespace cim::quant
