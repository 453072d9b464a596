// Scaling a published energy with the supply and the node:
//   cv2: switched capacitance, E = C V^2 (within a node, energy goes as the supply squared);
//   cmos_scaled: energy of logic at (node_nm, supply_v) by Stillmaker & Baas 2017's fitted
//     energy factor, so a figure published at one node and supply is priced at another.
// Both take a published figure as their anchor; cv2's capacitance cancels against it.
#include "../schema.h"
#include "estimator.h"

namespace cim::device_detail {

namespace {
// Every per-event energy (pJ) entry, digital kinds' included; leakage and static power scale otherwise.
std::vector<std::string> energy_paths() {
    std::vector<std::string> v;
    for (const KeyDecl& k : device_schema().keys())
        if (k.kind == ValueKind::cost && k.unit.rfind("pJ", 0) == 0)
            v.push_back(k.path);
    return v;
}
}  // namespace

std::vector<Estimator> scaled_estimators() {
    Estimator c;
    c.name = "cv2";
    c.summary = "switched capacitance: E = C V^2";
    c.reference = "dynamic energy of charging C to V";
    c.serves = energy_paths();
    c.inputs = {{"supply_v", "V", "supply_v"}};
    c.params = {factor_param("c_pf", "pF", "capacitance switched per event")};
    c.gather = [](const DeviceSpec& d, const std::string&, Inputs& in) -> std::string {
        if (!d.supply_v) return "cv2 scales with supply_v, which the device does not give";
        in.add("supply_v", *d.supply_v, "V", "supply_v");
        return "";
    };
    c.evaluate = [](const Inputs& in, const std::string&, std::string_view* formula) {
        if (formula) *formula = "E = c_pf * supply_v^2";
        return in["c_pf"] * in["supply_v"] * in["supply_v"];
    };

    Estimator s;
    s.name = "cmos_scaled";
    s.summary = "logic energy scaled to the node and supply (Stillmaker & Baas); needs an anchor";
    s.reference = "Stillmaker & Baas, Integration 58 (2017) 74-81, energy factor a V^2 + b V + c per node";
    s.serves = energy_paths();
    s.inputs = {{"node_nm", "nm", "node_nm"}, {"supply_v", "V", "supply_v"}};
    s.needs_anchor = true;
    s.gather = [](const DeviceSpec& d, const std::string&, Inputs& in) -> std::string {
        add_node_and_supply(d, in);
        return scaling_range_problem(d.node_nm);
    };
    s.evaluate = [](const Inputs& in, const std::string&, std::string_view* formula) {
        if (formula) *formula = "E proportional to S(node_nm, supply_v) (Stillmaker & Baas energy factor)";
        return stillmaker_energy_ratio(in["node_nm"], in["supply_v"], 45, 1.0);
    };
    return {c, s};
}

}  // namespace cim::device_detail
