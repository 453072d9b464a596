// cim-quant and cim-sim on quantized (QDQ) models: they report that the model's own
// quantization was used, an ideal device reproduces the model's own integer arithmetic
// (its accuracy exactly), and codes the device cannot hold are a clear error (exit 2).
#include <doctest/doctest.h>

#include "cli_runner.h"
#include "qdq_fixtures.h"

#include <nlohmann/json.hpp>

#include <fstream>

using namespace cim::test;
using json = nlohmann::json;

namespace {
// The ideal ISAAC of tests/sim/test_identity.cpp, every read exact, with two's-complement columns,
// which hold the -128 of PyTorch's int8 weights at 8 bits.
const std::string kIdeal = " --device isaac --set weight.bits=8 --set cell.bits=2 --set weight.encoding=twos_complement"
                           " --set input.bits=8 --set quant.weight_bits=8 --set quant.activation_bits=8 --set array.adc.bits=9"
                           " --set cell.on_off_ratio=.inf";

std::string data_args(const std::string& dir) {
    return " --data " + dir + "/data.npz --calibration-data " + dir + "/calibration.npz";
}
}  // namespace

TEST_CASE("cim-sim and cim-quant report a QDQ model's own quantization; an ideal device gives its integer accuracy exactly") {
    REQUIRE_QDQ_LENET();
    const std::string dir = qdq_lenet_dir();
    json summary;
    std::ifstream(dir + "/summary.json") >> summary;
    for (const std::string pattern : {"ort", "pytorch", "brevitas"}) {
        CAPTURE(pattern);
        const std::string model = " " + dir + "/lenet_" + pattern + ".onnx";
        auto r = run_command(tool("cim-sim") + model + kIdeal + data_args(dir) + " --json");
        REQUIRE_MESSAGE(r.status == 0, r.output);
        json j = json::parse(r.output);
        CHECK(j["model_quantization"] == true);
        CHECK(j["exact"] == true);
        CHECK(j["accuracy"] == summary[pattern]["accuracy"]);
        CHECK(j["quant_accuracy"] == summary[pattern]["accuracy"]);
        REQUIRE(j["layers"].size() == 5);
        for (const auto& l : j["layers"]) {
            CHECK(l["weight_source"] == "model");
            CHECK(l["activation_source"] == "model");
        }
        r = run_command(tool("cim-quant") + model + kIdeal + data_args(dir) + " --json");
        REQUIRE_MESSAGE(r.status == 0, r.output);
        j = json::parse(r.output);
        CHECK(j["model_quantization"] == true);
        CHECK(j["accuracy"] == summary[pattern]["accuracy"]);
        for (const auto& l : j["layers"]) {
            CHECK(l["weight_source"] == "model");
            CHECK(l["weight_bits"] == 8);
        }
    }
    // Text: one line says so.
    auto r = run_command(tool("cim-quant") + " " + dir + "/lenet_ort.onnx" + kIdeal + data_args(dir));
    REQUIRE_MESSAGE(r.status == 0, r.output);
    CHECK(r.output.find("model quantization: weights of 5 of 5 layers and inputs of 5 of 5 layers as the model quantized them") !=
          std::string::npos);
    // Turned off, the layers are calibrated again and nothing claims the model's quantization.
    r = run_command(tool("cim-sim") + " " + dir + "/lenet_ort.onnx" + kIdeal + data_args(dir) +
                    " --set quant.use_model_quantization=false --json");
    REQUIRE_MESSAGE(r.status == 0, r.output);
    json off = json::parse(r.output);
    CHECK(off["model_quantization"] == false);
    for (const auto& l : off["layers"]) CHECK(l["weight_source"] == "calibrated");
}

TEST_CASE("a QDQ model's 8-bit weight codes on a 4-bit device: exit 2 naming the layer, both widths and the fix") {
    REQUIRE_QDQ_LENET();
    const std::string dir = qdq_lenet_dir();
    auto r = run_command(tool("cim-sim") + " " + dir + "/lenet_ort.onnx" + kIdeal + data_args(dir) +
                         " --set weight.bits=4 --set quant.weight_bits=4");
    CHECK(r.status == 2);
    for (const char* part : {"lenet_ort.onnx: layer 'conv1'", "8-bit codes in twos_complement columns", "the device stores -8..7", "weight.bits = 4",
                             "--set weight.bits=8", "--set quant.use_model_quantization=false"})
        CHECK_MESSAGE(r.output.find(part) != std::string::npos, part << " in: " << r.output);
    // PyTorch's -128 on 8-bit differential pairs: |-128| needs a ninth bit there.
    r = run_command(tool("cim-sim") + " " + dir + "/lenet_pytorch.onnx" + kIdeal + data_args(dir) +
                    " --set weight.encoding=differential");
    CHECK(r.status == 2);
    for (const char* part : {"-128..", "(9-bit codes in differential columns)", "the device stores -127..127", "--set weight.bits=9"})
        CHECK_MESSAGE(r.output.find(part) != std::string::npos, part << " in: " << r.output);
}
