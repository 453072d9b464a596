// The read model's non-idealities as named parts (cimsim/src/read_model.h): each reads its own device
// fields, is active only when they ask for it, contributes what the crossbar plan uses, and the parts
// that draw per cell draw in the table's order.
#include <doctest/doctest.h>

#include <cim/device/device_spec.h>

#include "read_model.h"

#include <cmath>
#include <map>
#include <set>
#include <string>

using namespace cim;
using namespace cim::sim;

namespace {
// ISAAC with every non-ideality off.
const std::vector<std::string> kIdeal{"cell.on_off_ratio=.inf", "noise.programming_sigma=0", "noise.read_sigma=0",
                                      "noise.stuck_on_rate=0",  "noise.stuck_off_rate=0",    "noise.drift_nu=0",
                                      "noise.ir_drop=0",        "noise.adc_sigma_lsb=0",     "noise.adc_offset_lsb=0",
                                      "noise.drift_t0_s=1",     "noise.drift_time_s=1000"};  // drift, if nu > 0

DeviceSpec ideal_with(const std::string& set) {
    std::vector<std::string> sets = kIdeal;
    sets.push_back(set);
    return load_device("isaac", sets);
}
}  // namespace

TEST_CASE("each non-ideality is a named part that its own device fields turn on") {
    // One override per part that turns it on (and only it).
    const std::map<std::string, std::string> turn_on{
        {"finite ON/OFF ratio", "cell.on_off_ratio=10"},     {"stuck cells", "noise.stuck_off_rate=0.01"},
        {"programming variation", "noise.programming_sigma=0.05"}, {"drift", "noise.drift_nu=0.05"},
        {"IR drop", "noise.ir_drop=0.1"},                    {"read noise", "noise.read_sigma=0.02"},
        {"ADC noise", "noise.adc_sigma_lsb=0.5"},            {"ADC offset", "noise.adc_offset_lsb=0.25"}};
    const DeviceSpec ideal = load_device("isaac", kIdeal);
    std::set<std::string> names;
    for (const detail::NonIdeality* part : detail::nonidealities()) {
        const std::string name(part->name());
        INFO(name);
        CHECK(names.insert(name).second);
        CHECK(!part->fields().empty());
        CHECK(!part->active(ideal));
        REQUIRE(turn_on.count(name) == 1);
        const DeviceSpec on = ideal_with(turn_on.at(name));
        CHECK(part->active(on));
        // Its field names the override's path.
        const std::string path = turn_on.at(name).substr(0, turn_on.at(name).find('='));
        CHECK(std::string(part->fields()).find(path) != std::string::npos);
        for (const detail::NonIdeality* other : detail::nonidealities())
            if (other != part) CHECK(!other->active(on));
    }
    CHECK(names.size() == turn_on.size());
    const detail::ReadModel none = detail::read_model(ideal, 3);
    CHECK(none.cell_draws.empty());
    CHECK(none.g_off == 0);
    CHECK(none.drift == 1);
}

TEST_CASE("the read model carries the device's figures, and the per-cell draws in the table's order") {
    const DeviceSpec d = load_device("isaac", {"cell.on_off_ratio=16", "noise.programming_sigma=0.05", "noise.stuck_on_rate=0.25",
                                               "noise.stuck_off_rate=0.25", "noise.drift_nu=0.1", "noise.drift_t0_s=1",
                                               "noise.drift_time_s=100", "noise.ir_drop=0.2", "noise.read_sigma=0.03",
                                               "noise.adc_sigma_lsb=0.4", "noise.adc_offset_lsb=0.1"});
    const double dmax = 3;
    const detail::ReadModel m = detail::read_model(d, dmax);
    CHECK(m.g_off == doctest::Approx(dmax / 15));
    CHECK(m.drift == doctest::Approx(std::pow(100.0, -0.1)));
    CHECK(m.ir_drop == 0.2);
    CHECK(m.read_sigma == 0.03);
    CHECK(m.adc_sigma_lsb == 0.4);
    CHECK(m.adc_offset_lsb == 0.1);
    CHECK(m.off_grid);
    REQUIRE(m.cell_draws.size() == 2);
    CHECK(m.cell_draws[0]->name() == "stuck cells");
    CHECK(m.cell_draws[1]->name() == "programming variation");
    // The draws from one stream, as the plan makes them: a stuck cell lands on g_on or g_off (one
    // uniform), then every cell moves by a relative Gaussian of its conductance (one normal).
    const detail::CellLevels levels{dmax, m.g_off, dmax + m.g_off};
    detail::GaussStream rng(7), replay(7);
    int stuck = 0;
    for (int i = 0; i < 400; ++i) {
        const double g0 = m.g_off + double(i % 4);
        const double u = replay.uniform();
        const double pinned = u < 0.25 ? levels.g_on : u < 0.5 ? levels.g_off : g0;
        stuck += pinned != g0;
        const double expected = pinned + 0.05 * pinned * replay.next();
        double g = g0;
        for (const detail::NonIdeality* part : m.cell_draws) g = part->draw(d, levels, g, rng);
        CHECK(g == expected);
    }
    CHECK(stuck > 100);
    CHECK(stuck < 300);
}
