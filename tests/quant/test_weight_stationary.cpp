// One view of what goes on the arrays: the mapper and the quantizer take exactly the same
// weight-stationary layers (cim/ir/weight_stationary.h), including ConvTranspose and the cases
// that run digitally (a computed bias, a C that is not a per-output bias, two dynamic operands),
// and a ConvTranspose layer's integer program equals float arithmetic on the same codes.
#include "onnx_builder.h"
#include "quant_test_util.h"

#include <cim/ir/executor.h>
#include <cim/mapper/mapping.h>
#include <cim/quant/program.h>

#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <set>

using namespace cim;
using namespace cim::quant;
using cim::test::OnnxBuilder;
using cim::test::TempDir;

namespace {

std::vector<float> randn(size_t n, std::mt19937& rng, float sigma = 0.5f) {
    std::normal_distribution<float> nd(0.0f, sigma);
    std::vector<float> v(n);
    for (auto& x : v) x = nd(rng);
    return v;
}

// x [B,2,5,5] -> ConvTranspose (2 groups, stride 2, pads, output_padding, bias) -> Relu -> r [B,4,10,10]
//   -> Conv whose bias is computed from the data (ReduceMean over r) -> c [B,4,10,10]
//   -> Flatten -> Gemm whose C is a full matrix -> MatMul of two dynamic operands.
Graph mixed_model(TempDir& tmp, int64_t batch) {
    std::mt19937 rng(7);
    OnnxBuilder b(13);
    b.input("x", {batch, 2, 5, 5});
    b.initializer("wt", {2, 2, 3, 3}, randn(36, rng));
    b.initializer("bt", {4}, randn(4, rng));
    auto* t = b.node("ConvTranspose", {"x", "wt", "bt"}, {"t"}, "deconv");
    OnnxBuilder::attr_int(t, "group", 2);
    OnnxBuilder::attr_ints(t, "strides", {2, 2});
    OnnxBuilder::attr_ints(t, "pads", {1, 1, 1, 1});
    OnnxBuilder::attr_ints(t, "output_padding", {1, 1});  // 2*4 + 1 + 3 - 2 = 10
    b.node("Relu", {"t"}, {"r"}, "relu");
    auto* m = b.node("ReduceMean", {"r"}, {"rb"}, "bias_of_data");
    OnnxBuilder::attr_ints(m, "axes", {0, 2, 3});
    OnnxBuilder::attr_int(m, "keepdims", 0);
    b.initializer("wc", {4, 4, 1, 1}, randn(16, rng));
    b.node("Conv", {"r", "wc", "rb"}, {"c"}, "conv_computed_bias");
    b.node("Flatten", {"c"}, {"f"}, "flatten");
    b.initializer("wg", {400, 3}, randn(1200, rng, 0.05f));
    b.initializer("cg", {batch, 3}, randn(size_t(batch * 3), rng));
    b.node("Gemm", {"f", "wg", "cg"}, {"h"}, "gemm_full_c");
    b.initializer("wm", {3, 3}, randn(9, rng));
    b.node("MatMul", {"h", "wm"}, {"hm"}, "matmul_const");
    b.node("MatMul", {"hm", "h"}, {"y"}, "matmul_dynamic");  // [B,3] x [B,3]: needs B == 3
    b.output("y");
    b.save(tmp.file("mixed.onnx"));
    return import_onnx(tmp.file("mixed.onnx"));
}

// x [B,2,5,5] -> ConvTranspose (2 groups, 6 channels, 9 x 11) -> Relu -> ConvTranspose (2x2, no bias) -> y [B,2,10,12].
Graph deconv_model(TempDir& tmp) {
    std::mt19937 rng(11);
    OnnxBuilder b(13);
    b.input("x", {-1, 2, 5, 5});
    b.initializer("w1", {2, 3, 3, 3}, randn(54, rng));
    b.initializer("b1", {6}, randn(6, rng));
    auto* t = b.node("ConvTranspose", {"x", "w1", "b1"}, {"t"}, "deconv1");
    OnnxBuilder::attr_int(t, "group", 2);
    OnnxBuilder::attr_ints(t, "strides", {2, 2});
    OnnxBuilder::attr_ints(t, "pads", {1, 0, 1, 0});
    b.node("Relu", {"t"}, {"r"}, "relu");
    b.initializer("w2", {6, 2, 2, 2}, randn(48, rng));
    b.node("ConvTranspose", {"r", "w2"}, {"y"}, "deconv2");
    b.output("y");
    b.save(tmp.file("deconv.onnx"));
    return import_onnx(tmp.file("deconv.onnx"));
}

Tensor random_batch(int64_t n, uint32_t seed) {
    Tensor t(ElemType::Float, {n, 2, 5, 5});
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (auto& x : t.f) x = nd(rng);
    return t;
}

}  // namespace

TEST_CASE("the mapper and the quantizer take the same weight-stationary layers") {
    TempDir tmp;
    const Graph g = mixed_model(tmp, 3);
    const DeviceSpec d = load_device("isaac", {"quant.weight_bits=8", "quant.activation_bits=8"});
    std::vector<std::string> skipped;
    const auto views = find_mvm_layers(g, &skipped);
    std::set<std::string> quantized;
    for (const auto& v : views) quantized.insert(g.nodes[size_t(v.node)].name);
    CHECK(quantized == std::set<std::string>{"deconv", "matmul_const"});
    const Mapping m = map_model(g, d);
    std::set<std::string> on_arrays;
    for (const auto& L : m.layers)
        if (L.placement == Placement::arrays) on_arrays.insert(L.name);
    CHECK(on_arrays == quantized);
    // The layers that run digitally say why, in the mapping and in the quantizer's notes alike.
    const std::map<std::string, std::string> why{{"conv_computed_bias", "its bias is computed, not a constant"},
                                                 {"gemm_full_c", "its C input is not a constant per-output bias"},
                                                 {"matmul_dynamic", "two dynamic operands"}};
    for (const auto& [name, reason] : why) {
        const std::string layer = name;  // clang 14 cannot capture a structured binding
        INFO(layer);
        const LayerMapping* L = m.find(name);
        REQUIRE(L);
        CHECK(L->placement == Placement::digital);
        CHECK(L->note.find(reason) != std::string::npos);
        CHECK(L->macs > 0);
        bool noted = false;
        for (const auto& s : skipped) noted |= s.find("'" + name + "'") != std::string::npos && s.find(reason) != std::string::npos;
        CHECK(noted);
    }
    // ConvTranspose: one vector per input position, K = Cin/G rows, N = Cout/G x kernel columns.
    const LayerMapping* dc = m.find("deconv");
    REQUIRE(dc);
    CHECK(dc->k == 1);
    CHECK(dc->n == 2 * 9);
    CHECK(dc->groups == 2);
    CHECK(dc->vectors == 3 * 25);
    CHECK(dc->macs == 3 * 25 * 2 * 1 * 18);  // every input value times Cout/G x kernel weights
}

TEST_CASE("ConvTranspose: the integer program equals float arithmetic on the same codes, and tracks the float model") {
    TempDir tmp;
    const Graph g = deconv_model(tmp);
    for (const char* handling : {"offset", "pos_neg_split"}) {
        INFO(handling);
        const DeviceSpec d = load_device("isaac", {"weight.bits=8", "input.bits=8", "quant.weight_bits=8", "quant.activation_bits=8",
                                                  std::string("input.signed_handling=") + handling});
        const QuantResult r = quantize(g, d, {random_batch(32, 1)}, QuantOptions::from_device(d));
        REQUIRE(r.model.layers.size() == 2);
        CHECK(r.model.layers[0].input.is_signed);
        CHECK_FALSE(r.model.layers[1].input.is_signed);  // behind the Relu
        const Tensor x = random_batch(5, 2);
        const auto yi = run_program(r.model, {x});

        // Float reference of the same arithmetic: inputs fake-quantized, weights dequantized from
        // the codes, the float bias as it is (added after the scatter).
        Graph fq = r.model.graph;
        for (const QuantLayer& L : r.model.layers) {
            WeightStationaryView v;
            REQUIRE(weight_stationary_view(fq, L.node, v));
            Node& n = fq.nodes[size_t(L.node)];
            Tensor w = *fq.constant(n.inputs[1]);
            for (int64_t gr = 0; gr < L.groups; ++gr)
                for (int64_t k = 0; k < L.K; ++k)
                    for (int64_t o = 0; o < L.N; ++o) {
                        const size_t i = size_t(gr * L.N + o);
                        v.set_weight(w, gr, k, o, float(L.w_scale[i] * (L.w[size_t((gr * L.K + k) * L.N + o)] - L.w_zero_point[i])));
                    }
            fq.value(n.inputs[1]).constant = std::make_shared<const Tensor>(std::move(w));
        }
        Executor exec(fq);
        auto fake_quant_inputs = [&](const Node& n, std::span<const Tensor* const> in, std::span<Tensor>) {
            const int li = r.model.layer_of_node[size_t(&n - fq.nodes.data())];
            if (li < 0) return false;
            const QuantLayer& L = r.model.layers[size_t(li)];
            for (auto& v : const_cast<Tensor*>(in[0])->f) v = L.input.dequantize(L.input.quantize(v));
            return false;
        };
        const auto yf = exec.run({x}, {}, fake_quant_inputs);
        const auto y_float = Executor(g).run({x});
        REQUIRE(yi[0].shape == yf[0].shape);
        REQUIRE(yi[0].shape == Shape{5, 2, 10, 12});
        double max_err = 0, max_ref = 0, sig = 0, noise = 0;
        for (size_t i = 0; i < yi[0].f.size(); ++i) {
            max_err = std::max(max_err, double(std::abs(yi[0].f[i] - yf[0].f[i])));
            max_ref = std::max(max_ref, double(std::abs(yf[0].f[i])));
            sig += double(y_float[0].f[i]) * y_float[0].f[i];
            noise += std::pow(double(yi[0].f[i]) - y_float[0].f[i], 2);
        }
        CHECK(max_err <= 1e-5 * max_ref);             // the same arithmetic up to float rounding
        CHECK(10 * std::log10(sig / noise) > 30.0);   // 8-bit codes: far above the quantization floor of a broken scatter
    }
}
