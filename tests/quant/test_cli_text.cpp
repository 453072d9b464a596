// cim-quant's terminal text says what its JSON says: the weight format as it is, and
// an accuracy drop with the same sign (positive when quantization loses accuracy).
#include "quant_test_util.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <string>

using namespace cim;

namespace {

std::string cim_quant(const std::string& model, const std::string& args) {
    const auto [out, status] = qtest::run_command(qtest::tool("cim-quant") + " " + qtest::zoo(model) +
                                                  " --device wtm2101 --dataset fashion-mnist --limit 300 --calibration 16 " + args);
    REQUIRE(status == 0);
    return out;
}

// The line of `text` that starts with `prefix`.
std::string line_of(const std::string& text, const std::string& prefix) {
    const auto at = text.find("\n" + prefix);
    REQUIRE_MESSAGE(at != std::string::npos, "no line starting with '" << prefix << "' in:\n" << text);
    return text.substr(at + 1, text.find('\n', at + 1) - at - 1);
}

}  // namespace

TEST_CASE("cim-quant names binary and ternary weights as they are, not by the uniform width") {
    const std::string binary = line_of(cim_quant("mlp", "--set quant.weight_mode=binary"), "options: ");
    CHECK(binary.find("weights binary (codes -1, +1)") != std::string::npos);
    CHECK(binary.substr(0, binary.find(", activations")).find("-bit") == std::string::npos);
    const std::string ternary = line_of(cim_quant("mlp", "--set quant.weight_mode=ternary"), "options: ");
    CHECK(ternary.find("weights ternary (codes -1, 0, +1)") != std::string::npos);
    CHECK(ternary.substr(0, ternary.find(", activations")).find("-bit") == std::string::npos);
    const std::string uniform = line_of(cim_quant("mlp", "--set quant.weight_bits=6"), "options: ");
    CHECK(uniform.find("weights uniform 6-bit per-tensor symmetric (minmax)") != std::string::npos);
}

TEST_CASE("cim-quant's text drop equals its JSON accuracy_drop: positive when accuracy falls") {
    // Ternary weights without retraining lose several points on the MLP.
    const std::string sets = "--set quant.weight_mode=ternary";
    const auto j = nlohmann::json::parse(cim_quant("mlp", sets + " --json"));
    const double drop = j["accuracy_drop"].get<double>();
    CHECK(drop == doctest::Approx(j["float_accuracy"].get<double>() - j["accuracy"].get<double>()));
    REQUIRE(drop > 0.01);
    const std::string line = line_of(cim_quant("mlp", sets), "quantized accuracy");
    const auto at = line.find("(drop ");
    REQUIRE(at != std::string::npos);
    const double text_drop = std::strtod(line.c_str() + at + 6, nullptr);
    CHECK(std::fabs(text_drop - 100 * drop) <= 0.005 + 1e-9);  // printed with two decimals
    CHECK(text_drop > 0);
}

TEST_CASE("cim-map rejects the device cim-sim rejects: two's-complement inputs with a multi-bit DAC") {
    const auto [out, status] = qtest::run_command(qtest::tool("cim-map") + " " + qtest::zoo("lenet5") +
                                                  " --device mram_princeton22 --set input.bits=8 --set input.dac_bits=2 2>&1");
    CHECK(status == 2);
    CHECK(out.find("input.dac_bits: 2 with input.signed_handling twos_complement") != std::string::npos);
}
