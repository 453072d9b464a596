// Internal: the float calibration pass and the input quantizers of the layers it
// calibrates (docs/quantization.md, "Calibration pass").
#pragma once

#include <cim/quant/program.h>
#include <cim/quant/quantizer.h>

#include <functional>
#include <vector>

namespace cim::quant::detail {

// The layers' float inputs and outputs per calibration batch ([layer][batch]), kept only
// when asked (AdaRound and bias correction need the inputs, the SQNR report the outputs).
struct FloatPass {
    std::vector<std::vector<Tensor>> inputs, outputs;
};

struct ActCalibration {
    bool keep_inputs = false, keep_outputs = false;
    // Summarize each layer's values as the batches pass (value_summary.h) rather than keep
    // them all; false keeps them all, as before streaming (the reference its tests compare with).
    bool stream = true;
    std::function<void()> batch_done;  // progress, after each batch of the first pass
};

// Runs the float pass over `batches` (one tensor per graph input each) and sets the input
// quantizer of every model.layers[i] (views[i]) and its report.layers[i] activation fields.
// A layer whose summary cannot give the exact result takes its whole values from a second
// pass of the layers concerned. Throws InputError when the device cannot take a layer's inputs.
FloatPass calibrate_activations(QuantizedModel& model, QuantReport& report, const std::vector<MvmView>& views,
                                const std::vector<std::vector<Tensor>>& batches, const std::string& source_file,
                                const QuantDefaults& q, const ActCalibration& how);

}  // namespace cim::quant::detail
