// The trained-ADC-range side file (cim-sim --adc-ranges).
#include <cim/cimsim/adc_ranges.h>

#include <cim/error.h>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <sstream>

namespace cim::sim {

namespace {

[[noreturn]] void fail(const std::string& path, const YAML::Mark& m, const std::string& what) {
    const int line = m.is_null() ? 1 : m.line + 1, col = m.is_null() ? 1 : m.column + 1;
    throw InputError(fmt::format("{}:{}:{}: {}", path, line, col, what));
}

}  // namespace

AdcRangeFile parse_adc_ranges(const std::string& yaml_text, const std::string& path) {
    YAML::Node root;
    try {
        root = YAML::Load(yaml_text);
    } catch (const YAML::Exception& e) {
        fail(path, e.mark, "invalid YAML: " + e.msg);
    }
    const char* shape = "expected `adc_ranges:` mapping layer names to ranges (models/hwa_train.py writes this file)";
    if (!root.IsMap()) fail(path, root.Mark(), shape);
    AdcRangeFile out;
    out.path = path;
    for (const auto& kv : root) {
        const std::string key = kv.first.Scalar();
        if (key != "adc_ranges") fail(path, kv.first.Mark(), key + ": unknown key; " + shape);
    }
    const YAML::Node ranges = root["adc_ranges"];
    if (!ranges || !ranges.IsMap()) fail(path, ranges ? ranges.Mark() : root.Mark(), shape);
    for (const auto& kv : ranges) {
        if (!kv.first.IsScalar()) fail(path, kv.first.Mark(), "adc_ranges: a layer name must be a string");
        const std::string name = kv.first.Scalar();
        const std::string where = "adc_ranges." + name;
        if (out.ranges.count(name))
            fail(path, kv.first.Mark(), fmt::format("{}: duplicate layer (first given on line {})", where, out.lines[name]));
        double v = NAN;
        if (kv.second.IsScalar()) {
            try {
                v = kv.second.as<double>();
            } catch (const YAML::Exception&) {
            }
        }
        if (!std::isfinite(v) || !(v > 0))
            fail(path, kv.second.Mark(),
                 where + ": expected a positive number (the column sum of one read the ADC's top code stands for), got `" +
                     (kv.second.IsScalar() ? kv.second.Scalar() : std::string("a ") + (kv.second.IsMap() ? "mapping" : "sequence")) + "`");
        out.ranges[name] = v;
        out.lines[name] = kv.first.Mark().line + 1;
    }
    return out;
}

AdcRangeFile load_adc_ranges(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(fmt::format("{}: cannot read the ADC range file", path));
    std::ostringstream text;
    text << in.rdbuf();
    return parse_adc_ranges(text.str(), path);
}

}  // namespace cim::sim
