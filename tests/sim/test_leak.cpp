// The off-cell leak of a finite ON/OFF ratio on two's-complement columns: kept, it biases every
// output; subtracted digitally (weight.leak_reference digital), an ideal crossbar with a wide ADC
// reproduces the integer program.
#include <doctest/doctest.h>

#include "sim_test_util.h"

#include <cim/cimsim/simulator.h>
#include <cim/error.h>
#include <cim/quant/quantizer.h>

#include <algorithm>
#include <cmath>

using namespace cim;

namespace {

// Largest |simulated - exact| over the largest |exact| of LeNet-5's logits on 8 test images.
double relative_error(const std::string& leak_reference) {
    const std::string data = models::default_fashion_mnist_dir();
    const Tensor calib = sim_test::as_tensor(models::calibration_split(data, 16, 1));
    const Tensor images = sim_test::as_tensor(models::load_fashion_mnist(data, models::Split::Test, 8));
    const Graph g = import_onnx(std::string(CIM_SOURCE_DIR) + "/models/zoo/lenet5/model.onnx");
    // 1-bit cells with MRAM's ON/OFF ratio of 2.5 (g_off = 2/3 of a level step), a 16-bit ADC.
    const DeviceSpec d = load_device("isaac", {"weight.encoding=twos_complement", "cell.bits=1", "array.capacity_bits=16384",
                                               "weight.bits=8", "input.bits=8", "quant.weight_bits=8",
                                               "quant.activation_bits=8", "array.adc.bits=16", "cell.on_off_ratio=2.5",
                                               "weight.leak_reference=" + leak_reference});
    const auto q = quant::quantize(g, d, {calib}, quant::QuantOptions::from_device(d));
    const auto exact = quant::run_program(q.model, {images});
    sim::CrossbarBackend backend(q.model, d, 1, 0);
    quant::RunOptions ro;
    ro.backend = &backend;
    const auto simulated = quant::run_program(q.model, {images}, ro);
    double err = 0, scale = 0;
    for (size_t i = 0; i < exact[0].f.size(); ++i) {
        err = std::max(err, double(std::fabs(simulated[0].f[i] - exact[0].f[i])));
        scale = std::max(scale, double(std::fabs(exact[0].f[i])));
    }
    return err / scale;
}

}  // namespace

TEST_CASE("two's-complement columns with a finite ON/OFF ratio: the leak subtracted digitally is exact") {
    const double kept = relative_error("none"), subtracted = relative_error("digital");
    CAPTURE(kept);
    CAPTURE(subtracted);
    CHECK(kept > 0.1);         // the leak, g_off x the input sum, lands in every output
    CHECK(subtracted < 1e-2);  // what a 16-bit ADC leaves
}

TEST_CASE("weight.leak_reference digital is refused where another circuit cancels the leak") {
    for (const char* encoding : {"differential", "offset", "native_signed"}) {
        CAPTURE(encoding);
        CHECK_THROWS_WITH_AS(load_device("isaac", {std::string("weight.encoding=") + encoding, "weight.leak_reference=digital"}),
                             doctest::Contains("weight.leak_reference"), InputError);
    }
}
