// Crossbar simulation speed against Eigen float GEMM, measured in the same run:
//   - BM_Crossbar: one VGG-style conv layer (K = 3x3x64 = 576, N = 64, 1024 output pixels) with
//     8-bit weights in 2-bit differential cells (8 columns per output), 8 bit-serial input planes,
//     a 6-bit ADC on 128-row arrays; Arg 1 adds programming and read noise (the float rows kernel);
//   - BM_NeuroSimLayer: a layer at NeuroSim's defaults (1-bit cells, offset encoding, 5-bit ADC with a
//     per-layer range, ON/OFF 10) through the popcount kernel (Arg 0) and the float rows (Arg 1);
//   - BM_PopcountKernel / BM_Int8Kernel: the popcount and int8 kernels alone on that layer's shape
//     (Args: cell bits, DAC bits per plane of the 8-bit inputs, rows per read group);
//   - BM_NativeGemm: the baseline, Eigen float GEMM compiled for this machine's widest vectors.
// Rates count dense bit-plane MACs: vectors x rows x columns x input planes; the kernels' MAC/s
// count the integer product they form, vectors x rows x columns (dense-equivalent), and xFloatGemm /
// xNativeGemm its ratio to those GEMMs' MAC/s measured in the same run (when they ran).
#include <benchmark/benchmark.h>

#include <cim/cimsim/crossbar.h>

#include <Eigen/Core>

#include "native_gemm.h"
#include "packed_digits.h"

#include "int8_dot.h"

#include <chrono>
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

namespace {
// The GEMMs' MAC/s as measured in this run (0: not run), for the kernels' ratios.
double float_gemm_rate = 0, native_gemm_rate = 0;

// Runs step() for every iteration of `state`; returns its rate in MAC/s (macs per step).
template <class Step>
double timed(benchmark::State& state, double macs, Step&& step) {
    const auto t0 = std::chrono::steady_clock::now();
    for (auto _ : state) step();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    state.counters["MAC/s"] = benchmark::Counter(macs, benchmark::Counter::kIsIterationInvariantRate);
    return macs * double(state.iterations()) / seconds;
}
}  // namespace

static void BM_FloatGemm(benchmark::State& state) {
    using M = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    M a = M::Random(V, K), b = M::Random(K, N), c(V, N);
    float_gemm_rate = timed(state, double(V * K * N), [&] {
        c.noalias() = a * b;
        benchmark::DoNotOptimize(c.data());
    });
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

static void BM_NativeGemm(benchmark::State& state) {
    cim::bench::NativeGemm gemm(1024, 576, 512);  // native_gemm_benchmark's, timed here for the kernels' ratios
    native_gemm_rate = timed(state, gemm.macs(), [&] {
        gemm.run();
        benchmark::DoNotOptimize(gemm.result());
    });
}
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

namespace {
// The kernel benchmarks' layer: NeuroSim's VGG-8 conv shape (neurosim_matrix's columns), digits
// uniform in [0, 2^cell_bits - 1], ReLU-like 8-bit inputs in 8 / dac_bits planes, reads of group_rows rows.
struct KernelShape {
    int planes, dac_bits;
    ProgrammedMatrix m;
    std::vector<cim::sim::detail::ReadGroup> groups;
    std::vector<int32_t> x = relu_inputs(NV * NK);
    int64_t block;  // vectors per kernel call, as run_blocks
    explicit KernelShape(const benchmark::State& state)
        : planes(8 / int(state.range(1))), dac_bits(int(state.range(1))),
          m(random_digits(NK, NJ, NN, (1 << state.range(0)) - 1, 3)), block(std::max<int64_t>(8, 32 / planes)) {
        for (int64_t r0 = 0, t = 0; r0 < NK; r0 += state.range(2), ++t) groups.push_back({r0, std::min(NK, r0 + state.range(2)), t});
    }
    void report(benchmark::State& state, double rate) const {
        state.counters["planeMAC/s"] = benchmark::Counter(double(NV * NK * NJ * planes), benchmark::Counter::kIsIterationInvariantRate);
        if (float_gemm_rate > 0) state.counters["xFloatGemm"] = rate / float_gemm_rate;
        if (native_gemm_rate > 0) state.counters["xNativeGemm"] = rate / native_gemm_rate;
    }
};
}  // namespace

static void BM_PopcountKernel(benchmark::State& state) {
    using namespace cim::sim::detail;
    const KernelShape k(state);
    const PackedDigits packed(k.m.digits, NJ, k.groups);
    InputBits in;
    in.nbits = 8;
    std::vector<int32_t> sums(size_t(k.block * k.planes * NJ));
    const double rate = timed(state, double(NV * NK * NJ), [&] {
        for (int64_t v0 = 0; v0 < NV; v0 += k.block)
            for (size_t gi = 0; gi < k.groups.size(); ++gi) {
                in.load(k.x.data() + v0 * NK, k.block, NK, k.groups[gi], size_t(packed.words[gi]));
                popcount_sums(packed, gi, in, k.block, k.planes, k.dac_bits, sums.data(), nullptr);
            }
        benchmark::DoNotOptimize(sums.data());
    });
    k.report(state, rate);
}

static void BM_Int8Kernel(benchmark::State& state) {
    using namespace cim::sim::detail;
    const KernelShape k(state);
    const Int8Digits bytes(k.m.digits, NJ, k.groups);
    InputBytes in;
    in.planes = k.planes;
    in.dac_bits = k.dac_bits;
    std::vector<int32_t> sums(size_t(k.block * k.planes * NJ));
    const double rate = timed(state, double(NV * NK * NJ), [&] {
        for (int64_t v0 = 0; v0 < NV; v0 += k.block)
            for (size_t gi = 0; gi < k.groups.size(); ++gi) {
                in.load(k.x.data() + v0 * NK, k.block, NK, k.groups[gi]);
                int8_sums(bytes, gi, in, k.block, sums.data(), nullptr);
            }
        benchmark::DoNotOptimize(sums.data());
    });
    k.report(state, rate);
}

// NeuroSim (1-bit cells, 1-bit planes), 2- to 4-bit cells and 1- to 4-bit DACs, CrossSim's 7-bit
// cells with 8-bit inputs on 1152-row reads.
static void kernel_args(benchmark::internal::Benchmark* b) {
    b->ArgsProduct({{1, 2, 4}, {1, 2, 4}, {128}})->Args({7, 8, 1152})->Args({7, 1, 128})->Unit(benchmark::kMillisecond);
}
BENCHMARK(BM_PopcountKernel)->Apply(kernel_args);
BENCHMARK(BM_Int8Kernel)->Apply(kernel_args);
