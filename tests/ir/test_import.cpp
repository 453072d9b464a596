// ONNX import: passes (folding, removal, sorting), shapes, external data, and
// every kind of bad input, each with a generated file.
#include <doctest/doctest.h>

#include "onnx_builder.h"

#include <cim/ir/executor.h>
#include <cim/ir/onnx_import.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

using namespace cim;
using cim::test::OnnxBuilder;
using cim::test::TempDir;

namespace {

std::vector<float> seq(size_t n, float scale = 0.1f, float offset = 0.0f) {
    std::vector<float> v(n);
    for (size_t k = 0; k < n; ++k) v[k] = offset + scale * float((k * 7919) % 23) - scale * 11;
    return v;
}

Tensor random_tensor(Shape s, uint64_t seed) {
    Tensor t(ElemType::Float, s);
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> d;
    for (float& x : t.f) x = d(rng);
    return t;
}

size_t count_op(const Graph& g, OpKind op) {
    size_t n = 0;
    for (const Node& node : g.nodes) n += node.op == op;
    return n;
}

// Conv -> BatchNormalization -> Identity -> Relu -> Dropout -> output, batch dynamic.
OnnxBuilder conv_bn_model() {
    OnnxBuilder b(13);
    b.input("x", {-1, 2, 5, 5});
    b.initializer("w", {3, 2, 3, 3}, seq(54));
    b.initializer("b", {3}, {0.1f, -0.2f, 0.3f});
    b.initializer("gamma", {3}, {1.5f, 0.5f, -1.0f});
    b.initializer("beta", {3}, {0.2f, 0.0f, -0.1f});
    b.initializer("mean", {3}, {0.3f, -0.1f, 0.05f});
    b.initializer("var", {3}, {0.9f, 1.2f, 0.4f});
    auto* c = b.node("Conv", {"x", "w", "b"}, {"c"}, "conv1");
    OnnxBuilder::attr_ints(c, "pads", {1, 1, 1, 1});
    b.node("BatchNormalization", {"c", "gamma", "beta", "mean", "var"}, {"bn"}, "bn1");
    b.node("Identity", {"bn"}, {"id"}, "id1");
    b.node("Relu", {"id"}, {"r"}, "relu1");
    b.node("Dropout", {"r"}, {"y"}, "drop1");
    b.output("y");
    return b;
}

// MatMul by a 1024x3000 float weight (12 MB, read in several chunks) then Gather with 20,000
// int64 indices: both initializers are large enough to be read from the file, not parsed.
OnnxBuilder big_weights_model(bool raw) {
    OnnxBuilder b(13);
    b.input("x", {1, 1024});
    const std::vector<float> w = seq(1024 * 3000, 0.01f);
    std::vector<int64_t> idx(20000);
    for (size_t k = 0; k < idx.size(); ++k) idx[k] = int64_t((k * 101) % 3000);
    if (raw) {
        auto* t = b.graph()->add_initializer();
        t->set_name("w");
        t->set_data_type(onnx::TensorProto::FLOAT);
        t->add_dims(1024);
        t->add_dims(3000);
        t->set_raw_data(std::string(reinterpret_cast<const char*>(w.data()), w.size() * sizeof(float)));
        auto* i = b.graph()->add_initializer();
        i->set_name("idx");
        i->set_data_type(onnx::TensorProto::INT64);
        i->add_dims(int64_t(idx.size()));
        i->set_raw_data(std::string(reinterpret_cast<const char*>(idx.data()), idx.size() * sizeof(int64_t)));
    } else {
        b.initializer("w", {1024, 3000}, w);
        b.initializer_i64("idx", {int64_t(idx.size())}, idx);
    }
    b.node("MatMul", {"x", "w"}, {"y"}, "mm");
    auto* g = b.node("Gather", {"y", "idx"}, {"z"}, "gather");
    OnnxBuilder::attr_int(g, "axis", 1);
    b.output("z");
    return b;
}

}  // namespace

TEST_CASE("BatchNormalization folds into Conv, Identity and Dropout vanish, outputs unchanged") {
    TempDir tmp;
    conv_bn_model().save(tmp.file("m.onnx"));
    ImportOptions raw;
    raw.fold_batchnorm = false;
    raw.remove_identity = false;
    Graph plain = import_onnx(tmp.file("m.onnx"), raw);
    Graph folded = import_onnx(tmp.file("m.onnx"));
    CHECK(count_op(plain, OpKind::BatchNormalization) == 1);
    CHECK(count_op(folded, OpKind::BatchNormalization) == 0);
    CHECK(count_op(folded, OpKind::Identity) == 0);
    CHECK(count_op(folded, OpKind::Dropout) == 0);
    CHECK(folded.nodes.size() == 2);  // Conv, Relu
    CHECK(folded.value(folded.outputs[0]).shape == Shape{-1, 3, 5, 5});

    Tensor x = random_tensor({4, 2, 5, 5}, 7);
    auto a = Executor(plain).run({x});
    auto c = Executor(folded).run({x});
    REQUIRE(a[0].shape == Shape{4, 3, 5, 5});
    for (size_t k = 0; k < a[0].f.size(); ++k) CHECK(c[0].f[k] == doctest::Approx(a[0].f[k]).epsilon(1e-5));
}

TEST_CASE("BatchNormalization folds into Gemm with transB") {
    TempDir tmp;
    OnnxBuilder b(13);
    b.input("x", {-1, 4});
    b.initializer("w", {3, 4}, seq(12));
    b.initializer("c", {3}, {0.5f, -0.5f, 0.25f});
    b.initializer("gamma", {3}, {1.5f, 0.5f, -1.0f});
    b.initializer("beta", {3}, {0.2f, 0.0f, -0.1f});
    b.initializer("mean", {3}, {0.3f, -0.1f, 0.05f});
    b.initializer("var", {3}, {0.9f, 1.2f, 0.4f});
    auto* g = b.node("Gemm", {"x", "w", "c"}, {"g"}, "fc");
    OnnxBuilder::attr_int(g, "transB", 1);
    OnnxBuilder::attr_float(g, "beta", 2.0f);
    b.node("BatchNormalization", {"g", "gamma", "beta", "mean", "var"}, {"y"}, "bn");
    b.output("y");
    b.save(tmp.file("m.onnx"));
    ImportOptions raw;
    raw.fold_batchnorm = false;
    Graph plain = import_onnx(tmp.file("m.onnx"), raw);
    Graph folded = import_onnx(tmp.file("m.onnx"));
    CHECK(count_op(folded, OpKind::BatchNormalization) == 0);
    Tensor x = random_tensor({5, 4}, 3);
    auto a = Executor(plain).run({x});
    auto c = Executor(folded).run({x});
    for (size_t k = 0; k < a[0].f.size(); ++k) CHECK(c[0].f[k] == doctest::Approx(a[0].f[k]).epsilon(1e-5));
}

TEST_CASE("shape subgraphs stay dynamic, fold once the batch is known; nodes are sorted") {
    TempDir tmp;
    OnnxBuilder b(13);
    b.input("x", {-1, 2, 3});
    b.initializer_i64("zero", {1}, {0});
    b.initializer_i64("minus1", {1}, {-1});
    // Written in reverse order on purpose: the importer must sort them.
    b.node("Reshape", {"x", "shape"}, {"y"}, "reshape");
    b.node("Concat", {"n1", "minus1"}, {"shape"}, "concat");
    OnnxBuilder::attr_int(b.graph()->mutable_node(1), "axis", 0);
    b.node("Gather", {"s", "zero"}, {"n1"}, "gather");
    b.node("Shape", {"x"}, {"s"}, "shape");
    b.output("y");
    b.save(tmp.file("m.onnx"));
    Graph g = import_onnx(tmp.file("m.onnx"));
    REQUIRE(g.nodes.size() == 4);
    CHECK(g.nodes.front().op == OpKind::Shape);
    CHECK(g.nodes.back().op == OpKind::Reshape);
    CHECK(g.value(g.outputs[0]).shape == Shape{-1, -1});
    auto out = Executor(g).run({random_tensor({3, 2, 3}, 1)});
    CHECK(out[0].shape == Shape{3, 6});

    Graph one = specialize_batch(g, 1);
    CHECK(one.nodes.size() == 1);  // only the Reshape is left; its shape input became a constant
    CHECK(one.value(one.outputs[0]).shape == Shape{1, 6});
}

TEST_CASE("weights in an external data file load; a missing one is a clear error") {
    TempDir tmp;
    OnnxBuilder b(13);
    b.input("x", {1, 4});
    auto* t = b.graph()->add_initializer();
    t->set_name("w");
    t->set_data_type(onnx::TensorProto::FLOAT);
    t->add_dims(4);
    t->add_dims(2);
    t->set_data_location(onnx::TensorProto::EXTERNAL);
    auto kv = [&](const char* k, const std::string& v) {
        auto* e = t->add_external_data();
        e->set_key(k);
        e->set_value(v);
    };
    kv("location", "weights.bin");
    kv("offset", "16");
    kv("length", "32");
    b.node("MatMul", {"x", "w"}, {"y"}, "mm");
    b.output("y");
    b.save(tmp.file("m.onnx"));
    {
        std::ofstream f(tmp.file("weights.bin"), std::ios::binary);
        std::vector<float> pad(4, 99.0f), w{1, 2, 3, 4, 5, 6, 7, 8};
        f.write(reinterpret_cast<const char*>(pad.data()), 16);
        f.write(reinterpret_cast<const char*>(w.data()), 32);
    }
    Graph g = import_onnx(tmp.file("m.onnx"));
    Tensor x(ElemType::Float, {1, 4});
    x.f = {1, 0, 0, 1};
    auto y = Executor(g).run({x});
    CHECK(y[0].f == std::vector<float>{1 + 7, 2 + 8});

    std::filesystem::remove(tmp.file("weights.bin"));
    CHECK_THROWS_WITH_AS(import_onnx(tmp.file("m.onnx")), doctest::Contains("weights.bin' is missing"), InputError);
    std::ofstream(tmp.file("weights.bin"), std::ios::binary) << "short";
    CHECK_THROWS_WITH_AS(import_onnx(tmp.file("m.onnx")), doctest::Contains("truncated file?"), InputError);
}


TEST_CASE("large raw_data weights are read from the file exactly; damage to them is a clear error") {
    TempDir tmp;
    big_weights_model(true).save(tmp.file("raw.onnx"));
    big_weights_model(false).save(tmp.file("parsed.onnx"));  // float_data/int64_data: protobuf parses them
    const Tensor x = random_tensor({1, 1024}, 3);
    const auto z_raw = Executor(import_onnx(tmp.file("raw.onnx"))).run({x});
    const auto z_parsed = Executor(import_onnx(tmp.file("parsed.onnx"))).run({x});
    REQUIRE(z_raw[0].shape == Shape{1, 20000});
    CHECK(z_raw[0].f == z_parsed[0].f);
    // Column 101 of x . w by hand.
    const std::vector<float> w = seq(1024 * 3000, 0.01f);
    double col101 = 0;
    for (size_t r = 0; r < 1024; ++r) col101 += double(x.f[r]) * w[r * 3000 + 101];
    CHECK(z_raw[0].f[1] == doctest::Approx(col101).epsilon(1e-4));

    // A weight whose raw_data is shorter than its shape says.
    OnnxBuilder short_w = big_weights_model(true);
    auto* w_proto = short_w.graph()->mutable_initializer(0);
    w_proto->mutable_raw_data()->resize(1024 * 2999 * sizeof(float));
    short_w.save(tmp.file("short.onnx"));
    CHECK_THROWS_WITH_AS(import_onnx(tmp.file("short.onnx")), doctest::Contains("short.onnx: initializer 'w': holds 12283904 bytes"),
                         InputError);

    // Cut anywhere (inside the weights too): an error naming the file, never a crash.
    const std::string good = big_weights_model(true).bytes();
    for (size_t cut = 1; cut < good.size(); cut += good.size() / 97) {
        std::ofstream(tmp.file("cut.onnx"), std::ios::binary) << good.substr(0, cut);
        CHECK_THROWS_WITH_AS(import_onnx(tmp.file("cut.onnx")), doctest::Contains("cut.onnx"), InputError);
    }
}

TEST_CASE("a QDQ-quantized model imports: the weight dequantization folds, activation fake-quantization runs") {
    // x -> QuantizeLinear(uint8) -> DequantizeLinear -> Conv(DequantizeLinear(int8 weight, per-channel scale)).
    TempDir tmp;
    OnnxBuilder b(13);
    b.input("x", {1, 2, 3, 3});
    b.initializer("x_scale", {}, {0.05f});
    b.initializer_int32_data("x_zp", {}, {128}, onnx::TensorProto::UINT8);
    const std::vector<int> w_codes{-128, 5, 127, -3, 0, 64};
    b.initializer_int32_data("w_q", {3, 2, 1, 1}, w_codes, onnx::TensorProto::INT8);
    b.initializer("w_scale", {3}, {0.01f, 0.02f, 0.5f});
    b.node("QuantizeLinear", {"x", "x_scale", "x_zp"}, {"xq"}, "quant_x");
    b.node("DequantizeLinear", {"xq", "x_scale", "x_zp"}, {"xd"}, "dequant_x");
    OnnxBuilder::attr_int(b.node("DequantizeLinear", {"w_q", "w_scale"}, {"w"}, "dequant_w"), "axis", 0);
    b.node("Conv", {"xd", "w"}, {"y"}, "conv");
    b.output("y");
    b.save(tmp.file("qdq.onnx"));

    Graph g = import_onnx(tmp.file("qdq.onnx"));
    CHECK(count_op(g, OpKind::DequantizeLinear) == 1);  // the weight's is folded into a constant
    CHECK(count_op(g, OpKind::QuantizeLinear) == 1);
    const Node& conv = g.nodes.back();
    REQUIRE(conv.op == OpKind::Conv);
    const Tensor& w = *g.value(conv.inputs[1]).constant;
    const float w_scale[3] = {0.01f, 0.02f, 0.5f};
    for (size_t k = 0; k < 6; ++k) CHECK(w.f[k] == float(w_codes[k]) * w_scale[k / 2]);

    Tensor x(ElemType::Float, {1, 2, 3, 3});
    for (size_t k = 0; k < 18; ++k) x.f[k] = -7.0f + 0.777f * float(k);  // -7 .. 6.2: clips at both ends
    const auto y = Executor(g).run({x});
    for (int64_t m = 0; m < 3; ++m)
        for (int64_t p = 0; p < 9; ++p) {
            double ref = 0;
            for (int64_t c = 0; c < 2; ++c) {
                const double code = std::clamp(std::nearbyint(double(x.f[size_t(c * 9 + p)]) / 0.05) + 128, 0.0, 255.0);
                ref += (code - 128) * double(0.05f) * double(w.f[size_t(m * 2 + c)]);
            }
            CHECK(y[0].f[size_t(m * 9 + p)] == doctest::Approx(ref).epsilon(1e-5));
        }
}

TEST_CASE("QuantizeLinear and DequantizeLinear check their scales") {
    TempDir tmp;
    OnnxBuilder b(13);
    b.input("x", {1, 4});
    b.initializer("s", {3}, {1, 2, 3});
    OnnxBuilder::attr_int(b.node("QuantizeLinear", {"x", "s"}, {"y"}, "q"), "axis", 1);
    b.output("y");
    b.save(tmp.file("bad.onnx"));
    CHECK_THROWS_WITH_AS(import_onnx(tmp.file("bad.onnx")), doctest::Contains("node 'q'"), InputError);
    CHECK_THROWS_WITH_AS(import_onnx(tmp.file("bad.onnx")), doctest::Contains("the scale has 3 values, axis 1 of the input has 4"),
                         InputError);
}

TEST_CASE("a large external weight is read in chunks like an embedded one") {
    TempDir tmp;
    OnnxBuilder b = big_weights_model(true);
    auto* w_proto = b.graph()->mutable_initializer(0);
    {
        std::ofstream f(tmp.file("w.bin"), std::ios::binary);
        f << w_proto->raw_data();
    }
    w_proto->clear_raw_data();
    w_proto->set_data_location(onnx::TensorProto::EXTERNAL);
    auto* e = w_proto->add_external_data();
    e->set_key("location");
    e->set_value("w.bin");
    b.save(tmp.file("ext.onnx"));
    big_weights_model(true).save(tmp.file("raw.onnx"));
    const Tensor x = random_tensor({1, 1024}, 4);
    CHECK(Executor(import_onnx(tmp.file("ext.onnx"))).run({x})[0].f == Executor(import_onnx(tmp.file("raw.onnx"))).run({x})[0].f);
}

TEST_CASE("bad files are clear errors naming the file") {
    TempDir tmp;
    CHECK_THROWS_WITH_AS(import_onnx(tmp.file("absent.onnx")), doctest::Contains("absent.onnx: no such file"), InputError);

    std::ofstream(tmp.file("text.onnx")) << "this is a README, not a model\n";
    CHECK_THROWS_WITH_AS(import_onnx(tmp.file("text.onnx")), doctest::Contains("text.onnx"), InputError);

    std::ofstream(tmp.file("empty.onnx")).close();
    CHECK_THROWS_AS(import_onnx(tmp.file("empty.onnx")), InputError);

    // Truncation at every length must give an error or (if cut at a field boundary) a model that
    // still imports consistently: never a crash or a hang.
    std::string good = conv_bn_model().bytes();
    for (size_t cut = 1; cut < good.size(); cut += 7) {
        std::ofstream(tmp.file("cut.onnx"), std::ios::binary) << good.substr(0, cut);
        try {
            import_onnx(tmp.file("cut.onnx"));
        } catch (const InputError& e) {
            CHECK(std::string(e.what()).find("cut.onnx") != std::string::npos);
        }
    }
    // Random bytes likewise.
    std::mt19937_64 rng(5);
    for (int k = 0; k < 50; ++k) {
        std::string junk(size_t(1 + rng() % 300), '\0');
        for (char& ch : junk) ch = char(rng());
        std::ofstream(tmp.file("junk.onnx"), std::ios::binary) << junk;
        CHECK_THROWS_AS(import_onnx(tmp.file("junk.onnx")), InputError);
    }
}

TEST_CASE("a missing initializer names the node and the value") {
    TempDir tmp;
    OnnxBuilder b(13);
    b.input("x", {1, 4});
    b.node("MatMul", {"x", "weights_that_were_lost"}, {"y"}, "fc1");
    b.output("y");
    b.save(tmp.file("m.onnx"));
    CHECK_THROWS_WITH_AS(import_onnx(tmp.file("m.onnx")),
                         doctest::Contains("node 'fc1' (MatMul) reads 'weights_that_were_lost', which no node, initializer or graph input provides"),
                         InputError);
}

// Found by fuzz/fuzz_onnx_import: ONNX's own shape inference (libonnx 1.12), which the import runs
// as a cross-check, dereferenced the missing type of an undefined input (EyeLike with a dtype) and crashed.
TEST_CASE("a node reading an undefined value is a clear error, not a crash in ONNX's shape inference") {
    TempDir tmp;
    OnnxBuilder b(9);
    OnnxBuilder::attr_int(b.node("EyeLike", {"x"}, {"y"}, "eye"), "dtype", onnx::TensorProto::DOUBLE);
    b.output("y", {3, 4}, onnx::TensorProto::DOUBLE, true);
    b.save(tmp.file("m.onnx"));
    CHECK_THROWS_WITH_AS(import_onnx(tmp.file("m.onnx")),
                         doctest::Contains("node 'eye' (EyeLike) reads 'x', which no node, initializer or graph input provides"),
                         InputError);
}

// Found by fuzz/fuzz_onnx_import: ONNX's shape inference crashed on a Conv whose weight has another
// rank than its input; it now runs only on graphs our own inference accepted.
TEST_CASE("a Conv whose weight rank differs from its input's is a clear error, not a crash in ONNX's shape inference") {
    TempDir tmp;
    OnnxBuilder b(13);
    b.input("x", {1, 1, 5});
    b.input("w", {1, 1, 3, 3});
    b.node("Conv", {"x", "w"}, {"y"}, "conv");
    b.output("y");
    b.save(tmp.file("m.onnx"));
    CHECK_THROWS_WITH_AS(import_onnx(tmp.file("m.onnx")), doctest::Contains("node 'conv' (Conv): weight rank 4 differs from input rank 3"),
                         InputError);
}

TEST_CASE("inconsistent shapes are errors naming the node") {
    TempDir tmp;
    SUBCASE("weight does not match the input channels") {
        OnnxBuilder b(13);
        b.input("x", {1, 3, 8, 8});
        b.initializer("w", {4, 2, 3, 3}, seq(72));
        b.node("Conv", {"x", "w"}, {"y"}, "conv_bad");
        b.output("y");
        b.save(tmp.file("m.onnx"));
        CHECK_THROWS_WITH_AS(import_onnx(tmp.file("m.onnx")),
                             doctest::Contains("node 'conv_bad' (Conv): input has 3 channels but weight [4,2,3,3]"), InputError);
    }
    SUBCASE("declared output shape disagrees with the computed one") {
        OnnxBuilder b(13);
        b.input("x", {2, 4});
        b.initializer("w", {4, 3}, seq(12));
        b.node("MatMul", {"x", "w"}, {"y"}, "mm");
        b.output("y", {2, 5}, 1, true);
        b.save(tmp.file("m.onnx"));
        CHECK_THROWS_WITH_AS(import_onnx(tmp.file("m.onnx")), doctest::Contains("inconsistent shapes: 'y' is declared [2,5]"),
                             InputError);
    }
    SUBCASE("a matmul with mismatched inner dimensions") {
        OnnxBuilder b(13);
        b.input("x", {2, 4});
        b.initializer("w", {5, 3}, seq(15));
        b.node("MatMul", {"x", "w"}, {"y"}, "mm_bad");
        b.output("y");
        b.save(tmp.file("m.onnx"));
        CHECK_THROWS_WITH_AS(import_onnx(tmp.file("m.onnx")), doctest::Contains("node 'mm_bad' (MatMul): inner dimensions differ"),
                             InputError);
    }
}

TEST_CASE("unsupported ops are listed by type with every node using them") {
    TempDir tmp;
    OnnxBuilder b(13);
    b.input("x", {1, 4});
    b.node("NonMaxSuppression", {"x"}, {"a"}, "nms_1");
    b.node("Relu", {"a"}, {"b"}, "ok");
    b.node("NonMaxSuppression", {"b"}, {"c"}, "nms_2");
    b.node("Unique", {"c"}, {"y"}, "uniq");
    OnnxBuilder::attr_string(b.node("Resize", {"y", "", "s"}, {"z"}, "resize_crop"), "coordinate_transformation_mode",
                             "tf_crop_and_resize");
    b.initializer("s", {2}, {1, 1});
    b.output("z");
    b.save(tmp.file("m.onnx"));
    try {
        import_onnx(tmp.file("m.onnx"));
        FAIL("expected UnsupportedOpsError");
    } catch (const UnsupportedOpsError& e) {
        std::string msg = e.what();
        CHECK(msg.find("3 unsupported ops") != std::string::npos);
        CHECK(msg.find("NonMaxSuppression: 'nms_1', 'nms_2'") != std::string::npos);
        CHECK(msg.find("Unique: 'uniq'") != std::string::npos);
        CHECK(msg.find("Resize (Resize coordinate_transformation_mode 'tf_crop_and_resize' is not supported): 'resize_crop'") !=
              std::string::npos);
        CHECK(e.entries().size() == 3);
    }
}

// Found by fuzz/fuzz_onnx_import: a node naming more outputs than its op gives was an internal error.
TEST_CASE("a node with more outputs than its op gives is an unsupported op, not an internal error") {
    TempDir tmp;
    OnnxBuilder b(13);
    b.input("x", {2});
    b.node("Reciprocal", {"x"}, {"y", "extra"}, "recip");
    b.output("y");
    b.save(tmp.file("m.onnx"));
    CHECK_THROWS_WITH_AS(import_onnx(tmp.file("m.onnx")), doctest::Contains("Reciprocal (2 outputs where Reciprocal gives 1): 'recip'"),
                         UnsupportedOpsError);
}

// Found by fuzz/fuzz_onnx_import: a shape given as doubles holding NaN was converted to int64 (undefined).
TEST_CASE("a shape holding NaN or a value past int64 is a clear error naming the node") {
    TempDir tmp;
    for (const double bad : {std::nan(""), 1e30}) {
        OnnxBuilder b(13);
        b.input("x", {2, 3});
        b.initializer_f64("shape", {2}, {0, bad});
        b.node("Reshape", {"x", "shape"}, {"y"}, "reshape");
        b.output("y");
        b.save(tmp.file("m.onnx"));
        const std::string expected = "node 'reshape' (Reshape): the value " + std::string(std::isnan(bad) ? "nan" : "1e+30") +
                                     " stands where an integer (a shape, index, axis or count) is expected";
        CHECK_THROWS_WITH_AS(import_onnx(tmp.file("m.onnx")), doctest::Contains(expected.c_str()), InputError);
    }
}

TEST_CASE("opsets: 11 to 18 import, newer ones are refused with the fix") {
    TempDir tmp;
    for (int opset : {11, 13, 17, 18}) {
        OnnxBuilder b(opset);
        b.input("x", {2, 3});
        b.node("Relu", {"x"}, {"y"});
        b.output("y");
        b.save(tmp.file("m.onnx"));
        CHECK(import_onnx(tmp.file("m.onnx")).opset == opset);
    }
    OnnxBuilder b(19);
    b.input("x", {2, 3});
    b.node("Relu", {"x"}, {"y"});
    b.output("y");
    b.save(tmp.file("m.onnx"));
    CHECK_THROWS_WITH_AS(import_onnx(tmp.file("m.onnx")), doctest::Contains("opset 19 is newer than cimforge reads"), InputError);
}

TEST_CASE("a cycle is reported, not looped on") {
    TempDir tmp;
    OnnxBuilder b(13);
    b.input("x", {2});
    b.node("Add", {"x", "q"}, {"p"}, "a");
    b.node("Relu", {"p"}, {"q"}, "b");
    b.output("q");
    b.save(tmp.file("m.onnx"));
    CHECK_THROWS_WITH_AS(import_onnx(tmp.file("m.onnx")), doctest::Contains("cycle"), InputError);
}

TEST_CASE("the executor checks its inputs") {
    TempDir tmp;
    conv_bn_model().save(tmp.file("m.onnx"));
    Graph g = import_onnx(tmp.file("m.onnx"));
    Executor ex(g);
    CHECK_THROWS_WITH_AS(ex.run({}), doctest::Contains("takes 1 input(s), got 0"), InputError);
    CHECK_THROWS_WITH_AS(ex.run({random_tensor({1, 3, 5, 5}, 1)}), doctest::Contains("has shape [1,3,5,5], the model declares [?,2,5,5]"),
                         InputError);
    CHECK(ex.run({random_tensor({1, 2, 5, 5}, 1)})[0].shape == Shape{1, 3, 5, 5});
}

TEST_CASE("TensorProto files round-trip") {
    TempDir tmp;
    Tensor t = random_tensor({2, 3}, 9);
    save_tensor_pb(t, "abc", tmp.file("t.pb"));
    std::string name;
    Tensor r = load_tensor_pb(tmp.file("t.pb"), &name);
    CHECK(name == "abc");
    CHECK(r.shape == t.shape);
    CHECK(r.f == t.f);
    std::ofstream(tmp.file("bad.pb"), std::ios::binary) << "\xff\xff\xff";
    CHECK_THROWS_AS(load_tensor_pb(tmp.file("bad.pb")), InputError);
}
