// Recurrent ops: RNN, GRU and LSTM with every attribute of the ONNX spec (directions,
// layout, activations with alpha/beta, clip, sequence_lens, initial states, LSTM peepholes
// and input_forget, GRU linear_before_reset). Each (direction, batch element) is an
// independent job writing its own slices, so results do not depend on the thread count.
// The attributes and the cell arithmetic are recurrent.h's, shared with the integer program.
#include "kernels.h"

#include <cim/ir/recurrent.h>

#include <Eigen/Core>

#include <algorithm>

namespace cim::kern {

namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using CMapM = Eigen::Map<const RowMat>;
using Vec = Eigen::VectorXf;
using CMapV = Eigen::Map<const Vec>;
using namespace cim::rnn;

// Checks an input's shape against the expected one where both are known.
void expect_shape(const Node& n, const InValue& v, const char* what, const Shape& want) {
    if (!v.present || !v.rank_known) return;
    bool ok = v.shape.size() == want.size();
    for (size_t d = 0; ok && d < want.size(); ++d) ok = v.shape[d] < 0 || want[d] < 0 || v.shape[d] == want[d];
    if (!ok) fail(n, std::string("input ") + what + " has shape " + shape_str(v.shape) + ", expected " + shape_str(want));
}

}  // namespace

static std::vector<OutInfo> infer_rnn(const Node& n, std::span<const InValue> in, int) {
    const rnn::Spec s = rnn::parse_spec(n);
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
    const int64_t G = s.gates(), D = s.dirs;
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

static void compute_rnn(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    const Spec s = parse_spec(n);
    auto input = [&](size_t k) -> const Tensor* { return k < in.size() ? in[k] : nullptr; };
    const Tensor &X = *in[kX], &W = *in[kW], &R = *in[kR];
    const Tensor *Bias = input(kB), *h0 = input(kInitH), *c0 = input(kInitC), *P = input(kP);
    const int64_t H = R.shape[2], GH = s.gates() * H;
    const SeqLayout L = seq_layout(s, X.shape, H);
    const std::vector<int64_t> steps = sequence_steps(n, input(kSeqLens), L);
    // Every output is computed (an absent one is allocated all the same); padding steps stay 0.
    Tensor& Y = out[0];
    Tensor* Yh = out.size() > 1 ? &out[1] : nullptr;
    Tensor* Yc = out.size() > 2 ? &out[2] : nullptr;
    const int64_t jobs = L.D * L.B;
#pragma omp parallel for schedule(static) if (jobs > 1)
    for (int64_t job = 0; job < jobs; ++job) {
        const int64_t d = job / L.B, b = job % L.B;
        const ActivationFn* f = s.activations(d);
        CMapM Wd(W.f.data() + d * GH * L.I, GH, L.I), Rd(R.f.data() + d * GH * H, GH, H);
        Vec wb = Vec::Zero(GH), rb = Vec::Zero(GH);
        if (Bias) {
            wb = CMapV(Bias->f.data() + d * 2 * GH, GH);
            rb = CMapV(Bias->f.data() + d * 2 * GH + GH, GH);
        }
        Vec h = h0 ? Vec(CMapV(h0->f.data() + L.state(d, b), H)) : Vec::Zero(H);
        Vec c = c0 ? Vec(CMapV(c0->f.data() + L.state(d, b), H)) : Vec::Zero(H);
        Vec gx(GH), gh(GH), rh(H), z(H), r(H);
        const float* p = P ? P->f.data() + d * 3 * H : nullptr;  // peepholes i, o, f
        const int64_t len = steps[size_t(b)];
        for (int64_t step = 0; step < len; ++step) {
            const int64_t t = s.reversed(d) ? len - 1 - step : step;
            gx.noalias() = Wd * CMapV(X.f.data() + L.x(t, b), L.I);
            gx += wb;
            if (n.op == OpKind::GRU) {  // gates z, r, h
                gh.head(2 * H).noalias() = Rd.topRows(2 * H) * h;
                gh.head(2 * H) += rb.head(2 * H) + gx.head(2 * H);
                gru_gates(s, f, gh.data(), z.data(), r.data(), H);
                if (s.linear_before_reset) {
                    gh.tail(H).noalias() = Rd.bottomRows(H) * h;
                    gh.tail(H) += rb.tail(H);
                    rh = r.cwiseProduct(gh.tail(H));
                } else {
                    rh.noalias() = Rd.bottomRows(H) * r.cwiseProduct(h);
                    rh += rb.tail(H);
                }
                gru_update(s, f, gx.data() + 2 * H, rh.data(), z.data(), h.data(), H);
            } else {
                gh.noalias() = Rd * h;
                gh += rb + gx;
                if (n.op == OpKind::LSTM) lstm_cell(s, f, gh.data(), p, c.data(), h.data(), H);
                else rnn_cell(s, f, gh.data(), h.data(), H);
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
