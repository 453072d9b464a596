#include "cim/models/fashion_mnist.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>

#include "cim/error.h"
#include "cim/memory_budget.h"

namespace cim::models {
namespace {

const char* const kFixHint =
    "(re)install the Debian package dataset-fashion-mnist (scripts/setup.sh installs it) or pass "
    "--dataset-dir DIR naming a directory with train-images-idx3-ubyte.gz, "
    "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz";

[[noreturn]] void fail(const std::string& path, const std::string& what) {
    throw InputError(path + ": " + what + "; " + kFixHint);
}

std::string hex32(std::uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", v);
    return buf;
}

// Owns a gzFile.
class GzReader {
public:
    explicit GzReader(const std::string& path) : path_(path) {
        namespace fs = std::filesystem;
        std::error_code ec;
        if (!fs::exists(path, ec)) fail(path, "file not found");
        if (!fs::is_regular_file(path, ec)) fail(path, "not a regular file");
        // gzopen reads a file without a gzip header transparently; the dataset
        // files are always gzip, so anything else is reported.
        std::array<unsigned char, 2> head{};
        {
            std::ifstream in(path, std::ios::binary);
            if (!in) fail(path, "cannot open the file for reading");
            in.read(reinterpret_cast<char*>(head.data()), head.size());
            if (in.gcount() == 0) fail(path, "the file is empty");
            if (in.gcount() < 2 || head[0] != 0x1f || head[1] != 0x8b)
                fail(path, "not a gzip file (no gzip magic bytes 1f 8b at the start)");
        }
        file_ = gzopen(path.c_str(), "rb");
        if (file_ == nullptr) fail(path, "cannot open the file with zlib");
        gzbuffer(file_, 1 << 17);
    }
    GzReader(const GzReader&) = delete;
    GzReader& operator=(const GzReader&) = delete;
    ~GzReader() {
        if (file_ != nullptr) gzclose(file_);
    }

    // Reads up to n bytes; returns how many were read (fewer only at the end of
    // the data). Corrupt compressed data throws.
    std::size_t read(void* dst, std::size_t n) {
        auto* out = static_cast<unsigned char*>(dst);
        std::size_t done = 0;
        while (done < n) {
            const std::size_t chunk = std::min<std::size_t>(n - done, 1u << 30);
            const int got = gzread(file_, out + done, static_cast<unsigned>(chunk));
            if (got < 0) {
                int errnum = 0;
                const char* msg = gzerror(file_, &errnum);
                fail(path_, std::string("corrupt or truncated gzip data (zlib: ") +
                                (msg != nullptr ? msg : "unknown error") + ")");
            }
            if (got == 0) break;
            done += static_cast<std::size_t>(got);
        }
        return done;
    }

    void read_exact(void* dst, std::size_t n, const std::string& what) {
        const std::size_t got = read(dst, n);
        if (got != n)
            fail(path_, "truncated data: " + what + " needs " + std::to_string(n) +
                            " bytes but the file ends after " + std::to_string(got));
    }

    // Reads to the end, which also makes zlib verify the gzip CRC and length.
    void expect_end() {
        unsigned char extra[64];
        const std::size_t got = read(extra, sizeof extra);
        if (got != 0) fail(path_, "unexpected trailing data after the IDX array");
    }

private:
    std::string path_;
    gzFile file_ = nullptr;
};

std::uint32_t big_endian32(const unsigned char* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           std::uint32_t{p[3]};
}

std::string dims_string(const std::vector<std::uint32_t>& dims) {
    std::string s;
    for (std::size_t i = 0; i < dims.size(); ++i) {
        if (i > 0) s += 'x';
        s += std::to_string(dims[i]);
    }
    return s;
}

const char* split_prefix(Split split) { return split == Split::Train ? "train" : "t10k"; }

std::string join(const std::string& dir, const std::string& name) {
    return (std::filesystem::path(dir) / name).string();
}

// The portable generator for calibration draws: splitmix64.
class SplitMix64 {
public:
    explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    // Uniform in [0, range), without modulo bias.
    std::uint64_t below(std::uint64_t range) {
        const std::uint64_t threshold = (0 - range) % range;
        std::uint64_t r;
        do r = next();
        while (r < threshold);
        return r % range;
    }

private:
    std::uint64_t state_;
};

struct RawSplit {
    IdxArray images;
    IdxArray labels;
    int count = 0;
    int rows = 0;
    int cols = 0;
};

RawSplit read_split(const std::string& dir, Split split) {
    const std::string ipath = fashion_mnist_images_path(dir, split);
    const std::string lpath = fashion_mnist_labels_path(dir, split);
    RawSplit raw;
    raw.images = read_idx_gz(ipath, 3);
    raw.labels = read_idx_gz(lpath, 1);
    const auto& d = raw.images.dims;
    if (d[1] != 28 || d[2] != 28)
        fail(ipath, "wrong image dimensions " + dims_string(d) + ", expected Nx28x28");
    if (d[0] == 0) fail(ipath, "the file holds no images");
    if (raw.labels.dims[0] != d[0])
        throw InputError(ipath + " holds " + std::to_string(d[0]) + " images but " + lpath + " holds " +
                         std::to_string(raw.labels.dims[0]) + " labels; the two files must come from the same " +
                         "split: " + kFixHint);
    for (std::size_t i = 0; i < raw.labels.data.size(); ++i) {
        if (raw.labels.data[i] >= kFashionMnistClasses)
            fail(lpath, "label " + std::to_string(raw.labels.data[i]) + " of image " + std::to_string(i) +
                            " is out of range 0..9");
    }
    raw.count = static_cast<int>(d[0]);
    raw.rows = static_cast<int>(d[1]);
    raw.cols = static_cast<int>(d[2]);
    return raw;
}

const std::array<float, 256>& normalize_table() {
    static const std::array<float, 256> table = [] {
        std::array<float, 256> t{};
        for (int p = 0; p < 256; ++p) t[p] = normalize_pixel(static_cast<std::uint8_t>(p));
        return t;
    }();
    return table;
}

ImageSet select(const RawSplit& raw, const std::vector<int>& indices) {
    ImageSet set;
    set.rows = raw.rows;
    set.cols = raw.cols;
    set.count = static_cast<int>(indices.size());
    const std::size_t size = set.image_size();
    set.pixels.resize(size * indices.size());
    set.labels.resize(indices.size());
    set.source_index = indices;
    const auto& table = normalize_table();
    for (std::size_t i = 0; i < indices.size(); ++i) {
        const std::uint8_t* src = raw.images.data.data() + static_cast<std::size_t>(indices[i]) * size;
        float* dst = set.pixels.data() + i * size;
        for (std::size_t k = 0; k < size; ++k) dst[k] = table[src[k]];
        set.labels[i] = raw.labels.data[static_cast<std::size_t>(indices[i])];
    }
    return set;
}

}  // namespace

std::string default_fashion_mnist_dir() { return "/usr/share/datasets/fashion-mnist"; }

std::string fashion_mnist_images_path(const std::string& dir, Split split) {
    return join(dir, std::string(split_prefix(split)) + "-images-idx3-ubyte.gz");
}

std::string fashion_mnist_labels_path(const std::string& dir, Split split) {
    return join(dir, std::string(split_prefix(split)) + "-labels-idx1-ubyte.gz");
}

float normalize_pixel(std::uint8_t pixel) {
    // Same float32 operations, in the same order, as models/train.py.
    const float x = static_cast<float>(pixel) / 255.0f;
    return (x - kFashionMnistMean) / kFashionMnistStd;
}

IdxArray read_idx_gz(const std::string& path, int expected_ndim) {
    GzReader in(path);
    unsigned char header[4];
    in.read_exact(header, 4, "the IDX magic number");
    const std::uint32_t magic = big_endian32(header);
    const std::uint32_t expected = 0x0800u | static_cast<std::uint32_t>(expected_ndim);
    if (magic != expected)
        fail(path, "bad magic number " + hex32(magic) + ", expected " + hex32(expected) +
                       " (IDX unsigned-byte array with " + std::to_string(expected_ndim) +
                       (expected_ndim == 1 ? " dimension: a label file)" : " dimensions: an image file)") +
                       "; the file is corrupt or not the right IDX file");
    IdxArray arr;
    std::uint64_t total = 1;
    for (int i = 0; i < expected_ndim; ++i) {
        unsigned char b[4];
        in.read_exact(b, 4, "the IDX header");
        const std::uint32_t d = big_endian32(b);
        arr.dims.push_back(d);
        total *= d;
        if (total > (std::uint64_t{1} << 32))
            fail(path, "implausible IDX dimensions (more than 4 GiB of data)");
    }
    check_memory(static_cast<std::int64_t>(total), path + ": an IDX array of " + dims_string(arr.dims));
    // The header's count is not trusted with an allocation: the buffer grows as data arrives, so a
    // short file claiming a huge array fails on its real size. Steps of 256 KiB (the vector grows
    // geometrically all the same): each is zero-filled first, 16 MiB steps made a short file cost 16 MiB.
    constexpr std::size_t kChunk = std::size_t{256} << 10;
    while (arr.data.size() < total) {
        const std::size_t have = arr.data.size(), want = std::min<std::size_t>(kChunk, static_cast<std::size_t>(total) - have);
        arr.data.resize(have + want);
        const std::size_t got = in.read(arr.data.data() + have, want);
        if (got != want)
            fail(path, "truncated data: a " + dims_string(arr.dims) + " array needs " + std::to_string(total) +
                           " bytes but the file ends after " + std::to_string(have + got));
    }
    in.expect_end();
    return arr;
}

ImageSet load_fashion_mnist(const std::string& dir, Split split, int limit) {
    const RawSplit raw = read_split(dir, split);
    const int n = limit < 0 ? raw.count : std::min(limit, raw.count);
    std::vector<int> indices(static_cast<std::size_t>(n));
    std::iota(indices.begin(), indices.end(), 0);
    return select(raw, indices);
}

ImageSet calibration_split(const std::string& dir, int count, std::uint64_t seed) {
    const RawSplit raw = read_split(dir, Split::Train);
    if (count < 1 || count > raw.count)
        throw InputError("calibration split: cannot draw " + std::to_string(count) +
                         " images from the " + std::to_string(raw.count) +
                         "-image training set; choose a count between 1 and " + std::to_string(raw.count));
    // Partial Fisher-Yates shuffle: the first `count` entries are the draw.
    std::vector<int> all(static_cast<std::size_t>(raw.count));
    std::iota(all.begin(), all.end(), 0);
    SplitMix64 rng(seed);
    for (int i = 0; i < count; ++i) {
        const auto j = static_cast<std::size_t>(i) + rng.below(static_cast<std::uint64_t>(raw.count - i));
        std::swap(all[static_cast<std::size_t>(i)], all[j]);
    }
    all.resize(static_cast<std::size_t>(count));
    return select(raw, all);
}

}  // namespace cim::models
