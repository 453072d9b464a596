// Recurrent ops: RNN, GRU and LSTM with every attribute of the ONNX spec (directions,
// layout, activations with alpha/beta, clip, sequence_lens, initial states, LSTM peepholes
// and input_forget, GRU linear_before_reset). Each (direction, batch element) is an
// independent job writing its own slices, so results do not depend on the thread count.
#include "kernels.h"

#include <Eigen/Core>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

namespace cim::kern {

namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using CMapM = Eigen::Map<const RowMat>;
using Vec = Eigen::VectorXf;
using CMapV = Eigen::Map<const Vec>;

// Input positions shared by the three ops (LSTM adds initial_c at 6 and P at 7).
enum : size_t { kX = 0, kW = 1, kR = 2, kB = 3, kSeqLens = 4, kInitH = 5, kInitC = 6, kP = 7 };

enum class Act { Sigmoid, Tanh, Relu, HardSigmoid, LeakyRelu, Affine, ScaledTanh, Elu, Softsign, Softplus, ThresholdedRelu };

struct ActFn {
    Act kind = Act::Tanh;
    float alpha = 0, beta = 0;
    float operator()(float x) const {
        switch (kind) {
            case Act::Sigmoid: return x >= 0 ? 1.0f / (1.0f + std::exp(-x)) : std::exp(x) / (1.0f + std::exp(x));
            case Act::Tanh: return std::tanh(x);
            case Act::Relu: return std::max(x, 0.0f);
            case Act::HardSigmoid: return std::clamp(alpha * x + beta, 0.0f, 1.0f);
            case Act::LeakyRelu: return x >= 0 ? x : alpha * x;
            case Act::Affine: return alpha * x + beta;
            case Act::ScaledTanh: return alpha * std::tanh(beta * x);
            case Act::Elu: return x >= 0 ? x : alpha * (std::exp(x) - 1.0f);
            case Act::Softsign: return x / (1.0f + std::fabs(x));
            case Act::Softplus: return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
            case Act::ThresholdedRelu: return x > alpha ? x : 0.0f;
        }
        return x;
    }
};

// Gate blocks in W/R/B (RNN: i; GRU: z r h; LSTM: i o f c) and activations per direction.
int gates_of(OpKind op) { return op == OpKind::LSTM ? 4 : op == OpKind::GRU ? 3 : 1; }
std::vector<std::string> default_activations(OpKind op) {
    if (op == OpKind::LSTM) return {"Sigmoid", "Tanh", "Tanh"};
    if (op == OpKind::GRU) return {"Sigmoid", "Tanh"};
    return {"Tanh"};
}

struct Spec {
    int64_t dirs = 1;
    bool reverse = false;  // direction "reverse" (bidirectional: direction 1 runs reversed)
    int64_t hidden = -1;   // -1: take it from R
    int layout = 0;
    float clip = std::numeric_limits<float>::infinity();
    std::vector<ActFn> acts;  // activations per direction, direction after direction
};

std::string lower(std::string s) {
    for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// Reads the attributes; a malformed one is an InputError naming the node.
Spec parse(const Node& n) {
    Spec s;
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
        ActFn f;
        if (l == "sigmoid") f.kind = Act::Sigmoid;
        else if (l == "tanh") f.kind = Act::Tanh;
        else if (l == "relu") f.kind = Act::Relu;
        else if (l == "softsign") f.kind = Act::Softsign;
        else if (l == "softplus") f.kind = Act::Softplus;
        else if (l == "hardsigmoid") {
            f.kind = Act::HardSigmoid;
            f.alpha = take(alphas, ai, 0.2f);
            f.beta = take(betas, bi, 0.5f);
        } else if (l == "leakyrelu") {
            f.kind = Act::LeakyRelu;
            f.alpha = take(alphas, ai, 0.01f);
        } else if (l == "affine") {
            f.kind = Act::Affine;
            f.alpha = take(alphas, ai, 1.0f);
            f.beta = take(betas, bi, 0.0f);
        } else if (l == "scaledtanh") {
            f.kind = Act::ScaledTanh;
            f.alpha = take(alphas, ai, 1.0f);
            f.beta = take(betas, bi, 1.0f);
        } else if (l == "elu") {
            f.kind = Act::Elu;
            f.alpha = take(alphas, ai, 1.0f);
        } else if (l == "thresholdedrelu") {
            f.kind = Act::ThresholdedRelu;
            f.alpha = take(alphas, ai, 1.0f);
        } else {
            fail(n, "activation '" + name + "' is not one ONNX defines for recurrent ops (Sigmoid, Tanh, Relu, HardSigmoid, "
                    "LeakyRelu, Affine, ScaledTanh, Elu, Softsign, Softplus, ThresholdedRelu)");
        }
        s.acts.push_back(f);
    }
    return s;
}

// Checks an input's shape against the expected one where both are known.
void expect_shape(const Node& n, const InValue& v, const char* what, const Shape& want) {
    if (!v.present || !v.rank_known) return;
    bool ok = v.shape.size() == want.size();
    for (size_t d = 0; ok && d < want.size(); ++d) ok = v.shape[d] < 0 || want[d] < 0 || v.shape[d] == want[d];
    if (!ok) fail(n, std::string("input ") + what + " has shape " + shape_str(v.shape) + ", expected " + shape_str(want));
}

}  // namespace

static std::vector<OutInfo> infer_rnn(const Node& n, std::span<const InValue> in, int) {
    const Spec s = parse(n);
    const size_t max_outputs = n.op == OpKind::LSTM ? 3 : 2;
    if (n.outputs.size() > max_outputs)
        fail(n, "has " + std::to_string(n.outputs.size()) + " outputs, " + std::string(op_name(n.op)) + " has at most " +
                    std::to_string(max_outputs));
    const size_t max_inputs = n.op == OpKind::LSTM ? 8 : 6;
    if (in.size() > max_inputs) fail(n, "has " + std::to_string(in.size()) + " inputs, at most " + std::to_string(max_inputs) + " are defined");
    if (in.size() < 3 || !in[kX].present || !in[kW].present || !in[kR].present) fail(n, "needs inputs X, W and R");
    for (size_t k = 0; k < in.size(); ++k)
        if (k != kSeqLens && in[k].present && in[k].type != ElemType::Undefined && !is_floating(in[k].type))
            unsupported(n, "element type " + elem_type_name(in[k].type));
    if (in.size() > kSeqLens && in[kSeqLens].present && in[kSeqLens].type != ElemType::Undefined && is_floating(in[kSeqLens].type))
        fail(n, "sequence_lens must be an int32 tensor, got " + elem_type_name(in[kSeqLens].type));
    const ElemType t = in[kX].type;
    std::vector<OutInfo> outs(n.outputs.size(), unknown_rank(t));
    const InValue &x = in[kX], &w = in[kW], &r = in[kR];
    if (!x.rank_known || !w.rank_known || !r.rank_known) return outs;
    if (x.shape.size() != 3) fail(n, "input X must have rank 3, got " + shape_str(x.shape));
    if (w.shape.size() != 3 || r.shape.size() != 3)
        fail(n, "W and R must have rank 3, got " + shape_str(w.shape) + " and " + shape_str(r.shape));
    const int64_t G = gates_of(n.op), D = s.dirs;
    int64_t H = s.hidden >= 0 ? s.hidden : r.shape[2];
    if (H < 0 && w.shape[1] >= 0) H = w.shape[1] / G;
    const int64_t seq = s.layout == 0 ? x.shape[0] : x.shape[1], batch = s.layout == 0 ? x.shape[1] : x.shape[0];
    const int64_t GH = H < 0 ? -1 : G * H;
    const char* gate_hint = n.op == OpKind::LSTM ? " (4 gates x hidden_size)" : n.op == OpKind::GRU ? " (3 gates x hidden_size)" : "";
    if (w.shape[0] >= 0 && w.shape[0] != D)
        fail(n, "W has " + std::to_string(w.shape[0]) + " direction(s), direction '" + n.attr_string("direction", "forward") + "' needs " + std::to_string(D));
    if ((w.shape[1] >= 0 && GH >= 0 && w.shape[1] != GH) || (r.shape[1] >= 0 && GH >= 0 && r.shape[1] != GH))
        fail(n, "W " + shape_str(w.shape) + " and R " + shape_str(r.shape) + " must have " + std::to_string(GH) + " rows" + gate_hint +
                    " for hidden_size " + std::to_string(H));
    expect_shape(n, w, "W", {D, GH, x.shape[2]});
    expect_shape(n, r, "R", {D, GH, H});
    if (in.size() > kB) expect_shape(n, in[kB], "B", {D, GH < 0 ? -1 : 2 * GH});
    if (in.size() > kSeqLens) expect_shape(n, in[kSeqLens], "sequence_lens", {batch});
    const Shape state = s.layout == 0 ? Shape{D, batch, H} : Shape{batch, D, H};
    if (in.size() > kInitH) expect_shape(n, in[kInitH], "initial_h", state);
    if (in.size() > kInitC) expect_shape(n, in[kInitC], "initial_c", state);
    if (in.size() > kP) expect_shape(n, in[kP], "P", {D, H < 0 ? -1 : 3 * H});
    const Shape y = s.layout == 0 ? Shape{seq, D, batch, H} : Shape{batch, seq, D, H};
    for (size_t o = 0; o < outs.size(); ++o) outs[o] = OutInfo{t, o == 0 ? y : state};
    return outs;
}

namespace {

// Where sample b's step t / direction d lives in X, Y and the state tensors.
struct Layout {
    int64_t S, B, D, I, H;
    int layout;
    int64_t x(int64_t t, int64_t b) const { return (layout == 0 ? t * B + b : b * S + t) * I; }
    int64_t y(int64_t t, int64_t d, int64_t b) const { return (layout == 0 ? (t * D + d) * B + b : (b * S + t) * D + d) * H; }
    int64_t state(int64_t d, int64_t b) const { return (layout == 0 ? d * B + b : b * D + d) * H; }
};

float clipped(float v, float c) { return std::clamp(v, -c, c); }

}  // namespace

static void compute_rnn(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    const Spec s = parse(n);
    auto input = [&](size_t k) -> const Tensor* { return k < in.size() ? in[k] : nullptr; };
    const Tensor &X = *in[kX], &W = *in[kW], &R = *in[kR];
    const Tensor *Bias = input(kB), *lens = input(kSeqLens), *h0 = input(kInitH), *c0 = input(kInitC), *P = input(kP);
    const int64_t G = gates_of(n.op), H = R.shape[2], GH = G * H;
    const Layout L{s.layout == 0 ? X.shape[0] : X.shape[1], s.layout == 0 ? X.shape[1] : X.shape[0], s.dirs, X.shape[2], H, s.layout};
    std::vector<int64_t> steps(size_t(L.B), L.S);
    if (lens)
        for (int64_t b = 0; b < L.B; ++b) {
            steps[size_t(b)] = lens->get_int(b);
            if (steps[size_t(b)] < 0 || steps[size_t(b)] > L.S)
                fail(n, "sequence_lens[" + std::to_string(b) + "] = " + std::to_string(steps[size_t(b)]) + " is outside [0, " +
                            std::to_string(L.S) + "]");
        }
    // Every output is computed (an absent one is allocated all the same); padding steps stay 0.
    Tensor& Y = out[0];
    Tensor* Yh = out.size() > 1 ? &out[1] : nullptr;
    Tensor* Yc = out.size() > 2 ? &out[2] : nullptr;
    const bool input_forget = n.attr_int("input_forget", 0) != 0, lbr = n.attr_int("linear_before_reset", 0) != 0;
    const size_t per_dir = s.acts.size() / size_t(s.dirs);
    const int64_t jobs = L.D * L.B;
#pragma omp parallel for schedule(static) if (jobs > 1)
    for (int64_t job = 0; job < jobs; ++job) {
        const int64_t d = job / L.B, b = job % L.B;
        const bool reverse = s.reverse || d == 1;
        const ActFn* f = s.acts.data() + size_t(d) * per_dir;
        CMapM Wd(W.f.data() + d * GH * L.I, GH, L.I), Rd(R.f.data() + d * GH * H, GH, H);
        Vec wb = Vec::Zero(GH), rb = Vec::Zero(GH);
        if (Bias) {
            wb = CMapV(Bias->f.data() + d * 2 * GH, GH);
            rb = CMapV(Bias->f.data() + d * 2 * GH + GH, GH);
        }
        Vec h = h0 ? Vec(CMapV(h0->f.data() + L.state(d, b), H)) : Vec::Zero(H);
        Vec c = c0 ? Vec(CMapV(c0->f.data() + L.state(d, b), H)) : Vec::Zero(H);
        Vec gx(GH), gh(GH), rh(H);
        const float* p = P ? P->f.data() + d * 3 * H : nullptr;  // peepholes i, o, f
        const int64_t len = steps[size_t(b)];
        for (int64_t step = 0; step < len; ++step) {
            const int64_t t = reverse ? len - 1 - step : step;
            gx.noalias() = Wd * CMapV(X.f.data() + L.x(t, b), L.I);
            gx += wb;
            if (n.op == OpKind::GRU) {  // gates z, r, h
                gh.head(2 * H).noalias() = Rd.topRows(2 * H) * h;
                gh.head(2 * H) += rb.head(2 * H);
                Vec z(H), r(H);
                for (int64_t k = 0; k < H; ++k) {
                    z[k] = f[0](clipped(gx[k] + gh[k], s.clip));
                    r[k] = f[0](clipped(gx[H + k] + gh[H + k], s.clip));
                }
                if (lbr) {
                    gh.tail(H).noalias() = Rd.bottomRows(H) * h;
                    gh.tail(H) += rb.tail(H);
                    rh = r.cwiseProduct(gh.tail(H));
                } else {
                    rh.noalias() = Rd.bottomRows(H) * r.cwiseProduct(h);
                    rh += rb.tail(H);
                }
                for (int64_t k = 0; k < H; ++k) {
                    const float cand = f[1](clipped(gx[2 * H + k] + rh[k], s.clip));
                    h[k] = (1.0f - z[k]) * cand + z[k] * h[k];
                }
            } else if (n.op == OpKind::LSTM) {  // gates i, o, f, c
                gh.noalias() = Rd * h;
                gh += rb;
                for (int64_t k = 0; k < H; ++k) {
                    auto pre = [&](int64_t gate) { return gx[gate * H + k] + gh[gate * H + k]; };
                    const float i = f[0](clipped(pre(0) + (p ? p[k] * c[k] : 0.0f), s.clip));
                    const float fg = input_forget ? 1.0f - i : f[0](clipped(pre(2) + (p ? p[2 * H + k] * c[k] : 0.0f), s.clip));
                    const float cand = f[1](clipped(pre(3), s.clip));
                    c[k] = fg * c[k] + i * cand;
                    const float o = f[0](clipped(pre(1) + (p ? p[H + k] * c[k] : 0.0f), s.clip));
                    h[k] = o * f[2](c[k]);
                }
            } else {  // RNN
                gh.noalias() = Rd * h;
                for (int64_t k = 0; k < H; ++k) h[k] = f[0](clipped(gx[k] + gh[k] + rb[k], s.clip));
            }
            std::copy(h.data(), h.data() + H, Y.f.data() + L.y(t, d, b));
        }
        if (Yh) std::copy(h.data(), h.data() + H, Yh->f.data() + L.state(d, b));
        if (Yc) std::copy(c.data(), c.data() + H, Yc->f.data() + L.state(d, b));
    }
}

void register_rnn(OpDef* t) {
    for (OpKind op : {OpKind::RNN, OpKind::GRU, OpKind::LSTM}) t[size_t(op)] = {infer_rnn, compute_rnn, nullptr};
}

}  // namespace cim::kern
