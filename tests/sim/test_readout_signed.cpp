// Signed readouts (docs/simulator.md, "Readout circuits"): the analog differential readout
// (W+ - W- on the bit lines, one bipolar conversion per pair) and bipolar inputs (+-V on one row
// set, sign-magnitude planes). Each reproduces the integer product on ideal devices with a wide
// ADC, and its nominal calibration equals what the conductances observe.
#include <doctest/doctest.h>

#include "sim_test_util.h"

#include <cim/cimsim/crossbar.h>
#include <cim/device/device_spec.h>
#include <cim/error.h>

#include <algorithm>
#include <cmath>
#include <random>

using namespace cim;
using namespace cim::sim;
using sim_test::snr_db;

namespace {

// 8-bit codes (sigma 20, as trained weights) as differential pairs in 2-bit cells: 4 slices per
// side, columns [W+ d0..d3, W- d0..d3] per output with weights +4^s and -4^s. `negated_rows`: the
// rows K..2K-1 hold -w (the second row set of pos_neg_split inputs). `analog`: pair W+ s with W- s.
struct DiffMatrix {
    int64_t K, N;
    std::vector<int32_t> w;  // K x N codes
};

DiffMatrix diff_codes(int64_t K, int64_t N, uint64_t seed) {
    DiffMatrix f{K, N, std::vector<int32_t>(size_t(K * N))};
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> code(0.0, 20.0);
    for (auto& v : f.w) v = int32_t(std::clamp(std::lround(code(rng)), -127L, 127L));
    return f;
}

ProgrammedMatrix diff_program(const DiffMatrix& f, bool negated_rows, bool analog, bool bipolar_inputs = false) {
    const int64_t S = 4, cpo = 2 * S, rows = negated_rows ? 2 * f.K : f.K, J = f.N * cpo;
    ProgrammedMatrix pm;
    pm.rows = rows;
    pm.cols = J;
    pm.outputs = f.N;
    pm.bipolar_inputs = bipolar_inputs;
    pm.digits.assign(size_t(rows * J), 0);
    if (analog) pm.col_minus.assign(size_t(J), -1);
    for (int64_t n = 0; n < f.N; ++n)
        for (int64_t c = 0; c < cpo; ++c) {
            const int64_t j = n * cpo + c, s = c % S;
            const bool minus = c >= S;
            pm.col_output.push_back(n);
            pm.col_factor.push_back((minus ? -1 : 1) * (int64_t(1) << (2 * s)));
            if (analog && !minus) pm.col_minus[size_t(j)] = j + S;
            for (int64_t r = 0; r < rows; ++r) {
                const int32_t a = r < f.K ? f.w[size_t(r * f.N + n)] : -f.w[size_t((r - f.K) * f.N + n)];
                const int32_t magnitude = minus ? std::max(-a, 0) : std::max(a, 0);
                pm.digits[size_t(r * J + j)] = int16_t((magnitude >> (2 * s)) & 3);
            }
        }
    return pm;
}

DeviceSpec diff_device(std::vector<std::string> sets) {
    std::vector<std::string> base{"weight.bits=8", "cell.bits=2", "weight.encoding=differential", "input.bits=8",
                                  "quant.weight_bits=8", "quant.activation_bits=8", "cell.on_off_ratio=inf"};
    base.insert(base.end(), sets.begin(), sets.end());
    return load_device("isaac", base);
}

// Post-ReLU-like codes (signed: a random sign too), half zero, the rest spread up to `largest`.
std::vector<int32_t> codes(int64_t V, int64_t K, bool with_sign, int32_t largest, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::exponential_distribution<double> d(1.0 / 30.0);
    std::vector<int32_t> x(size_t(V * K));
    for (auto& v : x) {
        v = (rng() & 1) ? 0 : int32_t(std::min(double(largest), std::floor(d(rng))));
        if (with_sign && (rng() & 1)) v = -v;
    }
    return x;
}

// Calibrates `layer` (nominal sums) on x when its range is calibrated, checking that the nominal
// maxima equal the observed ones on these ideal cells, then reads x.
std::vector<double> calibrate_and_run(CrossbarLayer& layer, const DeviceSpec& d, const std::vector<int32_t>& x, int64_t V) {
    if (adc_range_calibrated(d.array.adc.range)) {
        std::vector<double> nominal, observed;
        layer.observe_nominal(x.data(), V, nominal);
        layer.observe_for_calibration(x.data(), V, observed);
        if (d.array.adc.range != AdcRange::calibrated_layer) CHECK(nominal == observed);
        layer.merge_calibration(nominal);
        layer.finish_calibration();
    }
    std::vector<double> y(size_t(V * layer.outputs()));
    layer.run(x.data(), V, y.data(), 0);
    return y;
}

}  // namespace

TEST_CASE("analog differential readout equals the digital one exactly on ideal cells with a wide ADC, at half the conversions") {
    const int64_t V = 19;
    const DiffMatrix f = diff_codes(200, 6, 3);
    const auto x = codes(V, f.K, false, 255, 4);
    const auto ref = sim_test::exact_product(f.w, f.K, f.N, x, V);
    // 128-row reads of 2-bit cells, 1-bit planes: |W+ - W-| sums <= 384 fit a 10-bit bipolar ADC (511).
    for (const std::string range : {"full_scale", "calibrated_layer", "calibrated_array", "calibrated_column", "calibrated_slice",
                                    "calibrated_plane", "calibrated_slice_plane", "oracle"}) {
        CAPTURE(range);
        int64_t conversions[2] = {0, 0};
        for (bool analog : {false, true}) {
            CAPTURE(analog);
            const DeviceSpec d = diff_device({"array.adc.bits=10", "array.adc.range=" + range,
                                              std::string("weight.differential_readout=") + (analog ? "analog" : "digital")});
            CrossbarLayer layer(d, diff_program(f, false, analog), 1, 0, 0);
            layer.force_bitplanes(true);
            CHECK(calibrate_and_run(layer, d, x, V) == ref);
            const AdcStats stats = layer.adc_stats();
            CHECK(stats.clipped == 0);
            conversions[analog] = stats.conversions;
        }
        // 2 reads x 8 planes per vector, 48 columns: 24 pairs.
        CHECK(conversions[0] == V * 2 * 8 * 48);
        CHECK(conversions[1] == V * 2 * 8 * 24);
    }
}

TEST_CASE("analog differential readout: a narrow bipolar ADC loses SNR against converting each column") {
    const int64_t V = 200;
    const DiffMatrix f = diff_codes(256, 10, 21);
    const auto x = codes(V, f.K, false, 255, 22);
    const auto ref = sim_test::exact_product(f.w, f.K, f.N, x, V);
    for (const std::string range : {"calibrated_layer", "calibrated_column", "calibrated_slice_plane"})
        for (int bits : {4, 5, 6}) {
            CAPTURE(range);
            CAPTURE(bits);
            double snr[2];
            for (bool analog : {false, true}) {
                const DeviceSpec d = diff_device({"array.adc.bits=" + std::to_string(bits), "array.adc.range=" + range,
                                                  std::string("weight.differential_readout=") + (analog ? "analog" : "digital")});
                CrossbarLayer layer(d, diff_program(f, false, analog), 1, 0, 0);
                snr[analog] = snr_db(calibrate_and_run(layer, d, x, V), ref);
            }
            const double digital = snr[0], analog = snr[1];
            CAPTURE(digital);
            CAPTURE(analog);
            CHECK(analog < digital);
        }
}

TEST_CASE("analog differential readout with noisy cells: each column's noise before the subtraction, reproducible") {
    const int64_t V = 50;
    const DiffMatrix f = diff_codes(128, 4, 31);
    const auto x = codes(V, f.K, false, 255, 32);
    const auto ref = sim_test::exact_product(f.w, f.K, f.N, x, V);
    const DeviceSpec d = diff_device({"array.adc.bits=8", "array.adc.range=calibrated_column", "weight.differential_readout=analog",
                                      "noise.programming_sigma=0.05", "noise.read_sigma=0.02", "noise.ir_drop=0.01"});
    auto once = [&] {
        CrossbarLayer layer(d, diff_program(f, false, true), 7, 0, 0);
        std::vector<double> maxima;
        layer.observe_for_calibration(x.data(), V, maxima);
        layer.merge_calibration(maxima);
        layer.finish_calibration();
        std::vector<double> y(size_t(V * f.N));
        layer.run(x.data(), V, y.data(), 0);
        return y;
    };
    const auto a = once(), b = once();
    CHECK(a == b);
    const double snr = snr_db(a, ref);
    CAPTURE(snr);
    CHECK(std::isfinite(snr));
    CHECK(snr > 10);  // the noise is small: the product is still there
}

TEST_CASE("weight.differential_readout: analog needs the differential encoding") {
    CHECK_THROWS_WITH_AS(load_device("isaac", {"weight.encoding=offset", "weight.differential_readout=analog"}),
                         doctest::Contains("weight.differential_readout: analog applies to weight.encoding differential only"),
                         InputError);
    CHECK(diff_device({"weight.differential_readout=analog"}).weight.differential_readout == DifferentialReadout::analog);
}

TEST_CASE("bipolar inputs equal the positive/negative split and the offset inputs exactly on ideal cells") {
    const int64_t V = 21;
    const DiffMatrix f = diff_codes(150, 5, 41);
    const auto x = codes(V, f.K, true, 127, 42);
    const auto ref = sim_test::exact_product(f.w, f.K, f.N, x, V);
    // The same codes as the three schemes drive them: split rows (2K), offset codes x + 128, signed codes.
    std::vector<int32_t> split(size_t(V * 2 * f.K), 0), offset(x.size());
    for (int64_t v = 0; v < V; ++v)
        for (int64_t k = 0; k < f.K; ++k) {
            const int32_t q = x[size_t(v * f.K + k)];
            split[size_t(v * 2 * f.K + (q < 0 ? f.K : 0) + k)] = std::abs(q);
            offset[size_t(v * f.K + k)] = q + 128;
        }
    std::vector<int64_t> colsum(size_t(f.N), 0);
    for (int64_t k = 0; k < f.K; ++k)
        for (int64_t n = 0; n < f.N; ++n) colsum[size_t(n)] += f.w[size_t(k * f.N + n)];
    struct Mode {
        std::vector<std::string> sets;
    };
    // Bit-serial with 1- and 2-bit DACs through a calibrated bipolar ADC wide enough for every sum
    // (128 rows x 3 x 3 = 1152 < 2047), and multi-bit inputs read exactly (no ADC).
    for (const Mode& m : {Mode{{"input.dac_bits=1", "array.adc.bits=12", "array.adc.range=calibrated_column"}},
                          Mode{{"input.dac_bits=2", "array.adc.bits=12", "array.adc.range=calibrated_slice_plane"}},
                          Mode{{"input.mode=multi_bit", "input.dac_bits=8", "array.adc.range=none", "array.adc.bits=~", "array.adc.cols_per_adc=~",
                                "energy.adc_pj_per_conversion=~", "latency.adc_ns_per_conversion=~", "area.adc_um2=~"}}}) {
        CAPTURE(m.sets.front());
        auto device = [&](const char* handling) {
            std::vector<std::string> sets = m.sets;
            sets.push_back(std::string("input.signed_handling=") + handling);
            return diff_device(sets);
        };
        const DeviceSpec db = device("bipolar"), ds = device("pos_neg_split"), dof = device("offset");
        CrossbarLayer bipolar(db, diff_program(f, false, false, true), 1, 0, 0);
        CrossbarLayer pos_neg(ds, diff_program(f, true, false), 1, 0, 0);
        CrossbarLayer shifted(dof, diff_program(f, false, false), 1, 0, 0);
        CHECK(bipolar.rows() == f.K);
        CHECK(pos_neg.rows() == 2 * f.K);
        for (bool bitplanes : {false, true}) {
            CAPTURE(bitplanes);
            for (CrossbarLayer* l : {&bipolar, &pos_neg, &shifted}) l->force_bitplanes(bitplanes);
            const auto yb = calibrate_and_run(bipolar, db, x, V);
            const auto ys = calibrate_and_run(pos_neg, ds, split, V);
            auto yo = calibrate_and_run(shifted, dof, offset, V);
            for (int64_t v = 0; v < V; ++v)
                for (int64_t n = 0; n < f.N; ++n) yo[size_t(v * f.N + n)] -= 128.0 * double(colsum[size_t(n)]);
            CHECK(yb == ref);
            CHECK(ys == ref);
            CHECK(yo == ref);
        }
    }
}

TEST_CASE("bipolar inputs on signed cells with an off-state leak: the nominal calibration equals the observed sums") {
    // WTM2101's native signed cells (+-275) with a finite ON/OFF ratio: the leak term's sign follows
    // both the input's and the cell's sign.
    const int64_t K = 90, N = 4, V = 12;
    const DeviceSpec d = load_device("wtm2101", {"cell.on_off_ratio=50", "noise.programming_sigma=0", "input.signed_handling=bipolar",
                                                 "array.adc.range=calibrated_column"});
    std::mt19937_64 rng(51);
    ProgrammedMatrix pm;
    pm.rows = K;
    pm.cols = N;
    pm.outputs = N;
    pm.bipolar_inputs = true;
    for (int64_t n = 0; n < N; ++n) {
        pm.col_output.push_back(n);
        pm.col_factor.push_back(1);
    }
    for (int64_t i = 0; i < K * N; ++i) pm.digits.push_back(int16_t(int64_t(rng() % 551) - 275));
    const auto x = codes(V, K, true, (1 << (d.input.bits - 1)) - 1, 52);
    CrossbarLayer layer(d, pm, 1, 0, 0);
    std::vector<double> nominal, observed;
    layer.observe_nominal(x.data(), V, nominal);
    layer.observe_for_calibration(x.data(), V, observed);
    REQUIRE(nominal.size() == observed.size());
    for (size_t i = 0; i < nominal.size(); ++i) {
        CAPTURE(i);
        CHECK(nominal[i] == doctest::Approx(observed[i]).epsilon(1e-5));
    }
}
