// Untrusted models (issue 12): external data confined to the model's folder, sizes checked
// before anything is allocated, the memory limit, non-finite weights and data found and named.
#include <doctest/doctest.h>

#include "onnx_builder.h"

#include <cim/ir/executor.h>
#include <cim/ir/finite.h>
#include <cim/ir/onnx_import.h>
#include <cim/memory_budget.h>
#include <cim/output_file.h>

#include <sys/stat.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

using namespace cim;
using cim::test::OnnxBuilder;
using cim::test::TempDir;
namespace fs = std::filesystem;

namespace {

// A MatMul model whose 4x2 weight 'w' lives in external data at `location` (relative to the model).
void save_external_model(const std::string& model_path, const std::string& location, const std::string& offset = "0",
                         const std::string& length = "32") {
    OnnxBuilder b(13);
    b.input("x", {1, 4});
    b.external_initializer("w", {4, 2}, location, offset, length);
    b.node("MatMul", {"x", "w"}, {"y"}, "mm");
    b.output("y");
    b.save(model_path);
}

void write_floats(const std::string& path, size_t n) {
    std::vector<float> v(n, 0.5f);
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(v.data()), std::streamsize(n * sizeof(float)));
}

// Restores the process-wide memory limit when a test changes it.
struct MemoryLimit {
    int64_t saved = max_memory_bytes();
    explicit MemoryLimit(int64_t bytes) { set_max_memory_bytes(bytes); }
    ~MemoryLimit() { set_max_memory_bytes(saved); }
};

}  // namespace

TEST_CASE("external data must stay inside the model's folder") {
    TempDir tmp;
    fs::create_directories(tmp.file("model/sub"));
    write_floats(tmp.file("secret.bin"), 8);  // beside the model's folder: must never be read
    write_floats(tmp.file("model/weights.bin"), 8);
    const std::string model = tmp.file("model/m.onnx");

    save_external_model(model, "weights.bin");
    CHECK_NOTHROW(import_onnx(model));
    save_external_model(model, "./sub/../weights.bin");  // '..' is refused even when it comes back in
    CHECK_THROWS_WITH_AS(import_onnx(model), doctest::Contains("initializer 'w': external data location './sub/../weights.bin' leaves the model's folder"), InputError);

    save_external_model(model, "../secret.bin");
    CHECK_THROWS_WITH_AS(import_onnx(model), doctest::Contains("'../secret.bin' leaves the model's folder"), InputError);
    save_external_model(model, "../../../../../../../../etc/passwd");
    CHECK_THROWS_WITH_AS(import_onnx(model), doctest::Contains("leaves the model's folder"), InputError);

    save_external_model(model, tmp.file("secret.bin"));
    CHECK_THROWS_WITH_AS(import_onnx(model), doctest::Contains("is an absolute path"), InputError);
    save_external_model(model, "/etc/passwd");
    CHECK_THROWS_WITH_AS(import_onnx(model), doctest::Contains("'/etc/passwd' is an absolute path"), InputError);

    // A symbolic link inside the folder that points out of it.
    fs::create_symlink(tmp.file("secret.bin"), tmp.file("model/link.bin"));
    save_external_model(model, "link.bin");
    CHECK_THROWS_WITH_AS(import_onnx(model), doctest::Contains("through a symbolic link"), InputError);
    fs::create_symlink("/dev/zero", tmp.file("model/zero.bin"));
    save_external_model(model, "zero.bin");
    CHECK_THROWS_WITH_AS(import_onnx(model), doctest::Contains("outside the model's folder"), InputError);
    // A link that stays inside is fine.
    fs::create_symlink("weights.bin", tmp.file("model/inside.bin"));
    save_external_model(model, "inside.bin");
    CHECK_NOTHROW(import_onnx(model));

    // Directories and pipes are not data files (a pipe must not hang the import).
    save_external_model(model, "sub");
    CHECK_THROWS_WITH_AS(import_onnx(model), doctest::Contains("is not a regular file"), InputError);
    REQUIRE(::mkfifo(tmp.file("model/pipe.bin").c_str(), 0600) == 0);
    save_external_model(model, "pipe.bin");
    CHECK_THROWS_WITH_AS(import_onnx(model), doctest::Contains("is not a regular file"), InputError);
}

TEST_CASE("external data offsets and lengths are checked against the file before reading") {
    TempDir tmp;
    write_floats(tmp.file("weights.bin"), 8);
    const std::string model = tmp.file("m.onnx");
    save_external_model(model, "weights.bin", "abc");
    CHECK_THROWS_WITH_AS(import_onnx(model), doctest::Contains("external data offset 'abc' is not a non-negative integer"), InputError);
    save_external_model(model, "weights.bin", "0", "-32");
    CHECK_THROWS_WITH_AS(import_onnx(model), doctest::Contains("external data length '-32'"), InputError);
    save_external_model(model, "weights.bin", "999999999999999999", "999999999999999999");
    CHECK_THROWS_WITH_AS(import_onnx(model), doctest::Contains("has 32 bytes, the tensor needs bytes"), InputError);
    save_external_model(model, "weights.bin", "99999999999999999999");  // over 64 bits
    CHECK_THROWS_WITH_AS(import_onnx(model), doctest::Contains("is not a non-negative integer below 10^18"), InputError);
    save_external_model(model, "weights.bin", "4", "32");
    CHECK_THROWS_WITH_AS(import_onnx(model), doctest::Contains("truncated file?"), InputError);
}

TEST_CASE("a huge declared shape is an error before any allocation") {
    TempDir tmp;
    const std::string model = tmp.file("m.onnx");
    for (const std::vector<int64_t>& dims : {std::vector<int64_t>{int64_t(1) << 40, int64_t(1) << 20}, std::vector<int64_t>{int64_t(1) << 62, 8}}) {
        OnnxBuilder b(13);
        b.input("x", {1, 4});
        b.initializer("w", dims, {1, 2, 3, 4, 5, 6, 7, 8});  // 8 values for a shape of 2^60 or more
        b.node("MatMul", {"x", "w"}, {"y"}, "mm");
        b.output("y");
        b.save(model);
        CHECK_THROWS_AS(import_onnx(model), InputError);
    }
    // The memory limit applies to the model's weights together, and to tensors the graph builds.
    OnnxBuilder b(13);
    b.input("x", {1, 64});
    b.initializer("w", {64, 64}, std::vector<float>(64 * 64, 0.25f));
    b.node("MatMul", {"x", "w"}, {"y"}, "mm");
    b.output("y");
    b.save(model);
    {
        MemoryLimit limit(4096);
        CHECK_THROWS_WITH_AS(import_onnx(model), doctest::Contains("more than the memory limit of 4.0 KiB (--max-memory"), InputError);
    }
    CHECK_NOTHROW(import_onnx(model));

    OnnxBuilder c(13);
    c.input("x", {1});
    c.initializer_i64("shape", {3}, {100000, 100000, 1000});
    c.node("ConstantOfShape", {"shape"}, {"big"}, "make_big");
    c.node("Add", {"big", "x"}, {"y"}, "add");
    c.output("y");
    c.save(model);
    CHECK_THROWS_WITH_AS(import_onnx(model), doctest::Contains("a tensor of shape [100000,100000,1000] needs"), InputError);
}

TEST_CASE("memory sizes parse as the --max-memory help says") {
    CHECK(parse_memory_size("2000") == 2000);
    CHECK(parse_memory_size("512M") == int64_t(512) << 20);
    CHECK(parse_memory_size("8G") == int64_t(8) << 30);
    CHECK(parse_memory_size("1.5GiB") == int64_t(3) << 29);
    CHECK(parse_memory_size("50%") == physical_memory_bytes() / 2);
    CHECK_THROWS_WITH_AS(parse_memory_size("lots"), doctest::Contains("--max-memory lots: expected a size"), InputError);
    CHECK_THROWS_AS(parse_memory_size("-1G"), InputError);
    CHECK_THROWS_AS(parse_memory_size("8Q"), InputError);
    CHECK(default_max_memory_bytes() > 0);
    int64_t r = 0;
    CHECK_FALSE(checked_mul(int64_t(1) << 40, int64_t(1) << 40, &r));
}

TEST_CASE("non-finite weights are found and named, folded BatchNorm included") {
    TempDir tmp;
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    OnnxBuilder b(13);
    b.input("x", {-1, 1, 4, 4});
    std::vector<float> w(2 * 1 * 3 * 3, 0.1f);
    w[0] = nan;
    w[3] = nan;
    w[5] = inf;
    b.initializer("conv_w", {2, 1, 3, 3}, w);
    b.node("Conv", {"x", "conv_w"}, {"c"}, "conv");
    b.initializer("scale", {2}, {1, 1});
    b.initializer("bias", {2}, {0, 0});
    b.initializer("mean", {2}, {0, 0});
    b.initializer("var", {2}, {1, 1});
    b.node("BatchNormalization", {"c", "scale", "bias", "mean", "var"}, {"y"}, "bn");
    b.output("y");
    b.save(tmp.file("m.onnx"));
    const Graph g = import_onnx(tmp.file("m.onnx"));
    const auto found = non_finite_weights(g);
    REQUIRE(found.size() == 1);
    CHECK(found[0].node == "conv");
    CHECK(found[0].nan == 2);
    CHECK(found[0].inf == 1);
    CHECK(found[0].total == 18);
    CHECK(found[0].origin == "BatchNormalization 'bn' folded into 'conv_w'");
    CHECK_THROWS_WITH_AS(check_finite_weights(g), doctest::Contains("holds 2 NaN and 1 Inf of 18 values (BatchNormalization 'bn' folded into 'conv_w')"), InputError);

    // A NaN only in the BatchNorm's variance reaches the folded weights and bias.
    OnnxBuilder c(13);
    c.input("x", {-1, 1, 4, 4});
    c.initializer("conv_w", {2, 1, 3, 3}, std::vector<float>(18, 0.1f));
    c.node("Conv", {"x", "conv_w"}, {"c"}, "conv");
    c.initializer("scale", {2}, {1, 1});
    c.initializer("bias", {2}, {0, 0});
    c.initializer("mean", {2}, {0, 0});
    c.initializer("var", {2}, {1, nan});
    c.node("BatchNormalization", {"c", "scale", "bias", "mean", "var"}, {"y"}, "bn");
    c.output("y");
    c.save(tmp.file("bn.onnx"));
    const auto bn = non_finite_weights(import_onnx(tmp.file("bn.onnx")));
    REQUIRE(bn.size() == 2);  // the folded weight (9 NaN) and the folded bias (1 NaN)
    CHECK(bn[0].nan == 9);
    CHECK(bn[1].nan == 1);
    CHECK(bn[0].origin.find("'bn'") != std::string::npos);

    Tensor data(ElemType::Float, {3, 2});
    CHECK_NOTHROW(check_finite_data(data, "d.pb"));
    data.f[4] = inf;
    CHECK_THROWS_WITH_AS(check_finite_data(data, "d.pb"), doctest::Contains("d.pb: holds 1 non-finite value(s) (NaN or Inf); the first is element 4 of shape [3,2], in sample 2"), InputError);
}

TEST_CASE("output files that cannot be written are errors naming the path") {
    TempDir tmp;
    CHECK_THROWS_WITH_AS(write_output_file(tmp.file("no/such/folder/x.csv"), "a\n", "CSV file"),
                         doctest::Contains("no/such/folder/x.csv: cannot create the CSV file (No such file or directory); does its folder exist?"), InputError);
    CHECK_THROWS_WITH_AS(write_output_file("/dev/full", "a\n", "plot"), doctest::Contains("/dev/full: cannot write the plot (No space left on device)"), InputError);
    CHECK_THROWS_WITH_AS(write_output_file(tmp.path, "a\n", "plot"), doctest::Contains("is a folder"), InputError);
    write_output_file(tmp.file("ok.csv"), "a,b\n", "CSV file");
    AppendFile f;
    f.open(tmp.file("ok.csv"), true, "CSV file");
    f.append("1,2\n");
    f.close();
    std::ifstream in(tmp.file("ok.csv"));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(text == "a,b\n1,2\n");
    CHECK_THROWS_WITH_AS(create_output_folder(tmp.file("ok.csv"), "--out folder"), doctest::Contains("exists and is not a folder"), InputError);
    create_output_folder(tmp.file("a/b"), "--out folder");
    CHECK(fs::is_directory(tmp.file("a/b")));
}

TEST_CASE("shape arithmetic that overflows 64 bits is an error, integer tensors wrap (fuzz_onnx_import finding)") {
    TempDir tmp;
    const std::string model = tmp.file("m.onnx");
    // The fuzzer's case: a Reshape whose input declares 7 x 7 x 7163375786047569924 elements.
    OnnxBuilder b(13);
    b.input("x", {7, 7, 7163375786047569924});
    b.initializer_i64("shape", {1}, {-1});
    b.node("Reshape", {"x", "shape"}, {"y"}, "flat");
    b.output("y");
    b.save(model);
    CHECK_THROWS_WITH_AS(import_onnx(model), doctest::Contains("more elements than 64-bit arithmetic can count"), InputError);

    // Integer constants folded at import compute in two's complement, as ONNX Runtime does; the
    // one quotient that traps on x86 (INT64_MIN / -1) and an exponent of 10^18 neither crash nor hang.
    const int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
    struct Case {
        const char* op;
        int64_t a, z, expect;
    };
    for (const Case c : {Case{"Add", hi, 1, lo}, Case{"Sub", lo, 1, hi}, Case{"Mul", hi, 2, -2}, Case{"Div", lo, -1, lo},
                         Case{"Pow", 3, 1000000000000000000, 1}, Case{"Pow", 2, 64, 0}, Case{"Mod", lo, -1, 0}}) {
        CAPTURE(c.op);
        OnnxBuilder m(13);
        m.input("x", {1}, 7);
        m.initializer_i64("a", {1}, {c.a});
        m.initializer_i64("z", {1}, {c.z});
        m.node(c.op, {"a", "z"}, {"r"}, "fold");
        m.node("Add", {"r", "x"}, {"y"}, "add");
        m.output("y", {}, 7);
        m.save(model);
        Graph g = import_onnx(model);
        Tensor x(ElemType::Int64, {1});
        x.i = {0};
        const Tensor y = Executor(g).run({x})[0];
        if (std::string(c.op) == "Pow" && c.z == 1000000000000000000) {
            // 3 is odd, so every power of it is odd: checks the result exists, wrapped, without a hang.
            CHECK(y.i[0] % 2 != 0);
        } else {
            CHECK(y.i[0] == c.expect);
        }
    }
}

TEST_CASE("a model given as bytes imports like its file; external data and garbage are refused") {
    TempDir tmp;
    const std::string path = std::string(CIM_SOURCE_DIR) + "/models/zoo/mlp/model.onnx";
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const Graph from_file = import_onnx(path);
    const Graph from_bytes = import_onnx_bytes(bytes, "<mlp bytes>");
    CHECK(from_bytes.source_file == "<mlp bytes>");
    REQUIRE(from_bytes.nodes.size() == from_file.nodes.size());
    for (size_t k = 0; k < from_file.nodes.size(); ++k) CHECK(from_bytes.nodes[k].name == from_file.nodes[k].name);
    for (size_t v = 0; v < from_file.values.size(); ++v) {
        const Value& a = from_file.values[v];
        const Value& b = from_bytes.values[v];
        CHECK(a.name == b.name);
        CHECK(a.shape == b.shape);
        if (a.constant) {
            REQUIRE(b.constant);
            CHECK(a.constant->f == b.constant->f);
        }
    }

    save_external_model(tmp.file("ext.onnx"), "weights.bin");
    write_floats(tmp.file("weights.bin"), 8);
    std::ifstream ext_in(tmp.file("ext.onnx"), std::ios::binary);
    const std::string ext((std::istreambuf_iterator<char>(ext_in)), std::istreambuf_iterator<char>());
    CHECK_THROWS_WITH_AS(import_onnx_bytes(ext, "<ext>"),
                         doctest::Contains("<ext>: initializer 'w' keeps its data in an external file"), InputError);
    CHECK_THROWS_WITH_AS(import_onnx_bytes("", "<empty>"), doctest::Contains("<empty>: no bytes"), InputError);
    CHECK_THROWS_WITH_AS(import_onnx_bytes(bytes.substr(0, bytes.size() / 2), "<half>"),
                         doctest::Contains("<half>: not a valid ONNX model"), InputError);
}
