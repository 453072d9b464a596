// Accuracy must fall monotonically (within the confidence interval) as the ADC gets
// narrower than the column sums need and as programming variation grows, on the
// VGG and ResNet zoo models.
#include <doctest/doctest.h>

#include "sim_test_util.h"

#include <cim/cimsim/simulator.h>
#include <cim/ir/onnx_import.h>
#include <cim/models/fashion_mnist.h>
#include <cim/quant/quantizer.h>

using namespace cim;

namespace {

using sim_test::as_tensor;

const std::vector<std::string> kBase{"weight.bits=8", "cell.bits=2", "weight.encoding=differential", "input.bits=8",
                                     "quant.weight_bits=8", "quant.activation_bits=8", "cell.on_off_ratio=.inf"};

// Accuracies along one axis; each must not exceed the previous one by more than the
// two intervals together, and the last must be clearly below the first.
void check_falls(const std::vector<sim::SimResult>& rs, const std::string& what) {
    for (size_t i = 1; i < rs.size(); ++i) {
        INFO(what << " point " << i << ": " << rs[i - 1].mean_accuracy << " -> " << rs[i].mean_accuracy);
        CHECK(rs[i].mean_accuracy <= rs[i - 1].mean_accuracy + rs[i].ci95_half_width + rs[i - 1].ci95_half_width + 0.01);
    }
    CHECK(rs.back().mean_accuracy < rs.front().mean_accuracy - 0.05);
}

void trends(const std::string& model) {
    const std::string data = models::default_fashion_mnist_dir();
    Graph g = import_onnx(std::string(CIM_SOURCE_DIR) + "/models/zoo/" + model + "/model.onnx");
    Tensor calib = as_tensor(models::calibration_split(data, 64, 1));  // quantizer calibration
    auto test_set = models::load_fashion_mnist(data, models::Split::Test, 100);
    quant::LabeledData test{as_tensor(test_set), test_set.labels};
    DeviceSpec base = load_device("isaac", kBase);
    auto q = quant::quantize(g, base, {calib}, quant::QuantOptions::from_device(base));
    sim::SimOptions opt;
    opt.instances = 2;
    std::vector<sim::SimResult> adc, sigma;
    // Column sums need 9 bits (128 rows x 1 x 3 = 384); full-scale ranges, so no ADC calibration pass.
    for (int bits : {8, 4, 2}) {
        auto sets = kBase;
        sets.push_back("array.adc.bits=" + std::to_string(bits));
        adc.push_back(sim::simulate(q.model, load_device("isaac", sets), test, calib, 0, 0, opt));
    }
    for (double s : {0.0, 0.2, 0.6}) {
        auto sets = kBase;
        sets.push_back("array.adc.bits=9");
        sets.push_back("noise.programming_sigma=" + std::to_string(s));
        sigma.push_back(sim::simulate(q.model, load_device("isaac", sets), test, calib, 0, 0, opt));
    }
    check_falls(adc, model + ": ADC bits 8, 4, 2");
    check_falls(sigma, model + ": programming sigma 0, 0.2, 0.6");
}

}  // namespace

TEST_CASE("accuracy falls with fewer ADC bits and more programming variation: VGG") { trends("vgg"); }
TEST_CASE("accuracy falls with fewer ADC bits and more programming variation: ResNet") { trends("resnet"); }
