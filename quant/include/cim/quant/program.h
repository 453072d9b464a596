// The integer program: what a chip runs after quantization, and the contract
// between the quantizer (quant/) and the functional crossbar simulator (cimsim/).
//
// Every weight-stationary layer (Conv through im2col, Gemm, MatMul with one
// constant operand, and recurrent layers with W and R stacked, cim/ir/weight_stationary.h:
// the layers the mapper puts on arrays) becomes a QuantLayer:
// G groups of a K x N integer matrix. For one input vector of one group:
//
//   1. Input codes. The float input x (K values, an im2col column for Conv) becomes
//      codes by the layer's ActQuant, realized on the array rows as the device takes
//      signed inputs (InputRealization):
//        unsigned_code   u[k] = clamp(round(x/s), 0, 2^b - 1)                rows = K
//        offset          u[k] = clamp(round(x/s) + z, 0, 2^b - 1)            rows = K
//        twos_complement u[k] = clamp(round(x/s), -(2^(b-1) - 1), 2^(b-1) - 1) rows = K (signed)
//        pos_neg_split   q = clamp(round(x/s), -(2^(b-1) - 1), 2^(b-1) - 1);
//                        u[k] = max(q, 0), u[K + k] = max(-q, 0)             rows = 2K
//        bipolar         u[k] = clamp(round(x/s), -(2^(b-1) - 1), 2^(b-1) - 1) rows = K (signed:
//                        +-V, each plane of |u| driven with the sign of u)
//      Conv padding is real 0, i.e. the code z (offset) or 0.
//   2. The MVM. acc[n] = sum_r u[r] * A[r][n] over the array rows r, with A the array
//      weight matrix: A[k][n] = w[k][n] and, for pos_neg_split, A[K + k][n] = -w[k][n].
//      This exact int64 sum is what an MvmBackend returns ("acc before requantization").
//      The default backend is an exact integer GEMM; the simulator's backend reads
//      cell digits through modelled arrays and ADCs.
//   3. Requantization (digital): with q the logical input code (u, or u[k] - u[K+k]
//      for pos_neg_split) and Sq = sum_k q[k] (only needed when a weight zero point
//      is non-zero),
//        y[n] = out_scale[n] * (acc[n] - z * colsum[n] - zw[n] * Sq + K * z * zw[n] + bias_code[n])
//      where out_scale[n] = s_x * s_w[n]. With power-of-two scales out_scale is a
//      power of two (shift-only requantization). y goes on to the next op in the
//      digital domain; the next array layer's ActQuant turns it back into codes.
//
// Cell digits. CellDigits describes, for every group, array row r, output n and column c
// of that output (columns_per_output consecutive columns in the device's order), the
// digit stored in the cell, such that for every (g, r, n):
//
//   A[r][n] = sum_c column_weight[c] * digit(g, r, n, c) + sum_j reference_weight[j] * reference_digit[j]
//
// (the reference term exists only for the offset encoding, whose reference columns,
// one set per array, hold reference_digit[j] in every row). So an ideal crossbar that
// reads every column sum exactly and shift-adds with column_weight reproduces acc bit
// for bit; cim::quant::DigitMvmBackend is that reference (tests pin the identity).
//
// Column order within one output (LSB digit first):
//   differential     [W+ digit 0 .. W+ digit S-1, W- digit 0 .. W- digit S-1],
//                    weights +2^(c j) and -2^(c j)
//   offset           [digit 0 .. digit S-1] of w + 2^(B-1), weights 2^(c j); reference digits
//                    are those of 2^(B-1), reference weights -2^(c j)
//   twos_complement  [digit 0 .. digit S-2] of the low B-1 bits (weights 2^(c j)), then the
//                    sign bit alone in the last column (weight -2^(B-1)); with 1-bit cells
//                    these are exactly the two's-complement bit slices
//   native_signed    one column holding the signed code (weight 1)
// where c = cell bits, B = code_bits (the signed width of the codes) and S = slices.
#pragma once

#include <cim/device/column_layout.h>
#include <cim/device/device_spec.h>
#include <cim/ir/executor.h>
#include <cim/ir/graph.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cim::quant {

enum class InputRealization { unsigned_code, offset, pos_neg_split, twos_complement, bipolar };
std::string_view to_string(InputRealization r);

// The quantizer of a layer's input activations.
struct ActQuant {
    int bits = 8;
    double scale = 1.0;        // real value of one code step
    int32_t zero_point = 0;    // code of real 0 (offset realization; 0 otherwise)
    bool is_signed = false;    // the float input can be negative
    InputRealization realization = InputRealization::unsigned_code;
    int32_t code_min = 0, code_max = 255;  // logical code range (q, before the row split)

    int32_t quantize(float x) const;       // float -> logical code q
    float dequantize(int32_t q) const { return float(scale * double(q - zero_point)); }
};

struct CellDigits {
    WeightEncoding encoding = WeightEncoding::differential;
    int cell_bits = 1;
    // B (code_bits: the signed width of the codes), S (slices), columns per output and
    // reference columns: cim::column_layout() of the encoding, the largest code and the cells,
    // the same layout the mapper places.
    ColumnLayout layout;
    std::vector<int64_t> column_weight;     // layout.columns_per_output shift-add weights
    std::vector<int16_t> reference_digit;   // layout.reference_columns digits (offset encoding only)
    std::vector<int64_t> reference_weight;  // layout.reference_columns weights (offset encoding only)

    // The digit in column c of an output whose array weight is a. Computed, not stored: a whole
    // model's digits (ResNet-18 at 8 bits in 2-bit differential cells: 187 MB of int16) are read
    // once, where the simulator programs each layer.
    int16_t digit_of(int64_t a, int c) const {
        const int b = cell_bits, B = layout.code_bits, S = layout.slices;
        const int64_t mask = (int64_t(1) << b) - 1;
        switch (encoding) {
            case WeightEncoding::differential: {
                const int64_t m = c < S ? std::max<int64_t>(a, 0) : std::max<int64_t>(-a, 0);
                return int16_t((m >> (b * (c < S ? c : c - S))) & mask);
            }
            case WeightEncoding::offset: return int16_t(((a + (int64_t(1) << (B - 1))) >> (b * c)) & mask);
            case WeightEncoding::twos_complement:
                if (c == S - 1) return int16_t(a < 0 ? 1 : 0);
                return int16_t(((a >= 0 ? a : a + (int64_t(1) << (B - 1))) >> (b * c)) & mask);
            case WeightEncoding::native_signed: return int16_t(a);
        }
        return 0;  // unreachable: the switch covers every encoding
    }
};

struct QuantLayer {
    std::string name;
    int node = -1;                // index into QuantizedModel::graph.nodes
    OpKind op = OpKind::Gemm;
    int64_t K = 0, N = 0, groups = 1;
    int data_input = 0;           // node input holding the activations
    bool const_left = false;      // MatMul(W, X): vectors are the columns of X, outputs W's rows
    bool trans_a = false;         // Gemm transA: vectors are the columns of A

    // Weights: integer codes w in [weight_code_min(), weight_qmax], K x N per group,
    // w[(g * K + k) * N + n]; real weight = w_scale[g*N+n] * (w - w_zero_point[g*N+n]).
    WeightMode weight_mode = WeightMode::uniform;
    int weight_bits = 8;          // 1 for binary, 2 for ternary
    int32_t weight_qmax = 127;
    // A QDQ model's int8 codes may reach -128 = -(weight_qmax + 1), which two's-complement and
    // offset columns hold at 8 bits; the quantizer's own codes are symmetric.
    bool weight_reaches_minus_qmax_minus_1 = false;
    int32_t weight_code_min() const { return weight_reaches_minus_qmax_minus_1 ? -weight_qmax - 1 : -weight_qmax; }
    std::vector<int32_t> w;
    std::vector<double> w_scale;        // groups * N
    std::vector<int32_t> w_zero_point;  // groups * N (all 0 when symmetric)

    ActQuant input;

    // Requantization (see the top of this file), all groups * N.
    std::vector<double> out_scale;
    std::vector<int64_t> bias_code;
    std::vector<int64_t> colsum;        // sum_k w[k][n]
    bool needs_input_sum = false;       // some w_zero_point != 0

    CellDigits digits;

    // Array rows per group: K, or 2K for pos_neg_split.
    int64_t rows() const { return input.realization == InputRealization::pos_neg_split ? 2 * K : K; }
    // Array weight A[r][n] of group g (see the top of this file).
    int32_t array_weight(int64_t g, int64_t r, int64_t n) const {
        return r < K ? w[size_t((g * K + r) * N + n)] : -w[size_t((g * K + r - K) * N + n)];
    }
    int16_t digit(int64_t g, int64_t r, int64_t n, int c) const { return digits.digit_of(array_weight(g, r, n), c); }
    // Requantized output for one vector: acc (before requantization) and Sq.
    double requantize(int64_t g, int64_t n, int64_t acc, int64_t input_sum) const {
        const size_t i = size_t(g * N + n);
        const int64_t z = input.zero_point, zw = w_zero_point[i];
        return out_scale[i] * double(acc - z * colsum[i] - zw * input_sum + K * z * zw + bias_code[i]);
    }

    // Kernel data of the default backend (built by finalize()).
    std::vector<int16_t> packed_w;  // [g][n][k_padded], int16 when int16_ok
    int64_t k_padded = 0;
    bool int16_ok = false;
    int64_t k_chunk = 0;            // rows per int32 accumulation chunk (no overflow)
    // Recomputes colsum, needs_input_sum, the cell digits and the packed kernel data
    // from w and the device; call after changing w.
    void finalize(const DeviceSpec& device);
};

// Where one MVM call's vectors come from, so that a backend can key random streams
// by (layer, item) and stay independent of the thread count.
struct MvmContext {
    int64_t first_item = 0;        // global index of the first input item (image) in this call
    int64_t items = 1;             // items in this call
    int64_t vectors_per_item = 1;  // the call's items hold items * vectors_per_item vectors
    // Where x's first vector lies among those: a call may carry only part of its items' vectors
    // (calls are bounded in bytes), and a backend places per-vector random draws by this index,
    // so the split does not change results.
    int64_t first_vector = 0;
    // The read within a recurrent layer's sequence (0 elsewhere): each step reads the arrays
    // anew, so a backend draws new noise for it.
    int64_t step = 0;
};

// Computes acc = u * A for `vectors` input vectors of one group: x is vectors x
// layer.rows() codes (as the array receives them), acc is vectors x N. Called
// concurrently from several threads, each with its own x, acc and items.
// A backend that reads several conv groups at once (groups packed block-diagonally in one
// array drive their rows together) says so with groups_per_call(layer) = g: convolutions then
// call it once per block of g groups, `group` the block's first, x holding each vector's
// groups' rows one after the other (g x rows()), acc their outputs (g x N), fewer in the last
// block.
class MvmBackend {
public:
    virtual ~MvmBackend() = default;
    virtual void mvm(const QuantLayer& layer, int group, const int32_t* x, int64_t vectors, int64_t* acc,
                     const MvmContext& ctx) = 0;
    virtual int64_t groups_per_call(const QuantLayer& /*layer*/) const { return 1; }
};

// The exact integer GEMM (int16 SIMD kernels when codes allow, else int64).
class ExactMvmBackend : public MvmBackend {
public:
    void mvm(const QuantLayer& layer, int group, const int32_t* x, int64_t vectors, int64_t* acc,
             const MvmContext& ctx) override;
};

// Reference ideal crossbar: reads every cell digit, applies the input bit-serially
// (input.dac_bits per cycle, the two's-complement MSB plane negative), sums at most
// array.max_active_rows rows per read, shift-adds the exact column sums with the
// column weights. Slow; it exists to pin the digit identity in tests and as the
// simulator's starting point.
class DigitMvmBackend : public MvmBackend {
public:
    explicit DigitMvmBackend(const DeviceSpec& device) : device_(device) {}
    void mvm(const QuantLayer& layer, int group, const int32_t* x, int64_t vectors, int64_t* acc,
             const MvmContext& ctx) override;

private:
    DeviceSpec device_;
};

// A quantized network: the float graph (after cross-layer equalization, when on)
// and one QuantLayer per weight-stationary node.
struct QuantizedModel {
    Graph graph;
    DeviceSpec device;
    std::vector<QuantLayer> layers;  // in graph order
    std::vector<int> layer_of_node;  // node index -> index into layers, -1 for digital nodes
    std::vector<std::string> notes;  // e.g. weight-stationary nodes left in float, and why

    const QuantLayer* find(const std::string& name) const;
};

// The fewest vectors per MVM call (unless a chunk has fewer), so bounding calls' bytes
// keeps them GEMM-shaped.
inline constexpr int64_t kMinCallVectors = 256;

// Runs the integer program on a batch. Nodes with a QuantLayer run as integer MVMs
// through `backend` (nullptr: ExactMvmBackend); every other node runs in the float
// executor (the digital units). `first_item` is the global index of inputs' first
// item (for MvmContext). `active`, when given, lists per node whether its QuantLayer
// is used (false: the float kernel runs; for per-layer analysis).
struct RunOptions {
    MvmBackend* backend = nullptr;
    int64_t first_item = 0;
    const std::vector<bool>* active = nullptr;
    int chunk_items = 8;  // items per chunk of work (fixed, so results do not depend on threads)
    // A chunk's vectors go to the backend in calls of at most this many bytes of input rows
    // (int32) and accumulators (int64), at least kMinCallVectors vectors: a 224 x 224
    // convolution's chunk would otherwise hold over 100 MB per thread.
    int64_t call_bytes = int64_t(4) << 20;
};
std::vector<Tensor> run_program(const QuantizedModel& model, const std::vector<Tensor>& inputs,
                                const RunOptions& options = {}, const Executor::Observer& observer = {});

}  // namespace cim::quant
