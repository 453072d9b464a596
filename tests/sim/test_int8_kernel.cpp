// The int8 dot-product kernel (cimsim/src/int8_dot.h), VNNI and portable, against the int64 sums
// sum_k plane(x_k) d_kj and P-_j on random matrices: ragged read groups (rows not a multiple of
// 4), column counts that are not a multiple of its 16- and 64-column steps, 1- to 8-bit DAC
// planes, unsigned and signed digits, two's-complement and sign-magnitude inputs, reads with no
// input set; and whole layers through it equal bit for bit to the popcount kernel and the float
// conductance rows on ideal cells (with an ADC and read noise).
#include <doctest/doctest.h>

#include "sim_test_util.h"

#include <cim/cimsim/crossbar.h>
#include <cim/device/device_spec.h>

#include "int8_dot.h"
#include "kernel_test_util.h"

#include <string>

using namespace cim;
using namespace cim::sim;
using namespace kernel_test;
using sim_test::random_inputs;
using sim_test::random_matrix;

TEST_CASE("the int8 kernel equals the integer column sums on random matrices") {
    const std::vector<KernelCase> cases{
        {"1-bit cells, 1-bit planes, 128-row arrays", 300, 37, 128, 128, 0, 1, 8, 1, 0, 255, false},
        {"2-bit cells, ragged reads of 50 rows, 33 columns", 300, 33, 128, 50, 0, 3, 8, 1, 0, 255, false},
        {"2-bit DAC, 1 column", 200, 1, 128, 128, 0, 3, 4, 2, 0, 255, false},
        {"3-bit DAC, 7-bit cells, reads of 127 rows, 65 columns", 260, 65, 127, 127, 0, 127, 3, 3, 0, 511, false},
        {"4-bit DAC, 16 columns", 150, 16, 128, 75, 0, 15, 2, 4, 0, 255, false},
        {"5-bit DAC, signed digits, 80 columns", 140, 80, 128, 128, -127, 127, 2, 5, 0, 1023, false},
        {"6-bit DAC, 129 columns", 70, 129, 64, 64, 0, 63, 1, 6, 0, 63, false},
        {"7-bit DAC, reads of 3 rows", 21, 20, 21, 3, 0, 127, 1, 7, 0, 127, false},
        {"multi-bit inputs on 7-bit cells, 1152-row arrays", 1200, 67, 1152, 1152, 0, 127, 1, 8, 0, 255, false},
        {"inputs below 16: planes 4-7 without an input set", 130, 40, 128, 128, 0, 3, 8, 1, 0, 15, false},
        {"two's-complement inputs, 1-bit planes", 130, 40, 128, 128, 0, 3, 8, 1, -128, 127, false},
        {"two's-complement multi-bit inputs", 130, 40, 128, 128, -127, 127, 1, 8, -128, 127, false},
        {"sign-magnitude inputs", 130, 41, 128, 64, 0, 3, 8, 1, -127, 127, true},
        {"signed digits, multi-bit sign-magnitude inputs", 190, 29, 128, 128, -127, 127, 1, 8, -127, 127, true},
        {"signed digits, 2-bit sign-magnitude planes", 190, 70, 128, 97, -7, 7, 4, 2, -255, 255, true},
        {"signed digits, 1-bit planes", 100, 9, 64, 64, -7, 7, 8, 1, 0, 255, false},
    };
    for (const KernelCase& c : cases) {
        INFO(std::string(c.what));
        const ProgrammedMatrix m = random_matrix(c.rows, c.cols, c.digit_lo, c.digit_hi, 31);
        REQUIRE(detail::int8_fits(m.digits, c.dac_bits));
        const auto groups = read_groups(c.rows, c.array_rows, c.active_rows);
        const detail::Int8Digits bytes(m.digits, c.cols, groups);
        const int64_t V = 11;  // not a multiple of the kernel's 4 reads per step
        const auto x = random_inputs(V, c.rows, c.input_lo, c.input_hi, 32);
        detail::InputBytes in;
        in.planes = c.planes;
        in.dac_bits = c.dac_bits;
        in.sign_magnitude = c.sign_magnitude;
        for (size_t gi = 0; gi < groups.size(); ++gi) {
            const detail::ReadGroup g = groups[gi];
            in.load(x.data(), V, c.rows, g);
            const size_t n = size_t(V * c.planes * c.cols);
            std::vector<int32_t> sums(n, -1), pneg(n, -1), portable_sums(n, -2), portable_pneg(n, -2);
            detail::int8_sums(bytes, gi, in, V, sums.data(), pneg.data());
            detail::use_portable_int8(true);
            detail::int8_sums(bytes, gi, in, V, portable_sums.data(), portable_pneg.data());
            detail::use_portable_int8(false);
            int64_t wrong_sums = 0, wrong_portable = 0, wrong_pneg = 0, wrong_totals = 0;
            for (int64_t v = 0; v < V; ++v)
                for (int p = 0; p < c.planes; ++p) {
                    const ReadReference ref = reference_read(c, m.digits, x, g, v, p);
                    const size_t read = size_t(v * c.planes + p);
                    wrong_totals += in.P[read] != ref.P || in.Q[read] != ref.Q;
                    for (int64_t j = 0; j < c.cols; ++j) {
                        const size_t at = read * size_t(c.cols) + size_t(j);
                        wrong_sums += sums[at] != ref.sums[size_t(j)];
                        wrong_portable += portable_sums[at] != ref.sums[size_t(j)];
                        if (bytes.signed_digits)
                            wrong_pneg += pneg[at] != ref.negative_rows[size_t(j)] || portable_pneg[at] != ref.negative_rows[size_t(j)];
                    }
                }
            CHECK(wrong_sums == 0);
            CHECK(wrong_portable == 0);
            CHECK(wrong_pneg == 0);
            CHECK(wrong_totals == 0);
        }
    }
}

TEST_CASE("digits beyond a signed byte or planes beyond 8 bits keep the popcount kernel") {
    CHECK(detail::int8_fits({-127, 0, 127}, 8));
    CHECK(!detail::int8_fits({-128, 0}, 8));
    CHECK(!detail::int8_fits({0, 200}, 8));
    CHECK(!detail::int8_fits({0, 1}, 9));
    const ProgrammedMatrix m = random_matrix(130, 9, 0, 3, 7);
    CrossbarLayer wide(load_device("isaac", isaac_with({"input.mode=multi_bit", "input.dac_bits=9", "input.bits=9"})), m, 1, 0, 0);
    CHECK(wide.kernel() == SumKernel::popcount);
    CHECK(!wide.supports(SumKernel::int8_dot));
    CHECK_THROWS_AS(wide.force_kernel(SumKernel::int8_dot), InternalError);
}

TEST_CASE("the plan chooses the int8 kernel where the popcount kernel would need more than 2 passes per plane") {
    const ProgrammedMatrix two_bit = random_matrix(130, 9, 0, 3, 7), seven_bit = random_matrix(130, 9, 0, 127, 7);
    const std::vector<std::string> crosssim{"cell.bits=7", "array.capacity_bits=~", "input.mode=multi_bit", "input.dac_bits=8"};
    CHECK(CrossbarLayer(load_device("isaac", isaac_with({})), two_bit, 1, 0, 0).kernel() == SumKernel::popcount);
    CHECK(CrossbarLayer(load_device("isaac", isaac_with({"input.dac_bits=2"})), two_bit, 1, 0, 0).kernel() == SumKernel::int8_dot);
    CHECK(CrossbarLayer(load_device("isaac", isaac_with(crosssim)), seven_bit, 1, 0, 0).kernel() == SumKernel::int8_dot);
    std::vector<std::string> varied = crosssim;
    varied.push_back("noise.programming_sigma=0.02");
    CHECK(CrossbarLayer(load_device("isaac", isaac_with(varied)), seven_bit, 1, 0, 0).kernel() == SumKernel::float_rows);
}

TEST_CASE("a layer through the int8 kernel equals it through popcount and the float conductance rows") {
    const std::vector<LayerCase> cases{
        {"CrossSim-like: 7-bit cells, multi-bit inputs, per-layer range, read noise", "isaac",
         isaac_with({"cell.bits=7", "array.capacity_bits=~", "input.mode=multi_bit", "input.dac_bits=8", "array.adc.bits=8", "array.adc.range=calibrated_layer"}),
         0, 127, 0, 255, false, false, false, true},
        {"2-bit cells, 1-bit DAC, read and ADC noise", "isaac", isaac_with({}), 0, 3, 0, 255, false, false, false, true},
        {"2-bit DAC, ragged reads of 50 rows", "isaac", isaac_with({"input.dac_bits=2", "array.max_active_rows=50"}), 0, 3, 0, 255,
         false, false, false, true},
        {"3-bit DAC, full-scale ADC", "isaac", isaac_with({"input.dac_bits=3", "input.bits=9", "array.adc.range=full_scale"}), 0, 3, 0, 511,
         false, false, false, true},
        {"bipolar multi-bit inputs", "isaac", isaac_with({"input.mode=multi_bit", "input.dac_bits=8", "array.adc.range=calibrated_layer"}),
         0, 3, -127, 127, false, true, false, true},
        {"native signed cells within a byte, multi-bit inputs", "wtm2101",
         {"array.adc.range=calibrated_column", "cell.on_off_ratio=.inf", "noise.programming_sigma=0", "noise.read_sigma=0.01"}, -127, 127,
         0, 255, false, false, false, true},
    };
    for (const LayerCase& c : cases) {
        INFO(std::string(c.what));
        const DeviceSpec d = load_device(c.device, c.sets);
        ProgrammedMatrix m = random_matrix(300, 38, c.digit_lo, c.digit_hi, 41);  // arrays of 128, 128 and 44 rows; 38 columns
        m.signed_inputs = c.signed_inputs;
        m.bipolar_inputs = c.bipolar_inputs;
        m.cols_per_array = 16;
        const int64_t V = 21;
        const auto x = random_inputs(V, m.rows, c.input_lo, c.input_hi, 42);
        CrossbarLayer layer(d, m, 5, 1, 2);
        REQUIRE(layer.supports(SumKernel::int8_dot));
        layer.force_bitplanes(true);
        if (adc_range_calibrated(d.array.adc.range)) {
            std::vector<double> maxima;
            layer.observe_nominal(x.data(), V, maxima);
            layer.merge_calibration(maxima);
            layer.finish_calibration();
        }
        AdcStats int8_stats, pop_stats, rows_stats;
        const auto int8 = run_with(layer, SumKernel::int8_dot, x, V, int8_stats);
        const auto pop = run_with(layer, SumKernel::popcount, x, V, pop_stats);
        const auto rows = run_with(layer, SumKernel::float_rows, x, V, rows_stats);
        CHECK(int8 == pop);
        CHECK(int8 == rows);
        CHECK(int8_stats.conversions == pop_stats.conversions);
        CHECK(int8_stats.clipped == pop_stats.clipped);
        CHECK(int8_stats.clipped == rows_stats.clipped);
        detail::use_portable_int8(true);
        AdcStats portable_stats;
        const auto portable = run_with(layer, SumKernel::int8_dot, x, V, portable_stats);
        detail::use_portable_int8(false);
        CHECK(portable == int8);
    }
}
