// The recurrent ops (ONNX RNN, GRU, LSTM): their attributes and their cell arithmetic, shared by
// the float kernel and the integer program (quant/), which differ only in how the gate products
// W x_t and R h_{t-1} are formed (float GEMVs there, MVMs on the arrays here).
#pragma once

#include <cim/ir/graph.h>

#include <cstdint>
#include <limits>
#include <vector>

namespace cim::rnn {

// Input positions shared by the three ops (LSTM adds initial_c at 6 and P at 7).
enum : size_t { kX = 0, kW = 1, kR = 2, kB = 3, kSeqLens = 4, kInitH = 5, kInitC = 6, kP = 7 };

enum class Activation : uint8_t {
    Sigmoid, Tanh, Relu, HardSigmoid, LeakyRelu, Affine, ScaledTanh, Elu, Softsign, Softplus, ThresholdedRelu
};

struct ActivationFn {
    Activation kind = Activation::Tanh;
    float alpha = 0, beta = 0;
    float operator()(float x) const;
};

struct Spec {
    OpKind op = OpKind::LSTM;
    int64_t dirs = 1;
    bool reverse = false;  // direction "reverse" (bidirectional: direction 1 runs reversed)
    int64_t hidden = -1;   // -1: take it from R
    int layout = 0;
    float clip = std::numeric_limits<float>::infinity();
    std::vector<ActivationFn> acts;  // activations per direction, direction after direction
    bool input_forget = false;         // LSTM
    bool linear_before_reset = false;  // GRU

    // Gate blocks in W/R/B: RNN i; GRU z r h; LSTM i o f c.
    int64_t gates() const { return op == OpKind::LSTM ? 4 : op == OpKind::GRU ? 3 : 1; }
    const ActivationFn* activations(int64_t direction) const {
        return acts.data() + size_t(direction) * (acts.size() / size_t(dirs));
    }
    bool reversed(int64_t direction) const { return reverse || direction == 1; }
};

// Reads and checks the attributes; a malformed one is an InputError naming the node.
Spec parse_spec(const Node& n);

// Where sample b's step t / direction d lives in X, Y and the state tensors.
struct SeqLayout {
    int64_t S = 0, B = 0, D = 1, I = 0, H = 0;
    int layout = 0;
    int64_t x(int64_t t, int64_t b) const { return (layout == 0 ? t * B + b : b * S + t) * I; }
    int64_t y(int64_t t, int64_t d, int64_t b) const { return (layout == 0 ? (t * D + d) * B + b : (b * S + t) * D + d) * H; }
    int64_t state(int64_t d, int64_t b) const { return (layout == 0 ? d * B + b : b * D + d) * H; }
};
SeqLayout seq_layout(const Spec& s, const Shape& x, int64_t hidden);

// Steps per batch element: sequence_lens (checked against [0, S]) or S for all.
std::vector<int64_t> sequence_steps(const Node& n, const Tensor* lens, const SeqLayout& L);

// Cell updates of one sequence element from its gate pre-activations (products plus biases).
// RNN: pre [H].
void rnn_cell(const Spec& s, const ActivationFn* f, const float* pre, float* h, int64_t H);
// LSTM: pre [4H] in gate order i o f c; peepholes p [3H] (i o f) or null.
void lstm_cell(const Spec& s, const ActivationFn* f, const float* pre, const float* p, float* c, float* h, int64_t H);
// GRU in two halves, since R_h's product needs r when linear_before_reset is 0:
// z and r from pre_zr [2H] (W_zr x + R_zr h + both biases), then
// h = (1 - z) f1(clip(px_h + rh)) + z h with px_h = W_h x + Wb_h and
// rh = r (R_h h + Rb_h) (linear_before_reset) or R_h (r h) + Rb_h.
void gru_gates(const Spec& s, const ActivationFn* f, const float* pre_zr, float* z, float* r, int64_t H);
void gru_update(const Spec& s, const ActivationFn* f, const float* px_h, const float* rh, const float* z, float* h, int64_t H);

}  // namespace cim::rnn
