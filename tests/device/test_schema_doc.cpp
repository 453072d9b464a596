// docs/device-schema.md is generated from the schema; it must be current.
#include <fstream>
#include <sstream>

#include "device_test_util.h"

TEST_CASE("docs/device-schema.md matches the schema declarations") {
    const std::string path = std::string(CIM_SOURCE_DIR) + "/docs/device-schema.md";
    std::ifstream in(path, std::ios::binary);
    REQUIRE_MESSAGE(in.good(), path << " is missing; run: cmake --build build --target device-schema-doc");
    std::ostringstream text;
    text << in.rdbuf();
    CHECK_MESSAGE(text.str() == cim::device_schema_markdown(),
                  path << " is stale; run: cmake --build build --target device-schema-doc");
}

TEST_CASE("every cost key is documented with its unit") {
    const std::string doc = cim::device_schema_markdown();
    const cim::DeviceSpec d = cim::parse_device(device_test::kTiny, "tiny.yaml");
    const auto costs = cim::list_costs(d);
    CHECK(costs.size() == 27);  // 12 energy, 7 latency, 8 area
    for (const auto& c : costs) {
        CHECK_MESSAGE(doc.find("| `" + c.path + "` | cost | " + c.unit + " |") != std::string::npos, c.path);
        CHECK_FALSE(c.unit.empty());
    }
}
