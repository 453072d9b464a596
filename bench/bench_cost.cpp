// Cost-model speed: estimate latency, energy and area of full-size VGG16 (ImageNet)
// on top of its mapping (the mapping itself is bench_map). Target: under 50 ms.
// Generate the model first with
//   /usr/bin/python3 models/imagenet.py --model vgg16 --out models/imagenet
#include <benchmark/benchmark.h>

#include <cim/cimsim/cost_model.h>
#include <cim/device/device_spec.h>
#include <cim/ir/onnx_import.h>
#include <cim/mapper/mapping.h>

#include <filesystem>

using namespace cim;

static const std::string kVgg16 = std::string(CIM_SOURCE_DIR) + "/models/imagenet/vgg16.onnx";

static const Graph* vgg16() {
    static const Graph g = specialize_batch(import_onnx(kVgg16), 1);
    return &g;
}

static void BM_CostVgg16(benchmark::State& state, const char* device_name) {
    if (!std::filesystem::exists(kVgg16)) {
        state.SkipWithError("models/imagenet/vgg16.onnx missing: run models/imagenet.py --model vgg16");
        return;
    }
    const Graph& g = *vgg16();
    const DeviceSpec d = load_device(device_name);
    const Mapping m = map_model(g, d);
    CostOptions opt;
    opt.batch = int(state.range(0));
    for (auto _ : state) benchmark::DoNotOptimize(estimate_cost(g, m, d, opt));
    state.counters["layers"] = double(m.layers.size());
    state.counters["arrays"] = double(m.arrays_used);
}
BENCHMARK_CAPTURE(BM_CostVgg16, isaac, "isaac")->Arg(1)->Arg(16)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_CostVgg16, wtm2101, "wtm2101")->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_CostVgg16, tsmc7_sram_analog, "tsmc7_sram_analog")->Arg(1)->Unit(benchmark::kMicrosecond);

// Map and estimate together, as cim-map does after import.
static void BM_MapAndCostVgg16(benchmark::State& state) {
    if (!std::filesystem::exists(kVgg16)) {
        state.SkipWithError("models/imagenet/vgg16.onnx missing: run models/imagenet.py --model vgg16");
        return;
    }
    const Graph& g = *vgg16();
    const DeviceSpec d = load_device("isaac");
    for (auto _ : state) {
        const Mapping m = map_model(g, d);
        benchmark::DoNotOptimize(estimate_cost(g, m, d));
    }
}
BENCHMARK(BM_MapAndCostVgg16)->Unit(benchmark::kMillisecond);

static void BM_PeakFigures(benchmark::State& state) {
    const DeviceSpec d = load_device("isaac");
    for (auto _ : state) benchmark::DoNotOptimize(peak_figures(d));
}
BENCHMARK(BM_PeakFigures)->Unit(benchmark::kMicrosecond);
