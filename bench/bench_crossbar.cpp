// Crossbar simulation speed against Eigen float GEMM, measured in the same run:
//   - BM_Crossbar: one VGG-style conv layer (K = 3x3x64 = 576, N = 64, 1024 output pixels) with
//     8-bit weights in 2-bit differential cells (8 columns per output), 8 bit-serial input planes,
//     a 6-bit ADC on 128-row arrays; Arg 1 adds programming and read noise (the float rows kernel);
//   - BM_NeuroSimLayer: a layer at NeuroSim's defaults (1-bit cells, offset encoding, 5-bit ADC with a
//     per-layer range, ON/OFF 10) through the popcount kernel (Arg 0) and the float rows (Arg 1);
//   - BM_PopcountKernel: the popcount kernel alone on that layer's reads;
//   - BM_NativeGemm: the baseline, Eigen float GEMM compiled for this machine's widest vectors.
// Rates count dense bit-plane MACs: vectors x rows x columns x input planes.
#include <benchmark/benchmark.h>

#include <cim/cimsim/crossbar.h>

#include <Eigen/Core>

#include "native_gemm.h"
#include "packed_digits.h"

#include <random>

using namespace cim;
using namespace cim::sim;

namespace {
constexpr int64_t V = 1024, K = 576, N = 64, SL = 4, J = N * SL * 2;

// rows x cols digits uniform in [0, digit_mask] (the column mapping left to the caller).
ProgrammedMatrix random_digits(int64_t rows, int64_t cols, int64_t outputs, int digit_mask, uint64_t seed) {
    ProgrammedMatrix pm;
    pm.rows = rows;
    pm.cols = cols;
    pm.outputs = outputs;
    std::mt19937_64 rng(seed);
    pm.digits.resize(size_t(rows * cols));
    for (auto& d : pm.digits) d = int16_t(rng() & uint64_t(digit_mask));
    return pm;
}

ProgrammedMatrix matrix() {
    ProgrammedMatrix pm = random_digits(K, J, N, 3, 1);
    for (int64_t j = 0; j < J; ++j) {
        pm.col_output.push_back(j / (2 * SL));
        pm.col_factor.push_back(((j % 2) ? -1 : 1) * (int64_t(1) << (2 * ((j / 2) % SL))));
    }
    return pm;
}

std::vector<int32_t> inputs() {
    std::mt19937_64 rng(2);
    std::vector<int32_t> x(size_t(V * K));
    for (auto& v : x) v = int32_t(rng() & 255);
    return x;
}
}  // namespace

static void BM_FloatGemm(benchmark::State& state) {
    using M = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    M a = M::Random(V, K), b = M::Random(K, N), c(V, N);
    for (auto _ : state) {
        c.noalias() = a * b;
        benchmark::DoNotOptimize(c.data());
    }
    state.counters["MAC/s"] = benchmark::Counter(double(V * K * N), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_FloatGemm)->Unit(benchmark::kMillisecond);

namespace {
// Times layer.run on x (V vectors); plane_macs: every input plane against every stored column.
void run_layer(benchmark::State& state, const CrossbarLayer& layer, const std::vector<int32_t>& x, int64_t vectors, int64_t outputs,
               double plane_macs) {
    std::vector<double> out(size_t(vectors * outputs));
    for (auto _ : state) {
        layer.run(x.data(), vectors, out.data(), 0);
        benchmark::DoNotOptimize(out.data());
    }
    state.counters["planeMAC/s"] = benchmark::Counter(plane_macs, benchmark::Counter::kIsIterationInvariantRate);
}
}  // namespace

static void BM_Crossbar(benchmark::State& state) {
    std::vector<std::string> sets{"weight.bits=8", "cell.bits=2", "weight.encoding=differential", "input.bits=8",
                                  "quant.weight_bits=8", "quant.activation_bits=8", "array.adc.bits=6"};
    if (state.range(0)) {
        sets.push_back("noise.programming_sigma=0.02");
        sets.push_back("noise.read_sigma=0.01");
    }
    CrossbarLayer layer(load_device("isaac", sets), matrix(), 1, 0, 0);
    run_layer(state, layer, inputs(), V, N, double(V * K * J * 8));
}
BENCHMARK(BM_Crossbar)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

static void BM_NativeGemm(benchmark::State& state) { cim::bench::native_gemm_benchmark(state); }
BENCHMARK(BM_NativeGemm)->Unit(benchmark::kMillisecond);

namespace {
// NeuroSim's VGG-8 conv 128 -> 128: K = 3x3x128 = 1152 rows on 128-row arrays, 8-bit weights in
// 1-bit cells with an offset (8 columns per output) and a reference column per array and slice.
constexpr int64_t NV = 256, NK = 1152, NN = 128, NJ = NN * 8 + 8 * 9;

ProgrammedMatrix neurosim_matrix() {
    ProgrammedMatrix pm = random_digits(NK, NJ, NN, 1, 3);
    for (int64_t j = 0; j < NJ; ++j) {
        pm.col_output.push_back(j < NN * 8 ? j / 8 : 0);
        pm.col_factor.push_back((j < NN * 8 ? 1 : -1) * (int64_t(1) << (j % 8)));
    }
    return pm;
}

// ReLU-like activations: half zero, the rest uniform 8-bit codes.
std::vector<int32_t> relu_inputs(int64_t n) {
    std::mt19937_64 rng(4);
    std::vector<int32_t> x(static_cast<size_t>(n));
    for (auto& v : x) v = (rng() & 1) ? int32_t(rng() & 255) : 0;
    return x;
}
}  // namespace

static void BM_NeuroSimLayer(benchmark::State& state) {
    const std::vector<std::string> sets{"weight.bits=8", "cell.bits=1", "weight.encoding=offset", "input.bits=8", "input.dac_bits=1",
                                        "quant.weight_bits=8", "quant.activation_bits=8", "array.adc.bits=5",
                                        "array.adc.range=calibrated_layer", "cell.on_off_ratio=10", "array.capacity_bits=16384"};
    CrossbarLayer layer(load_device("isaac", sets), neurosim_matrix(), 1, 0, 0);
    const auto x = relu_inputs(NV * NK);
    std::vector<double> maxima;
    layer.observe_nominal(x.data(), NV, maxima);
    layer.merge_calibration(maxima);
    layer.finish_calibration();
    layer.force_kernel(state.range(0) ? SumKernel::float_rows : SumKernel::popcount);
    run_layer(state, layer, x, NV, NN, double(NV * NK * NJ * 8));
}
BENCHMARK(BM_NeuroSimLayer)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

static void BM_PopcountKernel(benchmark::State& state) {
    using namespace cim::sim::detail;
    const ProgrammedMatrix m = neurosim_matrix();
    std::vector<ReadGroup> groups;
    for (int64_t r0 = 0, t = 0; r0 < NK; r0 += 128, ++t) groups.push_back({r0, std::min(NK, r0 + 128), t});
    const PackedDigits packed(m.digits, NJ, groups);
    const auto x = relu_inputs(NV * NK);
    constexpr int64_t block = 8;
    InputBits in;
    in.nbits = 8;
    std::vector<int32_t> sums(size_t(block * 8 * NJ));
    for (auto _ : state) {
        for (int64_t v0 = 0; v0 < NV; v0 += block)
            for (size_t gi = 0; gi < groups.size(); ++gi) {
                in.load(x.data() + v0 * NK, block, NK, groups[gi], size_t(packed.words[gi]));
                popcount_sums(packed, gi, in, block, 8, 1, sums.data(), nullptr);
            }
        benchmark::DoNotOptimize(sums.data());
    }
    state.counters["planeMAC/s"] = benchmark::Counter(double(NV * NK * NJ * 8), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_PopcountKernel)->Unit(benchmark::kMillisecond);
