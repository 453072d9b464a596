// The digital kinds: the DSP48E2 INT8 packing the FPGA model's "2 MACs per DSP" rests on, computed
// in plain integer arithmetic; hand-computed GEMM latencies on an NPU MAC array and on DSP slices;
// the kind rules of the schema (a CIM key on a digital device, an npu key on a CIM chip).
#include "cost_test_util.h"

#include <cim/cimsim/dsp_packing.h>
#include <cim/error.h>

#include <random>

using namespace cim;
using namespace cost_test;
using CC = CostComponent;

namespace {

const char* kNpu = R"(name: tiny_npu
kind: digital_npu
node_nm: 28
npu:
  rows: 64
  cols: 32
  dataflow: systolic
  clock_mhz: 100
  weight_buffer_kib: 1
  activation_buffer_kib: 1024
  dram_gb_per_s: 100
  mac_pj: 0.5
  sram_pj_per_byte: 1
  dram_pj_per_byte: 100
  vector_pj_per_op: 0.1
  static_mw: 10
)";

const char* kFpga = R"(name: tiny_fpga
kind: fpga_dsp
node_nm: 16
fpga:
  dsp_slices: 100
  luts: 1000000
  bram_kib: 2048
  clock_mhz: 100
  dram_gb_per_s: 100
  dsp_pj_per_cycle: 0.3
  bram_pj_per_byte: 1
  dram_pj_per_byte: 100
  fabric_pj_per_op: 0.1
)";

std::string parse_error(const std::string& text, const std::vector<std::string>& sets = {}) {
    try {
        parse_device(text, "tiny.yaml", sets);
    } catch (const InputError& e) {
        return e.what();
    }
    return "";
}

// One Gemm of K inputs and N outputs, run for a batch of M vectors.
struct GemmRun {
    Mapping m;
    CostReport r;
};
GemmRun run_gemm(const DeviceSpec& d, int64_t K, int64_t N, int M) {
    TempDir tmp;
    const Graph g = specialize_batch(import_onnx(mlp_file(tmp, {K, N}, false, "gemm.onnx")), 1);
    GemmRun out;
    out.m = map_model(g, d);
    CostOptions o;
    o.batch = M;
    out.r = estimate_cost(g, out.m, d, o);
    return out;
}

const LayerCost& gemm_layer(const GemmRun& run) {
    for (const auto& l : run.r.layers)
        if (run.m.layers[size_t(l.layer)].placement == Placement::arrays) return l;
    FAIL("no Gemm layer");
    return run.r.layers.front();
}

}  // namespace

TEST_CASE("DSP48E2 packing: two INT8 products from one 27x18 multiply, bit for bit") {
    namespace p = dsp48e2;
    auto check = [](int a, int b, int x) {
        const int64_t r = p::multiply(p::pack_port_a(int8_t(a), int8_t(b)), x);
        const p::Products got = p::unpack(r);
        INFO(a, " ", b, " ", x);
        CHECK(got.high == int64_t(a) * x);
        CHECK(got.low == int64_t(b) * x);
        // Without the correction the high product is one short exactly when the low one is negative.
        CHECK(p::high_field_uncorrected(r) == int64_t(a) * x - (int64_t(b) * x < 0 ? 1 : 0));
    };
    const int extremes[] = {-128, -127, -1, 0, 1, 126, 127};
    for (int a : extremes)
        for (int b : extremes)
            for (int x : extremes) check(a, b, x);
    std::mt19937 rng(16);
    std::uniform_int_distribution<int> i8(-128, 127);
    for (int t = 0; t < 20000; ++t) check(i8(rng), i8(rng), i8(rng));
    // The 48-bit accumulator adds up to 7 packed products before the low field must be unpacked.
    for (int t = 0; t < 2000; ++t) {
        int64_t acc = 0, high = 0, low = 0;
        for (int k = 0; k < p::kPackedAccumulations; ++k) {
            const int a = t == 0 ? -128 : i8(rng), b = t == 0 ? -128 : i8(rng), x = t == 0 ? -128 : i8(rng);
            acc = p::sign_extend(acc + p::multiply(p::pack_port_a(int8_t(a), int8_t(b)), x), p::kResultBits);
            high += int64_t(a) * x;
            low += int64_t(b) * x;
        }
        const p::Products got = p::unpack(acc);
        CHECK(got.high == high);
        CHECK(got.low == low);
    }
    CHECK(p::macs_per_cycle(8, true) == 2);
    CHECK(p::macs_per_cycle(8, false) == 1);
    CHECK(p::macs_per_cycle(16, true) == 1);
}

TEST_CASE("digital NPU: a GEMM's latency on the MAC array by hand") {
    const DeviceSpec d = parse_device(kNpu, "tiny.yaml");
    // K = 300, N = 50 on 64 x 32: 5 row tiles x 2 column tiles; M = 1000 vectors (the batch).
    const GemmRun run = run_gemm(d, 300, 50, 1000);
    const LayerMapping* L = run.m.find("fc0");  // points into `run`, a named object
    REQUIRE(L != nullptr);
    CHECK(L->row_tiles == 5);
    CHECK(L->col_tiles == 2);
    CHECK(run.m.chips == 1);
    CHECK(L->utilization == doctest::Approx(300.0 * 50 / (5 * 64 * 2 * 32)));
    const LayerCost& c = gemm_layer(run);
    // Systolic: 10 tiles x (max(1000, 64) + 64 + 32 - 2) = 10,940 cycles at 100 MHz.
    CHECK(c.latency_s == doctest::Approx(10940 / 100e6));
    CHECK(c.bound_by == CC::mac);
    // MAC energy per inference: 300 x 50 MACs x 0.5 pJ.
    CHECK(c.components[size_t(CC::mac)].energy_j == doctest::Approx(300 * 50 * 0.5e-12));
    // DRAM per batch: weights 15,000 B (the 1 KiB weight buffer cannot keep them) + the graph input
    // 300,000 B + output 50,000 B.
    CHECK(c.components[size_t(CC::dram)].events * 1000 == doctest::Approx(365000));

    const DeviceSpec tree = parse_device(kNpu, "tiny.yaml", {"npu.dataflow=adder_tree"});
    const GemmRun tree_run = run_gemm(tree, 300, 50, 1000);
    CHECK(gemm_layer(tree_run).latency_s == doctest::Approx(10 * (1000 + 6) / 100e6));
    // At 1 GB/s the 365,000 bytes take 365 us: DRAM-bound.
    const DeviceSpec slow = parse_device(kNpu, "tiny.yaml", {"npu.dram_gb_per_s=1"});
    const GemmRun slow_run = run_gemm(slow, 300, 50, 1000);
    CHECK(gemm_layer(slow_run).latency_s == doctest::Approx(365e-6));
    CHECK(gemm_layer(slow_run).bound_by == CC::dram);
}

TEST_CASE("FPGA: a GEMM's latency on DSP slices by hand, packed and not, LUT-bound") {
    const DeviceSpec d = parse_device(kFpga, "tiny.yaml");
    // Packed: 1000 vectors x ceil(50 / 2) output pairs x 300 terms / 100 slices = 75,000 cycles.
    const GemmRun run = run_gemm(d, 300, 50, 1000);
    CHECK(gemm_layer(run).latency_s == doctest::Approx(75000 / 100e6));
    // DSP energy per inference: 25 x 300 slice-cycles x 0.3 pJ; static power unknown: totals unknown.
    CHECK(gemm_layer(run).components[size_t(CC::mac)].energy_j == doctest::Approx(25 * 300 * 0.3e-12));
    CHECK_FALSE(run.r.energy_j.has_value());
    CHECK(run.r.latency_s.has_value());
    const DeviceSpec unpacked = parse_device(kFpga, "tiny.yaml", {"fpga.int8_packing=false"});
    const GemmRun unpacked_run = run_gemm(unpacked, 300, 50, 1000);
    CHECK(gemm_layer(unpacked_run).latency_s == doctest::Approx(150000 / 100e6));
    // 5,000 LUTs at 100 per busy slice leave 50 of the 100 slices.
    const DeviceSpec luts = parse_device(kFpga, "tiny.yaml", {"fpga.luts=5000", "fpga.luts_per_dsp=100"});
    const GemmRun lut_run = run_gemm(luts, 300, 50, 1000);
    CHECK(gemm_layer(lut_run).latency_s == doctest::Approx(150000 / 100e6));
    const DeviceSpec known = parse_device(kFpga, "tiny.yaml", {"fpga.static_mw=500"});
    const GemmRun known_run = run_gemm(known, 300, 50, 1000);
    CHECK(known_run.r.energy_j.has_value());
}

TEST_CASE("device kinds: keys of another kind are errors at their line") {
    const std::string cim_key = parse_error(std::string(kNpu) + "array:\n  rows: 4\n");
    CHECK(cim_key.find("tiny.yaml:17") != std::string::npos);
    CHECK(cim_key.find("belongs to kind cim devices; this device is kind digital_npu") != std::string::npos);
    const std::string npu_on_fpga = parse_error(std::string(kFpga) + "npu:\n  rows: 4\n");
    CHECK(npu_on_fpga.find("belongs to kind digital_npu devices; this device is kind fpga_dsp") != std::string::npos);
    const std::string npu_on_cim = parse_error("", {"npu.rows=4"});
    CHECK(npu_on_cim.find("npu: belongs to kind digital_npu devices; this device is kind cim") != std::string::npos);
    CHECK(parse_error(kNpu, {"npu.precision_bits=12"}).find("use 8 (INT8) or 16 (INT16)") != std::string::npos);
    CHECK(parse_error(kFpga, {"fpga.precision_bits=16", "fpga.int8_packing=true"}).find("needs fpga.precision_bits 8") !=
          std::string::npos);
    CHECK(parse_error(kFpga, {"fpga.precision_bits=16"}).empty());  // packing's default gives way at 16 bits
    // The digital device's CIM view: an exact integer datapath for the quantizer and simulator.
    const DeviceSpec d = parse_device(kNpu, "tiny.yaml");
    CHECK(d.kind == DeviceKind::digital_npu);
    CHECK(d.array.adc.range == AdcRange::none);
    CHECK(d.weight.bits == 8);
    CHECK(d.quant.weight_bits == 8);
    for (const auto& c : list_costs(d)) CHECK(c.path.rfind("npu.", 0) == 0);
}

TEST_CASE("device variants of a digital device equal a full read (sweeps' fast path)") {
    const DeviceVariants npu("tpu_v1_like");
    for (const std::vector<std::string>& sets : std::vector<std::vector<std::string>>{
             {"npu.rows=128"}, {"npu.precision_bits=16"}, {"npu.dataflow=adder_tree", "npu.clock_mhz=500"}}) {
        const DeviceSpec fast = npu.make(sets);
        const DeviceSpec full = load_device("tpu_v1_like", sets);
        CHECK(fast == full);
        CHECK(mapping_key(fast) == mapping_key(full));
    }
    CHECK(mapping_key(npu.make({"npu.rows=128"})) != mapping_key(npu.base()));
    const DeviceVariants fpga("fpga_dsp_zu7ev");
    const DeviceSpec wide = fpga.make({"fpga.precision_bits=16"});
    CHECK(wide == load_device("fpga_dsp_zu7ev", {"fpga.precision_bits=16"}));
    CHECK(wide.weight.bits == 16);
    CHECK(wide.quant.weight_bits == 16);
    // A CIM key on a digital device fails through the full read, with its message.
    CHECK_THROWS_WITH_AS(fpga.make({"array.adc.bits=6"}), doctest::Contains("belongs to kind cim devices"), InputError);
}
