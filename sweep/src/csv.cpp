// CSV rows of a sweep and the Pareto front.
#include "internal.h"

#include <cim/csv.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace cim::sweep {

std::vector<std::string> csv_columns(const SweepSpec& spec) {
    std::vector<std::string> c = {"id", "model"};
    for (const auto& a : spec.axes) c.push_back(a.name);
    c.push_back("status");
    for (const auto& m : metric_names(spec)) c.push_back(m);
    c.push_back("pareto");
    c.push_back("note");
    return c;
}

std::string csv_row(const SweepSpec& spec, const Point& p, const PointResult& r, std::string_view pareto) {
    std::string line;
    line.reserve(256);
    line += p.id;
    line += ',';
    append_csv_field(line, spec.models[size_t(p.model)].name);
    for (size_t k = 0; k < spec.axes.size(); ++k) {
        line += ',';
        append_csv_field(line, spec.axes[k].values[size_t(p.value[k])]);
    }
    line += ',';
    line += r.status;
    for (const auto& v : r.metrics) {
        line += ',';
        if (v) line += detail::format_number(*v);
    }
    line += ',';
    line += pareto;
    line += ',';
    append_csv_field(line, r.note);
    line += '\n';
    return line;
}

std::vector<std::string> split_csv_line(std::string_view line) {
    std::vector<std::string> out;
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string f;
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted) {
            if (c == '"') {
                if (i + 1 < line.size() && line[i + 1] == '"') {
                    f += '"';
                    ++i;
                } else {
                    quoted = false;
                }
            } else {
                f += c;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            out.push_back(std::move(f));
            f.clear();
        } else {
            f += c;
        }
    }
    out.push_back(std::move(f));
    return out;
}

std::vector<bool> pareto_front(const std::vector<std::vector<double>>& values) {
    const size_t n = values.size();
    std::vector<bool> front(n, false);
    std::vector<size_t> order;
    for (size_t i = 0; i < n; ++i) {
        bool ok = !values[i].empty();
        for (double v : values[i]) ok = ok && !std::isnan(v);
        if (ok) order.push_back(i);
    }
    // Lexicographic order: a row can only be dominated by rows before it.
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
    std::vector<size_t> kept;
    for (size_t i : order) {
        const auto& v = values[i];
        bool dominated = false;
        for (size_t j : kept) {
            const auto& w = values[j];
            bool le = true, lt = false;
            for (size_t k = 0; k < v.size() && le; ++k) {
                le = w[k] <= v[k];
                lt = lt || w[k] < v[k];
            }
            if (le && lt) {
                dominated = true;
                break;
            }
        }
        if (!dominated) {
            kept.push_back(i);
            front[i] = true;
        }
    }
    return front;
}

}  // namespace cim::sweep
