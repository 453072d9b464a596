// A small SVG scatter chart (design points of a sweep, the Pareto front
// highlighted and joined), written directly so that tools need no plotting dependency.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace cim::cli {

struct ScatterPoint {
    double x = 0, y = 0;
    double y_err = 0;    // half-width of an error bar on y (0: none)
    std::string group;   // colour and legend entry
    bool front = false;  // on the Pareto front (drawn large, outlined)
};

struct ScatterOptions {
    std::string title, x_label, y_label, legend_title;
    // Directions of the plotted objectives (true: larger is better); when both are
    // given, the front points that are non-dominated in this plane are joined by a staircase.
    std::optional<bool> x_maximize, y_maximize;
    // Join each group's points in x order (when x is a swept value and each group holds
    // one point per x).
    bool join_groups = false;
};

// Axes use a log scale when every value is positive and they span more than two decades.
std::string scatter_plot_svg(const std::vector<ScatterPoint>& points, const ScatterOptions& options);

}  // namespace cim::cli
