// Conductance drift: g(t) = g x (t / t0)^-nu at read time t, no compensation; one scale for every cell,
// so the exact paths keep it as a factor of the integer sums.
#include "../read_model.h"

#include <cmath>

namespace cim::sim::detail {
namespace {
class Drift final : public NonIdeality {
public:
    std::string_view name() const override { return "drift"; }
    std::string_view fields() const override { return "noise.drift_nu, noise.drift_t0_s, noise.drift_time_s"; }
    bool active(const DeviceSpec& d) const override { return d.noise.drift_nu > 0 && d.noise.drift_time_s != d.noise.drift_t0_s; }
    void contribute(const DeviceSpec& d, double, ReadModel& m) const override {
        m.drift = std::pow(d.noise.drift_time_s / d.noise.drift_t0_s, -d.noise.drift_nu);
    }
};
const Drift part;
}  // namespace
extern const NonIdeality& kDrift;
const NonIdeality& kDrift = part;
}  // namespace cim::sim::detail
