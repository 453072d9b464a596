// ADC noise: adc_sigma_lsb x N(0, 1) codes input-referred on every conversion; with read noise, one
// Gaussian of the summed variance per conversion (convert_plane).
#include "../read_model.h"

namespace cim::sim::detail {
namespace {
const NoiseFigure part{"ADC noise", "noise.adc_sigma_lsb", &NoiseSpec::adc_sigma_lsb, &ReadModel::adc_sigma_lsb};
}  // namespace
extern const NonIdeality& kAdcNoise;
const NonIdeality& kAdcNoise = part;
}  // namespace cim::sim::detail
