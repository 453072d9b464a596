// Internal: the integer executor with taps for calibration passes.
#pragma once

#include <cim/quant/program.h>
#include <cim/quant/quantizer.h>

#include <functional>
#include <span>

namespace cim::quant::detail {

// Writes the array rows of one logical code vector element k (see program.h): q itself, or for
// pos_neg_split its positive part on row k and its negative part on row K + k.
inline void put_row(int32_t* row, int64_t K, int64_t k, int32_t q, bool split) {
    if (split) {
        row[k] = q > 0 ? q : 0;
        row[K + k] = q < 0 ? -q : 0;
    } else {
        row[k] = q;
    }
}

struct LayerTap {
    // Before every node (active layer or not), with its inputs.
    std::function<void(const Node&, std::span<const Tensor* const>)> before_node;
    // Before an active layer runs, with its float inputs.
    std::function<void(const QuantLayer&, std::span<const Tensor* const>)> before;
    // The layer's logical input codes (same layout as the float input tensor).
    std::function<void(const QuantLayer&, const Tensor& x, const std::vector<int32_t>& codes)> input_codes;
    // Every MVM call's array inputs and accumulators (called from worker threads).
    std::function<void(const QuantLayer&, int group, const int32_t* x, int64_t vectors, const int64_t* acc)>
        accumulators;
};

bool run_layer(const QuantLayer& L, const Node& node, std::span<const Tensor* const> in, std::span<Tensor> out,
               const RunOptions& opt, MvmBackend& backend, const LayerTap* tap);

// A recurrent layer (program_rnn.cpp): one MVM per step and direction over [x_t, h_{t-1}].
bool run_recurrent_layer(const QuantLayer& L, const Node& node, std::span<const Tensor* const> in, std::span<Tensor> out,
                         const RunOptions& opt, MvmBackend& backend, const LayerTap* tap);

std::vector<Tensor> run_program_tapped(const QuantizedModel& model, const std::vector<Tensor>& inputs,
                                       const RunOptions& options, const Executor::Observer& observer,
                                       const LayerTap* tap);

// Float im2col rows of one group of a layer's input batch: [vectors, K] row-major
// (padding is real 0).
std::vector<float> layer_rows(const QuantLayer& L, const Graph& graph, const Tensor& X, int64_t group,
                              int64_t* vectors);

}  // namespace cim::quant::detail
