// End-to-end: cim-quant and cim-sim on the user's own data (issue 14). The first 300
// Fashion-MNIST test images are written by tests/data/write_formats.py as .npy, .npz, ONNX .pb
// folders, a PNG image folder, IDX and CIFAR-10 batches (padded to 3x32x32 for a CIFAR-shaped
// copy of the zoo LeNet-5); every format must score exactly as the bundled IDX path does.
#include <doctest/doctest.h>

#include "cli_runner.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

using namespace cim::test;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kLenet = std::string(CIM_SOURCE_DIR) + "/models/zoo/lenet5/model.onnx";

// The formats folder, written once per test run.
const std::string& formats() {
    static const ScriptFixture dir("cim_test_user_data", "tests/data/write_formats.py", "300 64 " + kLenet);
    return dir.path;
}

json run_json(const std::string& cmd) {
    const auto r = run_command(cmd + " --json");
    INFO(cmd);
    INFO(r.output);
    REQUIRE(r.status == 0);
    return json::parse(r.output.substr(r.output.find('{')));
}

}  // namespace

TEST_CASE("every data format scores exactly as the IDX path (cim-quant, 300 images)") {
    const std::string& d = formats();
    const std::string base = tool("cim-quant") + " " + kLenet + " --device wtm2101 --calibration-data " + d + "/calib.npy ";
    const json ref = run_json(base + "--dataset fashion-mnist --limit 300");
    CHECK(ref["images"] == 300);
    for (const std::string args : {"--data " + d + "/x.npy --labels " + d + "/y.npy", "--data " + d + "/stored.npz",
                                   "--data " + d + "/pb_one --labels " + d + "/y.npy", "--data " + d + "/pb_sets --labels " + d + "/y.npy",
                                   "--data " + d + "/t10k-images-idx3-ubyte.gz --labels " + d + "/t10k-labels-idx1-ubyte.gz --preprocess " + d + "/fmnist.yaml",
                                   "--data " + d + "/png --preprocess " + d + "/fmnist.yaml"}) {
        CAPTURE(args);
        const json j = run_json(base + args);
        CHECK(j["images"] == 300);
        CHECK(j["float_accuracy"] == ref["float_accuracy"]);
        CHECK(j["accuracy"] == ref["accuracy"]);
    }
}

TEST_CASE("a CIFAR-shaped model (3x32x32) runs on CIFAR batches and .npy alike, as the 28x28 original") {
    const std::string& d = formats();
    const std::string sim = tool("cim-sim") + " " + d + "/model32.onnx --device wtm2101 --seed 3 --calibration-data " + d + "/x32.npy ";
    const json cifar = run_json(sim + "--data " + d + "/cifar --preprocess " + d + "/fmnist32.yaml");
    const json npy = run_json(sim + "--data " + d + "/x32.npy --labels " + d + "/y.npy");
    CHECK(cifar["images"] == 300);
    CHECK(cifar["accuracy"] == npy["accuracy"]);
    CHECK(cifar["float_accuracy"] == npy["float_accuracy"]);
    const json original = run_json(tool("cim-quant") + " " + kLenet + " --device wtm2101 --dataset fashion-mnist --limit 300");
    CHECK(cifar["float_accuracy"] == original["float_accuracy"]);
}

TEST_CASE("without labels cim-sim reports agreement with the float model, SNR and KL") {
    const std::string& d = formats();
    const json j = run_json(tool("cim-sim") + " " + kLenet + " --device wtm2101 --instances 2 --data " + d + "/x.npy");
    CHECK(j["labels"] == false);
    CHECK(j["accuracy"].is_null());
    CHECK(j["images"] == 200);  // 300 minus the 100 held apart to calibrate (wtm2101's quant.calibration_samples)
    CHECK(j["calibration_source"].get<std::string>().find("held apart") != std::string::npos);
    const double agree = j["agreement_top1"];
    CHECK(agree > 0.9);
    CHECK(agree <= 1.0);
    CHECK(j["agreement_top5"] >= agree);
    CHECK(j["output_snr_db"] > 10.0);
    CHECK(j["kl_divergence"] >= 0.0);
    CHECK(j["agreement_top1_ci95"].size() == 2);
    // With labels the same run reports accuracy too.
    const json l = run_json(tool("cim-sim") + " " + kLenet + " --device wtm2101 --data " + d + "/x.npy --labels " + d + "/y.npy");
    CHECK(l["labels"] == true);
    CHECK(l["accuracy"] > 0.8);
    CHECK(l.contains("agreement_top1"));
}

TEST_CASE("--host-layers: cim-map, cim-quant and cim-sim agree on where layers run; host layers compute in float") {
    const std::string& d = formats();
    const std::string host = "/classifier/classifier.4/Gemm";
    const json map = run_json(tool("cim-map") + " " + kLenet + " --device wtm2101 --host-layers " + host);
    std::set<std::string> on_arrays;
    for (const auto& l : map["layers"])
        if (l["runs_on"] == "arrays") on_arrays.insert(l["name"].get<std::string>());
    const json q = run_json(tool("cim-quant") + " " + kLenet + " --device wtm2101 --dataset fashion-mnist --limit 100 --host-layers " + host);
    std::set<std::string> quantized;
    for (const auto& l : q["layers"]) quantized.insert(l["name"].get<std::string>());
    CHECK(quantized == on_arrays);
    CHECK(on_arrays.count(host) == 0);
    // Every weight-stationary layer on the host: the "quantized" network is the float network.
    const std::string all = "/features/features.0/Conv,/features/features.3/Conv,/classifier/classifier.0/Gemm,/classifier/classifier.2/Gemm," + host;
    const json s = run_json(tool("cim-sim") + " " + kLenet + " --device wtm2101 --data " + d + "/x.npy --labels " + d + "/y.npy --host-layers " + all);
    CHECK(s["accuracy"] == s["float_accuracy"]);
    CHECK(s["agreement_top1"] == 1.0);
    CHECK(s["output_snr_db"].is_null());  // no error at all: an infinite SNR
    const auto bad = run_command(tool("cim-quant") + " " + kLenet + " --device wtm2101 --dataset fashion-mnist --limit 10 --host-layers nope");
    CHECK(bad.status == 2);
    CHECK(bad.output.find("--host-layers: no node named 'nope'") != std::string::npos);
}

TEST_CASE("data that does not fit the model is exit 2 naming the file") {
    const std::string& d = formats();
    const std::string quant = tool("cim-quant") + " " + kLenet + " --device wtm2101 ";
    auto r = run_command(quant + "--data " + d + "/x32.npy --labels " + d + "/y.npy");
    CHECK(r.status == 2);
    CHECK(r.output.find(d + "/x32.npy: holds samples of shape [3,32,32], but " + kLenet + "'s input") != std::string::npos);
    r = run_command(quant + "--data " + d + "/x.npy");
    CHECK(r.status == 2);
    CHECK(r.output.find("has no labels") != std::string::npos);
    r = run_command("/usr/bin/python3 -c \"import numpy as np; np.save('" + d + "/y12.npy', np.full(300, 12))\"");
    REQUIRE(r.status == 0);
    r = run_command(quant + "--data " + d + "/x.npy --labels " + d + "/y12.npy");
    CHECK(r.status == 2);
    CHECK(r.output.find(d + "/y12.npy: label 12 of sample 0 is out of range") != std::string::npos);
    // A truncated .npy, and a corrupt PNG in an image folder.
    {
        std::ifstream in(d + "/x.npy", std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::ofstream(d + "/cut.npy", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    }
    r = run_command(quant + "--data " + d + "/cut.npy --labels " + d + "/y.npy");
    CHECK(r.status == 2);
    CHECK(r.output.find(d + "/cut.npy: truncated data") != std::string::npos);
    fs::create_directories(d + "/badpng/a");
    std::ofstream(d + "/badpng/a/x.png") << "\x89PNG\r\n\x1a\n garbage";
    r = run_command(quant + "--data " + d + "/badpng");
    CHECK(r.status == 2);
    CHECK(r.output.find(d + "/badpng/a/x.png") != std::string::npos);
}

TEST_CASE("a sweep's accuracy metric reads the user's data, and scores as the Fashion-MNIST path") {
    const std::string& d = formats();
    auto spec = [&](const std::string& name, const std::string& accuracy) {
        const std::string path = d + "/" + name;
        std::ofstream(path) << "device: wtm2101\nmodels: [lenet5]\naxes:\n  - path: array.adc.bits\n    values: [6]\n"
                            << "metrics: {accuracy: " << accuracy << "}\n";
        return path;
    };
    auto accuracy_of = [&](const std::string& spec_path) {
        const auto r = run_command(tool("cim-sweep") + " " + spec_path + " --out " + spec_path + ".csv --quiet --force");
        INFO(r.output);
        REQUIRE(r.status == 0);
        std::ifstream in(spec_path + ".csv");
        std::string header, row;
        std::getline(in, header);
        std::getline(in, row);
        return std::make_pair(header, row);
    };
    // The same 300 images and calibration set through both paths: the rows must agree.
    const auto ref = accuracy_of(spec("fm.yaml", "{images: 300, calibration_data: calib.npy}"));
    const auto npz = accuracy_of(spec("npz.yaml", "{images: 300, data: stored.npz, calibration_data: calib.npy}"));
    CHECK(ref.first == npz.first);
    CHECK(ref.second.substr(ref.second.find(',')) == npz.second.substr(npz.second.find(',')));
    const auto bad = run_command(tool("cim-sweep") + " " + spec("nolabels.yaml", "{images: 30, data: x.npy}") + " --out " + d + "/n.csv --force");
    CHECK(bad.status == 2);
    CHECK(bad.output.find("has no labels") != std::string::npos);
}
