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
    d.inputs = Tensor(ElemType::Float, {int64_t(s.count), 1, int64_t(s.rows), int64_t(s.cols)});
    std::memcpy(d.inputs.f.data(), s.pixels.data(), s.pixels.size() * sizeof(float));
    d.labels = s.labels;
    return d;
}

// Samples [begin, end) of d.
Dataset slice(const Dataset& d, int64_t begin, int64_t end) {
    Dataset out;
    out.source = d.source;
    out.format = d.format;
    out.class_names = d.class_names;
    Shape shape = d.inputs.shape;
    shape[0] = end - begin;
    out.inputs = Tensor(ElemType::Float, shape);
    const size_t per = size_t(shape_numel(d.sample_shape()));
    std::memcpy(out.inputs.f.data(), d.inputs.f.data() + size_t(begin) * per, size_t(end - begin) * per * sizeof(float));
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
        if (!spec.calibration_data.empty()) {
            o.limit = spec.limit;
            sets.test = load_dataset(spec.data, o);
        } else {
            Dataset all = load_dataset(spec.data, o);
            const int64_t n = all.count();
            if (n < 2)
                throw InputError(spec.data + ": holds " + std::to_string(n) +
                                 " sample(s); calibrating on a held-apart part needs at least 2, or give --calibration-data");
            const int64_t c = std::max<int64_t>(1, std::min(spec.calibration_count, n / 2));
            const int64_t scored = spec.limit > 0 ? std::min(spec.limit, n - c) : n - c;
            sets.calibration = slice(all, n - c, n);
            sets.test = slice(all, 0, scored);
            sets.test.reference_outputs = all.reference_outputs.size() == size_t(n) && scored == n ? all.reference_outputs : std::vector<Tensor>{};
            sets.calibration_source = "the last " + std::to_string(c) + " samples of " + spec.data + " (held apart: not scored)";
        }
    }
    if (!spec.calibration_data.empty()) {
        LoadOptions o;
        const std::string f = detect_format(spec.calibration_data);
        if (f == "image-folder" || f == "cifar" || f == "idx") o.preprocess_path = spec.preprocess;  // pixels, like --data's
        o.limit = spec.calibration_count;
        sets.calibration = load_dataset(spec.calibration_data, o);
        sets.calibration_source = std::to_string(sets.calibration.count()) + " samples of " + spec.calibration_data;
    }
    if (sets.test.count() == 0) throw InputError((spec.data.empty() ? spec.fashion_mnist_dir : spec.data) + ": no samples to score");
    if (sets.calibration.sample_shape() != sets.test.sample_shape())
        throw InputError("--calibration-data " + spec.calibration_data + " holds samples of shape " + shape_str(sets.calibration.sample_shape()) +
                         ", the evaluation data " + shape_str(sets.test.sample_shape()) + "; they must feed the same model input");
    return sets;
}

}  // namespace cim::data
