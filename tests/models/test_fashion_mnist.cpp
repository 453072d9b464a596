// Tests for cim_models: the Fashion-MNIST IDX loader and the calibration split.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "cim/error.h"
#include "cim/models/fashion_mnist.h"

namespace fs = std::filesystem;
using cim::models::ImageSet;
using cim::models::Split;

namespace {

// The message of the cim::InputError that f throws, or a marker if it throws
// something else or nothing.
template <class F>
std::string input_error(F&& f) {
    try {
        f();
    } catch (const cim::InputError& e) {
        return e.what();
    } catch (const std::exception& e) {
        return std::string("<not an InputError: ") + e.what() + ">";
    } catch (...) {
        return "<unknown exception>";
    }
    return "<no exception>";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A fresh directory, removed at the end of the test.
struct TempDir {
    fs::path path;
    TempDir() {
        static int counter = 0;
        path = fs::temp_directory_path() /
               ("cim_models_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
};

using Bytes = std::vector<unsigned char>;

void put32(Bytes& b, std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>(v >> s));
}

Bytes idx_images(std::uint32_t n, std::uint32_t rows = 28, std::uint32_t cols = 28,
                 std::uint32_t magic = 0x803) {
    Bytes b;
    put32(b, magic);
    put32(b, n);
    put32(b, rows);
    put32(b, cols);
    for (std::uint32_t i = 0; i < n * rows * cols; ++i) b.push_back(static_cast<unsigned char>((i * 7 + i / 784) % 256));
    return b;
}

Bytes idx_labels(std::uint32_t n, std::uint32_t magic = 0x801) {
    Bytes b;
    put32(b, magic);
    put32(b, n);
    for (std::uint32_t i = 0; i < n; ++i) b.push_back(static_cast<unsigned char>(i % 10));
    return b;
}

void write_raw(const std::string& path, const Bytes& data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

void write_gz(const std::string& path, const Bytes& data) {
    gzFile f = gzopen(path.c_str(), "wb");
    REQUIRE(f != nullptr);
    if (!data.empty()) REQUIRE(gzwrite(f, data.data(), static_cast<unsigned>(data.size())) == static_cast<int>(data.size()));
    REQUIRE(gzclose(f) == Z_OK);
}

Bytes read_raw(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A small valid dataset: `train` training and `test` test images.
void write_dataset(const TempDir& d, std::uint32_t train, std::uint32_t test) {
    write_gz(d.file("train-images-idx3-ubyte.gz"), idx_images(train));
    write_gz(d.file("train-labels-idx1-ubyte.gz"), idx_labels(train));
    write_gz(d.file("t10k-images-idx3-ubyte.gz"), idx_images(test));
    write_gz(d.file("t10k-labels-idx1-ubyte.gz"), idx_labels(test));
}

// Loading the real dataset takes a moment: do it once.
const std::string& real_dir() {
    static const std::string dir = cim::models::default_fashion_mnist_dir();
    return dir;
}

const ImageSet& real_train() {
    static const ImageSet set = cim::models::load_fashion_mnist(real_dir(), Split::Train);
    return set;
}

// The dims and raw_data of a serialized onnx.TensorProto (protobuf wire format),
// enough to read the model zoo's test_data_set_0/input_0.pb.
struct RawTensor {
    std::vector<std::int64_t> dims;
    std::string raw_data;
    int data_type = 0;
};

std::uint64_t varint(const std::string& b, std::size_t& pos) {
    std::uint64_t v = 0;
    for (int shift = 0; pos < b.size() && shift < 64; shift += 7) {
        const auto c = static_cast<unsigned char>(b[pos++]);
        v |= std::uint64_t{c & 0x7fu} << shift;
        if ((c & 0x80u) == 0) return v;
    }
    throw std::runtime_error("bad varint");
}

RawTensor parse_tensor(const std::string& b) {
    RawTensor t;
    std::size_t pos = 0;
    while (pos < b.size()) {
        const std::uint64_t key = varint(b, pos);
        const auto field = key >> 3;
        const auto wire = key & 7u;
        if (wire == 0) {
            const std::uint64_t v = varint(b, pos);
            if (field == 1) t.dims.push_back(static_cast<std::int64_t>(v));
            if (field == 2) t.data_type = static_cast<int>(v);
        } else if (wire == 2) {
            const std::size_t len = varint(b, pos);
            if (pos + len > b.size()) throw std::runtime_error("truncated field");
            const std::string bytes = b.substr(pos, len);
            pos += len;
            if (field == 9) t.raw_data = bytes;
            if (field == 1) {  // packed dims
                std::size_t p = 0;
                while (p < bytes.size()) t.dims.push_back(static_cast<std::int64_t>(varint(bytes, p)));
            }
        } else if (wire == 1) {
            pos += 8;
        } else if (wire == 5) {
            pos += 4;
        } else {
            throw std::runtime_error("unsupported wire type");
        }
    }
    return t;
}

void require_real_dataset() {
    REQUIRE_MESSAGE(fs::exists(cim::models::fashion_mnist_images_path(real_dir(), Split::Train)),
                    "Fashion-MNIST is not installed in " << real_dir()
                                                         << ": run scripts/setup.sh (package dataset-fashion-mnist)");
}

}  // namespace

TEST_CASE("normalization matches models/train.py") {
    CHECK(cim::models::normalize_pixel(0) == doctest::Approx((0.0 - 0.2860) / 0.3530).epsilon(1e-6));
    CHECK(cim::models::normalize_pixel(255) == doctest::Approx((1.0 - 0.2860) / 0.3530).epsilon(1e-6));
    CHECK(cim::models::normalize_pixel(73) == doctest::Approx((73 / 255.0 - 0.2860) / 0.3530).epsilon(1e-6));
}

TEST_CASE("real Fashion-MNIST: counts, labels, normalization") {
    require_real_dataset();
    const ImageSet& train = real_train();
    const ImageSet test = cim::models::load_fashion_mnist(real_dir(), Split::Test);
    CHECK(train.count == 60000);
    CHECK(test.count == 10000);
    for (const ImageSet* s : {&train, &test}) {
        CHECK(s->rows == 28);
        CHECK(s->cols == 28);
        CHECK(s->pixels.size() == static_cast<std::size_t>(s->count) * 784);
        CHECK(s->labels.size() == static_cast<std::size_t>(s->count));
        CHECK(s->source_index.size() == static_cast<std::size_t>(s->count));
        std::vector<int> per_class(10, 0);
        for (int label : s->labels) {
            REQUIRE(label >= 0);
            REQUIRE(label < 10);
            ++per_class[static_cast<std::size_t>(label)];
        }
        // Fashion-MNIST is balanced: 6000 / 1000 images per class.
        for (int c : per_class) CHECK(c == s->count / 10);
    }
    // The normalization constants are the training set's mean and std.
    double sum = 0, sum2 = 0;
    for (float v : train.pixels) {
        sum += v;
        sum2 += static_cast<double>(v) * v;
    }
    const double n = static_cast<double>(train.pixels.size());
    const double mean = sum / n;
    const double stddev = std::sqrt(sum2 / n - mean * mean);
    CHECK(std::abs(mean) < 0.01);
    CHECK(std::abs(stddev - 1.0) < 0.01);
    const auto [lo, hi] = std::minmax_element(train.pixels.begin(), train.pixels.end());
    CHECK(*lo == cim::models::normalize_pixel(0));
    CHECK(*hi == cim::models::normalize_pixel(255));
}

TEST_CASE("real Fashion-MNIST: limit keeps the first images") {
    require_real_dataset();
    const ImageSet first = cim::models::load_fashion_mnist(real_dir(), Split::Test, 256);
    const ImageSet all = cim::models::load_fashion_mnist(real_dir(), Split::Test);
    CHECK(first.count == 256);
    CHECK(std::equal(first.pixels.begin(), first.pixels.end(), all.pixels.begin()));
    CHECK(std::equal(first.labels.begin(), first.labels.end(), all.labels.begin()));
    CHECK(cim::models::load_fashion_mnist(real_dir(), Split::Test, 0).count == 0);
    CHECK(cim::models::load_fashion_mnist(real_dir(), Split::Test, 20000).count == 10000);
}

TEST_CASE("real Fashion-MNIST: pixels are bit-identical to the model zoo's test inputs") {
    // models/train.py wrote the first 256 normalized test images of every zoo
    // model to test_data_set_0/input_0.pb; the C++ loader must reproduce them.
    require_real_dataset();
    const ImageSet test = cim::models::load_fashion_mnist(real_dir(), Split::Test, 256);
    const fs::path zoo = CIM_MODELS_ZOO_DIR;
    int checked = 0;
    for (const char* name : {"mlp", "lenet5", "vgg", "resnet", "mobilenet", "vit", "lstm", "gru"}) {
        const fs::path pb = zoo / name / "test_data_set_0" / "input_0.pb";
        if (!fs::exists(pb)) continue;  // that model has not been trained yet
        const Bytes bytes = read_raw(pb.string());
        const RawTensor t = parse_tensor(std::string(bytes.begin(), bytes.end()));
        INFO("file: " << pb.string());
        CHECK(t.data_type == 1);  // FLOAT
        CHECK(t.dims == std::vector<std::int64_t>{256, 1, 28, 28});
        REQUIRE(t.raw_data.size() == test.pixels.size() * sizeof(float));
        CHECK(std::memcmp(t.raw_data.data(), test.pixels.data(), t.raw_data.size()) == 0);
        ++checked;
    }
    CHECK_MESSAGE(checked > 0, "no models/zoo/*/test_data_set_0/input_0.pb found in " << zoo.string());
}

TEST_CASE("real Fashion-MNIST: calibration split comes from the training set, by seed") {
    require_real_dataset();
    const ImageSet& train = real_train();
    const ImageSet a = cim::models::calibration_split(real_dir(), 500, 42);
    const ImageSet b = cim::models::calibration_split(real_dir(), 500, 42);
    const ImageSet c = cim::models::calibration_split(real_dir(), 500, 43);
    REQUIRE(a.count == 500);
    CHECK(a.pixels == b.pixels);
    CHECK(a.labels == b.labels);
    CHECK(a.source_index == b.source_index);
    CHECK(a.source_index != c.source_index);
    // Without replacement, and each image is the training image it claims to be.
    CHECK(std::set<int>(a.source_index.begin(), a.source_index.end()).size() == 500);
    for (int i = 0; i < a.count; ++i) {
        const int src = a.source_index[static_cast<std::size_t>(i)];
        REQUIRE(src >= 0);
        REQUIRE(src < train.count);
        CHECK(std::equal(a.image(i), a.image(i) + 784, train.image(src)));
        CHECK(a.labels[static_cast<std::size_t>(i)] == train.labels[static_cast<std::size_t>(src)]);
    }
    // A smaller draw with the same seed is a prefix of the larger one.
    const ImageSet small = cim::models::calibration_split(real_dir(), 10, 42);
    CHECK(std::equal(small.source_index.begin(), small.source_index.end(), a.source_index.begin()));
    // Draws are spread over the whole training set, not its beginning.
    CHECK(*std::max_element(a.source_index.begin(), a.source_index.end()) > 50000);
    CHECK(contains(input_error([] { cim::models::calibration_split(real_dir(), 0, 1); }), "between 1 and 60000"));
    CHECK(contains(input_error([] { cim::models::calibration_split(real_dir(), 60001, 1); }), "60001"));
    CHECK(cim::models::calibration_split(real_dir(), 60000, 5).count == 60000);
}

TEST_CASE("a small generated dataset loads") {
    TempDir d;
    write_dataset(d, 12, 3);
    const ImageSet test = cim::models::load_fashion_mnist(d.path.string(), Split::Test);
    REQUIRE(test.count == 3);
    CHECK(test.labels == std::vector<int>{0, 1, 2});
    const Bytes raw = idx_images(3);
    for (std::size_t k = 0; k < test.pixels.size(); ++k)
        REQUIRE(test.pixels[k] == cim::models::normalize_pixel(raw[16 + k]));
    const ImageSet cal = cim::models::calibration_split(d.path.string(), 12, 9);
    std::vector<int> sorted = cal.source_index;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
    CHECK(contains(input_error([&] { cim::models::calibration_split(d.path.string(), 13, 9); }),
                   "between 1 and 12"));
}

TEST_CASE("missing files throw InputError with the fix") {
    TempDir d;
    const std::string msg = input_error([&] { cim::models::load_fashion_mnist(d.path.string(), Split::Train); });
    CHECK(contains(msg, d.file("train-images-idx3-ubyte.gz")));
    CHECK(contains(msg, "not found"));
    CHECK(contains(msg, "dataset-fashion-mnist"));
    CHECK(contains(msg, "--dataset-dir"));
    const std::string nodir = input_error([] { cim::models::load_fashion_mnist("/nonexistent/cim/dir", Split::Test); });
    CHECK(contains(nodir, "/nonexistent/cim/dir/t10k-images-idx3-ubyte.gz"));
    CHECK(contains(input_error([&] { cim::models::calibration_split(d.path.string(), 10, 1); }), "not found"));
    // Images present, labels missing.
    write_gz(d.file("t10k-images-idx3-ubyte.gz"), idx_images(2));
    const std::string nolabels = input_error([&] { cim::models::load_fashion_mnist(d.path.string(), Split::Test); });
    CHECK(contains(nolabels, d.file("t10k-labels-idx1-ubyte.gz")));
    CHECK(contains(nolabels, "not found"));
    // A directory where a file should be.
    fs::create_directory(d.file("t10k-labels-idx1-ubyte.gz"));
    CHECK(contains(input_error([&] { cim::models::load_fashion_mnist(d.path.string(), Split::Test); }),
                   "not a regular file"));
}

TEST_CASE("broken files throw InputError naming the file and the problem") {
    TempDir d;
    const std::string dir = d.path.string();
    const std::string images = d.file("t10k-images-idx3-ubyte.gz");
    const std::string labels = d.file("t10k-labels-idx1-ubyte.gz");
    auto load = [&] { cim::models::load_fashion_mnist(dir, Split::Test); };
    auto expect = [&](const std::string& file, const std::string& what) {
        const std::string msg = input_error(load);
        INFO("message: " << msg);
        CHECK(contains(msg, file));
        CHECK(contains(msg, what));
        CHECK(contains(msg, "dataset-fashion-mnist"));
    };
    write_gz(labels, idx_labels(3));

    SUBCASE("not gzip") {
        write_raw(images, idx_images(3));
        expect(images, "not a gzip file");
    }
    SUBCASE("empty file") {
        write_raw(images, {});
        expect(images, "empty");
    }
    SUBCASE("truncated gzip stream") {
        write_gz(images, idx_images(3));
        Bytes gz = read_raw(images);
        gz.resize(gz.size() / 2);
        write_raw(images, gz);
        expect(images, "truncated");
    }
    SUBCASE("corrupt gzip checksum") {
        write_gz(images, idx_images(3));
        Bytes gz = read_raw(images);
        gz[gz.size() - 6] ^= 0xff;  // inside the CRC-32 of the gzip trailer
        write_raw(images, gz);
        expect(images, "corrupt");
    }
    SUBCASE("truncated IDX data") {
        Bytes b = idx_images(3);
        b.resize(b.size() - 100);
        write_gz(images, b);
        expect(images, "truncated data");
    }
    SUBCASE("truncated IDX header") {
        write_gz(images, Bytes{0, 0, 8, 3, 0, 0});
        expect(images, "truncated data");
    }
    SUBCASE("empty gzip stream") {
        write_gz(images, {});
        expect(images, "truncated data");
    }
    SUBCASE("bad magic number") {
        write_gz(images, idx_images(3, 28, 28, 0x12345678));
        expect(images, "bad magic number 0x12345678");
    }
    SUBCASE("label file in place of an image file") {
        write_gz(images, idx_labels(3));
        expect(images, "bad magic number 0x00000801");
    }
    SUBCASE("image file in place of a label file") {
        write_gz(images, idx_images(3));
        write_gz(labels, idx_images(3));
        expect(labels, "bad magic number 0x00000803");
    }
    SUBCASE("wrong image dimensions") {
        write_gz(images, idx_images(3, 32, 32));
        expect(images, "wrong image dimensions 3x32x32");
    }
    SUBCASE("implausible dimensions") {
        Bytes b;
        put32(b, 0x803);
        put32(b, 0xffffffffu);
        put32(b, 0xffffffffu);
        put32(b, 28);
        write_gz(images, b);
        expect(images, "implausible");
    }
    SUBCASE("trailing data") {
        Bytes b = idx_images(3);
        b.push_back(1);
        write_gz(images, b);
        expect(images, "trailing data");
    }
    SUBCASE("label and image counts differ") {
        write_gz(images, idx_images(4));
        const std::string msg = input_error(load);
        CHECK(contains(msg, images));
        CHECK(contains(msg, labels));
        CHECK(contains(msg, "4 images"));
        CHECK(contains(msg, "3 labels"));
    }
    SUBCASE("label out of range") {
        write_gz(images, idx_images(3));
        Bytes b = idx_labels(3);
        b.back() = 10;
        write_gz(labels, b);
        expect(labels, "label 10 of image 2 is out of range");
    }
}
