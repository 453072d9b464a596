// Shared by the device tests: a small valid device and helpers that edit it.
#pragma once

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "cim/device/device_spec.h"
#include "cim/error.h"

namespace device_test {

// A minimal valid device. Line numbers matter: the error tests name them.
inline const std::string kTiny = R"(name: tiny
technology: rram
node_nm: 28
chip:
  tiles: 2
  macros_per_tile: 4
  max_chips: 1
  clock_mhz: 500
array:
  rows: 64
  cols: 64
  adc:
    range: full_scale
    bits: 6
    cols_per_adc: 8
cell:
  bits: 2
weight:
  bits: 8
  encoding: differential
input:
  bits: 8
energy:
  array_read_pj_per_column: 0.1
  row_drive_pj_per_row: 0.05
  adc_pj_per_conversion: {value: 1.2, source: "test"}
  shift_add_pj_per_op: 0.02
  input_buffer_pj_per_byte: 1
  output_buffer_pj_per_byte: 1
  interconnect_pj_per_byte: 2
  digital_pj_per_op: 0.3
  leakage_mw_per_tile: 0.5
latency:
  array_read_ns: 10
  adc_ns_per_conversion: 1
  buffer_ns_per_byte: 0.1
  interconnect_ns_per_byte: 0.2
  digital_ns_per_op: 1
area:
  array_um2: 1000
  row_driver_um2: 2
  adc_um2: 300
  shift_add_um2: 50
  macro_other_um2: 100
  tile_buffer_um2: 10000
  tile_other_um2: 5000
  chip_other_um2: 100000
)";

// `text` with the first occurrence of `from` replaced by `to`.
inline std::string edited(std::string text, const std::string& from, const std::string& to) {
    const auto pos = text.find(from);
    REQUIRE_MESSAGE(pos != std::string::npos, "fixture text not found: " << from);
    text.replace(pos, from.size(), to);
    return text;
}

// The InputError message from parsing `text` as "tiny.yaml", or "" when it parses.
inline std::string error_of(const std::string& text, const std::vector<std::string>& sets = {}) {
    try {
        cim::parse_device(text, "tiny.yaml", sets);
    } catch (const cim::InputError& e) {
        return e.what();
    }
    return "";
}

}  // namespace device_test
