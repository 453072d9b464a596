// cim-map: map a network onto a CIM device and report, per layer and in total,
// how it is tiled, how many arrays and chips it takes, and what runs digitally.
#include "cli_common.h"

#include <cim/device/device_spec.h>
#include <cim/ir/onnx_import.h>
#include <cim/mapper/mapping.h>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

using namespace cim;
using json = nlohmann::json;

namespace {

std::vector<std::string> split_commas(const std::vector<std::string>& items) {
    std::vector<std::string> out;
    for (const auto& item : items) {
        std::stringstream ss(item);
        std::string part;
        while (std::getline(ss, part, ','))
            if (!part.empty()) out.push_back(part);
    }
    return out;
}

std::string shape_text(const LayerMapping& L) {
    if (L.placement != Placement::arrays) return "-";
    std::string s = fmt::format("{}x{}", L.k, L.n);
    if (L.groups > 1) s += fmt::format(" x{}g", L.groups);
    return s;
}

void print_table(const Mapping& m, const DeviceSpec& d) {
    fmt::print("{} on {} ({} arrays of {}x{} usable, {} per chip)\n\n", m.model, d.name,
               m.arrays_per_chip, d.array.usable_rows, d.array.usable_cols, m.arrays_per_chip);
    fmt::print("{:<28} {:<14} {:>16} {:>9} {:>8} {:>4} {:>6}  {:<8} {}\n", "layer", "op", "K x N", "tiles", "arrays", "dup",
               "util", "runs on", "note");
    int hidden = 0;
    for (const auto& L : m.layers) {
        if (L.placement == Placement::digital && L.digital_ops == 0 && L.note.empty()) {
            ++hidden;  // reshapes and other free views
            continue;
        }
        std::string name = L.name.size() > 28 ? L.name.substr(0, 25) + "..." : L.name;
        if (L.placement == Placement::arrays)
            fmt::print("{:<28} {:<14} {:>16} {:>9} {:>8} {:>4} {:>5.1f}%  {:<8} {}\n", name, op_name(L.op), shape_text(L),
                       fmt::format("{}x{}", L.row_tiles, L.col_tiles), L.arrays, L.duplication, 100 * L.utilization,
                       to_string(L.placement), L.note);
        else
            fmt::print("{:<28} {:<14} {:>16} {:>9} {:>8} {:>4} {:>6}  {:<8} {}\n", name, op_name(L.op), "-", "-", "-", "-", "-",
                       to_string(L.placement), L.note.empty() ? fmt::format("{} ops", L.digital_ops) : L.note);
    }
    if (hidden) fmt::print("({} data-movement nodes without arithmetic not shown; --json lists every node)\n", hidden);
    fmt::print("\ntotal: {} arrays on {} chip(s) ({} tiles), {:.1f}% of their cells hold weights\n", m.arrays_used, m.chips,
               m.tiles_used, 100 * m.utilization);
    if (!m.fits_device) fmt::print("does not fit: {}\n", m.fit_note);
}

json to_json(const Mapping& m, const DeviceSpec& d) {
    json layers = json::array();
    for (const auto& L : m.layers) {
        json j = {{"name", L.name},
                  {"op", std::string(op_name(L.op))},
                  {"runs_on", std::string(to_string(L.placement))},
                  {"rows", L.k},
                  {"cols", L.n},
                  {"groups", L.groups},
                  {"vectors", L.vectors},
                  {"macs", L.macs},
                  {"arrays", L.arrays * L.duplication},
                  {"arrays_per_copy", L.arrays},
                  {"duplication", L.duplication},
                  {"row_tiles", L.row_tiles},
                  {"col_tiles", L.col_tiles},
                  {"rows_per_vector", L.rows_per_vector},
                  {"cols_per_output", L.cols_per_output},
                  {"groups_per_array", L.groups_per_array},
                  {"zero_arrays_skipped", L.zero_arrays_skipped},
                  {"utilization", L.utilization},
                  {"signed_inputs", L.signed_inputs},
                  {"digital_ops", L.digital_ops},
                  {"first_chip", L.first_chip},
                  {"last_chip", L.last_chip},
                  {"note", L.note},
                  // Filled by the cost model; null means "not estimated", never zero.
                  {"latency_s", nullptr},
                  {"energy_j", nullptr}};
        layers.push_back(j);
    }
    json total = {{"arrays", m.arrays_used},
                  {"chips", m.chips},
                  {"tiles", m.tiles_used},
                  {"utilization", m.utilization},
                  {"fits_device", m.fits_device},
                  {"fit_note", m.fit_note},
                  {"latency_s", nullptr},
                  {"energy_j", nullptr},
                  {"area_mm2", nullptr},
                  {"tops_per_w", nullptr}};
    return {{"model", m.model}, {"device", d.name}, {"device_file", d.source_path}, {"overrides", d.overrides},
            {"layers", layers}, {"total", total}};
}

}  // namespace

int main(int argc, char** argv) {
    return cli::guarded_main("cim-map", [&]() -> int {
        CLI::App app{"cim-map: map an ONNX network onto a compute-in-memory device described in YAML.\n"
                     "Reports per layer how it is tiled onto arrays, how many arrays and chips it needs, what runs\n"
                     "digitally, and whether it fits. DEVICE is a YAML path or a bundled name (e.g. wtm2101, isaac)."};
        std::string model_path, device_name, layout_path;
        std::vector<std::string> sets, host_layers;
        std::optional<int> chips;
        bool as_json = false, no_dup = false, keep_zero = false;
        app.add_option("model", model_path, "ONNX model file")->required();
        app.add_option("--device", device_name, "device YAML path or bundled name")->required();
        app.add_option("--set", sets, "override a device field, e.g. --set array.adc.bits=6 (repeatable)");
        app.add_option("--chips", chips, "at most this many chips: a model that needs more is an error")->check(CLI::PositiveNumber);
        app.add_option("--host-layers", host_layers, "node names to run on the host (comma-separated or repeated)");
        app.add_flag("--no-duplicate", no_dup, "do not copy slow layers into spare arrays");
        app.add_flag("--keep-zero-arrays", keep_zero, "place arrays whose weights are all zero (pruned) too");
        app.add_option("--layout", layout_path, "write an SVG drawing of the placement of layers on arrays");
        app.add_flag("--json", as_json, "print one JSON object on stdout");
        try {
            app.parse(argc, argv);
        } catch (const CLI::ParseError& e) {
            int code = app.exit(e);
            return code == 0 ? 0 : cli::kExitBadInput;
        }
        DeviceSpec device = load_device(device_name, sets);
        Graph graph = specialize_batch(import_onnx(model_path), 1);
        MapOptions opt;
        opt.chips = chips;
        opt.host_layers = split_commas(host_layers);
        opt.duplicate = !no_dup;
        opt.skip_zero_arrays = !keep_zero;
        Mapping m = map_model(graph, device, opt);
        if (!layout_path.empty()) {
            std::ofstream out(layout_path);
            if (!out) throw InputError(layout_path + ": cannot write the layout file");
            out << layout_svg(m, device);
        }
        if (as_json) fmt::print("{}\n", to_json(m, device).dump(2));
        else print_table(m, device);
        return cli::kExitOk;
    });
}
