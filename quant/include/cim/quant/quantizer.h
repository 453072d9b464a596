// The hardware-aware quantizer: float graph + device + calibration data (drawn
// from the TRAINING set) -> QuantizedModel (the integer program of program.h)
// and a per-layer report.
//
// Options are the device YAML's `quant:` section (QuantDefaults), overridable
// with --set quant.KEY=VALUE; docs/quantization.md describes every step.
#pragma once

#include <cim/device/device_spec.h>
#include <cim/ir/sample_set.h>
#include <cim/ir/weight_stationary.h>
#include <cim/quant/program.h>

#include <functional>
#include <map>
#include <set>
#include <optional>
#include <string>
#include <vector>

namespace cim::quant {

// Arrays each weight-stationary layer needs (node name -> arrays, no duplication) when every
// layer's weights are `bits` wide: what a mixed-precision budget is checked against. The mapper
// supplies it (cim::arrays_per_layer_at_width); the quantizer itself does not map.
using ArraysAtWidth = std::function<std::map<std::string, int64_t>(const Graph& batch1, const DeviceSpec& d, int bits)>;

struct QuantOptions {
    QuantDefaults q;                          // the device's quant section (after --set)
    std::map<std::string, int> layer_bits;    // per-layer weight bits (node name), overrides q.weight_bits
    bool report_sqnr = true;                  // measure per-layer SQNR on the calibration data
    // Calibrate activations from summaries streamed through the float pass (the default), or
    // from every layer's whole values kept in memory: the same scales, at far more memory.
    bool stream_calibration = true;
    int verbose = 0;                          // progress lines on stderr
    ArraysAtWidth arrays_at_width;            // needed with q.mixed_precision_budget_arrays
    std::set<std::string> host_layers;        // weight-stationary nodes kept in float on the host (--host-layers)
    std::function<void(int64_t done, int64_t total)> progress;  // steps of calibration and measurement done

    static QuantOptions from_device(const DeviceSpec& d) {
        QuantOptions o;
        o.q = d.quant;
        return o;
    }
};

struct LayerReport {
    std::string name;
    OpKind op = OpKind::Gemm;
    int64_t K = 0, N = 0, groups = 1;
    WeightMode weight_mode = WeightMode::uniform;
    int weight_bits = 8, activation_bits = 8;
    int32_t weight_qmax = 0;
    bool per_channel = true;
    double weight_scale_min = 0, weight_scale_max = 0;
    bool weight_scales_pow2 = false;
    double activation_scale = 0;
    int32_t activation_zero_point = 0;
    bool activation_signed = false;
    InputRealization realization = InputRealization::unsigned_code;
    double weight_clipped_fraction = 0;      // weights outside the clipping range
    double activation_clipped_fraction = 0;  // calibration inputs outside the code range
    double weight_sqnr_db = 0;               // float weights vs dequantized codes
    double output_sqnr_alone_db = 0;         // layer output, this layer alone quantized (calibration data)
    double output_sqnr_db = 0;               // layer output, whole network quantized (calibration data)
    double bias_correction_rms = 0;          // RMS of the bias change (0 when off)
    int64_t adaround_flipped = 0;            // weights rounded away from nearest by AdaRound
    int64_t arrays = -1;                     // mapper arrays at this layer's bits (-1: not computed)
    // The QDQ model's own quantization was taken (codes and scales as given) rather than calibrated.
    bool weights_from_model = false, input_from_model = false;
    std::optional<double> accuracy_drop_alone;  // filled by layer_alone_accuracy_drops()
};

struct MixedPrecisionReport {
    int64_t budget_arrays = 0;
    int64_t arrays = 0;                      // sum of the chosen layers' arrays
    std::vector<int> candidate_bits;
    // Per layer (report order): arrays and sensitivity (normalized logit MSE on the
    // calibration data with only this layer's weights quantized) per candidate.
    std::vector<std::vector<int64_t>> arrays_per_bits;
    std::vector<std::vector<double>> sensitivity;
    std::vector<int> chosen_bits;
    int uniform_bits_fitting = 0;            // the widest uniform width within the budget (0: none)
    int64_t uniform_arrays = 0;              // arrays of that uniform width
};

struct QuantReport {
    std::vector<LayerReport> layers;          // one per QuantLayer, in graph order
    std::vector<std::string> cle_pairs;       // "conv1 -> conv2" pairs equalized
    std::optional<MixedPrecisionReport> mixed_precision;
    int calibration_images = 0;
    double seconds = 0;
    std::vector<std::string> notes;
    bool model_quantization = false;          // some layer took the model's own quantization
};

// "weights of 5 of 5 layers and inputs of 5 of 5 layers as the model quantized them (QDQ)", or ""
// when no layer took the model's own quantization: what cim-quant and cim-sim print.
std::string model_quantization_text(const QuantReport& report);

struct QuantResult {
    QuantizedModel model;
    QuantReport report;
};

// `calibration` holds one tensor per graph input (Graph::inputs order) with the calibration
// items on axis 0 (for Fashion-MNIST: [count, 1, 28, 28] from models::calibration_split).
// A graph that pins a batch of 1 (cim/ir/batch.h) is calibrated one item at a time.
// Throws InputError for options the device or the model cannot honour.
QuantResult quantize(const Graph& graph, const DeviceSpec& device, const std::vector<Tensor>& calibration,
                     const QuantOptions& options);

// ---- evaluation ----

// Items and their class labels (argmax of the first output is the prediction).
struct LabeledData {
    SampleSet inputs;         // one source per graph input, `count` items each (read a batch at a time)
    std::vector<int> labels;  // count
};
using Forward = std::function<std::vector<Tensor>(const std::vector<Tensor>& inputs, int64_t first_item)>;
// (items or layers done, total), for a progress bar.
using Progress = std::function<void(int64_t done, int64_t total)>;
// Fraction of items whose argmax matches the label, run in batches of `batch`.
double accuracy(const Forward& forward, const LabeledData& data, int64_t batch = 500, const Progress& progress = {});
// Both run a graph that pins a batch of 1 one item at a time (cim/ir/batch.h).
Forward float_forward(const Graph& graph);
Forward quant_forward(const QuantizedModel& model, RunOptions options = {});
// Items [begin, end) of a batched tensor.
Tensor slice_items(const Tensor& t, int64_t begin, int64_t end);

// Accuracy drop (a fraction: float accuracy minus accuracy) with only one layer
// quantized, for every layer; fills report.layers[i].accuracy_drop_alone.
void layer_alone_accuracy_drops(const QuantizedModel& model, QuantReport& report, const LabeledData& data,
                                double float_accuracy, const Progress& progress = {});

// ---- building blocks (exposed for tests) ----

// Clipping range of a set of values by a calibration method (docs/quantization.md,
// "Calibrators"): symmetric or non-negative values get one threshold t on |x| ({-t, t},
// or {0, t} when non-negative and not symmetric), others [lo, hi] with lo <= 0 <= hi.
// `levels` is the largest code of the grid the range is cut into: 127 for signed 8-bit
// codes +-127, 255 for unsigned or asymmetric 8-bit codes 0..255.
struct Range {
    double lo = 0, hi = 0;
};
Range calibrate_range(std::vector<float> values, CalibrationMethod method, double percentile, bool symmetric,
                      bool nonnegative, int64_t levels);

// Rounds a positive scale to a power of two (the one of least squared error on
// `values` among the two neighbours when values are given, else the upper one).
double pow2_scale(double scale, const float* values = nullptr, size_t count = 0, int64_t qmax = 0);

// Weight-stationary nodes of a graph with their K x N view: the one definition the mapper shares
// (cim/ir/weight_stationary.h).
using MvmView = WeightStationaryView;
// The weight-stationary layers; `skipped` gets a line per matmul node that runs in float, and why.
std::vector<MvmView> find_mvm_layers(const Graph& g, std::vector<std::string>* skipped = nullptr);

// Cross-layer equalization of a graph's float weights, in place; returns the pairs. With
// keep_model_quantization, pairs with a weight a QDQ model quantized are left alone.
std::vector<std::string> equalize_cross_layer(Graph& g, bool keep_model_quantization = false);

}  // namespace cim::quant
