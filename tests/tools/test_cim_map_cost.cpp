// End-to-end tests of cim-map's cost report: JSON fields and sums, --describe,
// --plot, --batch, --stats, --calibrate, and their errors.
#include <doctest/doctest.h>

#include "cli_runner.h"
#include "onnx_builder.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace cim::test;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kDevices = {"intel22_c2c",       "isaac",          "mram_princeton22",
                                           "tsmc22_sram_digital", "tsmc7_sram_analog", "wtm2101"};

// x[N,1,8,8] -> Relu -> Conv 1->4 3x3 -> Relu -> Flatten -> Gemm 256->10.
std::string small_cnn(TempDir& tmp) {
    OnnxBuilder b(13);
    b.input("x", {-1, 1, 8, 8});
    b.node("Relu", {"x"}, {"xr"}, "relu_in");
    std::vector<float> wc(4 * 9);
    for (size_t i = 0; i < wc.size(); ++i) wc[i] = float(int(i % 7) - 3) * 0.1f;
    b.initializer("wc", {4, 1, 3, 3}, wc);
    auto* conv = b.node("Conv", {"xr", "wc"}, {"c"}, "conv");
    OnnxBuilder::attr_ints(conv, "pads", {1, 1, 1, 1});
    b.node("Relu", {"c"}, {"cr"}, "relu");
    b.node("Flatten", {"cr"}, {"f"}, "flatten");
    std::vector<float> wf(256 * 10);
    for (size_t i = 0; i < wf.size(); ++i) wf[i] = float(int(i % 11) - 5) * 0.05f;
    b.initializer("wf", {256, 10}, wf);
    b.node("Gemm", {"f", "wf"}, {"y"}, "fc");
    b.output("y");
    b.save(tmp.file("cnn.onnx"));
    return tmp.file("cnn.onnx");
}

json run_json(const std::string& args, int* status = nullptr) {
    auto r = run_command(tool("cim-map") + " " + args + " --json");
    if (status) *status = r.status;
    REQUIRE_MESSAGE(r.status == 0, r.output);
    // stderr is merged into the output; the JSON object is the whole of stdout here.
    return json::parse(r.output);
}

std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

TEST_CASE("cim-map --json: cost fields are filled and per-layer values add up to the totals") {
    TempDir tmp;
    const std::string model = small_cnn(tmp);
    for (const auto& dev : kDevices) {
        CAPTURE(dev);
        const json j = run_json(model + " --device " + dev);
        // The contract's keys, still there.
        for (const char* k : {"arrays", "chips", "latency_s", "energy_j", "area_mm2", "utilization", "tops_per_w"})
            CHECK_MESSAGE(j["total"].contains(k), k);
        for (const char* k : {"tops", "tops_per_mm2", "power_w", "throughput_inf_per_s", "throughput_pipelined_inf_per_s",
                              "components", "area_by_component", "batch"})
            CHECK_MESSAGE(j["total"].contains(k), k);
        const json& t = j["total"];
        REQUIRE(t["latency_s"].is_number());
        REQUIRE(t["energy_j"].is_number());
        double lat = 0, en = 0;
        for (const auto& L : j["layers"]) {
            for (const char* k : {"name", "op", "rows", "cols", "arrays", "latency_s", "energy_j"}) CHECK(L.contains(k));
            lat += L["latency_s"].get<double>();
            en += L["energy_j"].get<double>();
        }
        CHECK(lat == doctest::Approx(t["latency_s"].get<double>()).epsilon(1e-9));
        CHECK(en == doctest::Approx(t["energy_j"].get<double>()).epsilon(1e-9));
        CHECK(t["tops_per_w"].get<double>() > 0);
        CHECK(t["area_mm2"].get<double>() > 0);
        // Every component carries its provenance.
        for (const auto& [name, c] : t["components"].items()) {
            const std::string component = name;  // clang 14 cannot capture a structured binding
            CAPTURE(component);
            CHECK_FALSE(c["energy_source"].get<std::string>().empty());
        }
        const json& conv = j["layers"][1];
        CHECK(conv["name"] == "conv");
        CHECK(conv["energy_by_component_j"].contains("row_drive"));
        CHECK(conv.contains("density_source"));
    }
}

TEST_CASE("cim-map --set scales a component and the JSON total moves by exactly its share") {
    TempDir tmp;
    const std::string model = small_cnn(tmp);
    const json a = run_json(model + " --device isaac");
    const json b = run_json(model + " --device isaac --set energy.adc_pj_per_conversion=3.125");
    const double share = a["total"]["components"]["adc"]["energy_j"].get<double>();
    CHECK(b["total"]["energy_j"].get<double>() - a["total"]["energy_j"].get<double>() == doctest::Approx(share).epsilon(1e-6));
    CHECK(b["total"]["components"]["adc"]["energy_source"].get<std::string>().find("--set") != std::string::npos);
}

TEST_CASE("cim-map --describe prints peak figures for every bundled config, with and without a model") {
    for (const auto& dev : kDevices) {
        CAPTURE(dev);
        auto r = run_command(tool("cim-map") + " --describe --device " + dev);
        CHECK(r.status == 0);
        CHECK(r.output.find("TOPS/W") != std::string::npos);
        CHECK(r.output.find("TOPS/mm^2") != std::string::npos);
        CHECK(r.output.find("power") != std::string::npos);
        const json j = run_json("--describe --device " + dev);
        for (const char* k : {"tops", "tops_per_w", "tops_per_mm2", "area_mm2", "power_w"}) {
            CAPTURE(k);
            CHECK(j["peak"][k].get<double>() > 0);
        }
    }
    const json isaac = run_json("--describe --device isaac");
    CHECK(isaac["peak"]["power_w"].get<double>() == doctest::Approx(65.8).epsilon(0.002));
    CHECK(isaac["peak"]["area_mm2"].get<double>() == doctest::Approx(85.4).epsilon(0.002));
    TempDir tmp;
    const json both = run_json(small_cnn(tmp) + " --describe --device tsmc7_sram_analog");
    CHECK(both.contains("peak"));
    CHECK(both.contains("layers"));
}

TEST_CASE("cim-map --plot writes the breakdown SVG for every bundled config") {
    TempDir tmp;
    const std::string model = small_cnn(tmp);
    for (const auto& dev : kDevices) {
        CAPTURE(dev);
        const std::string svg = tmp.file(dev + ".svg"), peak = tmp.file(dev + "-peak.svg");
        auto r = run_command(tool("cim-map") + " " + model + " --device " + dev + " --plot " + svg);
        CHECK(r.status == 0);
        const std::string text = read(svg);
        CHECK(text.rfind("<svg", 0) == 0);
        CHECK(text.find("</svg>") != std::string::npos);
        CHECK(text.find("Energy per inference by component") != std::string::npos);
        auto p = run_command(tool("cim-map") + " --describe --device " + dev + " --plot " + peak);
        CHECK(p.status == 0);
        CHECK(read(peak).find("Power at peak by component") != std::string::npos);
    }
    // PNG goes through rsvg-convert when it is installed, else it is a usage error that says so.
    auto png = run_command(tool("cim-map") + " " + model + " --device isaac --plot " + tmp.file("x.png"));
    const bool have_rsvg = run_command("command -v rsvg-convert").status == 0;
    if (have_rsvg) {
        CHECK(png.status == 0);
        CHECK(read(tmp.file("x.png")).substr(1, 3) == "PNG");
        CHECK_FALSE(fs::exists(tmp.file("x.png.tmp.svg")));
    } else {
        CHECK(png.status == 2);
        CHECK(png.output.find("rsvg-convert") != std::string::npos);
    }
    auto other = run_command(tool("cim-map") + " " + model + " --device isaac --plot " + tmp.file("x.pdf"));
    CHECK(other.status == 2);
}

TEST_CASE("cim-map --batch: energy per inference stays, latency grows, throughput reported") {
    TempDir tmp;
    const std::string model = small_cnn(tmp);
    const json one = run_json(model + " --device isaac --no-duplicate");
    const json four = run_json(model + " --device isaac --no-duplicate --batch 4");
    CHECK(four["total"]["batch"] == 4);
    CHECK(four["total"]["energy_j"].get<double>() == doctest::Approx(one["total"]["energy_j"].get<double>()));
    CHECK(four["total"]["latency_s"].get<double>() > 3 * one["total"]["latency_s"].get<double>());
    CHECK(four["total"]["throughput_inf_per_s"].get<double>() ==
          doctest::Approx(4 / four["total"]["latency_s"].get<double>()));
    auto bad = run_command(tool("cim-map") + " " + model + " --device isaac --batch 0");
    CHECK(bad.status == 2);
}

TEST_CASE("cim-map --stats and --calibrate set the data densities") {
    TempDir tmp;
    const std::string model = small_cnn(tmp);
    std::ofstream(tmp.file("stats.json")) << R"({"layers": {"conv": {"input_density": 0.1, "weight_density": 0.2}}})";
    const json s = run_json(model + " --device intel22_c2c --stats " + tmp.file("stats.json"));
    const json& conv = s["layers"][1];
    CHECK(conv["input_density"].get<double>() == 0.1);
    CHECK(conv["weight_density"].get<double>() == 0.2);
    CHECK(conv["density_source"].get<std::string>().find("stats.json") != std::string::npos);

    std::ofstream(tmp.file("typo.json")) << R"({"layers": {"convv": {"input_density": 0.1}}})";
    auto typo = run_command(tool("cim-map") + " " + model + " --device isaac --stats " + tmp.file("typo.json"));
    CHECK(typo.status == 2);
    CHECK(typo.output.find("convv") != std::string::npos);

    // A calibration input: one 1x1x8x8 tensor.
    const std::string pb = tmp.file("input_0.pb");
    {
        onnx::TensorProto t;
        t.set_name("x");
        t.set_data_type(onnx::TensorProto::FLOAT);
        for (int64_t d : {1, 1, 8, 8}) t.add_dims(d);
        for (int i = 0; i < 64; ++i) t.add_float_data(float(i % 9) / 9.0f);
        std::ofstream out(pb, std::ios::binary);
        out << t.SerializeAsString();
    }
    const json c = run_json(model + " --device intel22_c2c --calibrate " + pb);
    CHECK(c["layers"][1]["density_source"].get<std::string>().find("calibration run") != std::string::npos);
    CHECK(c["layers"][1]["input_density"].get<double>() > 0);
    CHECK(c["layers"][1]["input_density"].get<double>() < 1);
    auto both = run_command(tool("cim-map") + " " + model + " --device isaac --calibrate " + pb + " --stats " +
                            tmp.file("stats.json"));
    CHECK(both.status == 2);
}

TEST_CASE("cim-map table shows latency and energy; a model that needs reprogramming reports unknown totals") {
    TempDir tmp;
    const std::string model = small_cnn(tmp);
    auto r = run_command(tool("cim-map") + " " + model + " --device isaac");
    CHECK(r.status == 0);
    CHECK(r.output.find("latency") != std::string::npos);
    CHECK(r.output.find("TOPS/W") != std::string::npos);
    CHECK(r.output.find("adc") != std::string::npos);
    // One 128x128 array per chip, at most one chip: the model is time-multiplexed and ISAAC gives
    // no programming cost, so the totals are unknown (null), never zero.
    const json j = run_json(model + " --device isaac --set chip.tiles=1 --set chip.macros_per_tile=1 --set chip.max_chips=1");
    CHECK(j["total"]["fits_device"] == false);
    CHECK(j["total"]["energy_j"].is_null());
    CHECK(j["total"]["latency_s"].is_null());
    CHECK(j["total"]["notes"].dump().find("weight_program_pj_per_cell") != std::string::npos);
    auto need = run_command(tool("cim-map") + " --device isaac");
    CHECK(need.status == 2);
}

TEST_CASE("cim-map shows every estimated cost with its formula, inputs, anchor and reference; a bad estimator exits 2") {
    auto r = run_command(tool("cim-map") + " --describe --device isaac");
    CHECK(r.status == 0);
    CHECK(r.output.find("estimated costs") != std::string::npos);
    CHECK(r.output.find("energy.adc_pj_per_conversion = 1.5625 pJ per conversion  [adc_sar]") != std::string::npos);
    CHECK(r.output.find("bits = 8 bits (array.adc.bits)") != std::string::npos);
    CHECK(r.output.find("anchor:    1.5625 at bits = 8, node_nm = 32, sample_rate_gsps = 1.28") != std::string::npos);
    CHECK(r.output.find("sample_rate_gsps = 1.28 GS/s (array.adc.cols_per_adc / the conversions' window") !=
          std::string::npos);
    CHECK(r.output.find("estimator adc_sar: anchor x model / model(anchor)") != std::string::npos);  // component table

    const json j = run_json("--describe --device isaac --set array.adc.bits=6");
    const json* adc = nullptr;
    for (const auto& e : j["estimates"])
        if (e["path"] == "energy.adc_pj_per_conversion") adc = &e;
    REQUIRE(adc != nullptr);
    CHECK((*adc)["model"] == "adc_sar");
    // 6 bits at 1.28 GS/s sit below their rate corner; the 8-bit anchor sits 1.2x above its own:
    // (1.28 GS/s / 1.068 GS/s)^0.661 = 1.127 (docs/cost-estimators.md).
    CHECK((*adc)["value"].get<double>() == doctest::Approx(1.5625 / 4 / 1.12725).epsilon(1e-4));
    CHECK((*adc)["anchor"]["value"].get<double>() == 1.5625);
    CHECK((*adc)["anchor"]["at"]["bits"].get<double>() == 8);
    bool bits_from_device = false;
    for (const auto& i : (*adc)["inputs"])
        bits_from_device |= i["name"] == "bits" && i["from"] == "array.adc.bits" && i["value"].get<double>() == 6;
    CHECK(bits_from_device);
    CHECK((*adc)["reference"].get<std::string>().find("Murmann") != std::string::npos);
    CHECK(j["peak"]["power_by_component"]["adc"]["estimator"] == "adc_sar");

    TempDir tmp;
    const json map = run_json(small_cnn(tmp) + " --device isaac");
    CHECK(map["total"]["components"]["adc"]["energy_estimator"] == "adc_sar");
    CHECK(map["total"]["components"]["input_buffer"]["energy_estimator"] == "cmos_scaled");
    CHECK(map["total"]["components"]["chip_link"]["energy_estimator"].is_null());
    CHECK(map["total"]["components"]["adc"]["colour"] == "#e15759");
    CHECK(map["estimates"].size() == 11);  // ADC x3, drivers, read, cells, shift-add, buffers x2, router, digital

    std::ofstream(tmp.file("bad.yaml")) << read(std::string(CIM_SOURCE_DIR) + "/configs/tsmc7_sram_analog.yaml") +
                                               "\n";
    const std::string text = read(tmp.file("bad.yaml"));
    const auto at = text.find("adc_pj_per_conversion: {value: 0.2098");
    REQUIRE(at != std::string::npos);
    std::string bad = text;
    bad.replace(at, std::string("adc_pj_per_conversion: {value: 0.2098").size(), "adc_pj_per_conversion: {model: adc_flsh");
    std::ofstream(tmp.file("bad.yaml")) << bad;
    auto e = run_command(tool("cim-map") + " --describe --device " + tmp.file("bad.yaml"));
    CHECK(e.status == 2);
    CHECK(e.output.find("bad.yaml:") != std::string::npos);
    CHECK(e.output.find("'adc_flsh' is not an estimator (did you mean adc_flash?); estimators for "
                        "energy.adc_pj_per_conversion: adc_sar (fom_w_fj [fJ per conversion step]") != std::string::npos);
}

TEST_CASE("cim-map --device A --device B: one comparison table, a JSON list and a plot") {
    TempDir tmp;
    const std::string model = small_cnn(tmp);
    const std::string devices = " --device isaac --device tpu_v1_like --device fpga_dsp_zu7ev";
    // JSON: a list of the single-device objects, each equal to that device's own --json.
    const json list = run_json(model + devices);
    REQUIRE(list.is_array());
    REQUIRE(list.size() == 3);
    CHECK(list[0]["device"] == "isaac");
    CHECK(list[1]["kind"] == "digital_npu");
    CHECK(list[2]["kind"] == "fpga_dsp");
    const json single = run_json(model + " --device tpu_v1_like");
    CHECK(single.is_object());
    CHECK(single["total"]["latency_s"] == list[1]["total"]["latency_s"]);
    CHECK(single["total"]["energy_j"] == list[1]["total"]["energy_j"]);
    // The FPGA config gives no static power: its energy is unknown (null), never zero.
    CHECK(list[2]["total"]["energy_j"].is_null());
    CHECK(list[2]["total"]["area_mm2"].is_null());  // and no published die area
    CHECK(list[2]["total"]["chips"] == 1);

    const auto table = run_command(tool("cim-map") + " " + model + devices + " --plot " + tmp.file("cmp.svg"));
    REQUIRE_MESSAGE(table.status == 0, table.output);
    CHECK(table.output.find("latency x") != std::string::npos);
    for (const char* name : {"isaac", "tpu_v1_like", "fpga_dsp_zu7ev"}) CHECK(table.output.find(name) != std::string::npos);
    CHECK(table.output.find("unknown") != std::string::npos);  // the FPGA's energy, TOPS/W and area
    CHECK(table.output.find(" 1x ") != std::string::npos);      // the first device against itself
    const std::string svg = read(tmp.file("cmp.svg"));
    CHECK(svg.find("<svg") == 0);
    CHECK(svg.find("fpga_dsp_zu7ev") != std::string::npos);

    const auto bad = run_command(tool("cim-map") + " " + model + devices + " --layout " + tmp.file("l.svg"));
    CHECK(bad.status == 2);
    CHECK(bad.output.find("--layout takes one --device") != std::string::npos);
}
