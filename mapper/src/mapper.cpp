// Tiling of weight-stationary ops onto arrays, placement on macros/tiles/chips,
// duplication for a balanced layer pipeline.
#include <cim/device/column_layout.h>
#include <cim/ir/op_traits.h>
#include <cim/ir/weight_stationary.h>
#include <cim/error.h>
#include <cim/mapper/mapping.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace cim {

std::string_view to_string(Placement p) {
    switch (p) {
        case Placement::arrays: return "arrays";
        case Placement::digital: return "digital";
        case Placement::host: return "host";
    }
    return "?";
}

const LayerMapping* Mapping::find(const std::string& name) const {
    for (const auto& l : layers)
        if (l.name == name) return &l;
    return nullptr;
}

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Whether weights (k0..k1, n0..n1) of group g are all zero (an array not worth placing).
bool block_zero(const WeightStationaryView& v, const Tensor& w, int64_t g, int64_t k0, int64_t k1, int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n)
        for (int64_t k = k0; k < k1; ++k)
            if (v.weight(w, g, k, n) != 0.0f) return false;
    return true;
}

// Shelf packing of rectangles (rows x cols) into arrays, for devices whose
// layers may share one array (as WTM2101's mapper places layer blocks).
struct ShelfPacker {
    int64_t H, W;
    struct Shelf { int64_t y, h, used_w; };
    struct Arr { std::vector<Shelf> shelves; int64_t used_h = 0; };
    std::vector<Arr> arrays;
    size_t first_open = 0;
    int64_t place(int64_t h, int64_t w) {
        for (size_t a = first_open; a < arrays.size(); ++a) {
            Arr& arr = arrays[a];
            for (Shelf& s : arr.shelves)
                if (s.h >= h && s.used_w + w <= W) {
                    s.used_w += w;
                    return int64_t(a);
                }
            if (arr.used_h + h <= H) {
                arr.shelves.push_back({arr.used_h, h, w});
                arr.used_h += h;
                return int64_t(a);
            }
        }
        arrays.push_back({});
        arrays.back().shelves.push_back({0, h, w});
        arrays.back().used_h = h;
        // Keep the scan short: arrays far behind are nearly full.
        if (arrays.size() > first_open + 64) ++first_open;
        return int64_t(arrays.size() - 1);
    }
};

// The width a QDQ model's weight codes take on the device (as the quantizer stores them,
// quant/src/model_quant.cpp): the fewest bits whose code range at the device's encoding holds
// them, so 4-bit codes stored as int8 take 4-bit columns and int8's -128 fits 8-bit
// two's-complement columns but needs 9 bits in a differential pair.
int model_weight_bits(const ModelQuantization& mq, const DeviceSpec& d, const std::string& node, const std::string& file) {
    const StoredCodeRange r = stored_code_range(mq);
    const int bits = weight_bits_holding(d, r.min, r.max);
    if (bits >= 1 && bits <= d.weight.bits) return bits;
    throw InputError(file + ": layer '" + node + "': the model's weights (codes from DequantizeLinear '" + mq.node + "') reach " +
                     std::to_string(r.min) + ".." + std::to_string(r.max) + ", but the device stores " +
                     std::to_string(smallest_weight_code(d, d.weight.bits)) + ".." + std::to_string(largest_weight_code(d, d.weight.bits)) +
                     " (weight.bits = " + std::to_string(d.weight.bits) + " in " + d.source_path + "); " +
                     (bits ? "set --set weight.bits=" + std::to_string(bits) + ", or " : std::string()) +
                     "--set quant.use_model_quantization=false to map the layer at the device's width");
}

// A digital device runs every weight-stationary layer on its one MAC engine with the weights
// streamed in: nothing is placed, one chip always suffices. The tiles are the engine's
// (docs/cost-model.md, "Digital baselines"); utilization is the share of the MACs a tile keeps busy.
Mapping finish_digital(Mapping m, const DeviceSpec& d) {
    const bool npu = d.kind == DeviceKind::digital_npu;
    for (auto& L : m.layers) {
        if (L.placement != Placement::arrays) continue;
        L.rows_per_vector = L.k;
        L.cols_per_output = 1;
        L.reference_cols = 0;
        L.groups_per_array = 1;
        L.arrays = 0;
        L.zero_arrays_skipped = 0;
        L.used_cells = 0;
        L.first_chip = L.last_chip = 0;
        if (npu) {
            L.row_tiles = ceil_div(L.k, d.npu.rows);
            L.col_tiles = ceil_div(L.n, d.npu.cols);
            L.outputs_per_array = d.npu.cols;
            L.rows_per_array = d.npu.rows;
            L.utilization = double(L.k) * double(L.n) / (double(L.row_tiles * L.col_tiles) * d.npu.rows * d.npu.cols);
        } else {
            // Packed slices compute two outputs each: an odd N leaves one half-slice idle.
            const int64_t per = d.fpga.int8_packing && d.fpga.precision_bits == 8 ? 2 : 1;
            L.row_tiles = 1;
            L.col_tiles = ceil_div(L.n, per);
            L.outputs_per_array = per;
            L.rows_per_array = L.k;
            L.utilization = double(L.n) / double(L.col_tiles * per);
        }
        // Signed inputs need no handling on a digital MAC; a narrower weight width is worth keeping.
        L.note = "MAC engine, weights streamed" + (L.weight_bits != d.weight.bits ? "; " + std::to_string(L.weight_bits) + "-bit weights" : std::string());
    }
    m.arrays_per_chip = 0;
    m.arrays_used = 0;
    m.chips = 1;
    m.tiles_used = 1;
    m.fits_device = true;
    double macs = 0, busy = 0;
    for (const auto& L : m.layers)
        if (L.placement == Placement::arrays && L.utilization > 0) {
            macs += double(L.macs);
            busy += double(L.macs) / L.utilization;
        }
    m.utilization = busy > 0 ? macs / busy : 0.0;
    return m;
}

}  // namespace

Mapping map_model(const Graph& g, const DeviceSpec& d, const MapOptions& opt) {
    Mapping m;
    m.model = g.source_file;
    m.device = d.name;
    const int64_t R = d.array.usable_rows, C = d.array.usable_cols;
    const int64_t per_chip = int64_t(d.chip.tiles) * d.chip.macros_per_tile;
    m.arrays_per_chip = per_chip;
    // Column geometry of a layer whose weights are `bits` wide.
    struct Columns {
        int64_t per_output, reference, outputs_per_array;
    };
    auto columns_at = [&](int bits) {
        const ColumnLayout layout = column_layout(d, bits);
        Columns c{layout.columns_per_output, placed_reference_columns(layout), outputs_per_array(layout, C)};
        if (c.outputs_per_array < 1)
            throw InputError(d.source_path + ": array.usable_cols " + std::to_string(C) + " cannot hold one output (" +
                             std::to_string(c.per_output) + " columns per " + std::to_string(bits) + "-bit weight)");
        return c;
    };
    const Columns device_columns = columns_at(d.weight.bits);
    for (const auto& [name, bits] : opt.layer_weight_bits) {
        if (!g.find_node(name)) throw InputError("layer weight widths: no node named '" + name + "' in " + g.source_file);
        if (bits < 2 || bits > d.weight.bits)
            throw InputError("layer weight widths: '" + name + "' at " + std::to_string(bits) + " bits; " + d.name +
                             " stores 2 to " + std::to_string(d.weight.bits) + " bits (weight.bits)");
    }
    const std::vector<bool> nonneg = nonnegative_values(g);
    std::set<std::string> host(opt.host_layers.begin(), opt.host_layers.end());
    for (const auto& name : host)
        if (!g.find_node(name)) {
            std::string names;
            for (size_t k = 0; k < g.nodes.size() && k < 12; ++k) names += (k ? ", " : "") + g.nodes[k].name;
            throw InputError("--host-layers: no node named '" + name + "' in " + g.source_file + " (nodes: " + names + (g.nodes.size() > 12 ? ", ..." : "") + ")");
        }

    for (size_t idx = 0; idx < g.nodes.size(); ++idx) {
        const Node& n = g.nodes[idx];
        LayerMapping L;
        L.node = int(idx);
        L.name = n.name;
        L.op = n.op;
        for (int o : n.outputs)
            if (o >= 0) L.output_elems += std::max<int64_t>(shape_numel(g.value(o).shape), 0);
        for (int i : n.inputs)
            if (i >= 0 && !g.value(i).constant) L.input_elems += std::max<int64_t>(shape_numel(g.value(i).shape), 0);
        for (int o : n.outputs)
            if (o >= 0 && !shape_known(g.value(o).shape))
                throw InputError(g.source_file + ": node '" + n.name + "' has an unknown output shape " + shape_str(g.value(o).shape) +
                                 "; the mapper needs static shapes (export with fixed non-batch dimensions)");

        WeightStationaryView v;
        std::string not_stationary;
        const bool mvm = weight_stationary_view(g, int(idx), v, &not_stationary);
        const Tensor* w = mvm ? g.constant(n.inputs[size_t(v.weight_input)]) : nullptr;
        if (mvm) L.vectors = v.vectors;

        if (host.count(n.name)) {
            L.placement = Placement::host;
            L.note = "pinned to the host (--host-layers)";
            L.digital_ops = digital_ops(g, n, L.output_elems, L.input_elems);
            if (mvm) L.macs = v.K * v.N * v.groups * L.vectors;
        } else if (!mvm) {
            L.placement = Placement::digital;
            L.note = not_stationary;
            L.digital_ops = digital_ops(g, n, L.output_elems, L.input_elems);
            if (op_traits(n.op).role == OpRole::matmul) L.macs = L.digital_ops / 2;
        } else {
            L.placement = Placement::arrays;
            L.k = v.K;
            L.n = v.N;
            L.groups = v.groups;
            L.macs = v.K * v.N * v.groups * L.vectors;
            // A recurrent layer's rows also carry h_{t-1}, which its gates make signed.
            auto add_note = [&](const std::string& text) { L.note += (L.note.empty() ? "" : "; ") + text; };
            L.signed_inputs = v.is_recurrent() || !nonneg[size_t(n.inputs[size_t(v.data_input)])];
            L.rows_per_vector = v.K;
            if (v.is_recurrent()) {
                // The gate products run on the arrays; the digital units apply the gates and update
                // the state: op_traits' per-gate-value operations, per step, sample and direction.
                const int64_t gates = n.op == OpKind::LSTM ? 4 : n.op == OpKind::GRU ? 3 : 1;
                const int64_t gate_values = v.vectors * v.groups * gates * v.hidden;
                L.digital_ops = gate_values * op_traits(n.op).ops_per_element;
                const Value& x = g.value(n.inputs[0]);
                L.sequential_steps = std::max<int64_t>(1, x.shape[size_t(n.attr_int("layout", 0))]);
                L.note = "recurrent: W and R stacked on the rows, [x_t, h_t-1] read in one MVM per step; the steps run in sequence";
            }
            if (L.signed_inputs) {
                switch (d.input.signed_handling) {
                    case SignedInputHandling::pos_neg_split:
                        L.rows_per_vector = 2 * v.K;
                        add_note("signed inputs: positive/negative split doubles the rows");
                        break;
                    case SignedInputHandling::unsigned_only:
                        add_note("signed inputs on an unsigned-only device: needs a ReLU or a shift before it");
                        break;
                    case SignedInputHandling::offset:
                        add_note("signed inputs: offset, corrected digitally");
                        break;
                    case SignedInputHandling::twos_complement:
                        add_note("signed inputs: two's-complement bit planes");
                        break;
                    case SignedInputHandling::bipolar:
                        add_note("signed inputs: bipolar voltages on one row set");
                        break;
                }
            }
            const auto width = opt.layer_weight_bits.find(n.name);
            const auto& model_quant = g.value(n.inputs[size_t(v.weight_input)]).model_quantization;
            if (width != opt.layer_weight_bits.end()) {
                L.weight_bits = width->second;
            } else if (model_quant && d.quant.use_model_quantization) {
                L.weight_bits = model_weight_bits(*model_quant, d, n.name, g.source_file);
            } else {
                L.weight_bits = d.weight.bits;
            }
            const Columns cols = L.weight_bits == d.weight.bits ? device_columns : columns_at(L.weight_bits);
            L.cols_per_output = cols.per_output;
            L.reference_cols = cols.reference;
            L.outputs_per_array = cols.outputs_per_array;
            L.rows_per_array = R;
            const int64_t outputs_per_array = cols.outputs_per_array;
            if (L.weight_bits != d.weight.bits)
                L.note += std::string(L.note.empty() ? "" : "; ") + std::to_string(L.weight_bits) + "-bit weights (device: " +
                          std::to_string(d.weight.bits) + ")";
            // Small conv groups share an array block-diagonally; big ones are tiled one by one. The
            // packed groups are read at once, so each keeps its own reference columns (a shared one
            // would read every group's inputs).
            const int64_t group_cols = v.N * cols.per_output + cols.reference;
            if (v.groups > 1 && L.rows_per_vector <= R && v.N <= outputs_per_array)
                L.groups_per_array = std::min({R / L.rows_per_vector, C / group_cols, v.groups,
                                               d.array.max_groups_per_array.value_or(v.groups)});
            const int64_t blocks = L.groups_per_array > 1 ? ceil_div(v.groups, L.groups_per_array) : v.groups;
            L.row_tiles = L.groups_per_array > 1 ? 1 : ceil_div(L.rows_per_vector, R);
            L.col_tiles = L.groups_per_array > 1 ? 1 : ceil_div(v.N, outputs_per_array);
            int64_t arrays = 0, skipped = 0, used_cells = 0;
            for (int64_t b = 0; b < blocks; ++b)
                for (int64_t rt = 0; rt < L.row_tiles; ++rt)
                    for (int64_t ct = 0; ct < L.col_tiles; ++ct) {
                        const int64_t g0 = L.groups_per_array > 1 ? b * L.groups_per_array : b;
                        const int64_t g1 = L.groups_per_array > 1 ? std::min(v.groups, g0 + L.groups_per_array) : b + 1;
                        const int64_t r0 = rt * R, r1 = std::min(L.rows_per_vector, r0 + R);
                        const int64_t n0 = ct * outputs_per_array, n1 = std::min(v.N, n0 + outputs_per_array);
                        bool zero = opt.skip_zero_arrays;
                        if (zero) {
                            // Rows beyond K hold -W (positive/negative split): same zeros.
                            const int64_t k0 = r1 - r0 >= v.K ? 0 : r0 % v.K, k1 = r1 - r0 >= v.K ? v.K : std::min(v.K, k0 + (r1 - r0));
                            for (int64_t gg = g0; gg < g1 && zero; ++gg) zero = block_zero(v, *w, gg, k0, k1, n0, n1);
                        }
                        if (zero) {
                            ++skipped;
                        } else {
                            ++arrays;
                            used_cells += (g1 - g0) * (r1 - r0) * (n1 - n0) * L.cols_per_output;  // this array's weight cells
                        }
                    }
            L.arrays = arrays;
            L.zero_arrays_skipped = skipped;
            L.used_cells = used_cells;
            if (skipped && arrays) L.note += std::string(L.note.empty() ? "" : "; ") + std::to_string(skipped) + " all-zero arrays not placed";
            if (!arrays) L.note = "all weights are zero: nothing to place";
        }
        m.layers.push_back(std::move(L));
    }

    if (d.kind != DeviceKind::cim) return finish_digital(std::move(m), d);

    // ---- placement ----
    int64_t arrays = 0;
    for (auto& L : m.layers) arrays += L.placement == Placement::arrays ? L.arrays : 0;
    const bool shared = d.array.multi_layer;
    if (shared) {
        // Layers share arrays: pack every tile as a rectangle (rows x columns used).
        ShelfPacker packer{R, C, {}, 0};
        struct Rect { int64_t h, w; size_t layer; };
        std::vector<Rect> rects;
        for (size_t li = 0; li < m.layers.size(); ++li) {
            const auto& L = m.layers[li];
            if (L.placement != Placement::arrays || L.arrays == 0) continue;
            const int64_t per_tile_arrays = L.arrays;
            if (L.groups_per_array > 1) {
                const int64_t h = L.rows_per_vector * L.groups_per_array,
                              w = (L.n * L.cols_per_output + L.reference_cols) * L.groups_per_array;
                for (int64_t t = 0; t < per_tile_arrays; ++t) rects.push_back({std::min(h, R), std::min(w, C), li});
                continue;
            }
            for (int64_t rt = 0; rt < L.row_tiles; ++rt)
                for (int64_t ct = 0; ct < L.col_tiles; ++ct) {
                    const int64_t h = std::min(R, L.rows_per_vector - rt * R);
                    const int64_t outs = std::min(L.outputs_per_array, L.n - ct * L.outputs_per_array);
                    for (int64_t gg = 0; gg < L.groups; ++gg) rects.push_back({h, outs * L.cols_per_output + L.reference_cols, li});
                }
        }
        std::stable_sort(rects.begin(), rects.end(), [](const Rect& a, const Rect& b) { return a.h > b.h; });
        std::vector<int64_t> lo(m.layers.size(), INT64_MAX), hi(m.layers.size(), -1);
        for (const Rect& r : rects) {
            int64_t a = packer.place(r.h, r.w);
            lo[r.layer] = std::min(lo[r.layer], a);
            hi[r.layer] = std::max(hi[r.layer], a);
        }
        m.arrays_used = int64_t(packer.arrays.size());
        for (size_t li = 0; li < m.layers.size(); ++li)
            if (hi[li] >= 0) {
                m.layers[li].first_array = lo[li];
                m.layers[li].first_chip = int(lo[li] / per_chip);
                m.layers[li].last_chip = int(hi[li] / per_chip);
            }
    } else {
        m.arrays_used = arrays;
    }
    m.chips = std::max<int64_t>(1, ceil_div(m.arrays_used, per_chip));
    const int64_t limit = opt.chips ? *opt.chips : (d.chip.max_chips ? *d.chip.max_chips : INT64_MAX);
    if (opt.chips && m.chips > *opt.chips)
        throw InputError(g.source_file + " needs " + std::to_string(m.arrays_used) + " arrays = " + std::to_string(m.chips) + " chips of " +
                         d.name + " (" + std::to_string(per_chip) + " arrays each), but --chips allows " + std::to_string(*opt.chips) +
                         ": short by " + std::to_string(m.arrays_used - *opt.chips * per_chip) + " arrays (" +
                         std::to_string(m.chips - *opt.chips) + " chips)");
    m.fits_device = m.chips <= limit;
    if (!m.fits_device)
        m.fit_note = "needs " + std::to_string(m.chips) + " chips of " + d.name + " (" + std::to_string(m.arrays_used) + " arrays, " +
                     std::to_string(per_chip) + " per chip); the device description allows " + std::to_string(limit);

    // Duplication: spare arrays on the chips in use copy the slowest layers (exclusive placement only).
    if (opt.duplicate && !shared) {
        int64_t spare = m.chips * per_chip - m.arrays_used;
        auto time_of = [&](const LayerMapping& L) {
            const int64_t reads = std::min(L.rows_per_vector, R);
            const int64_t row_groups = ceil_div(reads, std::max<int64_t>(1, d.array.max_active_rows));
            return double(L.vectors) * double(row_groups) / double(L.duplication);
        };
        for (int guard = 0; guard < 100000 && spare > 0; ++guard) {
            LayerMapping* slow = nullptr;
            for (auto& L : m.layers)
                if (L.placement == Placement::arrays && L.arrays > 0 && (!slow || time_of(L) > time_of(*slow))) slow = &L;
            if (!slow || slow->arrays > spare || slow->duplication >= slow->vectors / slow->sequential_steps) break;
            ++slow->duplication;
            spare -= slow->arrays;
        }
    }
    if (!shared) {  // exclusive placement: each layer's copies on consecutive arrays, in graph order
        m.arrays_used = 0;
        for (auto& L : m.layers) {
            if (L.placement != Placement::arrays || L.arrays == 0) continue;
            L.first_array = m.arrays_used;
            m.arrays_used += L.arrays * L.duplication;
            L.first_chip = int(L.first_array / per_chip);
            L.last_chip = int((m.arrays_used - 1) / per_chip);
        }
    }

    // Utilization.
    for (auto& L : m.layers) {
        if (L.placement != Placement::arrays) continue;
        if (L.arrays > 0) L.utilization = double(L.used_cells) / (double(L.arrays) * double(R) * double(C));
        m.weight_cells_used += L.used_cells * L.duplication;
    }
    m.utilization = m.arrays_used ? double(m.weight_cells_used) / (double(m.arrays_used) * double(R) * double(C)) : 0.0;
    m.tiles_used = ceil_div(m.arrays_used, d.chip.macros_per_tile);
    return m;
}

std::string mapping_key(const DeviceSpec& d) {
    // Everything map_model reads: array geometry (groups per array included), chip hierarchy, the weight
    // encoding, width, clip and slicing (columns per weight, reference columns placed or not), signed-input handling,
    // whether a QDQ model's widths are used, a digital device's kind and engine geometry, and the
    // name and file (used in the Mapping and its messages).
    std::string k;
    k.reserve(160);
    for (long long v : {(long long)d.array.usable_rows, (long long)d.array.usable_cols, (long long)d.array.max_active_rows,
                        (long long)d.array.multi_layer, (long long)d.array.max_groups_per_array.value_or(-1), (long long)d.chip.tiles, (long long)d.chip.macros_per_tile,
                        (long long)d.chip.max_chips.value_or(-1), (long long)d.input.signed_handling,
                        (long long)d.weight.encoding, (long long)d.weight.offset_reference, (long long)d.weight.bits,
                        (long long)d.weight.clip, (long long)d.cell.bits,
                        (long long)d.quant.use_model_quantization, (long long)d.kind, (long long)d.npu.rows,
                        (long long)d.npu.cols, (long long)d.fpga.int8_packing, (long long)d.fpga.precision_bits}) {
        k += std::to_string(v);
        k += ',';
    }
    k += d.name;
    k += '\n';
    k += d.source_path;
    return k;
}

std::string layout_svg(const Mapping& m, const DeviceSpec& d) {
    // One cell per array, a row of squares per tile; chips stacked vertically.
    const int64_t per_tile = d.chip.macros_per_tile, per_chip = m.arrays_per_chip;
    const int64_t n = std::max<int64_t>(m.arrays_used, 1);
    const int64_t cols = std::min<int64_t>(per_tile, 64);
    const int64_t rows_total = ceil_div(n, cols);
    const int cell = rows_total > 400 ? 3 : rows_total > 100 ? 6 : 14;
    const int legend_w = 260;
    const int64_t width = cols * cell + legend_w + 20, height = std::max<int64_t>(rows_total * cell + 40, 40 + 16 * int64_t(m.layers.size()));
    std::string svg = "<svg xmlns='http://www.w3.org/2000/svg' width='" + std::to_string(width) + "' height='" + std::to_string(height) +
                      "' font-family='sans-serif' font-size='11'>\n";
    svg += "<text x='4' y='14'>" + m.device + ": " + std::to_string(m.arrays_used) + " arrays on " + std::to_string(m.chips) +
           " chip(s), " + std::to_string(int(m.utilization * 100 + 0.5)) + "% cells used</text>\n";
    auto colour = [](size_t k) {
        const double h = std::fmod(double(k) * 137.508, 360.0);
        return "hsl(" + std::to_string(int(h)) + ",65%,55%)";
    };
    size_t li = 0;
    std::vector<std::pair<std::string, std::string>> legend;
    for (const auto& L : m.layers) {
        if (L.placement != Placement::arrays || L.arrays == 0 || L.first_array < 0) continue;
        const std::string c = colour(li++);
        legend.emplace_back(L.name, c);
        const int64_t count = d.array.multi_layer ? 1 : L.arrays * L.duplication;
        for (int64_t a = L.first_array; a < L.first_array + count && a < n; ++a) {
            const int64_t r = a / cols, q = a % cols;
            svg += "<rect x='" + std::to_string(q * cell + 4) + "' y='" + std::to_string(r * cell + 24) + "' width='" + std::to_string(cell - 1) +
                   "' height='" + std::to_string(cell - 1) + "' fill='" + c + "'><title>" + L.name + " (chip " + std::to_string(a / per_chip) +
                   ")</title></rect>\n";
        }
    }
    int64_t y = 30;
    for (const auto& [name, c] : legend) {
        svg += "<rect x='" + std::to_string(cols * cell + 16) + "' y='" + std::to_string(y - 9) + "' width='10' height='10' fill='" + c + "'/>";
        svg += "<text x='" + std::to_string(cols * cell + 30) + "' y='" + std::to_string(y) + "'>" + name + "</text>\n";
        y += 16;
    }
    svg += "</svg>\n";
    return svg;
}

std::map<std::string, int64_t> arrays_per_layer_at_width(const Graph& g, const DeviceSpec& d, int bits) {
    DeviceSpec db = d;
    db.weight.bits = bits;
    db.weight.clip = std::min(db.weight.clip, (1 << (bits - 1)) - 1);
    MapOptions opt;
    opt.duplicate = false;
    std::map<std::string, int64_t> arrays;
    for (const LayerMapping& L : map_model(g, db, opt).layers)
        if (L.placement == Placement::arrays) arrays[L.name] = L.arrays;
    return arrays;
}

}  // namespace cim
