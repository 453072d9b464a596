// The table of the read model's non-idealities (read_model.h), in the order they act.
#include "read_model.h"

#include <cim/error.h>

namespace cim::sim::detail {

// Each defined in its own file of nonideal/.
extern const NonIdeality& kOnOffRatio;
extern const NonIdeality& kStuckCells;
extern const NonIdeality& kProgrammingVariation;
extern const NonIdeality& kDrift;
extern const NonIdeality& kIrDrop;
extern const NonIdeality& kReadNoise;
extern const NonIdeality& kAdcNoise;
extern const NonIdeality& kAdcOffset;

double NonIdeality::draw(const DeviceSpec&, const CellLevels&, double, GaussStream&) const {
    throw InternalError(std::string(name()) + " draws nothing per cell");
}

const std::vector<const NonIdeality*>& nonidealities() {
    // The OFF leak first (stuck cells pin to g_on and g_off), stuck cells before programming variation
    // (a relative error scales the stuck level; the draws keep this order), drift on what was programmed.
    static const std::vector<const NonIdeality*> table{&kOnOffRatio, &kStuckCells, &kProgrammingVariation, &kDrift,
                                                       &kIrDrop,     &kReadNoise,  &kAdcNoise,             &kAdcOffset};
    return table;
}

ReadModel read_model(const DeviceSpec& d, double dmax) {
    ReadModel model;
    for (const NonIdeality* part : nonidealities())
        if (part->active(d)) part->contribute(d, dmax, model);
    return model;
}

}  // namespace cim::sim::detail
