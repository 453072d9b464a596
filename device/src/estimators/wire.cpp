// On-chip wires and static power, with distances and areas taken from the tile:
//   wire: a byte moved one hop between tiles travels one tile pitch, sqrt(tile area):
//     E = 8 x e_bit_mm_pj x sqrt(tile_area_mm2);
//   leakage_area: static power proportional to the tile's area, P = p_mw_per_mm2 x tile area.
// The tile area is the device's own (area entries, estimated ones included); neither
// per-mm nor per-mm^2 figure has a default (the entry gives it or anchors it).
#include <cmath>

#include "estimator.h"

namespace cim::device_detail {

namespace {
void add_tile_area(const DeviceSpec& d, Inputs& in) {
    in.add("tile_area_mm2", tile_area_um2(d) * 1e-6, "mm^2",
           "chip.macros_per_tile x (area.array_um2 + rows x area.row_driver_um2 + ADCs x area.adc_um2 + "
           "area.shift_add_um2 + area.macro_other_um2) + area.tile_buffer_um2 + area.tile_other_um2");
}
}  // namespace

std::vector<Estimator> wire_estimators() {
    Estimator w;
    w.name = "wire";
    w.summary = "tile-to-tile wire: energy per bit per mm over one tile pitch";
    w.reference = "wire energy proportional to length; hop length sqrt(tile area)";
    w.serves = {"energy.interconnect_pj_per_byte"};
    w.inputs = {{"tile_area_mm2", "mm^2", "the area entries"}};
    w.params = {factor_param("e_bit_mm_pj", "pJ per bit per mm", "wire energy per bit per mm")};
    w.gather = [](const DeviceSpec& d, const std::string&, Inputs& in) -> std::string {
        add_tile_area(d, in);
        return "";
    };
    w.evaluate = [](const Inputs& in, const std::string&, std::string_view* formula) {
        if (formula) *formula = "E = 8 * e_bit_mm_pj * sqrt(tile_area_mm2)";
        return 8.0 * in["e_bit_mm_pj"] * std::sqrt(in["tile_area_mm2"]);
    };

    Estimator l;
    l.name = "leakage_area";
    l.summary = "static power proportional to tile area";
    l.reference = "leakage proportional to transistor area";
    l.serves = {"energy.leakage_mw_per_tile"};
    l.inputs = {{"tile_area_mm2", "mm^2", "the area entries"}};
    l.params = {factor_param("p_mw_per_mm2", "mW per mm^2", "static power density")};
    l.gather = w.gather;
    l.evaluate = [](const Inputs& in, const std::string&, std::string_view* formula) {
        if (formula) *formula = "P = p_mw_per_mm2 * tile_area_mm2";
        return in["p_mw_per_mm2"] * in["tile_area_mm2"];
    };
    return {w, l};
}

}  // namespace cim::device_detail
