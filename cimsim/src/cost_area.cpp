// Area of arrays, tiles and chips from the device's area entries.
#include "cost_internal.h"

namespace cim::cost_detail {

double array_um2(const Geometry& v) { return array_area_um2(v.d); }
double tile_um2(const Geometry& v) { return tile_area_um2(v.d); }
double chip_um2(const Geometry& v) { return v.d.chip.tiles * tile_um2(v) + v.d.area.chip_other_um2.value; }

std::array<AreaItem, kAreaComponents> area_items(const Geometry& v, double chips) {
    const DeviceSpec& d = v.d;
    const double tiles = chips * d.chip.tiles, arrays = tiles * v.mpt;
    std::array<AreaItem, kAreaComponents> a{};
    auto set = [&](AreaComponent c, double count, double um2_each, const std::string& source) {
        a[std::size_t(c)] = {count * um2_each * 1e-6, count, source};
    };
    set(AreaComponent::cells, arrays, d.area.array_um2.value, cite("area.array_um2", d.area.array_um2, "um^2"));
    set(AreaComponent::row_drivers, arrays * d.array.rows, d.area.row_driver_um2.value,
        cite("area.row_driver_um2", d.area.row_driver_um2, "um^2"));
    if (d.area.adc_um2)
        set(AreaComponent::adcs, arrays * v.adcs, d.area.adc_um2->value, cite("area.adc_um2", *d.area.adc_um2, "um^2"));
    else
        a[std::size_t(AreaComponent::adcs)].source = "no ADC (array.adc.range: none)";
    set(AreaComponent::shift_add, arrays, d.area.shift_add_um2.value, cite("area.shift_add_um2", d.area.shift_add_um2, "um^2"));
    set(AreaComponent::macro_other, arrays, d.area.macro_other_um2.value,
        cite("area.macro_other_um2", d.area.macro_other_um2, "um^2"));
    set(AreaComponent::tile_buffer, tiles, d.area.tile_buffer_um2.value,
        cite("area.tile_buffer_um2", d.area.tile_buffer_um2, "um^2"));
    set(AreaComponent::tile_other, tiles, d.area.tile_other_um2.value, cite("area.tile_other_um2", d.area.tile_other_um2, "um^2"));
    set(AreaComponent::chip_other, chips, d.area.chip_other_um2.value, cite("area.chip_other_um2", d.area.chip_other_um2, "um^2"));
    return a;
}

}  // namespace cim::cost_detail
