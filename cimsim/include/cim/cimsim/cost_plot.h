// SVG drawings of the cost model's breakdowns (cim-map --plot FILE.svg).
#pragma once

#include <cim/cimsim/cost_model.h>

#include <string>
#include <string_view>
#include <vector>

namespace cim {

// Energy and busy time per component, and per layer (energy stacked by
// component, latency coloured by the component that bounds it).
std::string cost_breakdown_svg(const CostReport& r, const Mapping& m, const DeviceSpec& d);

// Peak power and area of one chip per component (cim-map --describe --plot).
std::string peak_breakdown_svg(const PeakFigures& p, const DeviceSpec& d);

// One device of a side-by-side comparison (cim-map --device A --device B --plot).
struct ComparedDevice {
    std::string name;
    const CostReport* report = nullptr;
};
// Latency, energy per inference, throughput, TOPS/W, TOPS/mm^2 and area, a bar per device.
std::string comparison_svg(const std::string& model, const std::vector<ComparedDevice>& devices);
// The colour of the i-th device in comparisons and sweeps.
const char* device_colour(std::size_t i);

// Text made safe for SVG/XML (& < > ' "); shared by every plot the tools draw.
std::string svg_escape(std::string_view s);
// A value with an SI prefix and three significant digits: 1.23 mJ, 4.56 us.
std::string format_si(double x, const char* unit);

}  // namespace cim
