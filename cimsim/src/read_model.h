// The non-idealities of the read model as named parts (internal to cim_sim). Each part is one physical
// effect in one file of cimsim/src/nonideal/, with the device fields it reads; the table in
// read_model.cpp lists them in the order they act. Adding one is a file, its line in that table and its
// schema entry (device/). The crossbar plan (crossbar.cpp) asks the active parts for what they contribute:
//   - the cells' nominal conductance: the OFF leak g_off, the drift scale (exact paths fold both
//     analytically: drift x (g_off x P + sum));
//   - per-cell draws when an instance is programmed (stuck cells, programming variation), which end the
//     cells' exactness in integers and are drawn in the table's order from the instance's stream;
//   - the read's conversion: IR drop, read noise, ADC noise and offset (fused into convert_plane).
#pragma once

#include <cim/device/device_spec.h>

#include "read_kernels.h"

#include <string_view>
#include <vector>

namespace cim::sim::detail {

// One cell as programmed: digit units (docs/simulator.md), g_on = dmax + g_off.
struct CellLevels {
    double dmax = 1, g_off = 0, g_on = 1;
};

// What the active parts contribute to one layer's plan.
struct ReadModel {
    double g_off = 0;  // the OFF leak, digit units
    double drift = 1;  // conductance scale at read time
    double ir_drop = 0, read_sigma = 0, adc_sigma_lsb = 0, adc_offset_lsb = 0;
    std::vector<const class NonIdeality*> cell_draws;  // parts drawing per cell, in draw order
    bool off_grid = false;  // some draw moves conductances off the digit levels (no exact sums to keep)
};

class NonIdeality {
public:
    virtual ~NonIdeality() = default;
    virtual std::string_view name() const = 0;
    virtual std::string_view fields() const = 0;  // the device fields it reads
    virtual bool active(const DeviceSpec& d) const = 0;
    // Adds its contribution (called for active parts, in table order; dmax is the cell's largest digit).
    virtual void contribute(const DeviceSpec& d, double dmax, ReadModel& model) const = 0;
    // A programming-time draw for one cell of conductance g (parts in ReadModel::cell_draws only).
    virtual double draw(const DeviceSpec& d, const CellLevels& levels, double g, GaussStream& rng) const;
};

// A part that is one figure of the device's noise section copied into the read model: active when
// non-zero (IR drop, read noise, ADC noise and offset; their effect is convert_plane's).
class NoiseFigure final : public NonIdeality {
public:
    NoiseFigure(std::string_view name, std::string_view field, double NoiseSpec::*figure, double ReadModel::*into)
        : name_(name), field_(field), figure_(figure), into_(into) {}
    std::string_view name() const override { return name_; }
    std::string_view fields() const override { return field_; }
    bool active(const DeviceSpec& d) const override { return d.noise.*figure_ != 0; }
    void contribute(const DeviceSpec& d, double, ReadModel& m) const override { m.*into_ = d.noise.*figure_; }

private:
    std::string_view name_, field_;
    double NoiseSpec::*figure_;
    double ReadModel::*into_;
};

// Every part, in the order they act.
const std::vector<const NonIdeality*>& nonidealities();
// The active parts' contributions for a device whose cells hold digits up to dmax.
ReadModel read_model(const DeviceSpec& d, double dmax);

}  // namespace cim::sim::detail
