// Recurrent layers on the arrays (issue 17): W and R stacked on one array's rows per direction,
// [x_t, h_{t-1}] read in one MVM per step, the gates and state update on the digital units.
// - the mapper places them (rows inputs + hidden, columns per gate, a group per direction);
// - the integer program follows the float recurrence;
// - an ideal crossbar reproduces the integer program bit for bit through the recurrence, for
//   every op, GRU form, signed-input realization, sequence_lens, initial states and peepholes;
// - read noise is drawn anew every step, reproducibly and independently of the thread count.
#include "onnx_builder.h"

#include <doctest/doctest.h>

#include "sim_test_util.h"

#include <cim/cimsim/simulator.h>
#include <cim/ir/executor.h>
#include <cim/ir/onnx_import.h>
#include <cim/mapper/mapping.h>
#include <cim/quant/quantizer.h>

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <random>

using namespace cim;
using cim::test::OnnxBuilder;

namespace {

struct RecurrentCase {
    std::string op = "LSTM";
    bool bidirectional = true;
    bool linear_before_reset = false;  // GRU
    bool with_state = true;            // sequence_lens, initial_h (and initial_c, peepholes for LSTM)
};

constexpr int64_t kSteps = 6, kBatch = 5, kInputs = 4, kHidden = 3;

int64_t gates_of(const std::string& op) { return op == "LSTM" ? 4 : op == "GRU" ? 3 : 1; }

// X [6, 5, 4] -> op (hidden 3) -> Y, Y_h (and Y_c for LSTM); random weights of a trained scale.
Graph recurrent_model(const RecurrentCase& c, const cim::test::TempDir& tmp) {
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> u(-0.8f, 0.8f);
    auto rand = [&](int64_t n) {
        std::vector<float> v(static_cast<size_t>(n));
        for (float& x : v) x = u(rng);
        return v;
    };
    const int64_t D = c.bidirectional ? 2 : 1, G = gates_of(c.op);
    OnnxBuilder b(14);
    b.input("X", {kSteps, kBatch, kInputs});
    b.initializer("W", {D, G * kHidden, kInputs}, rand(D * G * kHidden * kInputs));
    b.initializer("R", {D, G * kHidden, kHidden}, rand(D * G * kHidden * kHidden));
    b.initializer("B", {D, 2 * G * kHidden}, rand(D * 2 * G * kHidden));
    std::vector<std::string> ins = {"X", "W", "R", "B"};
    if (c.with_state) {
        b.initializer_int32_data("L", {kBatch}, {6, 2, 4, 6, 1}, onnx::TensorProto::INT32);
        b.initializer("H0", {D, kBatch, kHidden}, rand(D * kBatch * kHidden));
        ins.insert(ins.end(), {"L", "H0"});
        if (c.op == "LSTM") {
            b.initializer("C0", {D, kBatch, kHidden}, rand(D * kBatch * kHidden));
            b.initializer("P", {D, 3 * kHidden}, rand(D * 3 * kHidden));
            ins.insert(ins.end(), {"C0", "P"});
        }
    }
    auto* n = b.graph()->add_node();
    n->set_op_type(c.op);
    n->set_name("rec");
    for (const auto& i : ins) n->add_input(i);
    for (const char* o : {"Y", "Y_h"}) n->add_output(o);
    if (c.op == "LSTM") n->add_output("Y_c");
    OnnxBuilder::attr_int(n, "hidden_size", kHidden);
    OnnxBuilder::attr_string(n, "direction", c.bidirectional ? "bidirectional" : "forward");
    if (c.op == "GRU") OnnxBuilder::attr_int(n, "linear_before_reset", c.linear_before_reset ? 1 : 0);
    b.output("Y").output("Y_h");
    if (c.op == "LSTM") b.output("Y_c");
    b.save(tmp.file("rec.onnx"));
    return import_onnx(tmp.file("rec.onnx"));
}

Tensor sequences(uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> n(0.0f, 1.0f);
    Tensor x(ElemType::Float, {kSteps, kBatch, kInputs});
    for (float& v : x.f) v = n(rng);
    return x;
}

std::vector<RecurrentCase> all_cases() {
    return {{"LSTM", true, false, true}, {"LSTM", false, false, false}, {"GRU", true, false, true},
            {"GRU", false, true, true},   {"RNN", true, false, true},    {"RNN", false, false, false}};
}

std::string label(const RecurrentCase& c) {
    return c.op + (c.bidirectional ? " bidirectional" : " forward") + (c.op == "GRU" ? (c.linear_before_reset ? " lbr=1" : " lbr=0") : "") +
           (c.with_state ? " with sequence_lens/initial states" : "");
}

// A device whose cells and ADC are ideal (test_identity.cpp's ISAAC) with signed inputs realized as asked.
DeviceSpec ideal_device(const std::string& signed_handling) {
    return load_device("isaac", {"weight.bits=8", "cell.bits=2", "weight.encoding=differential", "input.bits=8",
                                 "quant.weight_bits=8", "quant.activation_bits=8", "array.adc.bits=9", "cell.on_off_ratio=.inf",
                                 "input.signed_handling=" + signed_handling});
}

}  // namespace

TEST_CASE("recurrent layers are mapped onto arrays with W and R stacked on the rows") {
    cim::test::TempDir tmp;
    for (const RecurrentCase& c : all_cases()) {
        const std::string name = label(c);
        CAPTURE(name);
        const Graph g = recurrent_model(c, tmp);
        const DeviceSpec d = ideal_device("offset");
        const Mapping m = map_model(g, d);
        const auto it = std::find_if(m.layers.begin(), m.layers.end(), [](const LayerMapping& l) { return l.name == "rec"; });
        REQUIRE(it != m.layers.end());
        const LayerMapping& L = *it;
        CHECK(L.placement == Placement::arrays);
        CHECK(L.k == kInputs + kHidden);
        CHECK(L.n == (c.op == "GRU" ? 4 : gates_of(c.op)) * kHidden);
        CHECK(L.groups == (c.bidirectional ? 2 : 1));
        CHECK(L.vectors == kSteps * kBatch);
        CHECK(L.signed_inputs);
        // The digital units apply the gates: 4 operations per gate value, per step, sequence and direction.
        CHECK(L.digital_ops == kSteps * kBatch * L.groups * gates_of(c.op) * kHidden * 4);
        CHECK(L.note.find("recurrent") != std::string::npos);
    }
}

namespace {

// Largest |integer program - float| over every output of a case, with weights and inputs at `bits`.
double program_error(const RecurrentCase& c, int bits, const cim::test::TempDir& tmp) {
    const Graph g = recurrent_model(c, tmp);
    const std::string b = std::to_string(bits);
    const DeviceSpec d = load_device("isaac", {"weight.bits=" + b, "cell.bits=2", "weight.encoding=differential", "input.bits=" + b,
                                               "quant.weight_bits=" + b, "quant.activation_bits=" + b, "array.adc.bits=16",
                                               "cell.on_off_ratio=.inf", "input.signed_handling=offset", "quant.calibration=minmax"});
    // Calibrated on the sequences it runs: no clipping, so only the code step remains.
    const Tensor x = sequences(2);
    const auto q = quant::quantize(g, d, {x}, quant::QuantOptions::from_device(d));
    REQUIRE(q.model.layers.size() == 1);
    const auto ref = Executor(g).run({x});
    const auto got = quant::run_program(q.model, {x});
    REQUIRE(got.size() == ref.size());
    double err = 0;
    for (size_t o = 0; o < ref.size(); ++o)
        for (size_t i = 0; i < ref[o].f.size(); ++i) err = std::max(err, double(std::fabs(got[o].f[i] - ref[o].f[i])));
    return err;
}

}  // namespace

TEST_CASE("the integer program of a recurrent layer converges to the float recurrence as the codes widen") {
    // States are bounded by the gates (|h| < 1); 8-bit codes over [x, h] with x ~ N(0, 1) give a step of
    // about 0.03, which the recurrence (random R, up to 6 steps) carries on. 12 bits: 16x finer, so the
    // error must shrink with the step (a wrong weight, bias or state would not).
    cim::test::TempDir tmp;
    for (const RecurrentCase& c : all_cases()) {
        const std::string name = label(c);
        CAPTURE(name);
        const double e8 = program_error(c, 8, tmp), e12 = program_error(c, 12, tmp);
        CAPTURE(e8);
        CAPTURE(e12);
        CHECK(e8 > 0);
        CHECK(e8 < 0.25);
        CHECK(e12 < e8 / 6);
    }
}

TEST_CASE("an ideal crossbar reproduces a recurrent layer's integer program bit for bit through the recurrence") {
    cim::test::TempDir tmp;
    for (const std::string handling : {"offset", "pos_neg_split", "twos_complement", "bipolar"})
        for (const RecurrentCase& c : all_cases()) {
            const std::string name = label(c) + ", signed inputs " + handling;
            CAPTURE(name);
            const Graph g = recurrent_model(c, tmp);
            const DeviceSpec d = ideal_device(handling);
            const auto q = quant::quantize(g, d, {sequences(1)}, quant::QuantOptions::from_device(d));
            const Tensor x = sequences(3);
            const auto exact = quant::run_program(q.model, {x});
            sim::CrossbarBackend backend(q.model, d, 1, 0);
            CHECK(backend.all_exact());
            backend.force_bitplanes(true);
            quant::RunOptions ro;
            ro.backend = &backend;
            const auto simulated = quant::run_program(q.model, {x}, ro);
            REQUIRE(simulated.size() == exact.size());
            for (size_t o = 0; o < exact.size(); ++o) {
                size_t differing = 0;
                for (size_t i = 0; i < exact[o].f.size(); ++i) differing += simulated[o].f[i] != exact[o].f[i];
                CAPTURE(o);
                CHECK(differing == 0);
            }
        }
}

TEST_CASE("read noise in a recurrent layer is drawn anew every step, the same at 1 and 2 threads") {
    cim::test::TempDir tmp;
    const RecurrentCase c{"LSTM", true, false, true};
    const Graph g = recurrent_model(c, tmp);
    DeviceSpec d = load_device("isaac", {"weight.bits=8", "cell.bits=2", "weight.encoding=differential", "input.bits=8",
                                         "quant.weight_bits=8", "quant.activation_bits=8", "array.adc.bits=9",
                                         "cell.on_off_ratio=.inf", "input.signed_handling=offset", "noise.read_sigma=0.05"});
    const auto q = quant::quantize(g, d, {sequences(1)}, quant::QuantOptions::from_device(d));
    const Tensor x = sequences(4);
    const auto exact = quant::run_program(q.model, {x});
    auto simulate = [&](int threads) {
        const int saved = omp_get_max_threads();
        omp_set_num_threads(threads);
        sim::CrossbarBackend backend(q.model, d, 7, 0);
        quant::RunOptions ro;
        ro.backend = &backend;
        auto out = quant::run_program(q.model, {x}, ro);
        omp_set_num_threads(saved);
        return out;
    };
    const auto one = simulate(1), two = simulate(2);
    CHECK(one[0].f == two[0].f);
    size_t differing = 0;
    for (size_t i = 0; i < exact[0].f.size(); ++i) differing += one[0].f[i] != exact[0].f[i];
    CHECK(differing > exact[0].f.size() / 2);
}

namespace {

// Records which read of the sequence each MVM call is (MvmContext::step), computing exactly.
class StepRecorder : public quant::MvmBackend {
public:
    void mvm(const quant::QuantLayer& layer, int group, const int32_t* x, int64_t vectors, int64_t* acc,
             const quant::MvmContext& ctx) override {
        exact_.mvm(layer, group, x, vectors, acc, ctx);
#pragma omp critical
        steps.push_back({group, ctx.step});
    }
    std::vector<std::pair<int, int64_t>> steps;

private:
    quant::ExactMvmBackend exact_;
};

}  // namespace

TEST_CASE("every step of a recurrence is its own read (its own noise key)") {
    cim::test::TempDir tmp;
    for (const RecurrentCase& c : {RecurrentCase{"LSTM", true, false, false}, RecurrentCase{"GRU", false, false, false},
                                   RecurrentCase{"GRU", false, true, false}}) {
        const std::string name = label(c);
        CAPTURE(name);
        const Graph g = recurrent_model(c, tmp);
        const DeviceSpec d = ideal_device("offset");
        const auto q = quant::quantize(g, d, {sequences(1)}, quant::QuantOptions::from_device(d));
        StepRecorder rec;
        quant::RunOptions ro;
        ro.backend = &rec;
        ro.chunk_items = 8;  // one chunk holds the 5 sequences
        const auto exact = quant::run_program(q.model, {sequences(5)});
        const auto recorded = quant::run_program(q.model, {sequences(5)}, ro);
        CHECK(recorded[0].f == exact[0].f);
        // GRU without linear_before_reset reads twice per step (R_h's input needs r).
        const int64_t reads = c.op == "GRU" && !c.linear_before_reset ? 2 : 1;
        std::sort(rec.steps.begin(), rec.steps.end());
        std::vector<std::pair<int, int64_t>> want;
        for (int dir = 0; dir < (c.bidirectional ? 2 : 1); ++dir)
            for (int64_t s = 0; s < kSteps * reads; ++s) want.push_back({dir, s});
        CHECK(rec.steps == want);
    }
}
