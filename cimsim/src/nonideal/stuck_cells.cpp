// Stuck cells: each cell is pinned to g_on or g_off with the given probabilities, drawn once per chip
// instance (one uniform per cell).
#include "../read_model.h"

namespace cim::sim::detail {
namespace {
class StuckCells final : public NonIdeality {
public:
    std::string_view name() const override { return "stuck cells"; }
    std::string_view fields() const override { return "noise.stuck_on_rate, noise.stuck_off_rate"; }
    bool active(const DeviceSpec& d) const override { return d.noise.stuck_on_rate > 0 || d.noise.stuck_off_rate > 0; }
    void contribute(const DeviceSpec&, double, ReadModel& m) const override { m.cell_draws.push_back(this); }
    double draw(const DeviceSpec& d, const CellLevels& c, double g, GaussStream& rng) const override {
        const double u = rng.uniform();
        if (u < d.noise.stuck_on_rate) return c.g_on;
        if (u < d.noise.stuck_on_rate + d.noise.stuck_off_rate) return c.g_off;
        return g;
    }
};
const StuckCells part;
}  // namespace
extern const NonIdeality& kStuckCells;
const NonIdeality& kStuckCells = part;
}  // namespace cim::sim::detail
