// Calibrated ADC ranges from the nominal column sums (integer popcounts) against the reference:
// the float bit-plane sums of the programmed conductances, read for read. Equal on ideal cells
// (bit for bit where those float sums are exact), independent of the thread count, and within the
// expected spread of the per-instance ranges under programming variation.
#include <doctest/doctest.h>

#include "sim_test_util.h"

#include <cim/cimsim/simulator.h>
#include <cim/ir/onnx_import.h>
#include <cim/models/fashion_mnist.h>
#include <cim/quant/quantizer.h>

#include "nominal_sums.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <random>

using namespace cim;
using namespace cim::sim;

namespace {

using sim_test::as_tensor;

using sim_test::random_inputs;
using sim_test::random_matrix;

struct Case {
    const char* what;
    const char* device;
    std::vector<std::string> sets;
    int digit_lo, digit_hi, input_lo, input_hi;
    bool signed_inputs;
    bool float_exact;  // the reference's float sums are exact (integer conductances below 2^24)
};

}  // namespace

TEST_CASE("nominal column-sum maxima equal the bit-plane reference on ideal cells, for every slicing") {
    const std::vector<std::string> isaac{"weight.bits=8", "cell.bits=2", "weight.encoding=differential", "input.bits=8",
                                         "quant.weight_bits=8", "quant.activation_bits=8", "array.adc.bits=5",
                                         "array.adc.range=calibrated_column", "cell.on_off_ratio=inf"};
    auto with = [&](std::vector<std::string> extra) {
        std::vector<std::string> s = isaac;
        s.insert(s.end(), extra.begin(), extra.end());
        return s;
    };
    const std::vector<Case> cases{
        {"2-bit cells, 1-bit DAC", "isaac", with({}), 0, 3, 0, 255, false, true},
        {"1-bit cells, 1-bit DAC, ON/OFF 10", "isaac",
         with({"cell.bits=1", "weight.encoding=offset", "array.capacity_bits=16384", "cell.on_off_ratio=10"}), 0, 1, 0, 255, false, false},
        {"2-bit DAC, ragged reads of 50 rows", "isaac", with({"input.dac_bits=2", "array.max_active_rows=50"}), 0, 3, 0, 255, false, true},
        {"multi-bit inputs", "isaac", with({"input.mode=multi_bit", "input.dac_bits=8"}), 0, 3, 0, 255, false, true},
        {"two's-complement inputs", "isaac", with({"input.signed_handling=twos_complement"}), 0, 3, -127, 127, true, true},
        {"drift", "isaac", with({"noise.drift_nu=0.05", "noise.drift_time_s=1000"}), 0, 3, 0, 255, false, false},
        {"native signed cells, multi-bit inputs", "wtm2101",
         {"array.adc.range=calibrated_column", "cell.on_off_ratio=.inf", "noise.programming_sigma=0"}, -275, 275, 0, 255, false, true},
        {"native signed cells with an OFF leak", "wtm2101",
         {"array.adc.range=calibrated_array", "cell.on_off_ratio=20", "noise.programming_sigma=0"}, -275, 275, 0, 255, false, false},
    };
    for (const Case& c : cases) {
        INFO(std::string(c.what));
        const DeviceSpec dev = load_device(c.device, c.sets);
        // 300 rows: arrays of 128, 128 and 44 rows (ragged words); 37 columns (not a multiple of 8).
        ProgrammedMatrix m = random_matrix(300, 37, c.digit_lo, c.digit_hi, 11);
        m.signed_inputs = c.signed_inputs;
        const int64_t V = 45;
        const auto x = random_inputs(V, m.rows, c.input_lo, c.input_hi, 12);
        CrossbarLayer layer(dev, m, 1, 0, 0);
        std::vector<double> reference, nominal, portable;
        layer.observe_for_calibration(x.data(), V, reference);
        layer.observe_nominal(x.data(), V, nominal);
        detail::use_portable_kernels(true);  // the kernels for CPUs without AVX-512: the same numbers
        detail::use_portable_int8(true);
        layer.observe_nominal(x.data(), V, portable);
        detail::use_portable_kernels(false);
        detail::use_portable_int8(false);
        CHECK(portable == nominal);
        REQUIRE(reference.size() == nominal.size());
        CHECK(*std::max_element(nominal.begin(), nominal.end()) > 0);
        if (c.float_exact) {
            CHECK(nominal == reference);
        } else {
            // The reference adds up to max_active_rows float conductances per read: rounding of at most
            // rows x 2^-24 relative; the nominal sums are exact.
            double worst = 0;
            for (size_t i = 0; i < nominal.size(); ++i)
                worst = std::max(worst, std::fabs(nominal[i] - reference[i]) / std::max(1.0, reference[i]));
            CHECK(worst < 128 * std::ldexp(1.0, -24));
        }
        // The ranges then follow the same aggregation (here per column or per array).
        CrossbarLayer a(dev, m, 1, 0, 0), b(dev, m, 1, 0, 0);
        a.merge_calibration(reference);
        a.finish_calibration();
        b.merge_calibration(nominal);
        b.finish_calibration();
        if (c.float_exact) CHECK(a.adc_ranges() == b.adc_ranges());
    }
}

namespace {

struct Zoo {
    quant::QuantResult q;
    Tensor calib;
    DeviceSpec device;
};

// The zoo VGG at NeuroSim's default slicing (8-bit weights in 1-bit cells, offset encoding with a
// reference column per slice, 8 bit-serial input planes, 5-bit ADC, 128 x 128 arrays).
Zoo neurosim_vgg(std::vector<std::string> extra) {
    std::vector<std::string> sets{"weight.bits=8", "cell.bits=1", "weight.encoding=offset", "input.bits=8", "input.dac_bits=1",
                                  "quant.weight_bits=8", "quant.activation_bits=8", "array.adc.bits=5",
                                  "array.capacity_bits=16384", "array.adc.range=calibrated_layer"};
    sets.insert(sets.end(), extra.begin(), extra.end());
    Zoo z{{}, as_tensor(models::calibration_split(models::default_fashion_mnist_dir(), 24, 1)), load_device("isaac", sets)};
    Graph g = import_onnx(std::string(CIM_SOURCE_DIR) + "/models/zoo/vgg/model.onnx");
    z.q = quant::quantize(g, z.device, {z.calib}, quant::QuantOptions::from_device(z.device));
    return z;
}

CrossbarBackend::ColumnValues calibrated_ranges(const Zoo& z, AdcCalibration mode, uint64_t instance, int threads) {
    const int before = omp_get_max_threads();
    omp_set_num_threads(threads);
    CrossbarBackend backend(z.q.model, z.device, 1, instance);
    backend.begin_calibration(mode);
    quant::RunOptions ro;
    ro.backend = &backend;
    quant::run_program(z.q.model, {z.calib}, ro);
    backend.finish_calibration();
    omp_set_num_threads(before);
    return backend.adc_ranges();
}

// Largest |a / b - 1| over every range.
double worst_ratio(const CrossbarBackend::ColumnValues& a, const CrossbarBackend::ColumnValues& b) {
    double worst = 0;
    for (size_t l = 0; l < a.size(); ++l)
        for (size_t g = 0; g < a[l].size(); ++g)
            for (size_t i = 0; i < a[l][g].size(); ++i) worst = std::max(worst, std::fabs(a[l][g][i] / b[l][g][i] - 1));
    return worst;
}

}  // namespace

TEST_CASE("nominal calibration on the zoo VGG: the reference's ranges, for 1 and 2 threads") {
    SUBCASE("ideal cells: bit for bit") {
        const Zoo z = neurosim_vgg({"cell.on_off_ratio=.inf"});
        const auto nominal = calibrated_ranges(z, AdcCalibration::nominal, 0, 1);
        CHECK(nominal == calibrated_ranges(z, AdcCalibration::per_instance, 0, 2));
        CHECK(nominal == calibrated_ranges(z, AdcCalibration::nominal, 0, 2));
    }
    SUBCASE("ON/OFF ratio 10: the reference's float rounding apart") {
        const Zoo z = neurosim_vgg({"cell.on_off_ratio=10", "array.adc.range=calibrated_column"});
        const auto nominal = calibrated_ranges(z, AdcCalibration::nominal, 0, 2);
        CHECK(nominal == calibrated_ranges(z, AdcCalibration::nominal, 0, 1));
        CHECK(worst_ratio(nominal, calibrated_ranges(z, AdcCalibration::per_instance, 0, 1)) < 128 * std::ldexp(1.0, -24));
    }
    SUBCASE("programming variation: per-instance ranges scatter around the nominal ones") {
        // Relative sigma 0.05 per cell: a column sum of n conducting cells moves by about
        // 0.05 / sqrt(n) of itself; the largest of many reads by a few times that. Per layer, the
        // ranges stay within 5 % of the nominal ones, and each instance's differ from the other's.
        const Zoo z = neurosim_vgg({"cell.on_off_ratio=10", "noise.programming_sigma=0.05"});
        const auto nominal = calibrated_ranges(z, AdcCalibration::nominal, 0, 2);
        CHECK(nominal == calibrated_ranges(z, AdcCalibration::nominal, 1, 1));  // the same for every instance
        const auto i0 = calibrated_ranges(z, AdcCalibration::per_instance, 0, 2);
        const auto i1 = calibrated_ranges(z, AdcCalibration::per_instance, 1, 2);
        CHECK(i0 != i1);
        CHECK(worst_ratio(i0, nominal) < 0.05);
        CHECK(worst_ratio(i1, nominal) < 0.05);
        CHECK(worst_ratio(i0, nominal) > 0);
    }
}
