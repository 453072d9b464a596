// The clipping-range calibrators checked against their definitions: closed-form
// optima on uniform data, and brute-force searches (written here independently of
// quant/src/calibration.cpp) on Laplacian and Gaussian data with far outliers.
#include "quant_test_util.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

using namespace cim;
using namespace cim::quant;

namespace {

constexpr int kBins = 2048;  // the calibrators' histogram bins and MSE threshold candidates

// Evenly spaced samples of the uniform distribution on [0, 1].
std::vector<float> uniform_grid(int n) {
    std::vector<float> v;
    for (int i = 0; i <= n; ++i) v.push_back(float(double(i) / n));
    return v;
}

// Laplacian (scale 1) or Gaussian (sigma 1) samples with a few far outliers of both signs.
std::vector<float> with_outliers(bool laplace, int n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::exponential_distribution<double> ex(1.0);
    std::normal_distribution<double> nd(0.0, 1.0);
    std::bernoulli_distribution sign(0.5);
    std::vector<float> v;
    for (int i = 0; i < n; ++i) v.push_back(float(laplace ? (sign(rng) ? 1 : -1) * ex(rng) : nd(rng)));
    for (float o : {60.0f, -45.0f, 52.0f}) v.push_back(o);
    return v;
}

// Squared error of symmetric quantization to codes -steps..steps with threshold t,
// computed by rounding every sample.
double symmetric_sse(const std::vector<float>& v, double t, int steps) {
    const double s = t / steps;
    double e = 0;
    for (float x : v) {
        const double q = std::clamp(std::nearbyint(double(x) / s), -double(steps), double(steps)) * s;
        e += (double(x) - q) * (double(x) - q);
    }
    return e;
}

// Squared error of asymmetric quantization to lo + j (hi - lo) / steps, j = 0..steps.
double asymmetric_sse(const std::vector<float>& v, double lo, double hi, int steps) {
    const double s = (hi - lo) / steps;
    double e = 0;
    for (float x : v) {
        const double q = lo + std::clamp(std::nearbyint((double(x) - lo) / s), 0.0, double(steps)) * s;
        e += (double(x) - q) * (double(x) - q);
    }
    return e;
}

// TensorRT's entropy calibration by its definition, for magnitudes `m` (no exact
// zeros) and `levels` levels: a kBins-bin histogram on [0, max]; for every i from
// `levels` to kBins, P = the first i bins with everything beyond added to bin i-1,
// Q = the first i bins (no outliers) merged into `levels` levels of equal width and
// expanded back over the non-empty bins; the threshold i * width of least KL(P||Q).
double brute_force_kl_threshold(const std::vector<float>& m, int levels) {
    const double amax = *std::max_element(m.begin(), m.end());
    const double width = amax / kBins;
    std::vector<double> h(kBins, 0.0);
    for (float x : m) h[size_t(std::min(kBins - 1, int(std::floor(double(x) / width))))] += 1;
    double best = std::numeric_limits<double>::infinity(), best_t = amax;
    for (int i = levels; i <= kBins; ++i) {
        std::vector<double> p(h.begin(), h.begin() + i), q(size_t(i), 0.0);
        for (int j = i; j < kBins; ++j) p[size_t(i - 1)] += h[size_t(j)];
        // Level of bin j: the level interval [l t / levels, (l+1) t / levels) holding its lower edge.
        const double t = i * width;
        std::vector<double> mass(size_t(levels), 0.0), nonempty(size_t(levels), 0.0);
        std::vector<int> level_of(static_cast<size_t>(i), 0);
        for (int j = 0; j < i; ++j) {
            level_of[size_t(j)] = std::min(levels - 1, int(std::floor(j * width / (t / levels) + 1e-9)));
            mass[size_t(level_of[size_t(j)])] += h[size_t(j)];
            nonempty[size_t(level_of[size_t(j)])] += h[size_t(j)] > 0;
        }
        for (int j = 0; j < i; ++j)
            if (h[size_t(j)] > 0) q[size_t(j)] = mass[size_t(level_of[size_t(j)])] / nonempty[size_t(level_of[size_t(j)])];
        double ps = 0, qs = 0;
        for (int j = 0; j < i; ++j) {
            ps += p[size_t(j)];
            qs += q[size_t(j)];
        }
        double kl = 0;
        for (int j = 0; j < i; ++j) {
            if (p[size_t(j)] == 0) continue;
            kl += q[size_t(j)] == 0 ? std::numeric_limits<double>::infinity()
                                    : p[size_t(j)] / ps * std::log((p[size_t(j)] / ps) / (q[size_t(j)] / qs));
        }
        if (kl <= best) {  // ties: the wider range
            best = kl;
            best_t = t;
        }
    }
    return best_t;
}

std::vector<float> magnitudes(std::vector<float> v) {
    for (float& x : v) x = std::fabs(x);
    return v;
}

double clipped_fraction(const std::vector<float>& v, double t) {
    return double(std::count_if(v.begin(), v.end(), [&](float x) { return std::fabs(x) > t; })) / double(v.size());
}

}  // namespace

TEST_CASE("uniform data: min-max, MSE and KL keep about the whole range; MSE at its closed-form optimum") {
    const std::vector<float> u = uniform_grid(200000);
    for (int steps : {7, 127}) {
        CAPTURE(steps);
        CHECK(calibrate_range(u, CalibrationMethod::minmax, 99.9, true, false, steps).hi == 1.0);
        // Uniform on [0, 1], grid 0..t in `steps` steps, values beyond t clipped to t:
        // SSE(t) = t^3 / (12 steps^2) + (1 - t)^3 / 3, least at t = 2 steps / (2 steps + 1).
        const double mse = calibrate_range(u, CalibrationMethod::mse, 99.9, true, false, steps).hi;
        CHECK(std::fabs(mse - 2.0 * steps / (2.0 * steps + 1)) <= 1.0 / kBins);
        // Q reproduces a flat P exactly over the whole range; any clipping puts a spike in P.
        CHECK(calibrate_range(u, CalibrationMethod::kl, 99.9, true, false, steps).hi == doctest::Approx(1.0));
        CHECK(calibrate_range(u, CalibrationMethod::kl, 99.9, false, true, 2 * steps + 1).hi == doctest::Approx(1.0));
    }
}

TEST_CASE("percentile is the sorted-sample quantile of the magnitudes (symmetric) or of each side (asymmetric)") {
    const std::vector<float> v = with_outliers(true, 30001, 3);
    std::vector<float> m = magnitudes(v), s = v;
    std::sort(m.begin(), m.end());
    std::sort(s.begin(), s.end());
    for (double p : {90.0, 99.0, 99.99}) {
        CAPTURE(p);
        const auto rank = [&](double f) { return size_t(std::llround(f * double(v.size() - 1))); };
        const Range sym = calibrate_range(v, CalibrationMethod::percentile, p, true, false, 127);
        CHECK(sym.hi == double(m[rank(p / 100)]));
        CHECK(sym.lo == -sym.hi);
        const Range asym = calibrate_range(v, CalibrationMethod::percentile, p, false, false, 255);
        CHECK(asym.hi == double(s[rank(p / 100)]));
        CHECK(asym.lo == double(s[rank(1 - p / 100)]));
    }
}

TEST_CASE("MSE: the threshold of a brute-force least-squared-error search, within one bin") {
    for (bool laplace : {true, false})
        for (int steps : {7, 127}) {
            CAPTURE(laplace);
            CAPTURE(steps);
            const std::vector<float> v = with_outliers(laplace, 10000, 11);
            const double amax = 60.0, bin = amax / kBins;
            // Brute force: 4096 thresholds over the whole range, each by rounding every sample.
            double best = std::numeric_limits<double>::infinity(), best_t = 0;
            for (int k = 1; k <= 4096; ++k) {
                const double t = amax * k / 4096;
                const double e = symmetric_sse(v, t, steps);
                if (e < best) {
                    best = e;
                    best_t = t;
                }
            }
            const double t = calibrate_range(v, CalibrationMethod::mse, 99.9, true, false, steps).hi;
            CHECK(std::fabs(t - best_t) <= bin);
            CHECK(symmetric_sse(v, t, steps) <= best * 1.001);
            // 3-bit magnitudes: the rounding error of a range reaching the outliers outweighs clipping them.
            if (steps == 7) CHECK(t < 10.0);
        }
}

TEST_CASE("MSE, asymmetric: no worse than a brute-force search over both ends") {
    std::mt19937 rng(5);
    std::exponential_distribution<double> ex(1.0);
    std::vector<float> v;
    for (int i = 0; i < 4000; ++i) v.push_back(float(ex(rng) - 0.4));
    v.push_back(-6.0f);
    v.push_back(30.0f);
    for (int steps : {15, 255}) {
        CAPTURE(steps);
        double best = std::numeric_limits<double>::infinity();
        for (int a = 1; a <= 120; ++a)
            for (int b = 1; b <= 120; ++b) best = std::min(best, asymmetric_sse(v, -6.0 * a / 120, 30.0 * b / 120, steps));
        const Range r = calibrate_range(v, CalibrationMethod::mse, 99.9, false, false, steps);
        CHECK(r.lo <= 0);
        CHECK(r.hi > 0);
        CHECK(asymmetric_sse(v, r.lo, r.hi, steps) <= best * 1.02);
        if (steps == 15) CHECK(r.hi < 30.0);
    }
}

TEST_CASE("KL: TensorRT's threshold by a brute-force search of the definition; the outliers are clipped") {
    for (bool laplace : {true, false})
        for (int steps : {7, 127}) {
            CAPTURE(laplace);
            CAPTURE(steps);
            const std::vector<float> v = with_outliers(laplace, 40000, 17);
            // Signed symmetric codes -steps..steps: |x| on steps + 1 levels.
            const double want = brute_force_kl_threshold(magnitudes(v), steps + 1);
            const double t = calibrate_range(v, CalibrationMethod::kl, 99.9, true, false, steps).hi;
            CHECK(t == doctest::Approx(want).epsilon(1e-9));
            CHECK(t < 45.0);
            CHECK(clipped_fraction(v, t) < 0.01);
            // Unsigned codes 0..2 steps + 1 on the magnitudes: 2 (steps + 1) levels.
            const std::vector<float> m = magnitudes(v);
            const double want_u = brute_force_kl_threshold(m, 2 * (steps + 1));
            CHECK(calibrate_range(m, CalibrationMethod::kl, 99.9, false, true, 2 * steps + 1).hi ==
                  doctest::Approx(want_u).epsilon(1e-9));
        }
}

TEST_CASE("KL: exact zeros (a ReLU's) are codes at every threshold and do not move it") {
    std::vector<float> v = magnitudes(with_outliers(true, 20000, 23));
    const double without = calibrate_range(v, CalibrationMethod::kl, 99.9, false, true, 255).hi;
    v.insert(v.end(), 30000, 0.0f);
    CHECK(calibrate_range(v, CalibrationMethod::kl, 99.9, false, true, 255).hi == without);
}

TEST_CASE("min-max keeps the outliers; every calibrator returns lo = -hi when symmetric") {
    const std::vector<float> v = with_outliers(false, 5000, 29);
    for (auto m : {CalibrationMethod::minmax, CalibrationMethod::percentile, CalibrationMethod::mse, CalibrationMethod::kl}) {
        const Range r = calibrate_range(v, m, 99.9, true, false, 127);
        CHECK(r.lo == -r.hi);
    }
    CHECK(calibrate_range(v, CalibrationMethod::minmax, 99.9, true, false, 127).hi == 60.0);
    const Range asym = calibrate_range({-2.0f, -1.0f, 3.0f}, CalibrationMethod::minmax, 99.0, false, false, 255);
    CHECK(asym.lo == -2.0);
    CHECK(asym.hi == 3.0);
}

TEST_CASE("power-of-two scales") {
    CHECK(pow2_scale(0.3) == 0.5);
    CHECK(pow2_scale(0.25) == 0.25);
    const std::vector<float> w{0.3f, -0.31f, 0.1f};
    const double p = pow2_scale(0.3 / 7, w.data(), w.size(), 7);
    CHECK(std::log2(p) == doctest::Approx(std::round(std::log2(p))));
}

TEST_CASE("KL: a point mass (an image's background value) draws the threshold to it and clips the tail, as the definition does") {
    // Fashion-MNIST normalized, (x/255 - 0.2860) / 0.3530, is half background at |x| = 0.81 with the
    // foreground spread up to 2.02: TensorRT's entropy calibration, and a NumPy re-implementation of
    // pytorch-quantization's _compute_amax_entropy on the first 100 training images, put the threshold
    // just above the background and clip 28 % of the pixels (docs/quantization.md, "Calibrators").
    std::mt19937 rng(5);
    std::uniform_real_distribution<double> fg(-0.81, 2.02);
    std::vector<float> v;
    for (int i = 0; i < 40000; ++i) v.push_back(i % 2 ? -0.81f : float(fg(rng)));
    const double want = brute_force_kl_threshold(magnitudes(v), 128);
    const double t = calibrate_range(v, CalibrationMethod::kl, 99.9, true, false, 127).hi;
    CHECK(t == doctest::Approx(want).epsilon(1e-9));
    CHECK(t >= 0.81);
    CHECK(t < 0.83);
    CHECK(clipped_fraction(v, t) > 0.2);
    // MSE on the same data keeps nearly the whole range.
    CHECK(clipped_fraction(v, calibrate_range(v, CalibrationMethod::mse, 99.9, true, false, 127).hi) < 0.05);
}
