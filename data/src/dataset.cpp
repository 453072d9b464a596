// Format detection and dispatch; the readers live one per file beside this one.
#include <cim/data/dataset.h>

#include <cim/error.h>
#include <cim/models/fashion_mnist.h>

#include <cstring>

#include <filesystem>

namespace cim::data {

namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

bool is_image_name(const std::string& name) {
    std::string n = name;
    for (auto& c : n) c = char(std::tolower(static_cast<unsigned char>(c)));
    return ends_with(n, ".png") || ends_with(n, ".jpg") || ends_with(n, ".jpeg");
}

}  // namespace

std::string detect_format(const std::string& path) {
    std::error_code ec;
    const fs::path p(path);
    const std::string name = p.filename().string();
    if (fs::is_regular_file(p, ec)) {
        if (ends_with(name, ".npy")) return "npy";
        if (ends_with(name, ".npz")) return "npz";
        if (ends_with(name, ".pb")) return "onnx-pb";
        if (ends_with(name, ".bin")) return "cifar";
        if (ends_with(name, "-ubyte.gz")) return "idx";
        return "";
    }
    if (!fs::is_directory(p, ec)) return "";
    bool pb = false, cifar = false, image_classes = false;
    for (const auto& e : fs::directory_iterator(p, ec)) {
        const std::string n = e.path().filename().string();
        if (n.rfind("test_data_set_", 0) == 0 || (n.rfind("input_", 0) == 0 && ends_with(n, ".pb"))) pb = true;
        if (n == "test_batch.bin" || n == "test.bin") cifar = true;
        if (e.is_directory(ec) && !image_classes) {
            for (const auto& f : fs::directory_iterator(e.path(), ec))
                if (is_image_name(f.path().filename().string())) {
                    image_classes = true;
                    break;
                }
        }
    }
    if (pb) return "onnx-pb";
    if (cifar) return "cifar";
    if (image_classes) return "image-folder";
    return "";
}

Dataset load_dataset(const std::string& path, const LoadOptions& options) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw InputError(path + ": no such file or folder");
    const std::string format = detect_format(path);
    if (!options.preprocess_path.empty() && format != "image-folder" && format != "cifar" && format != "idx")
        throw InputError(path + ": --preprocess applies to image data (image folders, CIFAR batches, IDX files); " + format +
                         " data is fed to the model as stored");
    if (options.input_names.size() > 1 && format != "npz" && format != "onnx-pb") {
        std::string names, args;
        for (const std::string& n : options.input_names) {
            names += (names.empty() ? "'" : ", '") + n + "'";
            args += n + "=..., ";
        }
        throw InputError(path + ": " + (format.empty() ? std::string("this data") : "a " + format + " set") + " holds one array of samples, but the model takes " +
                         std::to_string(options.input_names.size()) + " inputs (" + names + "); write an .npz with one array per input, named after it: " +
                         "numpy.savez('data.npz', " + args + "y=labels), or ONNX input_K.pb files named after the inputs");
    }
    if (format == "npy") return read_npy(path, options);
    if (format == "npz") return read_npz(path, options);
    if (format == "onnx-pb") return read_onnx_pb_folder(path, options);
    if (format == "cifar") return read_cifar(path, options);
    if (format == "idx") return read_idx(path, options);
    if (format == "image-folder") return read_image_folder(path, options);
    throw InputError(path +
                     ": not a dataset cimforge reads; give a .npy file (with --labels FILE.npy), an .npz holding x and y, a folder of "
                     "ONNX input_*.pb files or test_data_set_*/ folders, an image folder ROOT/CLASS/*.png|jpg, CIFAR binary batches "
                     "(test_batch.bin), or an IDX file (*-idx3-ubyte.gz); see docs/your-model.md");
}

namespace {

Dataset fashion_mnist_set(const models::ImageSet& s, const std::string& dir) {
    Dataset d;
    d.source = dir;
    d.format = "fashion-mnist";
    Tensor pixels(ElemType::Float, {int64_t(s.count), 1, int64_t(s.rows), int64_t(s.cols)});
    std::memcpy(pixels.f.data(), s.pixels.data(), s.pixels.size() * sizeof(float));
    d.inputs = std::move(pixels);
    d.input_names = {""};
    d.labels = s.labels;
    return d;
}

// Samples [begin, end) of d: a view of the same sources, or, `in_memory`, a copy of them.
Dataset slice(const Dataset& d, int64_t begin, int64_t end, bool in_memory) {
    Dataset out;
    out.source = d.source;
    out.format = d.format;
    out.class_names = d.class_names;
    out.input_names = d.input_names;
    out.inputs = d.inputs.slice(begin, end);
    if (in_memory) out.inputs = SampleSet(out.inputs.tensors());
    if (d.has_labels()) out.labels.assign(d.labels.begin() + begin, d.labels.begin() + end);
    return out;
}

}  // namespace

EvaluationSets load_evaluation_sets(const EvaluationSpec& spec) {
    EvaluationSets sets;
    if (!spec.data.empty() && !spec.dataset.empty())
        throw InputError("--data " + spec.data + " and --dataset " + spec.dataset + " both name the evaluation set; use one of them");
    if (spec.data.empty()) {
        if (spec.dataset != "fashion-mnist")
            throw InputError("no evaluation data: give --data PATH (a .npy/.npz file, an image folder, ONNX .pb files, CIFAR batches) or --dataset fashion-mnist");
        if (!spec.labels.empty() || !spec.preprocess.empty())
            throw InputError("--labels and --preprocess go with --data; --dataset fashion-mnist is read as the zoo was trained");
        const int limit = spec.limit > 0 ? int(std::min<int64_t>(spec.limit, models::kFashionMnistTestCount)) : -1;
        sets.test = fashion_mnist_set(models::load_fashion_mnist(spec.fashion_mnist_dir, models::Split::Test, limit), spec.fashion_mnist_dir);
        if (spec.calibration_data.empty()) {
            sets.calibration = fashion_mnist_set(models::calibration_split(spec.fashion_mnist_dir, int(spec.calibration_count), spec.seed),
                                                 spec.fashion_mnist_dir);
            sets.calibration_source = std::to_string(spec.calibration_count) + " images drawn from the Fashion-MNIST training set";
        }
    } else {
        LoadOptions o;
        o.labels_path = spec.labels;
        o.preprocess_path = spec.preprocess;
        o.input_names = spec.input_names;
        auto load_data = [&] { return spec.data_in_memory ? *spec.data_in_memory : load_dataset(spec.data, o); };
        if (!spec.calibration_data.empty() || spec.calibration_in_memory) {
            o.limit = spec.limit;
            sets.test = load_data();
            if (spec.data_in_memory && spec.limit > 0 && spec.limit < sets.test.count()) sets.test = slice(sets.test, 0, spec.limit, false);
        } else {
            Dataset all = load_data();
            const int64_t n = all.count();
            if (n < 2)
                throw InputError(spec.data + ": holds " + std::to_string(n) +
                                 " sample(s); calibrating on a held-apart part needs at least 2, or give --calibration-data");
            const int64_t c = std::max<int64_t>(1, std::min(spec.calibration_count, n / 2));
            const int64_t scored = spec.limit > 0 ? std::min(spec.limit, n - c) : n - c;
            sets.calibration = slice(all, n - c, n, true);
            sets.test = slice(all, 0, scored, false);
            sets.test.reference_outputs = all.reference_outputs.size() == size_t(n) && scored == n ? all.reference_outputs : std::vector<Tensor>{};
            sets.calibration_source = "the last " + std::to_string(c) + " samples of " + spec.data + " (held apart: not scored)";
        }
    }
    if (spec.calibration_in_memory) {
        const Dataset& c = *spec.calibration_in_memory;
        sets.calibration = slice(c, 0, std::min(c.count(), spec.calibration_count), true);
        sets.calibration_source = std::to_string(sets.calibration.count()) + " samples of " + c.source;
    } else if (!spec.calibration_data.empty()) {
        LoadOptions o;
        const std::string f = detect_format(spec.calibration_data);
        if (f == "image-folder" || f == "cifar" || f == "idx") o.preprocess_path = spec.preprocess;  // pixels, like --data's
        o.limit = spec.calibration_count;
        o.input_names = spec.input_names;
        sets.calibration = load_dataset(spec.calibration_data, o);
        sets.calibration.inputs = SampleSet(sets.calibration.inputs.tensors());  // small; read once, used many times
        sets.calibration_source = std::to_string(sets.calibration.count()) + " samples of " + spec.calibration_data;
    }
    if (sets.test.count() == 0) throw InputError((spec.data.empty() ? spec.fashion_mnist_dir : spec.data) + ": no samples to score");
    for (size_t k = 0; k < sets.test.inputs.input_count(); ++k)
        if (sets.calibration.sample_shape(k) != sets.test.sample_shape(k))
            throw InputError("--calibration-data " + spec.calibration_data + " holds samples of shape " + shape_str(sets.calibration.sample_shape(k)) +
                             ", the evaluation data " + shape_str(sets.test.sample_shape(k)) + "; they must feed the same model input");
    return sets;
}

EvaluationSets load_evaluation_sets(EvaluationSpec spec, const Graph& model, const std::string& model_path) {
    if (model.inputs.empty()) throw InputError(model_path + ": the model has no inputs to feed data to");
    if (model.outputs.empty()) throw InputError(model_path + ": the model has no outputs");
    spec.input_names.clear();
    if (model.inputs.size() > 1)
        for (int id : model.inputs) spec.input_names.push_back(model.value(id).name);
    else
        spec.input_names = {model.value(model.inputs[0]).name};
    EvaluationSets sets = load_evaluation_sets(spec);
    const std::string data = spec.data.empty() ? spec.fashion_mnist_dir : spec.data;
    if (sets.test.inputs.input_count() != model.inputs.size())
        throw InputError(data + ": holds " + std::to_string(sets.test.inputs.input_count()) + " array(s) of samples, but " + model_path + " takes " +
                         std::to_string(model.inputs.size()) + " inputs; give --data an .npz with one array per input, named after it");
    for (size_t k = 0; k < model.inputs.size(); ++k) {
        const Value& in = model.value(model.inputs[k]);
        const Shape sample = sets.test.sample_shape(k);
        const std::string stored = k < sets.test.input_names.size() && !sets.test.input_names[k].empty() ? " ('" + sets.test.input_names[k] + "')" : "";
        if (in.type != ElemType::Float)
            throw InputError(data + stored + ": feeds " + model_path + "'s input '" + in.name + "', which takes " + elem_type_name(in.type) +
                             " values; accuracy runs feed float samples (the data is converted to float), so only float inputs can be fed");
        bool fits = in.rank_known ? in.shape.size() == sample.size() + 1 : true;
        for (size_t d = 1; fits && in.rank_known && d < in.shape.size(); ++d) fits = in.shape[d] < 0 || in.shape[d] == sample[d - 1];
        // Channels last where the model wants them first: PIL/OpenCV/TensorFlow order, a common slip.
        const bool nhwc = in.rank_known && in.shape.size() == 4 && sample.size() == 3 && sample[2] == in.shape[1] &&
                          sample[0] == in.shape[2] && sample[1] == in.shape[3];
        if (!fits)
            throw InputError(data + stored + ": holds samples of shape " + shape_str(sample) + ", but " + model_path + "'s input '" + in.name +
                             "' takes " + shape_str(in.shape) + " (batch first); write the data in the model's input shape" +
                             (sets.test.format == "image-folder" ? " or set resize/center_crop in --preprocess" : "") +
                             (nhwc ? " (the samples look channels-last: save numpy.ascontiguousarray(x.transpose(0, 3, 1, 2)))" : ""));
    }
    const Shape& out = model.value(model.outputs[0]).shape;
    const int64_t classes = out.empty() ? -1 : out.back();
    if (classes > 0)
        for (const Dataset* d : {&sets.test, &sets.calibration})
            for (size_t i = 0; i < d->labels.size(); ++i)
                if (d->labels[i] >= classes)
                    throw InputError((spec.labels.empty() ? d->source : spec.labels) + ": label " + std::to_string(d->labels[i]) + " of sample " +
                                     std::to_string(i) + " is out of range: " + model_path + " has " + std::to_string(classes) +
                                     " outputs (classes 0.." + std::to_string(classes - 1) + ")");
    return sets;
}

}  // namespace cim::data
