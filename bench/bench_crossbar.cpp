// Crossbar simulation speed against Eigen float GEMM of the same layer, measured in the
// same run: one VGG-style conv layer (K = 3x3x64 = 576, N = 64, 1024 output pixels) with
// 8-bit weights in 2-bit differential cells (8 columns per output), 8 bit-serial input planes,
// a 6-bit ADC on 128-row arrays, programming and read noise.
#include <benchmark/benchmark.h>

#include <cim/cimsim/crossbar.h>

#include <Eigen/Core>

#include <random>

using namespace cim;
using namespace cim::sim;

namespace {
constexpr int64_t V = 1024, K = 576, N = 64, SL = 4, J = N * SL * 2;

ProgrammedMatrix matrix() {
    ProgrammedMatrix pm;
    pm.rows = K;
    pm.cols = J;
    pm.outputs = N;
    std::mt19937_64 rng(1);
    pm.digits.resize(size_t(K * J));
    for (auto& d : pm.digits) d = int16_t(rng() & 3);
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

static void BM_Crossbar(benchmark::State& state) {
    std::vector<std::string> sets{"weight.bits=8", "cell.bits=2", "weight.encoding=differential", "input.bits=8",
                                  "quant.weight_bits=8", "quant.activation_bits=8", "array.adc.bits=6"};
    if (state.range(0)) {
        sets.push_back("noise.programming_sigma=0.02");
        sets.push_back("noise.read_sigma=0.01");
    }
    CrossbarLayer layer(load_device("isaac", sets), matrix(), 1, 0, 0);
    auto x = inputs();
    std::vector<double> out(size_t(V * N));
    for (auto _ : state) {
        layer.run(x.data(), V, out.data(), 0);
        benchmark::DoNotOptimize(out.data());
    }
    // Bit-plane MACs: every input plane against every stored column.
    state.counters["planeMAC/s"] = benchmark::Counter(double(V * K * J * 8), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Crossbar)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
