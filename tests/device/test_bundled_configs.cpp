// The bundled golden configs: they load, every cost has a source, and the
// per-component numbers add up to the published totals recorded in their
// comments (closed-form sums here, not the cost model).
#include <algorithm>

#include "device_test_util.h"

namespace {

double cost(const std::optional<cim::Cost>& c) {
    REQUIRE(c.has_value());
    return c->value;
}

// One array cycle's energy with every row and column active (pJ).
double cycle_energy_pj(const cim::DeviceSpec& d) {
    const double rows = d.array.max_active_rows, cols = d.array.cols;
    double e = rows * d.energy.row_drive_pj_per_row.value + cols * d.energy.shift_add_pj_per_op.value;
    if (d.energy.array_read_pj_per_column) e += cols * d.energy.array_read_pj_per_column->value;
    if (d.energy.array_read_pj_per_cell) e += rows * cols * d.energy.array_read_pj_per_cell->value;
    if (d.energy.adc_pj_per_conversion) e += cols * d.energy.adc_pj_per_conversion->value;
    return e;
}

// One array cycle's time: the read, then the shared ADC's conversions (overlapped when pipelined).
double cycle_ns(const cim::DeviceSpec& d) {
    const double read = d.latency.array_read_ns.value;
    const double convert = d.latency.adc_ns_per_conversion
                               ? d.array.adc.cols_per_adc * d.latency.adc_ns_per_conversion->value
                               : 0.0;
    return d.latency.pipelined ? std::max(read, convert) : read + convert;
}

// Area of one macro (um^2).
double macro_area_um2(const cim::DeviceSpec& d) {
    double a = d.area.array_um2.value + d.array.rows * d.area.row_driver_um2.value +
               d.area.shift_add_um2.value + d.area.macro_other_um2.value;
    if (d.area.adc_um2) a += cim::adcs_per_array(d) * d.area.adc_um2->value;
    return a;
}

}  // namespace

TEST_CASE("every bundled config loads and every given cost names its source") {
    for (const auto& name : cim::bundled_device_names()) {
        CAPTURE(name);
        const cim::DeviceSpec d = cim::load_device(name);
        CHECK(d.name == name);
        for (const auto& c : cim::list_costs(d)) {
            CAPTURE(c.path);
            if (c.cost) CHECK_FALSE(c.cost->source.empty());
        }
    }
}

TEST_CASE("wtm2101: geometry and numeric conventions of the toolchain") {
    const cim::DeviceSpec d = cim::load_device("wtm2101");
    CHECK(d.technology == cim::Technology::nor_flash);
    CHECK(d.node_nm == 40);
    CHECK(d.array.rows == 1792);
    CHECK(d.array.cols == 1024);
    CHECK(d.array.usable_cols == 896);
    CHECK(d.array.bias_rows == 16);
    CHECK(d.cell.bits == 8);
    CHECK(d.weight.encoding == cim::WeightEncoding::native_signed);
    CHECK(d.weight.clip == 275);
    CHECK(d.input.bits == 8);
    CHECK(d.input.signed_handling == cim::SignedInputHandling::pos_neg_split);
    CHECK(d.output.shift_bits_min == 8);
    CHECK(d.output.shift_bits_max == 13);
    CHECK(d.output.bits == 8);
    CHECK(d.chip.max_chips == 1);
    CHECK(d.quant.power_of_two_scales);
    // Published anchors: 50 GOPS peak; ~1.5 pJ/op marginal at an assumed 1.8 V (Guo 2023 Table 3).
    const double ops = 2.0 * d.array.rows * d.array.usable_cols;
    CHECK(ops / d.latency.array_read_ns.value == doctest::Approx(50.0).epsilon(0.001));  // GOPS
    const double e_pj = d.array.rows * d.array.usable_cols * d.energy.array_read_pj_per_cell->value +
                        d.array.rows * d.energy.row_drive_pj_per_row.value +
                        d.array.usable_cols * cost(d.energy.adc_pj_per_conversion);
    CHECK(e_pj / ops == doctest::Approx(1.5).epsilon(0.01));
}

TEST_CASE("tsmc7_sram_analog reproduces Sinangil JSSC 2021 Table I at 0.8 V") {
    const cim::DeviceSpec d = cim::load_device("tsmc7_sram_analog");
    const double ops = 2.0 * d.array.rows * d.array.cols;  // 64 x 16 4b x 4b MACs
    CHECK(ops == 2048);
    CHECK(ops / cycle_energy_pj(d) == doctest::Approx(351).epsilon(0.002));  // TOPS/W at output 6
    CHECK(ops / cycle_ns(d) == doctest::Approx(372.4).epsilon(0.001));       // GOPS
    CHECK(macro_area_um2(d) == doctest::Approx(2556));
    // Output 0 energy: the data-independent part only.
    CHECK(d.array.cols * cost(d.energy.adc_pj_per_conversion) == doctest::Approx(3.357).epsilon(0.001));
}

TEST_CASE("tsmc22_sram_digital reproduces 89 TOPS/W and 16.3 TOPS/mm^2 (Chih ISSCC 2021)") {
    const cim::DeviceSpec d = cim::load_device("tsmc22_sram_digital");
    CHECK(cim::adcs_per_array(d) == 0);
    const double ops = 2.0 * d.array.rows * (d.array.cols / cim::columns_per_weight(d));
    const double e_pj = cim::input_cycles(d) * cycle_energy_pj(d);
    CHECK(ops / e_pj == doctest::Approx(89).epsilon(0.001));
    const double tops = ops / (cim::input_cycles(d) * cycle_ns(d)) / 1000;
    CHECK(tops / (macro_area_um2(d) * 1e-6) == doctest::Approx(16.3).epsilon(0.001));
}

TEST_CASE("mram_princeton22 reproduces 41.6 1b-TOPS/W and 5.5 1b-TOPS/mm^2 (Deaville JSSC 2025)") {
    const cim::DeviceSpec d = cim::load_device("mram_princeton22");
    const double ops_1b = 2.0 * d.array.rows * d.array.cols;  // one 1-bit plane x 1-bit cells
    CHECK(ops_1b / cycle_energy_pj(d) == doctest::Approx(41.6).epsilon(0.001));
    CHECK(cycle_ns(d) == doctest::Approx(80));
    CHECK(ops_1b / cycle_ns(d) / 1000 / (macro_area_um2(d) * 1e-6) == doctest::Approx(5.5).epsilon(0.001));
}

TEST_CASE("isaac reproduces the ISAAC tile (330 mW, 0.372 mm^2) and chip (85.4 mm^2)") {
    const cim::DeviceSpec d = cim::load_device("isaac");
    CHECK(d.chip.tiles == 168);
    CHECK(d.chip.macros_per_tile == 96);
    CHECK(cim::weight_slices(d) == 8);
    CHECK(cim::input_cycles(d) == 16);
    CHECK(cycle_ns(d) == doctest::Approx(100));

    // Full activity: every array converts every column every 100 ns cycle.
    const double arrays = d.chip.macros_per_tile;
    const double cycles_per_s = 1e9 / cycle_ns(d);
    const double mvm_per_s = cycles_per_s / cim::input_cycles(d);
    const double outputs_per_s = arrays * (d.array.cols / cim::columns_per_weight(d)) * mvm_per_s;
    const double output_bytes = outputs_per_s * *d.output.bits / 8;
    const double input_bytes = arrays * d.array.rows * (d.input.bits / 8.0) * mvm_per_s;
    const double tile_pj_per_s = arrays * cycle_energy_pj(d) * cycles_per_s +
                                 input_bytes * d.energy.input_buffer_pj_per_byte.value +
                                 output_bytes * (d.energy.output_buffer_pj_per_byte.value +
                                                 d.energy.interconnect_pj_per_byte.value) +
                                 outputs_per_s * d.energy.digital_pj_per_op.value;
    CHECK(tile_pj_per_s * 1e-9 == doctest::Approx(330).epsilon(0.002));  // mW

    const double tile_um2 = arrays * macro_area_um2(d) + d.area.tile_buffer_um2.value + d.area.tile_other_um2.value;
    CHECK(tile_um2 * 1e-6 == doctest::Approx(0.372).epsilon(0.002));
    CHECK(8 * macro_area_um2(d) * 1e-6 == doctest::Approx(0.0131).epsilon(0.002));  // one IMA of 8 crossbars
    const double chip_mm2 = (d.chip.tiles * tile_um2 + d.area.chip_other_um2.value) * 1e-6;
    CHECK(chip_mm2 == doctest::Approx(85.4).epsilon(0.002));
}
