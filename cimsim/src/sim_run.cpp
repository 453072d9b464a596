// One accuracy run as cim-sim makes it (and cimforge.simulate in Python), and its JSON.
#include <cim/cimsim/sim_run.h>

#include <cim/cimsim/metrics.h>
#include <cim/mapper/mapping.h>

#include <chrono>
#include <cmath>
#include <limits>

namespace cim::sim {

using json = nlohmann::json;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

FloatReference float_reference(const Graph& graph, const quant::LabeledData& test, const quant::Progress& progress) {
    const auto t0 = Clock::now();
    FloatReference ref;
    ref.outputs = first_outputs(quant::float_forward(graph), test.inputs, 250, progress);
    ref.seconds = since(t0);
    MetricAccumulator scores(test.labels, nullptr);
    scores.add(ref.outputs, 0);
    ref.accuracy = scores.result().accuracy;
    return ref;
}

QuantizedForSim quantize_for_sim(const Graph& graph, const DeviceSpec& device, const SampleSet& calibration,
                                 const quant::LabeledData& test, const FloatReference& reference,
                                 const std::set<std::string>& host_layers,
                                 const std::function<quant::Progress(const std::string& label)>& progress_bar) {
    auto bar = [&](const std::string& label) { return progress_bar ? progress_bar(label) : quant::Progress{}; };
    quant::QuantOptions qo = quant::QuantOptions::from_device(device);
    qo.arrays_at_width = arrays_per_layer_at_width;  // for a mixed-precision budget
    qo.report_sqnr = false;  // cim-quant's per-layer report: L + 1 more passes over the calibration data
    qo.host_layers = host_layers;
    qo.progress = bar("quantizing, calibrated on " + std::to_string(calibration.count()) + " samples");
    QuantizedForSim out;
    const auto t_quant = Clock::now();
    out.quantized = quant::quantize(graph, device, calibration.tensors(), qo);
    out.quantize_seconds = since(t_quant);
    const auto t_program = Clock::now();
    MetricAccumulator scores(test.labels, &reference.outputs);
    scores.add(first_outputs(quant::quant_forward(out.quantized.model), test.inputs, 250, bar("integer program (ideal arrays)")), 0);
    out.program_seconds = since(t_program);
    const OutputMetrics m = scores.result();
    out.accuracy = test.labels.empty() ? m.agreement_top1 : m.accuracy;
    return out;
}

AdcTotals adc_totals(const SimResult& r) {
    AdcTotals t;
    for (const auto& l : r.layers) {
        t.conversions += l.conversions;
        t.clipped += l.clipped;
    }
    return t;
}

json result_json(const SimResult& r) {
    json layers = json::array();
    for (const auto& l : r.layers) {
        const double snr = l.snr_db();
        layers.push_back({{"name", l.name},
                          {"snr_db", std::isfinite(snr) ? json(snr) : json(nullptr)},
                          {"exact", l.exact()},
                          {"adc_conversions", l.conversions},
                          {"adc_clipped_conversions", l.clipped},
                          {"adc_clipped_fraction", l.conversions ? double(l.clipped) / double(l.conversions) : 0.0}});
    }
    const AdcTotals adc = adc_totals(r);
    auto num = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
    // Without labels there is no accuracy: "accuracy" is null and agreement_top1 is the headline.
    const double acc = std::isnan(r.mean_metrics.accuracy) ? kNaN : r.mean_accuracy;
    json j = {{"accuracy", num(acc)},
            {"accuracy_ci95", {num(acc - r.ci95_half_width), num(acc + r.ci95_half_width)}},
            {"float_accuracy", num(r.float_accuracy)},
            {"quant_accuracy", num(r.quant_accuracy)},
            {"images", r.images},
            {"instances", r.instances},
            {"instance_accuracy", r.instance_accuracy},
            {"exact", r.exact},
            {"snr_images", r.snr_images},
            {"seconds", r.seconds},
            {"adc_conversions", adc.conversions},
            {"adc_clipped_fraction", adc.clipped_fraction()},
            {"layers", layers}};
    // Every metric that applies, with its 95 % interval over instances when there are several.
    // Without labels "accuracy" is the top-1 agreement with the float model.
    for (const MetricField& f : metric_fields()) {
        const double m = r.mean_metrics.*f.field, h = r.ci95_metrics.*f.field;
        if (std::string(f.name) == "accuracy" || std::isnan(m)) continue;
        j[f.name] = num(m);
        if (r.instances > 1) j[std::string(f.name) + "_ci95"] = {num(m - h), num(m + h)};
    }
    j["labels"] = std::isfinite(r.mean_metrics.accuracy);
    return j;
}

// Whether the model's own (QDQ) quantization was used, and where each layer's came from.
void add_model_quantization(json& j, const quant::QuantReport& report) {
    j["model_quantization"] = report.model_quantization;
    for (json& l : j["layers"])
        for (const auto& r : report.layers)
            if (r.name == l["name"]) {
                l["weight_source"] = r.weights_from_model ? "model" : "calibrated";
                l["activation_source"] = r.input_from_model ? "model" : "calibrated";
            }
}

json run_json(const SimResult& r, const DeviceSpec& device, const quant::QuantReport& report, const RunInfo& info) {
    json j = result_json(r);
    j["model"] = info.model;
    j["device"] = device.name;
    // An oracle range (each read's own largest sum) is a bound, not a circuit.
    j["adc_range"] = std::string(to_string(device.array.adc.range));
    j["adc_range_realisable"] = device.array.adc.range != AdcRange::oracle;
    j["data"] = info.data;
    j["calibration_source"] = info.calibration_source;
    j["overrides"] = info.overrides;
    j["seed"] = info.seed;
    j["phase_seconds"] = {{"float_reference", info.float_seconds},
                          {"quantization", info.quantize_seconds},
                          {"integer_program", info.program_seconds},
                          {"adc_calibration", r.adc_calibration_seconds},
                          {"simulation", r.simulation_seconds}};
    add_model_quantization(j, report);
    return j;
}

}  // namespace cim::sim
