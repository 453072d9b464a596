// Array read energy.
//   resistive_read: a resistive cell conducts G for t_read at V_read, E = V_read^2 G t_read,
//     with the mean conductance at the reference weight density w (g_off = g_on / ratio):
//     G = g_on (w + (1 - w) / on_off_ratio), only rows driven (the reference input density)
//     conducting. The cost model scales this by the densities it measures (docs/cost-model.md).
//     Per column: times the rows summed in one read.
//   sram_charge: charge-domain SRAM, each cell's bit-line capacitance charged by delta_v
//     from the supply: E = C_cell V delta_v per cell, times the rows on the bit line per column.
#include "estimator.h"

namespace cim::device_detail {

namespace {
constexpr const char* kCell = "energy.array_read_pj_per_cell";
constexpr const char* kColumn = "energy.array_read_pj_per_column";
}  // namespace

std::vector<Estimator> array_read_estimators() {
    Estimator r;
    r.name = "resistive_read";
    r.summary = "resistive cells: V_read^2 G t_read over the conducting cells";
    r.reference = "Ohmic read energy; densities as in docs/cost-model.md";
    r.serves = {kCell, kColumn};
    r.inputs = {{"on_off_ratio", "", "cell.on_off_ratio"},
                {"input_density", "", "energy.reference_input_density"},
                {"weight_density", "", "energy.reference_weight_density"},
                {"t_read_ns", "ns", "latency.array_read_ns"},
                {"rows", "rows", "array.max_active_rows"}};
    r.params = {factor_param("v_read_v", "V", "read voltage across the cell"),
                factor_param("g_on_us", "uS", "on-state conductance"),
                factor_param("t_read_ns", "ns", "time the cell conducts (default: the array cycle)")};
    r.gather = [](const DeviceSpec& d, const std::string& path, Inputs& in) -> std::string {
        if (!(d.cell.on_off_ratio > 0)) return "cell.on_off_ratio must be given (> 0) for a resistive read";
        in.add("on_off_ratio", d.cell.on_off_ratio, "", "cell.on_off_ratio");
        in.add("input_density", d.energy.reference_input_density, "", "energy.reference_input_density");
        in.add("weight_density", d.energy.reference_weight_density, "", "energy.reference_weight_density");
        in.add("t_read_ns", d.latency.array_read_ns.value, "ns", "latency.array_read_ns");
        if (path == kColumn) in.add("rows", d.array.max_active_rows, "rows", "array.max_active_rows");
        return "";
    };
    r.evaluate = [](const Inputs& in, const std::string& path, std::string_view* formula) {
        const double w = in["weight_density"];
        const double g_us = in["g_on_us"] * (w + (1 - w) / in["on_off_ratio"]);
        const double v = in["v_read_v"];
        const double cell_pj = v * v * g_us * in["t_read_ns"] * in["input_density"] * 1e-3;  // V^2 uS ns = fJ
        if (path == kColumn) {
            if (formula)
                *formula = "E = rows * v_read_v^2 * g_on_us (w + (1 - w) / on_off_ratio) * t_read_ns * input_density";
            return in["rows"] * cell_pj;
        }
        if (formula) *formula = "E = v_read_v^2 * g_on_us (w + (1 - w) / on_off_ratio) * t_read_ns * input_density";
        return cell_pj;
    };

    Estimator s;
    s.name = "sram_charge";
    s.summary = "charge-domain SRAM: C_cell V delta_v per cell on the bit line";
    s.reference = "capacitor charging energy C V dV";
    s.serves = {kCell, kColumn};
    s.inputs = {{"rows", "rows", "array.rows"}, {"supply_v", "V", "supply_v"}, {"node_nm", "nm", "node_nm"}};
    s.params = {factor_param("c_cell_ff", "fF", "bit-line capacitance one cell adds"),
                factor_param("delta_v", "V", "bit-line swing per read")};
    s.gather = [](const DeviceSpec& d, const std::string&, Inputs& in) -> std::string {
        in.add("rows", d.array.rows, "rows", "array.rows");
        add_node_and_supply(d, in);
        return "";
    };
    s.evaluate = [](const Inputs& in, const std::string& path, std::string_view* formula) {
        const double cell_pj = in["c_cell_ff"] * 1e-3 * in["supply_v"] * in["delta_v"];
        if (path == kColumn) {
            if (formula) *formula = "E = rows * c_cell_ff * supply_v * delta_v";
            return in["rows"] * cell_pj;
        }
        if (formula) *formula = "E = c_cell_ff * supply_v * delta_v";
        return cell_pj;
    };
    return {r, s};
}

}  // namespace cim::device_detail
