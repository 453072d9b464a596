// Small models built in code for the cost-model tests, and helpers.
#pragma once

#include <doctest/doctest.h>

#include "onnx_builder.h"

#include <cim/cimsim/cost_model.h>
#include <cim/ir/onnx_import.h>
#include <cim/mapper/mapping.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace cost_test {

using cim::test::OnnxBuilder;
using cim::test::TempDir;

inline std::vector<float> random_weights(size_t n, unsigned seed = 1) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, 0.1f);
    std::vector<float> w(n);
    for (auto& x : w) x = dist(rng);
    return w;
}

// x[1,K0] -> (Relu) -> Gemm K0->K1 -> Relu -> Gemm K1->K2 ... ; layer i is named "fc<i>".
inline std::string mlp_file(TempDir& tmp, const std::vector<int64_t>& widths, bool relu_first = true,
                            const std::string& name = "mlp.onnx", bool bias = false, int64_t batch_dim = 1) {
    OnnxBuilder b(13);
    b.input("x", {batch_dim, widths[0]});
    std::string in = "x";
    if (relu_first) {
        b.node("Relu", {"x"}, {"x_relu"}, "relu_in");
        in = "x_relu";
    }
    for (size_t i = 0; i + 1 < widths.size(); ++i) {
        const std::string w = "w" + std::to_string(i), y = "y" + std::to_string(i);
        b.initializer(w, {widths[i], widths[i + 1]}, random_weights(size_t(widths[i] * widths[i + 1]), unsigned(i + 1)));
        if (bias) {
            const std::string bn = "b" + std::to_string(i);
            b.initializer(bn, {widths[i + 1]}, random_weights(size_t(widths[i + 1]), unsigned(100 + i)));
            b.node("Gemm", {in, w, bn}, {y}, "fc" + std::to_string(i));
        } else {
            b.node("Gemm", {in, w}, {y}, "fc" + std::to_string(i));
        }
        in = y;
        if (i + 2 < widths.size()) {
            const std::string r = "r" + std::to_string(i);
            b.node("Relu", {in}, {r}, "relu" + std::to_string(i));
            in = r;
        }
    }
    b.output(in);
    b.save(tmp.file(name));
    return tmp.file(name);
}

// x[1,C,H,W] -> Relu -> Conv(C->F, 3x3, pad 1) -> Relu -> MaxPool 2x2 -> Flatten -> Gemm -> y.
inline std::string cnn_file(TempDir& tmp, int64_t C, int64_t H, int64_t F, int64_t classes) {
    OnnxBuilder b(13);
    b.input("x", {1, C, H, H});
    b.node("Relu", {"x"}, {"xr"}, "relu_in");
    b.initializer("wc", {F, C, 3, 3}, random_weights(size_t(F * C * 9), 7));
    auto* conv = b.node("Conv", {"xr", "wc"}, {"c"}, "conv");
    OnnxBuilder::attr_ints(conv, "pads", {1, 1, 1, 1});
    OnnxBuilder::attr_ints(conv, "kernel_shape", {3, 3});
    b.node("Relu", {"c"}, {"cr"}, "relu");
    auto* pool = b.node("MaxPool", {"cr"}, {"p"}, "pool");
    OnnxBuilder::attr_ints(pool, "kernel_shape", {2, 2});
    OnnxBuilder::attr_ints(pool, "strides", {2, 2});
    b.node("Flatten", {"p"}, {"f"}, "flatten");
    const int64_t K = F * (H / 2) * (H / 2);
    b.initializer("wf", {K, classes}, random_weights(size_t(K * classes), 8));
    b.node("Gemm", {"f", "wf"}, {"y"}, "fc");
    b.output("y");
    b.save(tmp.file("cnn.onnx"));
    return tmp.file("cnn.onnx");
}

struct Run {
    cim::Graph graph;
    cim::Mapping mapping;
    cim::CostReport report;
};

inline Run run(const std::string& model, const cim::DeviceSpec& d, const cim::CostOptions& opt = {},
               const cim::MapOptions& mopt = {}) {
    Run r;
    r.graph = cim::specialize_batch(cim::import_onnx(model), 1);
    r.mapping = cim::map_model(r.graph, d, mopt);
    r.report = cim::estimate_cost(r.graph, r.mapping, d, opt);
    return r;
}

inline const cim::ComponentCost& comp(const cim::CostReport& r, cim::CostComponent c) {
    return r.components[std::size_t(c)];
}
inline const cim::ComponentCost& comp(const cim::LayerCost& l, cim::CostComponent c) {
    return l.components[std::size_t(c)];
}

inline const cim::LayerCost& layer(const Run& r, const std::string& name) {
    for (size_t i = 0; i < r.mapping.layers.size(); ++i)
        if (r.mapping.layers[i].name == name) return r.report.layers[i];
    FAIL("no layer " << name);
    return r.report.layers.front();
}

// Relative difference.
inline double rel(double ours, double theirs) { return (ours - theirs) / theirs; }

}  // namespace cost_test
