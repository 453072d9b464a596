// Cross-field rules of the device schema, run after every key was read.
#pragma once

#include "cim/device/device_spec.h"
#include "diagnostics.h"

namespace cim::device_detail {

// Checks what single keys cannot: usable <= physical geometry, ADC keys
// present exactly when there is an ADC, weight codes vs cell encoding, ...
// Rules that read a key which already failed are skipped.
void check_cross_field_rules(const DeviceSpec& d, Diagnostics& diag);

}  // namespace cim::device_detail
