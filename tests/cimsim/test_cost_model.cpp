// The cost model's arithmetic: closed-form event counts for hand-computed layers,
// per-layer sums equal totals, one component's scaling moves the total by exactly
// its share, bit-serial cycles, ADC sharing, duplication, batch, multi-chip links,
// weight reprogramming, data densities and their sources.
#include "cost_test_util.h"

#include <cim/cimsim/cost_plot.h>
#include <cim/error.h>

#include <fstream>

using namespace cim;
using namespace cost_test;
using CC = CostComponent;

namespace {

MapOptions no_dup() {
    MapOptions o;
    o.duplicate = false;
    return o;
}

double sum_layer_energy(const CostReport& r) {
    double e = 0;
    for (const auto& l : r.layers) e += l.energy_j;
    return e;
}
double sum_layer_latency(const CostReport& r) {
    double t = 0;
    for (const auto& l : r.layers) t += l.latency_s;
    return t;
}

}  // namespace

TEST_CASE("component names are unique and non-empty") {
    std::set<std::string_view> names;
    for (std::size_t k = 0; k < kCostComponents; ++k) {
        const auto n = to_string(CostComponent(k));
        CHECK_FALSE(n.empty());
        names.insert(n);
    }
    CHECK(names.size() == kCostComponents);
    for (std::size_t k = 0; k < kAreaComponents; ++k) CHECK_FALSE(to_string(AreaComponent(k)).empty());
}

TEST_CASE("isaac, a 300x100 Gemm: event counts match the hand computation") {
    // 16-bit weights, offset encoding, 2-bit cells: 8 columns per weight plus 8 reference columns per
    // array -> 15 outputs per 128-column array. Row tiles 128, 128, 44; column tiles 6 x 15 + 10.
    TempDir tmp;
    const DeviceSpec d = load_device("isaac");
    const Run r = run(mlp_file(tmp, {300, 100}), d, {}, no_dup());
    const LayerMapping* L = r.mapping.find("fc0");
    REQUIRE(L);
    REQUIRE(L->row_tiles == 3);
    REQUIRE(L->col_tiles == 7);
    REQUIRE(L->arrays == 21);
    const LayerCost& c = layer(r, "fc0");
    const double cycles = 16;                                   // 16-bit inputs, 1 bit per cycle
    const double col_reads = cycles * 3 * (6 * 128 + 10 * 8 + 8);  // every column of every tile, every cycle
    CHECK(comp(c, CC::adc).events == doctest::Approx(col_reads));
    CHECK(comp(c, CC::array_read).events == doctest::Approx(col_reads));
    CHECK(comp(c, CC::row_drive).events == doctest::Approx(cycles * 300 * 7));
    CHECK(comp(c, CC::shift_add).events == doctest::Approx(col_reads + 100 * 2));  // + 2 row-tile accumulations
    CHECK(comp(c, CC::input_buffer).events == doctest::Approx(300 * 7 * 2));     // each array gets its rows, 2 B
    CHECK(comp(c, CC::output_buffer).events == doctest::Approx(100 * 3 * 2));    // each row tile's outputs, 2 B
    CHECK(comp(c, CC::interconnect).events == doctest::Approx(100 * 3 * 2));
    CHECK(comp(c, CC::digital).events == doctest::Approx(100));                   // requantization per output
    CHECK(comp(c, CC::adc).energy_j == doctest::Approx(col_reads * 1.5625e-12));
    CHECK(comp(c, CC::row_drive).energy_j == doctest::Approx(cycles * 300 * 7 * 0.390625e-12));
    // 16 cycles of max(100 ns read, 128 conversions x 0.78125 ns) = 1.6 us.
    CHECK(c.latency_s == doctest::Approx(1.6e-6));
    CHECK(comp(c, CC::adc).latency_s == doctest::Approx(1.6e-6));
    CHECK(c.ops == 2.0 * 300 * 100);
    // Model input and output cross the host link (HyperTransport): 300 + 100 elements of 2 bytes.
    CHECK(comp(r.report, CC::host_transfer).events == doctest::Approx(800));
    CHECK(comp(r.report, CC::host_transfer).energy_j == doctest::Approx(800 * 406.25e-12));
}

TEST_CASE("a layer stored at 8 bits on 16-bit ISAAC: half the slices, its own columns and reference columns") {
    // Offset encoding, 2-bit cells: 4 columns per 8-bit weight plus 4 reference columns per array ->
    // 31 outputs per 128-column array; column tiles 31, 31, 31, 7; row tiles 128, 128, 44 as above.
    TempDir tmp;
    const DeviceSpec d = load_device("isaac");
    MapOptions mopt = no_dup();
    mopt.layer_weight_bits["fc0"] = 8;
    const Run r = run(mlp_file(tmp, {300, 100}), d, {}, mopt);
    const LayerMapping* L = r.mapping.find("fc0");
    REQUIRE(L);
    CHECK(L->weight_bits == 8);
    CHECK(L->cols_per_output == 4);
    CHECK(L->reference_cols == 4);
    CHECK(L->outputs_per_array == 31);
    CHECK(L->col_tiles == 4);
    CHECK(L->arrays == 12);
    const double col_reads = 16 * 3 * (3 * (31 * 4 + 4) + (7 * 4 + 4));
    CHECK(comp(layer(r, "fc0"), CC::adc).events == doctest::Approx(col_reads));
    CHECK(comp(layer(r, "fc0"), CC::array_read).events == doctest::Approx(col_reads));

    mopt.layer_weight_bits["fc0"] = 17;  // wider than the device stores
    CHECK_THROWS_WITH_AS(map_model(r.graph, d, mopt), doctest::Contains("'fc0' at 17 bits; isaac stores 2 to 16 bits"),
                         InputError);
    mopt.layer_weight_bits = {{"no_such_layer", 8}};
    CHECK_THROWS_WITH_AS(map_model(r.graph, d, mopt), doctest::Contains("no node named 'no_such_layer'"), InputError);
}

TEST_CASE("isaac, a 300x100 Gemm with the offset subtracted digitally: no reference columns placed or converted") {
    // 16-bit weights, offset encoding, 2-bit cells: 8 columns per weight and no reference columns ->
    // 16 outputs per 128-column array. Row tiles 128, 128, 44; column tiles 6 x 16 + 4.
    TempDir tmp;
    const DeviceSpec d = load_device("isaac", {"weight.offset_reference=digital"});
    const Run r = run(mlp_file(tmp, {300, 100}), d, {}, no_dup());
    const LayerMapping* L = r.mapping.find("fc0");
    REQUIRE(L);
    CHECK(L->reference_cols == 0);
    CHECK(L->outputs_per_array == 16);
    REQUIRE(L->col_tiles == 7);
    CHECK(L->arrays == 21);
    const LayerCost& c = layer(r, "fc0");
    const double col_reads = 16 * 3 * (6 * 128 + 4 * 8);
    CHECK(comp(c, CC::adc).events == doctest::Approx(col_reads));
    CHECK(comp(c, CC::array_read).events == doctest::Approx(col_reads));
    // + 2 row-tile accumulations per output, the input sum (300 adds) and one correction per output.
    CHECK(comp(c, CC::shift_add).events == doctest::Approx(col_reads + 100 * 2 + 300 + 100));

    // Two's-complement columns with the off-cell leak subtracted digitally: the same columns as
    // without, plus the same input sum and one correction per output.
    const DeviceSpec t = load_device("isaac", {"weight.encoding=twos_complement", "cell.on_off_ratio=2.5"});
    const DeviceSpec tl = load_device("isaac", {"weight.encoding=twos_complement", "cell.on_off_ratio=2.5",
                                                "weight.leak_reference=digital"});
    const Run kept = run(mlp_file(tmp, {300, 100}), t, {}, no_dup());
    const Run subtracted = run(mlp_file(tmp, {300, 100}), tl, {}, no_dup());
    const LayerCost &ck = layer(kept, "fc0"), &cs = layer(subtracted, "fc0");
    CHECK(comp(cs, CC::adc).events == comp(ck, CC::adc).events);
    CHECK(comp(cs, CC::shift_add).events == doctest::Approx(comp(ck, CC::shift_add).events + 300 + 100));
}

TEST_CASE("isaac, a 300x100 Gemm with analog differential readout: the same columns read, one conversion per pair") {
    // 8-bit weights, differential pairs in 2-bit cells: 4 slices per side, 8 columns per weight ->
    // 16 outputs per 128-column array. Row tiles 128, 128, 44; column tiles 6 x 16 + 4.
    TempDir tmp;
    const auto layer_cost = [&](const char* readout) {
        const DeviceSpec d = load_device("isaac", {"weight.bits=8", "quant.weight_bits=8", "weight.encoding=differential",
                                                   std::string("weight.differential_readout=") + readout});
        const Run r = run(mlp_file(tmp, {300, 100}), d, {}, no_dup());
        const LayerMapping* L = r.mapping.find("fc0");
        REQUIRE(L);
        CHECK(L->cols_per_output == 8);
        CHECK(L->outputs_per_array == 16);
        CHECK(L->col_tiles == 7);
        CHECK(L->arrays == 21);
        return layer(r, "fc0");
    };
    const LayerCost digital = layer_cost("digital"), analog = layer_cost("analog");
    const double col_reads = 16 * 3 * (6 * 128 + 4 * 8);  // 16 input cycles, 3 row tiles
    CHECK(comp(digital, CC::array_read).events == doctest::Approx(col_reads));
    CHECK(comp(analog, CC::array_read).events == doctest::Approx(col_reads));  // both bit lines of a pair conduct
    CHECK(comp(digital, CC::adc).events == doctest::Approx(col_reads));
    CHECK(comp(analog, CC::adc).events == doctest::Approx(col_reads / 2));
    // ISAAC's ADC is priced at the rate it runs (anchored at 1.28 GS/s, above the 8-bit corner of the
    // survey frontier): converting 64 pairs instead of 128 columns per 100 ns cycle, a conversion costs less.
    const double digital_pj = comp(digital, CC::adc).energy_j / comp(digital, CC::adc).events;
    const double analog_pj = comp(analog, CC::adc).energy_j / comp(analog, CC::adc).events;
    CHECK(analog_pj < digital_pj);
    CHECK(analog_pj > 0.8 * digital_pj);
    CHECK(comp(analog, CC::shift_add).events == doctest::Approx(col_reads / 2 + 100 * 2));  // + 2 row-tile accumulations
    // The ADC shared by 128 columns converts 64 pairs per cycle: 16 x 64 x 0.78125 ns.
    CHECK(comp(digital, CC::adc).latency_s == doctest::Approx(16 * 128 * 0.78125e-9));
    CHECK(comp(analog, CC::adc).latency_s == doctest::Approx(16 * 64 * 0.78125e-9));
}

TEST_CASE("per-layer latency and energy add up to the totals") {
    TempDir tmp;
    for (const std::string name : {"isaac", "wtm2101", "tsmc7_sram_analog", "tsmc22_sram_digital", "mram_princeton22",
                                   "intel22_c2c"}) {
        CAPTURE(name);
        const DeviceSpec d = load_device(name);
        for (int batch : {1, 3}) {
            CostOptions o;
            o.batch = batch;
            const Run r = run(cnn_file(tmp, 3, 8, 8, 10), d, o);
            REQUIRE(r.report.latency_s);
            REQUIRE(r.report.energy_j);
            CHECK(sum_layer_latency(r.report) == doctest::Approx(*r.report.latency_s).epsilon(1e-12));
            CHECK(sum_layer_energy(r.report) == doctest::Approx(*r.report.energy_j).epsilon(1e-12));
            double by_component = 0;
            for (const auto& c : r.report.components)
                if (c.known) by_component += c.energy_j;
            CHECK(by_component == doctest::Approx(*r.report.energy_j).epsilon(1e-12));
            CHECK(*r.report.energy_j > 0);
            CHECK(*r.report.tops_per_w > 0);
            CHECK(r.report.area_mm2 > 0);
        }
    }
}

TEST_CASE("scaling one component's energy in the YAML changes the total by exactly that component's share") {
    TempDir tmp;
    const std::string model = cnn_file(tmp, 3, 8, 8, 10);
    struct Case { const char* device; const char* key; double value; CC component; };
    const Case cases[] = {
        {"isaac", "energy.adc_pj_per_conversion", 1.5625, CC::adc},
        {"isaac", "energy.row_drive_pj_per_row", 0.390625, CC::row_drive},
        {"isaac", "energy.array_read_pj_per_column", 0.23535, CC::array_read},
        {"isaac", "energy.shift_add_pj_per_op", 0.01953125, CC::shift_add},
        {"isaac", "energy.input_buffer_pj_per_byte", 2.7721, CC::input_buffer},
        {"isaac", "energy.output_buffer_pj_per_byte", 2.3125, CC::output_buffer},
        {"isaac", "energy.interconnect_pj_per_byte", 5.46875, CC::interconnect},
        {"isaac", "energy.digital_pj_per_op", 1.0104, CC::digital},
        {"wtm2101", "energy.array_read_pj_per_cell", 2.25, CC::array_read},
        {"wtm2101", "energy.leakage_mw_per_tile", 0.126, CC::leakage},
        {"intel22_c2c", "energy.adc_pj_per_conversion", 1.3516, CC::adc},
    };
    for (const Case& c : cases) {
        CAPTURE(c.device);
        CAPTURE(c.key);
        const Run base = run(model, load_device(c.device));
        const double share = comp(base.report, c.component).energy_j;
        REQUIRE(share > 0);
        for (double k : {0.0, 0.5, 3.0}) {
            std::string set = c.key;  // (built in steps: GCC 12 warns falsely on string operator+ chains here)
            set += "=";
            set += std::to_string(c.value * k);
            const Run scaled = run(model, load_device(c.device, {set}));
            CHECK(*scaled.report.energy_j - *base.report.energy_j == doctest::Approx((k - 1) * share).epsilon(1e-9));
            CHECK(*scaled.report.latency_s == doctest::Approx(*base.report.latency_s));
        }
    }
}

TEST_CASE("bit-serial cycles: halving the input bits halves the array energy and time") {
    TempDir tmp;
    const std::string model = mlp_file(tmp, {256, 64});
    const Run r16 = run(model, load_device("isaac"), {}, no_dup());
    const Run r8 = run(model, load_device("isaac", {"input.bits=8", "quant.activation_bits=8"}), {}, no_dup());
    for (CC c : {CC::adc, CC::row_drive, CC::array_read}) {
        CAPTURE(to_string(c));
        CHECK(comp(layer(r8, "fc0"), c).energy_j == doctest::Approx(comp(layer(r16, "fc0"), c).energy_j / 2));
    }
    CHECK(layer(r8, "fc0").latency_s == doctest::Approx(layer(r16, "fc0").latency_s / 2));
}

TEST_CASE("ADC sharing: a cycle takes max(read, columns per ADC x conversion) when pipelined, the sum otherwise") {
    TempDir tmp;
    const std::string model = mlp_file(tmp, {256, 128});
    // mram_princeton22: 8 columns per ADC x 10 ns = 80 ns > 20 ns read; 4 bit-serial cycles.
    const Run r = run(model, load_device("mram_princeton22"), {}, no_dup());
    const LayerCost& c = layer(r, "fc0");
    CHECK(c.bound_by == CC::adc);
    CHECK(c.latency_s == doctest::Approx(4 * 80e-9));
    const Run shared16 = run(model, load_device("mram_princeton22", {"array.adc.cols_per_adc=16"}), {}, no_dup());
    CHECK(layer(shared16, "fc0").latency_s == doctest::Approx(4 * 160e-9));
    const Run serial = run(model, load_device("mram_princeton22", {"latency.pipelined=false"}), {}, no_dup());
    CHECK(layer(serial, "fc0").latency_s == doctest::Approx(4 * (20e-9 + 80e-9)));
    // Energy does not depend on the sharing: the same conversions happen.
    CHECK(*shared16.report.energy_j == doctest::Approx(*r.report.energy_j));
}

TEST_CASE("duplication splits the vectors among copies; batch multiplies them") {
    TempDir tmp;
    const std::string model = cnn_file(tmp, 3, 16, 16, 10);
    const DeviceSpec d = load_device("isaac");
    const Run one = run(model, d, {}, no_dup());
    const Run dup = run(model, d);
    const LayerMapping* Ld = dup.mapping.find("conv");
    REQUIRE(Ld->duplication > 1);
    const double vectors = double(Ld->vectors);  // 16 x 16 output pixels
    CHECK(layer(one, "conv").latency_s == doctest::Approx(vectors * 1.6e-6));
    CHECK(layer(dup, "conv").latency_s == doctest::Approx(std::ceil(vectors / double(Ld->duplication)) * 1.6e-6));
    // Duplicates do the same work: the energy per inference is unchanged.
    CHECK(comp(layer(dup, "conv"), CC::adc).energy_j == doctest::Approx(comp(layer(one, "conv"), CC::adc).energy_j));

    CostOptions b4;
    b4.batch = 4;
    const Run batch = run(model, d, b4, no_dup());
    CHECK(layer(batch, "conv").latency_s == doctest::Approx(4 * vectors * 1.6e-6));
    CHECK(*batch.report.energy_j == doctest::Approx(*one.report.energy_j));  // per inference, no leakage on isaac
    CHECK(*batch.report.throughput_inf_per_s == doctest::Approx(4 / *batch.report.latency_s));
    // A layer pipeline overlaps the layers: throughput is set by the slowest stage.
    double slowest = 0;
    for (const auto& l : batch.report.layers) slowest = std::max(slowest, l.stage_s);
    CHECK(*batch.report.throughput_pipelined_inf_per_s == doctest::Approx(1 / slowest));
    CHECK(*batch.report.latency_pipelined_s < *batch.report.latency_s);
}

TEST_CASE("leakage: static power times the run time, per inference") {
    TempDir tmp;
    const Run r = run(mlp_file(tmp, {128, 64, 10}), load_device("wtm2101"));
    const double leak_w = 0.126e-3;  // one tile
    CHECK(r.report.leakage_w == doctest::Approx(leak_w));
    CHECK(comp(r.report, CC::leakage).energy_j == doctest::Approx(leak_w * *r.report.latency_s));
}

TEST_CASE("a model spread over several chips pays for chip-to-chip transfers") {
    TempDir tmp;
    // 4 arrays per chip: the three layers land on different chips.
    const DeviceSpec d = load_device("isaac", {"chip.tiles=1", "chip.macros_per_tile=4"});
    const Run r = run(mlp_file(tmp, {256, 128, 128, 10}), d, {}, no_dup());
    REQUIRE(r.mapping.chips > 1);
    const ComponentCost& link = comp(r.report, CC::chip_link);
    CHECK(link.events > 0);
    CHECK(link.energy_j == doctest::Approx(link.events * 406.25e-12));
    // On one big chip nothing crosses.
    const Run one = run(mlp_file(tmp, {256, 128, 128, 10}), load_device("isaac"), {}, no_dup());
    CHECK(one.mapping.chips == 1);
    CHECK(comp(one.report, CC::chip_link).events == 0);
}

TEST_CASE("a model time-multiplexed on too few chips pays for reloading weights, or its totals are unknown") {
    TempDir tmp;
    // wtm2101 is a one-chip device: a 2000x2000 layer needs several arrays.
    const std::string model = mlp_file(tmp, {2000, 2000});
    const Run r = run(model, load_device("wtm2101"));
    REQUIRE_FALSE(r.mapping.fits_device);
    CHECK_FALSE(r.report.energy_j.has_value());
    CHECK_FALSE(r.report.latency_s.has_value());
    CHECK_FALSE(comp(r.report, CC::weight_program).known);
    bool noted = false;
    for (const auto& n : r.report.notes) noted |= n.find("weight_program_pj_per_cell") != std::string::npos;
    CHECK(noted);

    const DeviceSpec with = load_device("wtm2101", {"energy.weight_program_pj_per_cell=100",
                                                     "latency.weight_program_ns_per_row=1000"});
    const Run p = run(model, with);
    REQUIRE(p.report.energy_j.has_value());
    const double arrays = double(p.mapping.arrays_used), rounds = arrays;  // one array per round
    REQUIRE(rounds > 1);
    const ComponentCost& wp = comp(p.report, CC::weight_program);
    double cells = 0;
    for (const auto& L : p.mapping.layers) cells += double(L.used_cells);
    CHECK(wp.events == doctest::Approx(cells * (rounds - 1) / rounds));
    CHECK(wp.energy_j == doctest::Approx(wp.events * 100e-12));
    CHECK(wp.latency_s == doctest::Approx((rounds - 1) * 1792 * 1000e-9));
    CHECK_FALSE(p.report.pipelining_possible);
    CHECK(*p.report.latency_pipelined_s == doctest::Approx(*p.report.latency_s));
}

TEST_CASE("data densities scale row drive with the input and cells with input x weight") {
    TempDir tmp;
    const std::string model = mlp_file(tmp, {256, 64});
    const DeviceSpec d = load_device("intel22_c2c");  // row drive, per cell and per column energies
    const Run ref = run(model, d, {}, no_dup());
    CostOptions o;
    o.stats.layers["fc0"] = {0.25, 0.1};  // reference 0.5, 0.5
    o.stats.source = "test";
    const Run s = run(model, d, o, no_dup());
    const LayerCost &a = layer(ref, "fc0"), &b = layer(s, "fc0");
    CHECK(b.input_density == 0.25);
    CHECK(b.weight_density == 0.1);
    CHECK(b.density_source == "test");
    CHECK(a.density_source.find("reference") == 0);
    CHECK(comp(b, CC::row_drive).energy_j == doctest::Approx(comp(a, CC::row_drive).energy_j * 0.5));
    // array_read = per-column part (fixed) + per-cell part (x 0.5 x 0.2).
    const double cols = comp(a, CC::array_read).energy_j - a.components[0].events * 0.024845e-12;
    CHECK(comp(b, CC::array_read).energy_j == doctest::Approx(cols + (comp(a, CC::array_read).energy_j - cols) * 0.1));
    CHECK(comp(b, CC::adc).energy_j == doctest::Approx(comp(a, CC::adc).energy_j));  // ADC: data-independent
    CHECK(b.latency_s == a.latency_s);
}

TEST_CASE("activation statistics files: values, defaults and errors") {
    TempDir tmp;
    std::ofstream(tmp.file("ok.json")) << R"({"input_density": 0.2, "layers": {"fc0": {"weight_density": 0.3}}})";
    const DataStats s = load_data_stats(tmp.file("ok.json"));
    CHECK(*s.defaults.input_density == 0.2);
    CHECK_FALSE(s.defaults.weight_density);
    CHECK(*s.layers.at("fc0").weight_density == 0.3);

    std::ofstream(tmp.file("range.json")) << R"({"layers": {"fc0": {"input_density": 1.5}}})";
    CHECK_THROWS_WITH_AS(load_data_stats(tmp.file("range.json")),
                         doctest::Contains("layers.fc0.input_density: 1.5 is outside [0, 1]"), InputError);
    std::ofstream(tmp.file("key.json")) << R"({"input_densty": 0.2})";
    CHECK_THROWS_WITH_AS(load_data_stats(tmp.file("key.json")), doctest::Contains("unknown key 'input_densty'"), InputError);
    std::ofstream(tmp.file("bad.json")) << "{";
    CHECK_THROWS_WITH_AS(load_data_stats(tmp.file("bad.json")), doctest::Contains("not valid JSON"), InputError);
    CHECK_THROWS_AS(load_data_stats(tmp.file("missing.json")), InputError);
}

TEST_CASE("every component names its provenance; a device without a chip link leaves host I/O out, noted") {
    TempDir tmp;
    const std::string model = mlp_file(tmp, {128, 64});
    for (const auto& name : bundled_device_names()) {
        CAPTURE(name);
        const Run r = run(model, load_device(name));
        for (std::size_t k = 0; k < kCostComponents; ++k) {
            CAPTURE(to_string(CostComponent(k)));
            CHECK_FALSE(r.report.info[k].energy_source.empty());
            CHECK_FALSE(r.report.info[k].latency_source.empty());
        }
        for (const auto& a : r.report.area) CHECK_FALSE(a.source.empty());
    }
    const Run w = run(model, load_device("wtm2101"));
    CHECK_FALSE(comp(w.report, CC::host_transfer).known);
    CHECK(comp(w.report, CC::host_transfer).energy_j == 0);
    bool noted = false;
    for (const auto& n : w.report.notes) noted |= n.find("host transfers") != std::string::npos;
    CHECK(noted);
    CHECK(w.report.energy_j.has_value());  // excluded and said so, not a silent zero
}

TEST_CASE("area: whole chips, per component") {
    TempDir tmp;
    const Run r = run(mlp_file(tmp, {128, 64}), load_device("isaac"));
    CHECK(r.report.area_mm2 == doctest::Approx(85.43).epsilon(0.001));
    double sum = 0;
    for (const auto& a : r.report.area) sum += a.area_mm2;
    CHECK(sum == doctest::Approx(r.report.area_mm2));
    CHECK(r.report.area[std::size_t(AreaComponent::adcs)].count == 168 * 96);
}

TEST_CASE("breakdown plots are SVG for every bundled config") {
    TempDir tmp;
    const std::string model = cnn_file(tmp, 3, 8, 8, 10);
    for (const auto& name : bundled_device_names()) {
        CAPTURE(name);
        const DeviceSpec d = load_device(name);
        const Run r = run(model, d);
        const std::string svg = cost_breakdown_svg(r.report, r.mapping, d);
        CHECK(svg.rfind("<svg", 0) == 0);
        CHECK(svg.find("</svg>") != std::string::npos);
        CHECK(svg.find("adc") != std::string::npos);
        CHECK(svg.find("conv") != std::string::npos);
        const std::string peak = peak_breakdown_svg(peak_figures(d), d);
        CHECK(peak.rfind("<svg", 0) == 0);
        CHECK(peak.find(">nan") == std::string::npos);
        CHECK(peak.find(" nan") == std::string::npos);
    }
}

TEST_CASE("batch below 1 is an input error") {
    TempDir tmp;
    const DeviceSpec d = load_device("isaac");
    const Graph g = specialize_batch(import_onnx(mlp_file(tmp, {16, 4})), 1);
    const Mapping m = map_model(g, d);
    CostOptions o;
    o.batch = 0;
    CHECK_THROWS_AS(estimate_cost(g, m, d, o), InputError);
}
