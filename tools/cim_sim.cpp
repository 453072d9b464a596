// cim-sim: how much accuracy survives the analog hardware. Quantizes the network for
// the device (calibrated on the training set), runs the integer program with every
// weight-stationary layer read through modelled crossbars, Monte-Carlo over chip
// instances, and reports accuracy with a 95 % confidence interval and the error
// each layer adds. --study sweeps one or two device fields.
#include "cli_common.h"
#include "data_options.h"
#include "line_plot.h"

#include <cim/cimsim/sim_run.h>
#include <cim/cimsim/simulator.h>
#include <cim/device/device_spec.h>
#include <cim/ir/finite.h>
#include <cim/ir/onnx_import.h>
#include <cim/memory_budget.h>
#include <cim/output_file.h>
#include <cim/mapper/mapping.h>
#include <cim/models/fashion_mnist.h>
#include <cim/quant/quantizer.h>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <unistd.h>
#include <limits>
#include <fstream>
#include <optional>

using namespace cim;
using json = nlohmann::json;

namespace {

struct Axis {
    std::string path;
    std::vector<std::string> values;  // as --set text
    std::vector<double> numbers;
};

// PATH=START:STOP[:STEP], or PATH=a,b,c.
Axis parse_study(const std::string& spec) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0)
        throw InputError("--study " + spec + ": expected PATH=START:STOP[:STEP] or PATH=V1,V2,... (e.g. array.adc.bits=3:8)");
    Axis a;
    a.path = spec.substr(0, eq);
    const std::string rhs = spec.substr(eq + 1);
    auto num = [&](const std::string& t) {
        try {
            size_t used = 0;
            double v = std::stod(t, &used);
            if (used != t.size()) throw std::invalid_argument(t);
            return v;
        } catch (const std::exception&) {
            throw InputError("--study " + spec + ": '" + t + "' is not a number");
        }
    };
    if (rhs.find(':') != std::string::npos) {
        std::vector<std::string> parts;
        size_t p = 0, q;
        while ((q = rhs.find(':', p)) != std::string::npos) {
            parts.push_back(rhs.substr(p, q - p));
            p = q + 1;
        }
        parts.push_back(rhs.substr(p));
        if (parts.size() < 2 || parts.size() > 3) throw InputError("--study " + spec + ": expected START:STOP[:STEP]");
        const double start = num(parts[0]), stop = num(parts[1]);
        const bool ints = std::floor(start) == start && std::floor(stop) == stop && (parts.size() < 3 || std::floor(num(parts[2])) == num(parts[2]));
        const double step = parts.size() == 3 ? num(parts[2]) : (ints ? 1.0 : (stop - start) / 10.0);
        if (step == 0 || (stop - start) / step < 0) throw InputError("--study " + spec + ": the step does not lead from START to STOP");
        const int64_t count = int64_t(std::floor((stop - start) / step + 1e-9)) + 1;
        if (count > 1000) throw InputError("--study " + spec + ": " + std::to_string(count) + " points; at most 1000");
        for (int64_t i = 0; i < count; ++i) {
            const double v = start + double(i) * step;
            a.numbers.push_back(v);
            a.values.push_back(ints ? std::to_string(int64_t(std::llround(v))) : fmt::format("{:.6g}", v));
        }
    } else {
        size_t p = 0, q;
        std::string rest = rhs + ",";
        while ((q = rest.find(',', p)) != std::string::npos) {
            std::string t = rest.substr(p, q - p);
            if (!t.empty()) {
                a.values.push_back(t);
                a.numbers.push_back(num(t));
            }
            p = q + 1;
        }
    }
    if (a.values.empty()) throw InputError("--study " + spec + ": no values");
    return a;
}

}  // namespace

int main(int argc, char** argv) {
    return cli::guarded_main("cim-sim", [&]() -> int {
        CLI::App app{"cim-sim: simulate a quantized network on a CIM device's crossbars (ADC, noise, variation,\n"
                     "stuck cells, drift, IR drop) over a real dataset and report the accuracy that survives."};
        std::string model_path, device_name;
        data::EvaluationSpec data_spec;
        std::string out_csv, plot_path;
        std::vector<std::string> sets, studies;
        int instances = 1, calib = -1;
        uint64_t seed = 1;
        bool as_json = false, quiet = false;
        app.add_option("model", model_path, "ONNX model file")->required();
        app.add_option("--device", device_name, "device YAML path or bundled name")->required();
        cli::add_data_options(app, data_spec);
        std::string reference = "labels";
        app.add_option("--reference", reference,
                       "score against the data's labels (default) or the float model's outputs only (float: agreement, SNR, KL), "
                       "e.g. for an image folder whose class folders are not the model's classes")
            ->check(CLI::IsMember({"labels", "float"}));
        std::vector<std::string> host_layers;
        app.add_option("--host-layers", host_layers, "weight-stationary nodes kept in float on the host, as cim-map --host-layers (comma-separated)")
            ->delimiter(',');
        app.add_option("--instances", instances, "chip instances (Monte-Carlo over device variation)")->check(CLI::Range(1, 10000));
        app.add_option("--seed", seed, "seed of every random draw (device variation, read noise, calibration split)");
        app.add_option("--calibration", calib,
                       "calibration samples, from the training set or held apart from --data (default: the device's quant.calibration_samples)")
            ->check(CLI::Range(1, 60000));
        std::string adc_calibration = "nominal";
        app.add_option("--adc-calibration", adc_calibration,
                       "where calibrated ADC ranges (array.adc.range: calibrated_*) come from: nominal (the programmed digits, "
                       "exact integer column sums, one pass shared by every chip instance; default) or per-instance (each "
                       "instance's own conductances with programming error and stuck cells, one slower pass per instance)")
            ->check(CLI::IsMember({"nominal", "per-instance"}));
        std::string adc_ranges_path;
        app.add_option("--adc-ranges", adc_ranges_path,
                       "YAML file of trained ADC ranges, one per layer (models/hwa_train.py writes adc_ranges.yaml): the named "
                       "layers convert with these instead of calibrated ranges (needs array.adc.range calibrated_*)");
        std::string snr_images_text = "1000";
        app.add_option("--snr-images", snr_images_text,
                       "test images whose reads are compared with the exact GEMM for the per-layer SNR, or 'all' (default 1000; "
                       "the comparison costs as much as an ideal read; accuracy always covers every image)")
            ->check([](const std::string& v) {
                if (v == "all") return std::string();
                try {
                    size_t used = 0;
                    const long long n = std::stoll(v, &used);
                    if (used == v.size() && n >= 0) return std::string();
                } catch (const std::exception&) {
                }
                return "give a number of images (0 or more) or 'all', not '" + v + "'";
            });
        app.add_option("--set", sets, "override a device field, e.g. --set noise.programming_sigma=0.05 (repeatable)");
        app.add_option("--study", studies, "sweep a device field: PATH=START:STOP[:STEP] or PATH=V1,V2 (one or two)");
        app.add_option("--out", out_csv, "CSV file for --study (default study.csv)");
        app.add_option("--plot", plot_path, "SVG plot for --study (default: the CSV name with .svg)");
        app.add_flag("--json", as_json, "print one JSON object on stdout");
        app.add_flag("--quiet", quiet, "no progress bar");
        cli::add_max_memory_option(app);
        if (auto status = cli::parse_args(app, argc, argv)) return *status;
        const int64_t snr_images = snr_images_text == "all" ? -1 : int64_t(std::stoll(snr_images_text));
        if (studies.size() > 2) throw InputError("--study: at most two axes");
        std::vector<Axis> axes;
        for (const auto& s : studies) axes.push_back(parse_study(s));

        const auto t_start = std::chrono::steady_clock::now();  // "seconds" covers the whole command
        // Every phase shows on a terminal: a line for the short ones, a bar with rate and ETA for the long.
        auto phase = [&](const std::string& what) { cli::progress_phase("cim-sim", what, !quiet); };
        auto phase_bar = [&](const std::string& label) { return cli::progress_bar(label, !quiet); };
        DeviceSpec base = load_device(device_name, sets);  // validates --set before the long work
        std::optional<sim::AdcRangeFile> adc_ranges;
        if (!adc_ranges_path.empty()) adc_ranges = sim::load_adc_ranges(adc_ranges_path);
        for (const Axis& a : axes) load_device(device_name, [&] { auto v = sets; v.push_back(a.path + "=" + a.values.front()); return v; }());
        phase("importing " + model_path);
        std::string batch_note;
        Graph graph = cli::import_for_accuracy(model_path, &batch_note);
        if (!batch_note.empty()) fmt::print(stderr, "{}cim-sim: note: {}\n", !quiet && isatty(2) ? "\r" : "", batch_note);
        phase("reading the data");
        if (data_spec.data.empty() && data_spec.dataset.empty()) data_spec.dataset = "fashion-mnist";
        data_spec.calibration_count = calib > 0 ? calib : base.quant.calibration_samples;
        data_spec.seed = seed;
        data::EvaluationSets data_sets = cli::load_sets_for_model(data_spec, graph, model_path);
        if (reference == "float") data_sets.test.labels.clear();
        const quant::LabeledData test{std::move(data_sets.test.inputs), std::move(data_sets.test.labels)};
        const SampleSet calibration = std::move(data_sets.calibration.inputs);
        // The float model's outputs: the reference of the label-free metrics (and float accuracy).
        // Seconds per phase of the last point (JSON "phase_seconds"): where a run's time goes.
        const sim::FloatReference float_ref = sim::float_reference(graph, test, phase_bar("float reference"));
        const Tensor& float_outputs = float_ref.outputs;
        const double float_seconds = float_ref.seconds, float_acc = float_ref.accuracy;
        double quantize_seconds = 0, program_seconds = 0;

        // Quantize once, unless a studied field changes what the quantizer produces
        // (weight codes and cell digits depend on weight./cell./input./quant. fields).
        auto shapes_quantization = [](const std::string& path) {
            for (const char* p : {"weight.", "cell.", "input.", "quant.", "array.usable"})
                if (path.rfind(p, 0) == 0) return true;
            return false;
        };
        bool requantize = false;
        for (const Axis& a : axes) requantize = requantize || shapes_quantization(a.path);
        std::optional<quant::QuantResult> shared_q;
        double shared_q_acc = 0;
        auto run_point = [&](const DeviceSpec& device, const std::string& label) {
            if (requantize || !shared_q) {
                sim::QuantizedForSim qs = sim::quantize_for_sim(graph, device, calibration, test, float_ref,
                                                                {host_layers.begin(), host_layers.end()}, phase_bar);
                quantize_seconds = qs.quantize_seconds;
                program_seconds = qs.program_seconds;
                shared_q = std::move(qs.quantized);
                shared_q_acc = qs.accuracy;
            }
            const quant::QuantResult& qr = *shared_q;
            const double q_acc = shared_q_acc;
            cli::ProgressBar bar(label, !quiet);
            sim::SimOptions so;
            so.seed = seed;
            so.instances = instances;
            so.adc_calibration = adc_calibration == "nominal" ? sim::AdcCalibration::nominal : sim::AdcCalibration::per_instance;
            so.progress = [&](int64_t d, int64_t t) { bar.update(d, t); };
            so.calibration_progress = phase_bar("ADC calibration");
            so.reference_outputs = &float_outputs;
            so.adc_ranges = adc_ranges ? &*adc_ranges : nullptr;
            so.snr_images = axes.empty() ? snr_images : 0;  // a study reports accuracy only
            auto r = sim::simulate(qr.model, device, test, calibration, float_acc, q_acc, so);
            bar.finish();
            return r;
        };

        if (axes.empty()) {
            sim::SimResult r = run_point(base, "simulating");
            r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
            if (as_json) {
                json j = sim::run_json(r, base, shared_q->report,
                                             {model_path, cli::data_name(data_spec), data_sets.calibration_source, sets, seed,
                                              float_seconds, quantize_seconds, program_seconds});
                j["adc_ranges_file"] = adc_ranges ? json(adc_ranges->path) : json(nullptr);
                fmt::print("{}\n", j.dump(2));
                return cli::kExitOk;
            }
            fmt::print("{} on {}: {} samples of {}, {} chip instance(s), seed {}\ncalibrated on {}\n\n", model_path, base.name, r.images,
                       cli::data_name(data_spec), r.instances, seed, data_sets.calibration_source);
            if (shared_q->report.model_quantization)
                fmt::print("model quantization: {}\n\n", quant::model_quantization_text(shared_q->report));
            if (base.array.adc.range == AdcRange::oracle)
                fmt::print("ADC range: oracle -- each read converted with the range of its own largest column sum, as NeuroSim "
                           "reads; NOT REALISABLE (an ADC cannot know the sums before converting them)\n\n");
            // The clipped share of the conversions, under the range granularity in force (clipped: a
            // code past either end of the ADC's range).
            fmt::print("ADC range: {}{}\n", to_string(base.array.adc.range),
                       base.weight.encoding == WeightEncoding::differential && base.weight.differential_readout == DifferentialReadout::analog
                           ? " (bipolar, on the analog difference of each W+/W- pair)"
                           : "");
            if (adc_ranges)
                fmt::print("trained ranges from {} for {} layer(s)\n", adc_ranges->path, adc_ranges->ranges.size());
            fmt::print("{:<36} {:>10} {:>14} {:>12}\n", "layer", "SNR (dB)", "ADC clipped", "conversions");
            for (const auto& l : r.layers) {
                const double snr = l.snr_db();
                fmt::print("{:<36} {:>10} {:>13.3f}% {:>12}\n", l.name.size() > 36 ? l.name.substr(0, 33) + "..." : l.name,
                           l.exact() ? "exact" : std::isnan(snr) ? "-" : fmt::format("{:.1f}", snr),
                           l.conversions ? 100.0 * double(l.clipped) / double(l.conversions) : 0.0, l.conversions);
            }
            const sim::AdcTotals adc = sim::adc_totals(r);
            fmt::print("{:<36} {:>10} {:>13.3f}% {:>12}\n", "all layers", "", 100.0 * adc.clipped_fraction(), adc.conversions);
            if (!r.exact)
                fmt::print("(SNR over the reads of the first {} of {} test images per instance, --snr-images; ADC statistics over all)\n",
                           r.snr_images, r.images);
            const bool labelled = !test.labels.empty();
            const char* what = labelled ? "accuracy" : "top-1 agreement with float";
            fmt::print("\n");
            if (labelled) fmt::print("float accuracy      {:.2f}%\n", 100 * r.float_accuracy);
            if (std::isfinite(r.quant_accuracy)) fmt::print("quantized (ideal)   {:.2f}% {}\n", 100 * r.quant_accuracy, labelled ? "" : what);
            if (r.instances > 1)
                fmt::print("simulated           {:.2f}% ± {:.2f}% {} (95% CI over {} instances)\n", 100 * r.mean_accuracy,
                           100 * r.ci95_half_width, labelled ? "" : what, r.instances);
            else if (std::isfinite(r.mean_accuracy))
                fmt::print("simulated           {:.2f}% {}\n", 100 * r.mean_accuracy, labelled ? "" : what);
            const sim::OutputMetrics& mm = r.mean_metrics;
            if (std::isfinite(mm.top5_accuracy)) fmt::print("top-5 accuracy      {:.2f}%\n", 100 * mm.top5_accuracy);
            if (!std::isnan(mm.agreement_top1))
                fmt::print("agreement with float: top-1 {:.2f}%, top-5 {:.2f}%, softmax KL {:.4g} nats\n", 100 * mm.agreement_top1,
                           100 * mm.agreement_top5, mm.kl_divergence);
            if (!std::isnan(mm.output_snr_db))
                fmt::print("output SNR          {:.1f} dB (relative error {:.3g})\n", mm.output_snr_db, mm.relative_error);
            fmt::print("({:.1f} s{})\n", r.seconds, r.exact ? "; every read exact: equals the integer program" : "");
            return cli::kExitOk;
        }

        // Study: one row per point, written as it finishes.
        if (out_csv.empty()) out_csv = "study.csv";
        if (plot_path.empty()) plot_path = out_csv.substr(0, out_csv.rfind('.')) + ".svg";
        AppendFile csv;
        csv.open(out_csv, false, "study CSV");
        csv.append(axes[0].path + (axes.size() > 1 ? "," + axes[1].path : "") +
                   ",accuracy,ci95_low,ci95_high,quant_accuracy,float_accuracy,instances,images\n");
        std::vector<cli::Series> series;
        const size_t outer = axes.size() > 1 ? axes[1].values.size() : 1;
        json points = json::array();
        for (size_t o = 0; o < outer; ++o) {
            cli::Series s;
            s.label = axes.size() > 1 ? axes[1].path + "=" + axes[1].values[o] : "accuracy";
            for (size_t i = 0; i < axes[0].values.size(); ++i) {
                auto point_sets = sets;
                point_sets.push_back(axes[0].path + "=" + axes[0].values[i]);
                if (axes.size() > 1) point_sets.push_back(axes[1].path + "=" + axes[1].values[o]);
                DeviceSpec d = load_device(device_name, point_sets);
                std::string label = axes[0].path + "=" + axes[0].values[i] + (axes.size() > 1 ? " " + axes[1].path + "=" + axes[1].values[o] : "");
                sim::SimResult r = run_point(d, label);
                csv.append(axes[0].values[i] + (axes.size() > 1 ? "," + axes[1].values[o] : "") + "," +
                           fmt::format("{:.6f},{:.6f},{:.6f},{:.6f},{:.6f},{},{}\n", r.mean_accuracy, r.mean_accuracy - r.ci95_half_width,
                                       r.mean_accuracy + r.ci95_half_width, r.quant_accuracy, r.float_accuracy, r.instances, r.images));
                s.x.push_back(axes[0].numbers[i]);
                s.y.push_back(r.mean_accuracy);
                s.err.push_back(r.ci95_half_width);
                json pj = sim::result_json(r);
                sim::add_model_quantization(pj, shared_q->report);
                pj[axes[0].path] = axes[0].values[i];
                if (axes.size() > 1) pj[axes[1].path] = axes[1].values[o];
                points.push_back(pj);
                if (!as_json)
                    fmt::print("{:<48} accuracy {:.2f}% ± {:.2f}%\n", label, 100 * r.mean_accuracy, 100 * r.ci95_half_width);
            }
            series.push_back(s);
        }
        csv.close();
        write_output_file(plot_path,
                          cli::line_plot_svg(fmt::format("{} on {}", model_path.substr(model_path.rfind('/') + 1), base.name), axes[0].path,
                                             test.labels.empty() ? "top-1 agreement with float (95% CI over instances)" : "accuracy (95% CI over instances)", series),
                          "plot");
        if (as_json) fmt::print("{}\n", json{{"model", model_path}, {"device", base.name}, {"csv", out_csv}, {"plot", plot_path}, {"points", points}}.dump(2));
        else fmt::print("wrote {} and {}\n", out_csv, plot_path);
        return cli::kExitOk;
    });
}
