// Read noise: each conducting cell adds read_sigma x (g_on - g_off) x N(0, 1) to its column on every read,
// independently (a read of plane values p_k sees read_sigma x (g_on - g_off) x sqrt(sum p_k^2)).
#include "../read_model.h"

namespace cim::sim::detail {
namespace {
const NoiseFigure part{"read noise", "noise.read_sigma", &NoiseSpec::read_sigma, &ReadModel::read_sigma};
}  // namespace
extern const NonIdeality& kReadNoise;
const NonIdeality& kReadNoise = part;
}  // namespace cim::sim::detail
