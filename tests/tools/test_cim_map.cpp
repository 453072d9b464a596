// End-to-end tests of cim-map's mapping report: the JSON contract of
// ../shared/design.md, bundled devices by name, --chips, --layout, bad input.
#include <doctest/doctest.h>

#include "cli_runner.h"
#include "onnx_builder.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>

using namespace cim::test;
using json = nlohmann::json;

namespace {
const std::string kZoo = std::string(CIM_SOURCE_DIR) + "/models/zoo/";
}

TEST_CASE("cim-map maps every zoo model onto every bundled device, with the JSON contract") {
    for (const char* model : {"mlp", "lenet5", "vgg", "resnet", "mobilenet", "vit", "lstm", "gru"}) {
        for (const char* device : {"wtm2101", "isaac", "tsmc7_sram_analog", "tsmc22_sram_digital", "mram_princeton22", "intel22_c2c"}) {
            const std::string where = std::string(model) + " on " + device;
            INFO(where);
            auto r = run_command(tool("cim-map") + " " + kZoo + model + "/model.onnx --device " + device + " --json");
            REQUIRE_MESSAGE(r.status == 0, r.output);
            json j = json::parse(r.output);
            REQUIRE(j["layers"].is_array());
            int64_t arrays = 0;
            for (const auto& l : j["layers"]) {
                for (const char* key : {"name", "op", "rows", "cols", "arrays", "latency_s", "energy_j"}) CHECK(l.contains(key));
                arrays += l["arrays"].get<int64_t>();
            }
            for (const char* key : {"arrays", "chips", "latency_s", "energy_j", "area_mm2", "utilization", "tops_per_w"})
                CHECK(j["total"].contains(key));
            CHECK(j["total"]["chips"].get<int64_t>() >= 1);
            if (std::string(device) != "wtm2101") CHECK(arrays == j["total"]["arrays"].get<int64_t>());  // shared arrays pack
        }
    }
}

TEST_CASE("cim-map --chips turns not fitting into an error that says by how much") {
    auto r = run_command(tool("cim-map") + " " + kZoo + "vgg/model.onnx --device tsmc7_sram_analog --chips 2");
    CHECK(r.status == 2);
    CHECK(r.output.find("short by") != std::string::npos);
}

TEST_CASE("cim-map --layout draws the placement") {
    TempDir tmp;
    auto r = run_command(tool("cim-map") + " " + kZoo + "lenet5/model.onnx --device isaac --layout " + tmp.file("l.svg"));
    REQUIRE(r.status == 0);
    std::ifstream f(tmp.file("l.svg"));
    std::string svg((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    CHECK(svg.find("<svg") != std::string::npos);
    CHECK(svg.find("/features/features.0/Conv") != std::string::npos);
}

TEST_CASE("cim-map --csv writes the JSON's per-layer figures, one row per node") {
    TempDir tmp;
    // ViT's notes hold commas; squeezed onto one 1-tile chip it needs weight reloads whose energy
    // ISAAC's YAML does not give, so some energies are unknown.
    const std::string args = " " + kZoo + "vit/model.onnx --device isaac --set chip.max_chips=1 --set chip.tiles=1 --csv " +
                             tmp.file("layers.csv");
    auto r = run_command(tool("cim-map") + args + " --json");
    REQUIRE_MESSAGE(r.status == 0, r.output);
    const json j = json::parse(r.output);
    std::ifstream f(tmp.file("layers.csv"));
    std::vector<std::vector<std::string>> rows;
    for (std::string line; std::getline(f, line);) {
        std::vector<std::string> cells(1);
        bool quoted = false;
        for (size_t k = 0; k < line.size(); ++k) {
            const char c = line[k];
            if (quoted && c == '"' && k + 1 < line.size() && line[k + 1] == '"') cells.back() += '"', ++k;
            else if (c == '"') quoted = !quoted;
            else if (c == ',' && !quoted) cells.emplace_back();
            else cells.back() += c;
        }
        rows.push_back(cells);
    }
    REQUIRE(rows.size() == j["layers"].size() + 1);
    const auto& header = rows[0];
    REQUIRE(header.size() > 10);
    CHECK(header[0] == "name");
    CHECK(header[1] == "op");
    CHECK(header[2] == "runs_on");
    auto col = [&](const std::string& name) { return size_t(std::find(header.begin(), header.end(), name) - header.begin()); };
    REQUIRE(col("arrays") < header.size());
    REQUIRE(col("energy_j") < header.size());
    REQUIRE(col("note") < header.size());
    size_t unknown = 0, with_commas = 0;
    for (size_t i = 0; i < j["layers"].size(); ++i) {
        const json& L = j["layers"][i];
        const auto& row = rows[i + 1];
        unknown += L["energy_j"].is_null();
        with_commas += L["note"].get<std::string>().find(',') != std::string::npos;
        REQUIRE(row.size() == header.size());
        CHECK(row[0] == L["name"].get<std::string>());
        CHECK(row[col("arrays")] == std::to_string(L["arrays"].get<int64_t>()));
        CHECK(row[col("note")] == L["note"].get<std::string>());  // notes hold commas: quoted
        CHECK(row[col("energy_j")].empty() == L["energy_j"].is_null());  // unknown stays empty, never 0
    }
    CHECK(unknown > 0);
    CHECK(with_commas > 0);
}

TEST_CASE("cim-map --quant-report maps each layer at the width cim-quant chose") {
    TempDir tmp;
    // 1-bit MRAM cells, so the arrays a layer needs grow with its weight width.
    const std::string dev = " --device mram_princeton22 --set weight.bits=8 --set input.bits=8 --set quant.weight_bits=8"
                            " --set quant.activation_bits=8 --set array.cols=64 --set array.usable_cols=64"
                            " --set array.capacity_bits=16384 --set array.rows=256";
    const std::string model = kZoo + "lenet5/model.onnx";
    auto q = run_command(tool("cim-quant") + " " + model + dev +
                         " --set quant.mixed_precision_budget_arrays=30 --dataset fashion-mnist --limit 100 --json > " +
                         tmp.file("q.json"));
    REQUIRE_MESSAGE(q.status == 0, q.output);
    std::ifstream qf(tmp.file("q.json"));
    const json qj = json::parse(qf);
    const json& mp = qj["mixed_precision"];
    auto m = run_command(tool("cim-map") + " " + model + dev + " --no-duplicate --json --quant-report " + tmp.file("q.json"));
    REQUIRE_MESSAGE(m.status == 0, m.output);
    const json mj = json::parse(m.output);
    CHECK(mj["total"]["arrays"] == mp["arrays"]);  // the quantizer's array count, from the mapper's side
    std::map<std::string, int> chosen;
    for (const auto& l : qj["layers"]) chosen[l["name"].get<std::string>()] = l["weight_bits"].get<int>();
    int narrower = 0;
    for (const auto& l : mj["layers"]) {
        if (l["runs_on"] != "arrays") continue;
        CHECK(l["weight_bits"].get<int>() == chosen.at(l["name"].get<std::string>()));
        narrower += l["weight_bits"].get<int>() < 8;
    }
    CHECK(narrower > 0);

    std::ofstream(tmp.file("bad.json")) << "{\"options\": {}}";
    auto bad = run_command(tool("cim-map") + " " + model + dev + " --quant-report " + tmp.file("bad.json"));
    CHECK(bad.status == 2);
    CHECK(bad.output.find("no \"layers\" array") != std::string::npos);
}

TEST_CASE("cim-map places LSTM/GRU/RNN on arrays, W and R stacked, or on the host with their operation count") {
    // X [7 steps, batch 1, 5 features] -> bidirectional recurrent op (hidden 4) -> Y_h [2, 1, 4].
    for (const auto& [op, gates] : {std::pair<std::string, int64_t>{"LSTM", 4}, {"GRU", 3}, {"RNN", 1}}) {
        const std::string name = op;
        const int64_t G = gates;
        CAPTURE(name);
        TempDir tmp;
        OnnxBuilder b(14);
        b.input("X", {7, 1, 5});
        b.initializer("W", {2, G * 4, 5}, std::vector<float>(size_t(2 * G * 4 * 5), 0.1f));
        b.initializer("R", {2, G * 4, 4}, std::vector<float>(size_t(2 * G * 4 * 4), -0.1f));
        auto* n = b.node(name, {"X", "W", "R"}, {"", "Y_h"}, "rec");
        OnnxBuilder::attr_int(n, "hidden_size", 4);
        OnnxBuilder::attr_string(n, "direction", "bidirectional");
        b.output("Y_h");
        b.save(tmp.file("m.onnx"));
        for (const char* device : {"wtm2101", "isaac"}) {
            CAPTURE(device);
            // The layer "rec" of cim-map's JSON with `extra` options.
            auto layer_rec = [&](const std::string& extra) {
                auto r = run_command(tool("cim-map") + " " + tmp.file("m.onnx") + " --device " + device + extra + " --json");
                REQUIRE_MESSAGE(r.status == 0, r.output);
                const json j = json::parse(r.output);
                const auto it = std::find_if(j["layers"].begin(), j["layers"].end(), [](const json& l) { return l["name"] == "rec"; });
                REQUIRE(it != j["layers"].end());
                return *it;
            };
            const json rec = layer_rec("");
            CHECK(rec["runs_on"] == "arrays");
            CHECK(rec["arrays"].get<int64_t>() > 0);
            CHECK(rec["groups"] == 2);       // one per direction
            CHECK(rec["vectors"] == 7 * 1);  // one MVM per step and sequence
            CHECK(rec["sequential_steps"] == 7);
            CHECK(rec["macs"].get<int64_t>() == 2 * 7 * (5 + 4) * (name == "GRU" ? 4 : G) * 4);
            // The digital units apply the gates: 4 per gate value, per step, sequence and direction.
            CHECK(rec["digital_ops"].get<int64_t>() == 7 * 1 * 2 * G * 4 * 4);
            CHECK(rec["note"].get<std::string>().find("recurrent") != std::string::npos);

            const json host = layer_rec(" --host-layers rec");
            CHECK(host["runs_on"] == "host");
            // steps x batch x directions x gates*hidden x (2 per MAC of W and R + 4 per gate value)
            CHECK(host["digital_ops"].get<int64_t>() == 7 * 1 * 2 * G * 4 * (2 * (5 + 4) + 4));
        }
    }
}

TEST_CASE("cim-map bad input") {
    auto dev = run_command(tool("cim-map") + " " + kZoo + "mlp/model.onnx --device no_such_chip");
    CHECK(dev.status == 2);
    CHECK(dev.output.find("wtm2101") != std::string::npos);  // lists the bundled devices
    auto set = run_command(tool("cim-map") + " " + kZoo + "mlp/model.onnx --device isaac --set array.rows=0");
    CHECK(set.status == 2);
    CHECK(set.output.find("array.rows") != std::string::npos);
    auto host = run_command(tool("cim-map") + " " + kZoo + "mlp/model.onnx --device isaac --host-layers nope");
    CHECK(host.status == 2);
    CHECK(run_command(tool("cim-map") + " --help").status == 0);
}
