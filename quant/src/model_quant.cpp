// A QDQ model's own quantization: the codes its DequantizeLinear nodes dequantize, taken as
// given and laid out for the device, or rejected with the fix when the device cannot hold them.
#include "model_quant.h"

#include <cim/device/column_layout.h>
#include <cim/error.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace cim::quant::detail {

namespace {

// Bits of an unsigned value (at least 1).
int unsigned_bits(int64_t v) {
    int b = 1;
    while (v >> b) ++b;
    return b;
}

// The smallest two's-complement width holding [lo, hi] (an input's codes).
int signed_bits(int64_t lo, int64_t hi) {
    int b = 1;
    while (lo < -(int64_t(1) << (b - 1)) || hi > (int64_t(1) << (b - 1)) - 1) ++b;
    return b;
}

// "int8 codes clipped to -8..7 from DequantizeLinear 'dq'": what the model gave.
std::string codes_text(const ModelQuantization& m) {
    const bool narrowed = m.code_min != (m.code_type == ElemType::UInt8 ? 0 : -128) ||
                          m.code_max != (m.code_type == ElemType::UInt8 ? 255 : 127);
    std::string text = elem_type_name(m.code_type) + " codes";
    if (narrowed) text += " clipped to " + std::to_string(m.code_min) + ".." + std::to_string(m.code_max);
    return text + " from DequantizeLinear '" + m.node + "'";
}

constexpr const char* kIgnoreFix = "--set quant.use_model_quantization=false to requantize the layer for the device";

}  // namespace

double clipped_fraction(const ActQuant& a, const std::vector<float>& values) {
    int64_t out = 0;
    for (float x : values) {
        const double c = act_code(a, x);
        out += c < a.code_min || c > a.code_max;
    }
    return values.empty() ? 0.0 : double(out) / double(values.size());
}

ActQuant model_act_quant(const ModelQuantization& m, bool is_signed, const DeviceSpec& d, const std::string& layer) {
    if (m.axis >= 0)
        throw InputError(layer + ": its input is quantized per channel (" + codes_text(m) +
                         "); the arrays take one input scale per layer. Use " + kIgnoreFix);
    ActQuant a;
    a.scale = double(m.scale.at(0));
    // Logical codes c = q - z: the value is scale * c.
    const int64_t z = m.zero_point.at(0);
    int64_t lo = int64_t(m.code_min) - z;
    if (!is_signed) lo = std::max<int64_t>(lo, 0);  // values known >= 0 (after a ReLU): codes >= z
    const int64_t hi = std::max<int64_t>(lo, int64_t(m.code_max) - z);
    a.is_signed = lo < 0;
    const char* realized = "unsigned codes";
    if (!a.is_signed) {
        a.realization = InputRealization::unsigned_code;
        a.code_min = 0;
        a.code_max = int32_t(hi);
        a.bits = unsigned_bits(hi);
    } else {
        switch (d.input.signed_handling) {
            case SignedInputHandling::unsigned_only:
                throw InputError(layer + ": its input takes negative codes (" + codes_text(m) + ", zero point " +
                                 std::to_string(z) + "), but input.signed_handling is unsigned_only (" + d.source_path +
                                 "); set --set input.signed_handling=offset, pos_neg_split, twos_complement or bipolar");
            case SignedInputHandling::offset:  // the code q - code_min on the rows, its zero point subtracted digitally
                a.realization = InputRealization::offset;
                a.zero_point = int32_t(-lo);
                a.code_min = 0;
                a.code_max = int32_t(hi - lo);
                a.bits = unsigned_bits(hi - lo);
                realized = "offset codes";
                break;
            case SignedInputHandling::pos_neg_split:  // |c| on one of two rows
            case SignedInputHandling::bipolar:        // |c| on one row, the sign as the voltage's polarity
                a.realization = d.input.signed_handling == SignedInputHandling::bipolar ? InputRealization::bipolar
                                                                                        : InputRealization::pos_neg_split;
                a.code_min = int32_t(lo);
                a.code_max = int32_t(hi);
                a.bits = unsigned_bits(std::max(-lo, hi));
                realized = a.realization == InputRealization::bipolar ? "magnitudes with signed voltages" : "magnitudes on split rows";
                break;
            case SignedInputHandling::twos_complement:
                a.realization = InputRealization::twos_complement;
                a.code_min = int32_t(lo);
                a.code_max = int32_t(hi);
                a.bits = signed_bits(lo, hi);
                realized = "two's-complement codes";
                break;
        }
    }
    if (!(a.scale > 0) || !std::isfinite(a.scale))
        throw InputError(layer + ": its input's scale " + std::to_string(a.scale) + " (" + codes_text(m) + ") is not positive");
    if (a.bits > d.input.bits)
        throw InputError(layer + ": the model quantizes its input to " + codes_text(m) + ", zero point " + std::to_string(z) +
                         ": " + std::to_string(a.bits) + "-bit " + realized + " on the rows, but the device takes " +
                         std::to_string(d.input.bits) + "-bit inputs (input.bits in " + d.source_path + "); set --set input.bits=" +
                         std::to_string(a.bits) + ", or " + kIgnoreFix);
    return a;
}

void model_weights(QuantLayer& L, const MvmView& v, const ModelQuantization& m, const DeviceSpec& d, const std::string& layer) {
    const int64_t G = L.groups, K = L.K, N = L.N;
    CIM_INTERNAL_CHECK(int64_t(m.codes.size()) == G * K * N, layer + ": model codes count");
    if (m.axis >= 0 && v.output_axis() < 0)
        throw InputError(layer + ": per-channel scales of a " + std::string(op_name(v.op)) + " weight (" + codes_text(m) +
                         ") are not supported. Use " + kIgnoreFix);
    if (m.axis >= 0 && m.axis != v.output_axis())
        throw InputError(layer + ": its weight's scales (" + codes_text(m) + ") run along axis " + std::to_string(m.axis) +
                         " of the weight, over the layer's inputs; the arrays scale each output (axis " +
                         std::to_string(v.output_axis()) + "). Use " + kIgnoreFix);
    auto channel = [&](int64_t g, int64_t n) -> size_t {
        if (m.axis < 0) return 0;
        return size_t(v.op == OpKind::Conv ? g * N + n : n);
    };
    // The codes, or shifted once to the middle of their range (cim/ir/graph.h).
    const StoredCodeRange stored = stored_code_range(m);
    const int32_t shift = stored.shift;
    L.weight_mode = WeightMode::uniform;
    L.w.assign(size_t(G * K * N), 0);
    L.w_scale.assign(size_t(G * N), 1.0);
    L.w_zero_point.assign(size_t(G * N), 0);
    // Gemm's alpha scales the outputs, as it scaled the float weights.
    const double alpha = v.op == OpKind::Gemm ? double(v.alpha) : 1.0;
    const int64_t most_negative = stored.min, most_positive = stored.max;
    for (int64_t g = 0; g < G; ++g)
        for (int64_t n = 0; n < N; ++n) {
            const size_t c = channel(g, n);
            L.w_scale[size_t(g * N + n)] = alpha * double(m.scale.at(c));
            L.w_zero_point[size_t(g * N + n)] = m.zero_point.at(c) - shift;
            for (int64_t k = 0; k < K; ++k) L.w[size_t((g * K + k) * N + n)] = int32_t(m.codes[size_t(v.weight_index(g, k, n))]) - shift;
        }
    for (double s : L.w_scale)
        if (!(s != 0) || !std::isfinite(s))
            throw InputError(layer + ": a weight scale of " + codes_text(m) + " is " + std::to_string(s) + "; scales must be finite and non-zero");
    // The model's width on this device: the fewest bits whose code range holds the codes (4-bit
    // codes stored as int8 are 4 bits; int8's -128..127 is 8 bits in two's-complement or offset
    // columns, 9 in a differential pair), as the mapper sizes the layer's columns.
    const int bits = weight_bits_holding(d, most_negative, most_positive);
    if (bits == 0 || bits > d.weight.bits)
        throw InputError(layer + ": the model's weights, " + codes_text(m) + (shift == 0 ? "" : " shifted by " + std::to_string(shift)) +
                         ", reach " + std::to_string(most_negative) + ".." + std::to_string(most_positive) +
                         (bits ? " (" + std::to_string(bits) + "-bit codes in " + std::string(to_string(d.weight.encoding)) + " columns)" : std::string()) +
                         ", but the device stores " + std::to_string(smallest_weight_code(d, d.weight.bits)) + ".." +
                         std::to_string(largest_weight_code(d, d.weight.bits)) + " (weight.bits = " + std::to_string(d.weight.bits) +
                         ", weight.encoding = " + std::string(to_string(d.weight.encoding)) + " in " + d.source_path + "); " +
                         (bits ? "set --set weight.bits=" + std::to_string(bits) + ", or " : std::string("use ")) + kIgnoreFix);
    L.weight_bits = bits;
    L.weight_qmax = int32_t(std::min<int64_t>((int64_t(1) << (bits - 1)) - 1, largest_weight_code(d, d.weight.bits)));
    L.weight_reaches_minus_qmax_minus_1 = most_negative < -int64_t(L.weight_qmax);
}

}  // namespace cim::quant::detail

namespace cim::quant {

std::string model_quantization_text(const QuantReport& report) {
    if (!report.model_quantization) return "";
    int64_t weights = 0, inputs = 0;
    for (const LayerReport& r : report.layers) {
        weights += r.weights_from_model;
        inputs += r.input_from_model;
    }
    const std::string of = " of " + std::to_string(report.layers.size()) + " layers";
    return "weights of " + std::to_string(weights) + of + " and inputs of " + std::to_string(inputs) + of +
           " as the model quantized them (QDQ: codes, scales and zero points kept)";
}

}  // namespace cim::quant
