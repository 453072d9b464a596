// libFuzzer target: a sweep description -> parse_sweep (yaml-cpp, the strict schema, ranges,
// constraint expressions, the base device) -> enumerate_points (grid, random and
// Latin-hypercube draws, constraints, point IDs) -> each point's --set overrides and CSV columns,
// as cim-sweep --dry-run does. Relative paths are taken from configs/sweeps/.
#include "fuzz_util.h"

#include <cim/sweep/sweep.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    cim::fuzz::expect_input_error([&] {
        const cim::sweep::SweepSpec spec = cim::sweep::parse_sweep(text, "fuzz.yaml", CIM_FUZZ_SWEEP_DIR);
        const cim::sweep::PointSet ps = cim::sweep::enumerate_points(spec);
        for (const auto& p : ps.points) (void)cim::sweep::point_overrides(spec, p);
        (void)cim::sweep::csv_columns(spec);
    });
    return 0;
}
