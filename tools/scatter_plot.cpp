#include "scatter_plot.h"

#include <cim/cimsim/cost_plot.h>

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace cim::cli {

namespace {

struct Scale {
    bool log = false;
    double lo = 0, hi = 1;  // in plotted units (log10 when log)
    double to(double v) const { return log ? std::log10(v) : v; }
    std::vector<double> ticks() const {
        std::vector<double> t;
        if (log) {
            const double step = std::max(1.0, std::ceil((hi - lo) / 6));
            for (double e = std::ceil(lo); e <= hi + 1e-9; e += step) t.push_back(e);
        } else {
            const double raw = (hi - lo) / 5;
            const double mag = std::pow(10, std::floor(std::log10(raw)));
            double step = mag;
            for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
                if (raw <= m * mag) {
                    step = m * mag;
                    break;
                }
            for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) t.push_back(std::fabs(v) < 1e-12 * step ? 0 : v);
        }
        return t;
    }
    std::string label(double t) const { return log ? fmt::format("{:g}", std::pow(10, t)) : fmt::format("{:.4g}", t); }
};

Scale make_scale(const std::vector<double>& v) {
    Scale s;
    if (v.empty()) return s;
    const auto [mn, mx] = std::minmax_element(v.begin(), v.end());
    s.log = *mn > 0 && *mx / *mn > 100;
    s.lo = s.to(*mn);
    s.hi = s.to(*mx);
    if (s.hi - s.lo < 1e-12 * std::max(1.0, std::fabs(s.hi))) {
        const double pad = s.log ? 0.5 : std::max(std::fabs(s.lo) * 0.1, 1e-12);
        s.lo -= pad;
        s.hi += pad;
    } else {
        const double pad = (s.hi - s.lo) * 0.05;
        s.lo -= pad;
        s.hi += pad;
    }
    return s;
}

}  // namespace

std::string scatter_plot_svg(const std::vector<ScatterPoint>& points, const ScatterOptions& o) {
    const double W = 800, H = 480, L = 80, R = 220, T = 40, B = 60;
    std::vector<double> xs, ys;
    for (const auto& p : points) {
        xs.push_back(p.x);
        ys.push_back(p.y - p.y_err);
        ys.push_back(p.y + p.y_err);
    }
    const Scale sx = make_scale(xs), sy = make_scale(ys);
    auto px = [&](double x) { return L + (sx.to(x) - sx.lo) / (sx.hi - sx.lo) * (W - L - R); };
    auto py = [&](double y) { return H - B - (sy.to(y) - sy.lo) / (sy.hi - sy.lo) * (H - T - B); };

    std::string svg = fmt::format("<svg xmlns='http://www.w3.org/2000/svg' width='{}' height='{}' font-family='sans-serif' font-size='12'>\n", W, H);
    svg += fmt::format("<rect width='{}' height='{}' fill='white'/>\n", W, H);
    svg += fmt::format("<text x='{}' y='22' font-size='14' text-anchor='middle'>{}</text>\n", (W - R + L) / 2, svg_escape(o.title));
    for (double t : sx.ticks()) {
        const double x = L + (t - sx.lo) / (sx.hi - sx.lo) * (W - L - R);
        svg += fmt::format("<line x1='{0:.1f}' y1='{1}' x2='{0:.1f}' y2='{2}' stroke='#e4e4e4'/>\n", x, T, H - B);
        svg += fmt::format("<text x='{:.1f}' y='{}' text-anchor='middle'>{}</text>\n", x, H - B + 18, sx.label(t));
    }
    for (double t : sy.ticks()) {
        const double y = H - B - (t - sy.lo) / (sy.hi - sy.lo) * (H - T - B);
        svg += fmt::format("<line x1='{0}' y1='{1:.1f}' x2='{2}' y2='{1:.1f}' stroke='#e4e4e4'/>\n", L, y, W - R);
        svg += fmt::format("<text x='{}' y='{:.1f}' text-anchor='end'>{}</text>\n", L - 6, y + 4, sy.label(t));
    }
    svg += fmt::format("<line x1='{}' y1='{}' x2='{}' y2='{}' stroke='black'/>\n", L, H - B, W - R, H - B);
    svg += fmt::format("<line x1='{}' y1='{}' x2='{}' y2='{}' stroke='black'/>\n", L, T, L, H - B);
    svg += fmt::format("<text x='{}' y='{}' text-anchor='middle'>{}{}</text>\n", (W - R + L) / 2, H - 18, svg_escape(o.x_label),
                       sx.log ? " (log scale)" : "");
    svg += fmt::format("<text x='18' y='{0}' text-anchor='middle' transform='rotate(-90 18 {0})'>{1}{2}</text>\n", (H - B + T) / 2,
                       svg_escape(o.y_label), sy.log ? " (log scale)" : "");

    static const char* colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                                    "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939"};
    std::vector<std::string> groups;
    for (const auto& p : points)
        if (std::find(groups.begin(), groups.end(), p.group) == groups.end()) groups.push_back(p.group);
    auto colour = [&](const std::string& g) {
        return colours[size_t(std::find(groups.begin(), groups.end(), g) - groups.begin()) % (sizeof(colours) / sizeof(*colours))];
    };

    // The front in this plane: a staircase through its non-dominated points.
    if (o.x_maximize && o.y_maximize) {
        std::vector<const ScatterPoint*> f;
        for (const auto& p : points)
            if (p.front) f.push_back(&p);
        const double sxd = *o.x_maximize ? -1 : 1, syd = *o.y_maximize ? -1 : 1;
        std::sort(f.begin(), f.end(), [&](auto a, auto b) { return sxd * a->x < sxd * b->x || (a->x == b->x && syd * a->y < syd * b->y); });
        std::vector<const ScatterPoint*> stair;
        for (auto p : f)
            if (stair.empty() || syd * p->y < syd * stair.back()->y) stair.push_back(p);
        if (stair.size() > 1) {
            std::string pts;
            for (size_t i = 0; i < stair.size(); ++i) {
                if (i) pts += fmt::format("{:.1f},{:.1f} ", px(stair[i]->x), py(stair[i - 1]->y));
                pts += fmt::format("{:.1f},{:.1f} ", px(stair[i]->x), py(stair[i]->y));
            }
            svg += fmt::format("<polyline fill='none' stroke='black' stroke-width='1.5' stroke-dasharray='5,3' points='{}'/>\n", pts);
        }
    }
    if (o.join_groups) {
        std::map<std::string, std::vector<const ScatterPoint*>> by_group;
        for (const auto& p : points) by_group[p.group].push_back(&p);
        bool one_per_x = true;
        for (auto& [g, ps] : by_group) {
            std::sort(ps.begin(), ps.end(), [](auto a, auto b) { return a->x < b->x; });
            for (size_t i = 1; i < ps.size(); ++i) one_per_x = one_per_x && ps[i]->x != ps[i - 1]->x;
        }
        if (one_per_x)
            for (const auto& [g, ps] : by_group) {
                std::string pts;
                for (auto p : ps) pts += fmt::format("{:.1f},{:.1f} ", px(p->x), py(p->y));
                svg += fmt::format("<polyline fill='none' stroke='{}' stroke-width='1.5' stroke-opacity='0.7' points='{}'/>\n", colour(g), pts);
            }
    }
    for (const auto& p : points)
        if (p.y_err > 0)
            svg += fmt::format("<line x1='{0:.1f}' y1='{1:.1f}' x2='{0:.1f}' y2='{2:.1f}' stroke='{3}' stroke-opacity='0.7'/>\n", px(p.x),
                               py(p.y - p.y_err), py(p.y + p.y_err), colour(p.group));
    for (int pass = 0; pass < 2; ++pass)  // dominated points first, the front on top
        for (const auto& p : points) {
            if (p.front != (pass == 1)) continue;
            if (p.front)
                svg += fmt::format("<circle cx='{:.1f}' cy='{:.1f}' r='5' fill='{}' stroke='black' stroke-width='1.5'/>\n", px(p.x), py(p.y), colour(p.group));
            else
                svg += fmt::format("<circle cx='{:.1f}' cy='{:.1f}' r='3' fill='{}' fill-opacity='0.55'/>\n", px(p.x), py(p.y), colour(p.group));
        }

    double ly = T;
    if (!o.legend_title.empty()) {
        svg += fmt::format("<text x='{}' y='{}' font-weight='bold'>{}</text>\n", W - R + 12, ly + 10, svg_escape(o.legend_title));
        ly += 18;
    }
    for (size_t k = 0; k < groups.size() && k < 24; ++k, ly += 18)
        svg += fmt::format("<circle cx='{}' cy='{}' r='5' fill='{}'/><text x='{}' y='{}'>{}</text>\n", W - R + 18, ly + 6, colour(groups[k]),
                           W - R + 30, ly + 10, svg_escape(groups[k]));
    ly += 8;
    svg += fmt::format("<circle cx='{}' cy='{}' r='5' fill='white' stroke='black' stroke-width='1.5'/><text x='{}' y='{}'>Pareto front</text>\n",
                       W - R + 18, ly + 6, W - R + 30, ly + 10);
    svg += "</svg>\n";
    return svg;
}

}  // namespace cim::cli
