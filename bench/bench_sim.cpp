// The functional simulator against float inference of the same network, measured in
// the same run (docs/performance.md records the ratios):
//   - BM_FloatGemm: Eigen float GEMM compiled for this machine's widest vectors (the baseline rate),
//   - BM_VggFloat / BM_VggSimulated: the VGG-style zoo model per image, float executor vs the
//     simulator (8-bit weights in 2-bit differential cells, 8 bit-serial input planes, a 6-bit ADC
//     on 128-row arrays, programming and read noise);
//   - BM_Vgg8Float / BM_Vgg8Simulated: issue 21's workloads on NeuroSim's VGG-8 widths (0.468 G MACs
//     per 28x28 image; bench/vgg8_neurosim.py writes the model, its path in CIM_VGG8_MODEL, default
//     /tmp/vgg8/model.onnx; skipped without it), synthetic seeded images, the ADC ranges calibrated
//     outside the timing: Arg 0 NeuroSim's defaults, 1 the same with programming sigma 0.05 and read
//     noise 0.01, 2 CrossSim's fast defaults, 3 the same without programming variation (ideal 7-bit
//     cells, 8-bit multi-bit inputs: the int8 kernel); BM_Vgg8Popcount: workload 3 through the
//     popcount kernel (what the simulator ran on it before the int8 kernel).
#include <benchmark/benchmark.h>

#include <cim/cimsim/simulator.h>
#include <cim/ir/executor.h>
#include <cim/ir/onnx_import.h>
#include <cim/models/fashion_mnist.h>
#include <cim/quant/quantizer.h>

#include "native_gemm.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>
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

static void BM_FloatGemm(benchmark::State& state) { cim::bench::native_gemm_benchmark(state); }
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

namespace {

// Issue 21's settings (scripts/readout_table.py has the same ones for the accuracy tables).
const std::vector<std::string> kNeuroSim{"weight.bits=8", "cell.bits=1", "weight.encoding=offset", "input.bits=8", "input.dac_bits=1",
                                         "quant.weight_bits=8", "quant.activation_bits=8", "array.adc.bits=5",
                                         "array.adc.range=calibrated_layer", "cell.on_off_ratio=10", "array.capacity_bits=16384"};
const std::vector<std::string> kCrossSim{"weight.bits=8", "cell.bits=7", "weight.encoding=differential", "input.bits=8",
                                         "input.mode=multi_bit", "input.dac_bits=8", "quant.weight_bits=8", "quant.activation_bits=8",
                                         "array.adc.bits=8", "array.adc.range=calibrated_layer", "array.rows=1152", "array.usable_rows=1152",
                                         "array.max_active_rows=1152", "array.capacity_bits=~", "cell.on_off_ratio=.inf",
                                         "noise.programming_sigma=0.05"};

std::vector<std::string> workload(int64_t w) {
    if (w == 2) return kCrossSim;
    if (w == 3) {
        std::vector<std::string> sets = kCrossSim;
        sets.push_back("noise.programming_sigma=0");
        return sets;
    }
    std::vector<std::string> sets = kNeuroSim;
    if (w == 1) sets.insert(sets.end(), {"noise.programming_sigma=0.05", "noise.read_sigma=0.01"});
    return sets;
}

// Seeded uniform pixels in [0, 1): n images of 1 x 28 x 28.
Tensor synthetic_images(int64_t n, uint64_t seed) {
    Tensor t(ElemType::Float, {n, 1, 28, 28});
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    for (auto& v : t.f) v = u(rng);
    return t;
}

struct Vgg8 {
    std::optional<Graph> graph;
    // 16 images: two MVM calls of RunOptions::chunk_items (8), so that two threads both have work.
    Tensor images = synthetic_images(16, 1), calibration = synthetic_images(16, 2);
    static Vgg8& get() {
        static Vgg8 v = [] {
            Vgg8 x;
            const char* env = std::getenv("CIM_VGG8_MODEL");
            const std::string path = env ? env : "/tmp/vgg8/model.onnx";
            if (std::filesystem::exists(path)) x.graph = import_onnx(path);
            return x;
        }();
        return v;
    }
};

}  // namespace

static void BM_Vgg8Float(benchmark::State& state) {
    Vgg8& v = Vgg8::get();
    if (!v.graph) return state.SkipWithError("no VGG-8 model: run bench/vgg8_neurosim.py, or set CIM_VGG8_MODEL");
    Executor ex(*v.graph);
    for (auto _ : state) benchmark::DoNotOptimize(ex.run({v.images}));
    state.counters["s/image"] = benchmark::Counter(double(v.images.shape[0]), benchmark::Counter::kIsIterationInvariantRate |
                                                                                benchmark::Counter::kInvert);
}
BENCHMARK(BM_Vgg8Float)->Unit(benchmark::kMillisecond)->UseRealTime();

namespace {
// Workload w's images through the simulator (kernel: the plans' choice, or forced where the layers support it).
void vgg8_simulated(benchmark::State& state, int64_t w, sim::SumKernel kernel) {
    Vgg8& v = Vgg8::get();
    if (!v.graph) return state.SkipWithError("no VGG-8 model: run bench/vgg8_neurosim.py, or set CIM_VGG8_MODEL");
    const DeviceSpec device = load_device("isaac", workload(w));
    const auto q = quant::quantize(*v.graph, device, {v.calibration}, quant::QuantOptions::from_device(device));
    sim::CrossbarBackend backend(q.model, device, 1, 0);
    backend.force_kernel(kernel);
    backend.set_snr_images(0);  // the reads alone, as cim-sim past its --snr-images
    quant::RunOptions ro;
    ro.backend = &backend;
    backend.begin_calibration();
    quant::run_program(q.model, {v.calibration}, ro);
    backend.finish_calibration();
    for (auto _ : state) benchmark::DoNotOptimize(quant::run_program(q.model, {v.images}, ro));
    state.counters["s/image"] = benchmark::Counter(double(v.images.shape[0]), benchmark::Counter::kIsIterationInvariantRate |
                                                                                benchmark::Counter::kInvert);
}
}  // namespace

static void BM_Vgg8Simulated(benchmark::State& state) { vgg8_simulated(state, state.range(0), sim::SumKernel::automatic); }
BENCHMARK(BM_Vgg8Simulated)->Arg(0)->Arg(1)->Arg(2)->Arg(3)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

static void BM_Vgg8Popcount(benchmark::State& state) { vgg8_simulated(state, state.range(0), sim::SumKernel::popcount); }
BENCHMARK(BM_Vgg8Popcount)->Arg(3)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);
