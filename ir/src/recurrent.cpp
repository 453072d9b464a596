// The recurrent ops' attributes and cell arithmetic (recurrent.h).
#include "kernels.h"

#include <cim/ir/recurrent.h>

#include <algorithm>
#include <cctype>
#include <cmath>

namespace cim::rnn {

using kern::fail;

float ActivationFn::operator()(float x) const {
    switch (kind) {
            case Activation::Sigmoid: return x >= 0 ? 1.0f / (1.0f + std::exp(-x)) : std::exp(x) / (1.0f + std::exp(x));
            case Activation::Tanh: return std::tanh(x);
            case Activation::Relu: return std::max(x, 0.0f);
            case Activation::HardSigmoid: return std::clamp(alpha * x + beta, 0.0f, 1.0f);
            case Activation::LeakyRelu: return x >= 0 ? x : alpha * x;
            case Activation::Affine: return alpha * x + beta;
            case Activation::ScaledTanh: return alpha * std::tanh(beta * x);
            case Activation::Elu: return x >= 0 ? x : alpha * (std::exp(x) - 1.0f);
            case Activation::Softsign: return x / (1.0f + std::fabs(x));
            case Activation::Softplus: return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
            case Activation::ThresholdedRelu: return x > alpha ? x : 0.0f;
        }
        return x;
}

namespace {

std::vector<std::string> default_activations(OpKind op) {
    if (op == OpKind::LSTM) return {"Sigmoid", "Tanh", "Tanh"};
    if (op == OpKind::GRU) return {"Sigmoid", "Tanh"};
    return {"Tanh"};
}

std::string lower(std::string s) {
    for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace

// Reads the attributes; a malformed one is an InputError naming the node.
Spec parse_spec(const Node& n) {
    Spec s;
    s.op = n.op;
    const std::string dir = n.attr_string("direction", "forward");
    if (dir == "bidirectional") s.dirs = 2;
    else if (dir == "reverse") s.reverse = true;
    else if (dir != "forward") fail(n, "direction '" + dir + "' is not one of forward, reverse, bidirectional");
    s.hidden = n.attr_int("hidden_size", -1);
    if (n.has("hidden_size") && (s.hidden <= 0 || s.hidden > (int64_t(1) << 31)))
        fail(n, "hidden_size must be positive (and below 2^31), got " + std::to_string(s.hidden));
    const int64_t layout = n.attr_int("layout", 0);
    if (layout != 0 && layout != 1) fail(n, "layout must be 0 or 1, got " + std::to_string(layout));
    s.layout = int(layout);
    if (n.has("clip")) {
        s.clip = n.attr_float("clip", 0);
        if (!(s.clip > 0)) fail(n, "clip must be positive, got " + std::to_string(s.clip));
    }
    if (n.op == OpKind::LSTM && n.attr_int("input_forget", 0) != 0 && n.attr_int("input_forget", 0) != 1)
        fail(n, "input_forget must be 0 or 1");
    if (n.op == OpKind::GRU && n.attr_int("linear_before_reset", 0) != 0 && n.attr_int("linear_before_reset", 0) != 1)
        fail(n, "linear_before_reset must be 0 or 1");
    s.input_forget = n.op == OpKind::LSTM && n.attr_int("input_forget", 0) != 0;
    s.linear_before_reset = n.op == OpKind::GRU && n.attr_int("linear_before_reset", 0) != 0;

    std::vector<std::string> names = default_activations(n.op);
    const size_t per_dir = names.size();
    if (n.has("activations")) {
        const auto* list = std::get_if<std::vector<std::string>>(&n.attrs.at("activations").value);
        if (!list) fail(n, "attribute 'activations' must be a list of strings");
        names = *list;
    }
    // A bidirectional node may give one direction's list: both directions use it.
    if (s.dirs == 2 && names.size() == per_dir) {
        const std::vector<std::string> one = names;
        names.insert(names.end(), one.begin(), one.end());
    }
    if (names.size() != per_dir * size_t(s.dirs))
        fail(n, "activations lists " + std::to_string(names.size()) + " functions, " + std::string(op_name(n.op)) + " with " +
                    std::to_string(s.dirs) + " direction(s) needs " + std::to_string(per_dir * size_t(s.dirs)));
    // alpha/beta are consumed in order by the activations that take them; ONNX's op defaults otherwise.
    const std::vector<float> alphas = n.attr_floats("activation_alpha"), betas = n.attr_floats("activation_beta");
    size_t ai = 0, bi = 0;
    auto take = [](const std::vector<float>& v, size_t& k, float fallback) { return k < v.size() ? v[k++] : fallback; };
    for (const std::string& name : names) {
        const std::string l = lower(name);
        ActivationFn f;
        if (l == "sigmoid") f.kind = Activation::Sigmoid;
        else if (l == "tanh") f.kind = Activation::Tanh;
        else if (l == "relu") f.kind = Activation::Relu;
        else if (l == "softsign") f.kind = Activation::Softsign;
        else if (l == "softplus") f.kind = Activation::Softplus;
        else if (l == "hardsigmoid") {
            f.kind = Activation::HardSigmoid;
            f.alpha = take(alphas, ai, 0.2f);
            f.beta = take(betas, bi, 0.5f);
        } else if (l == "leakyrelu") {
            f.kind = Activation::LeakyRelu;
            f.alpha = take(alphas, ai, 0.01f);
        } else if (l == "affine") {
            f.kind = Activation::Affine;
            f.alpha = take(alphas, ai, 1.0f);
            f.beta = take(betas, bi, 0.0f);
        } else if (l == "scaledtanh") {
            f.kind = Activation::ScaledTanh;
            f.alpha = take(alphas, ai, 1.0f);
            f.beta = take(betas, bi, 1.0f);
        } else if (l == "elu") {
            f.kind = Activation::Elu;
            f.alpha = take(alphas, ai, 1.0f);
        } else if (l == "thresholdedrelu") {
            f.kind = Activation::ThresholdedRelu;
            f.alpha = take(alphas, ai, 1.0f);
        } else {
            fail(n, "activation '" + name + "' is not one ONNX defines for recurrent ops (Sigmoid, Tanh, Relu, HardSigmoid, "
                    "LeakyRelu, Affine, ScaledTanh, Elu, Softsign, Softplus, ThresholdedRelu)");
        }
        s.acts.push_back(f);
    }
    return s;
}

SeqLayout seq_layout(const Spec& s, const Shape& x, int64_t hidden) {
    return SeqLayout{s.layout == 0 ? x[0] : x[1], s.layout == 0 ? x[1] : x[0], s.dirs, x[2], hidden, s.layout};
}

std::vector<int64_t> sequence_steps(const Node& n, const Tensor* lens, const SeqLayout& L) {
    std::vector<int64_t> steps(size_t(L.B), L.S);
    if (lens)
        for (int64_t b = 0; b < L.B; ++b) {
            steps[size_t(b)] = lens->get_int(b);
            if (steps[size_t(b)] < 0 || steps[size_t(b)] > L.S)
                fail(n, "sequence_lens[" + std::to_string(b) + "] = " + std::to_string(steps[size_t(b)]) + " is outside [0, " +
                            std::to_string(L.S) + "]");
        }
    return steps;
}

namespace {
float clipped(float v, float c) { return std::clamp(v, -c, c); }
}  // namespace

void rnn_cell(const Spec& s, const ActivationFn* f, const float* pre, float* h, int64_t H) {
    for (int64_t k = 0; k < H; ++k) h[k] = f[0](clipped(pre[k], s.clip));
}

void lstm_cell(const Spec& s, const ActivationFn* f, const float* pre, const float* p, float* c, float* h, int64_t H) {
    for (int64_t k = 0; k < H; ++k) {
        const float i = f[0](clipped(pre[k] + (p ? p[k] * c[k] : 0.0f), s.clip));
        const float fg = s.input_forget ? 1.0f - i : f[0](clipped(pre[2 * H + k] + (p ? p[2 * H + k] * c[k] : 0.0f), s.clip));
        const float cand = f[1](clipped(pre[3 * H + k], s.clip));
        c[k] = fg * c[k] + i * cand;
        const float o = f[0](clipped(pre[H + k] + (p ? p[H + k] * c[k] : 0.0f), s.clip));
        h[k] = o * f[2](c[k]);
    }
}

void gru_gates(const Spec& s, const ActivationFn* f, const float* pre_zr, float* z, float* r, int64_t H) {
    for (int64_t k = 0; k < H; ++k) {
        z[k] = f[0](clipped(pre_zr[k], s.clip));
        r[k] = f[0](clipped(pre_zr[H + k], s.clip));
    }
}

void gru_update(const Spec& s, const ActivationFn* f, const float* px_h, const float* rh, const float* z, float* h, int64_t H) {
    for (int64_t k = 0; k < H; ++k) {
        const float cand = f[1](clipped(px_h[k] + rh[k], s.clip));
        h[k] = (1.0f - z[k]) * cand + z[k] * h[k];
    }
}

}  // namespace cim::rnn
