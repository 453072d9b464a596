// Design-space sweeps (cim-sweep). Three parts kept apart, as in Timeloop:
//
//   the space    SweepSpec (YAML, validated strictly) -> enumerate_points(): every point
//                the grid / random / Latin-hypercube sampling proposes, constraints applied,
//                each with a stable ID (a hash of the settings, the model and its axis values);
//   the search   Search::ask() proposes point indices, Search::tell() is told each result;
//                a resumed sweep tells it the IDs the CSV already holds (the log of reports);
//   the model    Evaluator::evaluate(point): the device with the point's --set values,
//                the mapping (reused across points of one geometry), the cost model, and
//                optionally the simulated accuracy (quantized once per quantization-relevant
//                device configuration).
//
// run_sweep() drives them over OpenMP threads and MPI ranks and writes the CSV.
// docs/sweeps.md describes the YAML, the CSV and the Pareto front.
#pragma once

#include <cim/sweep/comm.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace cim::sweep {

enum class Sampling { grid, random, latin_hypercube };

// One dimension of the space: a value list set on one or more device keys at once.
// With several paths a value is either one scalar (every path gets it) or a list
// with one entry per path (zipped: `[6, 1.20, 627]` sets bits, energy and area together).
struct Axis {
    std::string name;                 // CSV column (default: the first path)
    std::vector<std::string> paths;   // device keys (--set paths) set to the value
    std::vector<std::string> values;  // as --set text; for zipped values, the first entry (the CSV shows it)
    std::vector<std::vector<std::string>> zipped;  // per value, one text per path; empty unless zipped
    int line = 0, col = 0;            // where the axis is written (1-based)

    // The --set text of `path_index` for value `v`.
    const std::string& text(size_t v, size_t path_index) const { return zipped.empty() ? values[v] : zipped[v][path_index]; }
};

// Accuracy over the Fashion-MNIST test set, Monte-Carlo over chip instances.
struct AccuracySpec {
    int images = 1000;          // the first N test images
    int instances = 1;          // chip instances (95 % CI over them)
    uint64_t seed = 1;          // device variation, read noise, calibration draw
    int calibration = 0;        // calibration images from the training set; 0: the base device's quant.calibration_samples
    std::string dataset_dir;    // "": Debian's dataset-fashion-mnist folder
    // The user's data instead of Fashion-MNIST (the formats of cim-sim --data; docs/your-model.md);
    // paths relative to the sweep file. Sweeps score accuracy, so the data needs labels.
    std::string data, labels, preprocess, calibration_data;
};

struct Objective {
    std::string metric;
    bool maximize = false;
};

struct Constraints;  // compiled constraint expressions (internal)

struct SweepSpec {
    std::string file;                 // where it was read from (messages)
    std::string name;                 // title of the plot (default: the file stem)
    std::string device;               // base device: bundled name or path (the first of a device axis)
    int device_axis = -1;             // the axis `path: device` (values: devices), or -1
    std::vector<std::string> devices; // the device axis's devices, resolved (names or files)
    std::vector<std::string> fixed;   // --set PATH=VALUE applied to every point
    struct Model {
        std::string name;             // as written (CSV column `model`)
        std::string path;             // resolved ONNX file
    };
    std::vector<Model> models;
    std::vector<Axis> axes;
    Sampling sampling = Sampling::grid;
    int64_t count = 0;                // points to draw (random, latin_hypercube)
    uint64_t seed = 1;                // of the draw
    std::vector<std::string> constraint_texts;
    std::shared_ptr<const Constraints> constraints;
    int batch = 1;                    // cost model batch
    std::optional<AccuracySpec> accuracy;  // nullopt: cost only
    std::vector<Objective> pareto;    // the front's objectives
    std::vector<int> pareto_per;      // axes (indices) whose every value has a front of its own (besides the model)
    std::string plot_x, plot_y, plot_color;  // columns of the plot (color: "" or an axis or `model`)
};

// Reads and validates a sweep YAML. Every problem is reported at once as
// `FILE:LINE:COL: key: problem` in one InputError (unknown keys with a
// suggestion, wrong types, bad --set paths at the axis that names them, bad
// constraint expressions, a base device that does not load).
SweepSpec load_sweep(const std::string& path);
// Same, from text; relative model and device paths are taken from `base_dir`.
SweepSpec parse_sweep(std::string_view yaml_text, const std::string& source_name, const std::string& base_dir);

// Overrides every accuracy point's image count (cim-sweep --limit).
void set_accuracy_images(SweepSpec& spec, int images);

struct Point {
    int64_t index = 0;          // position in the sweep: the CSV row order
    int model = 0;              // into SweepSpec::models
    std::vector<int> value;     // per axis, an index into Axis::values
    std::string id;             // 16 hex digits
};

struct PointSet {
    std::vector<Point> points;
    int64_t candidates = 0;      // proposed by the sampling (per model)
    int64_t excluded = 0;        // of those, rejected by a constraint (per model)
    int64_t duplicates = 0;      // repeated draws dropped (per model)
};
// The points of the sweep, in row order: models outermost, then the grid in
// row-major axis order (or the draws of the sampling).
PointSet enumerate_points(const SweepSpec& spec);

// The point's --set overrides (the axes'; SweepSpec::fixed come first in the device).
std::vector<std::string> point_overrides(const SweepSpec& spec, const Point& p);

// Metric columns: the cost metrics, then the accuracy metrics when computed.
std::vector<std::string> metric_names(const SweepSpec& spec);

struct PointResult {
    // ok | invalid (the device rejects the values) | unmappable (the mapper
    // cannot place the model) | failed (quantization or simulation refused it)
    std::string status = "ok";
    std::string note;                            // why, for every status but ok; or a caveat
    std::vector<std::optional<double>> metrics;  // metric_names() order; nullopt: unknown
};

struct EvalOptions {
    bool reuse_mappings = true;  // one Mapping per distinct geometry (mapping_key); off: map every point
};

// Evaluates points; thread-safe (evaluate() may run on many threads at once).
class Evaluator {
public:
    explicit Evaluator(const SweepSpec& spec, EvalOptions options = {});
    ~Evaluator();
    Evaluator(const Evaluator&) = delete;
    Evaluator& operator=(const Evaluator&) = delete;

    PointResult evaluate(const Point& p) const;

    struct Stats {
        int64_t points = 0, mappings = 0, quantizations = 0;
    };
    Stats stats() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// ---- the search: ask for points, tell results ----
class Search {
public:
    virtual ~Search() = default;
    // Up to `max` point indices to evaluate next; empty when the sweep is done.
    virtual std::vector<int64_t> ask(size_t max) = 0;
    virtual void tell(int64_t index, const PointResult& result) = 0;
    // A point reported earlier (a resumed sweep): never proposed again.
    virtual void reported(const std::string& id) = 0;
};
// Proposes the enumerated points in row order.
std::unique_ptr<Search> make_list_search(const PointSet& points);

// ---- CSV ----
// id, model, <axis names>, status, <metrics>, pareto, note
std::vector<std::string> csv_columns(const SweepSpec& spec);
// One CSV line (with '\n'); `pareto` is "" while the sweep runs.
std::string csv_row(const SweepSpec& spec, const Point& p, const PointResult& r, std::string_view pareto = "");
// Splits one CSV line (RFC 4180 quoting) into fields.
std::vector<std::string> split_csv_line(std::string_view line);

// Non-dominated rows: `values[i]` holds row i's objectives, each to be minimized;
// a row with a NaN is never on the front. Equal rows are all on it.
std::vector<bool> pareto_front(const std::vector<std::vector<double>>& values);

// ---- running a sweep ----
struct RunOptions {
    std::string out;         // the CSV file
    bool resume = false;     // keep the rows already in `out`, evaluate only the others
    bool force = false;      // overwrite an existing `out`
    int threads = 0;         // OpenMP threads per rank; 0: the OpenMP default
    EvalOptions eval;
    std::function<void(int64_t done, int64_t total)> progress;  // rank 0, from one thread at a time
};

struct RunSummary {
    int64_t points = 0;       // in the sweep
    int64_t resumed = 0;      // found in the CSV
    int64_t evaluated = 0;    // evaluated by this run (all ranks)
    int64_t ok = 0;           // rows with status ok
    int64_t on_front = 0;     // rows on the Pareto front
    int64_t mappings = 0;     // mappings made by rank 0 (with reuse, one per geometry)
    double seconds = 0;
    std::vector<std::string> columns;           // the final CSV (rank 0)
    std::vector<std::vector<std::string>> rows;
};

// Thrown by run_sweep when this rank failed while the other ranks may wait for it
// in a collective: the caller reports it and ends the whole job (Comm::abort).
class RankError : public std::runtime_error {
public:
    RankError(const std::string& message, int exit_code) : std::runtime_error(message), exit_code_(exit_code) {}
    int exit_code() const { return exit_code_; }  // 2: bad input (e.g. the CSV cannot be written); 3: a bug

private:
    int exit_code_;
};

// Evaluates the points not yet in the CSV and writes each row as it finishes
// (appended and flushed; with MPI, rank 0 writes what every rank computed).
// At the end rank 0 rewrites the file in point order with the Pareto column.
// Throws InputError (on every rank) for a CSV that does not belong to this sweep.
RunSummary run_sweep(const SweepSpec& spec, const PointSet& points, const RunOptions& options, const Comm& comm);

}  // namespace cim::sweep
