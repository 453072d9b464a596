// Word-line drivers / input DACs: the energy of driving one row per array cycle is
// the word line's capacitance times V^2, C_wl = cols x cell pitch x wire capacitance
// per um, with the cell pitch sqrt(cell_f2) x node. A multi-bit input applied as a
// pulse count (TSMC 7 nm SRAM-CIM's 0-15 pulses, devices.md 2) drives up to
// 2^dac_bits - 1 pulses, so the energy per row activation grows as 2^dac_bits - 1.
#include <cmath>

#include "estimator.h"

namespace cim::device_detail {

std::vector<Estimator> wordline_estimators() {
    Estimator e;
    e.name = "wordline";
    e.summary = "word-line driver: C_wl V^2 per pulse, 2^dac_bits - 1 pulses";
    e.reference = "C V^2 switching energy; cell pitch from NeuroSim cell sizes (cell_area); pulse-count input DAC";
    e.serves = {"energy.row_drive_pj_per_row"};
    e.inputs = {{"cols", "columns", "array.cols"}, {"dac_bits", "bits", "input.dac_bits"},
                {"node_nm", "nm", "node_nm"}, {"supply_v", "V", "supply_v"},
                {"cell_f2", "F^2", "technology (NeuroSim cell size)"}};
    e.params = {factor_param("c_wire_ff_per_um", "fF/um", "word-line capacitance per um of wire (with the cells' gates)"),
                cell_f2_param()};
    e.gather = [](const DeviceSpec& d, const std::string&, Inputs& in) -> std::string {
        in.add("cols", d.array.cols, "columns", "array.cols");
        in.add("dac_bits", d.input.dac_bits, "bits", "input.dac_bits");
        add_node_and_supply(d, in);
        add_cell_f2(d, in);
        return "";
    };
    e.evaluate = [](const Inputs& in, const std::string&, std::string_view* formula) {
        if (formula)
            *formula = "E = cols * sqrt(cell_f2) * node_nm * c_wire_ff_per_um * supply_v^2 * (2^dac_bits - 1)";
        const double length_um = in["cols"] * std::sqrt(in["cell_f2"]) * in["node_nm"] * 1e-3;
        const double c_pf = length_um * in["c_wire_ff_per_um"] * 1e-3;
        const double v = in["supply_v"];
        return c_pf * v * v * (std::exp2(in["dac_bits"]) - 1);
    };
    return {e};
}

}  // namespace cim::device_detail
