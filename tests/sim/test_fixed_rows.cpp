// The fixed-point conductance-rows kernel (read_kernels.h: plane_sums on int16 tiles), planned where
// cells with programming variation are read by 1-bit planes:
//   - its sums equal the exact integer sums of the rounded conductances times inv_scale, bit for bit
//     (dense and sparse reads, ragged tiles, read groups inside the array, sign-magnitude inputs);
//   - a layer planned with it against the same layer (the same draws) planned with the float rows:
//     the difference is far below what the programming variation itself moves.
#include <doctest/doctest.h>

#include "sim_test_util.h"

#include <cim/cimsim/crossbar.h>
#include <cim/device/device_spec.h>

#include "kernel_test_util.h"
#include "read_kernels.h"

#include <cmath>
#include <random>

using namespace cim;
using namespace cim::sim;
using namespace kernel_test;

TEST_CASE("the fixed-point rows kernel equals the integer sums of the rounded conductances") {
    struct Case {
        const char* what;
        int64_t K, J, r0, rows, V;
        bool sign_magnitude;
        double set_share;
    };
    const std::vector<Case> cases{
        {"128-row read, 1,096 columns (9 tiles, the last ragged)", 128, 1096, 0, 128, 21, false, 0.4},
        {"a read group inside the array, 37 columns", 300, 37, 128, 50, 9, false, 0.7},
        {"sign-magnitude inputs (plane values -1)", 200, 130, 64, 128, 13, true, 0.5},
        {"nearly empty reads", 128, 64, 0, 128, 7, false, 0.05},
    };
    for (const Case& c : cases) {
        INFO(std::string(c.what));
        std::mt19937_64 rng(17);
        std::uniform_real_distribution<float> g01(0.0f, 1.0f);
        std::vector<float> G(size_t(c.K * c.J));
        for (float& g : G) g = g01(rng) * 1.3f;
        const float scale = float(32000.0 / (double(c.rows) * 1.3)), inv_scale = 1.0f / scale;
        const std::vector<int16_t> tiles = detail::tile_fixed_point(G, c.K, c.J, scale);
        std::vector<int32_t> x(size_t(c.V * c.K));
        std::uniform_int_distribution<int32_t> code(c.sign_magnitude ? -255 : 0, 255);
        for (int32_t& v : x) v = g01(rng) < c.set_share ? code(rng) : 0;
        const int planes = 8;
        std::vector<float> S(size_t(c.V * planes * c.J), -1.0f), sq(size_t(c.V * planes));
        detail::RowsScratch<int16_t> scratch;
        detail::plane_sums(tiles.data(), c.J, c.K, c.r0, x.data() + c.r0, c.K, c.V, c.rows, planes, 1, c.sign_magnitude, inv_scale,
                           S.data(), sq.data(), scratch);
        int64_t wrong = 0;
        for (int64_t v = 0; v < c.V; ++v)
            for (int p = 0; p < planes; ++p)
                for (int64_t j = 0; j < c.J; ++j) {
                    int64_t sum = 0;
                    for (int64_t k = c.r0; k < c.r0 + c.rows; ++k) {
                        const int64_t pv = plane_value(x[size_t(v * c.K + k)], p, 1, c.sign_magnitude);
                        sum += pv * int64_t(std::lrint(G[size_t(k * c.J + j)] * scale));
                    }
                    wrong += S[size_t((v * planes + p) * c.J + j)] != float(sum) * inv_scale;
                }
        CHECK(wrong == 0);
    }
}

TEST_CASE("fixed-point sums stay within their bound of the float sums, and far below the variation") {
    // 1-bit cells at g_off + {0, 1} with 5 % programming variation, 128-row reads of 8 one-bit planes.
    const int64_t K = 128, J = 256, V = 16, planes = 8;
    std::mt19937_64 rng(23);
    std::uniform_real_distribution<float> g01(0.0f, 1.0f);
    std::normal_distribution<float> variation(0.0f, 0.05f);
    std::vector<float> G(size_t(K * J)), nominal(size_t(K * J));
    float gmax = 0;
    for (size_t i = 0; i < G.size(); ++i) {
        nominal[i] = 0.1f + (g01(rng) < 0.5f ? 1.0f : 0.0f);
        G[i] = nominal[i] * (1.0f + variation(rng));
        gmax = std::max(gmax, G[i]);
    }
    const float scale = float(32000.0 / (double(K) * gmax)), inv_scale = 1.0f / scale;  // as the plan sets it
    std::vector<int32_t> x(size_t(V * K));
    std::uniform_int_distribution<int32_t> code(0, 255);
    for (int32_t& v : x) v = g01(rng) < 0.6f ? code(rng) : 0;
    std::vector<float> fixed(size_t(V * planes * J)), floats(fixed.size()), ideal(fixed.size()), sq(size_t(V * planes));
    detail::RowsScratch<int16_t> scratch_h;
    detail::RowsScratch<float> scratch_f;
    detail::plane_sums(detail::tile_fixed_point(G, K, J, scale).data(), J, K, 0, x.data(), K, V, K, planes, 1, false, inv_scale,
                       fixed.data(), sq.data(), scratch_h);
    detail::plane_sums(detail::tile_conductances(G, K, J).data(), J, K, 0, x.data(), K, V, K, planes, 1, false, floats.data(), sq.data(),
                       scratch_f);
    detail::plane_sums(detail::tile_conductances(nominal, K, J).data(), J, K, 0, x.data(), K, V, K, planes, 1, false, ideal.data(),
                       sq.data(), scratch_f);
    // Each cell rounds by at most 1 / (2 scale); float adds up to K roundings of 2^-24 of the full scale.
    const double bound = double(K) / (2 * scale) + double(K) * double(K) * gmax * std::ldexp(1.0, -24);
    double worst = 0, rounding = 0, varied = 0;
    for (size_t i = 0; i < fixed.size(); ++i) {
        worst = std::max(worst, std::fabs(double(fixed[i]) - floats[i]));
        rounding += (double(fixed[i]) - floats[i]) * (double(fixed[i]) - floats[i]);
        varied += (double(floats[i]) - ideal[i]) * (double(floats[i]) - ideal[i]);
    }
    const double rounding_rms = std::sqrt(rounding / double(fixed.size())), variation_rms = std::sqrt(varied / double(fixed.size()));
    CAPTURE(bound);
    CAPTURE(worst);
    CAPTURE(rounding_rms);
    CAPTURE(variation_rms);
    CHECK(worst > 0);  // the sums did go through the rounded conductances
    CHECK(worst <= bound);
    CHECK(rounding_rms < variation_rms / 20);
}

TEST_CASE("fixed-point rows against float rows on the same chip: a fraction of the variation's effect") {
    // 5-bit ADCs (isaac_with's); a 16-bit one resolves the roundings, and the plan keeps the float rows there.
    const std::vector<std::string> quiet{"noise.read_sigma=0", "noise.adc_sigma_lsb=0"};
    const ProgrammedMatrix two_bit = sim_test::random_matrix(300, 38, 0, 3, 41), one_bit = sim_test::random_matrix(300, 38, 0, 1, 41);
    {
        std::vector<std::string> fine = isaac_with({"noise.programming_sigma=0.05", "array.adc.bits=16", "array.adc.range=full_scale"});
        CHECK(CrossbarLayer(load_device("isaac", fine), two_bit, 5, 1, 2).kernel() == SumKernel::float_rows);
    }
    struct Setting {
        const char* what;
        std::vector<std::string> sets;
        const ProgrammedMatrix& m;
        bool calibrated;
    };
    const std::vector<Setting> settings{
        {"2-bit cells, full-scale range", isaac_with({"array.adc.range=full_scale"}), two_bit, false},
        {"2-bit cells, per-layer calibrated range", isaac_with({"array.adc.range=calibrated_layer"}), two_bit, true},
        {"NeuroSim's 1-bit cells, offset, ON/OFF 10", isaac_with({"cell.bits=1", "weight.encoding=offset", "array.capacity_bits=16384",
                                                                  "cell.on_off_ratio=10", "array.adc.range=calibrated_layer"}),
         one_bit, true},
    };
    for (const Setting& st : settings) {
        INFO(std::string(st.what));
        const int64_t V = 40;
        const auto x = sim_test::random_inputs(V, st.m.rows, 0, 255, 42);
        auto run = [&](std::vector<std::string> sets, bool fixed_allowed, SumKernel expected) {
            sets.insert(sets.end(), quiet.begin(), quiet.end());
            detail::allow_fixed_point(fixed_allowed);
            CrossbarLayer layer(load_device("isaac", sets), st.m, 5, 1, 2);
            detail::allow_fixed_point(true);
            CHECK(layer.kernel() == expected);
            if (st.calibrated) {
                std::vector<double> maxima;
                layer.observe_nominal(x.data(), V, maxima);
                layer.merge_calibration(maxima);
                layer.finish_calibration();
            }
            std::vector<double> y(size_t(V * layer.outputs()));
            layer.run(x.data(), V, y.data(), 3);
            return y;
        };
        std::vector<std::string> varied = st.sets;
        varied.push_back("noise.programming_sigma=0.05");
        const auto fixed = run(varied, true, SumKernel::fixed_rows);
        const auto floats = run(varied, false, SumKernel::float_rows);
        const auto ideal = run(st.sets, true, SumKernel::popcount);  // ideal cells: the exact integer sums
        double rounding = 0, variation = 0;
        for (size_t i = 0; i < fixed.size(); ++i) {
            rounding += (fixed[i] - floats[i]) * (fixed[i] - floats[i]);
            variation += (floats[i] - ideal[i]) * (floats[i] - ideal[i]);
        }
        const double ratio = std::sqrt(rounding / variation);
        CAPTURE(ratio);
        CHECK(variation > 0);
        // A 5-bit conversion turns the sums' small roundings (1/26 of the variation's, above) into whole
        // codes near the code boundaries: 3-6 % of the outputs differ, by a code of some plane and slice;
        // measured 0.16-0.26 of the variation's rms here (docs/simulator.md, "Fixed-point rows").
        CHECK(ratio < 0.4);
    }
}
