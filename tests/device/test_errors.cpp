// Every kind of device-description error, with its exact message.
#include <algorithm>
#include <limits>

#include "device_test_util.h"

using device_test::edited;
using device_test::error_of;
using device_test::kTiny;

TEST_CASE("the minimal device parses, with documented defaults filled in") {
    const cim::DeviceSpec d = cim::parse_device(kTiny, "tiny.yaml");
    CHECK(d.name == "tiny");
    CHECK(d.technology == cim::Technology::rram);
    CHECK(d.array.usable_rows == 64);
    CHECK(d.array.usable_cols == 64);
    CHECK(d.array.max_active_rows == 64);
    CHECK(d.array.adc.range == cim::AdcRange::full_scale);
    CHECK(d.array.adc.cols_per_adc == 8);
    CHECK(d.weight.clip == 127);
    CHECK(d.input.mode == cim::InputMode::bit_serial);
    CHECK(d.input.dac_bits == 1);
    CHECK(d.input.signed_handling == cim::SignedInputHandling::offset);
    CHECK(d.cell.on_off_ratio == std::numeric_limits<double>::infinity());
    CHECK(d.noise.drift_time_s == d.noise.drift_t0_s);
    CHECK(d.quant.weight_bits == 8);
    CHECK(d.quant.activation_bits == 8);
    CHECK(d.quant.calibration == cim::CalibrationMethod::minmax);
    CHECK(d.energy.adc_pj_per_conversion->value == doctest::Approx(1.2));
    CHECK(d.energy.adc_pj_per_conversion->source == "test");
    CHECK(d.energy.row_drive_pj_per_row.source.empty());
    CHECK_FALSE(d.energy.array_read_pj_per_cell.has_value());
    CHECK_FALSE(d.energy.weight_program_pj_per_cell.has_value());
    CHECK(cim::weight_slices(d) == 4);       // (8 - 1) magnitude bits over 2-bit cells
    CHECK(cim::columns_per_weight(d) == 8);  // two sides
    CHECK(cim::adcs_per_array(d) == 8);
    CHECK(cim::input_cycles(d) == 8);
}

TEST_CASE("errors are InputError, never a crash") {
    CHECK_THROWS_AS(cim::parse_device("rows: [", "x.yaml"), cim::InputError);
    CHECK_THROWS_AS(cim::parse_device("", "x.yaml"), cim::InputError);
    CHECK_THROWS_AS(cim::parse_device("- a\n- b\n", "x.yaml"), cim::InputError);
    CHECK_THROWS_AS(cim::parse_device("? [a, b]\n: 1\n", "x.yaml"), cim::InputError);
}

TEST_CASE("unknown keys are reported at the key, with a suggestion") {
    CHECK(error_of(edited(kTiny, "  cols: 64\n", "  cols: 64\n  colz: 3\n")) ==
          "tiny.yaml:12:3: array.colz: unknown key; did you mean array.cols?");
    // The right key in the wrong section.
    CHECK(error_of(edited(kTiny, "  rows: 64\n", "  rows: 64\n  dac_bits: 1\n")) ==
          "tiny.yaml:11:3: array.dac_bits: unknown key; did you mean input.dac_bits?");
    CHECK(error_of(kTiny + "  adc_bits: 6\n") ==
          "tiny.yaml:48:3: area.adc_bits: unknown key; did you mean array.adc.bits?");
    // Nothing close: the allowed keys are listed.
    CHECK(error_of("frobnicate: 1\n" + kTiny) ==
          "tiny.yaml:1:1: frobnicate: unknown key; expected one of: name, description, kind, technology, "
          "node_nm, supply_v, chip, array, cell, weight, input, output, energy, latency, area, noise, quant, digital");
    // Inside a {value, source} cost.
    CHECK(error_of(edited(kTiny, "source: \"test\"", "sorce: \"test\"")) ==
          "tiny.yaml:26:39: energy.adc_pj_per_conversion.sorce: unknown key; did you mean "
          "energy.adc_pj_per_conversion.source?");
    CHECK(error_of(edited(kTiny, "source: \"test\"", "sauce: \"test\"")) ==
          "tiny.yaml:26:39: energy.adc_pj_per_conversion.sauce: unknown key; a cost has only `value` and `source`, or "
          "`model: NAME` for an estimator (docs/cost-estimators.md)");
}

TEST_CASE("duplicate keys are errors, not last-one-wins") {
    CHECK(error_of(edited(kTiny, "  rows: 64\n", "  rows: 64\n  rows: 32\n")) ==
          "tiny.yaml:11:3: array.rows: duplicate key (first given at 10:3)");
}

TEST_CASE("wrong types") {
    CHECK(error_of(edited(kTiny, "rows: 64", "rows: abc")) ==
          "tiny.yaml:10:9: array.rows: expected an integer, got 'abc'");
    CHECK(error_of(edited(kTiny, "rows: 64", "rows: 6.5")) ==
          "tiny.yaml:10:9: array.rows: expected an integer, got '6.5'");
    CHECK(error_of(edited(kTiny, "tiles: 2", "tiles: \"2\"")) ==
          "tiny.yaml:5:10: chip.tiles: expected an integer, got the quoted string \"2\"");
    CHECK(error_of(edited(kTiny, "clock_mhz: 500", "clock_mhz: fast")) ==
          "tiny.yaml:8:14: chip.clock_mhz: expected a number, got 'fast'");
    CHECK(error_of(edited(kTiny, "technology: rram", "technology: rram2")) ==
          "tiny.yaml:2:13: technology: 'rram2' is not one of sram_analog, sram_digital, mram, "
          "nor_flash, rram, pcm, fefet; did you mean rram?");
    CHECK(error_of(edited(kTiny, "digital_ns_per_op: 1\n", "digital_ns_per_op: 1\n  pipelined: yes\n")) ==
          "tiny.yaml:39:14: latency.pipelined: expected true or false, got 'yes'");
    CHECK(error_of(edited(kTiny, "row_drive_pj_per_row: 0.05", "row_drive_pj_per_row: [1, 2]")) ==
          "tiny.yaml:25:25: energy.row_drive_pj_per_row: expected a number or {value: N, source: "
          "\"...\"}, got a list");
    CHECK(error_of(edited(kTiny, "name: tiny", "name: [tiny]")) ==
          "tiny.yaml:1:7: name: expected a string, got a list");
    CHECK(error_of(edited(kTiny, "cell:\n  bits: 2\n", "cell: 2\n")) ==
          "tiny.yaml:16:7: cell: expected a section (a mapping of keys), got '2'");
    CHECK(error_of(edited(kTiny, "rows: 64", "rows:")) ==
          "tiny.yaml:10:3: array.rows: expected an integer, got nothing (null)");
    // `~` on a key that is not required means "not given": the default applies.
    CHECK(cim::parse_device(edited(kTiny, "cols_per_adc: 8", "cols_per_adc: ~"), "t").array.adc.cols_per_adc == 1);
}

TEST_CASE("values out of range") {
    CHECK(error_of(edited(kTiny, "rows: 64", "rows: 0")) ==
          "tiny.yaml:10:9: array.rows: 0 is out of range: must be in [1, 65536]");
    CHECK(error_of(edited(kTiny, "cell:\n  bits: 2", "cell:\n  bits: 9")) ==
          "tiny.yaml:17:9: cell.bits: 9 is out of range: must be in [1, 8]");
    CHECK(error_of(edited(kTiny, "row_drive_pj_per_row: 0.05", "row_drive_pj_per_row: -0.05")) ==
          "tiny.yaml:25:25: energy.row_drive_pj_per_row: -0.05 is out of range: must be >= 0");
    CHECK(error_of(edited(kTiny, "{value: 1.2,", "{value: -1.2,")) ==
          "tiny.yaml:26:34: energy.adc_pj_per_conversion.value: -1.2 is out of range: must be >= 0");
    CHECK(error_of(edited(kTiny, "clock_mhz: 500", "clock_mhz: 0")) ==
          "tiny.yaml:8:14: chip.clock_mhz: 0 is out of range: must be in (0, 100000]");
    CHECK(error_of(kTiny + "noise:\n  stuck_on_rate: 1.5\n") ==
          "tiny.yaml:49:18: noise.stuck_on_rate: 1.5 is out of range: must be in [0, 1]");
    CHECK(error_of(edited(kTiny, "weight:\n  bits: 8", "weight:\n  bits: 1")) ==
          "tiny.yaml:19:9: weight.bits: 1 is out of range: must be in [2, 16]");
    CHECK(error_of(edited(kTiny, "    bits: 6", "    bits: 17")) ==
          "tiny.yaml:14:11: array.adc.bits: 17 is out of range: must be in [1, 16]");
}

TEST_CASE("missing required keys and sections") {
    CHECK(error_of(edited(kTiny, "node_nm: 28\n", "")) == "tiny.yaml:1:1: node_nm: required key is missing (nm)");
    CHECK(error_of(edited(kTiny, "  row_drive_pj_per_row: 0.05\n", "")) ==
          "tiny.yaml:23:1: energy.row_drive_pj_per_row: required key is missing (pJ per active row per array cycle)");
    CHECK(error_of(edited(kTiny, "  rows: 64\n", "")) ==
          "tiny.yaml:9:1: array.rows: required key is missing (rows)");
    const std::string no_latency = edited(kTiny, kTiny.substr(kTiny.find("latency:"), kTiny.find("area:") - kTiny.find("latency:")), "");
    CHECK(error_of(no_latency) == "tiny.yaml:1:1: latency: required section is missing");
    CHECK(error_of(edited(kTiny, "{value: 1.2, source: \"test\"}", "{source: \"test\"}")) ==
          "tiny.yaml:26:26: energy.adc_pj_per_conversion: a cost mapping needs `value` (pJ per conversion)");
}

TEST_CASE("cross-field rules") {
    SUBCASE("usable geometry within the physical array") {
        CHECK(error_of(edited(kTiny, "  cols: 64\n", "  cols: 64\n  usable_cols: 100\n")) ==
              "tiny.yaml:12:16: array.usable_cols: 100 exceeds array.cols = 64");
        CHECK(error_of(edited(kTiny, "  cols: 64\n", "  cols: 64\n  max_active_rows: 65\n")) ==
              "tiny.yaml:12:20: array.max_active_rows: 65 exceeds array.usable_rows = 64");
        CHECK(error_of(edited(kTiny, "  cols: 64\n", "  cols: 64\n  capacity_bits: 1000\n")) ==
              "tiny.yaml:12:18: array.capacity_bits: 1000 does not match array.rows x array.cols x "
              "cell.bits = 64 x 64 x 2 = 8192");
    }
    SUBCASE("ADC sharing divides the columns") {
        CHECK(error_of(edited(kTiny, "cols_per_adc: 8", "cols_per_adc: 7")) ==
              "tiny.yaml:15:19: array.adc.cols_per_adc: 7 does not divide array.cols = 64 (an array "
              "has a whole number of ADCs)");
        CHECK(error_of(edited(kTiny, "cols_per_adc: 8", "cols_per_adc: 128")) ==
              "tiny.yaml:15:19: array.adc.cols_per_adc: 128 exceeds array.cols = 64");
    }
    SUBCASE("ADC keys exist exactly when there is an ADC") {
        CHECK(error_of(edited(kTiny, "    bits: 6\n", "")) ==
              "tiny.yaml:12:3: array.adc.bits: required key is missing (array.adc.range is full_scale)");
        CHECK(error_of(edited(kTiny, "range: full_scale", "range: none")) ==
              "tiny.yaml:14:11: array.adc.bits: given, but array.adc.range is none (no ADC); remove it\n"
              "tiny.yaml:15:19: array.adc.cols_per_adc: given, but array.adc.range is none (no ADC); remove it\n"
              "tiny.yaml:26:26: energy.adc_pj_per_conversion: given, but array.adc.range is none (no ADC); remove it\n"
              "tiny.yaml:35:26: latency.adc_ns_per_conversion: given, but array.adc.range is none (no ADC); remove it\n"
              "tiny.yaml:42:12: area.adc_um2: given, but array.adc.range is none (no ADC); remove it");
        CHECK(error_of(edited(kTiny, "technology: rram", "technology: sram_digital")) ==
              "tiny.yaml:13:12: array.adc.range: must be none for technology sram_digital (an "
              "all-digital macro reads exact column sums)");
    }
    SUBCASE("array read energy: per column, per cell or both") {
        CHECK(error_of(edited(kTiny, "  array_read_pj_per_column: 0.1\n", "")) ==
              "tiny.yaml:23:1: energy.array_read_pj_per_column: required key is missing (give "
              "array_read_pj_per_column, array_read_pj_per_cell or both)");
        CHECK(error_of(edited(kTiny, "  array_read_pj_per_column: 0.1\n", "  array_read_pj_per_cell: 0.001\n")).empty());
    }
    SUBCASE("chip links are needed when a model may span chips") {
        CHECK(error_of(edited(kTiny, "  max_chips: 1\n", "")) ==
              "tiny.yaml:22:1: energy.chip_link_pj_per_byte: required key is missing (chip.max_chips is "
              "not 1, so a model may span chips; set chip.max_chips: 1 for a single-chip device)\n"
              "tiny.yaml:32:1: latency.chip_link_ns_per_byte: required key is missing (chip.max_chips is "
              "not 1, so a model may span chips; set chip.max_chips: 1 for a single-chip device)");
    }
    SUBCASE("weight codes fit the encoding and the cells") {
        CHECK(error_of(edited(kTiny, "encoding: differential", "encoding: native_signed")) ==
              "tiny.yaml:19:9: weight.bits: 8 exceeds cell.bits = 2; a native_signed cell stores the "
              "whole weight (use another encoding to slice it)");
        CHECK(error_of(edited(kTiny, "  encoding: differential\n", "  encoding: differential\n  clip: 200\n")) ==
              "tiny.yaml:21:9: weight.clip: 200 exceeds 2^(weight.bits-1) - 1 = 127; only native_signed "
              "cells store larger codes");
        CHECK(error_of(edited(kTiny, "  cols: 64\n", "  cols: 64\n  usable_cols: 4\n")) ==
              "tiny.yaml:20:9: weight.bits: a weight needs 8 columns (differential encoding, 2-bit "
              "cells) but array.usable_cols = 4");
    }
    SUBCASE("inputs") {
        CHECK(error_of(edited(kTiny, "input:\n  bits: 8\n", "input:\n  bits: 8\n  dac_bits: 9\n")) ==
              "tiny.yaml:23:13: input.dac_bits: 9 exceeds input.bits = 8");
        CHECK(error_of(edited(kTiny, "input:\n  bits: 8\n", "input:\n  bits: 8\n  mode: multi_bit\n  dac_bits: 4\n")) ==
              "tiny.yaml:24:13: input.dac_bits: 4 must equal input.bits = 8 when input.mode is multi_bit");
        CHECK(error_of(edited(kTiny, "input:\n  bits: 8\n",
                              "input:\n  bits: 8\n  mode: multi_bit\n  signed_handling: twos_complement\n")) ==
              "tiny.yaml:24:20: input.signed_handling: twos_complement needs input.mode bit_serial (the "
              "MSB plane is subtracted in shift-add)");
        // Two's-complement inputs subtract the sign plane: a multi-bit DAC cycle would mix the sign into it.
        CHECK(error_of(edited(kTiny, "input:\n  bits: 8\n",
                              "input:\n  bits: 8\n  dac_bits: 2\n  signed_handling: twos_complement\n")) ==
              "tiny.yaml:23:13: input.dac_bits: 2 with input.signed_handling twos_complement: the sign bit needs "
              "an input cycle of its own (the MSB plane is subtracted), so use 1 (or input.bits = 8, one cycle)");
        CHECK(error_of(edited(kTiny, "input:\n  bits: 8\n",
                              "input:\n  bits: 8\n  dac_bits: 1\n  signed_handling: twos_complement\n")).empty());
        CHECK(error_of(edited(kTiny, "input:\n  bits: 8\n",
                              "input:\n  bits: 8\n  dac_bits: 8\n  signed_handling: twos_complement\n")).empty());
        CHECK(error_of(edited(kTiny, "input:\n  bits: 8\n", "input:\n  bits: 8\n  dac_bits: 2\n")).empty());
        CHECK(error_of(edited(kTiny, "  cols: 64\n", "  cols: 64\n  bias_rows: 2\n  bias_row_input: 300\n")) ==
              "tiny.yaml:13:19: array.bias_row_input: 300 exceeds the largest input code 2^input.bits - 1 = 255");
    }
    SUBCASE("output shift, noise and quantization") {
        CHECK(error_of(kTiny + "output:\n  shift_bits_min: 8\n  shift_bits_max: 5\n") ==
              "tiny.yaml:50:19: output.shift_bits_max: 5 is below output.shift_bits_min = 8");
        CHECK(error_of(kTiny + "noise:\n  stuck_on_rate: 0.6\n  stuck_off_rate: 0.6\n") ==
              "tiny.yaml:50:19: noise.stuck_off_rate: noise.stuck_on_rate + noise.stuck_off_rate = 1.2 exceeds 1");
        CHECK(error_of(kTiny + "noise:\n  drift_t0_s: 20\n  drift_time_s: 10\n") ==
              "tiny.yaml:50:17: noise.drift_time_s: 10 is before noise.drift_t0_s = 20");
        CHECK(error_of(kTiny + "quant:\n  weight_bits: 10\n  activation_bits: 9\n") ==
              "tiny.yaml:49:16: quant.weight_bits: 10 exceeds weight.bits = 8 (the device stores no wider codes)\n"
              "tiny.yaml:50:20: quant.activation_bits: 9 exceeds input.bits = 8 (the array takes no wider inputs)");
    }
}

TEST_CASE("malformed YAML reports the place of the syntax error") {
    CHECK(error_of("name: tiny\n  technology: rram\n") == "tiny.yaml:2:13: invalid YAML: illegal map value");
    CHECK(error_of("name: tiny\narray: {rows: 64\n") == "tiny.yaml:3:1: invalid YAML: end of map flow not found");
    CHECK(error_of("") == "tiny.yaml:1:1: the device description is empty");
    CHECK(error_of("- a\n") == "tiny.yaml:1:1: expected a mapping of keys at the top level, got a list");
}

TEST_CASE("several errors are all reported, in file order") {
    std::string text = edited(kTiny, "rows: 64", "rows: 0");                        // range, line 10
    text = edited(text, "technology: rram", "technology: flash");                    // enum, line 2
    text = edited(text, "  shift_add_pj_per_op: 0.02\n", "");                        // missing
    text = edited(text, "  cols: 64\n", "  cols: 64\n  usable_cols: 80\n");          // cross-field, line 12
    text = edited(text, "clock_mhz: 500", "clock_mhz: fast");                       // type, line 8
    text += "  array_um3: 5\n";                                                      // unknown, line 48
    CHECK(error_of(text) ==
          "tiny.yaml:2:13: technology: 'flash' is not one of sram_analog, sram_digital, mram, nor_flash, "
          "rram, pcm, fefet\n"
          "tiny.yaml:8:14: chip.clock_mhz: expected a number, got 'fast'\n"
          "tiny.yaml:10:9: array.rows: 0 is out of range: must be in [1, 65536]\n"
          "tiny.yaml:12:16: array.usable_cols: 80 exceeds array.cols = 64\n"
          "tiny.yaml:24:1: energy.shift_add_pj_per_op: required key is missing (pJ per op)\n"
          "tiny.yaml:48:3: area.array_um3: unknown key; did you mean area.array_um2?");
}

// Found by fuzz/fuzz_device_yaml: a file of thousands of unknown keys took over a minute (a
// suggestion searched for each, every problem compared with every other) and listed them all.
TEST_CASE("thousands of problems: the first 100 are listed, the rest counted, in linear time" * doctest::timeout(30)) {
    std::string keys;
    for (int k = 0; k < 20000; ++k) keys += "  no_such_key_" + std::to_string(k) + ": 1\n";
    const std::string message = error_of(edited(kTiny, "area:\n", "area:\n" + keys));
    CHECK(std::count(message.begin(), message.end(), '\n') == 100);
    CHECK(message.find("area.no_such_key_0: unknown key") != std::string::npos);
    CHECK(message.substr(message.rfind('\n') + 1) == "tiny.yaml: and 19900 more problems (the first 100 found are listed)");
}
