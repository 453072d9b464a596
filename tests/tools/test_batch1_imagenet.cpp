// A full-size ResNet-18 exported the way PyTorch users do by default (batch pinned at 1) runs
// label-free through cim-sim on a folder of JPEG and PNG images of several sizes, preprocessed to
// 224x224 as torchvision's ImageNet transforms do (issue 14). Labelled heavy: the simulation
// reads every crossbar of an ImageNet network.
#include <doctest/doctest.h>

#include "cli_runner.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>

using namespace cim::test;
namespace fs = std::filesystem;

TEST_CASE("ResNet-18 exported at batch 1 runs label-free through cim-sim on a 224x224 image folder") {
    const fs::path dir = fs::temp_directory_path() / ("cim_test_b1_resnet_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    const std::string src = CIM_SOURCE_DIR;
    // The export (tests/ir/export_batch1.py) and a small image folder of mixed sizes and formats.
    const std::string setup = "/usr/bin/python3 " + src + "/tests/ir/export_batch1.py " + dir.string() + " --resnet18 > /dev/null && " +
                              "/usr/bin/python3 " + src + "/tests/data/write_image_folder.py " + dir.string() + "/images 2 2";
    REQUIRE(std::system(setup.c_str()) == 0);
    const auto r = run_command(tool("cim-sim") + " " + (dir / "resnet18.onnx").string() + " --device isaac --data " + (dir / "images").string() +
                               " --preprocess " + src + "/configs/preprocess/imagenet.yaml --reference float --calibration 1 --seed 2 --json --quiet");
    INFO(r.output);
    REQUIRE(r.status == 0);
    const auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
    CHECK(j["images"] == 3);  // 4 images, 1 held apart to calibrate
    CHECK(j["labels"] == false);
    CHECK(j["accuracy"].is_null());
    CHECK(j["agreement_top1"].get<double>() >= 0.0);
    CHECK(j["agreement_top5"].get<double>() >= j["agreement_top1"].get<double>());
    CHECK(std::isfinite(j["output_snr_db"].get<double>()));
    CHECK(j["kl_divergence"].get<double>() >= 0.0);
    CHECK(j["layers"].size() == 21);  // ResNet-18: 20 convolutions and the classifier, all on the arrays
    fs::remove_all(dir);
}
