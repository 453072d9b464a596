#include "data_options.h"

#include <cim/error.h>
#include <cim/ir/batch.h>
#include <cim/ir/finite.h>
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

Graph import_for_accuracy(const std::string& model_path) {
    Graph g = import_onnx(model_path);
    check_finite_weights(g);
    BatchRewrite b = make_batch_dynamic(g);
    if (!b.batched)
        throw InputError(model_path + ": the graph pins its batch and cannot be rewritten to take several samples (" + b.note +
                         "); export it with a dynamic batch axis (torch.onnx.export(..., dynamic_axes={'input': {0: 'N'}}))");
    return std::move(b.graph);
}

std::string data_name(const data::EvaluationSpec& spec) { return spec.data.empty() ? spec.dataset : spec.data; }

data::EvaluationSets load_sets_for_model(const data::EvaluationSpec& spec, const Graph& model, const std::string& model_path) {
    if (model.inputs.size() != 1)
        throw InputError(model_path + ": the model takes " + std::to_string(model.inputs.size()) +
                         " inputs; accuracy runs feed single-input models (one tensor of samples)");
    if (model.outputs.empty()) throw InputError(model_path + ": the model has no outputs");
    data::EvaluationSets sets = data::load_evaluation_sets(spec);
    const Value& in = model.value(model.inputs[0]);
    const Shape sample = sets.test.sample_shape();
    bool fits = in.rank_known ? in.shape.size() == sample.size() + 1 : true;
    for (size_t d = 1; fits && in.rank_known && d < in.shape.size(); ++d) fits = in.shape[d] < 0 || in.shape[d] == sample[d - 1];
    if (!fits)
        throw InputError(data_name(spec) + ": holds samples of shape " + shape_str(sample) + ", but " + model_path + "'s input '" + in.name +
                         "' takes " + shape_str(in.shape) + " (batch first); write the data in the model's input shape" +
                         (sets.test.format == "image-folder" ? " or set resize/center_crop in --preprocess" : ""));
    const Shape& out = model.value(model.outputs[0]).shape;
    const int64_t classes = out.empty() ? -1 : out.back();
    if (classes > 0)
        for (const data::Dataset* d : {&sets.test, &sets.calibration})
            for (size_t i = 0; i < d->labels.size(); ++i)
                if (d->labels[i] >= classes)
                    throw InputError((spec.labels.empty() ? d->source : spec.labels) + ": label " + std::to_string(d->labels[i]) + " of sample " +
                                     std::to_string(i) + " is out of range: " + model_path + " has " + std::to_string(classes) +
                                     " outputs (classes 0.." + std::to_string(classes - 1) + ")");
    return sets;
}

}  // namespace cim::cli
