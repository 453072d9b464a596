// The integer program of a recurrent layer (weight_stationary.h, program.h): per direction (the
// layer's group) and step, the array rows [x_t, h_{t-1}] as input codes, one MVM through the
// backend for all sequences of a chunk, requantization to the gate pre-activations, and the
// gates and state update on the digital units (recurrent.h's cell arithmetic, shared with the
// float kernel). GRU with linear_before_reset = 0 reads the array a second time, with
// [0, r * h_{t-1}] on the rows, for R_h's columns. Every step's reads are keyed by the step, so
// read noise is drawn anew each step and accumulates through the recurrence as on a chip.
#include "program_internal.h"

#include <cim/error.h>
#include <cim/ir/recurrent.h>

#include <algorithm>

namespace cim::quant::detail {

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

bool run_recurrent_layer(const QuantLayer& L, const Node& node, std::span<const Tensor* const> in, std::span<Tensor> out,
                         const RunOptions& opt, MvmBackend& backend, const LayerTap* tap) {
    using namespace cim::rnn;
    const Spec s = parse_spec(node);
    auto input = [&](size_t k) -> const Tensor* { return k < in.size() ? in[k] : nullptr; };
    const Tensor& X = *in[kX];
    const bool gru = node.op == OpKind::GRU;
    const int64_t H = L.N / (gru ? 4 : s.gates()), I = L.K - H, R = L.rows(), N = L.N, K = L.K;
    const SeqLayout Ls = seq_layout(s, X.shape, H);
    CIM_INTERNAL_CHECK(Ls.I == I && Ls.D == L.groups, "recurrent layer geometry");
    const std::vector<int64_t> steps = sequence_steps(node, input(kSeqLens), Ls);
    const Tensor *h0 = input(kInitH), *c0 = input(kInitC), *P = input(kP);
    Tensor& Y = out[0];
    Tensor* Yh = out.size() > 1 ? &out[1] : nullptr;
    Tensor* Yc = out.size() > 2 ? &out[2] : nullptr;
    std::fill(Y.f.begin(), Y.f.end(), 0.0f);  // padding steps stay 0
    const bool split = L.input.realization == InputRealization::pos_neg_split;
    const int32_t zero_code = L.input.quantize(0.0f);
    // Reads per step: the second one is GRU's R_h (r * h) without linear_before_reset.
    const bool second_read = gru && !s.linear_before_reset;
    const int64_t reads_per_step = second_read ? 2 : 1;
    const int64_t chunk = std::max(1, opt.chunk_items), nchunks = ceil_div(Ls.B, chunk), jobs = Ls.D * nchunks;
#pragma omp parallel for schedule(dynamic) if (jobs > 1)
    for (int64_t job = 0; job < jobs; ++job) {
        const int64_t d = job / nchunks, b0 = (job % nchunks) * chunk, b1 = std::min(Ls.B, b0 + chunk), items = b1 - b0;
        const ActivationFn* f = s.activations(d);
        const float* peep = P ? P->f.data() + d * 3 * H : nullptr;
        const size_t hs = size_t(items * H), hidden = size_t(H);
        std::vector<float> h(hs, 0.0f), c(hs, 0.0f), pre(size_t(items * N)), z(hidden), r(hidden), rh(hidden);
        std::vector<int32_t> rows(size_t(items * R));
        std::vector<int64_t> acc(size_t(items * N)), qsum(static_cast<size_t>(items)), active;
        for (int64_t b = b0; b < b1; ++b) {
            if (h0) std::copy_n(h0->f.data() + Ls.state(d, b), H, h.data() + (b - b0) * H);
            if (c0) std::copy_n(c0->f.data() + Ls.state(d, b), H, c.data() + (b - b0) * H);
        }
        // One read of the arrays for the active sequences: row values from `value(j, k)`.
        auto read = [&](int64_t step, int64_t which, auto&& value) {
            const int64_t V = int64_t(active.size());
            for (int64_t j = 0; j < V; ++j) {
                int32_t* row = rows.data() + j * R;
                int64_t sum = 0;
                for (int64_t k = 0; k < K; ++k) {
                    const int32_t q = value(j, k);
                    put_row(row, K, k, q, split);
                    sum += q;
                }
                qsum[size_t(j)] = sum;
            }
            MvmContext ctx{opt.first_item + b0, V, 1};
            ctx.step = step * reads_per_step + which;
            backend.mvm(L, int(d), rows.data(), V, acc.data(), ctx);
            if (tap && tap->accumulators) tap->accumulators(L, int(d), rows.data(), V, acc.data());
            for (int64_t j = 0; j < V; ++j)
                for (int64_t n = 0; n < N; ++n)
                    pre[size_t(j * N + n)] = float(L.requantize(d, n, acc[size_t(j * N + n)], qsum[size_t(j)]));
        };
        for (int64_t step = 0; step < Ls.S; ++step) {
            active.clear();
            for (int64_t b = b0; b < b1; ++b)
                if (step < steps[size_t(b)]) active.push_back(b);
            if (active.empty()) break;  // later steps have no sequence left either
            auto time_of = [&](int64_t b) { return s.reversed(d) ? steps[size_t(b)] - 1 - step : step; };
            read(step, 0, [&](int64_t j, int64_t k) {
                const int64_t b = active[size_t(j)];
                return L.input.quantize(k < I ? X.f[size_t(Ls.x(time_of(b), b) + k)] : h[size_t((b - b0) * H + k - I)]);
            });
            if (!second_read) {
                for (size_t j = 0; j < active.size(); ++j) {
                    const int64_t b = active[j];
                    float *hb = h.data() + (b - b0) * H, *cb = c.data() + (b - b0) * H, *pj = pre.data() + int64_t(j) * N;
                    if (node.op == OpKind::LSTM) lstm_cell(s, f, pj, peep, cb, hb, H);
                    else if (node.op == OpKind::RNN) rnn_cell(s, f, pj, hb, H);
                    else {  // GRU, linear_before_reset: rh = r * (R_h h + Rb_h), R_h's columns last
                        gru_gates(s, f, pj, z.data(), r.data(), H);
                        for (int64_t k = 0; k < H; ++k) rh[size_t(k)] = r[size_t(k)] * pj[3 * H + k];
                        gru_update(s, f, pj + 2 * H, rh.data(), z.data(), hb, H);
                    }
                }
            } else {
                // z and r from the first read; then R_h (r * h) + Rb_h from a second read with the
                // x rows at code 0.
                std::vector<float> zs(active.size() * size_t(H)), rs(active.size() * size_t(H)), px(active.size() * size_t(H));
                for (size_t j = 0; j < active.size(); ++j) {
                    const float* pj = pre.data() + int64_t(j) * N;
                    gru_gates(s, f, pj, zs.data() + j * size_t(H), rs.data() + j * size_t(H), H);
                    std::copy_n(pj + 2 * H, H, px.data() + j * size_t(H));
                }
                read(step, 1, [&](int64_t j, int64_t k) {
                    if (k < I) return zero_code;
                    const int64_t b = active[size_t(j)];
                    return L.input.quantize(rs[size_t(j * H + k - I)] * h[size_t((b - b0) * H + k - I)]);
                });
                for (size_t j = 0; j < active.size(); ++j) {
                    const int64_t b = active[j];
                    gru_update(s, f, px.data() + j * size_t(H), pre.data() + int64_t(j) * N + 3 * H, zs.data() + j * size_t(H),
                               h.data() + (b - b0) * H, H);
                }
            }
            for (const int64_t b : active)
                std::copy_n(h.data() + (b - b0) * H, H, Y.f.data() + Ls.y(time_of(b), d, b));
        }
        for (int64_t b = b0; b < b1; ++b) {
            if (Yh) std::copy_n(h.data() + (b - b0) * H, H, Yh->f.data() + Ls.state(d, b));
            if (Yc) std::copy_n(c.data() + (b - b0) * H, H, Yc->f.data() + Ls.state(d, b));
        }
    }
    return true;
}

}  // namespace cim::quant::detail
