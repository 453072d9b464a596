// The op table is complete: every op has a kernel, a traits entry, a sign rule that runs, and
// the matmul-role ops are exactly the ones with a weight-stationary view.
#include <cim/ir/graph.h>
#include <cim/ir/op_traits.h>
#include <cim/ir/weight_stationary.h>

#include <doctest/doctest.h>

#include <memory>

using namespace cim;

namespace {

// A graph of one node of `op` on a float input x (non-negative when x_nonneg: behind a Relu).
Graph one_node(OpKind op, bool x_nonneg, std::map<std::string, Attribute> attrs = {}, ElemType x_type = ElemType::Float) {
    Graph g;
    g.opset = 17;
    g.values.push_back(Value{"x0", x_type, {2, 3}, true});
    g.inputs = {0};
    int x = 0;
    if (x_nonneg) {
        g.values.push_back(Value{"x", x_type, {2, 3}, true, nullptr, 0});
        g.nodes.push_back(Node{"relu", OpKind::Relu, {0}, {1}, {}});
        x = 1;
    }
    const int y = int(g.values.size());
    g.values.push_back(Value{"y", ElemType::Float, {2, 3}, true, nullptr, int(g.nodes.size())});
    g.nodes.push_back(Node{"n", op, {x}, {y}, std::move(attrs)});
    g.outputs = {y};
    return g;
}

bool output_nonnegative(const Graph& g) { return nonnegative_values(g)[size_t(g.outputs[0])]; }

}  // namespace

TEST_CASE("every op has a kernel and a traits entry, and every sign rule runs") {
    int matmul = 0;
    for (int k = 0; k < int(OpKind::Count); ++k) {
        const OpKind op = OpKind(k);
        INFO(op_name(op));
        CHECK(op_has_kernel(op));
        const OpTraits& t = op_traits(op);
        matmul += t.role == OpRole::matmul;
        // A sign rule for every op, including the ones decided by attributes (no InternalError).
        CHECK_NOTHROW(nonnegative_values(one_node(op, true)));
        CHECK_NOTHROW(nonnegative_values(one_node(op, false)));
        if (t.sign == SignRule::nonnegative) CHECK(output_nonnegative(one_node(op, false)));
        if (t.sign == SignRule::any) CHECK_FALSE(output_nonnegative(one_node(op, true)));
        if (t.sign == SignRule::follows_first || t.sign == SignRule::follows_all) {
            CHECK(output_nonnegative(one_node(op, true)));
            CHECK_FALSE(output_nonnegative(one_node(op, false)));
        }
        if (t.cost == DigitalCost::none) CHECK((t.role == OpRole::view || t.role == OpRole::data_movement || t.role == OpRole::constant));
    }
    CHECK(matmul == 4);
    for (OpKind op : {OpKind::Conv, OpKind::ConvTranspose, OpKind::Gemm, OpKind::MatMul}) CHECK(op_traits(op).role == OpRole::matmul);
    CHECK(op_traits(OpKind::Reshape).role == OpRole::view);
    CHECK(op_traits(OpKind::Transpose).role == OpRole::data_movement);
}

TEST_CASE("sign rules decided by attributes") {
    auto attr_s = [](const std::string& v) { return Attribute{v}; };
    CHECK(output_nonnegative(one_node(OpKind::Resize, true, {{"mode", attr_s("linear")}})));
    CHECK_FALSE(output_nonnegative(one_node(OpKind::Resize, true, {{"mode", attr_s("cubic")}})));  // overshoots
    CHECK(output_nonnegative(one_node(OpKind::Pad, true)));  // pads with 0
    CHECK(output_nonnegative(one_node(OpKind::ThresholdedRelu, false)));  // alpha 1: x > 1 or 0
    CHECK_FALSE(output_nonnegative(one_node(OpKind::ThresholdedRelu, false, {{"alpha", Attribute{-1.0f}}})));
    // uint8 codes with a zero point of 0 (omitted) dequantize to non-negative values; int8 ones may not.
    CHECK(output_nonnegative(one_node(OpKind::DequantizeLinear, false, {}, ElemType::UInt8)));
    CHECK_FALSE(output_nonnegative(one_node(OpKind::DequantizeLinear, false, {}, ElemType::Int8)));
    // A negative pad value or clip floor makes a non-negative input signed / a signed one not.
    Graph pad = one_node(OpKind::Pad, true);
    Tensor minus_one(ElemType::Float, {1});
    minus_one.f = {-1.0f};
    pad.values.push_back(Value{"v", ElemType::Float, {1}, true, std::make_shared<const Tensor>(std::move(minus_one))});
    pad.nodes.back().inputs = {pad.nodes.back().inputs[0], -1, int(pad.values.size() - 1)};
    CHECK_FALSE(output_nonnegative(pad));
}

TEST_CASE("digital operation counts come from the table") {
    Graph g = one_node(OpKind::Softmax, false);
    CHECK(digital_ops(g, g.nodes.back(), 6, 6) == 18);  // exp, sum, divide per element
    g = one_node(OpKind::Reshape, false);
    CHECK(digital_ops(g, g.nodes.back(), 6, 6) == 0);
    g = one_node(OpKind::ReduceSum, false);
    CHECK(digital_ops(g, g.nodes.back(), 2, 6) == 6);
}
