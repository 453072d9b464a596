// End-to-end: models that are not one batched input (issue 14). A model of two inputs takes its
// data by name (.npz arrays, .pb TensorProto names) or, unnamed, by position; a batch-1 export that
// make_batch_dynamic cannot rewrite runs sample by sample and scores exactly as the batchable
// model with the same weights; cim-run, cim-quant, cim-sim and a sweep's accuracy metric alike.
// Models and data: tests/tools/write_model_cases.py.
#include <doctest/doctest.h>

#include "cli_runner.h"

#include <cim/ir/onnx_import.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace cim::test;
using json = nlohmann::json;

namespace {

const std::string& cases() {
    static const ScriptFixture dir("cim_test_model_cases", "tests/tools/write_model_cases.py");
    return dir.path;
}

// Runs `cmd --json` with stdout alone captured: it must be one JSON document and nothing else.
json run_json(const std::string& cmd, std::string* errors = nullptr) {
    const std::string err_file = cases() + "/stderr.txt";
    const auto r = run_command("(" + cmd + " --json 2>" + err_file + ")");
    std::ifstream in(err_file);
    const std::string err((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    INFO(cmd);
    INFO(r.output);
    INFO(err);
    REQUIRE(r.status == 0);
    if (errors) *errors = err;
    json j;
    REQUIRE_NOTHROW(j = json::parse(r.output));
    return j;
}

double expected(const std::string& key) {
    std::ifstream in(cases() + "/expected.json");
    return json::parse(in)[key].get<double>();
}

}  // namespace

TEST_CASE("a two-input model takes its data by name (.npz, named .pb in any order) or by position (unnamed .pb)") {
    const std::string& d = cases();
    const std::string model = d + "/two_input.onnx --device wtm2101 --limit 200 --calibration-data " + d + "/two_calib.npz ";
    const json npz = run_json(tool("cim-quant") + " " + model + "--data " + d + "/two.npz");
    CHECK(npz["images"] == 200);
    CHECK(npz["calibration_images"] == 64);
    CHECK(npz["float_accuracy"] == doctest::Approx(expected("two_input_float_accuracy")).epsilon(1e-12));
    CHECK(npz["accuracy"] > 0.5);
    for (const std::string folder : {"two_named", "two_unnamed"}) {
        CAPTURE(folder);
        const json pb = run_json(tool("cim-quant") + " " + model + "--data " + d + "/" + folder + " --labels " + d + "/two_y.npy");
        CHECK(pb["float_accuracy"] == npz["float_accuracy"]);
        CHECK(pb["accuracy"] == npz["accuracy"]);
    }
    // The simulator feeds both inputs to the quantizer, the float reference and the crossbars.
    const json sim = run_json(tool("cim-sim") + " " + model + "--data " + d + "/two.npz --instances 2");
    const json sim_pb = run_json(tool("cim-sim") + " " + model + "--data " + d + "/two_named --labels " + d + "/two_y.npy --instances 2");
    CHECK(sim["float_accuracy"] == npz["float_accuracy"]);
    CHECK(sim["quant_accuracy"] == npz["accuracy"]);
    CHECK(sim["accuracy"] == sim_pb["accuracy"]);
    CHECK(sim["agreement_top1"] > 0.8);
    // Without --calibration-data the calibration set is held apart from the .npz, every input alike.
    const json held = run_json(tool("cim-sim") + " " + d + "/two_input.onnx --device wtm2101 --data " + d + "/two.npz");
    CHECK(held["images"] == 140);  // 240 minus wtm2101's 100 calibration samples
}

TEST_CASE("data that does not bind to a two-input model is exit 2 naming the inputs, the shapes and the file") {
    const std::string& d = cases();
    const std::string quant = tool("cim-quant") + " " + d + "/two_input.onnx --device wtm2101 ";
    auto r = run_command(quant + "--data " + d + "/image.npy --labels " + d + "/two_y.npy");
    CHECK(r.status == 2);
    CHECK(r.output.find(d + "/image.npy: a npy set holds one array of samples, but the model takes 2 inputs ('image', 'extra'); "
                                 "write an .npz with one array per input, named after it: numpy.savez('data.npz', image=..., extra=..., y=labels)") !=
          std::string::npos);
    r = run_command(quant + "--data " + d + "/two_badshape.npz");
    CHECK(r.status == 2);
    CHECK(r.output.find(d + "/two_badshape.npz ('extra'): holds samples of shape [5], but " + d + "/two_input.onnx's input 'extra' takes [?,6]") !=
          std::string::npos);
    r = run_command(quant + "--data " + d + "/x.npy --labels " + d + "/y.npy");  // another model's data
    CHECK(r.status == 2);
    CHECK(r.output.find("the model takes 2 inputs ('image', 'extra')") != std::string::npos);
    r = run_command(quant + "--data " + d + "/two_calib.npz --calibration-data " + d + "/two.npz");  // no 'y'
    CHECK(r.status == 2);
    CHECK(r.output.find("has no labels") != std::string::npos);
    r = run_command(quant + "--dataset fashion-mnist");
    CHECK(r.status == 2);
    CHECK(r.output.find("holds 1 array(s) of samples, but " + d + "/two_input.onnx takes 2 inputs") != std::string::npos);
    {  // an .npz missing an input's array lists what it holds
        r = run_command("/usr/bin/python3 -c \"import numpy as np; np.savez('" + d + "/one.npz', image=np.zeros((4,1,8,8),np.float32), y=np.zeros(4))\"");
        REQUIRE(r.status == 0);
        r = run_command(quant + "--data " + d + "/one.npz");
        CHECK(r.status == 2);
        CHECK(r.output.find(d + "/one.npz: has no array 'extra' (it holds: image, y)") != std::string::npos);
    }
}

TEST_CASE("a batch-1 graph that cannot be batched runs sample by sample, as the batchable graph with the same weights") {
    const std::string& d = cases();
    const std::string data = " --device wtm2101 --data " + d + "/x.npy --labels " + d + "/y.npy --calibration-data " + d + "/calib.npy --limit 200";
    std::string note;
    const json pq = run_json(tool("cim-quant") + " " + d + "/pinned.onnx" + data, &note);
    CHECK(note.find("cim-quant: note: the graph pins a batch of 1 (") != std::string::npos);
    CHECK(note.find("it runs one sample at a time") != std::string::npos);
    const json bq = run_json(tool("cim-quant") + " " + d + "/batchable.onnx" + data);
    CHECK(pq["images"] == 200);
    CHECK(pq["float_accuracy"] == 0.75);  // the labels are the float model's class for 3 samples in 4
    CHECK(pq["float_accuracy"] == bq["float_accuracy"]);
    CHECK(pq["accuracy"] == bq["accuracy"]);
    CHECK(pq["layers"].size() == bq["layers"].size());
    CHECK(pq["notes"].dump().find("calibrated one sample at a time") != std::string::npos);

    const json ps = run_json(tool("cim-sim") + " " + d + "/pinned.onnx" + data + " --instances 2", &note);
    CHECK(note.find("cim-sim: note: the graph pins a batch of 1") != std::string::npos);
    const json bs = run_json(tool("cim-sim") + " " + d + "/batchable.onnx" + data + " --instances 2");
    CHECK(ps["float_accuracy"] == bs["float_accuracy"]);
    CHECK(ps["quant_accuracy"] == bs["quant_accuracy"]);
    CHECK(ps["instance_accuracy"] == bs["instance_accuracy"]);
    CHECK(ps["agreement_top1"] == bs["agreement_top1"]);

    // cim-run: 20 items through the pinned graph, one at a time, as the batchable graph at once.
    for (const std::string m : {"pinned", "batchable"}) {
        const auto r = run_command(tool("cim-run") + " " + d + "/" + m + ".onnx --input " + d + "/x.pb --out " + d + "/out_" + m);
        INFO(r.output);
        REQUIRE(r.status == 0);
        CHECK((r.output.find("runs one sample at a time") != std::string::npos) == (m == "pinned"));
    }
    const cim::Tensor a = cim::load_tensor_pb(d + "/out_pinned/output_0.pb"), b = cim::load_tensor_pb(d + "/out_batchable/output_0.pb");
    REQUIRE(a.shape == cim::Shape{20, 10});
    REQUIRE(a.shape == b.shape);
    for (size_t k = 0; k < a.f.size(); ++k) CHECK(a.f[k] == doctest::Approx(b.f[k]).epsilon(1e-5));
}

TEST_CASE("a sweep's accuracy metric feeds a two-input model by name and a pinned batch-1 model sample by sample") {
    const std::string& d = cases();
    auto rows = [&](const std::string& name, const std::string& models, const std::string& accuracy) {
        const std::string spec = d + "/" + name + ".yaml";
        std::ofstream(spec) << "device: wtm2101\nmodels: [" << models << "]\naxes:\n  - path: array.adc.bits\n    values: [6]\n"
                            << "metrics: {accuracy: {images: 200, " << accuracy << "}}\n";
        const auto r = run_command(tool("cim-sweep") + " " + spec + " --out " + spec + ".csv --quiet --force");
        INFO(r.output);
        REQUIRE(r.status == 0);
        std::ifstream in(spec + ".csv");
        std::vector<std::string> lines;
        for (std::string line; std::getline(in, line);) lines.push_back(line);
        return lines;
    };
    // A field of a row by its header name (the sweep's rows hold no quoted commas here).
    auto field = [](const std::vector<std::string>& lines, size_t row, const std::string& name) {
        auto split = [](const std::string& line) {
            std::vector<std::string> out;
            std::stringstream in(line);
            for (std::string f; std::getline(in, f, ',');) out.push_back(f);
            return out;
        };
        const auto header = split(lines.at(0)), values = split(lines.at(row));
        const size_t k = size_t(std::find(header.begin(), header.end(), name) - header.begin());
        REQUIRE_MESSAGE(k < values.size(), name << " in " << lines.at(0));
        return values[k];
    };
    const auto both = rows("pinned", "pinned.onnx, batchable.onnx", "data: x.npy, labels: y.npy, calibration_data: calib.npy");
    REQUIRE(both.size() == 3);
    CHECK(field(both, 1, "model") == "pinned");
    for (const std::string metric : {"accuracy", "quant_accuracy", "float_accuracy", "energy_j"}) {
        CAPTURE(metric);
        CHECK(field(both, 1, metric) == field(both, 2, metric));
    }
    CHECK(field(both, 1, "float_accuracy") == "0.75");
    const auto two = rows("two", "two_input.onnx", "data: two.npz, calibration_data: two_calib.npz");
    REQUIRE(two.size() == 2);
    CHECK(field(two, 1, "float_accuracy") == "0.75");
    CHECK(std::stod(field(two, 1, "accuracy")) > 0.5);
}
