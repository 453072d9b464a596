// Every bundled device at its defaults runs the zoo's CNNs well above chance (docs/accuracy.md):
// a readout a chip would not build (an unremoved off-cell leak, a reference column the macro has
// no room for, one ADC range for sixteen flash ADCs) shows up here as a fall towards 10 %.
#include <doctest/doctest.h>

#include "sim_test_util.h"

#include <cim/cimsim/simulator.h>
#include <cim/ir/onnx_import.h>
#include <cim/models/fashion_mnist.h>
#include <cim/quant/quantizer.h>

#include <algorithm>
#include <filesystem>

using namespace cim;

TEST_CASE("bundled devices at their defaults: the zoo LeNet-5 and ResNet well above chance") {
    const std::string data = models::default_fashion_mnist_dir();
    const Tensor calib = sim_test::as_tensor(models::calibration_split(data, 64, 1));
    const auto test_set = models::load_fashion_mnist(data, models::Split::Test, 100);
    const quant::LabeledData test{sim_test::as_tensor(test_set), test_set.labels};
    std::vector<std::string> devices;
    for (const auto& f : std::filesystem::directory_iterator(std::string(CIM_SOURCE_DIR) + "/configs"))
        if (f.path().extension() == ".yaml") devices.push_back(f.path().stem().string());
    std::sort(devices.begin(), devices.end());
    CHECK(devices.size() >= 6);
    for (const char* model : {"lenet5", "resnet"}) {
        const Graph g = import_onnx(std::string(CIM_SOURCE_DIR) + "/models/zoo/" + model + "/model.onnx");
        for (const std::string& name : devices) {
            const std::string where = std::string(model) + " on " + name;
            CAPTURE(where);
            const DeviceSpec d = load_device(name);
            // The digital baselines compute exactly: tests/tools/test_cim_sim.cpp pins them to the integer program.
            if (d.kind != DeviceKind::cim) continue;
            const auto q = quant::quantize(g, d, {calib}, quant::QuantOptions::from_device(d));
            sim::SimOptions opt;
            opt.instances = 1;
            const sim::SimResult r = sim::simulate(q.model, d, test, SampleSet(calib), 0, 0, opt);
            CHECK(r.mean_accuracy > 0.6);
        }
    }
}
