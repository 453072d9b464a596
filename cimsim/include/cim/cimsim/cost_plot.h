// SVG drawings of the cost model's breakdowns (cim-map --plot FILE.svg).
#pragma once

#include <cim/cimsim/cost_model.h>

#include <string>

namespace cim {

// Energy and busy time per component, and per layer (energy stacked by
// component, latency coloured by the component that bounds it).
std::string cost_breakdown_svg(const CostReport& r, const Mapping& m, const DeviceSpec& d);

// Peak power and area of one chip per component (cim-map --describe --plot).
std::string peak_breakdown_svg(const PeakFigures& p, const DeviceSpec& d);

}  // namespace cim
