// Finite ON/OFF ratio: every cell conducts g_off = dmax / (ratio - 1) more than its digit. Differential
// pairs cancel it; other encodings see it (or subtract it: weight.leak_reference).
#include "../read_model.h"

#include <cmath>

namespace cim::sim::detail {
namespace {
class OnOffRatio final : public NonIdeality {
public:
    std::string_view name() const override { return "finite ON/OFF ratio"; }
    std::string_view fields() const override { return "cell.on_off_ratio"; }
    bool active(const DeviceSpec& d) const override { return d.cell.on_off_ratio > 1 && std::isfinite(d.cell.on_off_ratio); }
    void contribute(const DeviceSpec& d, double dmax, ReadModel& m) const override { m.g_off = dmax / (d.cell.on_off_ratio - 1); }
};
const OnOffRatio part;
}  // namespace
extern const NonIdeality& kOnOffRatio;
const NonIdeality& kOnOffRatio = part;
}  // namespace cim::sim::detail
