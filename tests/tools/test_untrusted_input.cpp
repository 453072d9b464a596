// End-to-end: the tools on untrusted input (issue 12). A model reaching outside its folder,
// non-finite weights or data, sizes beyond --max-memory, and outputs that cannot be written are
// all exit 2 with a message naming the file; cim-run runs non-finite weights with a warning.
#include <doctest/doctest.h>

#include "cli_runner.h"
#include "onnx_builder.h"

#include <cim/ir/onnx_import.h>

#include <filesystem>
#include <fstream>
#include <limits>

using namespace cim::test;
namespace fs = std::filesystem;

namespace {

// A Fashion-MNIST-shaped CNN (conv 1->2, flatten, gemm 1352->10), with `poison` put into the
// conv weights at two places.
void save_small_cnn(const std::string& path, float poison) {
    OnnxBuilder b(13);
    b.input("x", {-1, 1, 28, 28});
    std::vector<float> w(2 * 9, 0.1f);
    w[1] = poison;
    w[10] = poison;
    b.initializer("conv.weight", {2, 1, 3, 3}, w);
    b.node("Conv", {"x", "conv.weight"}, {"c"}, "conv");
    b.node("Relu", {"c"}, {"r"}, "relu");
    b.node("Flatten", {"r"}, {"f"}, "flatten");
    b.initializer("fc.weight", {10, 2 * 26 * 26}, std::vector<float>(10 * 2 * 26 * 26, 0.01f));
    auto* g = b.node("Gemm", {"f", "fc.weight"}, {"y"}, "fc");
    OnnxBuilder::attr_int(g, "transB", 1);
    b.output("y");
    b.save(path);
}

const std::string kLenet = std::string(CIM_SOURCE_DIR) + "/models/zoo/lenet5/model.onnx";

}  // namespace

TEST_CASE("non-finite weights: cim-map, cim-quant and cim-sim refuse them, cim-run warns") {
    TempDir tmp;
    const std::string model = tmp.file("nan.onnx");
    save_small_cnn(model, std::numeric_limits<float>::quiet_NaN());
    for (const std::string cmd : {"cim-map " + model + " --device isaac", "cim-quant " + model + " --device wtm2101 --dataset fashion-mnist --limit 10",
                                  "cim-sim " + model + " --device wtm2101 --dataset fashion-mnist --limit 10"}) {
        CAPTURE(cmd);
        const auto r = run_command(tool(cmd));
        CHECK(r.status == 2);
        CHECK(r.output.find(model + ": weights with non-finite values cannot be quantized or programmed") != std::string::npos);
        CHECK(r.output.find("node 'conv': 'conv.weight' holds 2 NaN of 18 values") != std::string::npos);
    }
    save_small_cnn(model, std::numeric_limits<float>::infinity());
    const auto run = run_command(tool("cim-run") + " " + model);
    CHECK(run.status == 0);
    CHECK(run.output.find("warning: " + model + ": weights hold non-finite values") != std::string::npos);
    CHECK(run.output.find("'conv.weight' holds 2 Inf of 18 values") != std::string::npos);
}

TEST_CASE("non-finite calibration data is an error naming the file and the sample") {
    TempDir tmp;
    cim::Tensor x(cim::ElemType::Float, {2, 1, 28, 28});
    x.f[784 + 5] = std::numeric_limits<float>::quiet_NaN();
    cim::save_tensor_pb(x, "input", tmp.file("input_0.pb"));
    const auto r = run_command(tool("cim-map") + " " + kLenet + " --device isaac --calibrate " + tmp.file("input_0.pb"));
    CHECK(r.status == 2);
    CHECK(r.output.find(tmp.file("input_0.pb") + ": holds 1 non-finite value(s) (NaN or Inf); the first is element 789 of shape [2,1,28,28], in sample 1") !=
          std::string::npos);
}

TEST_CASE("a model whose external data points outside its folder is refused by every tool") {
    TempDir tmp;
    fs::create_directories(tmp.file("model"));
    std::ofstream(tmp.file("secret.txt")) << std::string(64, 'x');
    OnnxBuilder b(13);
    b.input("x", {1, 4});
    b.external_initializer("w", {4, 2}, "../secret.txt");
    b.node("MatMul", {"x", "w"}, {"y"}, "mm");
    b.output("y");
    b.save(tmp.file("model/m.onnx"));
    for (const std::string cmd : {"cim-run ", "cim-map --device isaac "}) {
        const auto r = run_command(tool(cmd) + tmp.file("model/m.onnx"));
        CHECK(r.status == 2);
        CHECK(r.output.find("initializer 'w': external data location '../secret.txt' leaves the model's folder") != std::string::npos);
    }
}

TEST_CASE("--max-memory bounds what a model may take") {
    auto r = run_command(tool("cim-map") + " " + kLenet + " --device isaac --max-memory 64K");
    CHECK(r.status == 2);
    CHECK(r.output.find("more than the memory limit of 64.0 KiB (--max-memory") != std::string::npos);
    r = run_command(tool("cim-map") + " " + kLenet + " --device isaac --max-memory 1G");
    CHECK(r.status == 0);
    r = run_command(tool("cim-run") + " " + kLenet + " --max-memory lots");
    CHECK(r.status == 2);
    CHECK(r.output.find("--max-memory lots: expected a size such as 8G") != std::string::npos);
    CHECK(run_command(tool("cim-sweep") + " --help").output.find("--max-memory") != std::string::npos);
}

TEST_CASE("outputs that cannot be written are exit 2 with the path") {
    TempDir tmp;
    const std::string map = tool("cim-map") + " " + kLenet + " --device isaac ";
    auto r = run_command(map + "--csv /dev/full");
    CHECK(r.status == 2);
    CHECK(r.output.find("/dev/full: cannot write the CSV file (No space left on device)") != std::string::npos);
    r = run_command(map + "--plot " + tmp.file("missing/plot.svg"));
    CHECK(r.status == 2);
    CHECK(r.output.find(tmp.file("missing/plot.svg") + ": cannot create the plot") != std::string::npos);
    r = run_command(map + "--layout /dev/full");
    CHECK(r.status == 2);
    std::ofstream(tmp.file("afile")) << "x";
    r = run_command(tool("cim-run") + " " + kLenet + " --out " + tmp.file("afile"));
    CHECK(r.status == 2);
    CHECK(r.output.find(tmp.file("afile") + ": exists and is not a folder") != std::string::npos);
    r = run_command(tool("cim-sim") + " " + kLenet + " --device wtm2101 --dataset fashion-mnist --limit 5 --study array.adc.bits=4:5 --out /dev/full");
    CHECK(r.status == 2);
    CHECK(r.output.find("/dev/full: cannot write the study CSV") != std::string::npos);
}
