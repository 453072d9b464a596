// The cost model's data densities measured from the quantizer's program: the cell digits it
// programmed and the input codes the arrays receive, checked against hand-counted bits.
#include "onnx_builder.h"

#include <cim/cimsim/measured_densities.h>
#include <cim/device/column_layout.h>
#include <cim/error.h>
#include <cim/ir/onnx_import.h>
#include <cim/quant/quantizer.h>

#include <doctest/doctest.h>

using namespace cim;

namespace {

// One Gemm, K = 4 inputs, N = 2 outputs, weights +-0.5 alternating along k (codes +-qmax).
Graph gemm() {
    test::TempDir tmp;
    test::OnnxBuilder b(13);
    b.input("x", {-1, 4});
    b.initializer("w", {4, 2}, {0.5f, 0.5f, -0.5f, -0.5f, 0.5f, 0.5f, -0.5f, -0.5f});
    b.node("Gemm", {"x", "w"}, {"y"}, "fc");
    b.output("y");
    b.save(tmp.file("gemm.onnx"));
    return import_onnx(tmp.file("gemm.onnx"));
}

// Vectors of 0 and 1 (codes 0 and 2^b - 1 once the calibration maximum is 1): 3 of 4 rows set.
Tensor ones_and_zeros() {
    Tensor x(ElemType::Float, {2, 4});
    x.f = {1, 0, 1, 1, 1, 1, 0, 1};
    return x;
}

LayerDensity measured(const DeviceSpec& d, const std::map<std::string, int>& layer_bits = {}) {
    const Graph g = gemm();
    quant::QuantOptions o = quant::QuantOptions::from_device(d);
    o.report_sqnr = false;
    o.layer_bits = layer_bits;
    const quant::QuantResult q = quant::quantize(g, d, {ones_and_zeros()}, o);
    const DataStats s = measure_data_stats(q.model, {ones_and_zeros()}, "test");
    REQUIRE(s.layers.count("fc"));
    return s.layers.at("fc");
}

DeviceSpec one_bit_cells(const std::string& encoding, const std::vector<std::string>& more = {}) {
    std::vector<std::string> sets = {"cell.bits=1", "array.capacity_bits=16384", "weight.bits=8", "quant.weight_bits=8", "quant.per_channel=true", "quant.power_of_two_scales=false",
                                     "weight.encoding=" + encoding, "input.bits=8", "input.dac_bits=1",
                                     "input.signed_handling=offset", "quant.activation_bits=8", "array.adc.bits=12"};
    sets.insert(sets.end(), more.begin(), more.end());
    return load_device("isaac", sets);
}

}  // namespace

TEST_CASE("weight densities are the mean programmed cell digit, counted by hand per encoding") {
    // Codes +127 and -127 in equal numbers (1-bit cells; the layout's columns per output).
    const DeviceSpec diff = one_bit_cells("differential");
    const int diff_cols = column_layout(diff).columns_per_output;
    CHECK(*measured(diff).weight_density == doctest::Approx(7.0 / diff_cols));  // 127: seven ones in W+ or W-
    // Two's complement: 127 = 0111 1111 (7 ones), -127 = 1000 0001 (2 ones), over 8 columns.
    CHECK(*measured(one_bit_cells("twos_complement")).weight_density == doctest::Approx((7.0 + 2.0) / 2 / 8));
    // Offset: 127 + 128 = 1111 1111 (8 ones), -127 + 128 = 0000 0001 (1 one), over 8 columns.
    CHECK(*measured(one_bit_cells("offset")).weight_density == doctest::Approx((8.0 + 1.0) / 2 / 8));
    // A layer the quantizer stores at 4 bits: 7 = 0111 and -7 = 1001 in two's complement.
    CHECK(*measured(one_bit_cells("twos_complement"), {{"fc", 4}}).weight_density ==
          doctest::Approx((3.0 + 2.0) / 2 / 4));
}

TEST_CASE("input densities are the driven slices of the codes the arrays receive") {
    // Codes 255 and 0, 3 of 4 rows set: every bit-serial plane is 3/4 ones, as is a multi-bit DAC.
    CHECK(*measured(one_bit_cells("differential")).input_density == doctest::Approx(0.75));
    CHECK(*measured(one_bit_cells("differential", {"input.dac_bits=2"})).input_density == doctest::Approx(0.75));
    CHECK(*measured(one_bit_cells("differential", {"input.mode=multi_bit", "input.dac_bits=8"})).input_density ==
          doctest::Approx(0.75));
    // Power-of-two scales: 1.0 gets the code 128 (scale 2^-7), one set bit in 8 cycles.
    CHECK(*measured(one_bit_cells("differential", {"quant.power_of_two_scales=true"})).input_density ==
          doctest::Approx(0.75 / 8));
    // 4-bit activation codes (15) on an 8-cycle bit-serial input: the 4 upper cycles drive nothing.
    CHECK(*measured(one_bit_cells("differential", {"quant.activation_bits=4"})).input_density ==
          doctest::Approx(0.75 * 4 / 8));
    // All-zero inputs drive nothing.
    const DeviceSpec d = one_bit_cells("differential");
    const Graph g = gemm();
    quant::QuantOptions o = quant::QuantOptions::from_device(d);
    o.report_sqnr = false;
    const quant::QuantResult q = quant::quantize(g, d, {ones_and_zeros()}, o);
    Tensor zeros(ElemType::Float, {1, 4});
    const DataStats z = measure_data_stats(q.model, {zeros}, "zeros");
    CHECK(*z.layers.at("fc").input_density == 0);
    CHECK_THROWS_AS(measure_data_stats(q.model, {}, "none"), InputError);
}
