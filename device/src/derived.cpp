// Geometry derived from a DeviceSpec, and the enum names.
#include "cim/device/device_spec.h"
#include "cim/error.h"
#include "enum_names.h"
#include "schema.h"

namespace cim {

int weight_slices(const DeviceSpec& d) {
    // Magnitude bits a cell group must hold: differential stores |W| on each
    // side, offset and two's complement store all `bits`, a native signed cell
    // stores the code itself.
    int bits = 0;
    switch (d.weight.encoding) {
        case WeightEncoding::differential: bits = d.weight.bits - 1; break;
        case WeightEncoding::offset: bits = d.weight.bits; break;
        case WeightEncoding::twos_complement: bits = d.weight.bits; break;
        case WeightEncoding::native_signed: return 1;
    }
    return (bits + d.cell.bits - 1) / d.cell.bits;
}

int columns_per_weight(const DeviceSpec& d) {
    const int slices = weight_slices(d);
    return d.weight.encoding == WeightEncoding::differential ? 2 * slices : slices;
}

int adcs_per_array(const DeviceSpec& d) {
    if (d.array.adc.range == AdcRange::none) return 0;
    return d.array.cols / d.array.adc.cols_per_adc;
}

int input_cycles(const DeviceSpec& d) {
    return (d.input.bits + d.input.dac_bits - 1) / d.input.dac_bits;
}

std::vector<NamedCost> list_costs(const DeviceSpec& d) {
    std::vector<NamedCost> out;
    for (const auto& k : device_detail::device_schema().keys())
        if (k.kind == device_detail::ValueKind::cost) out.push_back({k.path, k.unit, k.read_cost(d)});
    return out;
}

namespace {
template <class Table, class E>
std::string_view name_in(const Table& table, E v) {
    const auto i = static_cast<std::size_t>(v);
    CIM_INTERNAL_CHECK(i < table.size(), "enum value without a name");
    return table[i].second;
}
}  // namespace

std::string_view to_string(Technology v) { return name_in(device_detail::kTechnologyNames, v); }
std::string_view to_string(WeightEncoding v) { return name_in(device_detail::kWeightEncodingNames, v); }
std::string_view to_string(InputMode v) { return name_in(device_detail::kInputModeNames, v); }
std::string_view to_string(SignedInputHandling v) {
    return name_in(device_detail::kSignedInputHandlingNames, v);
}
std::string_view to_string(AdcRange v) { return name_in(device_detail::kAdcRangeNames, v); }
std::string_view to_string(NoiseMode v) { return name_in(device_detail::kNoiseModeNames, v); }
std::string_view to_string(CalibrationMethod v) { return name_in(device_detail::kCalibrationMethodNames, v); }
std::string_view to_string(WeightMode v) { return name_in(device_detail::kWeightModeNames, v); }

}  // namespace cim
