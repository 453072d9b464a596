// The activation calibration streamed through the float pass (value summaries) against
// the same calibrators on every layer's whole values kept in memory (the computation
// before streaming, still its fallback): bit-identical scales, zero points, clipped
// fractions and bias codes for every calibration method on every zoo model (about 12 s:
// labelled heavy).
#include "quant_test_util.h"

#include <cim/quant/quantizer.h>

#include <limits>
#include <string>

using namespace cim;
using namespace cim::quant;

namespace {

const CalibrationMethod kMethods[] = {CalibrationMethod::minmax, CalibrationMethod::percentile, CalibrationMethod::mse,
                                      CalibrationMethod::kl};

}  // namespace

TEST_CASE("streamed activation calibration equals the in-memory one on every zoo model and method") {
    const Tensor cal = qtest::calibration(64);
    for (const char* name : {"mlp", "lenet5", "vgg", "resnet", "mobilenet", "vit", "lstm", "gru"}) {
        const Graph g = import_onnx(qtest::zoo(name));
        for (CalibrationMethod m : kMethods)
            for (int device = 0; device < 2; ++device) {
                // WTM2101 (signed inputs split in two: symmetric ranges), ISAAC (signed inputs with an
                // offset: asymmetric ranges). The asymmetric MSE and KL searches take 1-2 s per pass on
                // the larger models: there on the smaller ones only.
                const bool small = std::string(name) == "mlp" || std::string(name) == "lstm" || std::string(name) == "gru";
                if (device == 1 && (m == CalibrationMethod::mse || m == CalibrationMethod::kl) && !small) continue;
                DeviceSpec d = device == 0 ? qtest::wtm() : load_device("isaac", {"quant.activation_bits=8"});
                d.quant.calibration = m;
                d.quant.percentile = 99.9;
                QuantOptions o = QuantOptions::from_device(d);
                o.report_sqnr = false;
                const QuantResult streamed = quantize(g, d, {cal}, o);
                o.stream_calibration = false;
                const QuantResult whole = quantize(g, d, {cal}, o);
                CAPTURE(name);
                CAPTURE(int(m));
                CAPTURE(device);
                REQUIRE(streamed.model.layers.size() == whole.model.layers.size());
                for (size_t i = 0; i < whole.model.layers.size(); ++i) {
                    const ActQuant& a = streamed.model.layers[i].input;
                    const ActQuant& b = whole.model.layers[i].input;
                    CAPTURE(i);
                    CHECK(a.scale == b.scale);
                    CHECK(a.zero_point == b.zero_point);
                    CHECK(a.code_min == b.code_min);
                    CHECK(a.code_max == b.code_max);
                    CHECK(a.bits == b.bits);
                    CHECK(int(a.realization) == int(b.realization));
                    CHECK(streamed.report.layers[i].activation_clipped_fraction ==
                          whole.report.layers[i].activation_clipped_fraction);
                    CHECK(streamed.model.layers[i].bias_code == whole.model.layers[i].bias_code);
                }
            }
    }
}

TEST_CASE("a layer its summary cannot calibrate exactly falls back to its whole values, with the same result") {
    // A NaN pixel spreads through the convolutions: an every-k-th subsample of values with NaN among
    // them cannot be taken on the fly (the calibrators subsample the values without the NaN).
    Tensor cal = qtest::calibration(64);
    cal.f[5 * 784 + 300] = std::numeric_limits<float>::quiet_NaN();
    const Graph g = import_onnx(qtest::zoo("lenet5"));
    for (CalibrationMethod m : {CalibrationMethod::mse, CalibrationMethod::kl, CalibrationMethod::percentile}) {
        DeviceSpec d = qtest::wtm();
        d.quant.calibration = m;
        QuantOptions o = QuantOptions::from_device(d);
        o.report_sqnr = false;
        const QuantResult streamed = quantize(g, d, {cal}, o);
        o.stream_calibration = false;
        const QuantResult whole = quantize(g, d, {cal}, o);
        CAPTURE(int(m));
        REQUIRE(streamed.model.layers.size() == whole.model.layers.size());
        for (size_t i = 0; i < whole.model.layers.size(); ++i) {
            CAPTURE(i);
            CHECK(streamed.model.layers[i].input.scale == whole.model.layers[i].input.scale);
            CHECK(streamed.report.layers[i].activation_clipped_fraction == whole.report.layers[i].activation_clipped_fraction);
        }
    }
}
