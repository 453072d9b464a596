// cim-map: map a network onto a CIM device and report, per layer and in total,
// how it is tiled, how many arrays and chips it takes, what runs digitally, and
// what it costs: latency, energy and area per layer and per component.
#include "cli_common.h"

#include <cim/cimsim/cost_model.h>
#include <cim/cimsim/cost_plot.h>
#include <cim/cimsim/measured_densities.h>
#include <cim/quant/quantizer.h>
#include <cim/cimsim/report_json.h>
#include <cim/csv.h>
#include <cim/device/device_spec.h>
#include <cim/ir/finite.h>
#include <cim/ir/onnx_import.h>
#include <cim/memory_budget.h>
#include <cim/output_file.h>
#include <cim/mapper/mapping.h>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

extern char** environ;

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

// 1.23 mJ, 4.56 us, 789 W ...; "unknown" for a figure the device description cannot give.
std::string si(double x, const char* unit) { return format_si(x, unit); }
std::string si(const std::optional<double>& x, const char* unit) { return x ? format_si(*x, unit) : "unknown"; }


std::string shape_text(const LayerMapping& L) {
    if (L.placement != Placement::arrays) return "-";
    std::string s = fmt::format("{}x{}", L.k, L.n);
    if (L.groups > 1) s += fmt::format(" x{}g", L.groups);
    return s;
}

void print_components(const CostReport& r) {
    double e_sum = 0;
    for (const auto& c : r.components)
        if (c.known) e_sum += c.energy_j;
    fmt::print("\n{:<15} {:>12} {:>6} {:>11} {:>12} {:<16} {}\n", "component", "energy/inf", "share", "busy time", "events/inf",
               "event", "per-event cost (source)");
    for (std::size_t k = 0; k < kCostComponents; ++k) {
        const auto& c = r.components[k];
        const auto& info = r.info[k];
        if (c.events == 0 && c.energy_j == 0) continue;
        const std::string energy = c.known ? si(c.energy_j, "J") : "unknown";
        const std::string share = c.known && e_sum > 0 ? fmt::format("{:.1f}%", 100 * c.energy_j / e_sum) : "-";
        fmt::print("{:<15} {:>12} {:>6} {:>11} {:>12.4g} {:<16} {}\n", to_string(CostComponent(k)), energy, share,
                   si(c.latency_s, "s"), c.events, info.event_unit, info.energy_source);
    }
}

void print_table(const Mapping& m, const DeviceSpec& d, const CostReport& r) {
    if (d.kind == DeviceKind::digital_npu)
        fmt::print("{} on {} (digital NPU: {}x{} {} MAC array, weights streamed from DRAM)\n\n", m.model, d.name, d.npu.rows,
                   d.npu.cols, to_string(d.npu.dataflow));
    else if (d.kind == DeviceKind::fpga_dsp)
        fmt::print("{} on {} (FPGA: {} DSP slices, weights streamed from DRAM)\n\n", m.model, d.name, d.fpga.dsp_slices);
    else
        fmt::print("{} on {} ({} arrays of {}x{} usable, {} per chip)\n\n", m.model, d.name, m.arrays_per_chip, d.array.usable_rows,
                   d.array.usable_cols, m.arrays_per_chip);
    fmt::print("{:<28} {:<14} {:>16} {:>9} {:>8} {:>4} {:>6} {:>10} {:>10}  {:<8} {}\n", "layer", "op", "K x N", "tiles", "arrays",
               "dup", "util", "latency", "energy", "runs on", "note");
    int hidden = 0;
    for (std::size_t i = 0; i < m.layers.size(); ++i) {
        const auto& L = m.layers[i];
        const auto& c = r.layers[i];
        if (L.placement == Placement::digital && L.digital_ops == 0 && L.note.empty() && c.energy_j == 0) {
            ++hidden;  // reshapes and other free views
            continue;
        }
        std::string name = L.name.size() > 28 ? L.name.substr(0, 25) + "..." : L.name;
        const std::string lat = si(c.latency_s, "s"), en = c.known ? si(c.energy_j, "J") : "unknown";
        if (L.placement == Placement::arrays)
            fmt::print("{:<28} {:<14} {:>16} {:>9} {:>8} {:>4} {:>5.1f}% {:>10} {:>10}  {:<8} {}\n", name, op_name(L.op),
                       shape_text(L), fmt::format("{}x{}", L.row_tiles, L.col_tiles), L.arrays, L.duplication,
                       100 * L.utilization, lat, en, to_string(L.placement), L.note);
        else
            fmt::print("{:<28} {:<14} {:>16} {:>9} {:>8} {:>4} {:>6} {:>10} {:>10}  {:<8} {}\n", name, op_name(L.op), "-", "-", "-",
                       "-", "-", lat, en, to_string(L.placement),
                       L.note.empty() ? fmt::format("{} ops", L.digital_ops) : L.note);
    }
    if (hidden) fmt::print("({} data-movement nodes without arithmetic not shown; --json lists every node)\n", hidden);
    if (d.kind == DeviceKind::cim)
        fmt::print("\ntotal: {} arrays on {} chip(s) ({} tiles), {:.1f}% of their cells hold weights\n", m.arrays_used, m.chips,
                   m.tiles_used, 100 * m.utilization);
    else
        fmt::print("\ntotal: 1 chip, the MAC engine {:.1f}% busy over the MAC layers' tiles (tiles: row x column tiles)\n",
                   100 * m.utilization);
    if (!m.fits_device) fmt::print("does not fit: {}\n", m.fit_note);
    fmt::print("latency: {} for a batch of {}, layer by layer ({}); layer pipeline: {} for the batch ({})\n", si(r.latency_s, "s"),
               r.batch, r.throughput_inf_per_s ? fmt::format("{:.4g} inferences/s", *r.throughput_inf_per_s) : "unknown",
               si(r.latency_pipelined_s, "s"),
               r.throughput_pipelined_inf_per_s ? fmt::format("{:.4g} inferences/s", *r.throughput_pipelined_inf_per_s)
                                                : "unknown");
    fmt::print("energy: {} per inference (layer pipeline: {}); power {}\n", si(r.energy_j, "J"), si(r.energy_pipelined_j, "J"),
               si(r.power_w, "W"));
    fmt::print("compute: {} per inference; {} ({} pipelined); {}; {}; area {} mm^2 ({} chip(s))\n", si(r.ops, "OP"),
               r.tops ? fmt::format("{:.4g} TOPS", *r.tops) : "TOPS unknown",
               r.tops_pipelined ? fmt::format("{:.4g}", *r.tops_pipelined) : "unknown",
               r.tops_per_w ? fmt::format("{:.4g} TOPS/W", *r.tops_per_w) : "TOPS/W unknown",
               r.tops_per_mm2 ? fmt::format("{:.4g} TOPS/mm^2", *r.tops_per_mm2) : "TOPS/mm^2 unknown",
               r.area_mm2 > 0 || d.kind == DeviceKind::cim ? fmt::format("{:.4g}", r.area_mm2) : "unknown", r.chips_area);
    std::string dens = "reference densities of the YAML";
    for (const auto& l : r.layers)
        if (l.density_source.rfind("reference", 0) != 0) {
            dens = l.density_source;
            break;
        }
    fmt::print("data densities: {}\n", dens);
    print_components(r);
    if (!r.notes.empty()) {
        fmt::print("\nnotes:\n");
        for (const auto& n : r.notes) fmt::print("  - {}\n", n);
    }
}

// The per-layer part of the JSON as CSV, one row per node: name, op and runs_on first, the other
// scalar fields after them, and the per-component breakdowns as energy_<component>_j and
// latency_<component>_s. An unknown value (JSON null) or a field a node lacks is an empty cell.
std::string layers_csv(const json& layers) {
    std::vector<std::string> columns{"name", "op", "runs_on"};
    auto add_column = [&](const std::string& c) {
        if (std::find(columns.begin(), columns.end(), c) == columns.end()) columns.push_back(c);
    };
    auto flat = [](const json& layer) {
        std::map<std::string, json> f;
        for (const auto& [key, value] : layer.items()) {
            if (key == "energy_by_component_j" || key == "latency_by_component_s") {
                const bool energy = key[0] == 'e';
                for (const auto& [comp, v] : value.items()) f[(energy ? "energy_" : "latency_") + comp + (energy ? "_j" : "_s")] = v;
            } else {
                f[key] = value;
            }
        }
        return f;
    };
    std::vector<std::map<std::string, json>> rows;
    for (const auto& layer : layers) rows.push_back(flat(layer));
    for (const auto& r : rows)
        for (const auto& [key, v] : r) add_column(key);
    std::string out;
    for (size_t c = 0; c < columns.size(); ++c) {
        if (c) out += ',';
        out += columns[c];
    }
    out += '\n';
    for (const auto& r : rows) {
        for (size_t c = 0; c < columns.size(); ++c) {
            if (c) out += ',';
            auto it = r.find(columns[c]);
            if (it == r.end() || it->second.is_null()) continue;
            append_csv_field(out, it->second.is_string() ? it->second.get<std::string>() : it->second.dump());
        }
        out += '\n';
    }
    return out;
}

// The per-layer weight widths of a `cim-quant --json` report.
std::map<std::string, int> layer_widths_of(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw InputError(path + ": cannot read the quantization report");
    json j;
    try {
        j = json::parse(in);
    } catch (const json::exception& e) {
        throw InputError(path + ": not JSON (" + e.what() + "); write it with cim-quant ... --json > " + path);
    }
    if (!j.contains("layers") || !j["layers"].is_array())
        throw InputError(path + ": no \"layers\" array; is this the output of cim-quant --json?");
    std::map<std::string, int> widths;
    for (const auto& l : j["layers"]) {
        if (!l.contains("name") || !l["name"].is_string() || !l.contains("weight_bits") || !l["weight_bits"].is_number_integer())
            throw InputError(path + ": a layer without a name or an integer weight_bits: " + l.dump());
        widths[l["name"].get<std::string>()] = l["weight_bits"].get<int>();
    }
    return widths;
}

void write_file(const std::string& path, const std::string& text, const char* what) { write_output_file(path, text, what); }

bool ends_with(const std::string& s, const char* tail) {
    const std::string t(tail);
    return s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
}

// rsvg-convert on PATH, for --plot FILE.png (optional: SVG is written directly).
std::optional<std::string> find_rsvg() {
    const char* path = std::getenv("PATH");
    if (!path) return std::nullopt;
    std::stringstream ss(path);
    std::string dir;
    while (std::getline(ss, dir, ':')) {
        const std::string exe = (dir.empty() ? std::string(".") : dir) + "/rsvg-convert";
        if (::access(exe.c_str(), X_OK) == 0) return exe;
    }
    return std::nullopt;
}

void check_plot_path(const std::string& path) {
    if (ends_with(path, ".svg")) return;
    if (ends_with(path, ".png")) {
        if (find_rsvg()) return;
        throw InputError("--plot " + path + ": PNG needs rsvg-convert (Debian: librsvg2-bin), which is not on PATH; "
                         "write an .svg file instead");
    }
    throw InputError("--plot " + path + ": the file name must end in .svg (or .png, through rsvg-convert)");
}

// Writes the plot: SVG directly, PNG through rsvg-convert (run without a shell).
void write_plot(const std::string& path, const std::string& svg) {
    if (!ends_with(path, ".png")) {
        write_file(path, svg, "plot");
        return;
    }
    const std::string tmp = path + ".tmp.svg";
    write_file(tmp, svg, "plot");
    const std::string exe = *find_rsvg();
    std::vector<std::string> args = {exe, tmp, "-o", path};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    int status = 0;
    const int rc = posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv.data(), environ);
    if (rc == 0) waitpid(pid, &status, 0);
    std::remove(tmp.c_str());
    if (rc != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw InputError("--plot " + path + ": rsvg-convert failed to write the PNG");
}

// cim-map MODEL --device A --device B ...: every device maps and prices the same model; one table
// (or a JSON list of the single-device objects, or a comparison plot).
int compare_devices(const std::string& model_path, const std::vector<std::string>& names, const std::vector<std::string>& sets,
                    int batch, const std::string& stats_path, const std::vector<std::string>& host_layers,
                    std::optional<int> chips, bool duplicate, bool skip_zero, bool as_json, const std::string& plot_path) {
    Graph imported = import_onnx(model_path);
    check_finite_weights(imported);
    const Graph graph = specialize_batch(imported, 1);
    struct Run {
        DeviceSpec device;
        Mapping m;
        CostReport r;
    };
    std::vector<Run> runs;
    for (const auto& name : names) {
        Run run{load_device(name, sets), {}, {}};
        MapOptions opt;
        opt.chips = chips;
        opt.host_layers = host_layers;
        opt.duplicate = duplicate;
        opt.skip_zero_arrays = skip_zero;
        run.m = map_model(graph, run.device, opt);
        CostOptions copt;
        copt.batch = batch;
        if (!stats_path.empty()) copt.stats = load_data_stats(stats_path);
        run.r = estimate_cost(graph, run.m, run.device, copt);
        runs.push_back(std::move(run));
    }
    if (!plot_path.empty()) {
        std::vector<ComparedDevice> shown;
        for (const auto& run : runs) shown.push_back({run.device.name, &run.r});
        write_plot(plot_path, comparison_svg(model_path, shown));
    }
    if (as_json) {
        json list = json::array();
        for (const auto& run : runs) {
            list.push_back(mapping_json(run.m, run.device, run.r));
        }
        fmt::print("{}\n", list.dump(2));
        return cli::kExitOk;
    }
    auto ratio = [](const std::optional<double>& x, const std::optional<double>& first) {
        return x && first && *first > 0 ? fmt::format("{:.3g}x", *x / *first) : std::string("unknown");
    };
    auto num = [](const std::optional<double>& x) { return x ? fmt::format("{:.4g}", *x) : std::string("unknown"); };
    fmt::print("{} on {} devices, batch {} (ratios: to the first device, {})\n\n", model_path, runs.size(), batch,
               runs.front().device.name);
    fmt::print("{:<22} {:<12} {:>10} {:>12} {:>11} {:>9} {:>10} {:>10} {:>5} {:>4} {:>9} {:>9}\n", "device", "kind", "latency",
               "inf/s", "energy/inf", "TOPS/W", "TOPS/mm^2", "area mm^2", "chips", "fits", "latency x", "energy x");
    for (const auto& run : runs) {
        const CostReport& r = run.r;
        const CostReport& first = runs.front().r;
        const bool area_known = r.area_mm2 > 0;
        fmt::print("{:<22} {:<12} {:>10} {:>12} {:>11} {:>9} {:>10} {:>10} {:>5} {:>4} {:>9} {:>9}\n", run.device.name,
                   to_string(run.device.kind), si(r.latency_s, "s"), num(r.throughput_inf_per_s), si(r.energy_j, "J"),
                   num(r.tops_per_w), num(r.tops_per_mm2), area_known ? fmt::format("{:.4g}", r.area_mm2) : "unknown",
                   run.m.chips, run.m.fits_device ? "yes" : "no", ratio(r.latency_s, first.latency_s),
                   ratio(r.energy_j, first.energy_j));
    }
    fmt::print("\n");
    for (const auto& run : runs) {
        std::vector<std::string> notes = run.r.notes;
        if (!run.m.fits_device) notes.insert(notes.begin(), "does not fit: " + run.m.fit_note);
        for (const auto& n : notes) fmt::print("{}: {}\n", run.device.name, n);
    }
    return cli::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
    return cli::guarded_main("cim-map", [&]() -> int {
        CLI::App app{"cim-map: map an ONNX network onto a compute-in-memory device described in YAML and estimate its cost.\n"
                     "Reports per layer how it is tiled onto arrays, how many arrays and chips it needs, what runs\n"
                     "digitally, whether it fits, and its latency, energy and area per layer and per component\n"
                     "(docs/cost-model.md). DEVICE is a YAML path or a bundled name (e.g. wtm2101, isaac)."};
        std::vector<std::string> device_names;
        std::string model_path, layout_path, plot_path, stats_path, csv_path, quant_report;
        std::vector<std::string> sets, host_layers, calibrate;
        std::optional<int> chips;
        int batch = 1;
        bool as_json = false, no_dup = false, keep_zero = false, describe = false;
        app.add_option("model", model_path, "ONNX model file (optional with --describe)");
        app.add_option("--device", device_names,
                       "device YAML path or bundled name; repeat it to compare devices side by side "
                       "(one table, --json a list, --plot a comparison chart; ratios to the first device)")
            ->required()
            ->allow_extra_args(false);  // one device per --device, so `--device a MODEL` keeps its model
        app.add_option("--set", sets, "override a device field, e.g. --set array.adc.bits=6 (repeatable)");
        app.add_option("--chips", chips, "at most this many chips: a model that needs more is an error")->check(CLI::PositiveNumber);
        app.add_option("--host-layers", host_layers, "node names to run on the host (comma-separated or repeated)");
        app.add_flag("--no-duplicate", no_dup, "do not copy slow layers into spare arrays");
        app.add_option("--quant-report", quant_report,
                       "cim-quant --json output: map each layer at the weight width it chose (mixed precision)");
        app.add_flag("--keep-zero-arrays", keep_zero, "place arrays whose weights are all zero (pruned) too");
        app.add_option("--layout", layout_path, "write an SVG drawing of the placement of layers on arrays");
        app.add_option("--batch", batch, "inferences per batch (latency is for the batch, energy per inference)")
            ->check(CLI::Range(1, 1 << 30));
        app.add_option("--stats", stats_path, "activation statistics JSON (input/weight densities per layer)");
        app.add_option("--calibrate", calibrate,
                       "input tensor .pb file(s), one per model input: measure input and weight densities by a calibration run");
        app.add_option("--plot", plot_path,
                       "write the per-component energy and latency breakdown as SVG (FILE.svg), or PNG (FILE.png, "
                       "needs rsvg-convert)");
        app.add_flag("--describe", describe, "print the device's peak figures (TOPS, TOPS/W, TOPS/mm^2, area, power)");
        app.add_flag("--json", as_json, "print one JSON object on stdout");
        app.add_option("--csv", csv_path, "write the per-layer figures as CSV (one row per node; the JSON's layer fields)");
        cli::add_max_memory_option(app);
        if (auto status = cli::parse_args(app, argc, argv)) return *status;
        if (model_path.empty() && !describe) {
            fmt::print(stderr, "cim-map: error: a MODEL is required (or --describe to print the device's peak figures)\n{}",
                       app.help());
            return cli::kExitBadInput;
        }
        if (!stats_path.empty() && !calibrate.empty())
            throw InputError("--stats and --calibrate both give data densities: use one of them");
        if (!plot_path.empty()) check_plot_path(plot_path);
        if (model_path.empty()) {
            for (const char* flag : {"--stats", "--calibrate", "--layout", "--host-layers", "--chips", "--csv", "--quant-report"}) {
                const bool used = app.count(flag) > 0;
                if (used) throw InputError(std::string(flag) + " needs a MODEL");
            }
        }
        if (device_names.size() > 1) {
            if (model_path.empty()) throw InputError("comparing devices (--device given " + std::to_string(device_names.size()) +
                                                     " times) needs a MODEL");
            for (const char* flag : {"--describe", "--layout", "--csv", "--calibrate", "--quant-report"})
                if (app.count(flag) > 0)
                    throw InputError(std::string(flag) + " takes one --device; run cim-map once per device for it");
            return compare_devices(model_path, device_names, sets, batch, stats_path, split_commas(host_layers), chips, !no_dup,
                                   !keep_zero, as_json, plot_path);
        }
        DeviceSpec device = load_device(device_names.front(), sets);
        const PeakFigures peak = peak_figures(device);
        if (model_path.empty()) {
            if (!plot_path.empty()) write_plot(plot_path, peak_breakdown_svg(peak, device));
            if (as_json)
                fmt::print("{}\n", json{{"device", device.name},
                                        {"device_file", device.source_path},
                                        {"overrides", device.overrides},
                                        {"peak", peak_json(peak)},
                                        {"estimates", estimates_json(device)}}
                                       .dump(2));
            else
                fmt::print("{}", describe_text(device, peak));
            return cli::kExitOk;
        }

        Graph imported = import_onnx(model_path);
        check_finite_weights(imported);
        Graph graph = specialize_batch(imported, 1);
        MapOptions opt;
        opt.chips = chips;
        opt.host_layers = split_commas(host_layers);
        opt.duplicate = !no_dup;
        opt.skip_zero_arrays = !keep_zero;
        if (!quant_report.empty()) opt.layer_weight_bits = layer_widths_of(quant_report);
        Mapping m = map_model(graph, device, opt);
        if (!layout_path.empty()) write_file(layout_path, layout_svg(m, device), "layout file");

        CostOptions copt;
        copt.batch = batch;
        if (!stats_path.empty()) copt.stats = load_data_stats(stats_path);
        if (!calibrate.empty()) {
            std::vector<Tensor> inputs;
            for (const auto& p : calibrate) {
                inputs.push_back(load_tensor_pb(p));
                check_finite_data(inputs.back(), p);
            }
            // The densities of what the chip holds and receives: the quantizer's program of this model
            // at the mapping's widths (the per-layer widths of --quant-report, else the device's).
            quant::QuantOptions qo = quant::QuantOptions::from_device(device);
            qo.report_sqnr = false;
            qo.q.mixed_precision_budget_arrays.reset();
            qo.layer_bits = opt.layer_weight_bits;
            qo.host_layers.insert(opt.host_layers.begin(), opt.host_layers.end());
            const quant::QuantResult program = quant::quantize(imported, device, inputs, qo);
            copt.stats = measure_data_stats(program.model, inputs,
                                            fmt::format("calibration run on {}", fmt::join(calibrate, ", ")));
        }
        if (!copt.stats.layers.empty() || copt.stats.defaults.input_density || copt.stats.defaults.weight_density)
            for (const auto& [name, dens] : copt.stats.layers)
                if (!m.find(name))
                    throw InputError(fmt::format("{}: layers.{}: no node of that name in {}", copt.stats.source, name,
                                                 model_path));
        const CostReport report = estimate_cost(graph, m, device, copt);
        if (!plot_path.empty()) write_plot(plot_path, cost_breakdown_svg(report, m, device));
        if (!csv_path.empty()) write_file(csv_path, layers_csv(mapping_json(m, device, report)["layers"]), "CSV file");
        if (as_json) {
            json j = mapping_json(m, device, report);
            if (describe) j["peak"] = peak_json(peak);
            j["estimates"] = estimates_json(device);
            fmt::print("{}\n", j.dump(2));
        } else {
            if (describe) {
                fmt::print("{}", describe_text(device, peak));
                fmt::print("\n");
            }
            print_table(m, device, report);
        }
        return cli::kExitOk;
    });
}
