// IR drop, first order: a column sum S reads as S / (1 + ir_drop x S / (g_on x max_active_rows)).
#include "../read_model.h"

namespace cim::sim::detail {
namespace {
const NoiseFigure part{"IR drop", "noise.ir_drop", &NoiseSpec::ir_drop, &ReadModel::ir_drop};
}  // namespace
extern const NonIdeality& kIrDrop;
const NonIdeality& kIrDrop = part;
}  // namespace cim::sim::detail
