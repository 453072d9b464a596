// The functional simulator against float inference of the same network, measured in
// the same run (docs/performance.md records the ratios):
//   - BM_FloatGemm: Eigen float GEMM compiled for this machine's widest vectors (the baseline rate),
//   - BM_VggFloat / BM_VggSimulated: the VGG-style zoo model per image, float executor vs the
//     simulator (8-bit weights in 2-bit differential cells, 8 bit-serial input planes, a 6-bit ADC
//     on 128-row arrays, programming and read noise).
#include <benchmark/benchmark.h>

#include <cim/cimsim/simulator.h>
#include <cim/ir/executor.h>
#include <cim/ir/onnx_import.h>
#include <cim/models/fashion_mnist.h>
#include <cim/quant/quantizer.h>

#include "native_gemm.h"

#include <atomic>
#include <optional>
#include <random>

using namespace cim;

namespace {

const std::vector<std::string> kSets{"weight.bits=8", "cell.bits=2", "weight.encoding=differential", "input.bits=8",
                                     "quant.weight_bits=8", "quant.activation_bits=8", "array.adc.bits=6",
                                     "noise.programming_sigma=0.02", "noise.read_sigma=0.01"};

struct Vgg {
    Graph graph;
    Tensor images;
    std::optional<quant::QuantResult> q;
    DeviceSpec device;
    static Vgg& get() {
        static Vgg v = [] {
            Vgg x;
            x.graph = import_onnx(std::string(CIM_SOURCE_DIR) + "/models/zoo/vgg/model.onnx");
            auto set = models::load_fashion_mnist(models::default_fashion_mnist_dir(), models::Split::Test, 250);
            x.images = Tensor(ElemType::Float, {250, 1, 28, 28});
            x.images.f = set.pixels;
            x.device = load_device("isaac", kSets);
            auto calib = models::calibration_split(models::default_fashion_mnist_dir(), 128, 1);
            Tensor c(ElemType::Float, {128, 1, 28, 28});
            c.f = calib.pixels;
            x.q = quant::quantize(x.graph, x.device, {c}, quant::QuantOptions::from_device(x.device));
            return x;
        }();
        return v;
    }
};

// Forwards to the simulator and counts dense bit-plane MACs: vectors x rows x columns x planes.
struct CountingBackend : quant::MvmBackend {
    quant::MvmBackend* inner;
    int planes;
    std::atomic<double> plane_macs{0};
    CountingBackend(quant::MvmBackend* b, int p) : inner(b), planes(p) {}
    void mvm(const quant::QuantLayer& L, int group, const int32_t* x, int64_t vectors, int64_t* acc,
             const quant::MvmContext& ctx) override {
        inner->mvm(L, group, x, vectors, acc, ctx);
        const double macs = double(vectors) * double(L.rows()) * double(L.N * L.digits.layout.columns_per_output) * planes;
        double cur = plane_macs.load();
        while (!plane_macs.compare_exchange_weak(cur, cur + macs)) {
        }
    }
};

}  // namespace

static void BM_FloatGemm(benchmark::State& state) {
    cim::bench::NativeGemm gemm(1024, 576, 512);
    for (auto _ : state) {
        gemm.run();
        benchmark::DoNotOptimize(gemm.result());
    }
    state.counters["MAC/s"] = benchmark::Counter(gemm.macs(), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_FloatGemm)->Unit(benchmark::kMillisecond)->UseRealTime();

static void BM_VggFloat(benchmark::State& state) {
    Vgg& v = Vgg::get();
    Executor ex(v.graph);
    for (auto _ : state) benchmark::DoNotOptimize(ex.run({v.images}));
    state.counters["images/s"] = benchmark::Counter(250.0, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_VggFloat)->Unit(benchmark::kMillisecond)->UseRealTime();

static void BM_VggSimulated(benchmark::State& state) {
    Vgg& v = Vgg::get();
    sim::CrossbarBackend backend(v.q->model, v.device, 1, 0);
    CountingBackend counting(&backend, input_cycles(v.device));
    quant::RunOptions ro;
    ro.backend = &counting;
    for (auto _ : state) benchmark::DoNotOptimize(quant::run_program(v.q->model, {v.images}, ro));
    state.counters["images/s"] = benchmark::Counter(250.0, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["planeMAC/s"] = benchmark::Counter(counting.plane_macs.load(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_VggSimulated)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);
