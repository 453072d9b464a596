// The dataset layer: a user's evaluation or calibration data, in whatever format they wrote it,
// read into one float tensor of samples (and labels, when the set has them). cim-sim, cim-quant
// and cim-sweep all take their data from here.
//
// Formats, detected from the path (one reader per file under data/src/):
//   FILE.npy (+ --labels FILE.npy)   NumPy arrays, format versions 1-3, C order, memory-mapped:
//                                    read a batch at a time as the run goes (sets larger than RAM)
//   FILE.npz                         NumPy archive holding `x` (or one array per model input, named
//                                    after it) and, optionally, `y`
//   DIR of input_*.pb / test_data_set_*/   ONNX TensorProto files (output_*.pb: reference outputs)
//   DIR/CLASS/*.png|jpg|jpeg         torchvision ImageFolder layout, with --preprocess FILE.yaml
//   DIR or FILE of CIFAR-10/100 binary batches (data_batch_*.bin, test_batch.bin, train.bin, test.bin)
//   FILE-idx3-ubyte[.gz] (+ labels)  MNIST-style IDX
//   "fashion-mnist"                  Debian's dataset-fashion-mnist, normalized as the zoo was trained
// Every reader validates what it reads (sizes against the bytes present, before allocating; label
// ranges; finite values) and reports problems as cim::InputError naming the file and the place.
//
// A model with several inputs takes them by name: from an .npz, the arrays named after the graph
// inputs; from ONNX .pb folders, input_0.pb, input_1.pb, ... matched by the TensorProto's name when
// every file has one, else by position. The other formats hold one array and feed one input.
#pragma once

#include <cim/ir/graph.h>
#include <cim/ir/sample_set.h>
#include <cim/ir/tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cim::data {

struct Dataset {
    std::string source;  // what the user named, for messages
    std::string format;  // "npy", "npz", "onnx-pb", "image-folder", "cifar", "idx", "fashion-mnist"
    SampleSet inputs;    // one source per input ([count, ...sample shape], float), in the model's input order once bound
    std::vector<std::string> input_names;  // per source: its name in the file ("" if none), for messages
    std::vector<int> labels;               // one per sample, or empty: the set has no labels
    std::vector<std::string> class_names;  // image folders: the class folder names, in label order
    std::vector<Tensor> reference_outputs;  // ONNX .pb folders: output_0.pb of each sample, if present

    int64_t count() const { return inputs.count(); }
    bool has_labels() const { return !labels.empty(); }
    Shape sample_shape(size_t input = 0) const { return inputs.sample_shape(input); }
};

// How the pixels of an image folder become a model input (the torchvision transforms the model
// was trained with). Read from a small YAML file; see docs/your-model.md.
struct Preprocess {
    int resize_shorter = 0;               // Resize(int): the shorter side to this many pixels (bilinear); 0: no resize
    int crop_height = 0, crop_width = 0;  // CenterCrop; 0: no crop
    bool grayscale = false;               // one channel (PIL's "L" conversion); else RGB
    bool bgr = false;                     // channel order B, G, R
    bool scale_to_unit = true;            // ToTensor: pixel / 255
    std::vector<float> mean, std;         // Normalize, per channel (empty: none)
    bool nhwc = false;                    // layout of each sample; default NCHW like torchvision
};

struct LoadOptions {
    std::string labels_path;      // --labels FILE.npy (or IDX) for a .npy/IDX input file
    std::string preprocess_path;  // --preprocess FILE.yaml for image folders (default: ToTensor only)
    int64_t limit = -1;           // read at most this many samples (-1: all)
    int64_t skip = 0;             // start at this sample (a held-apart split)
    // The model's input names, in graph order, to bind several inputs by name (.npz, .pb folders);
    // empty or one name: the data holds one input.
    std::vector<std::string> input_names;
};

// Detects the format of `path` and reads it. Throws InputError naming the file on any problem.
Dataset load_dataset(const std::string& path, const LoadOptions& options = {});

// Name of the format load_dataset would use for `path` (for messages and --help), or "" if none fits.
std::string detect_format(const std::string& path);

// ---- the readers (one file each under data/src/) ----
Dataset read_npy(const std::string& path, const LoadOptions& options);
Dataset read_npz(const std::string& path, const LoadOptions& options);
Dataset read_onnx_pb_folder(const std::string& path, const LoadOptions& options);
Dataset read_image_folder(const std::string& path, const LoadOptions& options);
Dataset read_cifar(const std::string& path, const LoadOptions& options);
Dataset read_idx(const std::string& path, const LoadOptions& options);

// Reads a --preprocess YAML file (unknown keys and bad values are errors with file:line).
Preprocess load_preprocess(const std::string& path);

// Decodes one PNG or JPEG file to 8-bit pixels, height x width x channels (1 or 3; alpha dropped,
// palette and 16-bit expanded/reduced as PIL does), and applies `pp` as torchvision would:
// returns the float sample in pp's layout.
struct Image {
    int height = 0, width = 0, channels = 0;
    std::vector<uint8_t> pixels;  // HWC
};
Image decode_image(const std::string& path);
std::vector<float> preprocess_image(const Image& image, const Preprocess& pp, Shape& sample_shape);

// ---- the sets of an accuracy run (cim-sim, cim-quant, cim-sweep) ----

struct EvaluationSpec {
    std::string dataset;            // "fashion-mnist" (Debian's package), or "" with `data`
    std::string fashion_mnist_dir;  // where that package's IDX files are
    std::string data;               // --data PATH: the evaluation set
    std::string labels;             // --labels FILE for `data`
    std::string preprocess;         // --preprocess FILE.yaml for image data
    std::string calibration_data;   // --calibration-data PATH; "" : held apart from `data`
    int64_t limit = -1;             // score at most this many samples
    int64_t calibration_count = 256;
    uint64_t seed = 1;              // the Fashion-MNIST calibration draw
    std::vector<std::string> input_names;  // as LoadOptions::input_names
    // Sets already in memory (the Python module's NumPy arrays, read in place), used instead of
    // loading `data` (which then only names them in messages) and `calibration_data`.
    std::shared_ptr<const Dataset> data_in_memory, calibration_in_memory;
};

struct EvaluationSets {
    Dataset test;                    // what is scored
    Dataset calibration;             // what calibrates; never a sample of `test`
    std::string calibration_source;  // where `calibration` came from, for reports
};

// Without --calibration-data, the last `calibration_count` samples of --data (at most half of it)
// calibrate and the others are scored, so no image is both calibrated on and scored. The scored
// set of a .npy stays on its mapping (read a batch at a time); the calibration set is in memory.
EvaluationSets load_evaluation_sets(const EvaluationSpec& spec);

// The same for `model` (read from `model_path`): binds the data to the model's inputs by name and
// checks that every input's samples fit (shape, float type) and that labels index the first
// output. Errors name the data file, the input and both shapes.
EvaluationSets load_evaluation_sets(EvaluationSpec spec, const Graph& model, const std::string& model_path);

}  // namespace cim::data
