// Geometry derived from a DeviceSpec, and the enum names.
#include "cim/device/column_layout.h"
#include "cim/device/device_spec.h"
#include "cim/error.h"
#include "enum_names.h"
#include "schema.h"

#include <algorithm>

namespace cim {

ColumnLayout column_layout(WeightEncoding encoding, int64_t largest_code, int cell_bits) {
    CIM_INTERNAL_CHECK(largest_code >= 1 && cell_bits >= 1, "column layout of an empty code range or cell");
    ColumnLayout l;
    int magnitude_bits = 0;
    while (largest_code >> magnitude_bits) ++magnitude_bits;
    l.code_bits = magnitude_bits + 1;
    const int B = l.code_bits, c = cell_bits;
    switch (encoding) {
        case WeightEncoding::differential:
            l.slices = (B - 1 + c - 1) / c;
            l.columns_per_output = 2 * l.slices;
            break;
        case WeightEncoding::offset:
            l.slices = (B + c - 1) / c;
            l.columns_per_output = l.slices;
            l.reference_columns = l.slices;
            break;
        case WeightEncoding::twos_complement:
            l.slices = (B - 1 + c - 1) / c + 1;
            l.columns_per_output = l.slices;
            break;
        case WeightEncoding::native_signed:
            l.slices = 1;
            l.columns_per_output = 1;
            break;
    }
    return l;
}

int64_t largest_weight_code(const DeviceSpec& d, int bits) {
    if (d.weight.encoding == WeightEncoding::native_signed && bits == d.weight.bits) return d.weight.clip;
    return std::min<int64_t>(d.weight.clip, (int64_t(1) << (bits - 1)) - 1);
}

ColumnLayout column_layout(const DeviceSpec& d, int bits) {
    ColumnLayout l = column_layout(d.weight.encoding, largest_weight_code(d, bits), d.cell.bits);
    l.reference_on_array = d.weight.offset_reference == OffsetReference::converted;
    return l;
}

int weight_slices(const DeviceSpec& d) { return column_layout(d).slices; }

int columns_per_weight(const DeviceSpec& d) { return column_layout(d).columns_per_output; }

int adcs_per_array(const DeviceSpec& d) {
    if (d.array.adc.range == AdcRange::none) return 0;
    return d.array.cols / d.array.adc.cols_per_adc;
}

int input_cycles(const DeviceSpec& d) {
    return (d.input.bits + d.input.dac_bits - 1) / d.input.dac_bits;
}

double array_area_um2(const DeviceSpec& d) {
    double a = d.area.array_um2.value + d.array.rows * d.area.row_driver_um2.value + d.area.shift_add_um2.value +
               d.area.macro_other_um2.value;
    if (d.area.adc_um2) a += adcs_per_array(d) * d.area.adc_um2->value;
    return a;
}

double tile_area_um2(const DeviceSpec& d) {
    return d.chip.macros_per_tile * array_area_um2(d) + d.area.tile_buffer_um2.value + d.area.tile_other_um2.value;
}

std::string estimate_formula(const CostEstimate& e) {
    if (!e.anchor_value) return std::string(e.formula);
    return "anchor x model / model(anchor); model: " + std::string(e.formula);
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
std::string_view to_string(OffsetReference v) { return name_in(device_detail::kOffsetReferenceNames, v); }
std::string_view to_string(InputMode v) { return name_in(device_detail::kInputModeNames, v); }
std::string_view to_string(SignedInputHandling v) {
    return name_in(device_detail::kSignedInputHandlingNames, v);
}
std::string_view to_string(AdcRange v) { return name_in(device_detail::kAdcRangeNames, v); }
bool adc_range_calibrated(AdcRange v) {
    switch (v) {
        case AdcRange::none:
        case AdcRange::full_scale:
            return false;
        case AdcRange::calibrated_layer:
        case AdcRange::calibrated_array:
        case AdcRange::calibrated_column:
        case AdcRange::calibrated_slice:
            return true;
    }
    return false;
}
std::string_view to_string(NoiseMode v) { return name_in(device_detail::kNoiseModeNames, v); }
std::string_view to_string(CalibrationMethod v) { return name_in(device_detail::kCalibrationMethodNames, v); }
std::string_view to_string(WeightMode v) { return name_in(device_detail::kWeightModeNames, v); }

}  // namespace cim
