// Byte-pixel formats: CIFAR-10/100 binary batches and MNIST-style IDX files. Their samples are
// 8-bit images, so they go through the same preprocessing as image folders (default ToTensor:
// pixel / 255; --preprocess adds Normalize and the rest), one code path for every pixel source.
#include "npy.h"

#include <cim/error.h>
#include <cim/memory_budget.h>
#include <cim/models/fashion_mnist.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

namespace cim::data {

namespace fs = std::filesystem;

namespace {

Preprocess preprocess_of(const LoadOptions& o) { return o.preprocess_path.empty() ? Preprocess{} : load_preprocess(o.preprocess_path); }

// Samples [first, first + count) of 8-bit images, each `channels` planes of h x w (CHW) at
// pixels + i * stride, preprocessed into one tensor.
Tensor preprocess_planes(const uint8_t* pixels, size_t stride, int64_t count, int channels, int h, int w, const Preprocess& pp,
                         const std::string& where) {
    Shape sample;
    std::vector<std::vector<float>> out(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
        Image img;
        img.height = h;
        img.width = w;
        img.channels = channels;
        img.pixels.resize(size_t(h) * size_t(w) * size_t(channels));
        const uint8_t* src = pixels + size_t(i) * stride;
        for (int c = 0; c < channels; ++c)
            for (int p = 0; p < h * w; ++p) img.pixels[size_t(p) * size_t(channels) + size_t(c)] = src[size_t(c) * size_t(h * w) + size_t(p)];
        Shape s;
        out[size_t(i)] = preprocess_image(img, pp, s);
        if (i == 0) sample = s;
    }
    Shape shape = sample;
    shape.insert(shape.begin(), count);
    int64_t bytes = -1;
    checked_mul(shape_numel(shape), 4, &bytes);
    check_memory(bytes, where + ": " + std::to_string(count) + " preprocessed samples");
    Tensor t(ElemType::Float, shape);
    const size_t per = size_t(shape_numel(sample));
    for (int64_t i = 0; i < count; ++i) std::memcpy(t.f.data() + size_t(i) * per, out[size_t(i)].data(), per * sizeof(float));
    return t;
}

}  // namespace

Dataset read_cifar(const std::string& path, const LoadOptions& options) {
    std::string file = path;
    if (fs::is_directory(path)) {
        file.clear();
        for (const char* name : {"test_batch.bin", "test.bin"})
            if (fs::is_regular_file(fs::path(path) / name)) {
                file = (fs::path(path) / name).string();
                break;
            }
        if (file.empty())
            throw InputError(path + ": no test_batch.bin (CIFAR-10) or test.bin (CIFAR-100); name the batch file to read");
    }
    // CIFAR-100's files are train.bin/test.bin with a coarse and a fine label byte per record.
    const std::string name = fs::path(file).filename().string();
    const bool cifar100 = name == "train.bin" || name == "test.bin";
    const size_t label_bytes = cifar100 ? 2 : 1, record = label_bytes + 3 * 32 * 32;
    const MappedFile f(file);
    if (f.size() == 0 || f.size() % record != 0)
        throw InputError(file + ": " + std::to_string(f.size()) + " bytes is not a whole number of " + std::to_string(record) + "-byte CIFAR-" +
                         (cifar100 ? "100" : "10") + " records (truncated file, or not a CIFAR binary batch)");
    const int64_t total = int64_t(f.size() / record);
    const int64_t skip = std::min(options.skip, total);
    const int64_t count = options.limit < 0 ? total - skip : std::min(options.limit, total - skip);
    Dataset d;
    d.source = path;
    d.format = "cifar";
    const int classes = cifar100 ? 100 : 10;
    for (int64_t i = 0; i < count; ++i) {
        const int label = f.data()[size_t(skip + i) * record + label_bytes - 1];  // CIFAR-100: the fine label
        if (label >= classes)
            throw InputError(file + ": record " + std::to_string(skip + i) + " has label " + std::to_string(label) + ", outside 0.." +
                             std::to_string(classes - 1));
        d.labels.push_back(label);
    }
    if (!options.labels_path.empty()) throw InputError(file + ": CIFAR batches carry their labels; leave out --labels");
    d.inputs = preprocess_planes(f.data() + size_t(skip) * record + label_bytes, record, count, 3, 32, 32, preprocess_of(options), file);
    return d;
}

Dataset read_idx(const std::string& path, const LoadOptions& options) {
    const models::IdxArray images = models::read_idx_gz(path, 3);
    const int64_t total = images.dims[0];
    const int64_t skip = std::min(options.skip, total);
    const int64_t count = options.limit < 0 ? total - skip : std::min(options.limit, total - skip);
    Dataset d;
    d.source = path;
    d.format = "idx";
    const int h = int(images.dims[1]), w = int(images.dims[2]);
    Preprocess pp = preprocess_of(options);
    pp.grayscale = true;  // IDX images have one channel; nothing to convert to RGB
    d.inputs = preprocess_planes(images.data.data() + size_t(skip) * size_t(h) * size_t(w), size_t(h) * size_t(w), count, 1, h, w, pp, path);
    if (!options.labels_path.empty()) {
        const std::string& lp = options.labels_path;
        if (lp.size() > 4 && lp.substr(lp.size() - 4) == ".npy") {
            d.labels = read_label_file(lp, skip, count);
        } else {
            const models::IdxArray labels = models::read_idx_gz(lp, 1);
            if (int64_t(labels.dims[0]) < skip + count)
                throw InputError(lp + ": holds " + std::to_string(labels.dims[0]) + " labels, fewer than the " + std::to_string(skip + count) +
                                 " images of " + path);
            d.labels.assign(labels.data.begin() + skip, labels.data.begin() + skip + count);
        }
    }
    return d;
}

}  // namespace cim::data
