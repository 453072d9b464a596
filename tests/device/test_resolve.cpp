// Finding device files by name: path, $CIMFORGE_CONFIGS, the source tree's configs/.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "device_test_util.h"

namespace fs = std::filesystem;

namespace {
const std::vector<std::string> kBundled = {"eyeriss_like", "fpga_dsp_zu7ev", "intel22_c2c", "isaac", "mram_princeton22",
                                           "tpu_v1_like", "tsmc22_sram_digital", "tsmc7_sram_analog", "wtm2101"};

bool ends_with(const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}
}  // namespace

TEST_CASE("bundled names resolve to configs/<name>.yaml") {
    REQUIRE(std::getenv("CIMFORGE_CONFIGS") == nullptr);
    CHECK(cim::bundled_device_names() == kBundled);
    for (const auto& name : kBundled) {
        const std::string path = cim::resolve_device_path(name);
        CHECK(ends_with(path, "configs/" + name + ".yaml"));
        CHECK(fs::is_regular_file(path));
        CHECK(cim::resolve_device_path(name + ".yaml") == path);
    }
}

TEST_CASE("an existing path is used as it is") {
    const std::string path = std::string(CIM_SOURCE_DIR) + "/configs/wtm2101.yaml";
    CHECK(cim::resolve_device_path(path) == path);
}

TEST_CASE("an unknown name lists the bundled devices") {
    const std::string dir = std::string(CIM_SOURCE_DIR) + "/configs";
    CHECK_THROWS_WITH_AS(cim::resolve_device_path("wtm2100"),
                         ("wtm2100: no such device file and no bundled device of that name (did you mean "
                          "wtm2101?); bundled devices in " + dir +
                          ": eyeriss_like, fpga_dsp_zu7ev, intel22_c2c, isaac, mram_princeton22, tpu_v1_like, tsmc22_sram_digital, "
                          "tsmc7_sram_analog, wtm2101")
                             .c_str(),
                         cim::InputError);
    CHECK_THROWS_WITH_AS(cim::resolve_device_path("no/such/dev.yaml"),
                         ("no/such/dev.yaml: no such device file and no bundled device of that name; "
                          "bundled devices in " + dir +
                          ": eyeriss_like, fpga_dsp_zu7ev, intel22_c2c, isaac, mram_princeton22, tpu_v1_like, tsmc22_sram_digital, "
                          "tsmc7_sram_analog, wtm2101")
                             .c_str(),
                         cim::InputError);
    CHECK_THROWS_AS(cim::load_device("wtm2100"), cim::InputError);
}

TEST_CASE("CIMFORGE_CONFIGS points the lookup elsewhere") {
    const fs::path dir = fs::temp_directory_path() / "cimforge_test_configs";
    fs::create_directories(dir);
    std::ofstream(dir / "custom.yaml") << device_test::kTiny;
    ::setenv("CIMFORGE_CONFIGS", dir.c_str(), 1);
    CHECK(cim::bundled_device_names() == std::vector<std::string>{"custom"});
    CHECK(cim::resolve_device_path("custom") == (dir / "custom.yaml").string());
    CHECK(cim::load_device("custom").name == "tiny");
    CHECK_THROWS_AS(cim::resolve_device_path("wtm2101"), cim::InputError);
    ::unsetenv("CIMFORGE_CONFIGS");
    fs::remove_all(dir);
    CHECK(ends_with(cim::resolve_device_path("wtm2101"), "configs/wtm2101.yaml"));
}
