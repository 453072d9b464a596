// Clipping-range calibrators shared by weights and activations: min-max,
// percentile, MSE-optimal search and KL divergence (entropy calibration).
#include <cim/error.h>
#include <cim/quant/quantizer.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace cim::quant {

namespace {

// Deterministic subsample (every k-th value) to at most `cap` values.
std::vector<float> subsample(const std::vector<float>& v, size_t cap) {
    if (v.size() <= cap) return v;
    std::vector<float> out;
    out.reserve(cap);
    const double step = double(v.size()) / double(cap);
    for (size_t i = 0; i < cap; ++i) out.push_back(v[size_t(double(i) * step)]);
    return out;
}

double quantile(std::vector<float>& v, double p) {
    if (v.empty()) return 0;
    const size_t k = std::min(v.size() - 1, size_t(std::max(0.0, p * double(v.size() - 1) + 0.5)));
    std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(k), v.end());
    return v[k];
}

// Squared error of quantizing `vals` to [lo, hi] with `steps` steps (uniform grid).
double grid_error(const std::vector<float>& vals, double lo, double hi, int64_t steps) {
    const double s = (hi - lo) / double(steps);
    if (!(s > 0)) {
        double e = 0;
        for (float x : vals) e += (x - lo) * (x - lo);
        return e;
    }
    double e = 0;
    for (float x : vals) {
        double q = std::nearbyint((double(x) - lo) / s);
        q = std::clamp(q, 0.0, double(steps));
        const double d = double(x) - (lo + q * s);
        e += d * d;
    }
    return e;
}

// Magnitude threshold of least KL divergence (TensorRT's entropy calibration) for
// `levels` quantization levels over [0, threshold].
double kl_threshold(const std::vector<float>& mags, double max_mag, int64_t levels) {
    const int bins = 2048;
    if (!(max_mag > 0) || levels >= bins / 2) return max_mag;
    std::vector<double> hist(bins, 0.0);
    const double width = max_mag / bins;
    for (float m : mags) hist[size_t(std::min<double>(bins - 1, std::floor(m / width)))] += 1;
    double best_kl = std::numeric_limits<double>::infinity();
    int best_i = bins;
    std::vector<double> p, q;
    for (int i = int(levels); i <= bins; ++i) {
        p.assign(hist.begin(), hist.begin() + i);
        double outliers = 0;
        for (int j = i; j < bins; ++j) outliers += hist[size_t(j)];
        p[size_t(i - 1)] += outliers;
        // Merge the i bins into `levels` groups, spread each group's mass over its non-empty bins.
        q.assign(size_t(i), 0.0);
        const double per = double(i) / double(levels);
        for (int64_t l = 0; l < levels; ++l) {
            const int a = int(std::floor(double(l) * per)), b = std::max(a + 1, int(std::floor(double(l + 1) * per)));
            double mass = 0;
            int nonzero = 0;
            for (int j = a; j < b && j < i; ++j) {
                mass += hist[size_t(j)];
                nonzero += hist[size_t(j)] > 0;
            }
            if (l == levels - 1) {
                mass += outliers;
                if (outliers > 0 && hist[size_t(i - 1)] == 0) ++nonzero;
            }
            for (int j = a; j < b && j < i; ++j)
                if (hist[size_t(j)] > 0 || (l == levels - 1 && j == i - 1 && outliers > 0))
                    q[size_t(j)] = mass / std::max(1, nonzero);
        }
        double ps = 0, qs = 0;
        for (int j = 0; j < i; ++j) {
            ps += p[size_t(j)];
            qs += q[size_t(j)];
        }
        if (ps <= 0 || qs <= 0) continue;
        double kl = 0;
        for (int j = 0; j < i; ++j) {
            const double pj = p[size_t(j)] / ps;
            if (pj <= 0) continue;
            const double qj = q[size_t(j)] / qs;
            kl += qj > 0 ? pj * std::log(pj / qj) : pj * 30.0;  // an empty Q bin is a large penalty
        }
        if (kl < best_kl) {
            best_kl = kl;
            best_i = i;
        }
    }
    return double(best_i) * width;
}

}  // namespace

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
    const bool magnitude = symmetric || nonnegative;
    if (magnitude) {
        for (float& v : values) v = std::fabs(v);
        const double amax = std::max(std::fabs(mn), std::fabs(mx));
        double t = amax;
        switch (method) {
            case CalibrationMethod::minmax: break;
            case CalibrationMethod::percentile: t = quantile(values, percentile / 100.0); break;
            case CalibrationMethod::mse: {
                std::vector<float> s = subsample(values, 1 << 17);
                double best = std::numeric_limits<double>::infinity();
                for (int i = 100; i >= 5; --i) {
                    const double c = amax * i / 100.0;
                    // Error of magnitudes on [0, c] with `levels` steps (same as symmetric +-c).
                    const double e = grid_error(s, 0.0, c, levels);
                    if (e < best) {
                        best = e;
                        t = c;
                    }
                }
                break;
            }
            case CalibrationMethod::kl: t = kl_threshold(subsample(values, 1 << 20), amax, levels); break;
        }
        if (!(t > 0)) t = amax;
        return {nonnegative && !symmetric ? 0.0 : -t, t};
    }
    double lo = std::min(0.0f, mn), hi = std::max(0.0f, mx);
    switch (method) {
        case CalibrationMethod::minmax: break;
        case CalibrationMethod::percentile: {
            std::vector<float> c = values;
            lo = std::min(0.0, quantile(c, 1.0 - percentile / 100.0));
            hi = std::max(0.0, quantile(values, percentile / 100.0));
            break;
        }
        case CalibrationMethod::mse: {
            std::vector<float> s = subsample(values, 1 << 15);
            double best = std::numeric_limits<double>::infinity();
            const double L0 = lo, H0 = hi;
            for (int a = 20; a >= 4; --a)
                for (int b = 20; b >= 4; --b) {
                    const double l = L0 * a / 20.0, h = H0 * b / 20.0;
                    const double e = grid_error(s, l, h, levels);
                    if (e < best) {
                        best = e;
                        lo = l;
                        hi = h;
                    }
                }
            break;
        }
        case CalibrationMethod::kl: {
            for (float& v : values) v = std::fabs(v);
            const double t = kl_threshold(subsample(values, 1 << 20), std::max(-lo, hi), levels / 2);
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
