// The sweep YAML: what a valid file gives, and every kind of mistake reported at
// its place as FILE:LINE:COL: key: problem.
#include <doctest/doctest.h>

#include <cim/error.h>
#include <cim/sweep/sweep.h>

#include <filesystem>
#include <string>

using namespace cim;

namespace {

sweep::SweepSpec parse(const std::string& text) { return sweep::parse_sweep(text, "t.yaml", CIM_SOURCE_DIR); }

std::string error_of(const std::string& text) {
    try {
        parse(text);
    } catch (const InputError& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("a valid sweep: axes from lists, ranges and zipped values; defaults") {
    const auto s = parse(R"(name: small
device: isaac
set: {array.capacity_bits: ~, noise.read_sigma: 0.01}
models: [lenet5, mlp]
axes:
  - path: array.adc.bits
    range: {from: 4, to: 8, step: 2}
  - name: size
    paths: [array.rows, array.cols]
    values: [64, 128]
  - path: noise.programming_sigma
    range: {from: 0.01, to: 1, count: 3, scale: log}
  - name: adc
    paths: [energy.adc_pj_per_conversion, area.adc_um2]
    values: [[1.0, 100], [2.0, 200]]
constraints: ["array.adc.bits <= log2(size) + 1", "area.adc_um2 < 150 or size == 128"]
)");
    CHECK(s.name == "small");
    CHECK(s.fixed == std::vector<std::string>{"array.capacity_bits=~", "noise.read_sigma=0.01"});
    REQUIRE(s.models.size() == 2);
    CHECK(s.models[0].name == "lenet5");
    CHECK(s.models[0].path.ends_with("models/zoo/lenet5/model.onnx"));
    REQUIRE(s.axes.size() == 4);
    CHECK(s.axes[0].name == "array.adc.bits");
    CHECK(s.axes[0].values == std::vector<std::string>{"4", "6", "8"});
    CHECK(s.axes[1].paths == std::vector<std::string>{"array.rows", "array.cols"});
    CHECK(s.axes[2].values == std::vector<std::string>{"0.01", "0.1", "1"});
    CHECK(s.axes[3].values == std::vector<std::string>{"1.0", "2.0"});
    CHECK(s.axes[3].text(1, 1) == "200");
    CHECK(s.constraint_texts.size() == 2);
    CHECK_FALSE(s.accuracy);
    REQUIRE(s.pareto.size() == 3);  // energy, latency, area by default
    CHECK(s.pareto[0].metric == "energy_j");
    CHECK(s.plot_x == "energy_j");
    CHECK(s.plot_y == "latency_s");
    CHECK(s.plot_color == "model");  // several models
    CHECK(sweep::metric_names(s).size() == 12);
}

TEST_CASE("accuracy metrics, objectives and plot") {
    const auto s = parse(R"(device: wtm2101
models: [mlp]
axes: [{path: noise.programming_sigma, values: [0, 0.1]}]
metrics: {batch: 4, accuracy: {images: 50, instances: 2, seed: 7}}
pareto: {minimize: [energy_j], maximize: [accuracy]}
plot: {x: noise.programming_sigma, y: accuracy}
)");
    REQUIRE(s.accuracy);
    CHECK(s.accuracy->images == 50);
    CHECK(s.accuracy->instances == 2);
    CHECK(s.accuracy->seed == 7);
    CHECK(s.batch == 4);
    REQUIRE(s.pareto.size() == 2);
    CHECK(s.pareto[1].maximize);
    CHECK(s.plot_x == "noise.programming_sigma");
    CHECK(s.plot_color == "noise.programming_sigma");
    CHECK(sweep::metric_names(s).back() == "float_accuracy");
}

TEST_CASE("a bad --set path in an axis is reported at the axis's line") {
    CHECK(error_of(R"(device: isaac
models: [lenet5]
axes:
  - path: array.adc.bit
    values: [4, 6]
)") == "t.yaml:4:11: axes[0].path: array.adc.bit: 'array.adc.bit': unknown key; did you mean array.adc.bits?");
    CHECK(error_of(R"(device: isaac
models: [lenet5]
axes:
  - paths: [array.rows, arry.cols]
    values: [64]
)") == "t.yaml:4:25: axes[0].paths: arry.cols: 'arry': unknown key; did you mean array?");
}

TEST_CASE("every problem at once, in file order") {
    const std::string e = error_of(R"(device: isaac
model: [lenet5]
axes:
  - path: array.adc.bits
    values: [4, 4]
    step: 2
sampling: {method: randon, count: many}
pareto: {minimize: [energy, accuracy]}
)");
    CHECK(e == "t.yaml:1:1: models: required key is missing\n"
               "t.yaml:2:1: model: unknown key; did you mean models?\n"
               "t.yaml:5:17: axes[0].values[1]: '4' is listed twice\n"
               "t.yaml:6:5: axes[0].step: unknown key; expected one of: path, paths, name, values, range\n"
               "t.yaml:7:20: sampling.method: 'randon' is not one of grid, random, latin_hypercube; did you mean random?\n"
               "t.yaml:7:35: sampling.count: expected an integer, got 'many'\n"
               "t.yaml:8:21: pareto.minimize: 'energy' is not a metric; did you mean energy_j?\n"
               "t.yaml:8:29: pareto.minimize: 'accuracy' is computed only with metrics.accuracy");
}

TEST_CASE("types, ranges and zipped values are checked") {
    auto with_axis = [](const std::string& axis) { return error_of("device: isaac\nmodels: [lenet5]\naxes:\n" + axis); };
    CHECK(with_axis("  - {path: cell.bits, range: {from: 1, to: 4}}\n").find("a range needs exactly one of `step` and `count`") !=
          std::string::npos);
    CHECK(with_axis("  - {path: cell.bits, range: {from: 0, to: 4, count: 3, scale: log}}\n").find("a log range needs from > 0") !=
          std::string::npos);
    CHECK(with_axis("  - {path: cell.bits, range: {from: 1, to: 4, step: 0}}\n").find("must not be 0") != std::string::npos);
    CHECK(with_axis("  - {paths: [cell.bits, weight.bits], values: [[1, 8], [2]]}\n") ==
          "t.yaml:4:56: axes[0].values[1]: a zipped value lists one entry per path (2), got 1 entries");
    CHECK(with_axis("  - {path: cell.bits, values: []}\n") == "t.yaml:4:31: axes[0].values: the list is empty");
    CHECK(with_axis("  - {path: cell.bits, values: [{a: 1}]}\n") == "t.yaml:4:32: axes[0].values[0]: expected a value, got a mapping");
    CHECK(with_axis("  - {path: id, values: [1]}\n").find("'id': unknown key") != std::string::npos);
    CHECK(with_axis("  - {path: cell.bits, name: status, values: [1]}\n").find("'status' is a column of its own") != std::string::npos);
    CHECK(with_axis("  - {path: cell.bits, values: [1]}\n  - {path: cell.bits, values: [2]}\n").find("already swept by axis") !=
          std::string::npos);
}

TEST_CASE("sizes from the file are bounded: ranges past any integer, huge counts, long lists in linear time" * doctest::timeout(20)) {
    auto with_axis = [](const std::string& axis) { return error_of("device: isaac\nmodels: [lenet5]\naxes:\n" + axis); };
    // (1e308 - -1e308) / 1e-300 values: converting that to an integer was undefined behaviour.
    CHECK(with_axis("  - {path: noise.read_sigma, range: {from: -1e308, to: 1e308, step: 1e-300}}\n")
              .find("t.yaml:4:37: axes[0].range: inf values; at most 100000") == 0);
    CHECK(with_axis("  - {path: cell.bits, values: [1]}\nsampling: {method: random, count: 2000000}\n")
              .find("sampling.count: 2000000 is out of range: must be in [1, 1000000]") != std::string::npos);
    // 100000 values each, and their repeats dropped, without a quadratic search (minutes before).
    const auto s = parse("device: isaac\nmodels: [lenet5]\naxes:\n  - {path: noise.read_sigma, range: {from: 0, to: 1, count: 100000}}\n");
    CHECK(s.axes[0].values.size() == 100000);
    std::string list = "[";
    for (int i = 0; i < 20000; ++i) list += std::to_string(i % 10000) + ",";
    list.back() = ']';
    CHECK(with_axis("  - {path: noise.read_sigma, values: " + list + "}\n").find("'0' is listed twice") != std::string::npos);
}

TEST_CASE("constraints: syntax errors point into the expression, unknown names are named") {
    const std::string base = "device: isaac\nmodels: [lenet5]\naxes: [{path: cell.bits, values: [1, 2]}]\n";
    CHECK(error_of(base + "constraints: [\"cell.bits <= \"]\n") ==
          "t.yaml:4:29: constraints: 'cell.bits <= ': expected a value, a name or `(`; the expression ends here");
    CHECK(error_of(base + "constraints: [\"cell.bits = 2\"]\n") ==
          "t.yaml:4:26: constraints: 'cell.bits = 2': `=` is not a comparison; write `==`");
    CHECK(error_of(base + "constraints: [\"cel.bits < 2\"]\n") ==
          "t.yaml:4:16: constraints: 'cel.bits < 2': 'cel.bits' is neither an axis (cell.bits); did you mean cell.bits? nor `model` "
          "nor a field the base device gives");
    // A field the base device writes is a constant.
    CHECK_NOTHROW(parse(base + "constraints: [\"cell.bits <= weight.bits / 8\"]\n"));
}

TEST_CASE("models, device and the base device's own errors") {
    CHECK(error_of("device: isaac\nmodels: [lenet]\naxes: [{path: cell.bits, values: [1]}]\n")
              .find("t.yaml:2:10: models[0]: 'lenet' is no zoo model (did you mean lenet5?)") == 0);
    CHECK(error_of("device: isaac\nmodels: [nothere/model.onnx]\naxes: [{path: cell.bits, values: [1]}]\n")
              .find("nothere/model.onnx: no such file") != std::string::npos);
    CHECK(error_of("device: isac\nmodels: [lenet5]\naxes: [{path: cell.bits, values: [1]}]\n")
              .find("t.yaml:1:9: device: the base device does not load:\n  isac: no such device file") == 0);
    // A fixed override the device rejects.
    CHECK(error_of("device: isaac\nset: [array.adc.bits=99]\nmodels: [lenet5]\naxes: [{path: cell.bits, values: [1]}]\n")
              .find("--set array.adc.bits=99: array.adc.bits: 99 is out of range") != std::string::npos);
    CHECK(error_of("device: isaac\nset: [array.adc.bitz=9]\nmodels: [lenet5]\naxes: [{path: cell.bits, values: [1]}]\n") ==
          "t.yaml:2:7: set: array.adc.bitz: 'array.adc.bitz': unknown key; did you mean array.adc.bits?");
    CHECK(error_of("") == "t.yaml:1:1: the sweep description is empty");
    CHECK(error_of("device: [isaac\n").find("t.yaml:") == 0);
    // Found by fuzz/fuzz_sweep_spec: a device path the file system refuses (a name over 255 bytes)
    // escaped as std::filesystem::filesystem_error.
    CHECK(error_of("device: ../" + std::string(300, 'a') + ".yaml\nmodels: [lenet5]\naxes: [{path: cell.bits, values: [1]}]\n")
              .find("t.yaml:1:9: device: the base device does not load:") == 0);
}

TEST_CASE("the example sweeps move design keys only: no cost axis zipped in by hand") {
    // Costs follow the design through the bundled configs' estimators (docs/cost-estimators.md).
    int sweeps = 0;
    for (const auto& f : std::filesystem::directory_iterator(std::string(CIM_SOURCE_DIR) + "/configs/sweeps")) {
        const std::string path = f.path().string();
        CAPTURE(path);
        ++sweeps;
        const sweep::SweepSpec s = sweep::load_sweep(path);
        CHECK_FALSE(s.axes.empty());
        for (const auto& a : s.axes)
            for (const auto& p : a.paths) {
                CAPTURE(p);
                CHECK(p.rfind("energy.", 0) != 0);
                CHECK(p.rfind("latency.", 0) != 0);
                CHECK(p.rfind("area.", 0) != 0);
            }
    }
    CHECK(sweeps >= 2);
}
