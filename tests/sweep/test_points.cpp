// The space: grid order, constraints, random and Latin-hypercube draws, stable IDs.
#include <doctest/doctest.h>

#include <cim/memory_budget.h>
#include <cim/sweep/sweep.h>

#include <cmath>
#include <map>
#include <set>
#include <string>

using namespace cim;

namespace {
sweep::SweepSpec parse(const std::string& text) { return sweep::parse_sweep(text, "t.yaml", CIM_SOURCE_DIR); }

const std::string kAxes = R"(device: isaac
set: {array.capacity_bits: ~}
models: [lenet5]
axes:
  - path: array.adc.bits
    values: [4, 5, 6, 7, 8, 9, 10, 11]
  - path: cell.bits
    values: [1, 2, 4]
  - name: size
    paths: [array.rows, array.cols, array.adc.cols_per_adc]
    values: [64, 128, 256, 512]
)";
}  // namespace

TEST_CASE("a grid: models outermost, the last axis fastest, every combination once") {
    auto s = parse(R"(device: isaac
models: [lenet5, mlp]
axes:
  - {path: array.adc.bits, values: [4, 5, 6]}
  - {path: cell.bits, values: [1, 2]}
)");
    const auto ps = sweep::enumerate_points(s);
    REQUIRE(ps.points.size() == 12);
    CHECK(ps.candidates == 6);
    CHECK(ps.excluded == 0);
    CHECK(ps.points[0].value == std::vector<int>{0, 0});
    CHECK(ps.points[1].value == std::vector<int>{0, 1});
    CHECK(ps.points[2].value == std::vector<int>{1, 0});
    CHECK(ps.points[5].value == std::vector<int>{2, 1});
    CHECK(ps.points[6].model == 1);
    for (size_t i = 0; i < ps.points.size(); ++i) CHECK(ps.points[i].index == int64_t(i));
    CHECK(sweep::point_overrides(s, ps.points[3]) == std::vector<std::string>{"array.adc.bits=5", "cell.bits=2"});
    std::set<std::string> ids;
    for (const auto& p : ps.points) {
        CHECK(p.id.size() == 16);
        ids.insert(p.id);
    }
    CHECK(ids.size() == 12);
}

TEST_CASE("a space over 10^6 points or the memory limit is refused before it is enumerated") {
    // 2 models x 1000 x 1000 device points: 2e6 points took a minute and a GB under ASan.
    const std::string axes = "axes:\n  - {path: noise.read_sigma, range: {from: 0, to: 1, count: 1000}}\n"
                             "  - {path: noise.programming_sigma, range: {from: 0, to: 1, count: 1000}}\n";
    CHECK_THROWS_WITH_AS(sweep::enumerate_points(parse("device: isaac\nmodels: [lenet5, mlp]\n" + axes)),
                         "t.yaml: the grid has 2e+06 points (2 model(s) x 1e+06 device points), more than 1000000; use sampling: "
                         "random or latin_hypercube with a count, or fewer values",
                         InputError);
    CHECK_THROWS_WITH_AS(sweep::enumerate_points(parse("device: isaac\nmodels: [lenet5, mlp]\n" + axes +
                                                       "sampling: {method: latin_hypercube, count: 600000}\n")),
                         "t.yaml: sampling.count 600000 x 2 model(s) is more than 1000000 points; draw fewer", InputError);
    // Within the point limit, but not within --max-memory.
    const int64_t limit = max_memory_bytes();
    set_max_memory_bytes(1 << 20);
    CHECK_THROWS_WITH_AS(sweep::enumerate_points(parse("device: isaac\nmodels: [lenet5]\n" + axes)),
                         doctest::Contains("t.yaml: the sweep's 1e+06 points (2 axes) needs"), InputError);
    set_max_memory_bytes(limit);
}

TEST_CASE("constraints drop points; the IDs of the others do not change") {
    auto all = parse(kAxes);
    auto constrained = parse(kAxes + "constraints: [\"array.adc.bits <= ceil(log2(size * (2^cell.bits - 1) + 1))\"]\n");
    const auto a = sweep::enumerate_points(all), c = sweep::enumerate_points(constrained);
    CHECK(a.points.size() == 96);
    CHECK(c.excluded > 0);
    CHECK(c.points.size() == size_t(96 - c.excluded));
    std::set<std::string> ids;
    for (const auto& p : a.points) ids.insert(p.id);
    for (const auto& p : c.points) {
        CHECK(ids.count(p.id) == 1);
        const double adc = std::stod(constrained.axes[0].values[size_t(p.value[0])]);
        const double cell = std::stod(constrained.axes[1].values[size_t(p.value[1])]);
        const double size = std::stod(constrained.axes[2].values[size_t(p.value[2])]);
        CHECK(adc <= std::ceil(std::log2(size * (std::pow(2, cell) - 1) + 1)));
    }
}

TEST_CASE("IDs depend on the values and on the settings that change results, not on the sampling") {
    auto s1 = parse(kAxes);
    auto s2 = parse(kAxes + "metrics: {batch: 2}\n");
    auto s3 = parse(kAxes + "sampling: {method: random, count: 20, seed: 3}\n");
    const auto p1 = sweep::enumerate_points(s1), p2 = sweep::enumerate_points(s2), p3 = sweep::enumerate_points(s3);
    CHECK(p1.points[0].id != p2.points[0].id);
    std::set<std::string> grid_ids;
    for (const auto& p : p1.points) grid_ids.insert(p.id);
    for (const auto& p : p3.points) CHECK(grid_ids.count(p.id) == 1);
    // Stable across runs (a resumed sweep finds its rows): a fixed value.
    CHECK(sweep::enumerate_points(parse(kAxes)).points[0].id == p1.points[0].id);
}

TEST_CASE("random sampling: count distinct points of the grid, the same for a seed") {
    auto s = parse(kAxes + "sampling: {method: random, count: 30, seed: 5}\n");
    const auto a = sweep::enumerate_points(s), b = sweep::enumerate_points(s);
    REQUIRE(a.points.size() == 30);
    std::set<std::vector<int>> seen;
    for (size_t i = 0; i < a.points.size(); ++i) {
        CHECK(a.points[i].id == b.points[i].id);
        CHECK(seen.insert(a.points[i].value).second);
    }
    auto other = parse(kAxes + "sampling: {method: random, count: 30, seed: 6}\n");
    CHECK(sweep::enumerate_points(other).points[0].id != a.points[0].id);
    // More than the grid holds: the whole grid.
    auto big = parse(kAxes + "sampling: {method: random, count: 1000}\n");
    CHECK(sweep::enumerate_points(big).points.size() == 96);
    // With a constraint, `count` points that satisfy it.
    auto c = parse(kAxes + "sampling: {method: random, count: 25}\nconstraints: [\"cell.bits == 1\"]\n");
    const auto cp = sweep::enumerate_points(c);
    CHECK(cp.points.size() == 25);
    for (const auto& p : cp.points) CHECK(p.value[1] == 0);
}

TEST_CASE("Latin hypercube: every axis's levels covered evenly") {
    auto s = parse(kAxes + "sampling: {method: latin_hypercube, count: 24, seed: 2}\n");
    const auto ps = sweep::enumerate_points(s);
    CHECK(ps.points.size() + size_t(ps.duplicates) == 24);
    // 24 strata: each of the 8 ADC levels 3 times, each of 3 cell levels 8 times, each of 4 sizes 6 times
    // (counting repeated draws too, which are dropped).
    std::map<int, int> adc, cell, size;
    for (const auto& p : ps.points) {
        ++adc[p.value[0]];
        ++cell[p.value[1]];
        ++size[p.value[2]];
    }
    if (ps.duplicates == 0) {
        for (const auto& [v, n] : adc) CHECK(n == 3);
        for (const auto& [v, n] : cell) CHECK(n == 8);
        for (const auto& [v, n] : size) CHECK(n == 6);
    }
    CHECK(adc.size() == 8);
    CHECK(cell.size() == 3);
    CHECK(size.size() == 4);
}

TEST_CASE("the list search proposes unreported points in order") {
    auto s = parse(kAxes);
    const auto ps = sweep::enumerate_points(s);
    auto search = sweep::make_list_search(ps);
    search->reported(ps.points[1].id);
    search->reported(ps.points[3].id);
    const auto first = search->ask(3);
    CHECK(first == std::vector<int64_t>{0, 2, 4});
    const auto rest = search->ask(1000);
    CHECK(rest.size() == 96 - 5);
    CHECK(search->ask(10).empty());
}
