// libFuzzer target: a device description -> parse_device (yaml-cpp, the strict schema,
// derived defaults, cross-field rules, --set overrides) -> the derived geometry.
// Lines `#set PATH=VALUE` (comments to YAML) are passed as --set overrides too.
#include "fuzz_util.h"

#include <cim/device/device_spec.h>

#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> overrides;
    constexpr std::string_view kSet = "#set ";
    for (size_t pos = 0; pos < text.size();) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view line = text.substr(pos, end - pos);
        if (line.substr(0, kSet.size()) == kSet) overrides.emplace_back(line.substr(kSet.size()));
        pos = end + 1;
    }
    cim::fuzz::expect_input_error([&] {
        const cim::DeviceSpec d = cim::parse_device(text, "fuzz.yaml", overrides);
        (void)cim::list_costs(d);
        (void)cim::weight_slices(d);
        (void)cim::columns_per_weight(d);
        (void)cim::adcs_per_array(d);
        (void)cim::input_cycles(d);
    });
    return 0;
}
