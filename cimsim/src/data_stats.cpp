// Data densities for the data-dependent energies read from a JSON file (a calibration run
// measures them from the programmed digits: cim/cimsim/measured_densities.h).
#include <cim/cimsim/cost_model.h>
#include <cim/error.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <set>

namespace cim {

namespace {

using json = nlohmann::json;

std::optional<double> read_density(const json& obj, const std::string& key, const std::string& where) {
    if (!obj.contains(key)) return std::nullopt;
    const json& v = obj.at(key);
    if (!v.is_number()) throw InputError(where + "." + key + ": expected a number in [0, 1], got " + v.dump());
    const double x = v.get<double>();
    if (!(x >= 0 && x <= 1)) throw InputError(where + "." + key + ": " + v.dump() + " is outside [0, 1]");
    return x;
}

void reject_unknown(const json& obj, const std::set<std::string>& known, const std::string& where) {
    for (auto it = obj.begin(); it != obj.end(); ++it)
        if (!known.count(it.key()))
            throw InputError(where + ": unknown key '" + it.key() + "' (expected " +
                             fmt::format("{}", fmt::join(known, ", ")) + ")");
}

LayerDensity read_layer(const json& obj, const std::string& where) {
    if (!obj.is_object()) throw InputError(where + ": expected an object");
    reject_unknown(obj, {"input_density", "weight_density"}, where);
    return {read_density(obj, "input_density", where), read_density(obj, "weight_density", where)};
}

}  // namespace

DataStats load_data_stats(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw InputError(path + ": cannot read the activation statistics file");
    json j;
    try {
        j = json::parse(in);
    } catch (const json::parse_error& e) {
        throw InputError(path + ": not valid JSON: " + e.what());
    }
    if (!j.is_object()) throw InputError(path + ": expected a JSON object");
    reject_unknown(j, {"input_density", "weight_density", "layers", "source"}, path);
    DataStats s;
    s.source = "stats file " + path;
    s.defaults = {read_density(j, "input_density", path), read_density(j, "weight_density", path)};
    if (j.contains("source") && j["source"].is_string()) s.source += " (" + j["source"].get<std::string>() + ")";
    if (j.contains("layers")) {
        const json& layers = j["layers"];
        if (!layers.is_object()) throw InputError(path + ": layers: expected an object keyed by node name");
        for (auto it = layers.begin(); it != layers.end(); ++it)
            s.layers[it.key()] = read_layer(it.value(), path + ": layers." + it.key());
    }
    return s;
}

}  // namespace cim
