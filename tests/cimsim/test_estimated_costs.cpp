// Costs priced by estimators move physically when a sweep moves the design:
// ADC bits, array rows, node and DAC bits on ISAAC, whose ADC, drivers, read,
// cells and shift-add are estimators anchored at the paper's operating point.
#include "cost_test_util.h"

#include <cim/device/device_spec.h>

#include <algorithm>
#include <cmath>

using namespace cim;
using namespace cost_test;
using CC = CostComponent;

namespace {

struct Point {
    double energy_j, latency_s, area_mm2;
    double adc_pj, adc_j, row_pj, row_j, read_pj, conversions;
    double cells_mm2, adcs_mm2;
};

Point point(const std::string& model, const std::vector<std::string>& sets) {
    const DeviceSpec d = load_device("isaac", sets);
    const Run r = run(model, d);
    REQUIRE(r.report.energy_j.has_value());
    REQUIRE(r.report.latency_s.has_value());
    const auto& info = r.report.info;
    return {*r.report.energy_j,
            *r.report.latency_s,
            r.report.area_mm2,
            *info[std::size_t(CC::adc)].energy_pj_per_event,
            comp(r.report, CC::adc).energy_j,
            *info[std::size_t(CC::row_drive)].energy_pj_per_event,
            comp(r.report, CC::row_drive).energy_j,
            *info[std::size_t(CC::array_read)].energy_pj_per_event,
            comp(r.report, CC::adc).events,
            r.report.area[std::size_t(AreaComponent::cells)].area_mm2,
            r.report.area[std::size_t(AreaComponent::adcs)].area_mm2};
}

// The adc_sar estimator's sample-rate factor: 1 below the survey frontier's corner f_c(bits),
// (f_s / f_c)^0.661 above it (docs/cost-estimators.md).
double rate_factor(double bits, double gsps) {
    const double ln_corner_hz = (213.78 - 128.31 - 3.2205 * bits) / 2.872;
    return std::exp(std::max(0.0, std::log(gsps * 1e9) - ln_corner_hz) * 0.2872 * std::log(10.0));
}

}  // namespace

TEST_CASE("sweeping array.adc.bits: the SAR ADC's energy doubles per bit below the rate corner, 4x above; area and time grow") {
    TempDir tmp;
    const std::string model = mlp_file(tmp, {256, 128, 10});
    const Point p4 = point(model, {"array.adc.bits=4"}), p8 = point(model, {}), p12 = point(model, {"array.adc.bits=12"});
    CHECK(p8.adc_pj == 1.5625);  // the published figure at the published point (8 bits, 1.28 GS/s)
    // 4 bits: 128 conversions of 0.39 ns fit the 100 ns read, 1.28 GS/s, far below the 4-bit corner.
    CHECK(p4.adc_pj == doctest::Approx(1.5625 / 16 / rate_factor(8, 1.28)).epsilon(1e-9));
    // 12 bits: 128 conversions of 1.17 ns stretch the cycle to 150 ns, 0.853 GS/s, 70x the 12-bit corner.
    CHECK(p12.adc_pj == doctest::Approx(1.5625 * 16 * rate_factor(12, 128 / 150.0) / rate_factor(8, 1.28)).epsilon(1e-9));
    CHECK(p12.adc_pj > 1.5625 * 16 * 10);
    CHECK(p4.conversions == p8.conversions);
    CHECK(p4.energy_j < p8.energy_j);
    CHECK(p8.energy_j < p12.energy_j);
    CHECK(p4.adcs_mm2 < p8.adcs_mm2);
    CHECK(p8.adcs_mm2 < p12.adcs_mm2);
    CHECK(p4.area_mm2 < p8.area_mm2);
    CHECK(p4.latency_s <= p8.latency_s);
    CHECK(p8.latency_s < p12.latency_s);  // 128 conversions of 12 steps outlast the 100 ns read
}

TEST_CASE("sweeping array.rows: cell area and read energy per column follow the rows; fewer conversions") {
    TempDir tmp;
    const std::string model = mlp_file(tmp, {512, 256, 10});
    const Point r64 = point(model, {"array.rows=64", "array.capacity_bits=~"});
    const Point r128 = point(model, {});
    const Point r256 = point(model, {"array.rows=256", "array.capacity_bits=~"});
    CHECK(r256.cells_mm2 == doctest::Approx(2 * r128.cells_mm2));
    CHECK(r64.cells_mm2 == doctest::Approx(r128.cells_mm2 / 2));
    CHECK(r256.read_pj == doctest::Approx(2 * r128.read_pj));
    CHECK(r64.read_pj < r128.read_pj);
    CHECK(r256.conversions < r128.conversions);
    CHECK(r128.conversions < r64.conversions);
    CHECK(r64.area_mm2 < r128.area_mm2);
    CHECK(r128.area_mm2 < r256.area_mm2);
}

TEST_CASE("sweeping node_nm: energy and area fall with the node") {
    TempDir tmp;
    const std::string model = mlp_file(tmp, {256, 128, 10});
    const Point n45 = point(model, {"node_nm=45"}), n32 = point(model, {}), n22 = point(model, {"node_nm=22"});
    CHECK(n45.energy_j > n32.energy_j);
    CHECK(n32.energy_j > n22.energy_j);
    CHECK(n45.area_mm2 > n32.area_mm2);
    CHECK(n32.area_mm2 > n22.area_mm2);
    CHECK(n22.cells_mm2 == doctest::Approx(n32.cells_mm2 * (22.0 * 22.0) / (32.0 * 32.0)));
    CHECK(n22.adc_pj < n32.adc_pj);
}

TEST_CASE("sweeping input.dac_bits: a row drive costs 2^bits - 1 pulses, with fewer cycles and conversions") {
    TempDir tmp;
    const std::string model = mlp_file(tmp, {256, 128, 10});
    const Point d1 = point(model, {}), d2 = point(model, {"input.dac_bits=2"}), d4 = point(model, {"input.dac_bits=4"});
    CHECK(d2.row_pj == doctest::Approx(3 * d1.row_pj));
    CHECK(d4.row_pj == doctest::Approx(15 * d1.row_pj));
    CHECK(d2.row_j > d1.row_j);  // 8 cycles of 3 pulses > 16 cycles of 1
    CHECK(d4.row_j > d2.row_j);
    CHECK(d2.conversions == doctest::Approx(d1.conversions / 2));
    CHECK(d2.latency_s < d1.latency_s);
}

TEST_CASE("plain-number configs are untouched by the estimators: no estimate, no change") {
    for (const auto& name : bundled_device_names()) {
        // The ones that anchor estimators, and the digital baselines priced by them.
        if (name == "isaac" || name == "wtm2101" || name == "intel22_c2c" || load_device(name).kind != DeviceKind::cim) continue;
        CAPTURE(name);
        const DeviceSpec d = load_device(name);
        for (const auto& c : list_costs(d))
            if (c.cost) CHECK_FALSE(c.cost->estimate.has_value());
        // node_nm does not move a plain number.
        const DeviceSpec moved = load_device(name, {"node_nm=" + std::to_string(d.node_nm == 45 ? 32 : 45)});
        CHECK(moved.energy == d.energy);
        CHECK(moved.area == d.area);
    }
}

TEST_CASE("Intel C-2C: supply_v moves its cv2-anchored energies as (V / 0.7 V)^2, the scaling validation.md uses") {
    const DeviceSpec base = load_device("intel22_c2c");
    CHECK(peak_figures(base).tops_per_w == doctest::Approx(32.2).epsilon(0.001));
    for (double v : {0.8, 0.9, 1.0, 1.1}) {
        CAPTURE(v);
        const double k = (v / 0.7) * (v / 0.7);
        std::vector<std::string> sets;
        for (const auto& c : list_costs(base))
            if (c.cost && c.path.rfind("energy.", 0) == 0 && c.cost->value > 0)
                sets.push_back(c.path + "=" + std::to_string(c.cost->value * k));
        const double by_hand = peak_figures(load_device("intel22_c2c", sets)).tops_per_w;
        const double by_supply = peak_figures(load_device("intel22_c2c", {"supply_v=" + std::to_string(v)})).tops_per_w;
        CHECK(by_supply == doctest::Approx(by_hand).epsilon(1e-5));
        CHECK(by_supply < 32.2);
    }
}
