// Data for the accuracy paths: NumPy arrays read in place (cimforge.Dataset), files and the
// bundled Fashion-MNIST as the CLIs read them (cim/data/dataset.h).
#include "bindings.h"

#include <cim/error.h>
#include <cim/models/fashion_mnist.h>

#include <cmath>
#include <cstring>

namespace cim::py_bindings {

namespace {

// One model input's samples in a C-contiguous float32 array, read a batch at a time without
// the GIL. `owner` keeps the array alive; its last reference is dropped with the GIL held.
class ArraySource : public SampleSource {
public:
    ArraySource(const py::array_t<float, py::array::c_style>& a, std::string name)
        : data_(a.data()), name_(std::move(name)),
          owner_(a.inc_ref().ptr(), [](PyObject* o) {
              py::gil_scoped_acquire gil;
              Py_DECREF(o);
          }) {
        for (py::ssize_t d = 0; d < a.ndim(); ++d) shape_.push_back(int64_t(a.shape(d)));
    }
    Shape shape() const override { return shape_; }
    Tensor read(int64_t begin, int64_t end) const override {
        Shape s = shape_;
        s[0] = end - begin;
        Tensor t(ElemType::Float, s);
        const size_t per_item = size_t(shape_numel(shape_) / std::max<int64_t>(1, shape_[0]));
        std::memcpy(t.f.data(), data_ + size_t(begin) * per_item, t.f.size() * sizeof(float));
        for (size_t k = 0; k < t.f.size(); ++k)
            if (!std::isfinite(t.f[k]))
                throw InputError(name_ + ": sample " + std::to_string(begin + int64_t(k / std::max<size_t>(1, per_item))) +
                                 " holds a non-finite value (NaN or infinity)");
        return t;
    }

private:
    const float* data_;
    std::string name_;
    std::shared_ptr<PyObject> owner_;
    Shape shape_;
};

// The array as float32 C order: itself when it already is (no copy), else one converted copy.
py::array_t<float, py::array::c_style> float_array(const py::object& x, const std::string& name) {
    py::array a = py::array::ensure(x);
    if (!a) throw InputError(name + ": expected a NumPy array (or something numpy.asarray takes)");
    if (a.ndim() < 1 || a.shape(0) < 1) throw InputError(name + ": expected samples along the first axis, got an array of shape " +
                                                        std::string(py::str(a.attr("shape"))));
    if (a.dtype().kind() != 'f' && a.dtype().kind() != 'i' && a.dtype().kind() != 'u' && a.dtype().kind() != 'b')
        throw InputError(name + ": expected numbers, got an array of dtype " + std::string(py::str(a.dtype())));
    return py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(a);
}

std::vector<int> label_vector(const py::object& y, int64_t count, const std::string& name) {
    py::array a = py::array::ensure(y);
    if (!a || a.ndim() != 1 || (a.dtype().kind() != 'i' && a.dtype().kind() != 'u'))
        throw InputError(name + ": labels must be a 1-D array of integers");
    auto ints = py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(a);
    if (ints.shape(0) != count)
        throw InputError(name + ": " + std::to_string(ints.shape(0)) + " labels for " + std::to_string(count) + " samples");
    std::vector<int> out(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
        const int64_t v = ints.at(i);
        if (v < 0 || v > INT32_MAX) throw InputError(name + ": label " + std::to_string(v) + " of sample " + std::to_string(i) + " is not a class index");
        out[size_t(i)] = int(v);
    }
    return out;
}

// x: one array, or a dict {input name: array} for a model of several inputs (ordered as `inputs`).
std::shared_ptr<Dataset> make_dataset(const py::object& x, const py::object& y, const std::vector<std::string>& inputs) {
    auto ds = std::make_shared<Dataset>();
    ds->set = std::make_shared<data::Dataset>();
    ds->set->source = "the NumPy array";
    ds->set->format = "numpy";
    std::vector<std::shared_ptr<const SampleSource>> sources;
    auto add = [&](const py::object& array, const std::string& input) {
        const std::string name = input.empty() ? "data" : "data['" + input + "']";
        auto a = float_array(array, name);
        ds->arrays.append(a);
        sources.push_back(std::make_shared<ArraySource>(a, name));
        ds->set->input_names.push_back(input);
    };
    if (py::isinstance<py::dict>(x)) {
        py::dict d = x.cast<py::dict>();
        if (inputs.empty())
            for (const auto& [k, v] : d) add(py::reinterpret_borrow<py::object>(v), py::str(k).cast<std::string>());
        for (const std::string& in : inputs) {
            if (!d.contains(in)) {
                std::string have;
                for (const auto& [k, v] : d) have += (have.empty() ? "" : ", ") + py::str(k).cast<std::string>();
                throw InputError("data: no array for the model's input '" + in + "' (the dict holds: " + have + ")");
            }
            add(d[py::str(in)], in);
        }
    } else {
        add(x, inputs.size() == 1 ? inputs[0] : "");
    }
    const int64_t count = sources[0]->shape()[0];
    for (const auto& s : sources)
        if (s->shape()[0] != count) throw InputError("data: the arrays hold different numbers of samples (first axis)");
    ds->set->inputs = SampleSet(sources);
    if (!y.is_none()) {
        ds->set->labels = label_vector(y, count, "labels");
        ds->labels = y;
    }
    return ds;
}

std::vector<std::string> input_names(const Graph& g) {
    std::vector<std::string> out;
    for (int id : g.inputs) out.push_back(g.value(id).name);
    return out;
}

}  // namespace

DataArgs data_args(Model& model, const py::object& data, const py::object& labels, const py::object& calibration,
                   const std::string& dataset, const py::object& preprocess, std::optional<int64_t> limit) {
    DataArgs a;
    a.dataset = dataset;
    if (limit) {
        if (*limit < 1) throw InputError("limit: " + std::to_string(*limit) + "; give a positive number of samples");
        a.limit = *limit;
    }
    if (!preprocess.is_none()) a.preprocess = py::str(preprocess).cast<std::string>();
    const std::vector<std::string> inputs = input_names(*model.imported);
    if (py::isinstance<Dataset>(data)) {
        a.arrays = data.cast<std::shared_ptr<Dataset>>();
        if (!labels.is_none()) throw InputError("labels: the Dataset holds its own labels; give them to cimforge.Dataset(x, y)");
    } else if (py::isinstance<py::str>(data) || py::hasattr(data, "__fspath__")) {
        a.path = py::str(data).cast<std::string>();
        if (!labels.is_none()) a.labels_path = py::str(labels).cast<std::string>();
    } else if (!data.is_none()) {
        a.arrays = make_dataset(data, labels, inputs);
    } else if (!labels.is_none()) {
        throw InputError("labels: given without data");
    }
    if (a.arrays && !a.dataset.empty()) throw InputError("data and dataset='" + a.dataset + "' both name the evaluation set; use one of them");
    if (py::isinstance<Dataset>(calibration)) a.calibration_arrays = calibration.cast<std::shared_ptr<Dataset>>();
    else if (py::isinstance<py::str>(calibration) || py::hasattr(calibration, "__fspath__")) a.calibration_path = py::str(calibration).cast<std::string>();
    else if (!calibration.is_none()) a.calibration_arrays = make_dataset(calibration, py::none(), inputs);
    if (a.calibration_arrays) a.calibration_arrays->set->source = "the calibration array";
    return a;
}

data::EvaluationSpec evaluation_spec(const DataArgs& a, int64_t calibration_count, uint64_t seed) {
    data::EvaluationSpec spec;
    spec.fashion_mnist_dir = models::default_fashion_mnist_dir();
    spec.dataset = a.dataset;
    if (a.path) spec.data = *a.path;
    if (a.labels_path) spec.labels = *a.labels_path;
    if (a.preprocess) spec.preprocess = *a.preprocess;
    if (a.calibration_path) spec.calibration_data = *a.calibration_path;
    if (a.arrays) {
        spec.data = a.arrays->set->source;
        spec.data_in_memory = a.arrays->set;
    }
    if (a.calibration_arrays) spec.calibration_in_memory = a.calibration_arrays->set;
    if (spec.data.empty() && spec.dataset.empty()) spec.dataset = "fashion-mnist";
    spec.limit = a.limit;
    spec.calibration_count = calibration_count;
    spec.seed = seed;
    return spec;
}

void bind_data(py::module_& m) {
    py::class_<Dataset, std::shared_ptr<Dataset>>(m, "Dataset", R"(Samples (and labels) in NumPy arrays, read in place.

Dataset(x, y=None): x holds the samples along its first axis (or is a dict {input name: array}
for a model of several inputs); y the integer class labels. A C-contiguous float32 array is read
where it is, a batch at a time (no copy: Dataset.x shares its memory); any other is converted once.)")
        .def(py::init([](const py::object& x, const py::object& y) { return make_dataset(x, y, {}); }), py::arg("x"),
             py::arg("y") = py::none())
        .def_property_readonly("x", [](const Dataset& d) -> py::object {
            return d.arrays.size() == 1 ? py::object(d.arrays[0]) : py::object(d.arrays);
        })
        .def_property_readonly("y", [](const Dataset& d) { return d.labels; })
        .def("__len__", [](const Dataset& d) { return d.set->count(); });
}

}  // namespace cim::py_bindings
