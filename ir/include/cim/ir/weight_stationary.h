// Which nodes hold their weights on the arrays, and their K x N view: the one definition the
// mapper, the quantizer, the simulator and the cost model share (issue: mapper and quantizer
// disagreed on ConvTranspose and on a Conv whose bias is computed).
//
// A weight-stationary layer is a matmul-role op (op_traits.h) with a constant float weight
// operand: per group g it computes y[n] = sum_k x[k] * weight(g, k, n) for every input vector,
// plus a constant per-output bias.
//
// A recurrent op (LSTM, GRU, RNN with constant W, R and B) is one too, as a chip holds it: one
// group per direction, W and R stacked on the rows (K = inputs + hidden) so that [x_t, h_{t-1}]
// is read in one MVM per step, the gates' columns side by side (N = gates x hidden). GRU keeps
// its candidate gate's W_h and R_h products in separate columns (N = 4 x hidden: z r from the
// stacked rows, then W_h x alone, then R_h h alone), because r multiplies R_h's product
// (linear_before_reset) or its input (otherwise) before the two are added.
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
    // 0 when a dimension is unknown). Recurrent: steps x batch, per direction.
    int64_t vectors = 0;
    // Recurrent ops: the rows from W (inputs; rows from `recurrent` follow), the hidden size and
    // R, the graph's constant (valid while the graph lives). weight() reads W (the weight input)
    // below row `recurrent_rows_from`, R from there.
    int64_t recurrent_rows_from = 0, hidden = 0;
    const Tensor* recurrent = nullptr;
    bool is_recurrent() const { return recurrent != nullptr; }
    // Recurrent: the float bias of output column n of group g from B (0 without one).
    float recurrent_bias(const Tensor* b, int64_t g, int64_t n) const;

    // Weight (g, k, n) of the float weight tensor, and its inverse.
    float weight(const Tensor& w, int64_t g, int64_t k, int64_t n) const;
    // Element index of weight (g, k, n) in the weight tensor (not for recurrent ops, whose
    // weights span W and R).
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
