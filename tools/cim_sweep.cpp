// cim-sweep: evaluates a design space described in YAML (base device, models,
// axes over any --set path, sampling, constraints, metrics) and writes one CSV row
// per point as it finishes, marks the Pareto front and draws it. --resume continues
// a killed sweep; `mpirun -np N cim-sweep ...` shares the points among ranks.
// docs/sweeps.md describes the YAML and the CSV.
#include "cli_common.h"
#include "scatter_plot.h"

#include <cim/error.h>
#include <cim/output_file.h>
#include <cim/sweep/sweep.h>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace cim;
using json = nlohmann::json;

namespace {

std::string plot_svg(const sweep::SweepSpec& spec, const sweep::RunSummary& sum) {
    auto col = [&](const std::string& name) -> int {
        auto it = std::find(sum.columns.begin(), sum.columns.end(), name);
        return it == sum.columns.end() ? -1 : int(it - sum.columns.begin());
    };
    const int cx = col(spec.plot_x), cy = col(spec.plot_y), cs = col("status"), cp = col("pareto");
    const int cc = spec.plot_color.empty() ? -1 : col(spec.plot_color);
    const int ce = spec.plot_y == "accuracy" ? col("accuracy_ci95") : -1;  // 95 % CI over chip instances
    std::vector<cli::ScatterPoint> pts;
    for (const auto& r : sum.rows) {
        if (r[size_t(cs)] != "ok" || r[size_t(cx)].empty() || r[size_t(cy)].empty()) continue;
        cli::ScatterPoint p;
        p.x = std::strtod(r[size_t(cx)].c_str(), nullptr);
        p.y = std::strtod(r[size_t(cy)].c_str(), nullptr);
        if (!std::isfinite(p.x) || !std::isfinite(p.y)) continue;
        p.group = cc >= 0 ? r[size_t(cc)] : "";
        if (spec.models.size() > 1 && spec.plot_color != "model") p.group = r[1] + " " + p.group;
        p.front = r[size_t(cp)] == "1";
        if (ce >= 0 && !r[size_t(ce)].empty()) p.y_err = std::strtod(r[size_t(ce)].c_str(), nullptr);
        pts.push_back(p);
    }
    cli::ScatterOptions o;
    std::string models;
    for (const auto& m : spec.models) models += (models.empty() ? "" : ", ") + m.name;
    std::string devices = std::filesystem::path(spec.device).stem().string();
    if (spec.device_axis >= 0) devices = fmt::format("{} devices", spec.devices.size());
    o.title = fmt::format("{}: {} on {} ({} points)", spec.name, models, devices, pts.size());
    o.x_label = spec.plot_x;
    o.y_label = spec.plot_y;
    o.legend_title = spec.plot_color;
    for (const auto& a : spec.axes) o.join_groups = o.join_groups || a.name == spec.plot_x;
    for (const auto& ob : spec.pareto) {
        if (ob.metric == spec.plot_x) o.x_maximize = ob.maximize;
        if (ob.metric == spec.plot_y) o.y_maximize = ob.maximize;
    }
    // The staircase is the front of the plotted pair only when they are all the objectives.
    if (spec.pareto.size() != 2) o.x_maximize = o.y_maximize = std::nullopt;
    return cli::scatter_plot_svg(pts, o);
}

}  // namespace

int main(int argc, char** argv) {
    sweep::Comm comm(&argc, &argv);
    auto body = [&]() -> int {
        CLI::App app{"cim-sweep: evaluate a design space of CIM devices (cost, and accuracy over chip instances), one CSV row per\n"
                     "point, the Pareto front marked and plotted. Under mpirun the points are shared among the ranks."};
        std::string spec_path, out, plot;
        bool resume = false, force = false, quiet = false, as_json = false, dry_run = false, no_reuse = false;
        int threads = 0, limit = 0;
        app.add_option("sweep", spec_path, "sweep YAML (docs/sweeps.md)")->required();
        app.add_option("--out", out, "CSV file, one row per point (default: the sweep file's stem + .csv)");
        app.add_option("--plot", plot, "SVG plot of the Pareto front (default: the CSV name with .svg)");
        app.add_flag("--resume", resume, "keep the rows already in --out and evaluate only the missing points");
        app.add_flag("--force", force, "overwrite an existing --out");
        app.add_option("--threads", threads, "OpenMP threads per process (default: all cores)")->check(CLI::Range(1, 4096));
        app.add_option("--limit", limit, "accuracy over the first N test images (overrides metrics.accuracy.images)")
            ->check(CLI::Range(1, 10000));
        app.add_flag("--no-mapping-reuse", no_reuse, "map every point anew (for measurements; the rows are the same)");
        app.add_flag("--dry-run", dry_run, "list the points and exit");
        app.add_flag("--json", as_json, "print a JSON summary on stdout");
        app.add_flag("--quiet", quiet, "no progress bar");
        cli::add_max_memory_option(app);
        if (auto status = cli::parse_args(app, argc, argv, comm.root())) return *status;
        if (sweep::Comm::launched_by_mpi() && !sweep::Comm::built_with_mpi())
            throw InputError("started by an MPI launcher, but this cim-sweep was built without MPI "
                             "(configure with MPI installed, or -DCIM_WITH_MPI=ON); run it without mpirun");

        sweep::SweepSpec spec = sweep::load_sweep(spec_path);
        if (limit > 0) {
            if (!spec.accuracy) throw InputError("--limit: " + spec_path + " computes no accuracy (metrics.accuracy)");
            sweep::set_accuracy_images(spec, limit);
        }
        const sweep::PointSet ps = sweep::enumerate_points(spec);
        if (out.empty()) out = std::filesystem::path(spec_path).stem().string() + ".csv";
        if (plot.empty()) plot = std::filesystem::path(out).replace_extension(".svg").string();
        std::string summary_line = fmt::format("{} points", ps.points.size());
        if (ps.excluded || ps.duplicates)
            summary_line += fmt::format(" ({} proposed per model, {} excluded by constraints, {} repeated draws dropped)", ps.candidates,
                                        ps.excluded, ps.duplicates);
        if (dry_run) {
            if (comm.root()) {
                fmt::print("{}: {}\n", spec_path, summary_line);
                for (const auto& p : ps.points) {
                    std::string sets;
                    if (spec.device_axis >= 0) sets = " " + spec.axes[size_t(spec.device_axis)].values[size_t(p.value[size_t(spec.device_axis)])];
                    for (const auto& s : sweep::point_overrides(spec, p)) sets += " " + s;
                    fmt::print("{} {}{}\n", p.id, spec.models[size_t(p.model)].name, sets);
                }
            }
            return cli::kExitOk;
        }

        cli::ProgressBar bar(fmt::format("cim-sweep {}", spec.name), !quiet && comm.root());
        sweep::RunOptions ro;
        ro.out = out;
        ro.resume = resume;
        ro.force = force;
        ro.threads = threads;
        ro.eval.reuse_mappings = !no_reuse;
        ro.progress = [&](int64_t d, int64_t t) { bar.update(d, t); };
        const sweep::RunSummary sum = sweep::run_sweep(spec, ps, ro, comm);
        bar.finish();
        if (!comm.root()) return cli::kExitOk;

        write_output_file(plot, plot_svg(spec, sum), "plot");
        const double rate = sum.seconds > 0 ? double(sum.evaluated) / sum.seconds : 0;
        if (as_json) {
            fmt::print("{}\n", json{{"sweep", spec_path},
                                    {"csv", out},
                                    {"plot", plot},
                                    {"points", sum.points},
                                    {"resumed", sum.resumed},
                                    {"evaluated", sum.evaluated},
                                    {"ok", sum.ok},
                                    {"pareto", sum.on_front},
                                    {"mappings", sum.mappings},
                                    {"ranks", comm.size()},
                                    {"seconds", sum.seconds},
                                    {"points_per_second", rate}}
                                   .dump(2));
        } else {
            fmt::print("{}: {}; {} already in {}, {} evaluated ({} ok in all) in {:.2f} s ({} points/s, {} rank(s); {} mapping(s))\n",
                       spec_path, summary_line, sum.resumed, out, sum.evaluated, sum.ok, sum.seconds,
                       rate >= 10 ? fmt::format("{:.0f}", rate) : fmt::format("{:.2g}", rate), comm.size(), sum.mappings);
            fmt::print("Pareto front ({}): {} point(s); wrote {} and {}\n", [&] {
                std::string s;
                for (const auto& o : spec.pareto) s += (s.empty() ? "" : ", ") + std::string(o.maximize ? "max " : "min ") + o.metric;
                return s;
            }(), sum.on_front, out, plot);
        }
        return cli::kExitOk;
    };
    // A rank that fails while the others work with it ends the whole job.
    auto rank_failed = [&](const sweep::RankError& e) {
        fmt::print(stderr, "cim-sweep (rank {}): {}{}\n", comm.rank(),
                   e.exit_code() == cli::kExitBadInput ? "error: " : "internal error (a bug in cimforge, please report it): ", e.what());
        comm.abort(e.exit_code());
    };
    if (comm.root()) {
        return cli::guarded_main("cim-sweep", [&]() -> int {
            try {
                return body();
            } catch (const sweep::RankError& e) {
                rank_failed(e);
            }
            return cli::kExitInternal;  // not reached: rank_failed ends the job
        });
    }
    // Other ranks: checks before the ranks work together fail alike everywhere; rank 0 reports them.
    try {
        return body();
    } catch (const sweep::RankError& e) {
        rank_failed(e);
    } catch (const InputError&) {
        return cli::kExitBadInput;
    } catch (const std::exception& e) {
        fmt::print(stderr, "cim-sweep (rank {}): internal error (a bug in cimforge, please report it): {}\n", comm.rank(), e.what());
        comm.abort(cli::kExitInternal);
    }
}
