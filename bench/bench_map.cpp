// Mapping speed: import and map full-size VGG16 (ImageNet). Generate the model first with
//   /usr/bin/python3 models/imagenet.py --model vgg16
// The baseline, BM_ReadFileVgg16, only reads the file's bytes into memory: the floor for any import.
#include <benchmark/benchmark.h>

#include <cim/device/device_spec.h>
#include <cim/ir/onnx_import.h>
#include <cim/mapper/mapping.h>

#include <filesystem>
#include <fstream>
#include <vector>

using namespace cim;

static const std::string kVgg16 = std::string(CIM_SOURCE_DIR) + "/models/imagenet/vgg16.onnx";

static void BM_ReadFileVgg16(benchmark::State& state) {
    if (!std::filesystem::exists(kVgg16)) {
        state.SkipWithError("models/imagenet/vgg16.onnx missing: run models/imagenet.py --model vgg16");
        return;
    }
    for (auto _ : state) {
        std::ifstream in(kVgg16, std::ios::binary);
        std::vector<char> bytes(std::filesystem::file_size(kVgg16));
        in.read(bytes.data(), std::streamsize(bytes.size()));
        benchmark::DoNotOptimize(bytes.data());
    }
}
BENCHMARK(BM_ReadFileVgg16)->Unit(benchmark::kMillisecond)->Iterations(3);

static void BM_ImportVgg16(benchmark::State& state) {
    if (!std::filesystem::exists(kVgg16)) {
        state.SkipWithError("models/imagenet/vgg16.onnx missing: run models/imagenet.py --model vgg16");
        return;
    }
    for (auto _ : state) benchmark::DoNotOptimize(import_onnx(kVgg16));
}
BENCHMARK(BM_ImportVgg16)->Unit(benchmark::kMillisecond)->Iterations(3);

static void BM_MapVgg16(benchmark::State& state, const char* device_name) {
    if (!std::filesystem::exists(kVgg16)) {
        state.SkipWithError("models/imagenet/vgg16.onnx missing: run models/imagenet.py --model vgg16");
        return;
    }
    static Graph g = specialize_batch(import_onnx(kVgg16), 1);
    DeviceSpec d = load_device(device_name);
    for (auto _ : state) benchmark::DoNotOptimize(map_model(g, d));
}
BENCHMARK_CAPTURE(BM_MapVgg16, wtm2101, "wtm2101")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MapVgg16, isaac, "isaac")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MapVgg16, tsmc7_sram_analog, "tsmc7_sram_analog")->Unit(benchmark::kMillisecond);

// What `cim-map vgg16.onnx --device NAME` does before printing: import, fix the batch, map.
static void BM_ImportAndMapVgg16(benchmark::State& state, const char* device_name) {
    if (!std::filesystem::exists(kVgg16)) {
        state.SkipWithError("models/imagenet/vgg16.onnx missing: run models/imagenet.py --model vgg16");
        return;
    }
    DeviceSpec d = load_device(device_name);
    for (auto _ : state) benchmark::DoNotOptimize(map_model(specialize_batch(import_onnx(kVgg16), 1), d));
}
BENCHMARK_CAPTURE(BM_ImportAndMapVgg16, wtm2101, "wtm2101")->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK_CAPTURE(BM_ImportAndMapVgg16, tsmc7_sram_analog, "tsmc7_sram_analog")->Unit(benchmark::kMillisecond)->Iterations(3);
