// cimforge.map, quantize, simulate and sweep: the libraries' calls the CLIs make (tools/), with
// the same JSON fields (cim/cimsim/report_json.h, cim/quant/report_json.h, cim/cimsim/sim_run.h).
#include "bindings.h"

#include <optional>

#include <cim/cimsim/cost_model.h>
#include <cim/cimsim/report_json.h>
#include <cim/cimsim/sim_run.h>
#include <cim/error.h>
#include <cim/ir/onnx_import.h>
#include <cim/mapper/mapping.h>
#include <cim/quant/report_json.h>
#include <cim/sweep/comm.h>
#include <cim/sweep/sweep.h>

#include <chrono>
#include <set>

namespace cim::py_bindings {

namespace {

using json = nlohmann::json;

// A quantized model and its report; its arrays are views of the C++ vectors, kept alive by it.
struct Quantized {
    quant::QuantResult result;
    json report;
};

// A simulation's result and, on request, layer outputs (views of the C++ tensors).
struct Simulated {
    sim::SimResult result;
    json report;
};

// A NumPy view of `data` (shape in elements, C order) whose base object keeps `owner` alive.
template <class T>
py::array view(const std::vector<T>& data, std::vector<py::ssize_t> shape, const py::object& owner) {
    py::ssize_t count = 1;
    for (py::ssize_t d : shape) count *= d;
    if (count != py::ssize_t(data.size())) throw InternalError("python view: shape does not match the data");
    py::array a(py::dtype::of<T>(), shape, {}, data.data(), owner);
    // Views are read-only: writing into them would change the C++ model behind the report.
    py::detail::array_proxy(a.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
    return a;
}

std::vector<py::ssize_t> shape_of(const Tensor& t) {
    std::vector<py::ssize_t> s;
    for (int64_t d : t.shape) s.push_back(py::ssize_t(d));
    return s;
}

const quant::QuantLayer& layer_named(const quant::QuantizedModel& m, const std::string& name) {
    if (const quant::QuantLayer* l = m.find(name)) return *l;
    std::string names;
    for (const auto& l : m.layers) names += (names.empty() ? "" : ", ") + l.name;
    throw InputError("no quantized layer named '" + name + "'; the layers are: " + names);
}

}  // namespace

void bind_run(py::module_& m) {
    m.def(
        "_map",
        [](Model& model, const DeviceSpec& device, std::optional<int> chips, const std::vector<std::string>& host_layers,
           bool duplicate, bool keep_zero_arrays, int batch, const std::map<std::string, int>& layer_weight_bits) {
            if (batch < 1) throw InputError("batch: " + std::to_string(batch) + "; give at least 1 inference per batch");
            if (chips && *chips < 1) throw InputError("chips: " + std::to_string(*chips) + "; give at least 1");
            json j;
            {
                py::gil_scoped_release released;
                const Graph graph = specialize_batch(*model.imported, 1);
                MapOptions opt;
                opt.chips = chips;
                opt.host_layers = host_layers;
                opt.duplicate = duplicate;
                opt.skip_zero_arrays = !keep_zero_arrays;
                opt.layer_weight_bits = layer_weight_bits;
                const Mapping mapping = map_model(graph, device, opt);
                CostOptions copt;
                copt.batch = batch;
                const CostReport report = estimate_cost(graph, mapping, device, copt);
                j = mapping_json(mapping, device, report);
                j["estimates"] = estimates_json(device);
            }
            return to_python(j);
        },
        py::arg("model"), py::arg("device"), py::arg("chips"), py::arg("host_layers"), py::arg("duplicate"),
        py::arg("keep_zero_arrays"), py::arg("batch"), py::arg("layer_weight_bits"));

    py::class_<Quantized, std::shared_ptr<Quantized>>(m, "_Quantized")
        .def_property_readonly("report", [](const Quantized& q) { return to_python(q.report); })
        .def("layer_names", [](const Quantized& q) {
            std::vector<std::string> out;
            for (const auto& l : q.result.model.layers) out.push_back(l.name);
            return out;
        })
        .def("weights", [](py::object self, const std::string& name) {
            const auto& l = layer_named(self.cast<Quantized&>().result.model, name);
            return view(l.w, {py::ssize_t(l.groups), py::ssize_t(l.K), py::ssize_t(l.N)}, self);
        })
        .def("weight_scales", [](py::object self, const std::string& name) {
            const auto& l = layer_named(self.cast<Quantized&>().result.model, name);
            return view(l.w_scale, {py::ssize_t(l.groups), py::ssize_t(l.N)}, self);
        })
        .def("weight_zero_points", [](py::object self, const std::string& name) {
            const auto& l = layer_named(self.cast<Quantized&>().result.model, name);
            return view(l.w_zero_point, {py::ssize_t(l.groups), py::ssize_t(l.N)}, self);
        })
        .def("cell_digits", [](py::object self, const std::string& name) {
            // Computed on request (the quantized model does not store them): a new array, not a view.
            const auto& l = layer_named(self.cast<Quantized&>().result.model, name);
            const py::ssize_t C = l.digits.layout.columns_per_output;
            py::array_t<int16_t> out({py::ssize_t(l.groups), py::ssize_t(l.rows()), py::ssize_t(l.N), C});
            int16_t* o = out.mutable_data();
            for (int64_t g = 0; g < l.groups; ++g)
                for (int64_t r = 0; r < l.rows(); ++r)
                    for (int64_t n = 0; n < l.N; ++n) {
                        const int64_t a = l.array_weight(g, r, n);
                        for (int c = 0; c < int(C); ++c) *o++ = l.digits.digit_of(a, c);
                    }
            return out;
        })
        .def("column_weights", [](py::object self, const std::string& name) {
            const auto& l = layer_named(self.cast<Quantized&>().result.model, name);
            return view(l.digits.column_weight, {py::ssize_t(l.digits.column_weight.size())}, self);
        })
        .def("input_quantizer", [](const Quantized& q, const std::string& name) {
            const auto& in = layer_named(q.result.model, name).input;
            py::dict d;
            d["bits"] = in.bits;
            d["scale"] = in.scale;
            d["zero_point"] = in.zero_point;
            d["signed"] = in.is_signed;
            d["realization"] = std::string(quant::to_string(in.realization));
            d["code_min"] = in.code_min;
            d["code_max"] = in.code_max;
            return d;
        });

    m.def(
        "_quantize",
        [](Model& model, const DeviceSpec& device, const py::object& data, const py::object& labels, const py::object& calibration,
           const std::string& dataset, const py::object& preprocess, std::optional<int64_t> limit,
           const std::vector<std::string>& host_layers, const std::map<std::string, int>& layer_bits, bool report_drops,
           const py::object& reporter) {
            const DataArgs args = data_args(model, data, labels, calibration, dataset, preprocess, limit);
            auto out = std::make_shared<Quantized>();
            LongCall call(reporter);
            call.run([&] {
                const auto t0 = std::chrono::steady_clock::now();
                const Graph& graph = model.for_accuracy();
                quant::QuantOptions options = quant::QuantOptions::from_device(device);
                options.arrays_at_width = arrays_per_layer_at_width;  // for a mixed-precision budget
                options.host_layers.insert(host_layers.begin(), host_layers.end());
                options.layer_bits = layer_bits;
                options.progress = call.progress("quantizing and calibrating");
                const bool evaluate = args.arrays || args.path || !args.dataset.empty() || !args.calibration_arrays;
                json& j = out->report;
                if (!evaluate) {  // calibration only: no accuracy
                    const data::Dataset& c = *args.calibration_arrays->set;
                    const SampleSet calib = c.inputs.slice(0, std::min<int64_t>(c.count(), options.q.calibration_samples));
                    out->result = quant::quantize(graph, device, calib.tensors(), options);
                    j = quant::quant_report_json(out->result.report, options.q, device);
                    j["calibration_images"] = calib.count();
                    j["calibration_source"] = std::to_string(calib.count()) + " samples of the calibration array";
                } else {
                    const data::EvaluationSpec spec = evaluation_spec(args, options.q.calibration_samples, uint64_t(options.q.calibration_seed));
                    data::EvaluationSets sets = data::load_evaluation_sets(spec, graph, model.label);
                    if (!sets.test.has_labels())
                        throw InputError(spec.data + ": has no labels; quantize() reports accuracy, so give labels (or only calibration=)");
                    const quant::LabeledData test{std::move(sets.test.inputs), std::move(sets.test.labels)};
                    out->result = quant::quantize(graph, device, sets.calibration.inputs.tensors(), options);
                    // cim-quant's evaluation: float and quantized (integer program) accuracy.
                    const double float_acc = quant::accuracy(quant::float_forward(out->result.model.graph), test, 500, call.progress("float accuracy"));
                    const double quant_acc = quant::accuracy(quant::quant_forward(out->result.model), test, 500, call.progress("quantized accuracy"));
                    if (report_drops)
                        quant::layer_alone_accuracy_drops(out->result.model, out->result.report, test, float_acc, call.progress("accuracy drop per layer"));
                    j = quant::quant_report_json(out->result.report, options.q, device);
                    quant::add_evaluation(j, {model.label, spec.data.empty() ? spec.dataset : spec.data, test.inputs.count(),
                                              sets.calibration.count(), sets.calibration_source, float_acc, quant_acc});
                }
                j["model"] = model.label;
                j["device"] = device.name;
                j["seconds"] = {{"quantize", out->result.report.seconds},
                                {"total", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}};
            });
            return out;
        },
        py::arg("model"), py::arg("device"), py::arg("data"), py::arg("labels"), py::arg("calibration"), py::arg("dataset"),
        py::arg("preprocess"), py::arg("limit"), py::arg("host_layers"), py::arg("layer_bits"), py::arg("report_drops"),
        py::arg("progress"));

    py::class_<Simulated, std::shared_ptr<Simulated>>(m, "_Simulated")
        .def_property_readonly("report", [](const Simulated& s) { return to_python(s.report); })
        .def_property_readonly("instance_accuracy", [](const Simulated& s) { return s.result.instance_accuracy; })
        .def("outputs", [](py::object self) {
            const Simulated& s = self.cast<Simulated&>();
            py::dict out;
            for (const auto& [name, t] : s.result.captured_simulated) {
                const Tensor& exact = s.result.captured_exact.at(name);
                out[py::str(name)] = py::make_tuple(view(t.f, shape_of(t), self), view(exact.f, shape_of(exact), self));
            }
            return out;
        });

    m.def(
        "_simulate",
        [](Model& model, const DeviceSpec& device, const py::object& data, const py::object& labels, const py::object& calibration,
           const std::string& dataset, const py::object& preprocess, std::optional<int64_t> limit, int instances, uint64_t seed,
           const std::string& reference, const std::string& adc_calibration, std::optional<int> calibration_samples,
           const std::vector<std::string>& host_layers, const std::vector<std::string>& outputs, const std::string& adc_ranges_path,
           int64_t snr_images, const py::object& reporter) {
            if (instances < 1 || instances > 10000) throw InputError("instances: " + std::to_string(instances) + "; give 1 to 10000");
            if (reference != "labels" && reference != "float")
                throw InputError("reference: '" + reference + "'; give 'labels' or 'float'");
            if (adc_calibration != "nominal" && adc_calibration != "per-instance")
                throw InputError("adc_calibration: '" + adc_calibration + "'; give 'nominal' or 'per-instance'");
            if (calibration_samples && *calibration_samples < 1) throw InputError("calibration_samples: give at least 1");
            if (snr_images < -1) throw InputError("snr_images: give 0 or more, or None for every image");
            const DataArgs args = data_args(model, data, labels, calibration, dataset, preprocess, limit);
            std::optional<sim::AdcRangeFile> adc_ranges;
            if (!adc_ranges_path.empty()) adc_ranges = sim::load_adc_ranges(adc_ranges_path);
            auto out = std::make_shared<Simulated>();
            LongCall call(reporter);
            call.run([&] {
                // cim-sim's run of one point (tools/cim_sim.cpp).
                const Graph& graph = model.for_accuracy();
                const data::EvaluationSpec spec =
                    evaluation_spec(args, calibration_samples ? *calibration_samples : device.quant.calibration_samples, seed);
                data::EvaluationSets sets = data::load_evaluation_sets(spec, graph, model.label);
                if (reference == "float") sets.test.labels.clear();
                const quant::LabeledData test{std::move(sets.test.inputs), std::move(sets.test.labels)};
                const SampleSet calib = std::move(sets.calibration.inputs);
                const sim::FloatReference ref = sim::float_reference(graph, test, call.progress("float reference"));
                sim::QuantizedForSim qs = sim::quantize_for_sim(graph, device, calib, test, ref, {host_layers.begin(), host_layers.end()},
                                                                [&](const std::string& label) { return call.progress(label); });
                sim::SimOptions so;
                so.seed = seed;
                so.instances = instances;
                so.adc_calibration = adc_calibration == "nominal" ? sim::AdcCalibration::nominal : sim::AdcCalibration::per_instance;
                so.progress = call.progress("simulating");
                so.calibration_progress = call.progress("ADC calibration");
                so.reference_outputs = &ref.outputs;
                so.capture_nodes = outputs;
                so.adc_ranges = adc_ranges ? &*adc_ranges : nullptr;
                so.snr_images = snr_images;
                out->result = sim::simulate(qs.quantized.model, device, test, calib, ref.accuracy, qs.accuracy, so);
                out->report = sim::run_json(out->result, device, qs.quantized.report,
                                            {model.label, spec.data.empty() ? spec.dataset : spec.data, sets.calibration_source,
                                             device.overrides, seed, ref.seconds, qs.quantize_seconds, qs.program_seconds});
                out->report["adc_ranges_file"] = adc_ranges ? nlohmann::json(adc_ranges->path) : nlohmann::json(nullptr);
            });
            return out;
        },
        py::arg("model"), py::arg("device"), py::arg("data"), py::arg("labels"), py::arg("calibration"), py::arg("dataset"),
        py::arg("preprocess"), py::arg("limit"), py::arg("instances"), py::arg("seed"), py::arg("reference"),
        py::arg("adc_calibration"), py::arg("calibration_samples"), py::arg("host_layers"), py::arg("outputs"), py::arg("adc_ranges"),
        py::arg("snr_images"), py::arg("progress"));

    m.def(
        "_sweep",
        [](const std::string& path, const std::string& text, const std::string& base_dir, const std::string& out, bool resume,
           bool force, int threads, std::optional<int> limit, const py::object& reporter) {
            if (threads < 0) throw InputError("threads: give a positive number (0: every core)");
            sweep::SweepSpec spec = text.empty() ? sweep::load_sweep(path) : sweep::parse_sweep(text, path, base_dir);
            if (limit) {
                if (!spec.accuracy) throw InputError("limit: " + path + " computes no accuracy (metrics.accuracy)");
                if (*limit < 1) throw InputError("limit: give at least 1 image");
                sweep::set_accuracy_images(spec, *limit);
            }
            LongCall call(reporter);
            sweep::RunSummary sum;
            call.run([&] {
                const sweep::PointSet ps = sweep::enumerate_points(spec);
                sweep::RunOptions ro;
                ro.out = out;
                ro.resume = resume;
                ro.force = force;
                ro.threads = threads;
                ro.progress = call.progress("sweep " + spec.name);
                const sweep::Comm comm(nullptr, nullptr);  // one process (mpirun is cim-sweep's)
                try {
                    sum = sweep::run_sweep(spec, ps, ro, comm);
                } catch (const sweep::RankError& e) {  // one process: nothing waits for it
                    if (e.exit_code() == 2) throw InputError(e.what());
                    throw InternalError(e.what());
                }
            });
            py::dict d;
            d["sweep"] = path;
            d["csv"] = out;
            d["points"] = sum.points;
            d["resumed"] = sum.resumed;
            d["evaluated"] = sum.evaluated;
            d["ok"] = sum.ok;
            d["pareto"] = sum.on_front;
            d["mappings"] = sum.mappings;
            d["seconds"] = sum.seconds;
            d["columns"] = sum.columns;
            d["rows"] = sum.rows;
            return d;
        },
        py::arg("path"), py::arg("text"), py::arg("base_dir"), py::arg("out"), py::arg("resume"), py::arg("force"),
        py::arg("threads"), py::arg("limit"), py::arg("progress"));
}

}  // namespace cim::py_bindings
