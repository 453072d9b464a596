#pragma once

#include <benchmark/benchmark.h>

#include <vector>

namespace cim::bench {

// C = A x B in float with Eigen, built with -march=native (see native_gemm.cpp).
class NativeGemm {
public:
    NativeGemm(int rows, int inner, int cols);
    void run();
    double macs() const { return double(rows_) * inner_ * cols_; }
    const float* result() const { return c_.data(); }

private:
    int rows_, inner_, cols_;
    std::vector<float> a_, b_, c_;
};

// The baseline benchmark: a 1024 x 576 x 512 GEMM, rate in MAC/s.
void native_gemm_benchmark(benchmark::State& state);

}  // namespace cim::bench
