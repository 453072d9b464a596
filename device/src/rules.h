// Cross-field rules of the device schema, run after every key was read.
#pragma once

#include "cim/device/device_spec.h"
#include "diagnostics.h"

namespace cim::device_detail {

// Checks what single keys cannot: usable <= physical geometry, ADC keys
// present exactly when there is an ADC, weight codes vs cell encoding, ...
// Rules that read a key which already failed are skipped.
void check_cross_field_rules(const DeviceSpec& d, Diagnostics& diag);

// For a digital device (kind digital_npu / fpga_dsp): fills the CIM fields, which its YAML does not
// give, with the exact integer datapath the quantizer and simulator run (digital cells holding the
// weight codes, no ADC, two's-complement planes). Nothing for kind cim.
void fill_digital_view(DeviceSpec& d);
// The digital kinds' own rules (precision 8 or 16, INT8 packing only at 8 bits).
void check_digital_rules(const DeviceSpec& d, Diagnostics& diag);

}  // namespace cim::device_detail
