// The model of a sweep: a point's metrics equal the tools' own pipeline; a mapping
// is reused exactly across points that share a geometry; bad points get a status.
#include <doctest/doctest.h>

#include <cim/cimsim/cost_model.h>
#include <cim/device/device_spec.h>
#include <cim/ir/onnx_import.h>
#include <cim/mapper/mapping.h>
#include <cim/sweep/sweep.h>

#include <algorithm>
#include <string>

using namespace cim;

namespace {

sweep::SweepSpec parse(const std::string& text) { return sweep::parse_sweep(text, "t.yaml", CIM_SOURCE_DIR); }

void check_same_mapping(const Mapping& a, const Mapping& b) {
    CHECK(a.arrays_used == b.arrays_used);
    CHECK(a.chips == b.chips);
    CHECK(a.tiles_used == b.tiles_used);
    CHECK(a.weight_cells_used == b.weight_cells_used);
    CHECK(a.utilization == b.utilization);
    CHECK(a.fits_device == b.fits_device);
    REQUIRE(a.layers.size() == b.layers.size());
    for (size_t i = 0; i < a.layers.size(); ++i) {
        const auto &x = a.layers[i], &y = b.layers[i];
        CAPTURE(x.name);
        CHECK(x.placement == y.placement);
        CHECK(x.arrays == y.arrays);
        CHECK(x.duplication == y.duplication);
        CHECK(x.row_tiles == y.row_tiles);
        CHECK(x.col_tiles == y.col_tiles);
        CHECK(x.rows_per_vector == y.rows_per_vector);
        CHECK(x.cols_per_output == y.cols_per_output);
        CHECK(x.first_array == y.first_array);
        CHECK(x.first_chip == y.first_chip);
        CHECK(x.last_chip == y.last_chip);
        CHECK(x.note == y.note);
    }
}

const std::string kSweep = R"(device: isaac
set: {array.capacity_bits: ~}
models: [lenet5]
axes:
  - name: adc_bits
    paths: [array.adc.bits, energy.adc_pj_per_conversion]
    values: [[4, 0.79], [6, 1.2], [8, 1.67]]
  - path: cell.bits
    values: [1, 2, 4]
  - path: noise.programming_sigma
    values: [0, 0.05]
)";

}  // namespace

TEST_CASE("a point's metrics equal load_device + map_model + estimate_cost") {
    const auto spec = parse(kSweep);
    const auto ps = sweep::enumerate_points(spec);
    const sweep::Evaluator ev(spec);
    const Graph g = specialize_batch(import_onnx(spec.models[0].path), 1);
    for (const auto& p : ps.points) {
        auto sets = spec.fixed;
        for (const auto& s : sweep::point_overrides(spec, p)) sets.push_back(s);
        const DeviceSpec d = load_device("isaac", sets);
        const Mapping m = map_model(g, d);
        const CostReport rep = estimate_cost(g, m, d);
        const sweep::PointResult r = ev.evaluate(p);
        REQUIRE(r.status == "ok");
        const auto names = sweep::metric_names(spec);
        REQUIRE(r.metrics.size() == names.size());
        CHECK(r.metrics[0] == rep.latency_s);
        CHECK(r.metrics[2] == rep.energy_j);
        CHECK(*r.metrics[4] == rep.area_mm2);
        CHECK(r.metrics[6] == rep.tops_per_w);
        CHECK(*r.metrics[8] == double(m.arrays_used));
    }
    // One mapping per cell resolution: ADC bits and noise do not change the geometry.
    CHECK(ev.stats().mappings == 3);
    CHECK(ev.stats().points == int64_t(ps.points.size()));
}

TEST_CASE("mapping reuse changes nothing but the number of mappings") {
    const auto spec = parse(kSweep);
    const auto ps = sweep::enumerate_points(spec);
    const sweep::Evaluator reuse(spec);
    sweep::EvalOptions off;
    off.reuse_mappings = false;
    const sweep::Evaluator fresh(spec, off);
    for (const auto& p : ps.points) CHECK(sweep::csv_row(spec, p, reuse.evaluate(p)) == sweep::csv_row(spec, p, fresh.evaluate(p)));
    CHECK(reuse.stats().mappings == 3);
    CHECK(fresh.stats().mappings == int64_t(ps.points.size()));
}

TEST_CASE("mapping_key: fields the mapper ignores leave the mapping alone; the fields it reads change the key") {
    const Graph g = specialize_batch(import_onnx(std::string(CIM_SOURCE_DIR) + "/models/zoo/vgg/model.onnx"), 1);
    for (const std::string dev : {"isaac", "wtm2101", "tsmc7_sram_analog"}) {
        CAPTURE(dev);
        const DeviceSpec base = load_device(dev, {"array.capacity_bits=~"});
        const Mapping m0 = map_model(g, base);
        for (const std::vector<std::string>& sets :
             std::vector<std::vector<std::string>>{{"array.adc.bits=5"},
                                                   {"noise.programming_sigma=0.1", "noise.read_sigma=0.02"},
                                                   {"energy.row_drive_pj_per_row=9", "latency.array_read_ns=7"},
                                                   {"area.array_um2=5"},
                                                   {"chip.clock_mhz=33"},
                                                   {"input.bits=4", "quant.activation_bits=4"},
                                                   {"output.bits=~"}}) {
            std::vector<std::string> all = {"array.capacity_bits=~"};
            all.insert(all.end(), sets.begin(), sets.end());
            DeviceSpec d;
            try {
                d = load_device(dev, all);
            } catch (const InputError&) {
                continue;  // not a valid variant of this device
            }
            CAPTURE(sets.front());
            CHECK(mapping_key(d) == mapping_key(base));
            check_same_mapping(map_model(g, d), m0);
        }
        // Values that differ from all three devices' own.
        int changed = 0;
        for (const std::vector<std::string>& sets : std::vector<std::vector<std::string>>{
                 {"array.usable_rows=33"}, {"array.usable_cols=33"}, {"array.max_active_rows=7"}, {"chip.tiles=3"},
                 {"chip.macros_per_tile=3"}, {"chip.max_chips=5"}, {"input.signed_handling=twos_complement"},
                 {"input.signed_handling=unsigned_only"}, {"weight.encoding=twos_complement"}, {"weight.bits=6", "quant.weight_bits=6"},
                 {"cell.bits=3", "weight.encoding=differential"}, {"array.multi_layer=true"}, {"array.multi_layer=false"}}) {
            std::vector<std::string> all = {"array.capacity_bits=~"};
            all.insert(all.end(), sets.begin(), sets.end());
            DeviceSpec d;
            try {
                d = load_device(dev, all);
            } catch (const InputError&) {
                continue;
            }
            if (d.array.multi_layer != base.array.multi_layer || sets.front().rfind("array.multi", 0) != 0) {
                CAPTURE(sets.front());
                CHECK(mapping_key(d) != mapping_key(base));
                ++changed;
            }
        }
        CHECK(changed >= 8);
    }
}

TEST_CASE("a point the device rejects is a row with status invalid and the reason") {
    const auto spec = parse(R"(device: isaac
models: [lenet5]
axes:
  - path: array.adc.cols_per_adc
    values: [64, 100]
)");
    const auto ps = sweep::enumerate_points(spec);
    const sweep::Evaluator ev(spec);
    CHECK(ev.evaluate(ps.points[0]).status == "ok");
    const sweep::PointResult bad = ev.evaluate(ps.points[1]);
    CHECK(bad.status == "invalid");
    CHECK(bad.note.find("--set array.adc.cols_per_adc=100: array.adc.cols_per_adc: 100 does not divide array.cols = 128") !=
          std::string::npos);
    for (const auto& m : bad.metrics) CHECK_FALSE(m.has_value());
    const std::string row = sweep::csv_row(spec, ps.points[1], bad);
    CHECK(row.find(",invalid,,,,") != std::string::npos);
}

TEST_CASE("accuracy points: quantized once per quantization-relevant configuration") {
    const auto spec = parse(R"(device: wtm2101
models: [mlp]
axes:
  - path: noise.programming_sigma
    values: [0, 0.2]
  - path: array.adc.bits
    values: [4, 8]
metrics: {accuracy: {images: 40, instances: 2, seed: 3}}
)");
    const auto ps = sweep::enumerate_points(spec);
    const sweep::Evaluator ev(spec);
    std::vector<sweep::PointResult> rs;
    for (const auto& p : ps.points) rs.push_back(ev.evaluate(p));
    CHECK(ev.stats().quantizations == 1);
    const auto names = sweep::metric_names(spec);
    const size_t acc = size_t(std::find(names.begin(), names.end(), "accuracy") - names.begin());
    for (const auto& r : rs) {
        REQUIRE(r.status == "ok");
        REQUIRE(r.metrics[acc]);
        CHECK(*r.metrics[acc] >= 0);
        CHECK(*r.metrics[acc] <= 1);
        CHECK(r.metrics[acc + 1]);  // CI half width
        CHECK(*r.metrics[acc + 3] > 0.5);  // float accuracy of the zoo MLP on 40 images
    }
    // The same point twice gives the same row (seeded), and so does a second evaluator.
    const sweep::Evaluator again(spec);
    CHECK(sweep::csv_row(spec, ps.points[3], again.evaluate(ps.points[3])) == sweep::csv_row(spec, ps.points[3], rs[3]));
}
