// How one output's weights lie across array columns, for every weight encoding, code
// width and cell width: the one description that the mapper (the columns it places),
// the quantizer (the digits it programs, quant/program.h) and the simulator (the
// columns it reads) share.
#pragma once

#include <cim/device/device_spec.h>

#include <algorithm>
#include <cstdint>

namespace cim {

struct ColumnLayout {
    int code_bits = 2;           // B: signed width of the codes, the sign included
    int slices = 1;              // cell digits per weight (per sign for differential)
    int columns_per_output = 1;  // columns one output occupies in an array
    int reference_columns = 0;   // reference digits per output set (offset encoding): what the offset subtracts
    bool reference_on_array = true;  // false: weight.offset_reference digital, no reference columns placed
};

// Reference columns an array holds beside its outputs (0 when the offset is subtracted digitally).
inline int placed_reference_columns(const ColumnLayout& l) { return l.reference_on_array ? l.reference_columns : 0; }

// Codes in [-largest_code, largest_code] stored under `encoding` in `cell_bits`-bit cells,
// with B = (bits of largest_code) + 1 and c = cell_bits:
//   differential     slices = ceil((B-1) / c) digits of |w| on each side; columns = 2 slices
//   offset           slices = ceil(B / c) digits of w + 2^(B-1); columns = slices, and
//                    `slices` reference columns per array (the digits of 2^(B-1)); with
//                    weight.offset_reference digital they are not placed (reference_on_array false)
//   twos_complement  the low B-1 bits in ceil((B-1) / c) digits, then the sign bit alone in a
//                    column of weight -2^(B-1): slices = columns = ceil((B-1) / c) + 1
//                    (= B with 1-bit cells, where these are the two's-complement bit slices)
//   native_signed    one column holding the signed code
ColumnLayout column_layout(WeightEncoding encoding, int64_t largest_code, int cell_bits);
// Codes in [code_min, code_max] (code_min < 0 < code_max): B is the two's-complement width of the
// range for `twos_complement` and `offset` (int8's [-128, 127] is 8 bits), and the width of the
// larger magnitude plus a sign for `differential` and `native_signed` (|-128| needs 8 magnitude bits).
ColumnLayout column_layout(WeightEncoding encoding, int64_t code_min, int64_t code_max, int cell_bits);

// The largest code a device stores at `bits` bits: 2^(bits-1) - 1 capped by weight.clip
// (native_signed cells: weight.clip itself at the device's width, e.g. WTM2101's 275).
int64_t largest_weight_code(const DeviceSpec& d, int bits);
// The most negative code it stores: -2^(bits-1) (int8's -128) under `twos_complement` and `offset`
// when weight.clip is at its default 2^(bits-1) - 1, else -largest_weight_code.
int64_t smallest_weight_code(const DeviceSpec& d, int bits);

// The fewest bits (2..16) at which the device's encoding stores every code in [code_min, code_max]
// (weight.clip re-derived at widths other than weight.bits, as --set weight.bits=B re-derives it);
// 0 when no width does. int8's [-128, 127]: 8 bits in two's-complement or offset columns, 9 in a
// differential pair (sign and magnitude), 8 in WTM2101's native signed cells (clip 275).
int weight_bits_holding(const DeviceSpec& d, int64_t code_min, int64_t code_max);

// The device's layout for `bits`-bit weights, and at its own weight.bits.
ColumnLayout column_layout(const DeviceSpec& d, int bits);
inline ColumnLayout column_layout(const DeviceSpec& d) { return column_layout(d, d.weight.bits); }

// Outputs one array holds when an output's columns stay in one array beside the array's
// reference columns: floor((usable_cols - placed reference columns) / columns_per_output), 0 when none fits.
inline int64_t outputs_per_array(const ColumnLayout& l, int64_t usable_cols) {
    return std::max<int64_t>(0, (usable_cols - placed_reference_columns(l)) / l.columns_per_output);
}

}  // namespace cim
