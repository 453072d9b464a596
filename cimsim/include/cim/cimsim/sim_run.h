// One accuracy run as cim-sim makes it, shared with the Python module (cimforge.simulate):
// the float reference, the quantization and its integer program on ideal arrays, and the
// JSON of the result. Then cim::sim::simulate reads the arrays.
#pragma once

#include <cim/cimsim/simulator.h>
#include <cim/ir/graph.h>
#include <cim/quant/quantizer.h>

#include <nlohmann/json.hpp>

#include <functional>
#include <set>
#include <string>

namespace cim::sim {

// The float model's first output on every test item (the reference of the label-free metrics)
// and its accuracy against the labels (NaN without labels).
struct FloatReference {
    Tensor outputs;
    double accuracy = 0;
    double seconds = 0;
};
FloatReference float_reference(const Graph& graph, const quant::LabeledData& test, const quant::Progress& progress = {});

// The model quantized as cim-sim simulates it (no per-layer SQNR report; the mapper's array
// counts for a mixed-precision budget) and the integer program's score on ideal arrays: accuracy,
// or without labels the top-1 agreement with the float model. `progress_bar` makes the progress
// callback of each phase from its label.
struct QuantizedForSim {
    quant::QuantResult quantized;
    double accuracy = 0;
    double quantize_seconds = 0, program_seconds = 0;
};
QuantizedForSim quantize_for_sim(const Graph& graph, const DeviceSpec& device, const SampleSet& calibration,
                                 const quant::LabeledData& test, const FloatReference& reference,
                                 const std::set<std::string>& host_layers,
                                 const std::function<quant::Progress(const std::string& label)>& progress_bar = {});

// cim-sim --json's result fields: accuracy and its interval, every metric, per-layer SNR and ADC
// statistics (docs/simulator.md).
nlohmann::json result_json(const SimResult& r);

// ADC conversions and clipped conversions (past either end of the range) over every layer.
struct AdcTotals {
    int64_t conversions = 0, clipped = 0;
    double clipped_fraction() const { return conversions ? double(clipped) / double(conversions) : 0.0; }
};
AdcTotals adc_totals(const SimResult& r);
// Whether the model's own (QDQ) quantization was used, and where each layer's came from.
void add_model_quantization(nlohmann::json& j, const quant::QuantReport& report);

// What cim-sim --json adds for a run: where the model, data and calibration came from, and the
// seconds of the phases before simulate().
struct RunInfo {
    std::string model, data, calibration_source;
    std::vector<std::string> overrides;
    uint64_t seed = 1;
    double float_seconds = 0, quantize_seconds = 0, program_seconds = 0;
};
// cim-sim --json for one point: result_json with the run's fields and model_quantization.
nlohmann::json run_json(const SimResult& r, const DeviceSpec& device, const quant::QuantReport& report, const RunInfo& info);

}  // namespace cim::sim
