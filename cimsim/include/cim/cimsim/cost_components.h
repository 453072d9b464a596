// The one table of cost components: every energy/time component and every area
// component with its name (the JSON key), the unit its events are counted in,
// and its plot colour. The rows come from exhaustive switches, so adding an
// enumerator without its row does not compile (-Werror=switch).
#pragma once

#include <cstddef>
#include <string_view>

namespace cim {

// Where energy and time go.
enum class CostComponent {
    array_read,      // cell current / charge and column read-out (per cell, per column)
    row_drive,       // word-line drivers / input DACs
    adc,             // column conversions
    shift_add,       // shift-add of column results and accumulation of row-tile partial sums
    input_buffer,    // activations from the tile buffer into the arrays' input registers
    output_buffer,   // results and partial sums into output registers / buffers
    interconnect,    // tile-to-tile routers
    chip_link,       // chip-to-chip transfers of a model spread over chips
    digital,         // digital units: activation, pooling, element-wise, requantization
    host_transfer,   // model inputs and outputs, and layers pinned to the host
    weight_program,  // rewriting weights when the model is time-multiplexed on too few chips
    leakage,         // static power over the run time
    mac,             // digital devices: the MAC array's multiply-accumulates (DSP slices on an FPGA)
    dram,            // digital devices: weights and spilled activations to and from DRAM
    Count
};
inline constexpr std::size_t kCostComponents = std::size_t(CostComponent::Count);

// Where area goes.
enum class AreaComponent { cells, row_drivers, adcs, shift_add, macro_other, tile_buffer, tile_other, chip_other, Count };
inline constexpr std::size_t kAreaComponents = std::size_t(AreaComponent::Count);

struct ComponentRow {
    std::string_view name;        // JSON key and label
    std::string_view event_unit;  // what its events count (a device may refine it, e.g. per-cell reads)
    std::string_view colour;      // plot colour
};

constexpr ComponentRow component_row(CostComponent c) {
    switch (c) {
        case CostComponent::array_read: return {"array_read", "column reads", "#4e79a7"};
        case CostComponent::row_drive: return {"row_drive", "row drives", "#f28e2b"};
        case CostComponent::adc: return {"adc", "conversions", "#e15759"};
        case CostComponent::shift_add: return {"shift_add", "ops", "#76b7b2"};
        case CostComponent::input_buffer: return {"input_buffer", "bytes", "#59a14f"};
        case CostComponent::output_buffer: return {"output_buffer", "bytes", "#edc948"};
        case CostComponent::interconnect: return {"interconnect", "byte hops", "#b07aa1"};
        case CostComponent::chip_link: return {"chip_link", "bytes", "#ff9da7"};
        case CostComponent::digital: return {"digital", "ops", "#9c755f"};
        case CostComponent::host_transfer: return {"host_transfer", "bytes", "#bab0ac"};
        case CostComponent::weight_program: return {"weight_program", "cells written", "#d37295"};
        case CostComponent::leakage: return {"leakage", "tile-seconds", "#8cd17d"};
        case CostComponent::mac: return {"mac", "MACs", "#1f77b4"};
        case CostComponent::dram: return {"dram", "bytes", "#7f7f7f"};
        case CostComponent::Count: break;
    }
    return {"?", "", "#000000"};
}

constexpr ComponentRow component_row(AreaComponent c) {
    switch (c) {
        case AreaComponent::cells: return {"cells", "arrays", "#4e79a7"};
        case AreaComponent::row_drivers: return {"row_drivers", "rows", "#f28e2b"};
        case AreaComponent::adcs: return {"adcs", "ADCs", "#e15759"};
        case AreaComponent::shift_add: return {"shift_add", "arrays", "#76b7b2"};
        case AreaComponent::macro_other: return {"macro_other", "arrays", "#59a14f"};
        case AreaComponent::tile_buffer: return {"tile_buffer", "tiles", "#edc948"};
        case AreaComponent::tile_other: return {"tile_other", "tiles", "#b07aa1"};
        case AreaComponent::chip_other: return {"chip_other", "chips", "#9c755f"};
        case AreaComponent::Count: break;
    }
    return {"?", "", "#000000"};
}

constexpr std::string_view to_string(CostComponent c) { return component_row(c).name; }
constexpr std::string_view to_string(AreaComponent c) { return component_row(c).name; }

// Every enumerator has its row (a hard error, not only -Wswitch's warning).
constexpr bool component_tables_complete() {
    for (std::size_t k = 0; k < kCostComponents; ++k)
        if (component_row(CostComponent(k)).name == "?") return false;
    for (std::size_t k = 0; k < kAreaComponents; ++k)
        if (component_row(AreaComponent(k)).name == "?") return false;
    return true;
}
static_assert(component_tables_complete(), "a cost component without its row in component_row()");

}  // namespace cim
