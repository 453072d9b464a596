// RNN, GRU and LSTM beyond ONNX's backend cases (which test_conformance runs).
// - Against references (ctest label "python"): tests/ir/rnn_reference.py writes cases checked
//   against torch.nn.LSTM/GRU/RNN exported by torch.onnx, and against a float64 NumPy
//   transcription of the spec for what torch cannot export (bidirectional with sequence_lens
//   shorter than the sequence, layout=1, clip, non-default activations with alpha/beta,
//   peepholes, input_forget, absent outputs). Tolerance: rtol 1e-4, atol 1e-5 (float32 kernel).
// - Malformed nodes give InputError naming the node; results do not depend on the thread count.
#include <doctest/doctest.h>

#include <cim/ir/executor.h>
#include <cim/ir/onnx_import.h>

#include <omp.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <random>

#include "onnx_builder.h"

namespace fs = std::filesystem;
using namespace cim;
using cim::test::OnnxBuilder;

TEST_CASE("RNN/GRU/LSTM match torch and a NumPy transcription of the ONNX spec (python3-torch)") {
    cim::test::TempDir tmp;
    const std::string command = "/usr/bin/python3 " CIM_SOURCE_DIR "/tests/ir/rnn_reference.py '" + tmp.path + "' 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string log;
    char buf[512];
    while (fgets(buf, sizeof buf, pipe)) log += buf;
    const int rc = pclose(pipe);
    INFO(log);
    REQUIRE(rc == 0);
    int cases = 0;
    for (const auto& e : fs::directory_iterator(tmp.path)) {
        if (!e.is_directory()) continue;
        const std::string name = e.path().filename().string();
        CAPTURE(name);
        const Graph g = import_onnx((e.path() / "model.onnx").string());
        std::vector<Tensor> inputs;
        const std::string ds = (e.path() / "test_data_set_0").string();
        for (const auto& f : test_case_files(ds, "input")) inputs.push_back(load_tensor_pb(f));
        const auto outs = Executor(g).run(inputs);
        const auto refs = test_case_files(ds, "output");
        REQUIRE(outs.size() == refs.size());
        for (size_t k = 0; k < refs.size(); ++k) {
            const OutputComparison c = compare_output(outs[k], load_tensor_pb(refs[k]), 1e-4, 1e-5);
            CHECK_MESSAGE(c.pass, c.problem);
        }
        ++cases;
    }
    CHECK(cases == 12);
}

namespace {

// A bidirectional LSTM X[5,3,4] -> Y, Y_h, Y_c with hidden 3, weights random; `edit` may break it.
OnnxBuilder lstm_model(std::function<void(OnnxBuilder&, onnx::NodeProto*)> edit = {}, const std::string& op = "LSTM",
                       int64_t gates = 4) {
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> u(-1, 1);
    auto rand = [&](size_t n) {
        std::vector<float> v(n);
        for (float& x : v) x = u(rng);
        return v;
    };
    OnnxBuilder b(14);
    b.input("X", {5, 3, 4});
    b.initializer("W", {2, gates * 3, 4}, rand(size_t(2 * gates * 3 * 4)));
    b.initializer("R", {2, gates * 3, 3}, rand(size_t(2 * gates * 3 * 3)));
    b.initializer("B", {2, 2 * gates * 3}, rand(size_t(2 * 2 * gates * 3)));
    b.initializer_int32_data("L", {3}, {5, 2, 4}, onnx::TensorProto::INT32);
    auto* n = b.node(op, {"X", "W", "R", "B", "L"}, {"Y", "Y_h"}, "rec");
    OnnxBuilder::attr_int(n, "hidden_size", 3);
    OnnxBuilder::attr_string(n, "direction", "bidirectional");
    b.output("Y").output("Y_h");
    if (edit) edit(b, n);
    return b;
}

Graph import_model(const OnnxBuilder& b) {
    cim::test::TempDir tmp;
    b.save(tmp.file("m.onnx"));
    return import_onnx(tmp.file("m.onnx"));
}

}  // namespace

TEST_CASE("malformed recurrent nodes are InputErrors naming the node") {
    CHECK_NOTHROW(import_model(lstm_model()));
    struct Bad {
        const char* what;
        std::function<void(OnnxBuilder&, onnx::NodeProto*)> edit;
        const char* says;
    };
    const std::vector<Bad> bad = {
        {"bad direction", [](OnnxBuilder&, onnx::NodeProto* n) { n->mutable_attribute(1)->set_s("sideways"); }, "direction 'sideways'"},
        {"hidden_size mismatch", [](OnnxBuilder&, onnx::NodeProto* n) { n->mutable_attribute(0)->set_i(5); }, "hidden_size 5"},
        {"zero hidden_size", [](OnnxBuilder&, onnx::NodeProto* n) { n->mutable_attribute(0)->set_i(0); }, "hidden_size must be positive"},
        {"huge hidden_size", [](OnnxBuilder&, onnx::NodeProto* n) { n->mutable_attribute(0)->set_i(int64_t(1) << 62); }, "hidden_size must be positive"},
        {"unknown activation",
         [](OnnxBuilder&, onnx::NodeProto* n) {
             auto* a = n->add_attribute();
             a->set_name("activations");
             a->set_type(onnx::AttributeProto::STRINGS);
             for (const char* s : {"Sigmoid", "Tanh", "Swish"}) a->add_strings(s);
         },
         "activation 'Swish'"},
        {"activation count",
         [](OnnxBuilder&, onnx::NodeProto* n) {
             auto* a = n->add_attribute();
             a->set_name("activations");
             a->set_type(onnx::AttributeProto::STRINGS);
             a->add_strings("Sigmoid");
         },
         "needs 6"},
        {"bad layout", [](OnnxBuilder&, onnx::NodeProto* n) { OnnxBuilder::attr_int(n, "layout", 2); }, "layout must be 0 or 1"},
        {"negative clip", [](OnnxBuilder&, onnx::NodeProto* n) { OnnxBuilder::attr_float(n, "clip", -1); }, "clip must be positive"},
        {"one-direction weights", [](OnnxBuilder&, onnx::NodeProto* n) { n->mutable_attribute(1)->set_s("forward"); }, "needs 1"},
        {"W for another input size",
         [](OnnxBuilder& b, onnx::NodeProto*) {
             b.graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(2)->set_dim_value(7);
         },
         "input W has shape"},
        {"bias of half the size",
         [](OnnxBuilder& b, onnx::NodeProto*) {
             auto* t = b.graph()->mutable_initializer(2);
             t->set_dims(1, 12);
             t->mutable_float_data()->Truncate(24);
         },
         "input B"},
        {"float sequence_lens",
         [](OnnxBuilder& b, onnx::NodeProto*) {
             auto* t = b.graph()->mutable_initializer(3);
             t->clear_int32_data();
             t->set_data_type(onnx::TensorProto::FLOAT);
             for (float v : {5.0f, 2.0f, 4.0f}) t->add_float_data(v);
         },
         "sequence_lens must be an int32"},
        {"too many outputs", [](OnnxBuilder&, onnx::NodeProto* n) { n->add_output("Y_c"); n->add_output("extra"); }, "at most 3"},
    };
    for (const Bad& c : bad) {
        const std::string what = c.what;
        CAPTURE(what);
        try {
            import_model(lstm_model(c.edit));
            FAIL("imported");
        } catch (const InputError& e) {
            const std::string msg = e.what();
            CAPTURE(msg);
            CHECK(msg.find("'rec'") != std::string::npos);
            CHECK(msg.find(c.says) != std::string::npos);
        }
    }
    // A sequence length past the sequence is found at run time.
    const Graph g = import_model(lstm_model([](OnnxBuilder& b, onnx::NodeProto*) {
        auto* t = b.graph()->mutable_initializer(3);
        t->set_int32_data(1, 9);
    }));
    Tensor x(ElemType::Float, {5, 3, 4});
    CHECK_THROWS_WITH_AS(Executor(g).run({x}), doctest::Contains("sequence_lens[1] = 9"), InputError);
}

TEST_CASE("recurrent results do not depend on the thread count") {
    for (const auto& [op, gates] : {std::pair<std::string, int64_t>{"LSTM", 4}, {"GRU", 3}, {"RNN", 1}}) {
        const std::string name = op;
        CAPTURE(name);
        const Graph g = import_model(lstm_model({}, op, gates));
        Tensor x(ElemType::Float, {5, 3, 4});
        for (size_t k = 0; k < x.f.size(); ++k) x.f[k] = std::sin(float(k));
        const int before = omp_get_max_threads();
        omp_set_num_threads(1);
        const auto one = Executor(g).run({x});
        omp_set_num_threads(3);
        const auto three = Executor(g).run({x});
        omp_set_num_threads(before);
        REQUIRE(one.size() == 2);
        for (size_t k = 0; k < one.size(); ++k) CHECK(one[k].f == three[k].f);
        // Padding steps of the shorter sequences (lengths 5, 2, 4) are zeros in Y [5, 2, 3, 3].
        for (int64_t d = 0; d < 2; ++d)
            for (int64_t h = 0; h < 3; ++h) {
                CHECK(one[0].f[size_t(((2 * 2 + d) * 3 + 1) * 3 + h)] == 0.0f);  // t=2, sample 1
                CHECK(one[0].f[size_t(((4 * 2 + d) * 3 + 2) * 3 + h)] == 0.0f);  // t=4, sample 2
            }
    }
}
