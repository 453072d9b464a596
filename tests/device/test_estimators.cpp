// Cost estimators: the schema of `{model: NAME, ...}` entries and its errors, the
// anchor (exactly the published figure at its operating point), each estimator's
// model against its reference data, and re-resolution in DeviceVariants.
#include <cmath>
#include <string>

#include <doctest/doctest.h>

#include "device_test_util.h"
#include "estimators/estimator.h"

using namespace device_test;
using cim::DeviceSpec;
using cim::parse_device;

namespace {

// kTiny with its ADC energy given by `entry`.
std::string with_adc(const std::string& entry) {
    return edited(kTiny, "adc_pj_per_conversion: {value: 1.2, source: \"test\"}", "adc_pj_per_conversion: " + entry);
}

double adc_pj(const std::string& entry, const std::vector<std::string>& sets = {}) {
    return parse_device(with_adc(entry), "tiny.yaml", sets).energy.adc_pj_per_conversion->value;
}

}  // namespace

TEST_CASE("an unknown estimator or parameter is an error at its line listing the estimators and parameters") {
    const std::string unknown = error_of(with_adc("{model: adc_foo}"));
    CHECK(unknown.rfind("tiny.yaml:26:34: energy.adc_pj_per_conversion.model: 'adc_foo' is not an estimator; "
                        "estimators for energy.adc_pj_per_conversion: adc_sar (fom_w_fj [fJ per conversion "
                        "step], fom_node_nm [nm], fom_s_db [dB], step_ns [ns], transistor_area_f2 [F^2], "
                        "sample_rate_gsps [GS/s]); adc_flash (",
                        0) == 0);
    CHECK(unknown.find("adc_ramp (") != std::string::npos);
    CHECK(error_of(with_adc("{model: adc_sat}")).rfind(
              "tiny.yaml:26:34: energy.adc_pj_per_conversion.model: 'adc_sat' is not an estimator (did you mean adc_sar?); "
              "estimators for",
              0) == 0);
    CHECK(unknown.find("(others: wordline (c_wire_ff_per_um [fF/um], cell_f2 [F^2])") != std::string::npos);

    CHECK(error_of(with_adc("{model: adc_sar, fom_wj_fj: 20}")) ==
          "tiny.yaml:26:43: energy.adc_pj_per_conversion.fom_wj_fj: not a parameter of estimator adc_sar (did you mean "
          "fom_w_fj?); its parameters: fom_w_fj, fom_node_nm, fom_s_db, step_ns, transistor_area_f2, sample_rate_gsps "
          "(and `anchor`, `source`)");
    CHECK(error_of(with_adc("{model: adc_sar, fom_w_fj: lots}")) ==
          "tiny.yaml:26:53: energy.adc_pj_per_conversion.fom_w_fj: expected a number, got 'lots'");
    CHECK(error_of(with_adc("{model: cell_area}")).rfind(
              "tiny.yaml:26:34: energy.adc_pj_per_conversion.model: estimator cell_area does not price "
              "energy.adc_pj_per_conversion (it prices area.array_um2); estimators for energy.adc_pj_per_conversion: "
              "adc_sar (",
              0) == 0);
    CHECK(error_of(with_adc("{model: adc_sar, value: 2}")) ==
          "tiny.yaml:26:43: energy.adc_pj_per_conversion.value: an estimated cost has no `value`: give the published "
          "figure as `anchor: {value: N, <input>: N, ...}`, or drop `model`");
    CHECK(error_of(with_adc("{model: adc_sar, anchor: {value: 2, bitz: 8}}")) ==
          "tiny.yaml:26:62: energy.adc_pj_per_conversion.anchor.bitz: not an input of estimator adc_sar (did you mean "
          "bits?); an anchor gives `value` and any of: bits, node_nm, supply_v, sample_rate_gsps, fom_w_fj, "
          "fom_node_nm, fom_s_db, step_ns, transistor_area_f2");
    CHECK(error_of(with_adc("{model: adc_sar, anchor: {bits: 8}}")) ==
          "tiny.yaml:26:51: energy.adc_pj_per_conversion.anchor: an anchor needs `value` (pJ per conversion): the "
          "published figure");
    // A parameter without a default, not anchored: named with its meaning.
    const std::string area = error_of(edited(kTiny, "adc_um2: 300", "adc_um2: {model: adc_flash}"));
    CHECK(area == "tiny.yaml:42:12: area.adc_um2: estimator adc_flash needs `transistor_area_f2` (area of one "
                  "minimum-size transistor with its wiring, F^2) or an `anchor: {value: N, ...}`");
    // --set reaches an estimator's parameters.
    CHECK(adc_pj("{model: adc_sar}", {"energy.adc_pj_per_conversion.fom_w_fj=20"}) ==
          doctest::Approx(2 * adc_pj("{model: adc_sar}")).epsilon(1e-12));
}

TEST_CASE("an anchored estimate equals the published figure at its operating point, bit for bit") {
    for (const char* entry : {"{model: adc_sar, anchor: {value: 1.2, bits: 6, node_nm: 28}}",
                              "{model: adc_flash, anchor: {value: 1.2, bits: 6}}",
                              "{model: adc_ramp, anchor: {value: 1.2}}"})
        CHECK(adc_pj(entry) == 1.2);
    // The bundled ISAAC config anchors its ADC, drivers, read, cells and shift-add at the paper's figures.
    const DeviceSpec isaac = cim::load_device("isaac");
    CHECK(isaac.energy.adc_pj_per_conversion->value == 1.5625);
    CHECK(isaac.energy.adc_pj_per_conversion->estimate->model == "adc_sar");
    CHECK(isaac.latency.adc_ns_per_conversion->value == 0.78125);
    CHECK(isaac.area.adc_um2->value == 1200);
    CHECK(isaac.area.array_um2.value == 25);
    CHECK(isaac.energy.row_drive_pj_per_row.value == 0.390625);
    CHECK(isaac.energy.array_read_pj_per_column->value == 0.23535);
    CHECK(isaac.energy.shift_add_pj_per_op.value == 0.01953125);
}

TEST_CASE("ADC estimators: Walden doubling per bit, the Schreier floor at high resolution, time and area by architecture") {
    // kTiny demands 8 conversions per 10 ns read (0.8 GS/s), above the frontier's corner from 9 bits on;
    // a 100 kS/s converter stays below it up to 16 bits.
    const std::string sar = "{model: adc_sar, sample_rate_gsps: 0.0001, anchor: {value: 1.2, bits: 6}}";
    for (int bits = 2; bits < 14; ++bits) {
        CAPTURE(bits);
        const double e0 = adc_pj(sar, {"array.adc.bits=" + std::to_string(bits)});
        const double e1 = adc_pj(sar, {"array.adc.bits=" + std::to_string(bits + 1)});
        CHECK(e1 / e0 == doctest::Approx(2.0).epsilon(1e-12));  // FoM_W 2^ENOB
    }
    // Unanchored: the survey's 10 fJ/step frontier at 40 nm, here at 28 nm and 1.0 V by Stillmaker & Baas.
    const double s = *cim::device_detail::stillmaker_energy_factor(28, 1.0) /
                     *cim::device_detail::stillmaker_energy_factor(40, 1.0);
    CHECK(adc_pj("{model: adc_sar}") == doctest::Approx(0.010 * 64 * s).epsilon(1e-12));  // 6 bits: corner 10 GS/s
    // With a Schreier frontier the energy grows 4x per bit once noise-limited (10^(6.02/10) = 4.0).
    const std::string noise = "{model: adc_sar, fom_s_db: 175, sample_rate_gsps: 0.0001}";
    const double e15 = adc_pj(noise, {"array.adc.bits=15"}), e16 = adc_pj(noise, {"array.adc.bits=16"});
    CHECK(e16 / e15 == doctest::Approx(std::pow(10.0, 0.602)).epsilon(1e-9));
    CHECK(adc_pj(noise, {"array.adc.bits=4"}) ==
          adc_pj("{model: adc_sar, sample_rate_gsps: 0.0001}", {"array.adc.bits=4"}));

    auto latency = [&](const char* model, int bits) {
        const std::string text = edited(kTiny, "adc_ns_per_conversion: 1", std::string("adc_ns_per_conversion: {model: ") + model + "}");
        return parse_device(text, "tiny.yaml", {"array.adc.bits=" + std::to_string(bits)}).latency.adc_ns_per_conversion->value;
    };
    CHECK(latency("adc_sar", 8) == 8.0);
    CHECK(latency("adc_sar", 4) == 4.0);
    CHECK(latency("adc_flash", 8) == 1.0);
    CHECK(latency("adc_ramp", 8) == 256.0);

    auto area = [&](const char* model, int bits) {
        const std::string text = edited(kTiny, "adc_um2: 300", std::string("adc_um2: {model: ") + model + ", transistor_area_f2: 100}");
        return parse_device(text, "tiny.yaml", {"array.adc.bits=" + std::to_string(bits)}).area.adc_um2->value;
    };
    const double f2 = 100 * 28.0 * 28.0 * 1e-6;
    CHECK(area("adc_sar", 8) == doctest::Approx((478 + 182 * 7) * f2));   // NeuroSim SarADC counts
    CHECK(area("adc_flash", 4) == doctest::Approx(15 * 9 * f2));          // 2^bits - 1 sense amplifiers
    CHECK(area("adc_flash", 6) > 3.9 * area("adc_flash", 4));
}

TEST_CASE("ADC energy against sample rate: flat below the survey frontier's corner, rising as f^0.661 above it") {
    // hwcomponents-adc's bound: ln f_c = (85.47 - 3.2205 bits) / 2.872; 8 bits: 1.07 GS/s.
    const double corner8_gsps = std::exp((85.47 - 3.2205 * 8) / 2.872) * 1e-9;
    CHECK(corner8_gsps == doctest::Approx(1.07).epsilon(0.01));
    auto at = [](double gsps, int bits = 8) {
        return adc_pj("{model: adc_sar, sample_rate_gsps: " + std::to_string(gsps) + "}",
                      {"array.adc.bits=" + std::to_string(bits)});
    };
    CHECK(at(0.001) == at(0.1));
    CHECK(at(0.1) == at(corner8_gsps * 0.999));
    CHECK(at(2 * corner8_gsps) > at(corner8_gsps));
    CHECK(at(10 * corner8_gsps) / at(corner8_gsps) == doctest::Approx(std::pow(10.0, 0.2872 * std::log(10.0))).epsilon(1e-3));
    // Above the corner each bit costs about 4x (the Schreier regime), below it 2x.
    CHECK(at(5, 9) / at(5, 8) == doctest::Approx(2 * std::exp(1.1214 * 0.6613)).epsilon(1e-3));
    CHECK(at(0.01, 9) / at(0.01, 8) == doctest::Approx(2.0).epsilon(1e-12));
    // Without an explicit rate the device's demand sets it: kTiny's 8 columns per ADC per 10 ns
    // read (0.8 GS/s); a 20 ns read halves the rate and, at 10 bits (corner 0.11 GS/s), the energy falls.
    const double slow = adc_pj("{model: adc_sar}", {"array.adc.bits=10", "latency.array_read_ns=20"});
    const double fast = adc_pj("{model: adc_sar}", {"array.adc.bits=10"});
    CHECK(fast / slow == doctest::Approx(std::pow(2.0, 0.2872 * std::log(10.0))).epsilon(1e-3));
    const DeviceSpec d = parse_device(with_adc("{model: adc_sar}"), "tiny.yaml");
    bool shown = false;
    for (const auto& i : d.energy.adc_pj_per_conversion->estimate->inputs)
        if (i.name == "sample_rate_gsps") {
            CHECK(i.value == doctest::Approx(0.8));
            shown = true;
        }
    CHECK(shown);
    CHECK(error_of(with_adc("{model: adc_sar, sample_rate_gsps: 0}")).find("energy.adc_pj_per_conversion: estimator "
                                                                           "adc_sar gives nan") != std::string::npos);
}

TEST_CASE("technology scaling reproduces Stillmaker & Baas's worked example and orders the nodes") {
    using cim::device_detail::stillmaker_energy_factor;
    // Erratum to Section 4.2.1: 32 nm at 0.9 V gives 0.4571, 65 nm at 1.3 V gives 2.604.
    CHECK(*stillmaker_energy_factor(32, 0.9) == doctest::Approx(0.4571).epsilon(1e-4));
    CHECK(*stillmaker_energy_factor(65, 1.3) == doctest::Approx(2.604).epsilon(1e-3));
    double previous = 1e9;
    for (double node : {180.0, 130.0, 90.0, 65.0, 45.0, 40.0, 32.0, 28.0, 22.0, 20.0, 16.0, 14.0, 10.0, 7.0}) {
        CAPTURE(node);
        const double e = *stillmaker_energy_factor(node, 1.0);
        CHECK(e < previous);
        previous = e;
    }
    CHECK_FALSE(stillmaker_energy_factor(5, 1.0).has_value());
    CHECK(*cim::device_detail::stillmaker_area_factor(7) == 0.059);
    CHECK(error_of(with_adc("{model: adc_sar}"), {"node_nm=250"}) ==
          "tiny.yaml:26:26: energy.adc_pj_per_conversion: estimator adc_sar: node_nm 250 is outside the 7-180 nm "
          "that Stillmaker & Baas's scaling covers");
}

TEST_CASE("Horowitz's 45 nm table, cell area from F^2, word lines, array reads and buffers") {
    auto cost = [](const std::string& from, const std::string& to, const std::vector<std::string>& sets = {}) {
        return parse_device(edited(kTiny, from, to), "tiny.yaml", sets);
    };
    // At 45 nm and 0.9 V the Horowitz figures come back exactly (ratio 1).
    for (const std::pair<int, double>& row : {std::pair{8, 0.03}, {16, 0.05}, {32, 0.1}})
        CHECK(cost("digital_pj_per_op: 0.3",
                   "digital_pj_per_op: {model: horowitz_add, bits: " + std::to_string(row.first) + "}",
                   {"node_nm=45", "supply_v=0.9"})
                  .energy.digital_pj_per_op.value == doctest::Approx(row.second).epsilon(1e-12));
    CHECK(cost("digital_pj_per_op: 0.3", "digital_pj_per_op: {model: horowitz_mult}", {"node_nm=45", "supply_v=0.9"})
              .energy.digital_pj_per_op.value == doctest::Approx(0.2).epsilon(1e-12));  // input.bits = 8
    // Integer digital units are priced at their declared width: Horowitz's 16-bit add with 16-bit units,
    // the 8-bit one (input.bits) with float units.
    const std::string est = "digital_pj_per_op: {model: horowitz_add}";
    CHECK(cost("digital_pj_per_op: 0.3", est, {"node_nm=45", "supply_v=0.9", "digital.arithmetic=integer",
                                               "digital.activation_bits=16"})
              .energy.digital_pj_per_op.value == doctest::Approx(0.05).epsilon(1e-12));
    CHECK(cost("digital_pj_per_op: 0.3", est, {"node_nm=45", "supply_v=0.9", "digital.activation_bits=16"})
              .energy.digital_pj_per_op.value == doctest::Approx(0.03).epsilon(1e-12));
    // 1T1R RRAM: 48 F^2 (NeuroSim), 64 x 64 cells at 28 nm.
    CHECK(cost("array_um2: 1000", "array_um2: {model: cell_area}").area.array_um2.value ==
          doctest::Approx(64 * 64 * 48 * 28.0 * 28.0 * 1e-6));
    CHECK(cost("array_um2: 1000", "array_um2: {model: cell_area}", {"array.rows=128"}).area.array_um2.value ==
          doctest::Approx(2 * 64 * 64 * 48 * 28.0 * 28.0 * 1e-6));
    // Word line: C = cols x sqrt(48) F x c_wire; E = C V^2 (2^dac_bits - 1).
    const double c_pf = 64 * std::sqrt(48.0) * 28e-3 * 0.2e-3;
    auto wl = [&](int dac_bits) {
        return cost("row_drive_pj_per_row: 0.05", "row_drive_pj_per_row: {model: wordline, c_wire_ff_per_um: 0.2}",
                    {"supply_v=0.8", "input.dac_bits=" + std::to_string(dac_bits)})
            .energy.row_drive_pj_per_row.value;
    };
    CHECK(wl(1) == doctest::Approx(c_pf * 0.64));
    CHECK(wl(4) == doctest::Approx(15 * c_pf * 0.64));
    // Resistive read: V^2 G t over the conducting cells, at the reference densities 0.5 / 0.5, 64 rows.
    const DeviceSpec rr = cost("array_read_pj_per_column: 0.1",
                               "array_read_pj_per_column: {model: resistive_read, v_read_v: 0.2, g_on_us: 100}",
                               {"cell.on_off_ratio=10"});
    CHECK(rr.energy.array_read_pj_per_column->value ==
          doctest::Approx(64 * 0.04 * 100 * (0.5 + 0.5 / 10) * 10 * 0.5 * 1e-3));
    // SRAM buffer: 10 pJ per 8 bytes at 8 KB, sqrt(capacity) beyond.
    auto buf = [&](int kb) {
        return cost("input_buffer_pj_per_byte: 1", "input_buffer_pj_per_byte: {model: sram_buffer, capacity_kb: " +
                                                     std::to_string(kb) + "}",
                    {"node_nm=45", "supply_v=0.9"})
            .energy.input_buffer_pj_per_byte.value;
    };
    CHECK(buf(8) == doctest::Approx(1.25));
    CHECK(buf(32) == doctest::Approx(2.5));
}

TEST_CASE("DeviceVariants re-prices estimators for every variant, as reading the YAML again does") {
    const cim::DeviceVariants variants("isaac");
    for (const char* set : {"array.adc.bits=4", "node_nm=22", "input.dac_bits=2", "array.adc.bits=12"}) {
        CAPTURE(set);
        const DeviceSpec fast = variants.make({set});
        CHECK(fast == cim::load_device("isaac", {set}));
        CHECK(fast.energy.adc_pj_per_conversion->value != 1.5625 + (std::string(set) == "input.dac_bits=2" ? 1 : 0));
    }
}
