// The baseline GEMM of bench_sim, compiled for this machine's widest vectors.
// Its own Eigen index type keeps these template instances apart from the ones in the
// libraries (compiled for the baseline x86-64 target), so the linker cannot mix them.
#define EIGEN_DEFAULT_DENSE_INDEX_TYPE int
#include <Eigen/Core>

#include "native_gemm.h"

namespace cim::bench {

NativeGemm::NativeGemm(int rows, int inner, int cols) : rows_(rows), inner_(inner), cols_(cols) {
    a_.resize(size_t(rows) * inner);
    b_.resize(size_t(inner) * cols);
    c_.resize(size_t(rows) * cols);
    for (size_t i = 0; i < a_.size(); ++i) a_[i] = float((i * 7919) % 97) / 97.0f - 0.5f;
    for (size_t i = 0; i < b_.size(); ++i) b_[i] = float((i * 104729) % 89) / 89.0f - 0.5f;
}

void NativeGemm::run() {
    using M = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    Eigen::Map<const M> a(a_.data(), rows_, inner_), b(b_.data(), inner_, cols_);
    Eigen::Map<M> c(c_.data(), rows_, cols_);
    c.noalias() = a * b;
}

void native_gemm_benchmark(benchmark::State& state) {
    NativeGemm gemm(1024, 576, 512);
    for (auto _ : state) {
        gemm.run();
        benchmark::DoNotOptimize(gemm.result());
    }
    state.counters["MAC/s"] = benchmark::Counter(gemm.macs(), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace cim::bench
