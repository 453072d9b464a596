// The streamed summary of a layer's calibration values (quant/src/value_summary.h)
// against calibrate_range and clipped_fraction on the whole values: the same results bit
// for bit, or no result where it cannot have them (test_streamed_zoo.cpp: whole models).
#include "quant_test_util.h"
#include "value_summary.h"

#include <cim/quant/quantizer.h>

#include <cmath>
#include <limits>
#include <random>

using namespace cim;
using namespace cim::quant;

namespace {

const CalibrationMethod kMethods[] = {CalibrationMethod::minmax, CalibrationMethod::percentile, CalibrationMethod::mse,
                                      CalibrationMethod::kl};

// A summary of `v` added in blocks of `block` values, the blocks in reverse order.
detail::ValueSummary summarize(const std::vector<float>& v, CalibrationMethod m, bool magnitude, double pct, size_t block) {
    detail::ValueSummary s(int64_t(v.size()), detail::calibration_sample_cap(m, magnitude),
                           m == CalibrationMethod::percentile ? pct : 0.0);
    const size_t blocks = (v.size() + block - 1) / block;
    for (size_t b = blocks; b-- > 0;) {
        const size_t a = b * block, e = std::min(v.size(), a + block);
        s.add(int64_t(a), v.data() + a, e - a);
    }
    s.finish();
    return s;
}

}  // namespace

TEST_CASE("a value summary gives calibrate_range's result exactly, or says it cannot") {
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (int shape = 0; shape < 4; ++shape) {
        // ReLU-like (half zeros), Gaussian, heavy-tailed, and Gaussian with NaNs; past every subsample cap.
        std::vector<float> v(1100000);
        for (float& x : v) {
            const float g = normal(rng);
            x = shape == 0 ? std::max(0.0f, g) : shape == 2 ? g * g * g : g;
        }
        if (shape == 3)
            for (size_t k = 17; k < v.size(); k += 100003) v[k] = std::numeric_limits<float>::quiet_NaN();
        for (CalibrationMethod m : kMethods)
            for (int kind = 0; kind < 3; ++kind) {  // symmetric, non-negative, asymmetric
                const bool symmetric = kind == 0, nonnegative = kind == 1;
                const int64_t levels = symmetric ? 127 : 255;
                const auto s = summarize(v, m, symmetric || nonnegative, 99.9, 50000);
                const auto got = detail::calibrate_range(s, m, 99.9, symmetric, nonnegative, levels);
                const Range want = calibrate_range(v, m, 99.9, symmetric, nonnegative, levels);
                CAPTURE(shape);
                CAPTURE(int(m));
                CAPTURE(kind);
                // Only a subsample of values with NaN among them cannot be taken on the fly.
                const bool needs_sample = m == CalibrationMethod::mse || m == CalibrationMethod::kl;
                REQUIRE(got.has_value() == !(shape == 3 && needs_sample));
                if (!got) continue;
                CHECK(got->lo == want.lo);
                CHECK(got->hi == want.hi);
                // The clipped count of a quantizer with this range, as clipped_fraction counts it.
                ActQuant a;
                a.code_min = symmetric ? -127 : 0;
                a.code_max = symmetric ? 127 : 255;
                a.scale = want.hi > want.lo ? (want.hi - want.lo) / double(levels) : 1.0;
                a.zero_point = symmetric ? 0 : int32_t(std::nearbyint(-want.lo / a.scale));
                int64_t out = 0;
                for (float x : v) {
                    const double c = std::nearbyint(double(x) / a.scale) + a.zero_point;
                    out += c < a.code_min || c > a.code_max;
                }
                const auto clipped = s.clipped(a);
                if (kind == 1 && shape != 0) {  // [0, t] on signed values: half of them clipped, past the tails
                    CHECK_FALSE(clipped.has_value());
                    continue;
                }
                REQUIRE(clipped.has_value());
                CHECK(*clipped == out);
            }
    }
    // Clipping more than the tails hold: no answer rather than a wrong one.
    std::vector<float> v(400000);
    for (float& x : v) x = normal(rng);
    const auto s = summarize(v, CalibrationMethod::minmax, true, 0, 4096);
    ActQuant a;
    a.code_min = -127;
    a.code_max = 127;
    a.scale = 0.5 / 127;  // clips about 60 % of N(0, 1)
    CHECK_FALSE(s.clipped(a).has_value());
    CHECK(s.exact());
    // A concatenation of another size than announced is never exact.
    detail::ValueSummary short_one(10, 0, 0);
    short_one.add(0, v.data(), 5);
    short_one.finish();
    CHECK_FALSE(short_one.exact());
    CHECK_FALSE(detail::calibrate_range(short_one, CalibrationMethod::minmax, 0, true, false, 127).has_value());
}
