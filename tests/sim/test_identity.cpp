// The identity every later result rests on: with ideal cells and an ADC wide enough
// for every column sum (or no ADC), reading the quantizer's cell digits through
// bit-serial planes, per-array column sums and shift-add reproduces the integer
// program bit for bit, on every zoo model.
#include "onnx_builder.h"

#include <doctest/doctest.h>

#include "sim_test_util.h"

#include <cim/cimsim/simulator.h>
#include <cim/ir/onnx_import.h>
#include <cim/models/fashion_mnist.h>
#include <cim/quant/quantizer.h>

#include <filesystem>
#include <random>

using namespace cim;
namespace fs = std::filesystem;

namespace {

using sim_test::as_tensor;

// n draws of `nd`, or a float tensor of them (one stream, so successive calls continue it).
std::vector<float> normals(std::mt19937& rng, std::normal_distribution<float>& nd, size_t n) {
    std::vector<float> v(n);
    for (auto& x : v) x = nd(rng);
    return v;
}
Tensor normal_tensor(std::mt19937& rng, std::normal_distribution<float>& nd, std::vector<int64_t> shape) {
    Tensor x(ElemType::Float, std::move(shape));
    x.f = normals(rng, nd, x.f.size());
    return x;
}

// kernels: the bit-plane path's column sums by popcount and by int8 dot products (the plan's
// choices on ideal cells; int8 on the layers whose digits fit a byte), and by the float conductance
// rows (sparse row lists and dense blocks), every kernel on every model.
void check_identity(const Graph& g, const DeviceSpec& device, const Tensor& calib, const Tensor& images) {
    auto q = quant::quantize(g, device, {calib}, quant::QuantOptions::from_device(device));
    REQUIRE(!q.model.layers.empty());
    auto exact = quant::run_program(q.model, {images});
    for (const sim::SumKernel kernel : {sim::SumKernel::popcount, sim::SumKernel::int8_dot, sim::SumKernel::float_rows}) {
        const int kernel_id = int(kernel);  // a named copy: CAPTURE keeps a reference
        CAPTURE(kernel_id);
        sim::CrossbarBackend backend(q.model, device, 1, 0);
        CHECK(backend.all_exact());
        backend.force_bitplanes(true);
        backend.force_kernel(kernel);
        quant::RunOptions ro;
        ro.backend = &backend;
        auto simulated = quant::run_program(q.model, {images}, ro);
        REQUIRE(simulated[0].shape == exact[0].shape);
        size_t differing = 0;
        for (size_t i = 0; i < exact[0].f.size(); ++i) differing += simulated[0].f[i] != exact[0].f[i];
        CHECK(differing == 0);
        for (const auto& l : backend.layer_stats()) {
            INFO(g.source_file << " " << l.name);
            CHECK(l.error == 0);
        }
    }
}

}  // namespace

TEST_CASE("ideal crossbars reproduce the integer program bit for bit on every zoo model") {
    const std::string zoo = std::string(CIM_SOURCE_DIR) + "/models/zoo";
    const std::string data = models::default_fashion_mnist_dir();
    Tensor calib = as_tensor(models::calibration_split(data, 64, 1));
    Tensor images = as_tensor(models::load_fashion_mnist(data, models::Split::Test, 16));
    // Bit-serial 1-bit DAC, 8-bit differential weights in 2-bit cells on 128-row arrays: a 9-bit ADC
    // holds every column sum (128 x 1 x 3 = 384), so every conversion is exact.
    DeviceSpec isaac = load_device("isaac", {"weight.bits=8", "cell.bits=2", "weight.encoding=differential", "input.bits=8",
                                             "quant.weight_bits=8", "quant.activation_bits=8", "array.adc.bits=9",
                                             "cell.on_off_ratio=.inf"});
    // WTM2101 made ideal (no flash variation, no off-state leak): 8-bit native signed cells, multi-bit
    // inputs, read without an ADC (column sums beyond 2^24: the double path).
    DeviceSpec wtm = load_device("wtm2101", {"array.adc.range=none", "array.adc.bits=~", "array.adc.cols_per_adc=~", "energy.adc_pj_per_conversion=~",
                                             "latency.adc_ns_per_conversion=~", "area.adc_um2=~", "cell.on_off_ratio=.inf", "noise.programming_sigma=0"});
    int models_checked = 0;
    for (const auto& e : fs::directory_iterator(zoo)) {
        const std::string path = (e.path() / "model.onnx").string();
        if (!fs::exists(path)) continue;
        SUBCASE(e.path().filename().string().c_str()) {
            INFO(path);
            const Graph g = import_onnx(path);
            check_identity(g, isaac, calib, images);
            check_identity(g, wtm, calib, images);
        }
        ++models_checked;
    }
    CHECK(models_checked >= 6);
}

TEST_CASE("ideal crossbars reproduce the integer program of ConvTranspose layers bit for bit") {
    // Signed inputs (offset) into a strided, padded, grouped ConvTranspose, then unsigned ones.
    test::TempDir tmp;
    std::mt19937 rng(5);
    std::normal_distribution<float> nd(0.0f, 0.5f);
    auto randn = [&](size_t n) { return normals(rng, nd, n); };
    test::OnnxBuilder b(13);
    b.input("x", {-1, 4, 6, 6});
    b.initializer("w1", {4, 3, 3, 3}, randn(108));
    b.initializer("b1", {6}, randn(6));
    auto* t = b.node("ConvTranspose", {"x", "w1", "b1"}, {"t"}, "deconv1");
    test::OnnxBuilder::attr_int(t, "group", 2);
    test::OnnxBuilder::attr_ints(t, "strides", {2, 2});
    test::OnnxBuilder::attr_ints(t, "pads", {1, 1, 1, 1});
    b.node("Relu", {"t"}, {"r"}, "relu");
    b.initializer("w2", {6, 2, 3, 3}, randn(108));
    b.node("ConvTranspose", {"r", "w2"}, {"y"}, "deconv2");
    b.output("y");
    b.save(tmp.file("deconv.onnx"));
    const Graph g = import_onnx(tmp.file("deconv.onnx"));
    auto batch = [&](int64_t n) { return normal_tensor(rng, nd, {n, 4, 6, 6}); };
    DeviceSpec isaac = load_device("isaac", {"weight.bits=8", "cell.bits=2", "weight.encoding=differential", "input.bits=8",
                                             "quant.weight_bits=8", "quant.activation_bits=8", "array.adc.bits=9",
                                             "cell.on_off_ratio=.inf", "input.signed_handling=offset"});
    check_identity(g, isaac, batch(16), batch(4));
    // Bipolar inputs (+-V on K rows): 1-bit planes of |x| on 2-bit cells give sums within +-384, which
    // a 10-bit bipolar full-scale ADC (-512..511) reads exactly.
    check_identity(g, load_device("isaac", {"weight.bits=8", "cell.bits=2", "weight.encoding=differential", "input.bits=8",
                                            "quant.weight_bits=8", "quant.activation_bits=8", "array.adc.bits=10",
                                            "cell.on_off_ratio=.inf", "input.signed_handling=bipolar"}),
                   batch(16), batch(4));
    // The analog differential readout: W+ - W- within +-384, a 10-bit bipolar ADC.
    check_identity(g, load_device("isaac", {"weight.bits=8", "cell.bits=2", "weight.encoding=differential", "input.bits=8",
                                            "quant.weight_bits=8", "quant.activation_bits=8", "array.adc.bits=10",
                                            "cell.on_off_ratio=.inf", "input.signed_handling=bipolar",
                                            "weight.differential_readout=analog"}),
                   batch(16), batch(4));
}

TEST_CASE("ConvTranspose groups packed in one array are read together, bit for bit on ideal cells") {
    // Four groups of one input channel each, 2 x 2 kernel, stride 2: 1 row and 4 outputs (32 columns
    // of 8-bit differential weights in 2-bit cells) per group, so one 128-column array holds all four.
    test::TempDir tmp;
    std::mt19937 rng(9);
    std::normal_distribution<float> nd(0.0f, 0.5f);
    test::OnnxBuilder b(13);
    b.input("x", {-1, 4, 5, 5});
    b.initializer("w", {4, 1, 2, 2}, normals(rng, nd, 16));
    auto* t = b.node("ConvTranspose", {"x", "w"}, {"y"}, "up");
    test::OnnxBuilder::attr_int(t, "group", 4);
    test::OnnxBuilder::attr_ints(t, "strides", {2, 2});
    b.output("y");
    b.save(tmp.file("up.onnx"));
    const Graph g = import_onnx(tmp.file("up.onnx"));
    auto batch = [&](int64_t n) { return normal_tensor(rng, nd, {n, 4, 5, 5}); };
    const DeviceSpec isaac = load_device("isaac", {"weight.bits=8", "cell.bits=2", "weight.encoding=differential", "input.bits=8",
                                                   "quant.weight_bits=8", "quant.activation_bits=8", "array.adc.bits=9",
                                                   "cell.on_off_ratio=.inf", "input.signed_handling=offset"});
    const Tensor calib = batch(16), images = batch(4);
    const auto q = quant::quantize(g, isaac, {calib}, quant::QuantOptions::from_device(isaac));
    REQUIRE(q.model.layers.size() == 1);
    const sim::CrossbarBackend backend(q.model, isaac, 1, 0);
    CHECK(sim::simulation_mapping(q.model, isaac).find("up")->groups_per_array == 4);
    CHECK(backend.groups_per_call(q.model.layers[0]) == 4);
    check_identity(g, isaac, calib, images);
}

TEST_CASE("captured layer outputs: equal to the integer program's on ideal arrays, and differ with read noise") {
    const std::string data = models::default_fashion_mnist_dir();
    const Tensor calib = as_tensor(models::calibration_split(data, 32, 1));
    const Tensor images = as_tensor(models::load_fashion_mnist(data, models::Split::Test, 12));
    const Graph g = import_onnx(std::string(CIM_SOURCE_DIR) + "/models/zoo/mlp/model.onnx");
    const quant::LabeledData test{SampleSet(images), std::vector<int>(12, 0)};
    for (const double read_sigma : {0.0, 0.05}) {
        CAPTURE(read_sigma);
        // The exact ISAAC of the identity test above (a 9-bit ADC holds every column sum), with read noise or without.
        const DeviceSpec d = load_device("isaac", {"weight.bits=8", "cell.bits=2", "weight.encoding=differential", "input.bits=8",
                                                   "quant.weight_bits=8", "quant.activation_bits=8", "array.adc.bits=9",
                                                   "cell.on_off_ratio=.inf", "noise.read_sigma=" + std::to_string(read_sigma)});
        const auto q = quant::quantize(g, d, {calib}, quant::QuantOptions::from_device(d));
        const std::string layer = q.model.layers.back().name;
        sim::SimOptions so;
        so.capture_nodes = {layer};
        so.batch = 5;  // captured a batch at a time, joined
        const sim::SimResult r = sim::simulate(q.model, d, test, SampleSet(calib), 0, 0, so);
        REQUIRE(r.captured_simulated.count(layer) == 1);
        const Tensor& simulated = r.captured_simulated.at(layer);
        const Tensor& exact = r.captured_exact.at(layer);
        CHECK(simulated.shape == exact.shape);
        CHECK(simulated.shape[0] == 12);
        const bool equal = simulated.f == exact.f;
        CHECK(equal == (read_sigma == 0));
        so.capture_nodes = {"no such node"};
        CHECK_THROWS_WITH_AS(sim::simulate(q.model, d, test, SampleSet(calib), 0, 0, so), doctest::Contains("no node named 'no such node'"),
                             InputError);
    }
}
