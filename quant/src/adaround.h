// AdaRound (Nagel et al., "Up or Down? Adaptive Rounding for Post-Training Quantization",
// ICML 2020) on one layer's Gram matrices: the rounding direction of every weight learned
// to minimize ||Xq Wq - X W||^2. Used by the quantization pipeline (quantizer.cpp).
#pragma once

#include <cim/ir/weight_stationary.h>
#include <cim/quant/program.h>

#include <Eigen/Core>

#include <cstdint>

namespace cim::quant::detail {

using MatD = Eigen::MatrixXd;

struct Gram {
    MatD H;  // sum xq xq^T over rows (quantized inputs)
    MatD C;  // sum xq x^T (quantized vs float inputs)
    Eigen::VectorXd mean_q, mean_f;
    int64_t rows = 0;
};

// Rounds group g of L's weights (nearest-rounded codes in L.w, scales set) by AdaRound over
// `iterations` Adam steps; returns the number of codes that differ from nearest rounding.
int64_t adaround_layer(QuantLayer& L, const WeightStationaryView& v, const Tensor& W, int64_t g, const Gram& gram, int64_t items,
                       int iterations);

}  // namespace cim::quant::detail
