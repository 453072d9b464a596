// A QDQ model's own quantization: codes, scales and zero points taken exactly, fitted to the
// device's cells and inputs or rejected with the fix (docs/quantization.md, "Models that arrive
// quantized"). The LeNet-5 end to end is tests/sim/test_qdq.cpp.
#include <doctest/doctest.h>

#include <onnx_builder.h>

#include <cim/device/column_layout.h>
#include <cim/device/device_spec.h>
#include <cim/ir/onnx_import.h>
#include <cim/quant/quantizer.h>

#include <cmath>

using namespace cim;
using cim::test::OnnxBuilder;
using cim::test::TempDir;

namespace {

constexpr float kInputScale = 0.1f;

// x [N, 4] -> QuantizeLinear(int8 or uint8, zero point x_zp) [-> Clip(lo, hi)] -> DequantizeLinear
// -> Gemm(transB) with weight codes `codes` [3, 4] (DequantizeLinear, per-channel axis 0, zero points
// `w_zp`, element type `w_type`) -> y. `relu` puts a ReLU before the QuantizeLinear.
struct Net {
    std::vector<int> codes{7, -7, 3, 0, 1, 2, -3, -5, 6, 4, -1, 7};
    std::vector<int> w_zp{0, 0, 0};
    int w_type = onnx::TensorProto::INT8;
    std::vector<float> w_scale{0.5f, 0.25f, 0.125f};
    int x_type = onnx::TensorProto::INT8;
    int x_zp = 0;
    bool clip = false;
    int clip_lo = -8, clip_hi = 7;
    bool relu = false;
    bool trans_b = true;
    int64_t w_axis = 0;

    std::string save(const TempDir& tmp) const {
        OnnxBuilder b(13);
        b.input("x", {-1, 4});
        b.initializer("x_scale", {}, {kInputScale});
        b.initializer_int32_data("x_zp", {}, {x_zp}, x_type);
        b.initializer_int32_data("w_q", trans_b ? std::vector<int64_t>{3, 4} : std::vector<int64_t>{4, 3}, codes, w_type);
        const int64_t channels = trans_b || w_axis == 1 ? 3 : 4;
        std::vector<float> scales(w_scale.begin(), w_scale.end());
        scales.resize(size_t(channels), 0.5f);
        std::vector<int> zps(w_zp.begin(), w_zp.end());
        zps.resize(size_t(channels), 0);
        b.initializer("w_scale", {channels}, scales);
        b.initializer_int32_data("w_zp", {channels}, zps, w_type);
        std::string x = "x";
        if (relu) {
            b.node("Relu", {"x"}, {"xr"}, "relu");
            x = "xr";
        }
        b.node("QuantizeLinear", {x, "x_scale", "x_zp"}, {"xq"}, "quant_x");
        std::string codes_in = "xq";
        if (clip) {  // Brevitas' codes narrower than the type
            b.initializer_int32_data("lo", {}, {clip_lo}, x_type);
            b.initializer_int32_data("hi", {}, {clip_hi}, x_type);
            b.node("Clip", {"xq", "lo", "hi"}, {"xc"}, "clip_x");
            codes_in = "xc";
        }
        b.node("DequantizeLinear", {codes_in, "x_scale", "x_zp"}, {"xd"}, "dequant_x");
        OnnxBuilder::attr_int(b.node("DequantizeLinear", {"w_q", "w_scale", "w_zp"}, {"w"}, "dequant_w"), "axis", w_axis);
        OnnxBuilder::attr_int(b.node("Gemm", {"xd", "w"}, {"y"}, "fc"), "transB", trans_b ? 1 : 0);
        b.output("y");
        b.save(tmp.file("net.onnx"));
        return tmp.file("net.onnx");
    }
};

// Inputs on the grid: codes -8..7 times the scale, and a few beyond it.
Tensor inputs() {
    Tensor x(ElemType::Float, {5, 4});
    for (size_t i = 0; i < x.f.size(); ++i) x.f[i] = kInputScale * float(int(i % 16) - 8) + (i % 7 == 0 ? 0.04f : 0.0f);
    return x;
}

quant::QuantResult quantize_net(const std::string& path, const DeviceSpec& d) {
    const Graph g = import_onnx(path);
    return quant::quantize(g, d, {inputs()}, quant::QuantOptions::from_device(d));
}

// ISAAC (offset inputs) at 4-bit weights and inputs, unless overridden.
DeviceSpec four_bit(std::vector<std::string> sets = {}) {
    std::vector<std::string> all{"weight.bits=4", "input.bits=4", "quant.weight_bits=4", "quant.activation_bits=4"};
    all.insert(all.end(), sets.begin(), sets.end());
    return load_device("isaac", all);
}

// The model's own arithmetic: y[n] = s_x s_w[n] sum_k (qx - zx) (qw - zw[n]), the float32 of the
// product in double as the program computes it, with qx the model's QuantizeLinear (and Clip).
void check_outputs_exact(const quant::QuantizedModel& m, const Net& net) {
    const Tensor x = inputs();
    const Tensor y = quant::run_program(m, {x}).at(0);
    const int lo = net.clip ? net.clip_lo : net.x_type == onnx::TensorProto::UINT8 ? 0 : -128;
    const int hi = net.clip ? net.clip_hi : net.x_type == onnx::TensorProto::UINT8 ? 255 : 127;
    for (int64_t i = 0; i < 5; ++i)
        for (int64_t n = 0; n < 3; ++n) {
            int64_t acc = 0;
            for (int64_t k = 0; k < 4; ++k) {
                const float xv = net.relu ? std::max(x.f[size_t(i * 4 + k)], 0.0f) : x.f[size_t(i * 4 + k)];
                const int64_t qx = std::clamp<int64_t>(int64_t(std::nearbyint(xv / kInputScale)) + net.x_zp, lo, hi);
                acc += (qx - net.x_zp) * (net.codes[size_t(n * 4 + k)] - net.w_zp[size_t(n)]);
            }
            const float expected = float(double(kInputScale) * double(net.w_scale[size_t(n)]) * double(acc));
            CHECK(y.f[size_t(i * 3 + n)] == expected);
        }
}

}  // namespace

TEST_CASE("a QDQ model's codes narrower than their type fit a 4-bit device exactly: Clip-narrowed inputs, 4-bit weights in int8") {
    TempDir tmp;
    Net net;
    net.clip = true;
    const auto q = quantize_net(net.save(tmp), four_bit());
    REQUIRE(q.model.layers.size() == 1);
    const quant::QuantLayer& L = q.model.layers[0];
    CHECK(q.report.model_quantization);
    CHECK(q.report.layers[0].weights_from_model);
    CHECK(q.report.layers[0].input_from_model);
    CHECK(L.weight_bits == 4);
    CHECK(L.weight_qmax == 7);
    for (int64_t n = 0; n < 3; ++n) {
        CHECK(L.w_scale[size_t(n)] == double(net.w_scale[size_t(n)]));
        for (int64_t k = 0; k < 4; ++k) CHECK(L.w[size_t(k * 3 + n)] == net.codes[size_t(n * 4 + k)]);
    }
    // Signed inputs on ISAAC's offset rows: codes q + 8 in 0..15, the zero point 8 subtracted digitally.
    CHECK(L.input.realization == quant::InputRealization::offset);
    CHECK(L.input.bits == 4);
    CHECK(L.input.zero_point == 8);
    CHECK(L.input.scale == double(kInputScale));
    check_outputs_exact(q.model, net);
}

TEST_CASE("a QDQ model's codes wider than the device are an input error naming the layer, both widths and the fix") {
    TempDir tmp;
    Net net;
    net.clip = true;
    net.codes[5] = 100;  // 8-bit weight codes on a 4-bit device
    const std::string path = net.save(tmp);
    for (const char* part : {"net.onnx: layer 'fc'", "from DequantizeLinear 'dequant_w'", "-7..100 (8-bit codes in offset columns)", "the device stores -8..7",
                             "weight.bits = 4", "--set weight.bits=8", "--set quant.use_model_quantization=false"})
        CHECK_THROWS_WITH_AS(quantize_net(path, four_bit()), doctest::Contains(part), InputError);
    // Asked to, the quantizer requantizes the layer for the device instead.
    const auto q = quantize_net(path, four_bit({"quant.use_model_quantization=false"}));
    CHECK_FALSE(q.report.model_quantization);
    CHECK(q.model.layers[0].weight_bits == 4);
    CHECK(q.model.layers[0].w_scale[1] != double(net.w_scale[1]));

    Net wide_inputs;  // int8 inputs without a Clip: 8-bit offset codes on 4-bit inputs
    const std::string path2 = wide_inputs.save(tmp);
    for (const char* part : {"layer 'fc'", "int8 codes from DequantizeLinear 'dequant_x', zero point 0", "8-bit offset codes",
                             "4-bit inputs", "--set input.bits=8"})
        CHECK_THROWS_WITH_AS(quantize_net(path2, four_bit()), doctest::Contains(part), InputError);
    CHECK(quantize_net(path2, four_bit({"input.bits=8"})).model.layers[0].input.bits == 8);
}

TEST_CASE("asymmetric uint8 QDQ weights keep their codes up to one shift; the products are exact") {
    TempDir tmp;
    Net net;
    net.w_type = onnx::TensorProto::UINT8;
    net.codes = {250, 130, 131, 128, 5, 200, 100, 90, 255, 0, 140, 141};
    net.w_zp = {128, 100, 140};
    net.x_type = onnx::TensorProto::UINT8;
    net.x_zp = 8;
    const auto q = quantize_net(net.save(tmp), load_device("wtm2101"));
    const quant::QuantLayer& L = q.model.layers[0];
    CHECK(L.weight_bits == 8);  // 0..255 shifted to -128..127: 8-bit two's-complement codes; WTM2101 holds +-275
    CHECK(L.weight_code_min() == -128);
    const int32_t shift = net.codes[0] - L.w[0];
    for (int64_t n = 0; n < 3; ++n) {
        CHECK(L.w_zero_point[size_t(n)] == net.w_zp[size_t(n)] - shift);
        for (int64_t k = 0; k < 4; ++k) CHECK(L.w[size_t(k * 3 + n)] == net.codes[size_t(n * 4 + k)] - shift);
    }
    // A uint8 input with zero point 8 can be negative: WTM2101 splits it over two rows.
    CHECK(L.input.realization == quant::InputRealization::pos_neg_split);
    CHECK(L.input.code_min == -8);
    CHECK(L.input.code_max == 247);
    check_outputs_exact(q.model, net);
}

TEST_CASE("a uint8 QDQ input after a ReLU is unsigned: the layer takes K rows, not 2K, with or without the model's quantization") {
    TempDir tmp;
    Net net;
    net.relu = true;
    net.x_type = onnx::TensorProto::UINT8;
    const std::string path = net.save(tmp);
    for (const char* use : {"true", "false"}) {
        CAPTURE(use);
        const auto q = quantize_net(path, load_device("wtm2101", {std::string("quant.use_model_quantization=") + use}));
        const quant::QuantLayer& L = q.model.layers[0];
        CHECK(L.input.realization == quant::InputRealization::unsigned_code);
        CHECK(L.rows() == L.K);
    }
    const auto q = quantize_net(path, load_device("wtm2101"));
    CHECK(q.model.layers[0].input.code_max == 255);
    check_outputs_exact(q.model, net);
}

TEST_CASE("per-channel QDQ weight scales along the layer's inputs are rejected with the fix") {
    TempDir tmp;
    Net net;
    net.trans_b = false;  // W [K=4, N=3]: axis 0 runs over the inputs
    net.clip = true;
    CHECK_THROWS_WITH_AS(quantize_net(net.save(tmp), load_device("wtm2101")),
                         doctest::Contains("run along axis 0 of the weight, over the layer's inputs"), InputError);
    net.w_axis = 1;  // along the outputs: taken
    const auto q = quantize_net(net.save(tmp), load_device("wtm2101"));
    CHECK(q.report.layers[0].weights_from_model);
    CHECK(q.model.layers[0].w_scale[2] == double(net.w_scale[2]));
}

TEST_CASE("int8 QDQ weights reaching -128 are 8-bit codes: two's-complement and offset columns hold them, differential pairs need 9 bits") {
    TempDir tmp;
    Net net;
    net.codes = {-128, 127, 3, 0, 1, -128, -3, -5, 6, 4, -1, 127};  // PyTorch's qint8 weight range
    const std::string path = net.save(tmp);
    const std::vector<std::string> eight{"weight.bits=8", "input.bits=8", "quant.weight_bits=8", "quant.activation_bits=8"};
    for (const char* encoding : {"offset", "twos_complement"})
        for (const char* cell_bits : {"1", "2", "4"}) {
            const std::string encoding_name = encoding, cell_bits_text = cell_bits;
            CAPTURE(encoding_name);
            CAPTURE(cell_bits_text);
            std::vector<std::string> sets = eight;
            sets.push_back(std::string("weight.encoding=") + encoding);
            sets.push_back(std::string("cell.bits=") + cell_bits);
            sets.push_back("array.capacity_bits=" + std::to_string(128 * 128 * std::stoi(cell_bits)));
            const DeviceSpec d = load_device("isaac", sets);
            const auto q = quantize_net(path, d);
            const quant::QuantLayer& L = q.model.layers[0];
            CHECK(L.weight_bits == 8);
            CHECK(L.weight_qmax == 127);
            CHECK(L.weight_code_min() == -128);
            // The columns the quantizer programs are the ones the mapper places at the device's 8 bits.
            CHECK(L.digits.layout.code_bits == 8);
            CHECK(L.digits.layout.columns_per_output == column_layout(d).columns_per_output);
            check_outputs_exact(q.model, net);
        }
    // Sign and magnitude (differential pairs): |-128| needs 8 magnitude bits, so 9-bit weights.
    std::vector<std::string> diff = eight;
    diff.push_back("weight.encoding=differential");
    for (const char* part : {"reach -128..127 (9-bit codes in differential columns)", "the device stores -127..127", "--set weight.bits=9"})
        CHECK_THROWS_WITH_AS(quantize_net(path, load_device("isaac", diff)), doctest::Contains(part), InputError);
    diff.push_back("weight.bits=9");
    const DeviceSpec d9 = load_device("isaac", diff);
    const auto q9 = quantize_net(path, d9);
    CHECK(q9.model.layers[0].weight_bits == 9);
    CHECK(q9.model.layers[0].digits.layout.code_bits == 9);
    CHECK(q9.model.layers[0].digits.layout.columns_per_output == column_layout(d9).columns_per_output);
    check_outputs_exact(q9.model, net);
}
