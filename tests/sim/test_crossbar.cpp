// The crossbar model: the identity with the integer product on ideal devices,
// the bit-plane path against the one-GEMM shortcut, and each non-ideality's effect.
#include <doctest/doctest.h>

#include "sim_test_util.h"

#include <cim/cimsim/crossbar.h>
#include <cim/device/device_spec.h>

#include <cmath>
#include <random>

using namespace cim;
using namespace cim::sim;

namespace {

// A differential 8-bit weight matrix in 2-bit cells: 4 slices x (pos, neg) columns per output.
struct Fixture {
    int64_t K, N;
    std::vector<int32_t> w;  // K x N signed codes in [-127, 127]
    ProgrammedMatrix pm;
};

Fixture differential(int64_t K, int64_t N, uint64_t seed) {
    Fixture f{K, N, {}, {}};
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int> code(-127, 127);
    f.w.resize(size_t(K * N));
    for (auto& v : f.w) v = code(rng);
    const int64_t slices = 4, J = N * slices * 2;
    f.pm.rows = K;
    f.pm.cols = J;
    f.pm.outputs = N;
    f.pm.digits.assign(size_t(K * J), 0);
    for (int64_t n = 0; n < N; ++n)
        for (int64_t s = 0; s < slices; ++s)
            for (int sign = 0; sign < 2; ++sign) {
                const int64_t j = (n * slices + s) * 2 + sign;
                f.pm.col_output.push_back(n);
                f.pm.col_factor.push_back((sign ? -1 : 1) * (int64_t(1) << (2 * s)));
                for (int64_t k = 0; k < K; ++k) {
                    const int v = f.w[size_t(k * N + n)];
                    const int mag = (sign == 0) ? std::max(v, 0) : std::max(-v, 0);
                    f.pm.digits[size_t(k * J + j)] = int16_t((mag >> (2 * s)) & 3);
                }
            }
    return f;
}

std::vector<int32_t> inputs(int64_t V, int64_t K, uint64_t seed, int bits = 8) {
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int> d(0, (1 << bits) - 1);
    std::vector<int32_t> x(size_t(V * K));
    for (auto& v : x) v = d(rng);
    return x;
}

std::vector<double> reference(const Fixture& f, const std::vector<int32_t>& x, int64_t V) {
    return sim_test::exact_product(f.w, f.K, f.N, x, V);
}

DeviceSpec device(std::vector<std::string> sets) {
    std::vector<std::string> base{"weight.bits=8", "cell.bits=2", "weight.encoding=differential", "input.bits=8",
                                  "quant.weight_bits=8", "quant.activation_bits=8", "array.adc.bits=9", "cell.on_off_ratio=inf"};
    base.insert(base.end(), sets.begin(), sets.end());
    return load_device("isaac", base);
}

double rms_error(const std::vector<double>& a, const std::vector<double>& b) {
    double e = 0, r = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        e += (a[i] - b[i]) * (a[i] - b[i]);
        r += b[i] * b[i];
    }
    return std::sqrt(e / r);
}

}  // namespace

TEST_CASE("ideal cells and an ADC wide enough reproduce the integer product bit for bit, on both paths") {
    // 300 rows: 3 arrays of 128 rows; a 9-bit ADC covers 128 rows x 1 x 3 = 384 exactly.
    Fixture f = differential(300, 20, 1);
    const int64_t V = 37;
    auto x = inputs(V, f.K, 2);
    CrossbarLayer layer(device({}), f.pm, 7, 0, 0);
    CHECK(layer.exact());
    std::vector<double> fast(size_t(V * f.N)), planes(size_t(V * f.N));
    layer.run(x.data(), V, fast.data(), 0);
    layer.run_bitplanes(x.data(), V, planes.data(), 0);
    auto ref = reference(f, x, V);
    CHECK(fast == ref);
    CHECK(planes == ref);
    CHECK(layer.adc_stats().clipped == 0);
}

TEST_CASE("a narrow ADC loses information; calibrated ranges clip less than they quantize") {
    Fixture f = differential(256, 16, 3);
    const int64_t V = 64;
    auto x = inputs(V, f.K, 4);
    auto ref = reference(f, x, V);
    double previous = 0;
    for (int bits : {9, 7, 5, 3}) {
        CrossbarLayer layer(device({"array.adc.bits=" + std::to_string(bits)}), f.pm, 1, 0, 0);
        std::vector<double> y(size_t(V * f.N));
        layer.run(x.data(), V, y.data(), 0);
        double err = rms_error(y, ref);
        if (bits == 9) CHECK(err == 0);
        else CHECK(err > previous);
        previous = err;
    }
    CrossbarLayer cal(device({"array.adc.bits=5", "array.adc.range=calibrated_column"}), f.pm, 1, 0, 0);
    cal.observe_for_calibration(x.data(), V);
    cal.finish_calibration();
    std::vector<double> y(size_t(V * f.N));
    cal.run(x.data(), V, y.data(), 0);
    CrossbarLayer full(device({"array.adc.bits=5"}), f.pm, 1, 0, 0);
    std::vector<double> z(size_t(V * f.N));
    full.run(x.data(), V, z.data(), 0);
    CHECK(rms_error(y, ref) < rms_error(z, ref));  // calibrated ranges use the codes better

    // Observed in two parts (as two threads do) and merged: the same ranges, the same readings.
    CrossbarLayer split(device({"array.adc.bits=5", "array.adc.range=calibrated_column"}), f.pm, 1, 0, 0);
    std::vector<double> first, second;
    split.observe_for_calibration(x.data(), V / 2, first);
    split.observe_for_calibration(x.data() + (V / 2) * f.K, V - V / 2, second);
    split.merge_calibration(second);
    split.merge_calibration(first);
    split.finish_calibration();
    std::vector<double> w(size_t(V * f.N));
    split.run(x.data(), V, w.data(), 0);
    CHECK(w == y);
}

TEST_CASE("noise: seeded, reproducible, growing with sigma; instances differ") {
    Fixture f = differential(128, 8, 5);
    const int64_t V = 32;
    auto x = inputs(V, f.K, 6);
    auto ref = reference(f, x, V);
    double previous = 0;
    for (double sigma : {0.0, 0.02, 0.05, 0.1}) {
        CrossbarLayer layer(device({"noise.programming_sigma=" + std::to_string(sigma), "noise.read_sigma=" + std::to_string(sigma / 2)}),
                            f.pm, 11, 0, 3);
        std::vector<double> a(size_t(V * f.N)), b(size_t(V * f.N));
        layer.run(x.data(), V, a.data(), 5);
        layer.run(x.data(), V, b.data(), 5);
        CHECK(a == b);  // same chunk key, same numbers
        double err = rms_error(a, ref);
        if (sigma == 0) CHECK(err == 0);
        else CHECK(err > previous);
        previous = err;
    }
    DeviceSpec noisy = device({"noise.programming_sigma=0.05"});
    CrossbarLayer i0(noisy, f.pm, 11, 0, 3), i1(noisy, f.pm, 11, 1, 3);
    std::vector<double> a(size_t(V * f.N)), b(size_t(V * f.N));
    i0.run(x.data(), V, a.data(), 0);
    i1.run(x.data(), V, b.data(), 0);
    CHECK(a != b);
}

TEST_CASE("stuck cells, drift, ON/OFF leak and IR drop each perturb the result") {
    Fixture f = differential(128, 8, 8);
    const int64_t V = 16;
    auto x = inputs(V, f.K, 9);
    auto ref = reference(f, x, V);
    for (const char* set : {"noise.stuck_on_rate=0.01", "noise.stuck_off_rate=0.05", "noise.drift_nu=0.05",
                            "cell.on_off_ratio=10", "noise.ir_drop=0.5", "noise.adc_sigma_lsb=1"}) {
        std::vector<std::string> sets{set};
        if (std::string(set).find("drift") != std::string::npos) sets.push_back("noise.drift_time_s=1000");
        CrossbarLayer layer(device(sets), f.pm, 3, 0, 0);
        CHECK_FALSE(layer.exact());
        std::vector<double> y(size_t(V * f.N));
        layer.run(x.data(), V, y.data(), 0);
        INFO(set);
        CHECK(rms_error(y, ref) > 0);
    }
}

TEST_CASE("read and ADC noise drawn as one Gaussian per conversion: their variances add") {
    // Digits 1..3 on 128 rows and dense inputs keep every column sum well inside a 9-bit ADC's codes
    // (LSB 1, no clipping), so each conversion's error is its noise plus rounding and the output
    // error energy is the sum over conversions of their variances.
    const int64_t K = 128, J = 24, V = 200;
    ProgrammedMatrix m;
    m.rows = K;
    m.cols = J;
    m.outputs = J;
    std::mt19937_64 rng(21);
    std::uniform_int_distribution<int> digit(1, 3);
    m.digits.resize(size_t(K * J));
    for (auto& d : m.digits) d = int16_t(digit(rng));
    for (int64_t j = 0; j < J; ++j) {
        m.col_output.push_back(j);
        m.col_factor.push_back(1);
    }
    const auto x = inputs(V, K, 22);
    std::vector<double> exact(size_t(V * J));
    CrossbarLayer ideal(device({}), m, 1, 0, 0);
    ideal.run(x.data(), V, exact.data(), 0);
    auto error_energy = [&](std::vector<std::string> sets) {
        CrossbarLayer layer(device(sets), m, 1, 0, 0);
        std::vector<double> y(size_t(V * J));
        layer.run(x.data(), V, y.data(), 0);
        CHECK(layer.adc_stats().clipped == 0);
        double e = 0;
        for (size_t i = 0; i < y.size(); ++i) e += (y[i] - exact[i]) * (y[i] - exact[i]);
        return e;
    };
    // Read noise 0.2 x 3 x sqrt(~64 set bits) ~ 4.8 LSB; ADC noise 4 LSB.
    // (Rounding adds about 1/12 LSB^2 per noisy conversion to each, well inside the tolerance.)
    const double read = error_energy({"noise.read_sigma=0.2"}), adc = error_energy({"noise.adc_sigma_lsb=4"});
    const double both = error_energy({"noise.read_sigma=0.2", "noise.adc_sigma_lsb=4"});
    CHECK(read > 0.5 * adc);
    CHECK(adc > 0.5 * read);
    CHECK(both == doctest::Approx(read + adc).epsilon(0.1));
}
