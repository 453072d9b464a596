// The mapper: how a network's weight-stationary ops are laid onto a device's
// arrays. The Graph says what is computed; a Mapping says how, keyed by node.
//
// Loop nest of one array-mapped layer (one copy), as the cost model reads it:
//   for g_block in group blocks            (block-diagonal packing of conv groups)
//     for col_tile in col_tiles            (outputs_per_array outputs, cols_per_output columns each)
//       for row_tile in row_tiles          (at most usable_rows rows; partial sums added digitally)
//         for v in vectors / duplication   (input vectors: output pixels, or rows of A)
//           for cycle in input cycles      (bits / dac_bits, bit-serial)
//             read every column, convert, shift-add
#pragma once

#include <cim/device/device_spec.h>
#include <cim/ir/graph.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cim {

enum class Placement { arrays, digital, host };
std::string_view to_string(Placement p);

struct MapOptions {
    std::optional<int> chips;              // --chips N: at most N chips; more is an error
    std::vector<std::string> host_layers;  // node names pinned to the host
    bool duplicate = true;                 // spare arrays duplicate the slowest layers
    bool skip_zero_arrays = true;          // arrays whose weights are all zero (pruned) are not placed
    // Per-layer weight widths (node name -> bits, 2 .. weight.bits), e.g. a mixed-precision
    // choice of the quantizer; other layers use the device's weight.bits.
    std::map<std::string, int> layer_weight_bits;
};

// One node of the graph and how it runs.
struct LayerMapping {
    int node = -1;  // index into Graph::nodes
    std::string name;
    OpKind op = OpKind::Identity;
    Placement placement = Placement::digital;
    std::string note;  // why it runs where it does, or a caveat

    // Weight-stationary view (placement == arrays): G independent K x N matrices.
    int64_t k = 0, n = 0, groups = 1;
    int64_t vectors = 0;          // input vectors per inference (batch 1)
    int64_t sequential_steps = 1; // recurrent: time steps whose reads follow one another (h_t needs h_t-1),
                                  // so copies only help across independent sequences (vectors / steps)
    int64_t macs = 0;             // multiply-accumulates per inference
    bool signed_inputs = false;   // the layer's input can be negative
    int64_t rows_per_vector = 0;  // array rows one group's input occupies (2K for a pos/neg split)
    int weight_bits = 0;          // the width its weights are stored at
    int64_t cols_per_output = 0;  // columns one output occupies (slices, x2 differential)
    int64_t reference_cols = 0;   // reference columns per array (offset encoding), per group where groups are packed
    int64_t outputs_per_array = 0;
    int64_t rows_per_array = 0;    // rows of one row tile (array.usable_rows): partial sums of row tiles add digitally
    int64_t groups_per_array = 1;  // conv groups packed block-diagonally in one array
    int64_t row_tiles = 0, col_tiles = 0;  // per group block
    int64_t arrays = 0;            // arrays of one copy, after skipping all-zero ones
    int64_t zero_arrays_skipped = 0;
    int64_t duplication = 1;       // copies working in parallel
    int64_t used_cells = 0;        // cells holding weights in the arrays placed (one copy; pruned arrays excluded)
    double utilization = 0;        // used_cells / (arrays * usable rows * usable cols)
    int64_t first_array = -1;      // global index of the first array of copy 0 (exclusive placement)
    int first_chip = 0, last_chip = 0;

    // Digital / host work: operations per inference.
    int64_t digital_ops = 0;
    int64_t output_elems = 0;      // elements the node writes (buffer traffic)
    int64_t input_elems = 0;       // elements the node reads
};

struct Mapping {
    std::string model;
    std::string device;
    std::vector<LayerMapping> layers;  // one per graph node, in graph order
    int64_t arrays_per_chip = 0;
    int64_t arrays_used = 0;           // including duplicates
    int64_t chips = 0;                 // chips needed
    int64_t tiles_used = 0;
    int64_t weight_cells_used = 0;     // including duplicates
    double utilization = 0;            // weight cells / cells of the used arrays
    bool fits_device = true;           // within the device's max_chips
    std::string fit_note;              // e.g. "needs 93 chips; wtm2101 is a 1-chip device"
    const LayerMapping* find(const std::string& name) const;
};

// Maps a graph whose shapes are fully known (specialize_batch(g, 1)).
// Throws InputError when --chips forbids what the model needs, naming the shortfall.
Mapping map_model(const Graph& g, const DeviceSpec& device, const MapOptions& options = {});

// Arrays each weight-stationary layer takes (node name -> arrays of one copy) with every layer's
// weights `bits` wide: the counts a mixed-precision budget is checked against (the quantizer's
// QuantOptions::arrays_at_width).
std::map<std::string, int64_t> arrays_per_layer_at_width(const Graph& g, const DeviceSpec& d, int bits);

// The device fields map_model reads, as a string: two devices with equal keys
// map every graph identically (with the same options), so cim-sweep maps once
// per key. Keep in step with map_model (tests/sweep/test_evaluate.cpp checks it).
std::string mapping_key(const DeviceSpec& d);

// SVG drawing of the placement: one square per array, coloured by layer.
std::string layout_svg(const Mapping& m, const DeviceSpec& device);

}  // namespace cim
