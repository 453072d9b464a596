// Name tables of the DeviceSpec enums: the YAML spelling of every value.
// Each table lists the values in declaration order; the static_asserts below
// make a new enumerator without a name a compile error.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cim/device/device_spec.h"

namespace cim::device_detail {

template <class E>
using NameTable = std::pair<E, std::string_view>;

inline constexpr std::array kTechnologyNames{
    NameTable<Technology>{Technology::sram_analog, "sram_analog"},
    NameTable<Technology>{Technology::sram_digital, "sram_digital"},
    NameTable<Technology>{Technology::mram, "mram"},
    NameTable<Technology>{Technology::nor_flash, "nor_flash"},
    NameTable<Technology>{Technology::rram, "rram"},
    NameTable<Technology>{Technology::pcm, "pcm"},
    NameTable<Technology>{Technology::fefet, "fefet"},
};
inline constexpr std::array kDeviceKindNames{
    NameTable<DeviceKind>{DeviceKind::cim, "cim"},
    NameTable<DeviceKind>{DeviceKind::digital_npu, "digital_npu"},
    NameTable<DeviceKind>{DeviceKind::fpga_dsp, "fpga_dsp"},
};
inline constexpr std::array kDataflowNames{
    NameTable<Dataflow>{Dataflow::systolic, "systolic"},
    NameTable<Dataflow>{Dataflow::adder_tree, "adder_tree"},
};
inline constexpr std::array kDigitalArithmeticNames{
    NameTable<DigitalArithmetic>{DigitalArithmetic::float_, "float"},
    NameTable<DigitalArithmetic>{DigitalArithmetic::integer, "integer"},
};
inline constexpr std::array kDigitalFunctionNames{
    NameTable<DigitalFunction>{DigitalFunction::lut, "lut"},
    NameTable<DigitalFunction>{DigitalFunction::fixed_point, "fixed_point"},
};
inline constexpr std::array kWeightEncodingNames{
    NameTable<WeightEncoding>{WeightEncoding::differential, "differential"},
    NameTable<WeightEncoding>{WeightEncoding::offset, "offset"},
    NameTable<WeightEncoding>{WeightEncoding::twos_complement, "twos_complement"},
    NameTable<WeightEncoding>{WeightEncoding::native_signed, "native_signed"},
};
inline constexpr std::array kOffsetReferenceNames{
    NameTable<OffsetReference>{OffsetReference::converted, "converted"},
    NameTable<OffsetReference>{OffsetReference::digital, "digital"},
};
inline constexpr std::array kLeakReferenceNames{
    NameTable<LeakReference>{LeakReference::none, "none"},
    NameTable<LeakReference>{LeakReference::digital, "digital"},
};
inline constexpr std::array kDifferentialReadoutNames{
    NameTable<DifferentialReadout>{DifferentialReadout::digital, "digital"},
    NameTable<DifferentialReadout>{DifferentialReadout::analog, "analog"},
};
inline constexpr std::array kInputModeNames{
    NameTable<InputMode>{InputMode::bit_serial, "bit_serial"},
    NameTable<InputMode>{InputMode::multi_bit, "multi_bit"},
};
inline constexpr std::array kSignedInputHandlingNames{
    NameTable<SignedInputHandling>{SignedInputHandling::unsigned_only, "unsigned_only"},
    NameTable<SignedInputHandling>{SignedInputHandling::offset, "offset"},
    NameTable<SignedInputHandling>{SignedInputHandling::pos_neg_split, "pos_neg_split"},
    NameTable<SignedInputHandling>{SignedInputHandling::twos_complement, "twos_complement"},
    NameTable<SignedInputHandling>{SignedInputHandling::bipolar, "bipolar"},
};
inline constexpr std::array kAdcRangeNames{
    NameTable<AdcRange>{AdcRange::none, "none"},
    NameTable<AdcRange>{AdcRange::full_scale, "full_scale"},
    NameTable<AdcRange>{AdcRange::calibrated_layer, "calibrated_layer"},
    NameTable<AdcRange>{AdcRange::calibrated_array, "calibrated_array"},
    NameTable<AdcRange>{AdcRange::calibrated_column, "calibrated_column"},
    NameTable<AdcRange>{AdcRange::calibrated_slice, "calibrated_slice"},
    NameTable<AdcRange>{AdcRange::calibrated_plane, "calibrated_plane"},
    NameTable<AdcRange>{AdcRange::calibrated_slice_plane, "calibrated_slice_plane"},
    NameTable<AdcRange>{AdcRange::oracle, "oracle"},
};
inline constexpr std::array kNoiseModeNames{
    NameTable<NoiseMode>{NoiseMode::relative, "relative"},
    NameTable<NoiseMode>{NoiseMode::absolute, "absolute"},
};
inline constexpr std::array kCalibrationMethodNames{
    NameTable<CalibrationMethod>{CalibrationMethod::minmax, "minmax"},
    NameTable<CalibrationMethod>{CalibrationMethod::percentile, "percentile"},
    NameTable<CalibrationMethod>{CalibrationMethod::mse, "mse"},
    NameTable<CalibrationMethod>{CalibrationMethod::kl, "kl"},
};
inline constexpr std::array kWeightModeNames{
    NameTable<WeightMode>{WeightMode::uniform, "uniform"},
    NameTable<WeightMode>{WeightMode::binary, "binary"},
    NameTable<WeightMode>{WeightMode::ternary, "ternary"},
};

template <class Table>
constexpr bool in_declaration_order(const Table& table) {
    for (std::size_t i = 0; i < table.size(); ++i)
        if (static_cast<std::size_t>(table[i].first) != i) return false;
    return true;
}
static_assert(in_declaration_order(kTechnologyNames) &&
              kTechnologyNames.size() == std::size_t(Technology::fefet) + 1);
static_assert(in_declaration_order(kDeviceKindNames) &&
              kDeviceKindNames.size() == std::size_t(DeviceKind::fpga_dsp) + 1);
static_assert(in_declaration_order(kDataflowNames) &&
              kDataflowNames.size() == std::size_t(Dataflow::adder_tree) + 1);
static_assert(in_declaration_order(kDigitalArithmeticNames) &&
              kDigitalArithmeticNames.size() == std::size_t(DigitalArithmetic::integer) + 1);
static_assert(in_declaration_order(kDigitalFunctionNames) &&
              kDigitalFunctionNames.size() == std::size_t(DigitalFunction::fixed_point) + 1);
static_assert(in_declaration_order(kWeightEncodingNames) &&
              kWeightEncodingNames.size() == std::size_t(WeightEncoding::native_signed) + 1);
static_assert(in_declaration_order(kOffsetReferenceNames) &&
              kOffsetReferenceNames.size() == std::size_t(OffsetReference::digital) + 1);
static_assert(in_declaration_order(kLeakReferenceNames) &&
              kLeakReferenceNames.size() == std::size_t(LeakReference::digital) + 1);
static_assert(in_declaration_order(kDifferentialReadoutNames) &&
              kDifferentialReadoutNames.size() == std::size_t(DifferentialReadout::analog) + 1);
static_assert(in_declaration_order(kInputModeNames) &&
              kInputModeNames.size() == std::size_t(InputMode::multi_bit) + 1);
static_assert(in_declaration_order(kSignedInputHandlingNames) &&
              kSignedInputHandlingNames.size() ==
                  std::size_t(SignedInputHandling::bipolar) + 1);
static_assert(in_declaration_order(kAdcRangeNames) &&
              kAdcRangeNames.size() == std::size_t(AdcRange::oracle) + 1);
static_assert(in_declaration_order(kNoiseModeNames) &&
              kNoiseModeNames.size() == std::size_t(NoiseMode::absolute) + 1);
static_assert(in_declaration_order(kCalibrationMethodNames) &&
              kCalibrationMethodNames.size() == std::size_t(CalibrationMethod::kl) + 1);
static_assert(in_declaration_order(kWeightModeNames) &&
              kWeightModeNames.size() == std::size_t(WeightMode::ternary) + 1);

template <class Table>
std::vector<std::string> names_of(const Table& table) {
    std::vector<std::string> out;
    for (const auto& [value, name] : table) out.emplace_back(name);
    return out;
}

template <class Table>
auto value_of(const Table& table, std::string_view name)
    -> std::optional<typename Table::value_type::first_type> {
    for (const auto& [value, n] : table)
        if (n == name) return value;
    return std::nullopt;
}

}  // namespace cim::device_detail
