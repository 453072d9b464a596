// Sweep speed: cost-only design points per second on one core, on the VGG-style
// zoo model (models/zoo/vgg) and the ISAAC RRAM chip. Targets (issue 8):
//   >= 10,000 points/s when the points share a geometry (the mapping is reused),
//   >=    100 points/s when every point needs a new mapping.
// A point is: the device with the point's --set values (DeviceVariants), the
// mapping (cached or made), estimate_cost, and the CSV row. docs/sweeps.md has the figures.
#include <benchmark/benchmark.h>

#include <cim/cimsim/cost_model.h>
#include <cim/device/device_spec.h>
#include <cim/ir/onnx_import.h>
#include <cim/mapper/mapping.h>
#include <cim/sweep/sweep.h>

#include <cstdio>
#include <filesystem>
#include <string>

using namespace cim;

namespace {

const std::string kVgg = std::string(CIM_SOURCE_DIR) + "/models/zoo/vgg/model.onnx";

// 7 ADC resolutions x 50 row-drive energies x 30 leakages = 10,500 points of one geometry.
const char* kSameGeometryAxes = R"(
models: [vgg]
axes:
  - path: array.adc.bits
    values: [4, 5, 6, 7, 8, 9, 10]
  - path: energy.row_drive_pj_per_row
    range: {from: 0.1, to: 1.0, count: 50}
  - path: energy.leakage_mw_per_tile
    range: {from: 0, to: 10, count: 30}
)";

// isaac.yaml prices its ADC, cells, read, shift-add, buffers, router and digital units with
// anchored estimators, which every point re-prices (docs/cost-estimators.md).
const std::string kSameGeometry = std::string("device: isaac\n") + kSameGeometryAxes;

// The same points with every estimated entry of isaac.yaml a plain number (its published
// figure): the cost of pricing with estimators is the difference.
const std::string kSameGeometryPlain = std::string(R"(device: isaac
set: {energy.array_read_pj_per_column: 0.23535, energy.adc_pj_per_conversion: 1.5625,
      energy.shift_add_pj_per_op: 0.01953125, energy.input_buffer_pj_per_byte: 2.7721,
      energy.output_buffer_pj_per_byte: 2.3125, energy.interconnect_pj_per_byte: 5.46875,
      energy.digital_pj_per_op: 1.0104, latency.adc_ns_per_conversion: 0.78125,
      area.array_um2: 25, area.adc_um2: 1200}
)") + kSameGeometryAxes;

// Every point a geometry of its own: 64..1063 usable rows x 4 cell resolutions.
const char* kNewGeometry = R"(
device: isaac
set: {array.rows: 1100, array.capacity_bits: ~}
models: [vgg]
axes:
  - path: array.usable_rows
    range: {from: 64, to: 1063, step: 1}
  - path: cell.bits
    values: [1, 2, 3, 4]
)";

struct Fixture {
    sweep::SweepSpec spec;
    sweep::PointSet points;
    std::unique_ptr<sweep::Evaluator> ev;
    Fixture(const std::string& yaml, bool reuse) {
        spec = sweep::parse_sweep(yaml, "bench.yaml", CIM_SOURCE_DIR);
        points = sweep::enumerate_points(spec);
        sweep::EvalOptions o;
        o.reuse_mappings = reuse;
        ev = std::make_unique<sweep::Evaluator>(spec, o);
    }
};

void run_points(benchmark::State& state, Fixture& f) {
    size_t i = 0, bytes = 0;
    for (auto _ : state) {
        const sweep::Point& p = f.points.points[i++ % f.points.points.size()];
        const sweep::PointResult r = f.ev->evaluate(p);
        const std::string row = sweep::csv_row(f.spec, p, r);
        bytes += row.size();
        if (r.status != "ok") state.SkipWithError(("a point failed: " + r.note).c_str());
    }
    benchmark::DoNotOptimize(bytes);
    state.counters["points_per_s"] = benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
    state.counters["mappings"] = double(f.ev->stats().mappings);
}

}  // namespace

// Points that share a geometry: one mapping for all, the cost model per point.
static void BM_SweepPointReusedMapping(benchmark::State& state) {
    static Fixture f(kSameGeometry, true);
    run_points(state, f);
}
BENCHMARK(BM_SweepPointReusedMapping)->Unit(benchmark::kMicrosecond);

// The same points with plain-number costs (no estimator to price).
static void BM_SweepPointReusedMappingPlainCosts(benchmark::State& state) {
    static Fixture f(kSameGeometryPlain, true);
    run_points(state, f);
}
BENCHMARK(BM_SweepPointReusedMappingPlainCosts)->Unit(benchmark::kMicrosecond);

// Points that each need a new mapping.
static void BM_SweepPointNewMapping(benchmark::State& state) {
    static Fixture f(kNewGeometry, false);  // never reused, even once the iterations wrap around
    run_points(state, f);
}
BENCHMARK(BM_SweepPointNewMapping)->Unit(benchmark::kMicrosecond);

// The same-geometry points with the cache off (every point mapped anew).
static void BM_SweepPointNoReuse(benchmark::State& state) {
    static Fixture f(kSameGeometry, false);
    run_points(state, f);
}
BENCHMARK(BM_SweepPointNoReuse)->Unit(benchmark::kMicrosecond);

// The whole run on one thread: points, evaluation, CSV appended and flushed per row,
// the final rewrite with the Pareto front (10,500 points).
static void BM_RunSweepReusedMapping(benchmark::State& state) {
    static Fixture f(kSameGeometry, true);
    const std::string out = (std::filesystem::temp_directory_path() / "cim_bench_sweep.csv").string();
    sweep::RunOptions ro;
    ro.out = out;
    ro.force = true;
    ro.threads = 1;
    int argc = 0;
    char** argv = nullptr;
    static sweep::Comm comm(&argc, &argv);
    int64_t points = 0;
    for (auto _ : state) points += sweep::run_sweep(f.spec, f.points, ro, comm).evaluated;
    std::remove(out.c_str());
    state.counters["points_per_s"] = benchmark::Counter(double(points), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RunSweepReusedMapping)->Unit(benchmark::kMillisecond)->Iterations(3);

// The parts of one point.
static void BM_PartDeviceVariant(benchmark::State& state) {
    const DeviceVariants v("isaac");
    for (auto _ : state) benchmark::DoNotOptimize(v.make({"array.adc.bits=6"}));  // estimators re-priced
}
BENCHMARK(BM_PartDeviceVariant)->Unit(benchmark::kMicrosecond);

static void BM_PartLoadDevice(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(load_device("isaac", {"array.adc.bits=6", "energy.adc_pj_per_conversion=1.2", "area.adc_um2=627"}));
}
BENCHMARK(BM_PartLoadDevice)->Unit(benchmark::kMicrosecond);

namespace {
struct VggOnIsaac {
    Graph g = specialize_batch(import_onnx(kVgg), 1);
    DeviceSpec d = load_device("isaac");
};
}  // namespace

static void BM_PartMapModel(benchmark::State& state) {
    const VggOnIsaac v;
    for (auto _ : state) benchmark::DoNotOptimize(map_model(v.g, v.d));
}
BENCHMARK(BM_PartMapModel)->Unit(benchmark::kMicrosecond);

static void BM_PartEstimateCost(benchmark::State& state) {
    const VggOnIsaac v;
    const Mapping m = map_model(v.g, v.d);
    for (auto _ : state) benchmark::DoNotOptimize(estimate_cost(v.g, m, v.d));
}
BENCHMARK(BM_PartEstimateCost)->Unit(benchmark::kMicrosecond);
