// The read kernels against straightforward references on random matrices: ragged read groups,
// column counts that are not a multiple of the kernels' steps, every digit and input encoding.
//   - the popcount kernel (AVX-512 and portable) against sum_k plane(x_k) d_kj in int64;
//   - a whole crossbar layer through the popcount kernel against the same layer through the float
//     conductance rows: identical where the cells are ideal (noise draws included), within the
//     rows path's float rounding where an OFF leak or drift scales the sums; through the int8
//     kernel (where the digits fit a byte) identical to popcount in every case.
#include <doctest/doctest.h>

#include "sim_test_util.h"

#include <cim/cimsim/crossbar.h>
#include <cim/device/device_spec.h>

#include "kernel_test_util.h"
#include "packed_digits.h"

#include <algorithm>
#include <cmath>

using namespace cim;
using namespace cim::sim;
using sim_test::random_inputs;
using sim_test::random_matrix;
using namespace kernel_test;

TEST_CASE("the popcount kernel equals the integer column sums on random matrices") {
    const std::vector<KernelCase> cases{
        {"1-bit cells, 1-bit planes, 128-row arrays", 300, 37, 128, 128, 0, 1, 8, 1, 0, 255, false},
        {"2-bit cells, ragged reads of 50 rows, 33 columns", 300, 33, 128, 50, 0, 3, 8, 1, 0, 255, false},
        {"2-bit DAC, 1 column", 200, 1, 128, 128, 0, 3, 4, 2, 0, 255, false},
        {"multi-bit inputs on 8-bit cells, 1152-row arrays", 1200, 67, 1152, 1152, 0, 255, 1, 8, 0, 255, false},
        {"two's-complement inputs", 130, 40, 128, 128, 0, 3, 8, 1, -128, 127, false},
        {"sign-magnitude inputs", 130, 41, 128, 64, 0, 3, 8, 1, -127, 127, true},
        {"signed digits, multi-bit sign-magnitude inputs", 190, 29, 128, 128, -275, 275, 1, 8, -127, 127, true},
        {"signed digits, 1-bit planes", 100, 9, 64, 64, -7, 7, 8, 1, 0, 255, false},
    };
    for (const KernelCase& c : cases) {
        INFO(std::string(c.what));
        const ProgrammedMatrix m = random_matrix(c.rows, c.cols, c.digit_lo, c.digit_hi, 31);
        const auto groups = read_groups(c.rows, c.array_rows, c.active_rows);
        const detail::PackedDigits packed(m.digits, c.cols, groups);
        const int64_t V = 11;  // not a multiple of any block
        const auto x = random_inputs(V, c.rows, c.input_lo, c.input_hi, 32);
        detail::InputBits in;
        in.nbits = c.planes * c.dac_bits;
        in.sign_magnitude = c.sign_magnitude;
        for (size_t gi = 0; gi < groups.size(); ++gi) {
            const detail::ReadGroup g = groups[gi];
            in.load(x.data(), V, c.rows, g, size_t(packed.words[gi]));
            const size_t n = size_t(V * c.planes * c.cols);
            std::vector<int32_t> sums(n, -1), pneg(n, -1), portable_sums(n, -2), portable_pneg(n, -2);
            detail::popcount_sums(packed, gi, in, V, c.planes, c.dac_bits, sums.data(), pneg.data());
            detail::use_portable_kernels(true);
            detail::popcount_sums(packed, gi, in, V, c.planes, c.dac_bits, portable_sums.data(), portable_pneg.data());
            detail::use_portable_kernels(false);
            CHECK(portable_sums == sums);
            int64_t wrong_sums = 0, wrong_pneg = 0, wrong_totals = 0;
            for (int64_t v = 0; v < V; ++v) {
                std::vector<int64_t> P(size_t(c.planes)), Q(size_t(c.planes));
                detail::plane_totals(in, v, c.planes, c.dac_bits, P.data(), Q.data());
                for (int p = 0; p < c.planes; ++p) {
                    const ReadReference ref = reference_read(c, m.digits, x, g, v, p);
                    wrong_totals += P[size_t(p)] != ref.P || Q[size_t(p)] != ref.Q;
                    for (int64_t j = 0; j < c.cols; ++j) {
                        const size_t at = size_t((v * c.planes + p) * c.cols + j);
                        wrong_sums += sums[at] != ref.sums[size_t(j)];
                        if (packed.signed_digits)
                            wrong_pneg += pneg[at] != ref.negative_rows[size_t(j)] || portable_pneg[at] != ref.negative_rows[size_t(j)];
                    }
                }
            }
            CHECK(wrong_sums == 0);
            CHECK(wrong_pneg == 0);
            CHECK(wrong_totals == 0);
        }
    }
}

TEST_CASE("a layer through the popcount kernel equals it through the float conductance rows") {
    const std::vector<LayerCase> cases{
        {"2-bit cells, 1-bit DAC, read and ADC noise", "isaac", isaac_with({}), 0, 3, 0, 255, false, false, false, true},
        {"IR drop", "isaac", isaac_with({"noise.ir_drop=0.05"}), 0, 3, 0, 255, false, false, false, true},
        {"inputs below 16 (planes 4-7 all zero, skipped), read noise without ADC noise", "isaac", isaac_with({"noise.adc_sigma_lsb=0"}), 0,
         3, 0, 15, false, false, false, true},
        {"2-bit DAC, ragged reads of 50 rows", "isaac", isaac_with({"input.dac_bits=2", "array.max_active_rows=50"}), 0, 3, 0, 255,
         false, false, false, true},
        {"multi-bit inputs, oracle ranges", "isaac", isaac_with({"input.mode=multi_bit", "input.dac_bits=8", "array.adc.range=oracle"}), 0,
         3, 0, 255, false, false, false, true},
        {"two's-complement inputs, per-plane ranges", "isaac",
         isaac_with({"input.signed_handling=twos_complement", "array.adc.range=calibrated_plane"}), 0, 3, -127, 127, true, false, false,
         true},
        {"bipolar inputs, per-layer range", "isaac", isaac_with({"array.adc.range=calibrated_layer"}), 0, 3, -127, 127, false, true, false,
         true},
        {"analog differential pairs, per-array ranges", "isaac", isaac_with({"array.adc.range=calibrated_array"}), 0, 3, 0, 255, false,
         false, true, true},
        {"native signed cells, no ADC (double sums)", "wtm2101",
         {"array.adc.range=none", "array.adc.bits=~", "array.adc.cols_per_adc=~", "energy.adc_pj_per_conversion=~",
          "latency.adc_ns_per_conversion=~", "area.adc_um2=~", "cell.on_off_ratio=.inf", "noise.programming_sigma=0"},
         -275, 275, 0, 255, false, false, false, true},
        {"native signed cells, multi-bit inputs", "wtm2101",
         {"array.adc.range=calibrated_column", "cell.on_off_ratio=.inf", "noise.programming_sigma=0", "noise.read_sigma=0.01"}, -275, 275,
         0, 255, false, false, false, true},
        {"1-bit cells, ON/OFF 10", "isaac", isaac_with({"cell.bits=1", "weight.encoding=offset", "array.capacity_bits=16384",
                                                        "cell.on_off_ratio=10"}),
         0, 1, 0, 255, false, false, false, false},
        {"native signed cells with an OFF leak, no ADC", "wtm2101",
         {"array.adc.range=none", "array.adc.bits=~", "array.adc.cols_per_adc=~", "energy.adc_pj_per_conversion=~",
          "latency.adc_ns_per_conversion=~", "area.adc_um2=~", "cell.on_off_ratio=20", "noise.programming_sigma=0"},
         -275, 275, 0, 255, false, false, false, false},
        {"drift", "isaac", isaac_with({"noise.drift_nu=0.05", "noise.drift_time_s=1000"}), 0, 3, 0, 255, false, false, false, false},
    };
    for (const LayerCase& c : cases) {
        INFO(std::string(c.what));
        const DeviceSpec d = load_device(c.device, c.sets);
        ProgrammedMatrix m = case_matrix(c);
        if (!c.analog_pairs) m.cols_per_array = 16;  // ragged column tiles for the per-array ranges
        const int64_t V = 21;
        const auto x = random_inputs(V, m.rows, c.input_lo, c.input_hi, 42);
        CrossbarLayer layer(d, m, 5, 1, 2);
        REQUIRE(layer.kernel() != SumKernel::float_rows);
        layer.force_bitplanes(true);
        if (d.array.adc.range != AdcRange::none && d.array.adc.range != AdcRange::full_scale && d.array.adc.range != AdcRange::oracle) {
            std::vector<double> maxima;
            layer.observe_nominal(x.data(), V, maxima);
            layer.merge_calibration(maxima);
            layer.finish_calibration();
        }
        AdcStats pop_stats, rows_stats;
        const auto pop = run_with(layer, SumKernel::popcount, x, V, pop_stats);
        const auto rows = run_with(layer, SumKernel::float_rows, x, V, rows_stats);
        CHECK(pop_stats.conversions == rows_stats.conversions);
        if (layer.supports(SumKernel::int8_dot)) {  // the same integers as popcount, whatever the cells' leak or drift
            AdcStats int8_stats;
            const auto int8 = run_with(layer, SumKernel::int8_dot, x, V, int8_stats);
            CHECK(int8 == pop);
            CHECK(int8_stats.conversions == pop_stats.conversions);
            CHECK(int8_stats.clipped == pop_stats.clipped);
        }
        if (c.exact) {
            CHECK(pop == rows);
            CHECK(pop_stats.clipped == rows_stats.clipped);
            continue;
        }
        // The rows path adds up to 128 float conductances per read: a relative rounding of at most
        // 128 x 2^-24 of each read's sum, which can move a conversion by one code near a code
        // boundary. The popcount sums round once.
        double diff = 0, norm = 0;
        int64_t differing = 0;
        for (size_t i = 0; i < pop.size(); ++i) {
            diff += (pop[i] - rows[i]) * (pop[i] - rows[i]);
            norm += rows[i] * rows[i];
            differing += pop[i] != rows[i];
        }
        const double relative = std::sqrt(diff / norm);
        CAPTURE(relative);
        CAPTURE(differing);
        if (d.array.adc.range == AdcRange::none) CHECK(relative < 128 * std::ldexp(1.0, -24));
        else CHECK(relative < 1e-3);
    }
}

TEST_CASE("programming variation and stuck cells keep conductance rows: fixed point on 1-bit planes, else float") {
    const ProgrammedMatrix m = random_matrix(130, 9, 0, 3, 7);
    for (const std::string set : {"noise.programming_sigma=0.02", "noise.stuck_on_rate=0.01"}) {
        CAPTURE(set);
        CrossbarLayer layer(load_device("isaac", isaac_with({set})), m, 1, 0, 0);
        CHECK(layer.kernel() == SumKernel::fixed_rows);
        CHECK(layer.supports(SumKernel::float_rows));
        CHECK(CrossbarLayer(load_device("isaac", isaac_with({set, "input.dac_bits=2"})), m, 1, 0, 0).kernel() == SumKernel::float_rows);
        CHECK_THROWS_AS(layer.force_kernel(SumKernel::popcount), InternalError);
        CHECK(!layer.supports(SumKernel::int8_dot));
        CHECK_THROWS_AS(layer.force_kernel(SumKernel::int8_dot), InternalError);
    }
}
