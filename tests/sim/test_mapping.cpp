// The simulator tiles each layer as the mapper places it (cim::sim::simulation_mapping): a changed
// mapping reaches the simulated reads, the identity with the integer program holds under any tiling,
// and a mapping that disagrees with the quantizer's columns is refused, naming the layer.
#include <doctest/doctest.h>

#include "sim_test_util.h"

#include <cim/cimsim/simulator.h>
#include <cim/error.h>
#include <cim/ir/onnx_import.h>
#include <cim/models/fashion_mnist.h>
#include <cim/quant/quantizer.h>

#include <random>

using namespace cim;

namespace {

struct Quantized {
    DeviceSpec device;
    quant::QuantResult q;
    Tensor images;
};

// LeNet-5 from the zoo on ideal ISAAC arrays with a 9-bit ADC that holds every column sum: every
// read is exact, whatever the tiling.
Quantized lenet5() {
    const std::string data = models::default_fashion_mnist_dir();
    const Tensor calib = sim_test::as_tensor(models::calibration_split(data, 32, 1));
    Quantized out{load_device("isaac", {"weight.bits=8", "cell.bits=2", "weight.encoding=differential", "input.bits=8",
                                        "quant.weight_bits=8", "quant.activation_bits=8", "array.adc.bits=9", "cell.on_off_ratio=.inf"}),
                  {},
                  sim_test::as_tensor(models::load_fashion_mnist(data, models::Split::Test, 4))};
    const Graph g = import_onnx(std::string(CIM_SOURCE_DIR) + "/models/zoo/lenet5/model.onnx");
    out.q = quant::quantize(g, out.device, {calib}, quant::QuantOptions::from_device(out.device));
    return out;
}

struct Reads {
    std::vector<sim::CrossbarBackend::LayerStats> stats;
    Tensor logits;
};

Reads simulate_with(const Quantized& z, const Mapping& mapping) {
    sim::CrossbarBackend backend(z.q.model, z.device, 1, 0, mapping);
    backend.force_bitplanes(true);  // through the planes and the ADC, not the one-GEMM shortcut
    quant::RunOptions ro;
    ro.backend = &backend;
    Reads r;
    r.logits = quant::run_program(z.q.model, {z.images}, ro)[0];
    r.stats = backend.layer_stats();
    return r;
}

}  // namespace

TEST_CASE("the simulator reads each layer as the mapping tiles it") {
    const Quantized z = lenet5();
    const Mapping placed = sim::simulation_mapping(z.q.model, z.device);
    const quant::QuantLayer& fc = z.q.model.layers.back();
    const LayerMapping* fc_placed = placed.find(fc.name);
    REQUIRE(fc_placed != nullptr);
    CHECK(fc_placed->rows_per_array == z.device.array.usable_rows);
    const Tensor exact = quant::run_program(z.q.model, {z.images})[0];

    const Reads as_placed = simulate_with(z, placed);
    // Half the rows per array: the layers with more rows than that read in more groups, each converting
    // every column once per plane.
    Mapping half_rows = placed;
    for (LayerMapping& l : half_rows.layers) l.rows_per_array /= 2;
    const Reads halved = simulate_with(z, half_rows);
    bool some_layer_split = false;
    for (size_t li = 0; li < z.q.model.layers.size(); ++li) {
        const quant::QuantLayer& L = z.q.model.layers[li];
        const std::string name = L.name;  // a named copy for INFO
        INFO(name);
        const int64_t R = placed.find(name)->rows_per_array;
        const int64_t groups = (L.rows() + R - 1) / R, groups_halved = (L.rows() + R / 2 - 1) / (R / 2);
        some_layer_split = some_layer_split || groups_halved > groups;
        CHECK(halved.stats[li].conversions * groups == as_placed.stats[li].conversions * groups_halved);
    }
    CHECK(some_layer_split);
    // Fewer outputs per array (as a mapper keeping columns free would place them): the same columns
    // in more arrays. Offset weights with their reference columns on every array show it in the
    // conversions; here, differential columns, the reads stay exact and their count the same.
    Mapping fewer_outputs = placed;
    for (LayerMapping& l : fewer_outputs.layers) l.outputs_per_array = std::max<int64_t>(1, l.outputs_per_array / 3);
    const Reads fewer = simulate_with(z, fewer_outputs);
    // The identity holds under every tiling.
    for (const Reads* r : {&as_placed, &halved, &fewer}) {
        REQUIRE(r->logits.f.size() == exact.f.size());
        size_t differing = 0;
        for (size_t i = 0; i < exact.f.size(); ++i) differing += r->logits.f[i] != exact.f[i];
        CHECK(differing == 0);
    }
}

TEST_CASE("offset reference columns follow the mapping's outputs per array") {
    // Offset encoding with converted reference columns: one set per array, so a mapping with fewer
    // outputs per array reads more reference columns.
    const std::string data = models::default_fashion_mnist_dir();
    const DeviceSpec device = load_device("isaac", {"weight.bits=8", "cell.bits=2", "weight.encoding=offset", "input.bits=8",
                                                    "quant.weight_bits=8", "quant.activation_bits=8", "array.adc.bits=9",
                                                    "cell.on_off_ratio=.inf", "weight.offset_reference=converted"});
    const Graph g = import_onnx(std::string(CIM_SOURCE_DIR) + "/models/zoo/lenet5/model.onnx");
    const Tensor calib = sim_test::as_tensor(models::calibration_split(data, 32, 1));
    const auto q = quant::quantize(g, device, {calib}, quant::QuantOptions::from_device(device));
    const Mapping placed = sim::simulation_mapping(q.model, device);
    const quant::QuantLayer& L = q.model.layers.front();
    const LayerMapping& l = *placed.find(L.name);
    REQUIRE(l.reference_cols > 0);
    const sim::ProgrammedMatrix as_placed = sim::CrossbarBackend::program(L, 0, device, &l);
    LayerMapping narrower = l;
    narrower.outputs_per_array = 1;
    const sim::ProgrammedMatrix one_per_array = sim::CrossbarBackend::program(L, 0, device, &narrower);
    const int64_t arrays = (L.N + l.outputs_per_array - 1) / l.outputs_per_array;
    CHECK(as_placed.cols == L.N * l.cols_per_output + arrays * l.reference_cols);
    CHECK(one_per_array.cols == L.N * l.cols_per_output + L.N * l.reference_cols);
    CHECK(one_per_array.cols_per_array == l.cols_per_output + l.reference_cols);
}

TEST_CASE("a mapping that disagrees with the quantized layers is refused, naming the layer") {
    const Quantized z = lenet5();
    const Mapping placed = sim::simulation_mapping(z.q.model, z.device);
    const std::string first = z.q.model.layers.front().name;
    Mapping narrow = placed;
    for (LayerMapping& l : narrow.layers)
        if (l.name == first) l.cols_per_output = 1;  // fewer columns than the quantizer's digits need
    try {
        sim::CrossbarBackend backend(z.q.model, z.device, 1, 0, narrow);
        FAIL("a mapping with too few columns per output was accepted");
    } catch (const InternalError& e) {
        const std::string what = e.what();
        CHECK(what.find(first) != std::string::npos);
        CHECK(what.find("columns per output") != std::string::npos);
    }
    Mapping missing = placed;
    std::erase_if(missing.layers, [&](const LayerMapping& l) { return l.name == first; });
    CHECK_THROWS_AS(sim::CrossbarBackend(z.q.model, z.device, 1, 0, missing), InternalError);
}

namespace {

// The zoo MobileNet (depthwise 3 x 3 convolutions of 16 to 64 groups) on 8-bit ISAAC-like arrays
// with a finite ON/OFF ratio (every cell leaks g_off) and no ADC: column sums read exactly, so
// what a read adds is the leak alone.
struct Packed {
    DeviceSpec device;
    quant::QuantResult q;
    Tensor images;
    Mapping mapping;
};

Packed mobilenet(const std::vector<std::string>& encoding) {
    const std::string data = models::default_fashion_mnist_dir();
    std::vector<std::string> sets = {"weight.bits=8", "cell.bits=2", "input.bits=8", "quant.weight_bits=8", "quant.activation_bits=8",
                                     "cell.on_off_ratio=10", "array.adc.range=none", "array.adc.bits=~", "array.adc.cols_per_adc=~",
                                     "energy.adc_pj_per_conversion=~", "latency.adc_ns_per_conversion=~", "area.adc_um2=~"};
    sets.insert(sets.end(), encoding.begin(), encoding.end());
    Packed p{load_device("isaac", sets), {}, sim_test::as_tensor(models::load_fashion_mnist(data, models::Split::Test, 4)), {}};
    const Graph g = import_onnx(std::string(CIM_SOURCE_DIR) + "/models/zoo/mobilenet/model.onnx");
    p.q = quant::quantize(g, p.device, {sim_test::as_tensor(models::calibration_split(data, 32, 1))},
                          quant::QuantOptions::from_device(p.device));
    p.mapping = sim::simulation_mapping(p.q.model, p.device);
    return p;
}

size_t packed_layers(const Packed& p, const sim::CrossbarBackend& backend) {
    size_t packed = 0;
    for (const quant::QuantLayer& L : p.q.model.layers) {
        const int64_t per_array = p.mapping.find(L.name)->groups_per_array;
        CHECK(backend.groups_per_call(L) == per_array);
        packed += per_array > 1;
    }
    return packed;
}

}  // namespace

TEST_CASE("conv groups packed in one array are read together: their reference columns cancel every row's leak") {
    // Offset weights with converted reference columns: each packed group keeps its own, holding
    // its reference digit on its rows and off cells on the others', so the reference reads the
    // same leak of the whole array as the group's weight columns and the result stays exact.
    const Packed p = mobilenet({"weight.encoding=offset", "weight.offset_reference=converted"});
    sim::CrossbarBackend backend(p.q.model, p.device, 1, 0, p.mapping);
    CHECK(packed_layers(p, backend) >= 3);
    quant::RunOptions ro;
    ro.backend = &backend;
    const Tensor simulated = quant::run_program(p.q.model, {p.images}, ro)[0];
    const Tensor exact = quant::run_program(p.q.model, {p.images})[0];
    CHECK(simulated.f == exact.f);
    for (const quant::QuantLayer& L : p.q.model.layers) {
        const LayerMapping& l = *p.mapping.find(L.name);
        if (l.groups_per_array < 2) continue;
        const sim::ProgrammedMatrix block = sim::CrossbarBackend::program_block(L, 0, int(l.groups_per_array), p.device, l);
        CHECK(block.rows == l.groups_per_array * L.rows());
        CHECK(block.cols == l.groups_per_array * (L.N * l.cols_per_output + l.reference_cols));
        CHECK(block.cols <= p.device.array.usable_cols);  // the mapper leaves room for every group's references
    }
}

TEST_CASE("conv groups packed in one array are read together: two's-complement columns see every group's leak") {
    // Without a leak reference each column keeps g_off x the inputs of every row the array drives:
    // a packed group's outputs differ from the same group read alone by exactly g_off x (the other
    // groups' input sum) x the sum of its column weights.
    const Packed p = mobilenet({"weight.encoding=twos_complement"});
    Mapping apart = p.mapping;
    for (LayerMapping& l : apart.layers) l.groups_per_array = 1;
    sim::CrossbarBackend together(p.q.model, p.device, 1, 0, p.mapping), alone(p.q.model, p.device, 1, 0, apart);
    REQUIRE(packed_layers(p, together) >= 3);
    const double g_off = 3.0 / (10 - 1);  // (2^cell.bits - 1) / (on_off_ratio - 1)
    std::mt19937 rng(7);
    for (const quant::QuantLayer& L : p.q.model.layers) {
        const int64_t count = std::min(together.groups_per_call(L), L.groups);
        if (count < 2) continue;
        const std::string name = L.name;
        INFO(name);
        CHECK(alone.groups_per_call(L) == 1);
        const int64_t V = 37, R = L.rows(), N = L.N;
        std::uniform_int_distribution<int32_t> code(L.input.code_min, L.input.code_max);
        std::vector<int32_t> x(size_t(V * count * R));
        for (int32_t& v : x) v = code(rng);
        quant::MvmContext ctx;
        ctx.items = V;
        std::vector<int64_t> block(size_t(V * count * N));
        together.mvm(L, 0, x.data(), V, block.data(), ctx);
        int64_t weight_sum = 0;
        for (int64_t w : L.digits.column_weight) weight_sum += w;
        std::vector<int32_t> xg(size_t(V * R));
        std::vector<int64_t> own(size_t(V * N));
        double worst = 0;
        for (int64_t i = 0; i < count; ++i) {
            for (int64_t v = 0; v < V; ++v) std::copy_n(x.data() + (v * count + i) * R, R, xg.data() + v * R);
            alone.mvm(L, int(i), xg.data(), V, own.data(), ctx);
            for (int64_t v = 0; v < V; ++v) {
                int64_t others = 0;  // the other groups' input sum on this vector
                for (int64_t k = 0; k < count * R; ++k)
                    if (k / R != i) others += x[size_t(v * count * R + k)];
                for (int64_t n = 0; n < N; ++n) {
                    const double extra = double(block[size_t((v * count + i) * N + n)] - own[size_t(v * N + n)]);
                    worst = std::max(worst, std::fabs(extra - g_off * double(others) * double(weight_sum)));
                }
            }
        }
        CHECK(worst <= 1.0);  // each of the two results rounded to an integer once
    }
    // The digital leak reference subtracts the nominal leak of every driven row: exact again.
    const Packed r = mobilenet({"weight.encoding=twos_complement", "weight.leak_reference=digital"});
    sim::CrossbarBackend referenced(r.q.model, r.device, 1, 0, r.mapping);
    quant::RunOptions ro;
    ro.backend = &referenced;
    CHECK(quant::run_program(r.q.model, {r.images}, ro)[0].f == quant::run_program(r.q.model, {r.images})[0].f);
}
