// Programming variation: each cell lands at g + sigma x N(0, 1), sigma relative to its conductance or
// absolute (in units of the full digit range), drawn once per chip instance.
#include "../read_model.h"

namespace cim::sim::detail {
namespace {
class ProgrammingVariation final : public NonIdeality {
public:
    std::string_view name() const override { return "programming variation"; }
    std::string_view fields() const override { return "noise.programming_sigma, noise.programming_sigma_mode"; }
    bool active(const DeviceSpec& d) const override { return d.noise.programming_sigma > 0; }
    void contribute(const DeviceSpec&, double, ReadModel& m) const override {
        m.cell_draws.push_back(this);
        m.off_grid = true;
    }
    double draw(const DeviceSpec& d, const CellLevels& c, double g, GaussStream& rng) const override {
        const double sigma = d.noise.programming_sigma_mode == NoiseMode::relative ? d.noise.programming_sigma * g
                                                                                    : d.noise.programming_sigma * c.dmax;
        return g + sigma * rng.next();
    }
};
const ProgrammingVariation part;
}  // namespace
extern const NonIdeality& kProgrammingVariation;
const NonIdeality& kProgrammingVariation = part;
}  // namespace cim::sim::detail
