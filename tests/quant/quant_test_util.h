// Shared helpers of the quantizer tests.
#pragma once

#include <cim/device/device_spec.h>
#include <cim/ir/onnx_import.h>
#include <cim/models/fashion_mnist.h>
#include <cim/quant/quantizer.h>

#include <doctest/doctest.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace cim::qtest {

inline std::string zoo(const std::string& name) { return std::string(CIM_SOURCE_DIR) + "/models/zoo/" + name + "/model.onnx"; }

inline quant::LabeledData labeled(const models::ImageSet& s) {
    quant::LabeledData d;
    Tensor pixels(ElemType::Float, {s.count, 1, s.rows, s.cols});
    pixels.f = s.pixels;
    d.inputs = std::move(pixels);
    d.labels = s.labels;
    return d;
}

inline const quant::LabeledData& test_set() {
    static const quant::LabeledData d = labeled(models::load_fashion_mnist(models::default_fashion_mnist_dir(), models::Split::Test));
    return d;
}

inline Tensor calibration(int count, uint64_t seed = 1) {
    return labeled(models::calibration_split(models::default_fashion_mnist_dir(), count, seed)).inputs.tensor();
}

// WTM2101 with per-channel, free (not power-of-two) scales unless overridden.
inline DeviceSpec wtm(std::vector<std::string> sets = {}) {
    std::vector<std::string> all{"quant.per_channel=true", "quant.power_of_two_scales=false"};
    all.insert(all.end(), sets.begin(), sets.end());
    return load_device("wtm2101", all);
}

// Standard output of a shell command, and its exit status.
struct CommandResult {
    std::string out;
    int status = -1;
};
inline CommandResult run_command(const std::string& cmd) {
    std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), pclose);
    REQUIRE(p);
    CommandResult r;
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof buf, p.get())) r.out.append(buf, n);
    r.status = WEXITSTATUS(pclose(p.release()));
    return r;
}

// A tool built next to the tests (cim-quant, cim-map).
inline std::string tool(const std::string& name) { return std::string(CIM_BIN_DIR) + "/" + name; }

}  // namespace cim::qtest
