// The trained zoo through our float executor: PyTorch's logits for the first 256
// test images (stored beside each model) within 1e-4 relative (absolute 1e-4 for
// logits below 1 in magnitude, where float32 summation order dominates), and the float test
// accuracy recorded in the model's metadata over all 10,000 test images (the same
// number of correct predictions, +-1).
#include <doctest/doctest.h>

#include <cim/ir/executor.h>
#include <cim/ir/onnx_import.h>
#include <cim/models/fashion_mnist.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

using namespace cim;

namespace {

const char* kModels[] = {"mlp", "lenet5", "vgg", "resnet", "mobilenet", "vit", "lstm", "gru"};

std::string zoo(const std::string& name) { return std::string(CIM_SOURCE_DIR) + "/models/zoo/" + name; }

}  // namespace

TEST_CASE("the executor reproduces PyTorch's logits on every zoo model") {
    for (const char* name : kModels) {
        const std::string where = name;
        INFO(where);
        Graph g = import_onnx(zoo(name) + "/model.onnx");
        Tensor input = load_tensor_pb(zoo(name) + "/test_data_set_0/input_0.pb");
        Tensor expected = load_tensor_pb(zoo(name) + "/test_data_set_0/output_0.pb");
        CHECK(input.shape == Shape{256, 1, 28, 28});
        Tensor out = Executor(g).run({input})[0];
        REQUIRE(out.shape == expected.shape);
        double worst = 0;
        size_t bad = 0;
        for (size_t i = 0; i < out.f.size(); ++i) {
            const double err = std::fabs(double(out.f[i]) - expected.f[i]);
            const double scale = std::max(std::fabs(double(expected.f[i])), 1.0);  // below 1: absolute 1e-4
            worst = std::max(worst, err / scale);
            bad += err > 1e-4 * scale;
        }
        MESSAGE(where << ": max error relative to max(|logit|, 1): " << worst);
        CHECK(bad == 0);
    }
}

TEST_CASE("the executor reproduces every zoo model's float test accuracy over all 10,000 images") {
    models::ImageSet test = models::load_fashion_mnist(models::default_fashion_mnist_dir(), models::Split::Test);
    REQUIRE(test.count == 10000);
    for (const char* name : kModels) {
        const std::string where = name;
        INFO(where);
        Graph g = import_onnx(zoo(name) + "/model.onnx");
        REQUIRE(g.metadata.count("test_correct"));
        const int recorded = std::stoi(g.metadata.at("test_correct"));
        Executor ex(g);
        int correct = 0;
        const int batch = 500;
        for (int b = 0; b < test.count; b += batch) {
            const int n = std::min(batch, test.count - b);
            Tensor x(ElemType::Float, {n, 1, 28, 28});
            std::copy_n(test.image(b), size_t(n) * 784, x.f.begin());
            Tensor logits = ex.run({x})[0];
            for (int i = 0; i < n; ++i) {
                const float* row = logits.f.data() + i * 10;
                correct += int(std::max_element(row, row + 10) - row) == test.labels[size_t(b + i)];
            }
        }
        MESSAGE(where << ": " << correct << " of 10000 correct (PyTorch: " << recorded << ")");
        CHECK(std::abs(correct - recorded) <= 1);
    }
}
