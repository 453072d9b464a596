// Whole chips priced by estimators only (configs/validation/*_estimated.yaml): each
// loads, and gives the totals docs/validation.md states. scripts/validation_table.py
// writes that table from cim-map; this test reads it back, so the doc cannot go stale.
#include "cost_test_util.h"

#include <cim/device/device_spec.h>

#include <fstream>
#include <regex>
#include <sstream>

using namespace cim;
using namespace cost_test;

namespace {

const std::string kSource = CIM_SOURCE_DIR;

std::string read_text(const std::string& path) {
    std::ifstream f(path);
    REQUIRE_MESSAGE(f.good(), path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

// The figure a totals row names, from the cost model.
double figure(const PeakFigures& p, const std::string& name) {
    if (name == "tile power, mW") return p.tile_power_w * 1e3;
    if (name == "tile area, mm²") return p.tile_area_mm2;
    if (name == "area, µm²") return p.area_mm2 * 1e6;
    if (name == "TOPS/W") return p.tops_per_w;
    FAIL("docs/validation.md names an unknown figure: " << name);
    return 0;
}

}  // namespace

TEST_CASE("estimators-only chips: the configs load and give the totals docs/validation.md states") {
    const std::string doc = read_text(kSource + "/docs/validation.md");
    const auto begin = doc.find("<!-- estimated-chips: begin");
    const auto end = doc.find("<!-- estimated-chips: end");
    REQUIRE(begin != std::string::npos);
    REQUIRE(end != std::string::npos);
    const std::string block = doc.substr(begin, end - begin);
    // | `isaac_estimated` | tile power, mW | 330 | 512.3 | +55.2 % |
    const std::regex row(R"(\| `(\w+_estimated)` \| ([^|]+?) \| ([-0-9.]+) \| ([-0-9.]+) \|)");
    int rows = 0;
    for (auto it = std::sregex_iterator(block.begin(), block.end(), row); it != std::sregex_iterator(); ++it) {
        const std::string config = (*it)[1], name = (*it)[2];
        const double published = std::stod((*it)[3]), stated = std::stod((*it)[4]);
        CAPTURE(config);
        CAPTURE(name);
        const DeviceSpec d = load_device(kSource + "/configs/validation/" + config + ".yaml");
        for (const auto& c : list_costs(d))  // estimators or zeros: no published cost survives
            if (c.cost && !c.cost->estimate && c.path.rfind("latency.", 0) != 0) CHECK(c.cost->value == 0);
        const double ours = figure(peak_figures(d), name);
        CHECK(ours == doctest::Approx(stated).epsilon(0.001));  // the table prints 4 significant digits
        CHECK(published > 0);
        ++rows;
    }
    CHECK(rows == 6);  // two totals for each of the three chips
}
