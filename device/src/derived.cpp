// Geometry derived from a DeviceSpec, and the enum names.
#include "cim/device/column_layout.h"
#include "cim/device/device_spec.h"
#include "cim/error.h"
#include "enum_names.h"
#include "schema.h"

#include <algorithm>

namespace cim {

// Encodings whose columns hold -2^(B-1) at B bits: two's-complement sign columns and offset digits.
static bool holds_most_negative(WeightEncoding e) { return e == WeightEncoding::twos_complement || e == WeightEncoding::offset; }

ColumnLayout column_layout(WeightEncoding encoding, int64_t largest_code, int cell_bits) {
    return column_layout(encoding, -largest_code, largest_code, cell_bits);
}

ColumnLayout column_layout(WeightEncoding encoding, int64_t code_min, int64_t code_max, int cell_bits) {
    CIM_INTERNAL_CHECK(code_min <= -1 && code_max >= 1 && cell_bits >= 1, "column layout of an empty code range or cell");
    ColumnLayout l;
    int magnitude_bits = 0;
    if (holds_most_negative(encoding)) {  // the smallest B with -2^(B-1) <= code_min and code_max <= 2^(B-1) - 1, less the sign
        while (-code_min > (int64_t(1) << magnitude_bits) || code_max > (int64_t(1) << magnitude_bits) - 1) ++magnitude_bits;
    } else {
        const int64_t largest = std::max(-code_min, code_max);
        while (largest >> magnitude_bits) ++magnitude_bits;
    }
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

int64_t smallest_weight_code(const DeviceSpec& d, int bits) {
    const int64_t largest = largest_weight_code(d, bits);
    return holds_most_negative(d.weight.encoding) && largest == (int64_t(1) << (bits - 1)) - 1 ? -largest - 1 : -largest;
}

int weight_bits_holding(const DeviceSpec& d, int64_t code_min, int64_t code_max) {
    for (int bits = 2; bits <= 16; ++bits) {
        int64_t lo, hi;
        if (bits == d.weight.bits) {
            lo = smallest_weight_code(d, bits);
            hi = largest_weight_code(d, bits);
        } else {
            hi = (int64_t(1) << (bits - 1)) - 1;
            lo = holds_most_negative(d.weight.encoding) ? -hi - 1 : -hi;
        }
        if (code_min >= lo && code_max <= hi) return bits;
    }
    return 0;
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

double readings_per_column(const DeviceSpec& d) {
    const bool analog_pairs =
        d.weight.encoding == WeightEncoding::differential && d.weight.differential_readout == DifferentialReadout::analog;
    return analog_pairs ? 0.5 : 1.0;
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

std::vector<DeviceField> device_fields(const DeviceSpec& d) {
    std::vector<DeviceField> out;
    for (const auto& k : device_detail::device_schema().keys())
        if (k.kinds & device_detail::kind_bit(d.kind)) out.push_back({k.path, k.unit, k.read(d)});
    return out;
}

std::vector<NamedCost> list_costs(const DeviceSpec& d) {
    std::vector<NamedCost> out;
    for (const auto& k : device_detail::device_schema().keys())
        if (k.kind == device_detail::ValueKind::cost && (k.kinds & device_detail::kind_bit(d.kind)))
            out.push_back({k.path, k.unit, k.read_cost(d)});
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
std::string_view to_string(DeviceKind v) { return name_in(device_detail::kDeviceKindNames, v); }
std::string_view to_string(Dataflow v) { return name_in(device_detail::kDataflowNames, v); }
std::string_view to_string(OffsetReference v) { return name_in(device_detail::kOffsetReferenceNames, v); }
std::string_view to_string(LeakReference v) { return name_in(device_detail::kLeakReferenceNames, v); }
std::string_view to_string(DifferentialReadout v) { return name_in(device_detail::kDifferentialReadoutNames, v); }
std::string_view to_string(InputMode v) { return name_in(device_detail::kInputModeNames, v); }
std::string_view to_string(SignedInputHandling v) {
    return name_in(device_detail::kSignedInputHandlingNames, v);
}
std::string_view to_string(AdcRange v) { return name_in(device_detail::kAdcRangeNames, v); }
bool adc_range_calibrated(AdcRange v) {
    switch (v) {
        case AdcRange::none:
        case AdcRange::full_scale:
        case AdcRange::oracle:
            return false;
        case AdcRange::calibrated_layer:
        case AdcRange::calibrated_array:
        case AdcRange::calibrated_column:
        case AdcRange::calibrated_slice:
        case AdcRange::calibrated_plane:
        case AdcRange::calibrated_slice_plane:
            return true;
    }
    return false;
}
std::string_view to_string(NoiseMode v) { return name_in(device_detail::kNoiseModeNames, v); }
std::string_view to_string(CalibrationMethod v) { return name_in(device_detail::kCalibrationMethodNames, v); }
std::string_view to_string(WeightMode v) { return name_in(device_detail::kWeightModeNames, v); }

}  // namespace cim
