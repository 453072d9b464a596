// Fashion-MNIST loader: reads the IDX files (gzip-compressed, as Debian's
// dataset-fashion-mnist package ships them) and normalizes the pixels exactly
// as models/train.py does for the model zoo:
//
//     x = pixel / 255;  x = (x - 0.2860) / 0.3530
//
// Every problem with the files (missing, not gzip, truncated, bad magic number,
// wrong dimensions, label/image count mismatch, label out of range) throws
// cim::InputError naming the file, what is wrong and how to fix it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cim::models {

inline constexpr float kFashionMnistMean = 0.2860f;
inline constexpr float kFashionMnistStd = 0.3530f;
inline constexpr int kFashionMnistClasses = 10;
inline constexpr int kFashionMnistTrainCount = 60000;
inline constexpr int kFashionMnistTestCount = 10000;

enum class Split { Train, Test };

// A set of 1-channel images, NCHW ([count, 1, rows, cols]), normalized.
struct ImageSet {
    std::vector<float> pixels;       // count * rows * cols values
    std::vector<int> labels;         // count values in [0, 10)
    std::vector<int> source_index;   // index of each image in its source file (the training
                                     // set for calibration_split)
    int count = 0;
    int rows = 28;
    int cols = 28;

    std::size_t image_size() const { return static_cast<std::size_t>(rows) * cols; }
    const float* image(int i) const { return pixels.data() + static_cast<std::size_t>(i) * image_size(); }
};

// A raw IDX array (unsigned bytes only, as used by (Fashion-)MNIST).
struct IdxArray {
    std::vector<std::uint32_t> dims;
    std::vector<std::uint8_t> data;  // product(dims) bytes
};

// Where Debian's dataset-fashion-mnist package installs the files.
std::string default_fashion_mnist_dir();

// The file names inside the dataset directory.
std::string fashion_mnist_images_path(const std::string& dir, Split split);
std::string fashion_mnist_labels_path(const std::string& dir, Split split);

// Normalizes one pixel (bit-identical to models/train.py's float32 arithmetic).
float normalize_pixel(std::uint8_t pixel);

// Reads a gzip-compressed IDX file of unsigned bytes and checks that it has
// `expected_ndim` dimensions (3 for images, 1 for labels).
IdxArray read_idx_gz(const std::string& path, int expected_ndim);

// Loads a split. limit >= 0 keeps only the first `limit` images (all of them
// if the split has fewer); a negative limit keeps every image.
ImageSet load_fashion_mnist(const std::string& dir, Split split, int limit = -1);

// Calibration split: `count` images drawn, seeded and without replacement, from
// the TRAINING set (never the test set), in draw order. The draw uses a
// portable generator, so a seed gives the same images on every platform.
// count must be in [1, 60000].
ImageSet calibration_split(const std::string& dir, int count, std::uint64_t seed);

}  // namespace cim::models
