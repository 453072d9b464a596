// cim-quant: quantize a model for a device, calibrated on the training set, and
// measure float and quantized (integer program) accuracy on the test set.
//
//   cim-quant MODEL.onnx --device DEVICE (--dataset fashion-mnist | --data PATH [--labels FILE]) [--set quant.KEY=VALUE ...]
//             [--limit N] [--calibration N] [--json] [--report]
#include "cli_common.h"
#include "data_options.h"

#include <cim/device/device_spec.h>
#include <cim/ir/finite.h>
#include <cim/ir/onnx_import.h>
#include <cim/memory_budget.h>
#include <cim/output_file.h>
#include <cim/mapper/mapping.h>
#include <cim/models/fashion_mnist.h>
#include <cim/quant/quantizer.h>
#include <cim/quant/report_json.h>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <unistd.h>

using namespace cim;
using namespace cim::quant;

namespace {

std::string scale_text(double lo, double hi) {
    if (lo == hi) return fmt::format("{:.3g}", lo);
    return fmt::format("{:.3g}..{:.3g}", lo, hi);
}

// The weight codes as the layers have them (uniform 1-bit codes are binary; mixed
// precision gives a range of widths); a width and a calibrator only for uniform codes.
std::string weights_text(const QuantDefaults& q, const QuantReport& report) {
    const char* granularity = q.per_channel ? "per-channel" : "per-tensor";
    WeightMode mode = q.weight_mode;
    int lo = q.weight_bits, hi = q.weight_bits;
    if (!report.layers.empty()) {
        mode = report.layers.front().weight_mode;
        lo = hi = report.layers.front().weight_bits;
        for (const auto& l : report.layers) {
            lo = std::min(lo, l.weight_bits);
            hi = std::max(hi, l.weight_bits);
        }
    }
    const bool all_model = !report.layers.empty() &&
                           std::all_of(report.layers.begin(), report.layers.end(), [](const LayerReport& l) { return l.weights_from_model; });
    if (all_model)  // a QDQ model's own codes: no width, granularity or calibrator of ours applies
        return fmt::format("the model's own {}-bit codes", lo == hi ? std::to_string(hi) : fmt::format("{}..{}", lo, hi));
    switch (mode) {
        case WeightMode::binary: return fmt::format("binary (codes -1, +1) {}", granularity);
        case WeightMode::ternary: return fmt::format("ternary (codes -1, 0, +1) {}", granularity);
        case WeightMode::uniform: break;
    }
    return fmt::format("uniform {}-bit {} {} ({})", lo == hi ? std::to_string(hi) : fmt::format("{}..{}", lo, hi), granularity,
                       q.symmetric ? "symmetric" : "asymmetric", to_string(q.weight_calibration));
}

}  // namespace

int main(int argc, char** argv) {
    return cli::guarded_main("cim-quant", [&]() -> int {
        CLI::App app{"cim-quant: quantize an ONNX model for a CIM device (calibrated on training images) and "
                     "report float and quantized accuracy on the test set, with a per-layer report.\n"
                     "Quantization options come from the device YAML's quant: section and --set quant.KEY=VALUE."};
        std::string model_path, device_name;
        data::EvaluationSpec data_spec;
        std::vector<std::string> sets;
        int calibration = 0;
        bool json = false, report_drops = false, verbose = false, quiet = false;
        app.add_option("model", model_path, "ONNX model file")->required();
        app.add_option("--device", device_name, "device YAML path or bundled name (e.g. wtm2101)")->required();
        cli::add_data_options(app, data_spec);
        std::vector<std::string> host_layers;
        app.add_option("--host-layers", host_layers, "weight-stationary nodes kept in float on the host, as cim-map --host-layers (comma-separated)")
            ->delimiter(',');
        app.add_option("--set", sets, "override a device key, e.g. --set quant.weight_bits=4 (repeatable)");
        app.add_option("--calibration", calibration,
                       "calibration samples (default: quant.calibration_samples), drawn from the training set or held apart from --data")
            ->check(CLI::Range(1, models::kFashionMnistTrainCount));
        app.add_flag("--json", json, "print one JSON object on stdout");
        app.add_flag("--report", report_drops,
                     "also measure the accuracy drop of each layer quantized alone (one evaluation per layer)");
        app.add_flag("--verbose", verbose, "a line per quantization step on stderr");
        app.add_flag("--quiet", quiet, "no progress bar (drawn on stderr when it is a terminal)");
        cli::add_max_memory_option(app);
        if (auto status = cli::parse_args(app, argc, argv)) return *status;
        const auto t0 = std::chrono::steady_clock::now();  // the times printed cover the whole command
        auto phase = [&](const std::string& what) { cli::progress_phase("cim-quant", what, !quiet); };
        auto phase_bar = [&](const std::string& label) { return cli::progress_bar(label, !quiet); };
        if (calibration > 0) sets.push_back("quant.calibration_samples=" + std::to_string(calibration));
        const DeviceSpec device = load_device(device_name, sets);
        phase("importing " + model_path);
        std::string batch_note;
        const Graph graph = cli::import_for_accuracy(model_path, &batch_note);
        if (!batch_note.empty()) fmt::print(stderr, "{}cim-quant: note: {}\n", !quiet && isatty(2) ? "\r" : "", batch_note);

        QuantOptions options = QuantOptions::from_device(device);
        options.arrays_at_width = arrays_per_layer_at_width;  // for a mixed-precision budget
        options.verbose = verbose;
        options.host_layers.insert(host_layers.begin(), host_layers.end());
        options.progress = phase_bar("quantizing and calibrating");
        data_spec.calibration_count = options.q.calibration_samples;
        data_spec.seed = uint64_t(options.q.calibration_seed);
        phase("reading the data");
        data::EvaluationSets data_sets = cli::load_sets_for_model(data_spec, graph, model_path);
        if (!data_sets.test.has_labels())
            throw InputError(cli::data_name(data_spec) + ": has no labels; cim-quant reports accuracy, so give --labels FILE (or an .npz with y)");
        const LabeledData test_data{std::move(data_sets.test.inputs), std::move(data_sets.test.labels)};
        const LabeledData calib_data{std::move(data_sets.calibration.inputs), {}};

        QuantResult qr = quantize(graph, device, calib_data.inputs.tensors(), options);
        const double float_acc = accuracy(float_forward(qr.model.graph), test_data, 500, phase_bar("float accuracy"));
        const auto tq = std::chrono::steady_clock::now();
        const double quant_acc = accuracy(quant_forward(qr.model), test_data, 500, phase_bar("quantized accuracy"));
        const double quant_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - tq).count();
        if (report_drops) layer_alone_accuracy_drops(qr.model, qr.report, test_data, float_acc, phase_bar("accuracy drop per layer"));
        const double total_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const auto meta = graph.metadata.find("float_test_accuracy");
        const QuantDefaults& q = options.q;

        if (json) {
            nlohmann::json j = quant_report_json(qr.report, q, device);
            add_evaluation(j, {model_path, cli::data_name(data_spec), test_data.inputs.count(), calib_data.inputs.count(),
                               data_sets.calibration_source, float_acc, quant_acc});
            j["device"] = device.name;
            if (meta != graph.metadata.end()) j["float_test_accuracy_metadata"] = std::stod(meta->second);
            j["seconds"] = {{"quantize", qr.report.seconds}, {"quantized_eval", quant_seconds}, {"total", total_seconds}};
            fmt::print("{}\n", j.dump(2));
            return cli::kExitOk;
        }

        fmt::print("{} on {} ({} weights, {} signed inputs), {} samples of {} scored; calibrated on {}\n", model_path, device.name,
                   to_string(device.weight.encoding), to_string(device.input.signed_handling), test_data.inputs.count(),
                   cli::data_name(data_spec), data_sets.calibration_source);
        const auto& layers = qr.report.layers;
        const bool model_inputs = !layers.empty() && std::all_of(layers.begin(), layers.end(),
                                                                 [](const LayerReport& l) { return l.input_from_model; });
        fmt::print("options: weights {}, activations {}{}{}{}{}\n", weights_text(q, qr.report),
                   model_inputs ? "the model's own" : fmt::format("{}-bit ({})", q.activation_bits, to_string(q.calibration)),
                   q.power_of_two_scales && !model_inputs ? ", power-of-two scales" : "",
                   q.cle ? ", CLE" : "", q.bias_correction ? ", bias correction" : "", q.adaround ? ", AdaRound" : "");
        if (qr.report.model_quantization) fmt::print("model quantization: {}\n", model_quantization_text(qr.report));
        fmt::print("float accuracy      {:.2f} %\n", 100 * float_acc);
        // A drop is float minus quantized accuracy: positive when quantization loses accuracy (as in the JSON).
        fmt::print("quantized accuracy  {:.2f} %   (drop {:.2f} points)\n", 100 * quant_acc, 100 * (float_acc - quant_acc));
        fmt::print("\n{:<34} {:>6} {:>5} {:>5} {:>4} {:>4} {:>17} {:>9} {:>4} {:>8} {:>8} {:>7} {:>7} {:>7}{}\n", "layer", "op", "K",
                   "N", "wb", "ab", "w scale", "x scale", "x zp", "w clip%", "x clip%", "wSQNR", "alone", "full",
                   report_drops ? "  drop alone" : "");
        for (const auto& r : qr.report.layers) {
            std::string name = r.name.size() > 34 ? "..." + r.name.substr(r.name.size() - 31) : r.name;
            fmt::print("{:<34} {:>6} {:>5} {:>5} {:>4} {:>4} {:>17} {:>9.3g} {:>4} {:>8.3f} {:>8.3f} {:>7.1f} {:>7.1f} {:>7.1f}", name,
                       op_name(r.op), r.K, r.N * r.groups, r.weight_bits, r.activation_bits,
                       scale_text(r.weight_scale_min, r.weight_scale_max), r.activation_scale, r.activation_zero_point,
                       100 * r.weight_clipped_fraction, 100 * r.activation_clipped_fraction, r.weight_sqnr_db,
                       r.output_sqnr_alone_db, r.output_sqnr_db);
            if (r.accuracy_drop_alone) fmt::print("  {:10.2f}", 100 * *r.accuracy_drop_alone);
            fmt::print("\n");
        }
        fmt::print("(wb/ab: weight/activation bits; SQNR in dB on calibration data: weights, the layer's output with "
                   "it alone quantized, and with the whole network quantized{})\n",
                   report_drops ? "; drop alone: points of accuracy lost with only that layer quantized" : "");
        if (!qr.report.cle_pairs.empty()) fmt::print("cross-layer equalization: {} pairs\n", qr.report.cle_pairs.size());
        if (qr.report.mixed_precision) {
            const auto& mp = *qr.report.mixed_precision;
            fmt::print("mixed precision: {} arrays used of a budget of {}; the widest uniform width within it: {}\n", mp.arrays,
                       mp.budget_arrays, mp.uniform_bits_fitting ? fmt::format("{} bits ({} arrays)", mp.uniform_bits_fitting, mp.uniform_arrays) : "none");
        }
        for (const auto& n : qr.report.notes) fmt::print("note: {}\n", n);
        fmt::print("quantize {:.1f} s, quantized evaluation {:.1f} s, total {:.1f} s\n", qr.report.seconds, quant_seconds,
                   total_seconds);
        return cli::kExitOk;
    });
}
