// Which nodes hold their weights on the arrays, and their K x N view: the one definition the
// mapper, the quantizer, the simulator and the cost model share (issue: mapper and quantizer
// disagreed on ConvTranspose and on a Conv whose bias is computed).
//
// A weight-stationary layer is a matmul-role op (op_traits.h) with a constant float weight
// operand: per group g it computes y[n] = sum_k x[k] * weight(g, k, n) for every input vector,
// plus a constant per-output bias.
#pragma once

#include <cim/ir/graph.h>

#include <string>
#include <vector>

namespace cim {

struct WeightStationaryView {
    int node = -1;
    OpKind op = OpKind::Gemm;
    int64_t K = 0, N = 0, groups = 1;  // per group: K inputs (array rows), N outputs
    int weight_input = 1;              // input index of the constant matrix
    int data_input = 0;                // input index of the activations
    int bias_input = -1;               // constant per-output bias (Conv, ConvTranspose, Gemm C), -1: none
    bool trans_b = false;              // Gemm transB
    bool trans_a = false;              // Gemm transA: vectors are the columns of A
    bool const_left = false;           // MatMul(W, X): vectors are the columns of X, outputs W's rows
    float alpha = 1, beta = 1;         // Gemm y = alpha A B + beta C (alpha folded into weight())
    // Input vectors per run at the graph's value shapes (with the batch the graph declares;
    // 0 when a dimension is unknown).
    int64_t vectors = 0;

    // Weight (g, k, n) of the float weight tensor, and its inverse.
    float weight(const Tensor& w, int64_t g, int64_t k, int64_t n) const;
    // Element index of weight (g, k, n) in the weight tensor.
    int64_t weight_index(int64_t g, int64_t k, int64_t n) const;
    // The weight tensor's axis along the outputs, where per-output-channel scales run
    // (-1: ConvTranspose, whose outputs n mix output channels and kernel taps).
    int output_axis() const;
    void set_weight(Tensor& w, int64_t g, int64_t k, int64_t n, float v) const;
};

// A matmul-role node that is not weight-stationary, and why (it runs on a digital unit).
struct NotWeightStationary {
    int node = -1;
    std::string reason;
};

// The weight-stationary view of node `idx`, or false with the reason (empty for ops that are
// not matmul-role).
bool weight_stationary_view(const Graph& g, int idx, WeightStationaryView& view, std::string* why_not = nullptr);

// Every weight-stationary node in graph order; the matmul-role nodes that are not, with why.
std::vector<WeightStationaryView> weight_stationary_layers(const Graph& g,
                                                           std::vector<NotWeightStationary>* not_stationary = nullptr);

}  // namespace cim
