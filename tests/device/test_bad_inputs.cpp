// tests/bad_inputs/device/: one YAML per error. Each file lists the exact
// message lines it must produce as `# expect: LINE:COL: path: problem`
// (the file's path is prepended); `# set: path=value` lines add overrides.
#include <filesystem>
#include <fstream>

#include <algorithm>

#include "device_test_util.h"

namespace fs = std::filesystem;

TEST_CASE("every file in tests/bad_inputs/device fails with its expected message") {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(CIM_BAD_INPUTS_DIR))
        if (entry.path().extension() == ".yaml") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    REQUIRE(files.size() >= 10);

    for (const auto& file : files) {
        CAPTURE(file.filename().string());
        std::ifstream in(file);
        std::string line, expected;
        std::vector<std::string> sets;
        while (std::getline(in, line)) {
            if (line.rfind("# expect: ", 0) == 0) {
                const std::string text = line.substr(10);
                if (!expected.empty()) expected += '\n';
                expected += text.rfind("--set ", 0) == 0 ? text : file.string() + ":" + text;
            } else if (line.rfind("# set: ", 0) == 0) {
                sets.push_back(line.substr(7));
            }
        }
        REQUIRE_FALSE(expected.empty());
        std::string got;
        try {
            cim::load_device(file.string(), sets);
        } catch (const cim::InputError& e) {
            got = e.what();
        }
        CHECK(got == expected);
    }
}
