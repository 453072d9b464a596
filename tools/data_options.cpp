#include "data_options.h"

#include <cim/error.h>
#include <cim/ir/batch.h>
#include <cim/ir/onnx_import.h>
#include <cim/models/fashion_mnist.h>

namespace cim::cli {

void add_data_options(CLI::App& app, data::EvaluationSpec& spec) {
    spec.fashion_mnist_dir = models::default_fashion_mnist_dir();
    app.add_option("--dataset", spec.dataset, "a bundled dataset: fashion-mnist (Debian's dataset-fashion-mnist)")
        ->check(CLI::IsMember({"fashion-mnist"}));
    app.add_option("--dataset-dir,--data-dir", spec.fashion_mnist_dir, "folder of the Fashion-MNIST IDX .gz files");
    app.add_option("--data", spec.data,
                   "evaluation data: FILE.npy (with --labels), FILE.npz (x, y), a folder of ONNX input_*.pb files or "
                   "test_data_set_*/, an image folder ROOT/CLASS/*.png|jpg, CIFAR batches (test_batch.bin), or IDX "
                   "(*-idx3-ubyte.gz); see docs/your-model.md");
    app.add_option("--labels", spec.labels, "class labels for --data (.npy of integers, or an IDX label file)");
    app.add_option("--preprocess", spec.preprocess, "YAML of the image preprocessing (resize, center_crop, mean, std, ...) for image data");
    app.add_option("--calibration-data", spec.calibration_data,
                   "calibration set (same formats as --data; default: samples held apart from --data, never scored)");
    app.add_option("--limit", spec.limit, "score only the first N samples")->check(CLI::PositiveNumber);
}

Graph import_for_accuracy(const std::string& model_path, std::string* note) {
    return prepare_for_accuracy(import_onnx(model_path), model_path, note);
}

std::string data_name(const data::EvaluationSpec& spec) { return spec.data.empty() ? spec.dataset : spec.data; }

data::EvaluationSets load_sets_for_model(const data::EvaluationSpec& spec, const Graph& model, const std::string& model_path) {
    return data::load_evaluation_sets(spec, model, model_path);
}

}  // namespace cim::cli
