// Reads through a reserved workspace allocate nothing (issue #21: the plan sizes every thread's
// scratch in advance): counted by replacing the global operator new in this test binary only.
// Each kernel (popcount, int8 dot products, float conductance rows in float and double, the one-GEMM
// shortcut) with noise, oracle ranges and analog pairs; the backend's mvm once its scratch is made.
// The results equal the allocating convenience run, also when a call is split into blocks.
#include <doctest/doctest.h>

#include "sim_test_util.h"

#include <cim/cimsim/crossbar.h>
#include <cim/cimsim/simulator.h>
#include <cim/device/device_spec.h>
#include <cim/ir/onnx_import.h>
#include <cim/models/fashion_mnist.h>
#include <cim/quant/quantizer.h>

#include "kernel_test_util.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>

namespace {
std::atomic<int64_t> allocations{0};

void* counted(std::size_t n) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void* counted_aligned(std::size_t n, std::align_val_t a) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    const std::size_t align = std::size_t(a);
    if (void* p = std::aligned_alloc(align, (n + align - 1) / align * align)) return p;
    throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t n) { return counted(n); }
void* operator new[](std::size_t n) { return counted(n); }
void* operator new(std::size_t n, std::align_val_t a) { return counted_aligned(n, a); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted_aligned(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

using namespace cim;
using namespace cim::sim;
using namespace kernel_test;
using sim_test::random_inputs;
using sim_test::random_matrix;

namespace {


// Runs `layer` through a freshly reserved workspace: no allocation, the same outputs as the
// convenience run, and the same when the call is split at vector 7 (first_vector 7).
void check_reads(const CrossbarLayer& layer, const std::vector<int32_t>& x, int64_t V) {
    const int64_t K = layer.rows(), N = layer.outputs();
    std::vector<double> reference(size_t(V * N)), through(size_t(V * N), -1.0), split(size_t(V * N), -2.0);
    const int64_t convenience = allocations.load();
    layer.run(x.data(), V, reference.data(), 9);
    CHECK(allocations.load() > convenience);  // its own workspace: the counter sees it
    ReadWorkspace ws;
    layer.reserve(ws);
    CHECK(ws.capacity_bytes() > 0);
    const int64_t before = allocations.load();
    layer.run(x.data(), V, through.data(), 9, ws);
    layer.run(x.data(), 7, split.data(), 9, ws, 0);
    layer.run(x.data() + 7 * K, V - 7, split.data() + 7 * N, 9, ws, 7);
    const int64_t allocated = allocations.load() - before;
    CHECK(allocated == 0);
    CHECK(through == reference);
    CHECK(split == reference);
}

}  // namespace

TEST_CASE("reads through a reserved workspace allocate nothing, every kernel, the same results") {
    const std::vector<LayerCase> cases{  // `exact` unused here
        {"2-bit cells, 1-bit DAC, read and ADC noise", "isaac", isaac_with({}), 0, 3, 0, 255, false, false, false, false},
        {"2-bit DAC, ragged reads of 50 rows", "isaac", isaac_with({"input.dac_bits=2", "array.max_active_rows=50"}), 0, 3, 0, 255, false,
         false, false, false},
        {"multi-bit inputs, oracle ranges", "isaac", isaac_with({"input.mode=multi_bit", "input.dac_bits=8", "array.adc.range=oracle"}), 0, 3,
         0, 255, false, false, false, false},
        {"two's-complement inputs, per-plane ranges", "isaac",
         isaac_with({"input.signed_handling=twos_complement", "array.adc.range=calibrated_plane"}), 0, 3, -127, 127, true, false, false, false},
        {"bipolar inputs", "isaac", isaac_with({"array.adc.range=calibrated_layer"}), 0, 3, -127, 127, false, true, false, false},
        {"analog differential pairs, IR drop", "isaac", isaac_with({"noise.ir_drop=0.05"}), 0, 3, 0, 255, false, false, true, false},
        {"native signed cells, no ADC (double sums)", "wtm2101",
         {"array.adc.range=none", "array.adc.bits=~", "array.adc.cols_per_adc=~", "energy.adc_pj_per_conversion=~",
          "latency.adc_ns_per_conversion=~", "area.adc_um2=~", "cell.on_off_ratio=.inf", "noise.programming_sigma=0"},
         -275, 275, 0, 255, false, false, false, false},
        {"1-bit cells, ON/OFF 10", "isaac", isaac_with({"cell.bits=1", "weight.encoding=offset", "array.capacity_bits=16384",
                                                        "cell.on_off_ratio=10"}),
         0, 1, 0, 255, false, false, false, false},
        {"programming variation (float rows only)", "isaac", isaac_with({"noise.programming_sigma=0.05"}), 0, 3, 0, 255, false, false,
         false, false},
        {"programming variation, bipolar inputs (fixed point: -1 plane values)", "isaac",
         isaac_with({"noise.programming_sigma=0.05", "array.adc.range=calibrated_layer"}), 0, 3, -127, 127, false, true, false, false},
    };
    for (const LayerCase& c : cases) {
        INFO(std::string(c.what));
        const DeviceSpec d = load_device(c.device, c.sets);
        const ProgrammedMatrix m = case_matrix(c);
        const int64_t V = 45;  // more than one block of every kernel
        const auto x = random_inputs(V, m.rows, c.input_lo, c.input_hi, 42);
        CrossbarLayer layer(d, m, 5, 1, 2);
        const AdcRange range = d.array.adc.range;
        if (range != AdcRange::none && range != AdcRange::full_scale && range != AdcRange::oracle) {
            std::vector<double> maxima;
            layer.observe_nominal(x.data(), V, maxima);
            layer.merge_calibration(maxima);
            layer.finish_calibration();
        }
        if (layer.exact()) layer.force_bitplanes(true);  // ideal reads: through the bit planes all the same
        int kernels = 0;
        for (const SumKernel k : {SumKernel::popcount, SumKernel::int8_dot, SumKernel::float_rows, SumKernel::fixed_rows}) {
            if (!layer.supports(k)) continue;
            const int kernel_id = int(k);
            CAPTURE(kernel_id);
            layer.force_kernel(k);
            check_reads(layer, x, V);
            ++kernels;
        }
        CHECK(kernels >= 1);
    }
}

TEST_CASE("the one-GEMM shortcut through a reserved workspace allocates nothing, over several blocks") {
    const DeviceSpec d = load_device("isaac", {"array.adc.bits=16", "noise.read_sigma=0", "noise.adc_sigma_lsb=0",
                                               "noise.programming_sigma=0", "cell.on_off_ratio=.inf"});
    const ProgrammedMatrix m = random_matrix(300, 38, 0, 3, 43);
    CrossbarLayer layer(d, m, 5, 1, 2);
    REQUIRE(layer.exact());
    const int64_t V = CrossbarLayer::kExactBlock + 19;
    check_reads(layer, random_inputs(V, m.rows, 0, 255, 44), V);
}

TEST_CASE("the backend's mvm allocates nothing after a thread's first call, and splits calls without changing draws") {
    const std::string data = models::default_fashion_mnist_dir();
    const Tensor calib = sim_test::as_tensor(models::calibration_split(data, 16, 1));
    const Graph g = import_onnx(std::string(CIM_SOURCE_DIR) + "/models/zoo/lenet5/model.onnx");
    const DeviceSpec d = load_device("isaac", {"noise.read_sigma=0.02", "noise.adc_sigma_lsb=0.5", "array.adc.range=full_scale"});
    const auto q = quant::quantize(g, d, {calib}, quant::QuantOptions::from_device(d));
    const Mapping mapping = simulation_mapping(q.model, d);
    for (size_t li = 0; li < q.model.layers.size(); ++li) {
        const quant::QuantLayer& L = q.model.layers[li];
        CAPTURE(L.name);
        const int64_t V = 2 * CrossbarLayer::kExactBlock + 37, K = L.rows(), N = L.N;  // three blocks of a call
        const auto x = random_inputs(V, K, 0, (1 << d.input.bits) - 1, 45 + li);
        quant::MvmContext ctx;
        ctx.first_item = 3;
        ctx.items = V;
        // The whole call in one read of a layer programmed as the backend programs it.
        const CrossbarLayer whole(d, CrossbarBackend::program(L, 0, d, mapping.find(L.name)), 1, 0, li, 0);
        REQUIRE(!whole.exact());
        std::vector<double> y(size_t(V * N));
        whole.run(x.data(), V, y.data(), uint64_t(ctx.first_item));
        std::vector<int64_t> expected(y.size());
        for (size_t i = 0; i < y.size(); ++i) expected[i] = std::llround(y[i]);
        for (const int64_t snr_images : {int64_t(0), int64_t(-1)}) {
            CAPTURE(snr_images);
            CrossbarBackend backend(q.model, d, 1, 0, mapping);
            backend.set_snr_images(snr_images);
            std::vector<int64_t> acc(size_t(V * N), -1), again(size_t(V * N), -2);
            backend.mvm(L, 0, x.data(), V, acc.data(), ctx);  // makes this thread's scratch
            const int64_t before = allocations.load();
            backend.mvm(L, 0, x.data(), V, again.data(), ctx);
            const int64_t allocated = allocations.load() - before;
            if (snr_images == 0) CHECK(allocated == 0);  // without the reference GEMM and its statistics
            CHECK(acc == expected);
            CHECK(again == expected);
            // The same call in two parts (as a program bounding its calls' bytes sends it), each
            // placed by first_vector: the same draws.
            const int64_t cut = CrossbarLayer::kExactBlock + 11;
            std::vector<int64_t> parts(size_t(V * N), -3);
            quant::MvmContext head = ctx, tail = ctx;
            tail.first_vector = cut;
            backend.mvm(L, 0, x.data(), cut, parts.data(), head);
            backend.mvm(L, 0, x.data() + cut * K, V - cut, parts.data() + cut * N, tail);
            CHECK(parts == expected);
        }
    }
}
