// Digital logic from Horowitz, "Computing's Energy Problem (and what we can do about
// it)", ISSCC 2014, 45 nm at 0.9 V (devices.md 7.1): integer add 0.03 / 0.05 / 0.1 pJ
// at 8 / 16 / 32 bits; integer multiply 0.2 / 3.1 pJ at 8 / 32 bits. Other widths
// interpolate log-log between those points (and extend the end slopes); other nodes
// and supplies scale by Stillmaker & Baas 2017 from (45 nm, 0.9 V).
#include <array>
#include <cmath>

#include "estimator.h"

namespace cim::device_detail {

namespace {

using Table = std::vector<std::pair<double, double>>;  // (bits, pJ at 45 nm, 0.9 V)

const Table& add_table() {
    static const Table t = {{8, 0.03}, {16, 0.05}, {32, 0.1}};
    return t;
}
const Table& mult_table() {
    static const Table t = {{8, 0.2}, {32, 3.1}};
    return t;
}

double loglog(const Table& t, double bits) {
    std::size_t i = 0;
    while (i + 2 < t.size() && bits > t[i + 1].first) ++i;
    const auto [b0, e0] = t[i];
    const auto [b1, e1] = t[i + 1];
    const double slope = std::log(e1 / e0) / std::log(b1 / b0);
    return e0 * std::pow(bits / b0, slope);
}

Estimator make(std::string name, std::string summary, const Table& table) {
    Estimator e;
    e.name = std::move(name);
    e.summary = std::move(summary);
    e.reference = "Horowitz ISSCC 2014 45 nm table (devices.md 7.1); Stillmaker & Baas 2017 node and supply scaling";
    e.serves = {"energy.shift_add_pj_per_op", "energy.digital_pj_per_op", "npu.vector_pj_per_op", "fpga.fabric_pj_per_op"};
    e.inputs = {{"bits", "bits", "shift-add: output.bits (else quant.bias_bits); digital: digital.activation_bits with integer units, else input.bits"},
                {"node_nm", "nm", "node_nm"}, {"supply_v", "V", "supply_v"}};
    e.params = {required_param("bits", "bits", "operand width")};
    e.gather = [](const DeviceSpec& d, const std::string& path, Inputs& in) -> std::string {
        if (path == "energy.shift_add_pj_per_op")
            in.add("bits", d.output.bits.value_or(d.quant.bias_bits), "bits",
                   d.output.bits ? "output.bits" : "quant.bias_bits");
        else if (path == "energy.digital_pj_per_op" && d.digital.arithmetic == DigitalArithmetic::integer)
            // Priced at the precision the units compute in (float units keep input.bits, the width
            // the bundled configs were validated with).
            in.add("bits", d.digital.activation_bits, "bits", "digital.activation_bits");
        else
            in.add("bits", d.input.bits, "bits", "input.bits");
        add_node_and_supply(d, in);
        return scaling_range_problem(d.node_nm);
    };
    e.evaluate = [&table](const Inputs& in, const std::string&, std::string_view* formula) {
        if (formula) *formula = "E = E_45nm(bits) * S(node_nm, supply_v) / S(45 nm, 0.9 V)";
        return loglog(table, in["bits"]) * stillmaker_energy_ratio(in["node_nm"], in["supply_v"], 45, 0.9);
    };
    return e;
}

// A multiply-accumulate: a multiplier of the operand width and an adder of the accumulator's.
Estimator make_mac() {
    Estimator e;
    e.name = "horowitz_mac";
    e.summary = "integer multiply-accumulate (Horowitz 45 nm multiplier + accumulator adder), scaled";
    e.reference = "Horowitz ISSCC 2014 45 nm table (devices.md 7.1); Stillmaker & Baas 2017 node and supply scaling";
    e.serves = {"npu.mac_pj", "fpga.dsp_pj_per_cycle"};
    e.inputs = {{"bits", "bits", "npu.precision_bits / fpga.precision_bits"}, {"node_nm", "nm", "node_nm"},
                {"supply_v", "V", "supply_v"}};
    e.params = {default_param("accumulator_bits", "bits", "accumulator width", 32,
                              "a 32-bit accumulator (TPU v1; a DSP48E2 has 48 bits)")};
    e.gather = [](const DeviceSpec& d, const std::string& path, Inputs& in) -> std::string {
        if (path == "npu.mac_pj")
            in.add("bits", d.npu.precision_bits, "bits", "npu.precision_bits");
        else
            in.add("bits", d.fpga.precision_bits, "bits", "fpga.precision_bits");
        add_node_and_supply(d, in);
        return scaling_range_problem(d.node_nm);
    };
    e.evaluate = [](const Inputs& in, const std::string&, std::string_view* formula) {
        if (formula) *formula = "E = (E_mult_45nm(bits) + E_add_45nm(accumulator_bits)) * S(node_nm, supply_v) / S(45 nm, 0.9 V)";
        return (loglog(mult_table(), in["bits"]) + loglog(add_table(), in["accumulator_bits"])) *
               stillmaker_energy_ratio(in["node_nm"], in["supply_v"], 45, 0.9);
    };
    return e;
}

}  // namespace

std::vector<Estimator> logic_estimators() {
    return {make("horowitz_add", "integer adder (Horowitz 45 nm), scaled", add_table()),
            make("horowitz_mult", "integer multiplier (Horowitz 45 nm), scaled", mult_table()), make_mac()};
}

}  // namespace cim::device_detail
