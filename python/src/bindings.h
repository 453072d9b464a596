// What the translation units of the cimforge module share: the Model and Dataset objects, JSON to
// Python, and long calls without the GIL that report progress and honour Ctrl-C.
#pragma once

#include <cim/data/dataset.h>
#include <cim/device/device_spec.h>
#include <cim/ir/graph.h>

#include <nlohmann/json.hpp>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace cim::py_bindings {

namespace py = pybind11;

// The JSON the CLIs print, as Python dicts and lists (through the json module, so it is exactly
// what `--json` gives: NaN and infinities are null there too).
py::object to_python(const nlohmann::json& j);

// A model as imported (cimforge.Model): the graph the mapper reads, and, made on first use,
// the graph of the accuracy paths (weights checked finite, a batch-1 export rewritten to any batch).
struct Model {
    std::string label;  // the file, or "<torch.nn.Module Name>" for an in-memory export
    std::shared_ptr<const Graph> imported;
    std::shared_ptr<const Graph> accuracy_graph;
    std::string batch_note;

    const Graph& for_accuracy();
};

// Data handed over as NumPy arrays (cimforge.Dataset): read in place, a batch at a time, when
// C-contiguous float32; else converted once. The arrays it reads are kept alive.
struct Dataset {
    std::shared_ptr<data::Dataset> set;
    py::list arrays;  // what `set` reads from, one per input (views of the caller's arrays when possible)
    py::object labels;
};

// The data arguments of quantize() and simulate(): a bundled dataset, a file (as cim-sim --data),
// or arrays, with their calibration set; bound to the model's inputs as the CLIs bind them.
struct DataArgs {
    std::string dataset;                 // "fashion-mnist" or ""
    std::optional<std::string> path;     // --data
    std::optional<std::string> labels_path, preprocess, calibration_path;
    std::shared_ptr<Dataset> arrays, calibration_arrays;
    int64_t limit = -1;
};
DataArgs data_args(Model& model, const py::object& data, const py::object& labels, const py::object& calibration,
                   const std::string& dataset, const py::object& preprocess, std::optional<int64_t> limit);
data::EvaluationSpec evaluation_spec(const DataArgs& args, int64_t calibration_count, uint64_t seed);

// A long call: runs `body` with the GIL released. The progress callbacks it makes with
// progress(label) take the GIL back to check for Ctrl-C (KeyboardInterrupt stops the call at its
// next report) and to call the Python reporter (label, done, total), when one was given.
class LongCall {
public:
    explicit LongCall(py::object reporter) : reporter_(std::move(reporter)) {}
    std::function<void(int64_t, int64_t)> progress(const std::string& label);
    template <class F>
    auto run(F&& body) {
        try {
            py::gil_scoped_release released;
            return body();
        } catch (...) {
            rethrow_interrupt();
            throw;
        }
    }

private:
    void rethrow_interrupt();
    py::object reporter_;
    bool interrupted_ = false;
    std::string reporter_error_;
};

void bind_data(py::module_& m);
void bind_run(py::module_& m);

}  // namespace cim::py_bindings
