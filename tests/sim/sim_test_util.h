// Helpers shared by the simulator tests: image sets as tensors and the exact integer product.
#pragma once

#include <cim/cimsim/crossbar.h>
#include <cim/ir/onnx_import.h>
#include <cim/ir/tensor.h>
#include <cim/mapper/mapping.h>
#include <cim/models/fashion_mnist.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace sim_test {

inline cim::Tensor as_tensor(const cim::models::ImageSet& s) {
    cim::Tensor t(cim::ElemType::Float, {int64_t(s.count), 1, 28, 28});
    t.f = s.pixels;
    return t;
}

// The mapper's placement of a model for one image, without duplicated arrays (as the simulator programs it).
inline cim::Mapping placement(const cim::Graph& g, const cim::DeviceSpec& d) {
    cim::MapOptions no_dup;
    no_dup.duplicate = false;
    return cim::map_model(cim::specialize_batch(g, 1), d, no_dup);
}

// y[v][n] = sum_k x[v][k] w[k][n] (x: V x K, w: K x N), exactly.
inline std::vector<double> exact_product(const std::vector<int32_t>& w, int64_t K, int64_t N, const std::vector<int32_t>& x, int64_t V) {
    std::vector<double> y(size_t(V * N), 0.0);
    for (int64_t v = 0; v < V; ++v)
        for (int64_t n = 0; n < N; ++n) {
            int64_t acc = 0;
            for (int64_t k = 0; k < K; ++k) acc += int64_t(x[size_t(v * K + k)]) * w[size_t(k * N + n)];
            y[size_t(v * N + n)] = double(acc);
        }
    return y;
}

// 10 log10(signal / error) of y against ref, in dB; infinite when y equals ref.
inline double snr_db(const std::vector<double>& y, const std::vector<double>& ref) {
    double e = 0, s = 0;
    for (size_t i = 0; i < y.size(); ++i) {
        e += (y[i] - ref[i]) * (y[i] - ref[i]);
        s += ref[i] * ref[i];
    }
    return e == 0 ? INFINITY : 10 * std::log10(s / e);
}

// rows x cols digits uniform in [lo, hi], one output per column.
inline cim::sim::ProgrammedMatrix random_matrix(int64_t rows, int64_t cols, int lo, int hi, uint64_t seed) {
    cim::sim::ProgrammedMatrix m;
    m.rows = rows;
    m.cols = cols;
    m.outputs = cols;
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int> d(lo, hi);
    m.digits.resize(size_t(rows * cols));
    for (auto& v : m.digits) v = int16_t(d(rng));
    // Sparse columns too: all-zero and all-top digits, as offset reference columns hold.
    for (int64_t r = 0; r < rows; ++r) {
        m.digits[size_t(r * cols)] = 0;
        m.digits[size_t(r * cols + cols - 1)] = int16_t(hi);
    }
    for (int64_t j = 0; j < cols; ++j) {
        m.col_output.push_back(j);
        m.col_factor.push_back(1);
    }
    return m;
}

// Input codes with ReLU-like sparsity (a third zero), `lo` < 0 for two's-complement inputs.
inline std::vector<int32_t> random_inputs(int64_t V, int64_t K, int lo, int hi, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int> d(lo, hi);
    std::vector<int32_t> x(size_t(V * K));
    for (size_t i = 0; i < x.size(); ++i) x[i] = i % 3 == 0 ? 0 : d(rng);
    return x;
}

}  // namespace sim_test
