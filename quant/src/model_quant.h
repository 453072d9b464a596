// Internal: a QDQ model's own quantization taken as given (docs/quantization.md,
// "Models that arrive quantized"), fitted to the device or rejected.
#pragma once

#include <cim/quant/program.h>
#include <cim/quant/quantizer.h>

#include <cmath>
#include <string>

namespace cim::quant::detail {

// The input quantizer of a layer from the model's grid: the same codes the model's
// QuantizeLinear makes, realized as the device takes signed inputs, with the fewest bits
// that hold them. `is_signed`: the input can be negative (nonnegative_values). Throws
// InputError naming `layer` (file and node) when the device cannot take them.
ActQuant model_act_quant(const ModelQuantization& m, bool is_signed, const DeviceSpec& d, const std::string& layer);

// Weight codes, scales and zero points of L from the model's (codes exactly as given, up
// to one constant shift that the zero points absorb when they are not all 0). Throws
// InputError naming `layer` when the device cannot store them.
void model_weights(QuantLayer& L, const MvmView& v, const ModelQuantization& m, const DeviceSpec& d, const std::string& layer);

// The code of x under `a` before clamping (what clipped_fraction compares with the range).
inline double act_code(const ActQuant& a, float x) { return std::nearbyint(double(x) / a.scale) + a.zero_point; }

// Fraction of `values` outside a's code range.
double clipped_fraction(const ActQuant& a, const std::vector<float>& values);

}  // namespace cim::quant::detail
