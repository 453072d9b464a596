// cim-quant --json's report fields, shared with the Python module (cimforge.quantize).
#pragma once

#include <cim/device/device_spec.h>
#include <cim/quant/quantizer.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace cim::quant {

// {model_quantization, options, layers: [...], cle_pairs, notes, mixed_precision?} of a quantization
// with options `q` on `device` (docs/quantization.md names every field).
nlohmann::json quant_report_json(const QuantReport& report, const QuantDefaults& q, const DeviceSpec& device);

// What cim-quant --json says of its evaluation: the model, the data, and float and quantized accuracy.
struct Evaluation {
    std::string model, dataset;
    int64_t images = 0, calibration_images = 0;
    std::string calibration_source;
    double float_accuracy = 0, accuracy = 0;
};
void add_evaluation(nlohmann::json& j, const Evaluation& e);

}  // namespace cim::quant
