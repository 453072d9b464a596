// Differential tests of the heaviest kernels against direct textbook loops,
// over random configurations (groups, strides, dilations, pads, batch).
#include <doctest/doctest.h>

#include "onnx_builder.h"

#include <cim/ir/executor.h>
#include <cim/ir/onnx_import.h>

#include <omp.h>

#include <algorithm>
#include <random>

using namespace cim;
using cim::test::OnnxBuilder;
using cim::test::TempDir;

namespace {
std::vector<float> randv(size_t n, std::mt19937_64& rng) {
    std::normal_distribution<float> d;
    std::vector<float> v(n);
    for (float& x : v) x = d(rng);
    return v;
}
}  // namespace

TEST_CASE("Conv matches a direct loop for random groups, strides, dilations and pads") {
    std::mt19937_64 rng(42);
    TempDir tmp;
    for (int trial = 0; trial < 40; ++trial) {
        const int64_t G = std::vector<int64_t>{1, 2, 4}[rng() % 3];
        const bool depthwise = trial % 5 == 0;
        const int64_t Cg = depthwise ? 1 : 1 + int64_t(rng() % 3), C = Cg * G;
        const int64_t Mg = 1 + int64_t(rng() % 3), M = Mg * G;
        const int64_t N = 1 + int64_t(rng() % 3), H = 4 + int64_t(rng() % 6), W = 4 + int64_t(rng() % 6);
        const int64_t KH = 1 + int64_t(rng() % 3), KW = 1 + int64_t(rng() % 3);
        const int64_t SH = 1 + int64_t(rng() % 2), SW = 1 + int64_t(rng() % 2), DH = 1 + int64_t(rng() % 2), DW = 1 + int64_t(rng() % 2);
        const int64_t PT = int64_t(rng() % 2), PL = int64_t(rng() % 3), PB = int64_t(rng() % 2), PR = int64_t(rng() % 2);
        const int64_t OH = (H + PT + PB - ((KH - 1) * DH + 1)) / SH + 1, OW = (W + PL + PR - ((KW - 1) * DW + 1)) / SW + 1;
        if (OH < 1 || OW < 1) continue;
        auto w = randv(size_t(M * Cg * KH * KW), rng), bias = randv(size_t(M), rng);
        OnnxBuilder b(13);
        b.input("x", {-1, C, H, W});
        b.initializer("w", {M, Cg, KH, KW}, w);
        b.initializer("b", {M}, bias);
        auto* n = b.node("Conv", {"x", "w", "b"}, {"y"}, "conv");
        OnnxBuilder::attr_int(n, "group", G);
        OnnxBuilder::attr_ints(n, "strides", {SH, SW});
        OnnxBuilder::attr_ints(n, "dilations", {DH, DW});
        OnnxBuilder::attr_ints(n, "pads", {PT, PL, PB, PR});
        b.output("y");
        b.save(tmp.file("conv.onnx"));
        Graph g = import_onnx(tmp.file("conv.onnx"));
        Tensor x(ElemType::Float, {N, C, H, W});
        x.f = randv(x.f.size(), rng);
        Tensor y = Executor(g).run({x})[0];
        REQUIRE(y.shape == Shape{N, M, OH, OW});
        for (int64_t bi = 0; bi < N; ++bi)
            for (int64_t m = 0; m < M; ++m)
                for (int64_t oh = 0; oh < OH; ++oh)
                    for (int64_t ow = 0; ow < OW; ++ow) {
                        const int64_t g0 = m / Mg;
                        double acc = bias[size_t(m)];
                        for (int64_t c = 0; c < Cg; ++c)
                            for (int64_t kh = 0; kh < KH; ++kh)
                                for (int64_t kw = 0; kw < KW; ++kw) {
                                    int64_t ih = oh * SH - PT + kh * DH, iw = ow * SW - PL + kw * DW;
                                    if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                                    acc += double(w[size_t(((m * Cg + c) * KH + kh) * KW + kw)]) *
                                           x.f[size_t(((bi * C + g0 * Cg + c) * H + ih) * W + iw)];
                                }
                        CHECK(y.f[size_t(((bi * M + m) * OH + oh) * OW + ow)] == doctest::Approx(acc).epsilon(1e-4));
                    }
    }
}

TEST_CASE("MatMul broadcasts batch dimensions like numpy") {
    std::mt19937_64 rng(1);
    TempDir tmp;
    OnnxBuilder b(13);
    b.input("a", {2, 1, 3, 4});
    b.input("b", {5, 4, 2});
    b.node("MatMul", {"a", "b"}, {"y"});
    b.output("y");
    b.save(tmp.file("mm.onnx"));
    Graph g = import_onnx(tmp.file("mm.onnx"));
    CHECK(g.value(g.outputs[0]).shape == Shape{2, 5, 3, 2});
    Tensor A(ElemType::Float, {2, 1, 3, 4}), B(ElemType::Float, {5, 4, 2});
    A.f = randv(A.f.size(), rng);
    B.f = randv(B.f.size(), rng);
    Tensor Y = Executor(g).run({A, B})[0];
    for (int64_t i = 0; i < 2; ++i)
        for (int64_t j = 0; j < 5; ++j)
            for (int64_t r = 0; r < 3; ++r)
                for (int64_t c = 0; c < 2; ++c) {
                    double acc = 0;
                    for (int64_t k = 0; k < 4; ++k) acc += double(A.f[size_t((i * 3 + r) * 4 + k)]) * B.f[size_t((j * 4 + k) * 2 + c)];
                    CHECK(Y.f[size_t(((i * 5 + j) * 3 + r) * 2 + c)] == doctest::Approx(acc).epsilon(1e-5));
                }
}

TEST_CASE("results do not depend on the batch they are computed in") {
    // Image k of a batch of 8 equals the same image run alone (the executor's OpenMP split is per image).
    std::mt19937_64 rng(3);
    TempDir tmp;
    OnnxBuilder b(13);
    b.input("x", {-1, 3, 9, 9});
    b.initializer("w", {4, 3, 3, 3}, randv(108, rng));
    auto* n = b.node("Conv", {"x", "w"}, {"c"}, "conv");
    OnnxBuilder::attr_ints(n, "pads", {1, 1, 1, 1});
    auto* p = b.node("AveragePool", {"c"}, {"y"}, "pool");
    OnnxBuilder::attr_ints(p, "kernel_shape", {3, 3});
    OnnxBuilder::attr_ints(p, "strides", {2, 2});
    OnnxBuilder::attr_int(p, "ceil_mode", 1);
    b.output("y");
    b.save(tmp.file("m.onnx"));
    Graph g = import_onnx(tmp.file("m.onnx"));
    Executor ex(g);
    Tensor x(ElemType::Float, {8, 3, 9, 9});
    x.f = randv(x.f.size(), rng);
    Tensor all = ex.run({x})[0];
    const int64_t per_in = 3 * 81, per_out = all.numel() / 8;
    for (int64_t k = 0; k < 8; ++k) {
        Tensor one(ElemType::Float, {1, 3, 9, 9});
        std::copy_n(x.f.begin() + k * per_in, per_in, one.f.begin());
        Tensor y = ex.run({one})[0];
        for (int64_t j = 0; j < per_out; ++j) CHECK(y.f[size_t(j)] == all.f[size_t(k * per_out + j)]);
    }
}

TEST_CASE("Conv, Gemm and MatMul give the same bits at 1 and 2 threads") {
    // Eigen threading its own GEMM chose its depth blocking from the thread count: the zoo MLP's
    // logits moved in the last bits with OMP_NUM_THREADS (kRowBlock in ir/src/kernels_products.cpp).
    TempDir tmp;
    std::mt19937_64 rng(11);
    OnnxBuilder b(13);
    b.input("x", {-1, 16, 12, 12});
    b.initializer("cw", {96, 16, 3, 3}, randv(96 * 16 * 9, rng));
    b.node("Conv", {"x", "cw"}, {"c"}, "conv");
    b.initializer_i64("flat_shape", {2}, {-1, 96 * 10 * 10});
    b.node("Reshape", {"c", "flat_shape"}, {"f"}, "flatten");
    b.initializer("gw", {96 * 10 * 10, 130}, randv(96 * 100 * 130, rng));
    b.node("Gemm", {"f", "gw"}, {"g"}, "gemm");
    b.initializer("mw", {130, 70}, randv(130 * 70, rng));
    b.node("MatMul", {"g", "mw"}, {"y"}, "matmul");
    b.output("y");
    b.save(tmp.file("chain.onnx"));
    const Graph g = import_onnx(tmp.file("chain.onnx"));
    Tensor x(ElemType::Float, {3, 16, 12, 12});
    x.f = randv(x.f.size(), rng);
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    const Tensor one = Executor(g).run({x})[0];
    omp_set_num_threads(2);
    const Tensor two = Executor(g).run({x})[0];
    Tensor x0(ElemType::Float, {1, 16, 12, 12});  // one image: the Conv's rows split across threads
    x0.f.assign(x.f.begin(), x.f.begin() + 16 * 12 * 12);
    const Tensor alone_two = Executor(g).run({x0})[0];
    omp_set_num_threads(1);
    const Tensor alone_one = Executor(g).run({x0})[0];
    omp_set_num_threads(threads);
    CHECK(one.f == two.f);
    CHECK(alone_one.f == alone_two.f);
}
