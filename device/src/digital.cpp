// The digital kinds (digital_npu, fpga_dsp): the CIM view of their integer datapath and their rules.
#include <algorithm>

#include <fmt/format.h>

#include "rules.h"

namespace cim::device_detail {

void fill_digital_view(DeviceSpec& d) {
    if (d.kind == DeviceKind::cim) return;
    const bool npu = d.kind == DeviceKind::digital_npu;
    const int bits = npu ? d.npu.precision_bits : d.fpga.precision_bits;
    // An all-digital array of ideal cells without an ADC reads exact column sums, so the simulator
    // equals the integer program bit for bit. Its geometry only sets how the simulator tiles the
    // sums (exact either way); the cost model and the mapper read the npu / fpga sections.
    d.technology = Technology::sram_digital;
    d.chip.tiles = 1;
    d.chip.macros_per_tile = 1;
    d.chip.max_chips = 1;
    d.chip.clock_mhz = npu ? d.npu.clock_mhz : d.fpga.clock_mhz;
    d.array.rows = npu ? std::max(d.npu.rows, 1) : 1024;
    d.array.cols = npu ? std::max(d.npu.cols, 2) : 1024;  // a 16-bit weight takes two 8-bit cell digits
    d.array.adc = AdcSpec{AdcRange::none, 0, 1};
    d.cell.bits = std::min(bits, 8);
    d.weight.bits = bits;
    d.weight.encoding = WeightEncoding::twos_complement;
    d.input.bits = bits;
    d.input.mode = InputMode::bit_serial;
    d.input.signed_handling = SignedInputHandling::twos_complement;
}

void check_digital_rules(const DeviceSpec& d, Diagnostics& diag) {
    auto check_precision = [&](const char* path, int bits) {
        if (!diag.failed(path) && bits != 8 && bits != 16)
            diag.error(path, fmt::format("{} is not a multiplier width of this model: use 8 (INT8) or 16 (INT16)", bits));
    };
    switch (d.kind) {
        case DeviceKind::cim: return;
        case DeviceKind::digital_npu: check_precision("npu.precision_bits", d.npu.precision_bits); return;
        case DeviceKind::fpga_dsp:
            check_precision("fpga.precision_bits", d.fpga.precision_bits);
            if (d.fpga.int8_packing && d.fpga.precision_bits != 8 && diag.given("fpga.int8_packing"))
                diag.error("fpga.int8_packing", fmt::format("true needs fpga.precision_bits 8 (two INT8 products in one "
                                                            "DSP); at {} bits remove it or set false",
                                                            d.fpga.precision_bits));
            return;
    }
}

}  // namespace cim::device_detail
