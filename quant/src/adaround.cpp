// AdaRound's optimization (adaround.h): rectified-sigmoid rounding variables trained with Adam,
// the regularizer's beta annealed from 20 to 2 after a 20 % warm-up, as in the paper.
#include "adaround.h"

#include <algorithm>
#include <cmath>

namespace cim::quant::detail {

int64_t adaround_layer(QuantLayer& L, const WeightStationaryView& v, const Tensor& W, int64_t g, const Gram& gram, int64_t items,
                       int iterations) {
    using Arr = Eigen::ArrayXXf;
    using Mat = Eigen::MatrixXf;
    const int64_t K = L.K, N = L.N;
    const float zeta = 1.1f, gamma = -0.1f, lambda = 0.01f;
    const float qmax = float(L.weight_qmax);
    Mat Wf(K, N);
    Arr base(K, N), V(K, N), S(K, N), Z(K, N);
    for (int64_t n = 0; n < N; ++n) {
        const double s = L.w_scale[size_t(g * N + n)], z = L.w_zero_point[size_t(g * N + n)];
        for (int64_t k = 0; k < K; ++k) {
            const double w = v.weight(W, g, k, n);
            Wf(k, n) = float(w);
            const double t = w / s + z;
            base(k, n) = float(std::floor(t));
            const double frac = t - std::floor(t);
            const double p = std::clamp((frac - gamma) / (zeta - gamma), 1e-4, 1 - 1e-4);
            V(k, n) = float(std::log(p / (1 - p)));
            S(k, n) = float(s);
            Z(k, n) = float(z);
        }
    }
    // Small GEMMs in a tight loop: one thread (Eigen's OpenMP spin-waits cost more than they save).
    const int eigen_threads = Eigen::nbThreads();
    Eigen::setNbThreads(1);
    const Mat H = gram.H.cast<float>();
    const Mat target = gram.C.cast<float>() * Wf;  // K x N
    Arr m = Arr::Zero(K, N), vv = Arr::Zero(K, N);
    const float lr = 1e-2f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    const int warm = iterations / 5;
    const float norm = 2.0f / float(std::max<int64_t>(1, items));
    Mat Wt(K, N);
    for (int it = 0; it < iterations; ++it) {
        const Arr sig = 1.0f / (1.0f + (-V).exp());
        const Arr raw = sig * (zeta - gamma) + gamma;
        const Arr h = raw.max(0.0f).min(1.0f);
        const Arr c = (base + h).max(-qmax).min(qmax);
        Wt = (S * (c - Z)).matrix();
        const Arr dW = (norm * (H * Wt - target)).array();
        Arr dh = (c > -qmax && c < qmax).cast<float>() * dW * S;
        if (it >= warm) {
            const float beta = 20.0f + (2.0f - 20.0f) * float(it - warm) / float(std::max(1, iterations - warm));
            const Arr u = 2.0f * h - 1.0f;
            const Arr au = u.abs().max(1e-12f);
            dh += lambda * (-2.0f * beta) * (au.log() * (beta - 1.0f)).exp() * u.sign();
        }
        const Arr grad = (raw > 0.0f && raw < 1.0f).cast<float>() * dh * sig * (1.0f - sig) * (zeta - gamma);
        m = b1 * m + (1 - b1) * grad;
        vv = b2 * vv + (1 - b2) * grad.square();
        const float c1 = 1 - std::pow(b1, float(it + 1)), c2 = 1 - std::pow(b2, float(it + 1));
        V -= lr * (m / c1) / ((vv / c2).sqrt() + eps);
    }
    Eigen::setNbThreads(eigen_threads);
    int64_t flipped = 0;
    for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k) {
            const float up = V(k, n) >= 0 ? 1.0f : 0.0f;
            const int32_t c = int32_t(std::clamp(base(k, n) + up, -qmax, qmax));
            int32_t& code = L.w[size_t((g * K + k) * N + n)];
            if (c != code) ++flipped;
            code = c;
        }
    return flipped;  // codes that differ from nearest rounding
}

}  // namespace cim::quant::detail
