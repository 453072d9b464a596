#include "line_plot.h"

#include <cim/cimsim/cost_plot.h>

#include <fmt/core.h>

#include <algorithm>
#include <cmath>

namespace cim::cli {

std::string line_plot_svg(const std::string& title, const std::string& x_label, const std::string& y_label,
                          const std::vector<Series>& series) {
    const double W = 720, H = 440, L = 70, R = 170, T = 40, B = 60;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (const auto& s : series)
        for (size_t i = 0; i < s.x.size(); ++i) {
            x0 = std::min(x0, s.x[i]);
            x1 = std::max(x1, s.x[i]);
            const double e = i < s.err.size() ? s.err[i] : 0;
            y0 = std::min(y0, s.y[i] - e);
            y1 = std::max(y1, s.y[i] + e);
        }
    if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
    if (x1 == x0) x1 = x0 + 1;
    const double pad = std::max(0.02, (y1 - y0) * 0.08);
    y0 = std::max(0.0, y0 - pad);
    y1 = std::min(1.0, y1 + pad);
    if (y1 <= y0) y1 = y0 + 0.05;
    auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
    auto py = [&](double y) { return H - B - (y - y0) / (y1 - y0) * (H - T - B); };
    std::string svg = fmt::format("<svg xmlns='http://www.w3.org/2000/svg' width='{}' height='{}' font-family='sans-serif' font-size='12'>\n", W, H);
    svg += fmt::format("<rect width='{}' height='{}' fill='white'/>\n", W, H);
    svg += fmt::format("<text x='{}' y='22' font-size='14' text-anchor='middle'>{}</text>\n", (W - R + L) / 2, svg_escape(title));
    svg += fmt::format("<line x1='{}' y1='{}' x2='{}' y2='{}' stroke='black'/>\n", L, H - B, W - R, H - B);
    svg += fmt::format("<line x1='{}' y1='{}' x2='{}' y2='{}' stroke='black'/>\n", L, T, L, H - B);
    for (int i = 0; i <= 5; ++i) {
        const double yv = y0 + (y1 - y0) * i / 5, xv = x0 + (x1 - x0) * i / 5;
        svg += fmt::format("<line x1='{}' y1='{:.1f}' x2='{}' y2='{:.1f}' stroke='#ddd'/>\n", L, py(yv), W - R, py(yv));
        svg += fmt::format("<text x='{}' y='{:.1f}' text-anchor='end'>{:.1f}%</text>\n", L - 6, py(yv) + 4, 100 * yv);
        svg += fmt::format("<text x='{:.1f}' y='{}' text-anchor='middle'>{:.4g}</text>\n", px(xv), H - B + 18, xv);
    }
    svg += fmt::format("<text x='{}' y='{}' text-anchor='middle'>{}</text>\n", (W - R + L) / 2, H - 18, svg_escape(x_label));
    svg += fmt::format("<text x='18' y='{}' text-anchor='middle' transform='rotate(-90 18 {})'>{}</text>\n", (H - B + T) / 2,
                       (H - B + T) / 2, svg_escape(y_label));
    static const char* colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};
    for (size_t k = 0; k < series.size(); ++k) {
        const auto& s = series[k];
        const char* c = colours[k % 8];
        std::string pts;
        for (size_t i = 0; i < s.x.size(); ++i) pts += fmt::format("{:.1f},{:.1f} ", px(s.x[i]), py(s.y[i]));
        svg += fmt::format("<polyline fill='none' stroke='{}' stroke-width='2' points='{}'/>\n", c, pts);
        for (size_t i = 0; i < s.x.size(); ++i) {
            const double e = i < s.err.size() ? s.err[i] : 0;
            if (e > 0)
                svg += fmt::format("<line x1='{0:.1f}' y1='{1:.1f}' x2='{0:.1f}' y2='{2:.1f}' stroke='{3}'/>\n", px(s.x[i]), py(s.y[i] - e),
                                   py(s.y[i] + e), c);
            svg += fmt::format("<circle cx='{:.1f}' cy='{:.1f}' r='3' fill='{}'/>\n", px(s.x[i]), py(s.y[i]), c);
        }
        svg += fmt::format("<rect x='{}' y='{}' width='12' height='12' fill='{}'/><text x='{}' y='{}'>{}</text>\n", W - R + 12,
                           T + 18 * double(k), c, W - R + 30, T + 18 * double(k) + 10, svg_escape(s.label));
    }
    svg += "</svg>\n";
    return svg;
}

}  // namespace cim::cli
