// ADC offset: every conversion shifted by adc_offset_lsb codes before rounding.
#include "../read_model.h"

namespace cim::sim::detail {
namespace {
const NoiseFigure part{"ADC offset", "noise.adc_offset_lsb", &NoiseSpec::adc_offset_lsb, &ReadModel::adc_offset_lsb};
}  // namespace
extern const NonIdeality& kAdcOffset;
const NonIdeality& kAdcOffset = part;
}  // namespace cim::sim::detail
