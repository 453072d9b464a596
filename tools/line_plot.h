// A small SVG line chart (accuracy against a swept parameter, with error bars),
// written directly so that tools need no plotting dependency.
#pragma once

#include <string>
#include <vector>

namespace cim::cli {

struct Series {
    std::string label;
    std::vector<double> x, y, err;  // err: half-width of the error bar (0: none)
};

std::string line_plot_svg(const std::string& title, const std::string& x_label, const std::string& y_label,
                          const std::vector<Series>& series);

}  // namespace cim::cli
