// Mapper: array counts pinned against hand-computed cases, placement rules,
// and the errors it must give.
#include <doctest/doctest.h>

#include "onnx_builder.h"

#include <cim/device/column_layout.h>
#include <cim/ir/onnx_import.h>
#include <cim/mapper/mapping.h>

using namespace cim;
using cim::test::OnnxBuilder;
using cim::test::TempDir;

namespace {

// ISAAC's 128x128 arrays with 8-bit weights in 2-bit differential cells:
// 7 magnitude bits -> 4 slices, x2 for the pair = 8 columns per output, 16 outputs per array.
DeviceSpec diff_device(std::vector<std::string> extra = {}) {
    std::vector<std::string> sets{"weight.bits=8", "cell.bits=2", "weight.encoding=differential", "input.bits=8",
                                  "input.signed_handling=pos_neg_split", "quant.weight_bits=8", "quant.activation_bits=8"};
    sets.insert(sets.end(), extra.begin(), extra.end());
    return load_device("isaac", sets);
}

std::vector<float> ones(size_t n) { return std::vector<float>(n, 0.5f); }

Graph gemm_model(TempDir& tmp, int64_t K, int64_t N, bool relu_first, std::vector<float> w = {}) {
    OnnxBuilder b(13);
    b.input("x", {1, K});
    if (w.empty()) w = ones(size_t(K * N));
    b.initializer("w", {K, N}, w);
    std::string in = "x";
    if (relu_first) {
        b.node("Relu", {"x"}, {"xr"}, "relu");
        in = "xr";
    }
    b.node("Gemm", {in, "w"}, {"y"}, "fc");
    b.output("y");
    b.save(tmp.file("gemm.onnx"));
    return specialize_batch(import_onnx(tmp.file("gemm.onnx")), 1);
}

// A depthwise 3 x 3 convolution of 32 channels on an 8 x 8 input (after a ReLU: unsigned inputs).
void save_depthwise(const std::string& path) {
    OnnxBuilder b(13);
    b.input("x", {1, 32, 8, 8});
    b.initializer("w", {32, 1, 3, 3}, ones(32 * 9));
    b.node("Relu", {"x"}, {"xr"}, "relu");
    auto* n = b.node("Conv", {"xr", "w"}, {"y"}, "dw");
    OnnxBuilder::attr_int(n, "group", 32);
    OnnxBuilder::attr_ints(n, "pads", {1, 1, 1, 1});
    b.output("y");
    b.save(path);
}

Mapping map_without_duplication(const std::string& model_file) {
    MapOptions no_dup;
    no_dup.duplicate = false;
    return map_model(specialize_batch(import_onnx(model_file), 1), diff_device(), no_dup);
}

}  // namespace

TEST_CASE("a 300x100 Gemm on 128x128 arrays, 8-bit weights in 2-bit differential cells: 3 x 7 = 21 arrays") {
    TempDir tmp;
    DeviceSpec d = diff_device();
    REQUIRE(columns_per_weight(d) == 8);
    MapOptions no_dup;
    no_dup.duplicate = false;
    Mapping m = map_model(gemm_model(tmp, 300, 100, true), d, no_dup);
    const LayerMapping* L = m.find("fc");
    REQUIRE(L);
    CHECK(L->placement == Placement::arrays);
    CHECK(L->signed_inputs == false);
    CHECK(L->outputs_per_array == 16);
    CHECK(L->row_tiles == 3);  // ceil(300 / 128)
    CHECK(L->col_tiles == 7);  // ceil(100 / 16)
    CHECK(L->arrays == 21);
    CHECK(L->utilization == doctest::Approx(300.0 * 100 * 8 / (21.0 * 128 * 128)));
    CHECK(m.arrays_used == 21);
    CHECK(m.chips == 1);

    // Signed inputs with a positive/negative split need twice the rows: ceil(600 / 128) = 5 row tiles.
    Mapping s = map_model(gemm_model(tmp, 300, 100, false), d, no_dup);
    CHECK(s.find("fc")->signed_inputs);
    CHECK(s.find("fc")->row_tiles == 5);
    CHECK(s.find("fc")->arrays == 35);
}

TEST_CASE("a QDQ-quantized Gemm maps like a float one: its int8 weight dequantizes into a constant") {
    TempDir tmp;
    OnnxBuilder b(13);
    b.input("x", {1, 300});
    std::vector<int> w_codes(300 * 100);
    for (size_t k = 0; k < w_codes.size(); ++k) w_codes[k] = int(k % 255) - 127;
    b.initializer_int32_data("w_q", {300, 100}, w_codes, onnx::TensorProto::INT8);
    b.initializer("w_scale", {}, {0.01f});
    b.node("DequantizeLinear", {"w_q", "w_scale"}, {"w"}, "dequant_w");
    b.node("Relu", {"x"}, {"xr"}, "relu");
    b.node("Gemm", {"xr", "w"}, {"y"}, "fc");
    b.output("y");
    b.save(tmp.file("qdq_gemm.onnx"));
    Mapping m = map_without_duplication(tmp.file("qdq_gemm.onnx"));
    const LayerMapping* fc = m.find("fc");
    REQUIRE(fc);
    CHECK(fc->placement == Placement::arrays);
    CHECK(fc->k == 300);
    CHECK(fc->n == 100);
    CHECK(fc->arrays == 21);  // as the float 300x100 Gemm above: 3 row tiles x 7 column tiles
}

TEST_CASE("signed inputs take 2K rows split into positive and negative row sets, K rows as bipolar voltages") {
    TempDir tmp;
    const Graph g = gemm_model(tmp, 300, 100, false);
    MapOptions no_dup;
    no_dup.duplicate = false;
    for (const std::string handling : {"pos_neg_split", "bipolar", "offset", "twos_complement"}) {
        CAPTURE(handling);
        const Mapping m = map_model(g, diff_device({"input.signed_handling=" + handling}), no_dup);
        const LayerMapping* fc = m.find("fc");
        REQUIRE(fc);
        CHECK(fc->signed_inputs);
        CHECK(fc->rows_per_vector == (handling == "pos_neg_split" ? 600 : 300));
        CHECK(fc->row_tiles == (handling == "pos_neg_split" ? 5 : 3));
    }
}

TEST_CASE("a uint8 Q/DQ after a ReLU is unsigned: K rows under pos_neg_split, 2K once its zero point allows negatives") {
    TempDir tmp;
    for (const int zero_point : {0, 128}) {
        CAPTURE(zero_point);
        OnnxBuilder b(13);
        b.input("x", {1, 300});
        b.initializer("w", {300, 100}, ones(300 * 100));
        b.initializer("x_scale", {}, {0.02f});
        b.initializer_int32_data("x_zp", {}, {zero_point}, onnx::TensorProto::UINT8);
        std::string in = "x";
        if (zero_point == 0) {  // as ONNX Runtime writes it after a ReLU
            b.node("Relu", {"x"}, {"xr"}, "relu");
            in = "xr";
        }
        b.node("QuantizeLinear", {in, "x_scale", "x_zp"}, {"xq"}, "quant_x");
        b.node("DequantizeLinear", {"xq", "x_scale", "x_zp"}, {"xd"}, "dequant_x");
        b.node("Gemm", {"xd", "w"}, {"y"}, "fc");
        b.output("y");
        b.save(tmp.file("qdq_relu.onnx"));
        const Mapping m = map_without_duplication(tmp.file("qdq_relu.onnx"));
        const LayerMapping* fc = m.find("fc");
        REQUIRE(fc);
        CHECK(fc->rows_per_vector == (zero_point == 0 ? 300 : 600));
    }
}

TEST_CASE("a QDQ model's weight codes set the layer's columns: 4-bit codes in int8 take 4-bit columns, -128 fits two's complement") {
    TempDir tmp;
    // fc: int8 codes [K=64, N=16] -> DequantizeLinear -> MatMul; codes within `lo`..`hi`.
    auto model = [&](int lo, int hi) {
        OnnxBuilder b(13);
        b.input("x", {1, 64});
        std::vector<int> codes(64 * 16);
        for (size_t i = 0; i < codes.size(); ++i) codes[i] = lo + int(i % size_t(hi - lo + 1));
        b.initializer_int32_data("w_q", {64, 16}, codes, onnx::TensorProto::INT8);
        b.initializer("w_scale", {}, {0.05f});
        b.initializer_int32_data("w_zp", {}, {0}, onnx::TensorProto::INT8);
        b.node("DequantizeLinear", {"w_q", "w_scale", "w_zp"}, {"w"}, "dequant_w");
        b.node("MatMul", {"x", "w"}, {"y"}, "fc");
        b.output("y");
        b.save(tmp.file("qdq_w.onnx"));
        return specialize_batch(import_onnx(tmp.file("qdq_w.onnx")), 1);
    };
    const DeviceSpec diff = diff_device();
    const Graph four = model(-7, 7);
    const Mapping mapped = map_model(four, diff);
    const LayerMapping* fc = mapped.find("fc");
    REQUIRE(fc);
    CHECK(fc->weight_bits == 4);
    CHECK(fc->cols_per_output == column_layout(diff, 4).columns_per_output);  // 3 magnitude bits: 2 slices x 2
    CHECK(fc->cols_per_output == 4);
    // Not used: the device's 8 bits, as for a float model.
    const DeviceSpec off = diff_device({"quant.use_model_quantization=false"});
    const Mapping at_device_width = map_model(four, off);  // named: CHECK keeps a reference into it
    CHECK(at_device_width.find("fc")->weight_bits == 8);
    CHECK(mapping_key(off) != mapping_key(diff));

    const Graph full = model(-128, 127);
    const DeviceSpec twos = diff_device({"weight.encoding=twos_complement"});
    const Mapping on_twos = map_model(full, twos);
    CHECK(on_twos.find("fc")->weight_bits == 8);
    CHECK(on_twos.find("fc")->cols_per_output == column_layout(twos).columns_per_output);
    // A differential pair needs a ninth bit for |-128|: an error naming the layer and the fix.
    CHECK_THROWS_WITH_AS(map_model(full, diff), doctest::Contains("layer 'fc'"), InputError);
    CHECK_THROWS_WITH_AS(map_model(full, diff), doctest::Contains("reach -128..127"), InputError);
    CHECK_THROWS_WITH_AS(map_model(full, diff), doctest::Contains("--set weight.bits=9"), InputError);
    const Mapping at_nine = map_model(full, diff_device({"weight.bits=9"}));
    CHECK(at_nine.find("fc")->weight_bits == 9);
}

TEST_CASE("resize: nearest only moves data, bilinear costs a multiply and an add per tap") {
    TempDir tmp;
    for (const char* mode : {"nearest", "linear", "cubic"}) {
        OnnxBuilder b(13);
        b.input("x", {1, 1, 4, 4});
        b.initializer("scales", {4}, {1, 1, 2, 2});
        OnnxBuilder::attr_string(b.node("Resize", {"x", "", "scales"}, {"y"}, "up"), "mode", mode);
        b.output("y");
        b.save(tmp.file("resize.onnx"));
        Mapping m = map_without_duplication(tmp.file("resize.onnx"));
        const LayerMapping* up = m.find("up");
        REQUIRE(up);
        CHECK(up->placement == Placement::digital);
        const int64_t taps = std::string(mode) == "nearest" ? 0 : std::string(mode) == "linear" ? 2 * 2 : 4 * 4;
        CHECK(up->digital_ops == 2 * taps * 64);  // 8x8 outputs, H and W resized
    }
}

TEST_CASE("a depthwise 3x3 conv packs groups block-diagonally") {
    TempDir tmp;
    save_depthwise(tmp.file("dw.onnx"));
    Mapping m = map_without_duplication(tmp.file("dw.onnx"));
    const LayerMapping* L = m.find("dw");
    REQUIRE(L);
    CHECK(L->k == 9);
    CHECK(L->n == 1);
    CHECK(L->groups == 32);
    CHECK(L->vectors == 64);
    // 14 groups fit (128 rows / 9, 16 outputs / 1): ceil(32 / 14) = 3 arrays.
    CHECK(L->groups_per_array == 14);
    CHECK(L->arrays == 3);
    CHECK(L->utilization == doctest::Approx(32.0 * 9 * 8 / (3.0 * 128 * 128)));
    CHECK(L->macs == 9 * 32 * 64);
}

TEST_CASE("packed groups keep a reference set each, and array.max_groups_per_array caps the packing") {
    TempDir tmp;
    save_depthwise(tmp.file("dw.onnx"));
    const Graph g = specialize_batch(import_onnx(tmp.file("dw.onnx")), 1);
    MapOptions no_dup;
    no_dup.duplicate = false;
    // Offset weights with converted references: 4 weight columns and 4 reference columns per group
    // (8-bit weights in 2-bit cells), so 128 columns hold 16 groups' 8, and 128 rows 14 groups' 9.
    const DeviceSpec offset = load_device("isaac", {"weight.bits=8", "cell.bits=2", "weight.encoding=offset", "input.bits=8",
                                                    "weight.offset_reference=converted", "quant.weight_bits=8", "quant.activation_bits=8"});
    const Mapping mapped = map_model(g, offset, no_dup);  // kept: find() points into it
    const LayerMapping* L = mapped.find("dw");
    REQUIRE(L);
    REQUIRE(L->reference_cols == 4);
    CHECK(L->groups_per_array == 14);
    // 32 columns of references each: 128 / (4 + 4) = 16 groups at most, and 128 / 9 = 14 rows' worth.
    const DeviceSpec narrow = load_device("isaac", {"weight.bits=8", "cell.bits=2", "weight.encoding=offset", "input.bits=8",
                                                    "weight.offset_reference=converted", "quant.weight_bits=8", "quant.activation_bits=8", "array.usable_cols=64"});
    CHECK(map_model(g, narrow, no_dup).find("dw")->groups_per_array == 8);  // 64 / 8, not (64 - 4) / 4 = 15
    for (const int64_t cap : {1, 4}) {
        const DeviceSpec capped = diff_device({"array.max_groups_per_array=" + std::to_string(cap)});
        const Mapping m = map_model(g, capped, no_dup);
        const LayerMapping* c = m.find("dw");
        REQUIRE(c);
        CHECK(c->groups_per_array == cap);
        CHECK(c->arrays == (cap == 1 ? 32 : 8));
        CHECK(mapping_key(capped) != mapping_key(diff_device()));
    }
}

TEST_CASE("all-zero (pruned) arrays are not placed") {
    TempDir tmp;
    // 256 x 32 weights: 2 row tiles x 2 col tiles; zero the whole second row tile's first column tile.
    std::vector<float> w(256 * 32, 1.0f);
    for (int k = 128; k < 256; ++k)
        for (int n = 0; n < 16; ++n) w[size_t(k * 32 + n)] = 0.0f;
    MapOptions opt;
    opt.duplicate = false;
    Mapping m = map_model(gemm_model(tmp, 256, 32, true, w), diff_device(), opt);
    CHECK(m.find("fc")->arrays == 3);
    CHECK(m.find("fc")->zero_arrays_skipped == 1);
    // Utilization counts the cells of the arrays placed: three full 128 x 128 arrays.
    CHECK(m.find("fc")->used_cells == 3 * 128 * 128);
    CHECK(m.find("fc")->utilization == doctest::Approx(1.0));
    CHECK(m.utilization == doctest::Approx(1.0));
    opt.skip_zero_arrays = false;
    Mapping keep = map_model(gemm_model(tmp, 256, 32, true, w), diff_device(), opt);
    CHECK(keep.find("fc")->arrays == 4);
    CHECK(keep.find("fc")->used_cells == 4 * 128 * 128);
}

TEST_CASE("utilization never exceeds 100 % when pruned arrays are dropped, also for partial tiles") {
    TempDir tmp;
    // 200 x 40 weights: row tiles of 128 and 72 rows, column tiles of 16, 16 and 8 outputs (8 columns each);
    // the full first tile and the partial last one are all-zero.
    std::vector<float> w(200 * 40, 1.0f);
    for (int k = 0; k < 128; ++k)
        for (int n = 0; n < 16; ++n) w[size_t(k * 40 + n)] = 0.0f;
    for (int k = 128; k < 200; ++k)
        for (int n = 32; n < 40; ++n) w[size_t(k * 40 + n)] = 0.0f;
    MapOptions opt;
    opt.duplicate = false;
    const Mapping m = map_model(gemm_model(tmp, 200, 40, true, w), diff_device(), opt);
    const LayerMapping* fc = m.find("fc");
    CHECK(fc->arrays == 4);
    CHECK(fc->zero_arrays_skipped == 2);
    // Placed: (128 x 16), (128 x 8), (72 x 16), (72 x 16) outputs of 8 columns.
    const int64_t cells = (128 * 16 + 128 * 8 + 72 * 16 + 72 * 16) * 8;
    CHECK(fc->used_cells == cells);
    CHECK(fc->utilization == doctest::Approx(double(cells) / (4 * 128 * 128)));
    CHECK(fc->utilization <= 1.0);
    CHECK(m.utilization == doctest::Approx(fc->utilization));
}

TEST_CASE("attention's dynamic MatMuls run digitally; host layers stay on the host") {
    TempDir tmp;
    OnnxBuilder b(13);
    b.input("q", {1, 4, 8});
    b.input("k", {1, 8, 4});
    b.initializer("w", {4, 6}, ones(24));
    b.node("MatMul", {"q", "k"}, {"s"}, "qk");
    b.node("Softmax", {"s"}, {"p"}, "softmax");
    b.node("MatMul", {"p", "w"}, {"y"}, "proj");
    b.output("y");
    b.save(tmp.file("att.onnx"));
    Graph g = specialize_batch(import_onnx(tmp.file("att.onnx")), 1);
    Mapping m = map_model(g, diff_device());
    CHECK(m.find("qk")->placement == Placement::digital);
    CHECK(m.find("qk")->note.find("two dynamic operands") != std::string::npos);
    CHECK(m.find("qk")->macs == 4 * 8 * 4);
    CHECK(m.find("proj")->placement == Placement::arrays);
    CHECK(m.find("proj")->vectors == 4);

    MapOptions host;
    host.host_layers = {"proj"};
    Mapping h = map_model(g, diff_device(), host);
    CHECK(h.find("proj")->placement == Placement::host);
    host.host_layers = {"nonexistent"};
    CHECK_THROWS_WITH_AS(map_model(g, diff_device(), host), doctest::Contains("--host-layers: no node named 'nonexistent'"), InputError);
}

TEST_CASE("a model too big for one chip reports the chips it needs; --chips turns that into an error") {
    TempDir tmp;
    // 64 macros per chip: 2 tiles x 32 macros. 1024 x 1024 Gemm: 8 row tiles x 64 col tiles = 512 arrays = 8 chips.
    DeviceSpec d = diff_device({"chip.tiles=2", "chip.macros_per_tile=32", "chip.max_chips=4"});
    MapOptions opt;
    opt.duplicate = false;
    Graph g = gemm_model(tmp, 1024, 1024, true);
    Mapping m = map_model(g, d, opt);
    CHECK(m.arrays_used == 512);
    CHECK(m.chips == 8);
    CHECK_FALSE(m.fits_device);
    CHECK(m.fit_note.find("needs 8 chips") != std::string::npos);
    CHECK(m.find("fc")->first_chip == 0);
    CHECK(m.find("fc")->last_chip == 7);
    opt.chips = 5;
    CHECK_THROWS_WITH_AS(map_model(g, d, opt), doctest::Contains("short by 192 arrays (3 chips)"), InputError);
}

TEST_CASE("duplication fills spare arrays with copies of the slowest layer") {
    TempDir tmp;
    OnnxBuilder b(13);
    b.input("x", {1, 8, 16, 16});
    b.initializer("w1", {8, 8, 3, 3}, ones(8 * 8 * 9));
    b.initializer("w2", {4, 8 * 16 * 16}, ones(4 * 8 * 256));
    b.node("Relu", {"x"}, {"xr"}, "relu");
    auto* c = b.node("Conv", {"xr", "w1"}, {"c"}, "conv");
    OnnxBuilder::attr_ints(c, "pads", {1, 1, 1, 1});
    b.node("Relu", {"c"}, {"cr"}, "relu2");
    b.node("Flatten", {"cr"}, {"f"}, "flat");
    auto* g = b.node("Gemm", {"f", "w2"}, {"y"}, "fc");
    OnnxBuilder::attr_int(g, "transB", 1);
    b.output("y");
    b.save(tmp.file("m.onnx"));
    DeviceSpec d = diff_device({"chip.tiles=1", "chip.macros_per_tile=64"});
    Mapping m = map_model(specialize_batch(import_onnx(tmp.file("m.onnx")), 1), d);
    // conv: 72 rows x 8 outputs = 1 array, 256 vectors; fc: 2048 rows = 16 arrays, 1 vector.
    const LayerMapping* conv = m.find("conv");
    CHECK(conv->arrays == 1);
    CHECK(m.find("fc")->arrays == 16);
    CHECK(conv->duplication == 64 - 16);  // every spare array copies the conv
    CHECK(m.arrays_used == 64);
}

TEST_CASE("layers share WTM2101's one array") {
    TempDir tmp;
    OnnxBuilder b(13);
    b.input("x", {1, 100});
    b.initializer("w1", {100, 50}, ones(5000));
    b.initializer("w2", {50, 10}, ones(500));
    b.node("Relu", {"x"}, {"xr"}, "relu");
    b.node("MatMul", {"xr", "w1"}, {"h"}, "fc1");
    b.node("Relu", {"h"}, {"hr"}, "relu2");
    b.node("MatMul", {"hr", "w2"}, {"y"}, "fc2");
    b.output("y");
    b.save(tmp.file("m.onnx"));
    DeviceSpec d = load_device("wtm2101");
    CHECK(d.array.multi_layer);
    Mapping m = map_model(specialize_batch(import_onnx(tmp.file("m.onnx")), 1), d);
    CHECK(m.arrays_used == 1);
    CHECK(m.chips == 1);
    CHECK(m.fits_device);
    CHECK(m.find("fc1")->cols_per_output == 1);  // native signed 8-bit cells
    // 2000 x 500: blocks of 1792 and 208 rows, 500 columns each, cannot share one array: 2 arrays, and WTM2101 is a 1-chip device.
    Mapping big = map_model(gemm_model(tmp, 2000, 500, true), d);
    CHECK(big.arrays_used == 2);
    CHECK_FALSE(big.fits_device);
}
