// The space of a sweep: grid, random and Latin-hypercube proposals, constraints,
// stable point IDs, and the list search that walks them.
#include "internal.h"

#include <cim/error.h>
#include <cim/memory_budget.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_set>

namespace cim::sweep {

namespace {

// SplitMix64: a portable generator, so that a seed draws the same points everywhere.
struct Rng {
    uint64_t s;
    uint64_t next() {
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    double uniform() { return double(next() >> 11) * 0x1.0p-53; }
    uint64_t below(uint64_t n) { return uint64_t(uniform() * double(n)) % n; }
};

// Settings that change every result: part of every ID, so that a CSV written
// with other settings is never taken for this sweep's.
std::string settings_fingerprint(const SweepSpec& s) {
    std::string f = "cim-sweep/1\n" + s.device + "\n";
    for (const auto& x : s.fixed) f += "set " + x + "\n";
    f += fmt::format("batch {}\n", s.batch);
    if (s.accuracy)
        f += fmt::format("accuracy images {} instances {} seed {} calibration {} dataset {}\n", s.accuracy->images,
                         s.accuracy->instances, s.accuracy->seed, s.accuracy->calibration, s.accuracy->dataset_dir);
    return f;
}

bool satisfies(const SweepSpec& spec, int model, const std::vector<int>& value) {
    if (!spec.constraints) return true;
    for (const auto& c : spec.constraints->list) {
        std::vector<detail::Value> vars;
        vars.reserve(c.bindings.size());
        for (const auto& b : c.bindings) {
            switch (b.kind) {
                case Constraints::Binding::axis: {
                    const Axis& a = spec.axes[size_t(b.axis_index)];
                    const size_t v = size_t(value[size_t(b.axis_index)]);
                    vars.push_back(detail::Value::of(b.path_index < 0 ? a.values[v] : a.text(v, size_t(b.path_index))));
                    break;
                }
                case Constraints::Binding::model: {
                    detail::Value v;
                    v.is_text = true;
                    v.text = spec.models[size_t(model)].name;
                    vars.push_back(v);
                    break;
                }
                case Constraints::Binding::constant: vars.push_back(b.value); break;
            }
        }
        try {
            if (!detail::Expr::truthy(c.expr.eval(vars))) return false;
        } catch (const detail::ExprError& e) {
            std::string point;
            for (size_t k = 0; k < spec.axes.size(); ++k)
                point += (point.empty() ? "" : ", ") + spec.axes[k].name + "=" + spec.axes[k].values[size_t(value[k])];
            throw InputError(fmt::format("{}:{}:{}: constraints: '{}': {} (at the point {})", spec.file, c.line, c.col, c.text,
                                         e.message, point));
        }
    }
    return true;
}

}  // namespace

std::vector<std::string> point_overrides(const SweepSpec& spec, const Point& p) {
    std::vector<std::string> sets;
    for (size_t k = 0; k < spec.axes.size(); ++k)
        for (size_t i = 0; i < spec.axes[k].paths.size() && int(k) != spec.device_axis; ++i)
            sets.push_back(spec.axes[k].paths[i] + "=" + spec.axes[k].text(size_t(p.value[k]), i));
    return sets;
}

PointSet enumerate_points(const SweepSpec& spec) {
    PointSet out;
    const size_t A = spec.axes.size();
    // The grid's size, saturating.
    double grid = 1;
    for (const auto& a : spec.axes) grid *= double(a.values.size());

    // The space is bounded before anything is allocated: the proposals (the grid, or the draws, of
    // which random sampling makes at most `max_draws`) times the models, and the memory they take.
    const double models = double(std::max<size_t>(spec.models.size(), 1));
    if (spec.sampling == Sampling::grid && grid * models > double(kMaxPoints))
        throw InputError(fmt::format("{}: the grid has {:.3g} points ({} model(s) x {:.3g} device points), more than {}; "
                                     "use sampling: random or latin_hypercube with a count, or fewer values",
                                     spec.file, grid * models, spec.models.size(), grid, kMaxPoints));
    if (spec.sampling != Sampling::grid && double(spec.count) * models > double(kMaxPoints))
        throw InputError(fmt::format("{}: sampling.count {} x {} model(s) is more than {} points; draw fewer", spec.file, spec.count,
                                     spec.models.size(), kMaxPoints));
    const int64_t max_draws = std::min<int64_t>(spec.count * 100 + 10000, kMaxPoints);
    {
        const double configs = spec.sampling == Sampling::grid     ? grid
                               : spec.sampling == Sampling::random ? std::min(grid, double(max_draws))
                                                                   : double(spec.count);
        const double points = std::min(configs, spec.sampling == Sampling::grid ? grid : double(spec.count)) * models;
        const double per_config = double(sizeof(std::vector<int>) + sizeof(int) * A);
        const double per_point = double(sizeof(Point)) + per_config + 64;  // + the ID's text and its set entry
        const double strata = spec.sampling == Sampling::latin_hypercube ? double(A) * double(spec.count) * sizeof(int64_t) : 0;
        check_memory(int64_t(configs * per_config + points * per_point + strata),
                     fmt::format("{}: the sweep's {:.3g} points ({} axes)", spec.file, points, A));
    }

    // Device configurations (value indices), in proposal order; the same for every model.
    std::vector<std::vector<int>> configs;
    switch (spec.sampling) {
        case Sampling::grid: {
            std::vector<int> v(A, 0);
            for (bool more = true; more;) {
                configs.push_back(v);
                more = false;
                for (size_t k = A; k-- > 0;) {  // the last axis varies fastest
                    if (++v[k] < int(spec.axes[k].values.size())) {
                        more = true;
                        break;
                    }
                    v[k] = 0;
                }
            }
            break;
        }
        case Sampling::random: {
            // Draws without repeats until `count` configurations pass the constraints
            // (for the first model), or the grid is exhausted.
            Rng rng{spec.seed};
            std::unordered_set<std::string> seen;
            int64_t accepted = 0, attempts = 0;
            while (accepted < spec.count && double(seen.size()) < grid && attempts < max_draws) {
                ++attempts;
                std::vector<int> v(A);
                std::string key;
                for (size_t k = 0; k < A; ++k) {
                    v[k] = int(rng.below(spec.axes[k].values.size()));
                    key += std::to_string(v[k]) + ",";
                }
                if (!seen.insert(key).second) continue;
                configs.push_back(v);
                if (satisfies(spec, 0, v)) ++accepted;
            }
            break;
        }
        case Sampling::latin_hypercube: {
            // n strata per axis, a random permutation of them per axis; the level of a
            // stratum is where a uniform draw inside it falls among the axis's values.
            Rng rng{spec.seed};
            const int64_t n = spec.count;
            std::vector<std::vector<int64_t>> perm(A);
            for (size_t k = 0; k < A; ++k) {
                perm[k].resize(size_t(n));
                std::iota(perm[k].begin(), perm[k].end(), 0);
                for (int64_t i = n - 1; i > 0; --i) std::swap(perm[k][size_t(i)], perm[k][rng.below(uint64_t(i + 1))]);
            }
            for (int64_t i = 0; i < n; ++i) {
                std::vector<int> v(A);
                for (size_t k = 0; k < A; ++k) {
                    const double u = (double(perm[k][size_t(i)]) + rng.uniform()) / double(n);
                    v[k] = std::min(int(spec.axes[k].values.size()) - 1, int(u * double(spec.axes[k].values.size())));
                }
                configs.push_back(v);
            }
            break;
        }
    }

    const std::string fingerprint = settings_fingerprint(spec);
    const uint64_t base_hash = detail::fnv1a(fingerprint);
    // Each axis value's line of the ID text, made once.
    std::vector<std::vector<std::string>> id_lines(A);
    for (size_t k = 0; k < A; ++k) {
        const Axis& a = spec.axes[k];
        for (size_t v = 0; v < a.values.size(); ++v) {
            std::string t = a.name + "=" + a.values[v];
            if (!a.zipped.empty())
                for (size_t i = 0; i < a.paths.size(); ++i) t += (i ? "," : " (") + a.paths[i] + "=" + a.text(v, i);
            id_lines[k].push_back(t + (a.zipped.empty() ? "\n" : ")\n"));
        }
    }
    std::unordered_set<std::string> ids;
    for (size_t m = 0; m < spec.models.size(); ++m) {
        int64_t accepted = 0;
        for (const auto& v : configs) {
            if (m == 0) ++out.candidates;
            if (!satisfies(spec, int(m), v)) {
                if (m == 0) ++out.excluded;
                continue;
            }
            if (spec.sampling == Sampling::random && accepted >= spec.count) break;
            uint64_t h = detail::fnv1a("model=" + spec.models[m].name + "\n", base_hash);
            for (size_t k = 0; k < A; ++k) h = detail::fnv1a(id_lines[k][size_t(v[k])], h);
            Point p;
            p.model = int(m);
            p.value = v;
            p.id = fmt::format("{:016x}", h);
            if (!ids.insert(p.id).second) {
                if (m == 0) ++out.duplicates;
                continue;
            }
            ++accepted;
            p.index = int64_t(out.points.size());
            out.points.push_back(std::move(p));
        }
    }
    return out;
}

namespace {

class ListSearch : public Search {
public:
    explicit ListSearch(const PointSet& ps) : points_(ps) {}
    std::vector<int64_t> ask(size_t max) override {
        std::vector<int64_t> out;
        while (next_ < points_.points.size() && out.size() < max) {
            const Point& p = points_.points[next_++];
            if (!done_.count(p.id)) out.push_back(p.index);
        }
        return out;
    }
    void tell(int64_t index, const PointResult&) override { done_.insert(points_.points[size_t(index)].id); }
    void reported(const std::string& id) override { done_.insert(id); }

private:
    const PointSet& points_;
    size_t next_ = 0;
    std::unordered_set<std::string> done_;
};

}  // namespace

std::unique_ptr<Search> make_list_search(const PointSet& points) { return std::make_unique<ListSearch>(points); }

}  // namespace cim::sweep
