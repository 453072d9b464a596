// What cim-map reports, as JSON and text, shared with the Python module (cimforge.map,
// cimforge.Device): one definition, so both give the same fields.
#pragma once

#include <cim/cimsim/cost_model.h>
#include <cim/device/device_spec.h>
#include <cim/mapper/mapping.h>

#include <nlohmann/json.hpp>

#include <string>

namespace cim {

// cim-map --json: {model, device, device_file, overrides, layers: [...], total: {...}}
// (docs/cost-model.md names every field; null is an unknown figure, never a zero).
nlohmann::json mapping_json(const Mapping& m, const DeviceSpec& d, const CostReport& r);
// cim-map --describe --json's "peak": the device's peak figures with power and area per component.
nlohmann::json peak_json(const PeakFigures& p);
// Every cost an estimator priced: formula, inputs (with their device fields), anchor and reference.
nlohmann::json estimates_json(const DeviceSpec& d);
// The text of cim-map --describe: the device, its peak figures, power and area per component, estimates.
std::string describe_text(const DeviceSpec& d, const PeakFigures& p);

}  // namespace cim
