// The dataset readers on well-formed files (every format gives the same samples) and on bad
// ones (a clear error naming the file). Fixtures are written by the test itself, or by
// tests/data/write_formats.py from Debian's Fashion-MNIST.
#include <doctest/doctest.h>

#include "onnx_builder.h"

#include <cim/data/dataset.h>
#include <cim/error.h>
#include <cim/memory_budget.h>
#include <cim/models/fashion_mnist.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

using namespace cim;
namespace fs = std::filesystem;

namespace {

// A scratch folder (removed after the test) that can write byte fixtures.
struct Scratch : cim::test::TempDir {
    std::string write(const std::string& name, const std::string& bytes) const {
        std::ofstream(file(name), std::ios::binary) << bytes;
        return file(name);
    }
};

// A version-1 .npy image of `descr` with `shape` and raw `data`.
std::string npy(const std::string& descr, const std::string& shape, const std::string& data, int version = 1, bool fortran = false) {
    std::string header = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + shape + ", }";
    const size_t pre = version == 1 ? 10 : 12;
    while ((pre + header.size() + 1) % 64) header += ' ';
    header += '\n';
    std::string s = std::string("\x93NUMPY", 6) + char(version) + '\0';
    const size_t n = header.size();
    s += char(n & 0xff);
    s += char((n >> 8) & 0xff);
    if (version > 1) {
        s += char((n >> 16) & 0xff);
        s += char((n >> 24) & 0xff);
    }
    return s + header + data;
}

template <class T>
std::string bytes_of(std::initializer_list<T> v) {
    std::string s;
    for (T x : v) s.append(reinterpret_cast<const char*>(&x), sizeof x);
    return s;
}

const std::string kFmnist = "/usr/share/datasets/fashion-mnist";

}  // namespace

TEST_CASE(".npy files of every supported dtype and version read as float samples") {
    Scratch s;
    const auto a = data::load_dataset(s.write("f4.npy", npy("<f4", "(2, 3)", bytes_of<float>({1, 2, 3, 4, 5, 6}))));
    CHECK(a.format == "npy");
    CHECK(a.inputs.tensor().shape == Shape{2, 3});
    CHECK(a.inputs.tensor().f == std::vector<float>{1, 2, 3, 4, 5, 6});
    CHECK_FALSE(a.has_labels());
    const auto b = data::load_dataset(s.write("u1.npy", npy("|u1", "(3,)", std::string("\x00\x7f\xff", 3), 2)));
    CHECK(b.inputs.tensor().f == std::vector<float>{0, 127, 255});
    const auto c = data::load_dataset(s.write("f2.npy", npy("<f2", "(1, 3)", bytes_of<uint16_t>({0x3c00, 0xc000, 0x0001}), 3)));
    CHECK(c.inputs.tensor().f[0] == 1.0f);
    CHECK(c.inputs.tensor().f[1] == -2.0f);
    CHECK(c.inputs.tensor().f[2] == doctest::Approx(5.960464477539063e-08));
    const auto d = data::load_dataset(s.write("i8.npy", npy("<i8", "(2,)", bytes_of<int64_t>({-7, 9}))));
    CHECK(d.inputs.tensor().f == std::vector<float>{-7, 9});

    data::LoadOptions o;
    o.labels_path = s.write("y.npy", npy("<i8", "(2,)", bytes_of<int64_t>({1, 0})));
    o.skip = 1;
    const auto e = data::load_dataset(s.file("f4.npy"), o);
    CHECK(e.inputs.tensor().shape == Shape{1, 3});
    CHECK(e.inputs.tensor().f == std::vector<float>{4, 5, 6});
    CHECK(e.labels == std::vector<int>{0});
}

TEST_CASE("bad .npy and .npz files are errors naming the file") {
    Scratch s;
    auto fails = [&](const std::string& name, const std::string& bytes, const std::string& message, const data::LoadOptions& o = {}) {
        const std::string p = s.write(name, bytes);
        CAPTURE(name);
        // Reading every sample: a .npy's values are converted (and checked) as its batches are read.
        CHECK_THROWS_WITH_AS(data::load_dataset(p, o).inputs.tensor(), doctest::Contains(p.c_str()), InputError);
        CHECK_THROWS_WITH_AS(data::load_dataset(p, o).inputs.tensor(), doctest::Contains(message.c_str()), InputError);
    };
    fails("short.npy", npy("<f4", "(2, 3)", bytes_of<float>({1, 2, 3})), "truncated data: shape (2, 3) of <f4 needs 24 bytes");
    fails("text.npy", "hello, not numpy", "not a NumPy .npy file");
    fails("big.npy", npy("<f4", "(1000000000000, 1000000000000)", ""), "overflows 64-bit arithmetic");
    fails("huge.npy", npy("<f4", "(100000000000,)", ""), "truncated data");
    // Found by fuzz_dataset: samples of no values (memcpy from a null buffer before the fix).
    fails("empty_samples.npy", npy("<f4", "(4, 0)", bytes_of<float>({1, 2})), "its samples (shape [0]) hold no values");
    fails("fortran.npy", npy("<f4", "(1,)", std::string(4, '\0'), 1, true), "Fortran order");
    fails("be.npy", npy(">f4", "(1,)", std::string(4, '\0')), "dtype '>f4' is not supported");
    fails("obj.npy", npy("|O", "(1,)", std::string(8, '\0')), "not supported");
    fails("nan.npy", npy("<f4", "(2, 2)", bytes_of<float>({1, 2, 3, std::numeric_limits<float>::quiet_NaN()})),
          "sample 1 holds a non-finite value (NaN or Inf) at flat index 3");
    {  // read from the mapping a batch at a time: the NaN of sample 1 is found when sample 1 is read
        const data::Dataset d = data::load_dataset(s.file("nan.npy"));
        CHECK(d.count() == 2);
        CHECK(d.inputs.batch(0, 1)[0].f == std::vector<float>{1, 2});
        CHECK_THROWS_WITH_AS(d.inputs.batch(1, 2), doctest::Contains("sample 1 holds a non-finite value"), InputError);
        CHECK(d.inputs.slice(0, 1).tensor().f == std::vector<float>{1, 2});
    }
    data::LoadOptions few;
    few.labels_path = s.write("few.npy", npy("<i8", "(1,)", bytes_of<int64_t>({1})));
    const std::string two = s.write("two.npy", npy("<f4", "(2,)", bytes_of<float>({1, 2})));
    CHECK_THROWS_WITH_AS(data::load_dataset(two, few), doctest::Contains((few.labels_path + ": holds 1 labels, fewer than the 2 samples").c_str()), InputError);
    data::LoadOptions negative;
    negative.labels_path = s.write("neg.npy", npy("<i8", "(2,)", bytes_of<int64_t>({1, -3})));
    CHECK_THROWS_WITH_AS(data::load_dataset(s.file("two.npy"), negative), doctest::Contains("label 1 is -3"), InputError);
    fails("zip.npz", "PK\x03\x04 broken", "not a readable .npz archive");
    fails("notes.txt", "x", "not a dataset cimforge reads");
    CHECK_THROWS_WITH_AS(data::load_dataset(s.file("missing.npy")), doctest::Contains("no such file or folder"), InputError);
}

TEST_CASE("CIFAR batches: whole records only, labels checked, pixels as ToTensor gives them") {
    Scratch s;
    std::string rec(1 + 3072, '\0');
    rec[0] = 7;
    rec[1] = char(255);  // channel 0, row 0, col 0
    rec[1 + 1024] = 51;  // channel 1
    const auto d = data::load_dataset(s.write("test_batch.bin", rec + rec));
    CHECK(d.format == "cifar");
    CHECK(d.inputs.tensor().shape == Shape{2, 3, 32, 32});
    CHECK(d.labels == std::vector<int>{7, 7});
    CHECK(d.inputs.tensor().f[0] == 1.0f);
    CHECK(d.inputs.tensor().f[1024] == 51.0f / 255.0f);
    CHECK_THROWS_WITH_AS(data::load_dataset(s.write("data_batch_1.bin", rec + "abc")), doctest::Contains("not a whole number of 3073-byte CIFAR-10 records"),
                         InputError);
    rec[0] = 12;
    CHECK_THROWS_WITH_AS(data::load_dataset(s.write("data_batch_2.bin", rec)), doctest::Contains("record 0 has label 12, outside 0..9"), InputError);
}

TEST_CASE("held-apart calibration never overlaps the scored samples") {
    Scratch s;
    std::string values;
    for (int i = 0; i < 10; ++i) values += bytes_of<float>({float(i)});
    data::EvaluationSpec spec;
    spec.data = s.write("x.npy", npy("<f4", "(10, 1)", values));
    spec.calibration_count = 3;
    auto sets = data::load_evaluation_sets(spec);
    CHECK(sets.test.inputs.tensor().f == std::vector<float>{0, 1, 2, 3, 4, 5, 6});
    CHECK(sets.calibration.inputs.tensor().f == std::vector<float>{7, 8, 9});
    spec.limit = 2;
    sets = data::load_evaluation_sets(spec);
    CHECK(sets.test.inputs.tensor().f == std::vector<float>{0, 1});
    CHECK(sets.calibration.inputs.tensor().f == std::vector<float>{7, 8, 9});
    spec.calibration_count = 256;  // at most half the set calibrates
    spec.limit = -1;
    sets = data::load_evaluation_sets(spec);
    CHECK(sets.calibration.count() == 5);
    CHECK(sets.test.count() == 5);
    spec.dataset = "fashion-mnist";
    CHECK_THROWS_WITH_AS(data::load_evaluation_sets(spec), doctest::Contains("use one of them"), InputError);
}

TEST_CASE("Fashion-MNIST written by NumPy in every format reads back bit-identical to the IDX loader") {
    Scratch s;
    const std::string out = s.file("fmt");
    const std::string cmd = "/usr/bin/python3 " + std::string(CIM_SOURCE_DIR) + "/tests/data/write_formats.py " + out + " 40 8 " +
                            std::string(CIM_SOURCE_DIR) + "/models/zoo/lenet5/model.onnx";
    REQUIRE(std::system(cmd.c_str()) == 0);
    const models::ImageSet ref = models::load_fashion_mnist(kFmnist, models::Split::Test, 40);
    auto same = [&](const data::Dataset& d) {
        CAPTURE(d.source);
        REQUIRE(d.inputs.tensor().shape == Shape{40, 1, 28, 28});
        CHECK(std::memcmp(d.inputs.tensor().f.data(), ref.pixels.data(), ref.pixels.size() * sizeof(float)) == 0);
    };
    data::LoadOptions labelled;
    labelled.labels_path = out + "/y.npy";
    const auto npy_set = data::load_dataset(out + "/x.npy", labelled);
    same(npy_set);
    CHECK(npy_set.labels == ref.labels);
    const auto npz = data::load_dataset(out + "/stored.npz");
    same(npz);
    CHECK(npz.labels == ref.labels);
    CHECK(data::load_dataset(out + "/compressed.npz").labels == ref.labels);
    same(data::load_dataset(out + "/pb_one"));
    same(data::load_dataset(out + "/pb_sets"));
    data::LoadOptions idx;
    idx.labels_path = out + "/t10k-labels-idx1-ubyte.gz";
    idx.preprocess_path = out + "/fmnist.yaml";
    const auto idx_set = data::load_dataset(out + "/t10k-images-idx3-ubyte.gz", idx);
    same(idx_set);
    CHECK(idx_set.labels == ref.labels);
    // CIFAR batches hold the padded copy: channel 0, rows and columns 2..29.
    data::LoadOptions c;
    c.preprocess_path = out + "/fmnist32.yaml";
    const auto cifar = data::load_dataset(out + "/cifar", c);
    const Tensor pixels = cifar.inputs.tensor();
    REQUIRE(pixels.shape == Shape{40, 3, 32, 32});
    CHECK(cifar.labels == ref.labels);
    bool equal = true;
    for (int i = 0; i < 40; ++i)
        for (int y = 0; y < 28; ++y)
            for (int x = 0; x < 28; ++x)
                equal = equal && pixels.f[size_t(i * 3072 + (y + 2) * 32 + x + 2)] == ref.pixels[size_t(i * 784 + y * 28 + x)];
    CHECK(equal);
}
