// The JSON of cim-quant's report (and cimforge.quantize in Python): one definition of the fields.
#include <cim/quant/report_json.h>

#include <cmath>

namespace cim::quant {

namespace {

using json = nlohmann::json;

json null_or(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

}  // namespace

nlohmann::json quant_report_json(const QuantReport& report, const QuantDefaults& q, const DeviceSpec& device) {
    json j;
    j["model_quantization"] = report.model_quantization;
    j["options"] = {{"weight_bits", q.weight_bits},
                    {"activation_bits", q.activation_bits},
                    {"weight_mode", std::string(to_string(q.weight_mode))},
                    {"per_channel", q.per_channel},
                    {"symmetric", q.symmetric},
                    {"weight_calibration", std::string(to_string(q.weight_calibration))},
                    {"activation_calibration", std::string(to_string(q.calibration))},
                    {"power_of_two_scales", q.power_of_two_scales},
                    {"cle", q.cle},
                    {"bias_correction", q.bias_correction},
                    {"adaround", q.adaround},
                    {"signed_inputs", std::string(to_string(device.input.signed_handling))},
                    {"weight_encoding", std::string(to_string(device.weight.encoding))}};
    j["layers"] = json::array();
    for (const auto& r : report.layers) {
        json l{{"name", r.name},
                {"op", std::string(op_name(r.op))},
                {"k", r.K},
                {"n", r.N},
                {"groups", r.groups},
                {"weight_mode", std::string(to_string(r.weight_mode))},
                {"weight_bits", r.weight_bits},
                {"weight_qmax", r.weight_qmax},
                {"activation_bits", r.activation_bits},
                {"weight_scale_min", r.weight_scale_min},
                {"weight_scale_max", r.weight_scale_max},
                {"activation_scale", r.activation_scale},
                {"activation_zero_point", r.activation_zero_point},
                {"activation_signed", r.activation_signed},
                {"input_realization", std::string(to_string(r.realization))},
                {"weight_clipped_fraction", r.weight_clipped_fraction},
                {"activation_clipped_fraction", r.activation_clipped_fraction},
                {"weight_sqnr_db", null_or(r.weight_sqnr_db)},
                {"output_sqnr_alone_db", null_or(r.output_sqnr_alone_db)},
                {"output_sqnr_db", null_or(r.output_sqnr_db)},
                {"bias_correction_rms", r.bias_correction_rms},
                {"adaround_changed", r.adaround_flipped},
                {"weight_source", r.weights_from_model ? "model" : "calibrated"},
                {"activation_source", r.input_from_model ? "model" : "calibrated"}};
        if (r.arrays >= 0) l["arrays"] = r.arrays;
        l["accuracy_drop_alone"] = r.accuracy_drop_alone ? json(*r.accuracy_drop_alone) : json(nullptr);
        j["layers"].push_back(l);
    }
    j["cle_pairs"] = report.cle_pairs;
    j["notes"] = report.notes;
    if (report.mixed_precision) {
        const auto& mp = *report.mixed_precision;
        j["mixed_precision"] = {{"budget_arrays", mp.budget_arrays},
                                {"arrays", mp.arrays},
                                {"chosen_bits", mp.chosen_bits},
                                {"candidate_bits", mp.candidate_bits},
                                {"uniform_bits_fitting", mp.uniform_bits_fitting},
                                {"uniform_arrays", mp.uniform_arrays},
                                {"arrays_per_bits", mp.arrays_per_bits},
                                {"sensitivity", mp.sensitivity}};
    }
    return j;
}

void add_evaluation(nlohmann::json& j, const Evaluation& e) {
    j["model"] = e.model;
    j["dataset"] = e.dataset;
    j["images"] = e.images;
    j["calibration_images"] = e.calibration_images;
    j["calibration_source"] = e.calibration_source;
    j["float_accuracy"] = e.float_accuracy;
    j["accuracy"] = e.accuracy;
    j["accuracy_drop"] = e.float_accuracy - e.accuracy;
}

}  // namespace cim::quant
