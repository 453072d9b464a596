// The digital units at their declared precision (device `digital:` section, `arithmetic: integer`).
//
// Every op below takes float tensors (what the program passes between ops), turns them into the
// signed codes the unit receives, computes in integers and hands back code x scale. Scales are per
// image (the leading dimension) and tensor: the largest magnitude maps to the largest code,
// 2^(bits-1) - 1, so results do not depend on which images share a batch. Intermediates are held
// in int64 and saturate at `accumulator_bits` where the unit's registers would.
//
//   softmax (lut)          d = max_row(q) - q; e = T[d], T[d] = round(2^F exp(-d s)),
//                          F = min(16, accumulator_bits - 2 - ceil(log2 n)); S = sum e;
//                          p = floor((2 e (2^b - 1) + S) / (2 S)); value p / (2^b - 1)
//   softmax (fixed_point)  I-BERT's i-exp: exp(-d s) ~ (a (r + b)^2 + c) >> z with
//                          q_ln2 = floor(ln 2 / s), z = d / q_ln2, r = -(d - z q_ln2),
//                          (q_b, q_c) = (floor(1.353 / s), floor(0.344 / (0.3585 s^2))),
//                          e = ((r + q_b)^2 + q_c) >> z; then p as for the table
//   layernorm              mu = round(sum q / n); v = q - mu; var = floor(sum v^2 / n);
//                          sigma = isqrt(var 4^G + eps_code 4^G), eps_code = round(eps / s^2),
//                          G the fraction bits the accumulator leaves (at most 8);
//                          y = round(v 2^(F+G) / sigma), F = activation_bits fraction bits;
//                          out = y g + beta_code (gamma codes g at their own symmetric scale s_g,
//                          beta codes at s_g 2^-F); value out s_g 2^-F
//   gelu (lut)             t = T[q], T[q] = round(GELU(q s) / s); value t s
//   gelu (fixed_point)     I-BERT's i-GELU: erf(x / sqrt 2) ~ sgn(q) ((min(|q|, -q_b) + q_b)^2 + q_c)
//                          at scale a s_e^2, s_e = s / sqrt 2, (a, b) = (-0.2888, -1.769),
//                          q_b = floor(b / s_e), q_c = floor(1 / (a s_e^2));
//                          out = q (L + q_c); value out s a s_e^2 / 2
//   matmul                 both operands at matmul_bits; int64 dot products saturated at the
//                          accumulator; value acc s_a s_b
//   add / sub              s = max(s_a, s_b); each code brought to s by a 16-bit fixed-point multiplier,
//                          m = round(2^15 s_x / s), r = (q m + 2^14) >> 15; out = r_a +- r_b; value out s
//   mul                    out = q_a q_b; value out s_a s_b
//                          (a constant operand: one scale over the constant, broadcast as ONNX does)
#pragma once

#include <cim/device/device_spec.h>
#include <cim/ir/graph.h>
#include <cim/ir/tensor.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace cim::quant::digital {

// The largest code of a signed `bits`-bit symmetric quantizer, 2^(bits-1) - 1.
int32_t max_code(int bits);
// Scale of the codes of x: max |x| / max_code(bits); 1 when x is all zero.
double symmetric_scale(std::span<const float> x, int bits);
// round(x / scale) clamped to +-max_code(bits).
int32_t to_code(float x, double scale, int bits);
// Clamp to the signed range of an `bits`-bit register.
int64_t saturate(int64_t v, int bits);
// floor(sqrt(v)) for v >= 0, exactly.
int64_t isqrt(int64_t v);

// One row of softmax: n codes of scale `scale` (signed activation_bits), out: probability codes
// in [0, 2^activation_bits - 1].
void softmax_row(const DigitalSpec& spec, const int32_t* q, int64_t n, int64_t stride, double scale, int32_t* p,
                 int64_t out_stride);

// One row of LayerNorm: n codes q of scale s; gamma codes g (n, or null for 1) and beta codes
// (n, or null for 0), out codes of scale `out_scale` (see the top of this file).
struct LayerNormParams {
    std::vector<int32_t> gamma;  // empty: gamma = 1 (one code at scale 1)
    std::vector<int64_t> beta;   // empty: 0
    double gamma_scale = 1.0;
    int fraction_bits = 8;       // F
    double out_scale = 1.0;      // gamma_scale * 2^-F
};
LayerNormParams layernorm_params(const DigitalSpec& spec, std::span<const float> gamma, std::span<const float> beta,
                                 int64_t n);
void layernorm_row(const DigitalSpec& spec, const LayerNormParams& params, const int32_t* q, int64_t n, double scale,
                   double epsilon, int64_t* out);

// GELU of n codes of scale s into float values.
void gelu(const DigitalSpec& spec, const int32_t* q, int64_t n, double scale, float* y);

// Add, Sub or Mul of a and b into y (y's shape; an activation operand has y's shape, a constant one
// broadcasts to it as ONNX does). False when the shapes do not fit that.
bool elementwise(const DigitalSpec& spec, OpKind op, const Tensor& a, bool a_constant, const Tensor& b,
                 bool b_constant, Tensor& y);

// What a graph's digital ops become under integer arithmetic: softmax nodes, LayerNorm (the
// LayerNormalization op or PyTorch's exported ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div[/Mul/Add]
// chain), GELU (the exported Div/Erf/Add/Mul/Mul chain), MatMuls of two non-constant operands and the
// element-wise Add, Sub and Mul left over (residual and bias adds, scalings).
enum class UnitKind { softmax, layernorm, gelu, matmul, elementwise };
struct DigitalUnit {
    UnitKind kind = UnitKind::softmax;
    int input = -1;            // value id of x (matmul: A)
    int input_b = -1;          // matmul: B; elementwise: the second operand
    OpKind op = OpKind::Add;   // elementwise: Add, Sub or Mul
    int output = -1;           // value id the unit's result replaces
    std::vector<int> nodes;    // node indices covered, in graph order; the last one produces `output`
    int64_t axis = -1;         // softmax / layernorm axis
    float epsilon = 1e-5f;
    int gamma = -1, beta = -1;  // constant value ids (layernorm), -1 when absent
};
struct DigitalPlan {
    std::vector<DigitalUnit> units;
    std::vector<int> unit_of_node;  // node index -> unit, -1 for a node that stays float
    bool empty() const { return units.empty(); }
};
// `skip[node]` marks nodes that run elsewhere (on the arrays): they are not digital units.
DigitalPlan plan_digital_units(const Graph& g, const std::vector<bool>& skip);

// Runs unit `u` on its float input(s) into `y` (the shape of u.output). False, with y untouched,
// when the run's shapes do not fit the unit (a MatMul whose batch dimensions broadcast): the op
// then runs in float.
bool run_unit(const DigitalSpec& spec, const Graph& g, const DigitalUnit& u, const Tensor& x, const Tensor* x_b,
              Tensor& y);

}  // namespace cim::quant::digital
