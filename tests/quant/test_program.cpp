// The integer program: against a float reference of the same quantized arithmetic,
// against the ideal-crossbar reference on real models, CLE, mixed precision, errors.
#include "onnx_builder.h"
#include "quant_test_util.h"

#include <cim/error.h>
#include <cim/mapper/mapping.h>
#include <cim/quant/program.h>

#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <mutex>
#include <random>

using namespace cim;
using namespace cim::quant;
using cim::test::OnnxBuilder;
using cim::test::TempDir;

namespace {

// Conv (signed input, padding, stride 2, 2 groups) -> Relu -> Flatten -> Gemm (transB) -> MatMul.
Graph small_model(TempDir& tmp) {
    OnnxBuilder b(13);
    b.input("x", {-1, 2, 7, 7});
    std::mt19937 rng(3);
    std::normal_distribution<float> nd(0.0f, 0.5f);
    auto rnd = [&](size_t n) {
        std::vector<float> v(n);
        for (auto& x : v) x = nd(rng);
        return v;
    };
    b.initializer("w1", {4, 1, 3, 3}, rnd(36));
    b.initializer("b1", {4}, rnd(4));
    auto* c = b.node("Conv", {"x", "w1", "b1"}, {"c"}, "conv");
    OnnxBuilder::attr_int(c, "group", 2);
    OnnxBuilder::attr_ints(c, "pads", {1, 1, 1, 1});
    OnnxBuilder::attr_ints(c, "strides", {2, 2});
    b.node("Relu", {"c"}, {"r"}, "relu");
    b.node("Flatten", {"r"}, {"f"}, "flatten");
    b.initializer("w2", {6, 64}, rnd(384));
    b.initializer("b2", {6}, rnd(6));
    auto* g = b.node("Gemm", {"f", "w2", "b2"}, {"h"}, "fc");
    OnnxBuilder::attr_int(g, "transB", 1);
    b.initializer("w3", {6, 3}, rnd(18));
    b.node("MatMul", {"h", "w3"}, {"y"}, "mm");
    b.output("y");
    b.save(tmp.file("small.onnx"));
    return import_onnx(tmp.file("small.onnx"));
}

Tensor random_batch(int64_t n, uint32_t seed) {
    Tensor t(ElemType::Float, {n, 2, 7, 7});
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (auto& x : t.f) x = nd(rng);
    return t;
}

// Float reference of the quantized arithmetic: every layer's input fake-quantized by
// its ActQuant, weights dequantized from the codes, biases from the bias codes.
Graph fake_quant_graph(const QuantizedModel& m) {
    Graph g = m.graph;
    const auto views = find_mvm_layers(g);
    for (const auto& v : views) {
        const QuantLayer& L = m.layers[size_t(m.layer_of_node[size_t(v.node)])];
        Node& n = g.nodes[size_t(v.node)];
        Tensor w = *g.constant(n.inputs[size_t(v.weight_input)]);
        for (int64_t gr = 0; gr < L.groups; ++gr)
            for (int64_t k = 0; k < L.K; ++k)
                for (int64_t o = 0; o < L.N; ++o) {
                    const size_t i = size_t(gr * L.N + o);
                    v.set_weight(w, gr, k, o, float(L.w_scale[i] * (L.w[size_t((gr * L.K + k) * L.N + o)] - L.w_zero_point[i])));
                }
        g.value(n.inputs[size_t(v.weight_input)]).constant = std::make_shared<const Tensor>(std::move(w));
        if (v.bias_input >= 0) {
            Tensor b = *g.constant(n.inputs[size_t(v.bias_input)]);
            for (int64_t i = 0; i < b.numel(); ++i) b.f[size_t(i)] = float(L.bias_code[size_t(i)] * L.out_scale[size_t(i)] / v.beta);
            g.value(n.inputs[size_t(v.bias_input)]).constant = std::make_shared<const Tensor>(std::move(b));
        }
    }
    return g;
}

std::vector<Tensor> run_fake_quant(const QuantizedModel& m, const Graph& fq, const Tensor& x) {
    Executor exec(fq);
    auto override_kernel = [&](const Node& n, std::span<const Tensor* const> in, std::span<Tensor>) {
        const int li = m.layer_of_node[size_t(&n - fq.nodes.data())];
        if (li < 0) return false;
        const QuantLayer& L = m.layers[size_t(li)];
        Tensor* xin = const_cast<Tensor*>(in[size_t(L.data_input)]);
        for (auto& v : xin->f) v = L.input.dequantize(L.input.quantize(v));
        return false;
    };
    return exec.run({x}, {}, override_kernel);
}

}  // namespace

TEST_CASE("the integer program equals float arithmetic on the same codes, for every signed-input handling") {
    TempDir tmp;
    const Graph g = small_model(tmp);
    for (const char* handling : {"offset", "pos_neg_split", "twos_complement", "bipolar"})
        for (bool sym : {true, false}) {
            const DeviceSpec d = load_device("isaac", {"weight.bits=8", "input.bits=8", "quant.weight_bits=8", "quant.activation_bits=8",
                                                      std::string("input.signed_handling=") + handling,
                                                      std::string("quant.symmetric=") + (sym ? "true" : "false")});
            QuantOptions opt = QuantOptions::from_device(d);
            const QuantResult r = quantize(g, d, {random_batch(32, 1)}, opt);
            REQUIRE(r.model.layers.size() == 3);
            CHECK(r.model.layers[0].input.is_signed);
            CHECK_FALSE(r.model.layers[1].input.is_signed);
            CHECK(r.model.layers[2].input.is_signed);
            const Tensor x = random_batch(9, 2);
            const auto yi = run_program(r.model, {x});
            const Graph fq = fake_quant_graph(r.model);
            const auto yf = run_fake_quant(r.model, fq, x);
            double max_err = 0, max_ref = 0;
            for (size_t k = 0; k < yi[0].f.size(); ++k) {
                max_err = std::max(max_err, double(std::fabs(yi[0].f[k] - yf[0].f[k])));
                max_ref = std::max(max_ref, double(std::fabs(yf[0].f[k])));
            }
            CAPTURE(handling);
            CAPTURE(sym);
            CHECK(max_err <= 1e-4 * std::max(1.0, max_ref));
            // Non-symmetric weights have zero points, and the requantization corrects them.
            if (!sym) CHECK(r.model.layers[1].needs_input_sum);
        }
}

TEST_CASE("an ideal crossbar on the cell digits reproduces the integer program bit for bit (LeNet-5)") {
    const Graph g = import_onnx(qtest::zoo("lenet5"));
    const Tensor cal = qtest::calibration(32);
    const Tensor x = qtest::test_set().inputs.batch(0, 3)[0];
    struct Case {
        const char* device;
        std::vector<std::string> sets;
    };
    for (const Case& c : std::vector<Case>{{"wtm2101", {}},
                                          {"isaac", {"weight.bits=8", "input.bits=8", "quant.weight_bits=8", "quant.activation_bits=8"}},
                                          {"mram_princeton22", {"weight.bits=8", "input.bits=8", "quant.weight_bits=6", "quant.activation_bits=8"}},
                                          {"tsmc7_sram_analog", {}}}) {
        const DeviceSpec d = load_device(c.device, c.sets);
        const QuantResult r = quantize(g, d, {cal}, QuantOptions::from_device(d));
        DigitMvmBackend ideal(d);
        RunOptions ro;
        ro.backend = &ideal;
        const auto a = run_program(r.model, {x});
        const auto b = run_program(r.model, {x}, ro);
        CAPTURE(c.device);
        CHECK(a[0].f == b[0].f);
    }
}

TEST_CASE("the ideal digit crossbar reproduces the integer program for every signed-input handling") {
    // Signed inputs as split rows, two's-complement planes and bipolar sign-magnitude planes
    // (1- and 2-bit DACs, and one multi-bit DAC).
    TempDir tmp;
    const Graph g = small_model(tmp);
    const Tensor x = random_batch(5, 3);
    for (const std::string handling : {"pos_neg_split", "twos_complement", "bipolar"})
        for (const std::string dac : {"input.dac_bits=1", "input.dac_bits=2", "input.dac_bits=8"}) {
            if (handling == "twos_complement" && dac != "input.dac_bits=1") continue;  // not a device
            CAPTURE(handling);
            CAPTURE(dac);
            const DeviceSpec d = load_device("isaac", {"weight.bits=8", "input.bits=8", "quant.weight_bits=8", "quant.activation_bits=8",
                                                      "input.signed_handling=" + handling, dac,
                                                      dac == "input.dac_bits=8" ? "input.mode=multi_bit" : "input.mode=bit_serial"});
            const QuantResult r = quantize(g, d, {random_batch(32, 1)}, QuantOptions::from_device(d));
            DigitMvmBackend ideal(d);
            RunOptions ro;
            ro.backend = &ideal;
            const auto a = run_program(r.model, {x});
            const auto b = run_program(r.model, {x}, ro);
            CHECK(a[0].f == b[0].f);
        }
}

TEST_CASE("a plugged-in backend sees every layer, group and item") {
    // Called from the program's worker threads: a mutex guards the counts (this file is not built
    // with OpenMP, so an omp critical would do nothing), and doctest asserts only on the main thread.
    struct Counting : ExactMvmBackend {
        std::mutex mutex;
        std::map<std::string, int64_t> vectors;
        int64_t max_item = -1, calls = 0;
        bool consistent = true;
        void mvm(const QuantLayer& L, int group, const int32_t* x, int64_t n, int64_t* acc, const MvmContext& ctx) override {
            {
                std::lock_guard<std::mutex> lock(mutex);
                vectors[L.name] += n;
                max_item = std::max(max_item, ctx.first_item + ctx.items - 1);
                // A call carries all or part of its items' vectors, never more.
                consistent = consistent && ctx.first_vector >= 0 && ctx.first_vector + n <= ctx.items * ctx.vectors_per_item;
                ++calls;
            }
            ExactMvmBackend::mvm(L, group, x, n, acc, ctx);
        }
    } counting;
    const Graph g = import_onnx(qtest::zoo("lenet5"));
    const DeviceSpec d = qtest::wtm();
    QuantOptions opt = QuantOptions::from_device(d);
    opt.report_sqnr = false;
    const QuantResult r = quantize(g, d, {qtest::calibration(16)}, opt);
    RunOptions ro;
    ro.backend = &counting;
    ro.first_item = 100;
    run_program(r.model, qtest::test_set().inputs.batch(0, 20), ro);
    CHECK(counting.vectors["/features/features.0/Conv"] == 20 * 28 * 28);
    CHECK(counting.vectors["/classifier/classifier.4/Gemm"] == 20);
    CHECK(counting.max_item == 119);
    CHECK(counting.consistent);
    // Calls bounded in bytes split a chunk's vectors (at least kMinCallVectors each); the
    // layers see the same vectors and the outputs do not change.
    counting.calls = 0;
    const auto whole = run_program(r.model, qtest::test_set().inputs.batch(0, 20), ro);
    const int64_t whole_calls = counting.calls;
    counting.vectors.clear();
    counting.calls = 0;
    ro.call_bytes = 1;
    const auto split = run_program(r.model, qtest::test_set().inputs.batch(0, 20), ro);
    CHECK(counting.calls > whole_calls);
    CHECK(counting.vectors["/features/features.0/Conv"] == 20 * 28 * 28);
    CHECK(counting.consistent);
    CHECK(whole[0].f == split[0].f);
}

TEST_CASE("cross-layer equalization keeps the float function and evens out channel ranges") {
    for (const char* name : {"lenet5", "vgg"}) {
        const Graph g = import_onnx(qtest::zoo(name));
        Graph e = g;
        const auto pairs = equalize_cross_layer(e);
        CHECK(pairs.size() >= 3);
        const Tensor x = qtest::test_set().inputs.batch(0, 16)[0];
        const auto a = Executor(g).run({x});
        const auto b = Executor(e).run({x});
        double err = 0, ref = 0;
        for (size_t k = 0; k < a[0].f.size(); ++k) {
            err = std::max(err, double(std::fabs(a[0].f[k] - b[0].f[k])));
            ref = std::max(ref, double(std::fabs(a[0].f[k])));
        }
        CAPTURE(name);
        CHECK(err <= 1e-4 * ref);
    }
}

TEST_CASE("weight codes: per-channel, per-tensor, power-of-two, asymmetric, binary, ternary, device range") {
    const Graph g = import_onnx(qtest::zoo("lenet5"));
    const Tensor cal = qtest::calibration(16);
    auto run = [&](std::vector<std::string> sets) {
        const DeviceSpec d = qtest::wtm(sets);
        QuantOptions o = QuantOptions::from_device(d);
        o.report_sqnr = false;
        return quantize(g, d, {cal}, o).model;
    };
    {
        const auto m = run({"quant.weight_bits=4"});
        for (const auto& L : m.layers) {
            CHECK(L.weight_qmax == 7);
            for (int32_t c : L.w) CHECK(std::abs(c) <= 7);
        }
        // Per-channel: each output's largest |code| reaches qmax (min-max).
        const auto& L = m.layers[0];
        for (int64_t n = 0; n < L.N; ++n) {
            int32_t mx = 0;
            for (int64_t k = 0; k < L.K; ++k) mx = std::max(mx, std::abs(L.w[size_t(k * L.N + n)]));
            CHECK(mx == 7);
        }
    }
    {
        const auto m = run({"quant.per_channel=false", "quant.power_of_two_scales=true"});
        for (const auto& L : m.layers) {
            for (double s : L.w_scale) {
                CHECK(s == L.w_scale[0]);
                CHECK(std::log2(s) == std::round(std::log2(s)));
            }
            CHECK(std::log2(L.input.scale) == std::round(std::log2(L.input.scale)));
        }
    }
    {
        const auto m = run({"quant.symmetric=false", "quant.weight_bits=4"});
        bool any_zp = false;
        for (const auto& L : m.layers)
            for (int32_t z : L.w_zero_point) any_zp = any_zp || z != 0;
        CHECK(any_zp);
    }
    {
        const auto m = run({"quant.weight_mode=binary"});
        for (const auto& L : m.layers) {
            CHECK(L.weight_bits == 1);
            for (int32_t c : L.w) CHECK((c == 1 || c == -1));
        }
    }
    {
        const auto m = run({"quant.weight_mode=ternary"});
        int zeros = 0;
        for (const auto& L : m.layers) {
            CHECK(L.weight_bits == 2);
            for (int32_t c : L.w) {
                CHECK(std::abs(c) <= 1);
                zeros += c == 0;
            }
        }
        CHECK(zeros > 0);
    }
    {
        // WTM2101 stores +-275: the full range is used only when asked for.
        const auto m8 = run({});
        const auto full = run({"quant.weight_full_range=true"});
        CHECK(m8.layers[0].weight_qmax == 127);
        CHECK(full.layers[0].weight_qmax == 275);
        int32_t mx = 0;
        for (int32_t c : full.layers[0].w) mx = std::max(mx, std::abs(c));
        CHECK(mx == 275);
    }
}

TEST_CASE("mixed precision stays within an array budget") {
    const Graph g = import_onnx(qtest::zoo("lenet5"));
    const Tensor cal = qtest::calibration(64);
    // 1-bit cells, 8-bit weights: columns (and so arrays) grow with the weight width.
    const DeviceSpec base = load_device("mram_princeton22", {"weight.bits=8", "input.bits=8", "quant.weight_bits=8", "quant.activation_bits=8", "array.cols=64", "array.usable_cols=64", "array.capacity_bits=16384", "array.rows=256"});
    QuantOptions probe = QuantOptions::from_device(base);
    probe.q.mixed_precision_budget_arrays = 1000000;
    probe.arrays_at_width = arrays_per_layer_at_width;
    probe.report_sqnr = false;
    const auto wide = quantize(g, base, {cal}, probe).report.mixed_precision;
    REQUIRE(wide);
    int64_t at8 = 0, at2 = 0;
    for (const auto& a : wide->arrays_per_bits) {
        at2 += a.front();
        at8 += a.back();
    }
    CHECK(at8 > at2);
    for (int b : wide->chosen_bits) CHECK(b == 8);  // an unlimited budget keeps every layer at 8 bits
    QuantOptions o = probe;
    const int64_t budget = (at2 + at8) / 2;
    o.q.mixed_precision_budget_arrays = int(budget);
    const auto r = quantize(g, base, {cal}, o);
    REQUIRE(r.report.mixed_precision);
    CHECK(r.report.mixed_precision->arrays <= budget);
    for (size_t i = 0; i < r.model.layers.size(); ++i)
        CHECK(r.model.layers[i].weight_bits == r.report.mixed_precision->chosen_bits[i]);
    // The mapper, told each layer's chosen width, needs exactly the arrays the quantizer counted.
    MapOptions widths;
    widths.duplicate = false;
    for (const auto& L : r.model.layers) widths.layer_weight_bits[L.name] = L.weight_bits;
    bool mixed = false;
    for (const auto& L : r.model.layers) mixed = mixed || L.weight_bits != 8;
    CHECK(mixed);
    CHECK(map_model(specialize_batch(g, 1), base, widths).arrays_used == r.report.mixed_precision->arrays);
    o.q.mixed_precision_budget_arrays = int(at2 - 1);
    CHECK_THROWS_AS(quantize(g, base, {cal}, o), InputError);
    QuantOptions no_counts = probe;
    no_counts.arrays_at_width = nullptr;  // a library caller that forgot the mapper's counts
    CHECK_THROWS_WITH_AS(quantize(g, base, {cal}, no_counts), doctest::Contains("QuantOptions::arrays_at_width"), InputError);
}

TEST_CASE("options the device cannot honour are input errors") {
    const Graph g = import_onnx(qtest::zoo("mlp"));
    const Tensor cal = qtest::calibration(8);
    // The MLP's first layer takes the normalized image, which is signed.
    const DeviceSpec d = load_device("wtm2101", {"input.signed_handling=unsigned_only"});
    try {
        quantize(g, d, {cal}, QuantOptions::from_device(d));
        FAIL("expected an InputError");
    } catch (const InputError& e) {
        CHECK(std::string(e.what()).find("unsigned_only") != std::string::npos);
    }
    CHECK_THROWS_AS(load_device("wtm2101", {"quant.weight_bits=9"}), InputError);
    CHECK_THROWS_AS(load_device("wtm2101", {"quant.weight_mode=quaternary"}), InputError);
    QuantOptions o = QuantOptions::from_device(qtest::wtm());
    o.layer_bits["no-such-layer"] = 4;
    CHECK_THROWS_AS(quantize(g, qtest::wtm(), {cal}, o), InputError);
}
