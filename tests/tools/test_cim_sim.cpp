// End-to-end tests of cim-sim: the JSON contract, seeding, independence from the
// thread count, studies (CSV + SVG), and bad input.
#include <doctest/doctest.h>

#include "cli_runner.h"
#include "onnx_builder.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

using namespace cim::test;
using json = nlohmann::json;

namespace {
const std::string kModel = std::string(CIM_SOURCE_DIR) + "/models/zoo/lenet5/model.onnx";
const std::string kNoisy = " --device isaac --set weight.bits=8 --set cell.bits=2 --set weight.encoding=differential"
                           " --set input.bits=8 --set quant.weight_bits=8 --set quant.activation_bits=8 --set array.adc.bits=7"
                           " --set noise.programming_sigma=0.05 --set noise.read_sigma=0.02";

json run_json(const std::string& args, const std::string& env = "") {
    auto r = run_command(env + tool("cim-sim") + " " + kModel + args + " --dataset fashion-mnist --json");
    REQUIRE_MESSAGE(r.status == 0, r.output);
    return json::parse(r.output);
}
}  // namespace

TEST_CASE("cim-sim --json carries the contract's fields") {
    json j = run_json(kNoisy + " --limit 60 --instances 2 --seed 3");
    CHECK(j["images"] == 60);
    CHECK(j["instances"] == 2);
    CHECK(j["accuracy"].is_number());
    CHECK(j["float_accuracy"].is_number());
    CHECK(j["quant_accuracy"].is_number());
    CHECK(j["accuracy_ci95"].size() == 2);
    CHECK(j["layers"].size() == 5);  // LeNet-5: 2 convolutions, 3 fully connected layers
    for (const auto& l : j["layers"]) CHECK(l["snr_db"].is_number());
    for (const char* phase : {"float_reference", "quantization", "integer_program", "adc_calibration", "simulation"})
        CHECK(j["phase_seconds"][phase].is_number());
}

TEST_CASE("cim-sim marks an oracle ADC range as not realisable, in JSON and text") {
    const std::string oracle = kNoisy + " --set array.adc.range=oracle --limit 20";
    json j = run_json(oracle);
    CHECK(j["adc_range"] == "oracle");
    CHECK(j["adc_range_realisable"] == false);
    json k = run_json(kNoisy + " --limit 20");
    CHECK(k["adc_range"] == "full_scale");
    CHECK(k["adc_range_realisable"] == true);
    auto r = run_command(tool("cim-sim") + " " + kModel + oracle + " --dataset fashion-mnist");
    REQUIRE(r.status == 0);
    CHECK(r.output.find("NOT REALISABLE") != std::string::npos);
}

TEST_CASE("cim-sim reports the clipped share of the conversions per layer and in all, under the range granularity in force") {
    // A 3-bit bipolar ADC on analog W+ - W- differences, one range per layer, with 1 LSB of ADC noise:
    // sums near either end of the range are pushed past it.
    const std::string narrow = kNoisy + " --set array.adc.bits=3 --set array.adc.range=calibrated_layer --set noise.adc_sigma_lsb=1"
                                        " --set weight.differential_readout=analog --limit 20";
    json j = run_json(narrow);
    int64_t conversions = 0, clipped = 0;
    for (const auto& l : j["layers"]) {
        const int64_t c = l["adc_conversions"], k = l["adc_clipped_conversions"];
        CHECK(l["adc_clipped_fraction"].get<double>() == doctest::Approx(c ? double(k) / double(c) : 0.0));
        conversions += c;
        clipped += k;
    }
    CHECK(clipped > 0);
    CHECK(j["adc_conversions"] == conversions);
    CHECK(j["adc_clipped_fraction"].get<double>() == doctest::Approx(double(clipped) / double(conversions)));
    // Half the conversions of the same pairs converted column by column.
    json digital = run_json(kNoisy + " --set array.adc.bits=3 --set array.adc.range=calibrated_layer --set noise.adc_sigma_lsb=1 --limit 20");
    CHECK(2 * conversions == digital["adc_conversions"].get<int64_t>());
    auto r = run_command(tool("cim-sim") + " " + kModel + narrow + " --dataset fashion-mnist");
    REQUIRE(r.status == 0);
    CHECK(r.output.find("ADC range: calibrated_layer (bipolar, on the analog difference of each W+/W- pair)") != std::string::npos);
    CHECK(r.output.find("all layers") != std::string::npos);
}

TEST_CASE("cim-sim is reproducible by seed and independent of the thread count") {
    json a = run_json(kNoisy + " --limit 40 --seed 7", "OMP_NUM_THREADS=1 ");
    json b = run_json(kNoisy + " --limit 40 --seed 7", "OMP_NUM_THREADS=2 ");
    json c = run_json(kNoisy + " --limit 40 --seed 8", "OMP_NUM_THREADS=2 ");
    CHECK(a["instance_accuracy"] == b["instance_accuracy"]);
    for (size_t i = 0; i < a["layers"].size(); ++i) CHECK(a["layers"][i]["snr_db"] == b["layers"][i]["snr_db"]);
    bool any_differs = false;
    for (size_t i = 0; i < a["layers"].size(); ++i) any_differs = any_differs || a["layers"][i]["snr_db"] != c["layers"][i]["snr_db"];
    CHECK(any_differs);
    // Calibrated ADC ranges are observed by all threads in parallel and merged.
    json d = run_json(kNoisy + " --set array.adc.bits=5 --set array.adc.range=calibrated_column --limit 40 --seed 7", "OMP_NUM_THREADS=1 ");
    json e = run_json(kNoisy + " --set array.adc.bits=5 --set array.adc.range=calibrated_column --limit 40 --seed 7", "OMP_NUM_THREADS=2 ");
    CHECK(d["instance_accuracy"] == e["instance_accuracy"]);
    for (size_t i = 0; i < d["layers"].size(); ++i) CHECK(d["layers"][i]["snr_db"] == e["layers"][i]["snr_db"]);
    // Each instance calibrated on its own programmed conductances (the float bit-plane pass): also
    // thread-independent, and different from the nominal ranges under programming variation.
    const std::string per_instance = kNoisy + " --set array.adc.bits=5 --set array.adc.range=calibrated_column --limit 40 --seed 7"
                                              " --adc-calibration per-instance";
    json f = run_json(per_instance, "OMP_NUM_THREADS=1 ");
    json g = run_json(per_instance, "OMP_NUM_THREADS=2 ");
    CHECK(f["instance_accuracy"] == g["instance_accuracy"]);
    bool calibration_differs = false;
    for (size_t i = 0; i < f["layers"].size(); ++i) {
        CHECK(f["layers"][i]["snr_db"] == g["layers"][i]["snr_db"]);
        calibration_differs = calibration_differs || f["layers"][i]["snr_db"] != e["layers"][i]["snr_db"];
    }
    CHECK(calibration_differs);
}

TEST_CASE("cim-sim's per-layer SNR covers --snr-images test images; accuracy and ADC statistics cover all") {
    json all = run_json(kNoisy + " --limit 40 --seed 5 --snr-images all");
    json dflt = run_json(kNoisy + " --limit 40 --seed 5");  // 1000 by default: all 40 here
    json some = run_json(kNoisy + " --limit 40 --seed 5 --snr-images 10");
    json none = run_json(kNoisy + " --limit 40 --seed 5 --snr-images 0");
    CHECK(all["snr_images"] == 40);
    CHECK(dflt["snr_images"] == 40);
    CHECK(none["snr_images"] == 0);
    // Calls cover whole chunks of images: at least the 10 asked for, fewer than all.
    CHECK(some["snr_images"].get<int64_t>() >= 10);
    CHECK(some["snr_images"].get<int64_t>() < 40);
    for (const json* j : {&dflt, &some, &none}) {
        // The reads themselves do not depend on whether they are compared.
        CHECK((*j)["instance_accuracy"] == all["instance_accuracy"]);
        REQUIRE((*j)["layers"].size() == all["layers"].size());
        for (size_t i = 0; i < all["layers"].size(); ++i)
            CHECK((*j)["layers"][i]["adc_conversions"] == all["layers"][i]["adc_conversions"]);
    }
    bool some_differs = false;
    for (size_t i = 0; i < all["layers"].size(); ++i) {
        CHECK(all["layers"][i]["exact"] == false);
        CHECK(dflt["layers"][i]["snr_db"] == all["layers"][i]["snr_db"]);
        REQUIRE(some["layers"][i]["snr_db"].is_number());
        some_differs = some_differs || some["layers"][i]["snr_db"] != all["layers"][i]["snr_db"];
        CHECK(none["layers"][i]["snr_db"].is_null());  // not measured, and not exact either
        CHECK(none["layers"][i]["exact"] == false);
    }
    CHECK(some_differs);
    auto text = run_command(tool("cim-sim") + " " + kModel + kNoisy + " --dataset fashion-mnist --limit 20 --snr-images 0");
    REQUIRE_MESSAGE(text.status == 0, text.output);
    CHECK(text.output.find("SNR over the reads of the first 0 of 20 test images") != std::string::npos);
    for (const char* bad : {"-3", "ten", "1e3"}) {
        auto r = run_command(tool("cim-sim") + " " + kModel + " --device isaac --snr-images " + bad);
        CHECK(r.status == 2);
        CHECK(r.output.find("--snr-images") != std::string::npos);
    }
}

TEST_CASE("cim-sim --study writes a CSV row per point and an SVG plot") {
    TempDir tmp;
    auto r = run_command(tool("cim-sim") + " " + kModel + kNoisy + " --dataset fashion-mnist --limit 30 --study array.adc.bits=4:6 --out " +
                         tmp.file("s.csv"));
    REQUIRE_MESSAGE(r.status == 0, r.output);
    std::ifstream csv(tmp.file("s.csv"));
    std::string line;
    std::vector<std::string> lines;
    while (std::getline(csv, line)) lines.push_back(line);
    REQUIRE(lines.size() == 4);
    CHECK(lines[0].rfind("array.adc.bits,accuracy,ci95_low,ci95_high", 0) == 0);
    CHECK(lines[1].rfind("4,", 0) == 0);
    CHECK(lines[3].rfind("6,", 0) == 0);
    std::ifstream svg(tmp.file("s.svg"));
    std::string text((std::istreambuf_iterator<char>(svg)), std::istreambuf_iterator<char>());
    CHECK(text.find("<svg") != std::string::npos);
    CHECK(text.find("<polyline") != std::string::npos);
}

TEST_CASE("cim-sim bad input: exit 2 with the place named") {
    auto study = run_command(tool("cim-sim") + " " + kModel + " --device isaac --study adc_bits");
    CHECK(study.status == 2);
    CHECK(study.output.find("--study adc_bits") != std::string::npos);
    auto set = run_command(tool("cim-sim") + " " + kModel + " --device isaac --set noise.read_sigm=0.1");
    CHECK(set.status == 2);
    auto calibration = run_command(tool("cim-sim") + " " + kModel + " --device isaac --adc-calibration chip");
    CHECK(calibration.status == 2);
    CHECK(calibration.output.find("--adc-calibration") != std::string::npos);
    CHECK(set.output.find("noise.read_sigm") != std::string::npos);
    auto dir = run_command(tool("cim-sim") + " " + kModel + " --device isaac --dataset-dir /nonexistent");
    CHECK(dir.status == 2);
    CHECK(dir.output.find("/nonexistent") != std::string::npos);
    auto alias = run_command(tool("cim-sim") + " " + kModel + " --device isaac --data-dir /nonexistent");  // cim-quant's name
    CHECK(alias.status == 2);
    CHECK(alias.output.find("/nonexistent") != std::string::npos);
    CHECK(run_command(tool("cim-sim") + " --help").status == 0);
}

TEST_CASE("cim-sim on the digital kinds equals the integer program bit for bit") {
    // INT8 (TPU-like; the FPGA's datapath is the same) and INT16 (Eyeriss-like: two 8-bit cell digits per weight).
    for (const char* device : {"tpu_v1_like", "eyeriss_like"}) {
        CAPTURE(device);
        json j = run_json(std::string(" --device ") + device + " --limit 10");
        CHECK(j["accuracy"] == j["quant_accuracy"]);
        REQUIRE(j["layers"].size() == 5);
        for (const auto& l : j["layers"]) {
            CHECK(l["exact"] == true);
            CHECK(l["adc_conversions"] == 0);
        }
    }
}
