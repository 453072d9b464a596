// The cost model against published chips (docs/validation.md prints the same
// comparisons). Each figure is within 10 % of the published one, or the test pins
// the documented difference.
#include "cost_test_util.h"

using namespace cim;
using namespace cost_test;

TEST_CASE("ISAAC (Shafiee ISCA 2016): tile 330 mW, 0.372 mm^2; chip 65.8 W, 85.4 mm^2") {
    const PeakFigures p = peak_figures(load_device("isaac"));
    MESSAGE("ISAAC tile " << p.tile_power_w * 1e3 << " mW, " << p.tile_area_mm2 << " mm^2; chip " << p.power_w << " W, "
                          << p.area_mm2 << " mm^2; " << p.tops_per_mm2 * 1e3 << " GOPS/mm^2, " << p.tops_per_w * 1e3
                          << " GOPS/W, " << p.tops << " TOPS");
    CHECK(rel(p.tile_power_w, 0.330) == doctest::Approx(0).epsilon(0.10));
    CHECK(rel(p.tile_area_mm2, 0.372) == doctest::Approx(0).epsilon(0.10));
    CHECK(rel(p.power_w, 65.8) == doctest::Approx(0).epsilon(0.10));
    CHECK(rel(p.area_mm2, 85.4) == doctest::Approx(0).epsilon(0.10));
    // Tighter: the component figures of Table I add up (0.2 %).
    CHECK(p.tile_power_w == doctest::Approx(0.330).epsilon(0.002));
    CHECK(p.tile_area_mm2 == doctest::Approx(0.372).epsilon(0.002));
    CHECK(p.power_w == doctest::Approx(65.8).epsilon(0.002));
    CHECK(p.area_mm2 == doctest::Approx(85.4).epsilon(0.002));
    // Computational density: 479 GOP/s/mm^2 for ISAAC-CE (from memory of the paper, unverified).
    CHECK(p.tops_per_mm2 * 1000 == doctest::Approx(479.0).epsilon(0.02));
    CHECK(p.vector_time_s == doctest::Approx(1.6e-6));
}

TEST_CASE("TSMC 7 nm SRAM-CIM (Sinangil JSSC 2021): 372.4 GOPS, 351 TOPS/W, 3.36-7.80 pJ per 64x64 MVM") {
    const DeviceSpec d = load_device("tsmc7_sram_analog");
    const PeakFigures p = peak_figures(d);
    MESSAGE("TSMC7 " << p.tops * 1e3 << " GOPS, " << p.tops_per_w << " TOPS/W, " << p.area_mm2 * 1e6 << " um^2, "
                     << p.tops_per_mm2 << " TOPS/mm^2");
    CHECK(p.tops * 1000 == doctest::Approx(372.4).epsilon(0.001));
    CHECK(p.tops_per_w == doctest::Approx(351).epsilon(0.001));
    CHECK(p.area_mm2 * 1e6 == doctest::Approx(2556).epsilon(0.001));
    // Energy per MVM against the average output value (cimloop's replication of Fig. 13(a)):
    // inputs and weights average 0.25 x sqrt(output) of their maxima.
    const std::vector<std::pair<int, double>> fig13 = {{0, 3.35660091},  {1, 4.562974203}, {2, 5.033383915},
                                                       {4, 5.443095599}, {6, 5.837632777}, {8, 6.285280728},
                                                       {10, 6.657056146}, {12, 7.04400607}, {15, 7.795144158}};
    for (auto [out, pj] : fig13) {
        const auto out_value = out;  // clang 14 cannot capture a structured binding
        CAPTURE(out_value);
        const double dens = 0.25 * std::sqrt(double(out));
        const PeakFigures q = peak_figures(d, {dens, dens});
        const double ours = q.macro_energy_per_vector_j * 1e12;
        MESSAGE("TSMC7 output " << out << ": " << ours << " pJ vs " << pj << " pJ (" << 100 * rel(ours, pj) << " %)");
        CHECK(std::abs(rel(ours, pj)) < 0.10);
    }
    // Table I at 0.8 V: 610.5 (output 0) and 262.3 (output 15) TOPS/W.
    MESSAGE("TSMC7 TOPS/W at output 0: " << peak_figures(d, {0.0, 0.0}).tops_per_w << ", output 15: "
                                          << peak_figures(d, {0.25 * std::sqrt(15.0), 0.25 * std::sqrt(15.0)}).tops_per_w);
    CHECK(std::abs(rel(peak_figures(d, {0.0, 0.0}).tops_per_w, 610.5)) < 0.10);
    const double d15 = 0.25 * std::sqrt(15.0);
    CHECK(std::abs(rel(peak_figures(d, {d15, d15}).tops_per_w, 262.3)) < 0.10);
}

TEST_CASE("Intel 22 nm C-2C (Wang VLSI 2022): TOPS/W across supply voltages, TOPS, TOPS/mm^2") {
    const DeviceSpec d = load_device("intel22_c2c");
    const PeakFigures p = peak_figures(d);
    MESSAGE("C-2C " << p.tops_per_w << " TOPS/W, " << p.tops << " TOPS, " << p.tops_per_mm2 << " TOPS/mm^2");
    CHECK(p.tops_per_w == doctest::Approx(32.2).epsilon(0.001));          // Table III, 0.7 V
    CHECK(std::abs(rel(p.tops, 0.3)) < 0.10);                              // 0.297
    CHECK(std::abs(rel(p.tops_per_mm2, 2.4)) < 0.10);                      // 2.394
    CHECK(p.area_mm2 == doctest::Approx(0.124));
    // Fig. 23 sweep: the 0.7 V config with every energy scaled by (V / 0.7 V)^2 (CV^2).
    const std::vector<std::pair<double, double>> sweep = {{0.7, 31.998}, {0.8, 22.590}, {0.9, 18.439}, {1.0, 16.376},
                                                          {1.1, 15.467}};
    for (auto [v, published] : sweep) {
        const auto v_value = v;  // clang 14 cannot capture a structured binding
        CAPTURE(v_value);
        const double k = (v / 0.7) * (v / 0.7);
        std::vector<std::string> sets;
        for (const auto& c : list_costs(d))
            if (c.cost && c.path.rfind("energy.", 0) == 0 && c.cost->value > 0)
                sets.push_back(c.path + "=" + std::to_string(c.cost->value * k));
        const double ours = peak_figures(load_device("intel22_c2c", sets)).tops_per_w;
        MESSAGE("C-2C " << v << " V: " << ours << " TOPS/W vs " << published << " (" << 100 * rel(ours, published) << " %)");
        if (v <= 1.0) {
            CHECK(std::abs(rel(ours, published)) < 0.10);
        } else {
            // Documented difference (docs/validation.md): at 1.1 V the measured energy grows less
            // than CV^2 from 0.7 V; CV^2 gives 13.0 TOPS/W, 16 % below 15.5.
            CHECK(rel(ours, published) == doctest::Approx(-0.157).epsilon(0.01));
        }
    }
}

TEST_CASE("TSMC 22 nm digital SRAM-CIM (Chih ISSCC 2021): 89 TOPS/W, 16.3 TOPS/mm^2") {
    const PeakFigures p = peak_figures(load_device("tsmc22_sram_digital"));
    MESSAGE("TSMC22 digital " << p.tops_per_w << " TOPS/W, " << p.tops_per_mm2 << " TOPS/mm^2");
    CHECK(p.tops_per_w == doctest::Approx(89).epsilon(0.001));
    CHECK(p.tops_per_mm2 == doctest::Approx(16.3).epsilon(0.001));
}

TEST_CASE("Princeton 22 nm MRAM (Deaville JSSC 2025): 41.6 1b-TOPS/W, 5.5 1b-TOPS/mm^2") {
    const PeakFigures p = peak_figures(load_device("mram_princeton22"));
    MESSAGE("MRAM " << p.tops_1b_per_w << " 1b-TOPS/W, " << p.tops_1b_per_mm2 << " 1b-TOPS/mm^2");
    CHECK(p.tops_1b_per_w == doctest::Approx(41.6).epsilon(0.001));
    CHECK(p.tops_1b_per_mm2 == doctest::Approx(5.5).epsilon(0.001));
}

TEST_CASE("WTM2101: at most 50 GOPS, mW-level power at its published application loads") {
    const DeviceSpec d = load_device("wtm2101");
    const PeakFigures p = peak_figures(d);
    MESSAGE("WTM2101 peak " << p.tops * 1e3 << " GOPS, " << p.power_w * 1e3 << " mW, " << p.tops_per_w << " TOPS/W");
    CHECK(p.tops * 1000 <= 50.0 * 1.001);
    CHECK(std::abs(rel(p.tops * 1000, 50.0)) < 0.10);
    // Peak power (every cell every cycle) is not published; tens of mW.
    CHECK(p.power_w > 0.010);
    CHECK(p.power_w < 0.200);
    // Networks of the sizes of Guo 2023 Table 3's loads, run at its rates: wake word (a keyword-spotting
    // MLP on 40 x 10 MFCC features) at 400 Mops/s, 0.4 mA; voiceprint (a wider MLP) at 1500 Mops/s, 2 mA.
    TempDir tmp;
    struct Load { std::string name; std::vector<int64_t> widths; double mops, ma; };
    const Load loads[] = {{"wake word", {400, 128, 128, 12}, 400, 0.4}, {"voiceprint", {512, 512, 512, 256}, 1500, 2.0}};
    for (const Load& l : loads) {
        CAPTURE(l.name);
        const Run r = run(mlp_file(tmp, l.widths, true, "load.onnx", true), d);
        REQUIRE(r.mapping.fits_device);
        REQUIRE(r.report.energy_j);
        const double rate = l.mops * 1e6 / r.report.ops;  // inferences per second
        CHECK(*r.report.latency_s < 1 / rate);             // it keeps up
        const double dynamic = (*r.report.energy_j - comp(r.report, CostComponent::leakage).energy_j) * rate;
        const double power = dynamic + r.report.leakage_w;
        const double published = l.ma * 1e-3 * 1.8;  // at the assumed 1.8 V supply
        MESSAGE("WTM2101 " << l.name << " at " << l.mops << " Mops/s: " << power * 1e3 << " mW vs " << published * 1e3
                           << " mW");
        CHECK(power > 0.1e-3);  // mW level
        CHECK(power < 10e-3);
    }
}

TEST_CASE("TPU v1 (Jouppi ISCA 2017): 92 TOPS peak, ~40 W busy, 2.3 TOPS/W") {
    const PeakFigures p = peak_figures(load_device("tpu_v1_like"));
    MESSAGE("TPU v1 " << p.tops << " TOPS, " << p.power_w << " W, " << p.tops_per_w << " TOPS/W, " << p.tops_per_mm2 << " TOPS/mm^2");
    CHECK(rel(p.tops, 92) == doctest::Approx(0).epsilon(0.01));
    CHECK(rel(p.power_w, 40) == doctest::Approx(0).epsilon(0.10));
    CHECK(rel(p.tops_per_w, 2.3) == doctest::Approx(0).epsilon(0.10));
    // Pinned: 28 W static (the die's idle power) + the estimators' MACs and buffer reads.
    CHECK(p.power_w == doctest::Approx(37.4).epsilon(0.005));
    CHECK(p.power_by_component_w[std::size_t(CostComponent::leakage)] == doctest::Approx(28.0));
}
