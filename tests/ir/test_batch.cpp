// Batch-1 exports on any number of images: make_batch_dynamic's rewrites and their
// verification, the item-by-item fallback, on built graphs and on real PyTorch exports.
#include <doctest/doctest.h>

#include "onnx_builder.h"

#include <cim/ir/batch.h>
#include <cim/ir/sample_set.h>
#include <cim/ir/executor.h>
#include <cim/ir/onnx_import.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>

using namespace cim;
using cim::test::OnnxBuilder;
using cim::test::TempDir;

namespace {

Tensor random_tensor(Shape s, uint64_t seed) {
    Tensor t(ElemType::Float, s);
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> d;
    for (float& x : t.f) x = d(rng);
    return t;
}

std::vector<float> ramp(size_t n, float scale = 0.05f) {
    std::vector<float> v(n);
    for (size_t k = 0; k < n; ++k) v[k] = scale * float(int((k * 37) % 19) - 9);
    return v;
}

Graph import_built(const OnnxBuilder& b, const ImportOptions& options = {}) {
    TempDir tmp;
    b.save(tmp.file("m.onnx"));
    return import_onnx(tmp.file("m.onnx"), options);
}

const Node& node_named(const Graph& g, const std::string& name) {
    const Node* n = g.find_node(name);
    REQUIRE_MESSAGE(n, "no node " << name);
    return *n;
}

void check_close(const Tensor& got, const Tensor& want, double rtol, const std::string& what) {
    double scale = 0;
    for (int64_t k = 0; k < want.numel(); ++k) scale = std::max(scale, std::fabs(want.get(k)));
    const OutputComparison c = compare_output(got, want, rtol, rtol * scale);
    CHECK_MESSAGE(c.pass, what << ": " << c.problem << " (got " << shape_str(got.shape) << ", want " << shape_str(want.shape) << ")");
}

// What a batched graph must do: at `items` items, run as it is and specialized to that batch,
// give every output of the original graph run on each item alone.
void check_equals_per_item(const Graph& original, const Graph& batched, int64_t items, uint64_t seed) {
    std::vector<Tensor> inputs;
    for (int id : original.inputs) {
        Shape s = original.value(id).shape;
        s[0] = items;
        inputs.push_back(random_tensor(s, seed++));
    }
    std::vector<Tensor> want;
    for (int64_t k = 0; k < items; ++k) {  // item by item without run_per_sample, which is under test too
        std::vector<Tensor> one;
        for (const Tensor& t : inputs) one.push_back(batch_slice(t, k, k + 1));
        auto outs = Executor(original).run(one);
        if (want.empty()) want = outs;
        else
            for (size_t o = 0; o < outs.size(); ++o) want[o] = batch_concat({want[o], outs[o]});
    }
    const Graph spec = specialize_batch(batched, items);
    const auto dynamic = Executor(batched).run(inputs);
    const auto specialized = Executor(spec).run(inputs);
    REQUIRE(dynamic.size() == want.size());
    for (size_t o = 0; o < want.size(); ++o) {
        CHECK(want[o].shape[0] == items);
        check_close(dynamic[o], want[o], 1e-5, "output " + std::to_string(o) + " (dynamic batch)");
        check_close(specialized[o], want[o], 1e-5, "output " + std::to_string(o) + " (specialized)");
    }
}

void check_note(const BatchRewrite& r, const std::string& part) {
    CHECK_MESSAGE(r.note.find(part) != std::string::npos, "note: " << r.note);
}

// make_batch_dynamic must batch `g` (every input's leading dimension dynamic, the note containing
// `part`), and the result must pass check_equals_per_item at `items`.
BatchRewrite require_batched(const Graph& g, const std::string& part, int64_t items, uint64_t seed) {
    BatchRewrite r = make_batch_dynamic(g);
    REQUIRE_MESSAGE(r.batched, "note: " << r.note);
    check_note(r, part);
    for (int id : r.graph.inputs) CHECK(r.graph.value(id).shape[0] == -1);
    check_equals_per_item(g, r.graph, items, seed);
    return r;
}

// make_batch_dynamic must give `g` back unchanged, saying `part` of why.
void require_pinned(const Graph& g, const std::string& part) {
    const BatchRewrite r = make_batch_dynamic(g);
    CHECK_FALSE_MESSAGE(r.batched, "note: " << r.note);
    check_note(r, part);
    CHECK(r.graph.dump() == g.dump());
}

// x [1,2,4,4] -> Relu -> Reshape(shape) -> MatMul [32,3] -> Add -> y.
OnnxBuilder reshape_model(const std::vector<int64_t>& shape, int opset = 13, int allowzero = -1) {
    OnnxBuilder b(opset);
    b.input("x", {1, 2, 4, 4});
    b.initializer_i64("shape", {int64_t(shape.size())}, shape);
    b.initializer("w", {32, 3}, ramp(96));
    b.initializer("bias", {3}, {0.1f, -0.2f, 0.3f});
    b.node("Relu", {"x"}, {"r"}, "relu");
    auto* n = b.node("Reshape", {"r", "shape"}, {"flat"}, "flatten");
    if (allowzero >= 0) OnnxBuilder::attr_int(n, "allowzero", allowzero);
    b.node("MatMul", {"flat", "w"}, {"mm"}, "fc");
    b.node("Add", {"mm", "bias"}, {"y"}, "fc_bias");
    b.output("y");
    return b;
}

// One node `op` from float inputs (name, dims) to "y", with one integer attribute if `attr` is named.
Graph one_node(const std::string& op, const std::vector<std::pair<std::string, std::vector<int64_t>>>& inputs,
               const std::string& attr = "", int64_t value = 0) {
    OnnxBuilder b(13);
    auto* n = b.node(op, {}, {"y"}, op);
    for (const auto& [name, dims] : inputs) {
        b.input(name, dims);
        n->add_input(name);
    }
    if (!attr.empty()) OnnxBuilder::attr_int(n, attr, value);
    b.output("y");
    return import_built(b);
}

std::vector<int64_t> reshape_target(const Graph& g, const std::string& node) {
    const Tensor* t = g.constant(node_named(g, node).inputs[1]);
    REQUIRE(t);
    return t->to_ints();
}

}  // namespace

TEST_CASE("batch: a Reshape to [1, 32] or [1, -1] carries the batch as 0, verified item by item") {
    const std::pair<std::vector<int64_t>, std::string> cases[] = {{{1, 32}, "to [1,32] now to [0,32]"}, {{1, -1}, "to [1,-1] now to [0,-1]"}};
    for (const auto& c : cases) {
        const auto& shape = c.first;
        const std::string& rewrite = c.second;  // not a structured binding: CAPTURE's lambda cannot take one before clang 16
        CAPTURE(rewrite);
        const Graph g = import_built(reshape_model(shape));
        const BatchRewrite r = require_batched(g, "Reshape 'flatten' " + rewrite + "; verified at batch 3", 5, 11);
        CHECK(r.graph.value(r.graph.inputs[0]).shape == Shape{-1, 2, 4, 4});
        CHECK(r.graph.value(r.graph.outputs[0]).shape == Shape{-1, 3});
        std::vector<int64_t> want = shape;
        want[0] = 0;
        CHECK(reshape_target(r.graph, "flatten") == want);
        CHECK(reshape_target(g, "flatten") == shape);  // the original's constant is untouched
        check_equals_per_item(g, r.graph, 1, 12);       // and at batch 1 nothing changed
    }
}

TEST_CASE("batch: x.reshape(x.shape[0], -1) written as nodes: folded at batch 1 it is rewritten, left as nodes it is followed") {
    // Shape -> Gather(0) -> Unsqueeze -> Concat with a Constant node's [-1] -> Reshape -> Relu.
    OnnxBuilder b(13);
    b.input("x", {1, 3, 2, 2});
    b.initializer_i64("zero", {}, {0});
    b.initializer_i64("axes", {1}, {0});
    b.node("Shape", {"x"}, {"shape"}, "shape");
    b.node("Gather", {"shape", "zero"}, {"n"}, "batch");
    b.node("Unsqueeze", {"n", "axes"}, {"n1"}, "unsqueeze");
    auto* c = b.node("Constant", {}, {"minus_one"}, "minus_one");
    auto* value = c->add_attribute();
    value->set_name("value");
    value->set_type(onnx::AttributeProto::TENSOR);
    value->mutable_t()->set_data_type(onnx::TensorProto::INT64);
    value->mutable_t()->add_dims(1);
    value->mutable_t()->add_int64_data(-1);
    OnnxBuilder::attr_int(b.node("Concat", {"n1", "minus_one"}, {"target"}, "target"), "axis", 0);
    b.node("Reshape", {"x", "target"}, {"flat"}, "flatten");
    b.node("Relu", {"flat"}, {"y"}, "relu");
    b.output("y");
    const Graph folded = import_built(b);
    require_batched(folded, "Reshape 'flatten' to [1,-1] now to [0,-1]", 3, 13);

    ImportOptions keep;
    keep.fold_constants = false;
    const Graph nodes = import_built(b, keep);
    REQUIRE(nodes.find_node("shape"));
    require_batched(nodes, "no node pinned it", 3, 14);
}

TEST_CASE("batch: under allowzero=1 the 1 becomes -1; beside another -1 the graph stays pinned") {
    {
        const Graph g = import_built(reshape_model({1, 32}, 14, 1));
        const BatchRewrite r = require_batched(g, "Reshape 'flatten' to [1,32] now to [-1,32]", 4, 21);
        CHECK(reshape_target(r.graph, "flatten") == std::vector<int64_t>{-1, 32});
    }
    require_pinned(import_built(reshape_model({1, -1}, 14, 1)), "node 'flatten' (Reshape): the shape [1,-1] pins the batch");
}

TEST_CASE("batch: a graph with a dynamic batch comes back unchanged; inputs without a leading 1 are refused") {
    const Graph g = one_node("Relu", {{"x", {-1, 3}}});
    const BatchRewrite r = make_batch_dynamic(g);
    CHECK(r.batched);
    CHECK(r.note == "the batch is already dynamic");
    CHECK(r.graph.dump() == g.dump());

    require_pinned(one_node("Relu", {{"x", {2, 3}}}), "input 'x' has shape [2,3]");
    // ReduceSum over everything: the output has no batch axis.
    require_pinned(one_node("ReduceSum", {{"x", {1, 3}}}, "keepdims", 0), "output 'y' has shape []");
}

TEST_CASE("batch: every input of a multi-input graph becomes dynamic") {
    OnnxBuilder b(13);
    b.input("a", {1, 2, 3});
    b.input("b", {1, 6});
    b.initializer_i64("shape", {2}, {1, 6});
    b.node("Reshape", {"a", "shape"}, {"af"}, "flat_a");
    b.node("Mul", {"af", "b"}, {"y"}, "mul");
    b.output("y");
    const BatchRewrite r = require_batched(import_built(b), "Reshape 'flat_a' to [1,6] now to [0,6]", 4, 31);
    CHECK(r.graph.inputs.size() == 2);
    // The second input is not a batch of 1.
    require_pinned(one_node("Add", {{"a", {1, 6}}, {"b", {3, 6}}}), "input 'b' has shape [3,6]");
}

TEST_CASE("batch: a constant without the batch joined to batched values is broadcast to the batch") {
    // A class token: Concat([token [1,1,4], x [1,3,4]], axis 1), then a per-item sum.
    OnnxBuilder b(13);
    b.input("x", {1, 3, 4});
    b.initializer("token", {1, 1, 4}, {0.5f, -1.0f, 2.0f, 0.25f});
    b.node("Concat", {"token", "x"}, {"t"}, "join");
    OnnxBuilder::attr_int(b.graph()->mutable_node(0), "axis", 1);
    auto* s = b.node("ReduceMean", {"t"}, {"y"}, "mean");
    OnnxBuilder::attr_ints(s, "axes", {2});
    b.output("y");
    const BatchRewrite r = require_batched(import_built(b), "'token' [1,1,4] broadcast to the batch for Concat 'join'", 5, 41);
    size_t expands = 0;
    for (const Node& n : r.graph.nodes) expands += n.op == OpKind::Expand;
    CHECK(expands == 1);
    // Specialized, the added shape arithmetic folds away again.
    const Graph spec = specialize_batch(r.graph, 2);
    for (const Node& n : spec.nodes) CHECK(n.op != OpKind::Shape);
}

TEST_CASE("batch: a graph that mixes the batch into other axes stays pinned, with the reason") {
    {  // [1,4,8] -> [4,8] (the batch dropped) -> MatMul -> [1,-1]: Reshape cannot take N items
        OnnxBuilder b(13);
        b.input("x", {1, 4, 8});
        b.initializer_i64("s1", {2}, {4, 8});
        b.initializer_i64("s2", {2}, {1, -1});
        b.initializer("w", {8, 2}, ramp(16));
        b.node("Reshape", {"x", "s1"}, {"m"}, "drop_batch");
        b.node("MatMul", {"m", "w"}, {"p"}, "mm");
        b.node("Reshape", {"p", "s2"}, {"y"}, "flat");
        b.output("y");
        require_pinned(import_built(b), "with N items, node 'drop_batch' (Reshape): cannot reshape [N,4,8]");
    }
    {  // Softmax over axis 0, the batch: every shape infers, the verification finds the values differ
        const Graph g = one_node("Softmax", {{"x", {1, 5}}}, "axis", 0);
        require_pinned(g, "output 'y' at batch 3 differs from the single items'");
        // The fallback: item by item, a softmax over one item is 1 everywhere.
        const auto out = run_per_sample(g, {random_tensor({4, 5}, 51)});
        REQUIRE(out[0].shape == Shape{4, 5});
        for (float v : out[0].f) CHECK(v == 1.0f);
    }
}

TEST_CASE("batch: run_per_sample joins the items' outputs and refuses what it cannot join") {
    const Graph g = import_built(reshape_model({1, 32}));
    const Tensor x = random_tensor({4, 2, 4, 4}, 61);
    int calls = 0;
    const auto out = run_per_sample(Executor(g), {x}, [&](const Node& n, std::span<const Tensor>) { calls += n.name == "fc"; });
    REQUIRE(out[0].shape == Shape{4, 3});
    CHECK(calls == 4);
    for (int64_t k = 0; k < 4; ++k) check_close(batch_slice(out[0], k, k + 1), Executor(g).run({batch_slice(x, k, k + 1)})[0], 0, "item");
    // No items: an empty batch of the output's shape.
    const auto none = run_per_sample(g, {Tensor(ElemType::Float, {0, 2, 4, 4})});
    CHECK(none[0].shape == Shape{0, 3});
    // Inputs disagreeing on the number of items.
    const Graph two = one_node("Add", {{"a", {1, 3}}, {"b", {1, 3}}});
    CHECK_THROWS_WITH_AS(run_per_sample(two, {random_tensor({2, 3}, 1), random_tensor({3, 3}, 2)}),
                         doctest::Contains("input 'b' has 3 items, the first input 2"), InputError);
    // An output without a leading 1 cannot be joined.
    CHECK_THROWS_WITH_AS(run_per_sample(one_node("ReduceSum", {{"x", {1, 3}}}, "keepdims", 0), {random_tensor({2, 3}, 3)}),
                         doctest::Contains("output 'y' is [] for one item"), InputError);
}

TEST_CASE("batch: batch_slice and batch_concat") {
    Tensor t(ElemType::Int64, {3, 2});
    t.i = {1, 2, 3, 4, 5, 6};
    const Tensor mid = batch_slice(t, 1, 3);
    CHECK(mid.shape == Shape{2, 2});
    CHECK(mid.i == std::vector<int64_t>{3, 4, 5, 6});
    const Tensor back = batch_concat({batch_slice(t, 0, 1), mid});
    CHECK(back.shape == t.shape);
    CHECK(back.i == t.i);
    CHECK(batch_slice(t, 2, 2).shape == Shape{0, 2});
    CHECK_THROWS_AS(batch_concat({t, Tensor(ElemType::Int64, {1, 3})}), InputError);
    CHECK_THROWS_AS(batch_concat({t, Tensor(ElemType::Float, {1, 2})}), InputError);
}

// ---------------- real PyTorch exports (tests/ir/export_batch1.py) ----------------

namespace {

// The folder export_batch1.py wrote (once per run), or "" when /usr/bin/python3 has no torch.
const std::string& pytorch_exports() {
    static TempDir dir;
    static const std::string path = [] {
        if (std::system("/usr/bin/python3 -c 'import torch, onnx' >/dev/null 2>&1") != 0) return std::string();
        const std::string cmd = "/usr/bin/python3 " + std::string(CIM_SOURCE_DIR) + "/tests/ir/export_batch1.py " + dir.path +
                                " --resnet18 >" + dir.file("export.log") + " 2>&1";
        if (std::system(cmd.c_str()) != 0) FAIL("export_batch1.py failed; see " << dir.file("export.log"));
        return dir.path;
    }();
    return path;
}

#define REQUIRE_PYTORCH()                                                                                 \
    if (pytorch_exports().empty()) {                                                                      \
        MESSAGE("skipped: /usr/bin/python3 cannot import torch and onnx (scripts/setup.sh --with-training)"); \
        return;                                                                                           \
    }

// Imports NAME.onnx, makes its batch dynamic (which must succeed), checks it item by item and, where
// PyTorch itself ran the model on 3 items at once, against PyTorch's result.
void check_pytorch_batched(const std::string& name, const std::string& part, const ImportOptions& options = {}) {
    CAPTURE(name);
    const std::string dir = pytorch_exports();
    const Graph g = import_onnx(dir + "/" + name + ".onnx", options);
    CHECK(g.value(g.inputs[0]).shape[0] == 1);
    const BatchRewrite r = require_batched(g, part, 4, 71);
    if (std::filesystem::exists(dir + "/" + name + "/output_0.pb")) {
        const Tensor x = load_tensor_pb(dir + "/" + name + "/input_0.pb");
        const Tensor want = load_tensor_pb(dir + "/" + name + "/output_0.pb");
        check_close(Executor(r.graph).run({x})[0], want, 1e-4, name + " against PyTorch at batch 3");
    }
}

void check_pytorch_pinned(const std::string& name, const std::string& reason) {
    CAPTURE(name);
    const Graph g = import_onnx(pytorch_exports() + "/" + name + ".onnx");
    require_pinned(g, reason);
    const auto out = run_per_sample(g, {random_tensor([&] { Shape s = g.value(g.inputs[0]).shape; s[0] = 3; return s; }(), 81)});
    CHECK(out[0].shape[0] == 3);
}

}  // namespace

TEST_SUITE("python") {
TEST_CASE("batch: PyTorch batch-1 exports that can be batched run batched") {
    REQUIRE_PYTORCH();
    SUBCASE("LeNet with x.view(1, -1)") { check_pytorch_batched("lenet_view", "to [1,-1] now to [0,-1]"); }
    SUBCASE("LeNet with torch.flatten") { check_pytorch_batched("lenet_flatten", "no node pinned it"); }
    SUBCASE("x.reshape(x.shape[0], -1) folded at batch 1") {
        check_pytorch_batched("shape_zero", "to [1,4,-1] now to [0,4,-1]; Reshape '/Reshape_1' to [1,-1] now to [0,-1]");
    }
    SUBCASE("multi-head attention reshaping with x.shape[0]") {
        check_pytorch_batched("attention", "to [1,5,3,4,4] now to [0,5,3,4,4]; Reshape '/Reshape_1' to [1,5,16] now to [0,5,16]");
    }
    SUBCASE("ViT class token expanded to x.shape[0]") { check_pytorch_batched("class_token", "[1,1,8] broadcast to the batch"); }
    SUBCASE("imported without folding: Constant nodes and shape arithmetic stay nodes") {
        ImportOptions raw;
        raw.fold_constants = false;
        check_pytorch_batched("shape_zero", "to [1,4,-1] now to [0,4,-1]", raw);  // PyTorch folded x.size(0) itself
        check_pytorch_batched("class_token", "[1,1,8] broadcast to the batch", raw);
        check_pytorch_batched("lenet_view", "to [1,-1] now to [0,-1]", raw);
    }
}

TEST_CASE("batch: PyTorch batch-1 exports that cannot be batched fall back to item by item") {
    REQUIRE_PYTORCH();
    check_pytorch_pinned("gram", "output 'output' would be [1,16] for N items");
    check_pytorch_pinned("batch_matmul", "output 'output' would be [1,16] for N items");
    check_pytorch_pinned("batch_softmax", "differs from the single items'");
}

TEST_CASE("batch: ResNet-18 of models/imagenet.py exported at batch 1") {
    REQUIRE_PYTORCH();
    const auto t0 = std::chrono::steady_clock::now();
    const Graph g = import_onnx(pytorch_exports() + "/resnet18.onnx");
    CHECK(g.value(g.inputs[0]).shape == Shape{1, 3, 224, 224});
    const BatchRewrite r = make_batch_dynamic(g);
    REQUIRE_MESSAGE(r.batched, "note: " << r.note);
    check_note(r, "no node pinned it");
    CHECK(r.graph.value(r.graph.outputs[0]).shape == Shape{-1, 1000});
    // make_batch_dynamic compared 3 items batched with each alone; here PyTorch's own batch of 2.
    const std::string ref = pytorch_exports() + "/resnet18/";
    const Tensor x = load_tensor_pb(ref + "input_0.pb");
    REQUIRE(x.shape == Shape{2, 3, 224, 224});
    check_close(Executor(r.graph).run({x})[0], load_tensor_pb(ref + "output_0.pb"), 1e-4, "ResNet-18 against PyTorch at batch 2");
    MESSAGE("ResNet-18: made dynamic and checked in "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s");
}
}

TEST_CASE("batch: prepare_for_many_items batches what it can, keeps a pinned batch of 1 to run item by item, refuses others") {
    const Graph batchable = import_built(reshape_model({1, 32}, 13, 0));
    const BatchRewrite a = prepare_for_many_items(batchable, "m.onnx");
    CHECK(a.batched);
    CHECK_FALSE(batch_pinned(a.graph));
    const Graph pinned = one_node("Softmax", {{"x", {1, 5}}}, "axis", 0);
    const BatchRewrite b = prepare_for_many_items(pinned, "m.onnx");
    CHECK_FALSE(b.batched);
    CHECK(batch_pinned(b.graph));
    CHECK(b.note.find("it runs one sample at a time") != std::string::npos);
    const Graph eight = one_node("Softmax", {{"x", {8, 5}}}, "axis", 0);
    CHECK_THROWS_WITH_AS(prepare_for_many_items(eight, "m.onnx"), doctest::Contains("m.onnx: input 'x' has shape [8,5]"), InputError);
}

TEST_CASE("SampleSet: inputs in memory, batches of every input, slices that share the sources") {
    Tensor a(ElemType::Float, {4, 2}), b(ElemType::Float, {4, 1});
    for (size_t k = 0; k < 8; ++k) a.f[k] = float(k);
    for (size_t k = 0; k < 4; ++k) b.f[k] = float(10 + k);
    const SampleSet set(std::vector<Tensor>{a, b});
    CHECK(set.count() == 4);
    CHECK(set.input_count() == 2);
    CHECK(set.sample_shape(0) == Shape{2});
    const SampleSet mid = set.slice(1, 3);
    const std::vector<Tensor> one = mid.batch(1, 2);
    CHECK(one[0].f == std::vector<float>{4, 5});
    CHECK(one[1].f == std::vector<float>{12});
    CHECK(mid.tensor(1).f == std::vector<float>{11, 12});
    CHECK_THROWS_AS(SampleSet(std::vector<Tensor>{a, Tensor(ElemType::Float, {3, 1})}), InputError);
}
