// Technology and voltage scaling between CMOS nodes from A. Stillmaker and B. Baas,
// "Scaling equations for the accurate prediction of CMOS device performance from
// 180 nm to 7 nm", Integration, the VLSI Journal 58 (2017) 74-81.
//
// Energy per operation at node n and supply V is proportional to a_n V^2 + b_n V + c_n
// (their table of fitted coefficients; PTM/ITRS high-performance models for 45 nm and
// below). Coefficients as tabulated in wromaszkan/nodeScale (UCLA NanoCAD, MIT
// licence) `depCoeffDict`; the 32 nm row (0.8367, -0.4341, 0.1701) and the 65 nm row
// (3.755, -4.398, 1.975) are the ones the paper's erratum uses in its worked example
// (vcl.ece.ucdavis.edu/pubs/2017.02.VLSIintegration.TechScale). Area relative to 45 nm
// from the same paper's area factors (nodeScale `areaDict['45']`).
#include <array>
#include <cmath>

#include <fmt/format.h>

#include "estimator.h"

namespace cim::device_detail {

namespace {

struct NodeRow {
    double node_nm;
    double a, b, c;      // energy factor a V^2 + b V + c (Stillmaker & Baas 2017)
    double area_vs_45;   // area relative to 45 nm (Stillmaker & Baas 2017)
};

// Nodes in decreasing order.
constexpr std::array<NodeRow, 11> kNodes = {{
    {180, 0.0, 24.64, -17.98, 19},
    {130, 7.171, -6.709, 2.904, 6.4},
    {90, 4.762, -4.781, 2.092, 2.8},
    {65, 3.755, -4.398, 1.975, 1.5},
    {45, 1.018, -0.3107, 0.1539, 1},
    {32, 0.8367, -0.4341, 0.1701, 0.46},
    {20, 0.373, -0.1582, 0.04104, 0.21},
    {16, 0.2958, -0.1241, 0.03024, 0.19},
    {14, 0.2363, -0.09675, 0.02239, 0.17},
    {10, 0.2068, -0.09311, 0.02375, 0.1},
    {7, 0.1776, -0.09097, 0.02447, 0.059},
}};

double energy_at(const NodeRow& r, double v) { return r.a * v * v + r.b * v + r.c; }

// Log-log interpolation of f between the two tabulated nodes around `node_nm`.
template <class F>
std::optional<double> interpolate(double node_nm, F f) {
    if (!(node_nm >= kNodes.back().node_nm && node_nm <= kNodes.front().node_nm)) return std::nullopt;
    for (std::size_t i = 0; i + 1 < kNodes.size(); ++i) {
        const NodeRow& hi = kNodes[i];
        const NodeRow& lo = kNodes[i + 1];
        if (node_nm == hi.node_nm) return f(hi);
        if (node_nm == lo.node_nm) return f(lo);
        if (node_nm < hi.node_nm && node_nm > lo.node_nm) {
            const double fh = f(hi), fl = f(lo);
            if (!(fh > 0 && fl > 0)) return std::nullopt;  // the fit is not positive at this voltage
            const double t = std::log(node_nm / lo.node_nm) / std::log(hi.node_nm / lo.node_nm);
            return std::exp(std::log(fl) + t * (std::log(fh) - std::log(fl)));
        }
    }
    return std::nullopt;
}

}  // namespace

std::optional<double> stillmaker_energy_factor(double node_nm, double vdd) {
    auto e = interpolate(node_nm, [vdd](const NodeRow& r) { return energy_at(r, vdd); });
    if (e && !(*e > 0)) return std::nullopt;
    return e;
}

std::optional<double> stillmaker_area_factor(double node_nm) {
    return interpolate(node_nm, [](const NodeRow& r) { return r.area_vs_45; });
}

double stillmaker_energy_ratio(double node_nm, double vdd, double ref_node_nm, double ref_vdd) {
    const auto num = stillmaker_energy_factor(node_nm, vdd), den = stillmaker_energy_factor(ref_node_nm, ref_vdd);
    return num && den ? *num / *den : std::nan("");
}

std::string scaling_range_problem(double node_nm) {
    if (node_nm >= kNodes.back().node_nm && node_nm <= kNodes.front().node_nm) return "";
    return fmt::format("node_nm {:g} is outside the 7-180 nm that Stillmaker & Baas's scaling covers", node_nm);
}

void add_node_and_supply(const DeviceSpec& d, Inputs& in) {
    in.add("node_nm", d.node_nm, "nm", "node_nm");
    if (d.supply_v) in.add("supply_v", *d.supply_v, "V", "supply_v");
    else in.add("supply_v", 1.0, "V", "default: a common 1.0 V (the device gives no supply_v)");
}

}  // namespace cim::device_detail
