// SRAM buffers: energy per byte as a function of capacity. Horowitz ISSCC 2014
// (45 nm, 0.9 V): a 64-bit read from an 8 KB SRAM is about 10 pJ (devices.md 7.1,
// checked), and from 32 KB about 20 pJ (devices.md 7.1, marked from memory): the
// energy per access grows as the square root of capacity (longer bit and word lines).
// E/byte = 10 pJ / 8 B x sqrt(capacity_kb / 8), scaled by Stillmaker & Baas from 45 nm, 0.9 V.
#include <cmath>

#include "estimator.h"

namespace cim::device_detail {

std::vector<Estimator> buffer_estimators() {
    Estimator e;
    e.name = "sram_buffer";
    e.summary = "SRAM buffer access per byte, growing as sqrt(capacity)";
    e.reference = "Horowitz ISSCC 2014: 64-bit read of an 8 KB SRAM 10 pJ, 32 KB 20 pJ (devices.md 7.1); "
                  "Stillmaker & Baas 2017 scaling";
    e.serves = {"energy.input_buffer_pj_per_byte", "energy.output_buffer_pj_per_byte", "npu.sram_pj_per_byte",
                "fpga.bram_pj_per_byte"};
    e.inputs = {{"node_nm", "nm", "node_nm"}, {"supply_v", "V", "supply_v"}};
    e.params = {required_param("capacity_kb", "KB", "capacity of the buffer read")};
    e.gather = [](const DeviceSpec& d, const std::string&, Inputs& in) -> std::string {
        add_node_and_supply(d, in);
        return scaling_range_problem(d.node_nm);
    };
    e.evaluate = [](const Inputs& in, const std::string&, std::string_view* formula) {
        if (formula) *formula = "E = 10 pJ / 8 * sqrt(capacity_kb / 8) * S(node_nm, supply_v) / S(45 nm, 0.9 V)";
        return 10.0 / 8.0 * std::sqrt(in["capacity_kb"] / 8.0) *
               stillmaker_energy_ratio(in["node_nm"], in["supply_v"], 45, 0.9);
    };
    return {e};
}

}  // namespace cim::device_detail
