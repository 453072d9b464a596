// A quantized (QDQ) LeNet-5 keeps its own quantization through the simulator: in each of the
// node patterns ONNX Runtime, PyTorch and Brevitas export (tests/quant/write_qdq_lenet.py),
// the quantizer takes the weight codes and scales exactly (PyTorch's reach -128), activations stay unsigned after
// ReLU, and ideal crossbars read through bit planes give the logits of the model's own
// integer arithmetic (computed independently by NumPy) bit for bit.
#include <doctest/doctest.h>

#include <qdq_fixtures.h>

#include <cim/cimsim/simulator.h>
#include <cim/data/dataset.h>
#include <cim/ir/onnx_import.h>
#include <cim/quant/quantizer.h>

#include <algorithm>
#include <cstring>

using namespace cim;

namespace {

Tensor read_array(const std::string& path) { return data::load_dataset(path).inputs.tensor(); }

// The identity-test devices (tests/sim/test_identity.cpp), made ideal: every read exact.
std::vector<DeviceSpec> ideal_devices() {
    // PyTorch's int8 weights reach -128: 8-bit codes for two's-complement columns, 9-bit sign and
    // magnitude for a differential pair (tests/quant/test_model_quant.cpp).
    return {load_device("isaac", {"weight.bits=9", "cell.bits=2", "weight.encoding=differential", "input.bits=8",
                                  "quant.weight_bits=8", "quant.activation_bits=8", "array.adc.bits=9",
                                  "cell.on_off_ratio=.inf"}),
            load_device("isaac", {"weight.bits=8", "cell.bits=2", "weight.encoding=twos_complement", "input.bits=8",
                                  "quant.weight_bits=8", "quant.activation_bits=8", "array.adc.bits=9",
                                  "cell.on_off_ratio=.inf"}),
            load_device("wtm2101", {"array.adc.range=none", "array.adc.bits=~", "array.adc.cols_per_adc=~",
                                    "energy.adc_pj_per_conversion=~", "latency.adc_ns_per_conversion=~", "area.adc_um2=~",
                                    "cell.on_off_ratio=.inf", "noise.programming_sigma=0"})};
}

void check_codes_kept(const quant::QuantizedModel& model, const DeviceSpec& device, const std::string& dir,
                      const std::string& pattern) {
    for (const char* name : {"conv1", "conv2", "fc1", "fc2", "fc3"}) {
        CAPTURE(name);
        const quant::QuantLayer* L = model.find(name);
        REQUIRE(L);
        const Tensor codes = read_array(dir + "/codes_" + pattern + "_" + name + ".npy");
        const Tensor scales = read_array(dir + "/scales_" + pattern + "_" + name + ".npy");
        REQUIRE(codes.shape == Shape{L->N, L->K});
        int64_t differing = 0;
        for (int64_t n = 0; n < L->N; ++n) {
            CHECK(L->w_scale[size_t(n)] == double(scales.f[size_t(n)]));
            CHECK(L->w_zero_point[size_t(n)] == 0);
            for (int64_t k = 0; k < L->K; ++k) differing += L->w[size_t(k * L->N + n)] != int32_t(codes.f[size_t(n * L->K + k)]);
        }
        CHECK(differing == 0);
        // int8 codes are 8 bits, but PyTorch's -128 takes a ninth in a differential pair.
        const bool minus_128 = *std::min_element(codes.f.begin(), codes.f.end()) == -128.0f;
        if (pattern != "pytorch") CHECK_FALSE(minus_128);  // ONNX Runtime and Brevitas keep -127..127
        CHECK(L->weight_bits == (minus_128 && device.weight.encoding == WeightEncoding::differential ? 9 : 8));
        if (std::string(name) != "conv1") {  // after a ReLU: unsigned codes, K rows (not 2K)
            CHECK(L->input.realization == quant::InputRealization::unsigned_code);
            CHECK(L->rows() == L->K);
            CHECK(L->input.bits == (pattern == "brevitas" ? 7 : 8));  // int8 after ReLU: codes 0..127
        }
    }
}

}  // namespace

TEST_CASE("a QDQ LeNet-5 keeps its weight codes through ideal crossbars: the logits of its own integer arithmetic, bit for bit") {
    REQUIRE_QDQ_LENET();
    const std::string dir = test::qdq_lenet_dir();
    const Tensor images = read_array(dir + "/data.npz");
    const Tensor calibration = read_array(dir + "/calibration.npz");
    for (const std::string pattern : {"ort", "pytorch", "brevitas"}) {
        CAPTURE(pattern);
        const Graph g = import_onnx(dir + "/lenet_" + pattern + ".onnx");
        const Tensor ref = read_array(dir + "/ref_" + pattern + ".npy");
        for (const DeviceSpec& device : ideal_devices()) {
            CAPTURE(device.name);
            const quant::QuantResult q = quant::quantize(g, device, {calibration}, quant::QuantOptions::from_device(device));
            CHECK(q.report.model_quantization);
            for (const auto& r : q.report.layers) {
                CHECK(r.weights_from_model);
                CHECK(r.input_from_model);
            }
            check_codes_kept(q.model, device, dir, pattern);
            sim::CrossbarBackend backend(q.model, device, 1, 0);
            CHECK(backend.all_exact());
            backend.force_bitplanes(true);  // read every digit column through bit-serial planes
            quant::RunOptions ro;
            ro.backend = &backend;
            const Tensor simulated = quant::run_program(q.model, {images}, ro).at(0);
            REQUIRE(simulated.shape == ref.shape);
            int64_t differing = 0;
            for (size_t i = 0; i < ref.f.size(); ++i) differing += std::memcmp(&simulated.f[i], &ref.f[i], sizeof(float)) != 0;
            CHECK(differing == 0);
            for (const auto& l : backend.layer_stats()) CHECK(l.error == 0);
        }
    }
}
