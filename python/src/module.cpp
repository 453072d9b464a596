// The cimforge Python module: errors, devices and models. data.cpp binds the data,
// run.cpp map, quantize, simulate and sweep. The package's __init__.py adds the Python side
// (Model.from_torch, the tqdm reporter, result classes); docs/python.md is the tutorial.
#include "bindings.h"

#include <cim/cimsim/cost_model.h>
#include <cim/cimsim/report_json.h>
#include <cim/error.h>
#include <cim/ir/batch.h>
#include <cim/ir/onnx_import.h>
#include <cim/ir/weight_stationary.h>

#include <Python.h>

#include <variant>

namespace cim::py_bindings {

py::object to_python(const nlohmann::json& j) { return py::module_::import("json").attr("loads")(j.dump()); }

const Graph& Model::for_accuracy() {
    if (!accuracy_graph) accuracy_graph = std::make_shared<const Graph>(prepare_for_accuracy(*imported, label, &batch_note));
    return *accuracy_graph;
}

std::function<void(int64_t, int64_t)> LongCall::progress(const std::string& label) {
    return [this, label](int64_t done, int64_t total) {
        py::gil_scoped_acquire gil;
        if (interrupted_ || !reporter_error_.empty()) throw std::runtime_error("interrupted");
        // Signals are delivered to the main thread only; elsewhere this returns 0.
        if (PyErr_CheckSignals() != 0) {
            PyErr_Clear();  // raised again as KeyboardInterrupt once the C++ call has unwound
            interrupted_ = true;
            throw std::runtime_error("interrupted");
        }
        if (reporter_.is_none()) return;
        try {
            reporter_(label, done, total);
        } catch (py::error_already_set& e) {
            if (e.matches(PyExc_KeyboardInterrupt)) {  // Ctrl-C while the reporter ran
                interrupted_ = true;
                throw std::runtime_error("interrupted");
            }
            reporter_error_ = e.what();
            throw std::runtime_error("the progress reporter failed: " + reporter_error_);
        }
    };
}

void LongCall::rethrow_interrupt() {
    if (interrupted_) {
        PyErr_SetNone(PyExc_KeyboardInterrupt);
        throw py::error_already_set();
    }
    if (!reporter_error_.empty()) throw std::runtime_error("the progress reporter failed: " + reporter_error_);
}

namespace {

std::vector<std::string> override_list(const py::object& overrides) {
    std::vector<std::string> out;
    if (overrides.is_none()) return out;
    if (py::isinstance<py::dict>(overrides)) {
        for (const auto& [key, value] : overrides.cast<py::dict>()) {
            // Python's True/False are YAML's true/false; other values as their text.
            std::string text = py::isinstance<py::bool_>(value) ? (value.cast<bool>() ? "true" : "false")
                                                                : py::str(value).cast<std::string>();
            out.push_back(py::str(key).cast<std::string>() + "=" + text);
        }
        return out;
    }
    for (const auto& item : overrides) out.push_back(py::str(item).cast<std::string>());
    return out;
}

py::object field_to_python(const DeviceFieldValue& v) {
    return std::visit(
        [](const auto& x) -> py::object {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::monostate>) return py::none();
            else if constexpr (std::is_same_v<T, Cost>) return py::float_(x.value);
            else return py::cast(x);
        },
        v);
}

}  // namespace

}  // namespace cim::py_bindings

using namespace cim;
using namespace cim::py_bindings;

PYBIND11_MODULE(_cimforge, m) {
    m.doc() = "cimforge: compute-in-memory toolchain (ONNX import, mapper, cost model, quantizer, crossbar simulator)";
    // Bad input (a model, a device, data, an option): the CLIs' exit-2 errors, with the same message.
    py::register_exception<InputError>(m, "InputError", PyExc_ValueError);

    py::class_<DeviceSpec, std::shared_ptr<DeviceSpec>>(m, "_Device")
        .def(py::init([](const std::string& name_or_path, const py::object& overrides) {
                 return std::make_shared<DeviceSpec>(load_device(name_or_path, override_list(overrides)));
             }),
             py::arg("name_or_path"), py::arg("overrides") = py::none())
        .def_readonly("name", &DeviceSpec::name)
        .def_readonly("description", &DeviceSpec::description)
        .def_readonly("source_path", &DeviceSpec::source_path)
        .def_readonly("overrides", &DeviceSpec::overrides)
        .def("fields", [](const DeviceSpec& d) {
            py::list out;
            for (const DeviceField& f : device_fields(d))
                out.append(py::make_tuple(f.path, f.unit, field_to_python(f.value),
                                          std::holds_alternative<Cost>(f.value) ? py::cast(std::get<Cost>(f.value).source) : py::none()));
            return out;
        })
        .def("peak", [](const DeviceSpec& d) { return to_python(peak_json(peak_figures(d))); })
        .def("estimates", [](const DeviceSpec& d) { return to_python(estimates_json(d)); })
        .def("describe", [](const DeviceSpec& d) { return describe_text(d, peak_figures(d)); });

    py::class_<Model, std::shared_ptr<Model>>(m, "_Model")
        .def(py::init([](const std::string& path) {
                 auto model = std::make_shared<Model>();
                 model->label = path;
                 py::gil_scoped_release released;  // a large model takes a while
                 model->imported = std::make_shared<const Graph>(import_onnx(path));
                 return model;
             }),
             py::arg("path"))
        .def_static(
            "from_bytes",
            [](const py::bytes& bytes, const std::string& label) {
                auto model = std::make_shared<Model>();
                model->label = label;
                const auto view = std::string_view(bytes);  // the bytes object's own buffer, not a copy
                py::gil_scoped_release released;
                model->imported = std::make_shared<const Graph>(import_onnx_bytes(view, label));
                return model;
            },
            py::arg("data"), py::arg("label"))
        .def_readonly("label", &Model::label)
        .def_property_readonly("opset", [](const Model& m) { return m.imported->opset; })
        .def_property_readonly("inputs", [](const Model& m) {
            py::list out;
            for (int id : m.imported->inputs)
                out.append(py::make_tuple(m.imported->value(id).name, m.imported->value(id).shape));
            return out;
        })
        .def_property_readonly("outputs", [](const Model& m) {
            py::list out;
            for (int id : m.imported->outputs)
                out.append(py::make_tuple(m.imported->value(id).name, m.imported->value(id).shape));
            return out;
        })
        .def_property_readonly("array_layers", [](const Model& m) {
            std::vector<std::string> out;
            for (const auto& v : weight_stationary_layers(*m.imported)) out.push_back(m.imported->nodes[size_t(v.node)].name);
            return out;
        })
        .def_property_readonly("nodes", [](const Model& m) {
            py::list out;
            for (const Node& n : m.imported->nodes) out.append(py::make_tuple(n.name, std::string(op_name(n.op))));
            return out;
        })
        .def_property_readonly("metadata", [](const Model& m) { return m.imported->metadata; });

    bind_data(m);
    bind_run(m);
}
