// Every key of a device YAML, declared once. Order here is the order of
// docs/device-schema.md. Defaults are chosen to be physically plausible and
// to describe an ideal device where a non-ideality is not given; costs have
// no defaults, because a missing cost must be an error, never a silent zero.
#include <algorithm>
#include <cmath>
#include <limits>

#include "enum_names.h"
#include "schema.h"

namespace cim::device_detail {

// The YAML path and the DeviceSpec member are the same text; the accessor is
// generic so that it serves both writing (parse) and reading (list_costs).
#define FIELD(p) #p, [](auto& d) -> auto& { return d.p; }

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

void declare_top_level(Schema& s) {
    s.string(FIELD(name)).required().doc("Device name shown in reports.");
    s.string(FIELD(description)).default_value("", "`\"\"`").doc("Free text: what the device is, which paper or product.");
    s.enumeration(FIELD(kind), kDeviceKindNames).default_value(DeviceKind::cim, "`cim`")
        .doc("`cim`: a compute-in-memory chip (`technology` and the sections `chip` to `noise`); `digital_npu`: a "
             "digital MAC-array accelerator (section `npu`); `fpga_dsp`: an FPGA computing with DSP slices "
             "(section `fpga`). A digital device gives none of the CIM keys; the quantizer and simulator run "
             "its exact integer datapath (docs/cost-model.md, \"Digital baselines\").");
    s.for_kinds(kind_bit(DeviceKind::cim));
    s.enumeration(FIELD(technology), kTechnologyNames).required()
        .doc("Memory technology of the cells; sram_digital means an all-digital macro (no ADC).");
    s.for_kinds(kAllKinds);
    s.integer(FIELD(node_nm)).required().unit("nm").min(1).max(1000).doc("CMOS process node.");
    s.number(FIELD(supply_v)).optional("(none: estimators compare nodes at a common 1.0 V)").unit("V")
        .above(0).max(5)
        .doc("Core supply voltage. Cost estimators scale energies with it (C V^2, and Stillmaker & Baas's "
             "node and voltage scaling); plain-number costs ignore it.");
}

void declare_chip(Schema& s) {
    s.section("chip", "The hierarchy above one array: a chip holds tiles, a tile holds macros (one "
                      "macro = one crossbar array with its DACs, ADCs and shift-add).");
    s.integer(FIELD(chip.tiles)).required().unit("tiles per chip").min(1).max(1'000'000)
        .doc("Tiles on one chip.");
    s.integer(FIELD(chip.macros_per_tile)).required().unit("macros per tile").min(1).max(1'000'000)
        .doc("Macros (arrays) in one tile; they share the tile's buffers and router.");
    s.integer(FIELD(chip.max_chips)).optional("(none: as many chips as the model needs)").min(1)
        .unit("chips").doc("Largest number of chips a mapping may use; a model that needs more does not fit.");
    s.number(FIELD(chip.clock_mhz)).required().unit("MHz").above(0).max(100'000)
        .doc("Digital clock (shift-add, buffers, digital units).");
}

void declare_array(Schema& s) {
    s.section("array", "One crossbar array: its geometry and the readout.");
    s.integer(FIELD(array.rows)).required().unit("rows").min(1).max(65536)
        .doc("Physical word lines (inputs). Bias rows are extra, see `array.bias_rows`.");
    s.integer(FIELD(array.cols)).required().unit("columns").min(1).max(65536)
        .doc("Physical bit lines (outputs); one column holds one cell digit of one output.");
    s.integer(FIELD(array.usable_rows))
        .derived("`array.rows`", {"array.rows"}, [](const DeviceSpec& d) { return d.array.rows; })
        .unit("rows").min(1).max(65536).doc("Rows the mapper may use (at most `array.rows`).");
    s.integer(FIELD(array.usable_cols))
        .derived("`array.cols`", {"array.cols"}, [](const DeviceSpec& d) { return d.array.cols; })
        .unit("columns").min(1).max(65536)
        .doc("Columns the mapper may use (at most `array.cols`); WTM2101 avoids 128 of its 1024.");
    s.boolean(FIELD(array.multi_layer)).default_value(false, "`false`")
        .doc("Whether weight blocks of different layers may share one array (WTM2101's mapper places "
             "many layers in regions of its one array). `false`: each array holds one layer's tile.");
    s.integer(FIELD(array.max_active_rows))
        .derived("`array.usable_rows`", {"array.usable_rows"},
                 [](const DeviceSpec& d) { return d.array.usable_rows; })
        .unit("rows").min(1).max(65536)
        .doc("Rows summed on a column in one read; larger row tiles are read in several passes "
             "and added digitally.");
    s.integer(FIELD(array.bias_rows)).default_value(0, "`0`").unit("rows").min(0).max(4096)
        .doc("Extra rows that hold the bias as weights, driven with `array.bias_row_input`; "
             "0 means the bias is added digitally.");
    s.integer(FIELD(array.bias_row_input))
        .derived("`2^input.bits - 1`", {"input.bits"},
                 [](const DeviceSpec& d) { return (1 << std::min(d.input.bits, 30)) - 1; })
        .unit("input code").min(1).max(65535)
        .doc("Input code driven on every bias row; the bias is this times the bias-row weight codes.");
    s.integer(FIELD(array.capacity_bits)).optional("(none: not checked)").unit("bits").min(1)
        .doc("Capacity stated by the source; when given it must equal rows x cols x cell.bits.");

    s.integer(FIELD(array.max_groups_per_array)).optional("(none: as many as fit)").unit("groups").min(1)
        .doc("Most conv groups the mapper packs block-diagonally into one array; 1 gives every group arrays of "
             "its own. Packed groups are read at once: with a finite `cell.on_off_ratio` every column carries "
             "the off-cell leak of every driven row (docs/simulator.md), so fewer groups per array trade "
             "arrays for accuracy.");

    s.section("array.adc", "Column readout. `range: none` means no ADC: the column sum is read "
                           "exactly (all-digital macros).");
    s.enumeration(FIELD(array.adc.range), kAdcRangeNames).required()
        .doc("Where the conversion range comes from: `full_scale` covers the largest possible column "
             "sum; `calibrated_layer`, `calibrated_array`, `calibrated_column` set it from "
             "calibration data once per layer, per array or per column; `calibrated_slice` once per "
             "layer and weight slice (the columns of one shift-add weight, an offset reference "
             "column with its slice); `calibrated_plane` once per layer and input plane (bit-serial "
             "cycle), `calibrated_slice_plane` per layer, slice and plane; `oracle`: each read gets the "
             "range of its own largest column sum, as NeuroSim reads (not realisable: reports say so); "
             "`none`: no ADC. See docs/simulator.md, \"Readout circuits\".");
    s.integer(FIELD(array.adc.bits))
        .conditional("required unless `array.adc.range` is `none`; absent then")
        .unit("bits").min(1).max(16).doc("ADC resolution.");
    s.integer(FIELD(array.adc.cols_per_adc)).default_value(1, "`1`").unit("columns").min(1).max(65536)
        .doc("Columns sharing one ADC, converted one after another; must divide `array.cols`.");
}

void declare_cell_weight_input_output(Schema& s) {
    s.section("cell", "One memory cell.");
    s.integer(FIELD(cell.bits)).required().unit("bits per cell").min(1).max(8)
        .doc("Bits stored per cell (2^bits conductance levels). A group of binary cells combined in "
             "analog before the ADC counts as one multi-bit cell.");
    s.number(FIELD(cell.on_off_ratio)).default_value(kInf, "`.inf` (ideal: an off cell conducts nothing)")
        .above(1).doc("g_on / g_off. A finite ratio lets off cells add current to every column sum.");

    s.section("weight", "How weights are stored.");
    s.integer(FIELD(weight.bits)).required().unit("bits").min(2).max(16)
        .doc("Signed weight code width, sign included.");
    s.integer(FIELD(weight.clip))
        .derived("`2^(weight.bits-1) - 1`", {"weight.bits"},
                 [](const DeviceSpec& d) { return (1 << (d.weight.bits - 1)) - 1; })
        .unit("code").min(1).max(1 << 20)
        .doc("Largest code magnitude stored; codes are clipped to [-clip, clip]. Only "
             "`native_signed` cells may exceed `2^(weight.bits-1) - 1` (WTM2101 stores +-275).");
    s.enumeration(FIELD(weight.encoding), kWeightEncodingNames).required()
        .doc("How a signed code becomes unsigned cell digits; see \"Signed weights\" above.");
    s.enumeration(FIELD(weight.offset_reference), kOffsetReferenceNames)
        .default_value(OffsetReference::converted, "`converted`")
        .doc("Offset encoding only: how the offset (2^(bits-1) x the input sum) is removed. "
             "`converted`: reference columns on every array, read through the ADC and subtracted in "
             "shift-add; `digital`: no reference columns, the periphery subtracts the nominal "
             "reference reading (offset and off-cell leak times the input plane's sum) exactly.");
    s.enumeration(FIELD(weight.leak_reference), kLeakReferenceNames)
        .default_value(LeakReference::none, "`none`")
        .doc("`twos_complement` only: how the off-cell leak of a finite "
             "`cell.on_off_ratio` (every cell conducts g_off = (2^cell.bits - 1) / (ratio - 1) level "
             "steps at digit 0) is removed. `none`: kept in the column sums and the result; "
             "`digital`: the periphery subtracts the nominal leak, g_off x the input plane's sum x the "
             "output's column weights, exactly (no columns placed; the ADC still converts the leaky "
             "sums). Differential pairs and offset reference columns cancel the leak themselves.");
    s.enumeration(FIELD(weight.differential_readout), kDifferentialReadoutNames)
        .default_value(DifferentialReadout::digital, "`digital`")
        .doc("Differential encoding only: how a W+/W- column pair is read. `digital`: each column "
             "through the ADC, W- subtracted in shift-add; `analog`: the two bit-line currents "
             "subtracted before one conversion by a bipolar ADC (range -R..+R, `array.adc.bits` "
             "including the sign): half the conversions, the columns the arrays hold unchanged.");

    s.section("input", "How activations enter the array.");
    s.integer(FIELD(input.bits)).required().unit("bits").min(1).max(16)
        .doc("Activation code width entering the array.");
    s.enumeration(FIELD(input.mode), kInputModeNames).default_value(InputMode::bit_serial, "`bit_serial`")
        .doc("`bit_serial`: `dac_bits` bits per array cycle, results shifted and added; "
             "`multi_bit`: the whole code in one cycle (pulse count or multi-level DAC).");
    s.integer(FIELD(input.dac_bits))
        .derived("`1` for `bit_serial`, `input.bits` for `multi_bit`", {"input.mode", "input.bits"},
                 [](const DeviceSpec& d) {
                     return d.input.mode == InputMode::multi_bit ? d.input.bits : 1;
                 })
        .unit("bits per cycle").min(1).max(16).doc("Input bits applied per array cycle.");
    s.enumeration(FIELD(input.signed_handling), kSignedInputHandlingNames)
        .default_value(SignedInputHandling::offset, "`offset`")
        .doc("Signed activations: `unsigned_only` (a layer with signed inputs does not map), "
             "`offset` (x + 2^(bits-1), correction subtracted digitally), `pos_neg_split` "
             "(x- drives a second row set holding -W), `twos_complement` (bit-serial, MSB plane subtracted), `bipolar` (+-V on one row set: "
             "bit-serial planes of |x| driven with the sign of x, or a bipolar DAC; the column sums and "
             "the ADC are bipolar).");

    s.section("output", "What leaves the macro after the readout.");
    s.integer(FIELD(output.bits)).optional("(none: full precision)").unit("bits").min(1).max(32)
        .doc("Signed result width after the shift; results are clipped to it.");
    s.integer(FIELD(output.shift_bits_min)).default_value(0, "`0`").unit("bits").min(0).max(31)
        .doc("Results are divided by G = 2^n (floor) with n chosen per layer in [min, max] "
             "(WTM2101: 8..13).");
    s.integer(FIELD(output.shift_bits_max))
        .derived("`output.shift_bits_min`", {"output.shift_bits_min"},
                 [](const DeviceSpec& d) { return d.output.shift_bits_min; })
        .unit("bits").min(0).max(31).doc("Largest shift n.");
}

void declare_energy(Schema& s) {
    s.section("energy", "Energy per event. Each entry is a number, `{value: N, source: \"...\"}`, or an "
                        "estimator `{model: NAME, ...}` that computes it from the device (docs/cost-estimators.md). "
                        "An array cycle applies one input slice (`input.dac_bits` bits) to every "
                        "active row of one array.");
    s.cost(FIELD(energy.array_read_pj_per_column))
        .conditional("at least one of `array_read_pj_per_column`, `array_read_pj_per_cell`")
        .unit("pJ per column per array cycle").doc("Bit-line precharge, sensing, sample-and-hold.");
    s.cost(FIELD(energy.array_read_pj_per_cell))
        .conditional("at least one of `array_read_pj_per_column`, `array_read_pj_per_cell`")
        .unit("pJ per active cell per array cycle")
        .doc("Cell current or charge; for digital macros the per-bit multiply and adder tree.");
    s.cost(FIELD(energy.row_drive_pj_per_row)).required().unit("pJ per active row per array cycle")
        .doc("Word-line driver / input DAC.");
    s.cost(FIELD(energy.adc_pj_per_conversion))
        .conditional("required unless `array.adc.range` is `none`; absent then")
        .unit("pJ per conversion").doc("One ADC conversion of one column.");
    s.cost(FIELD(energy.shift_add_pj_per_op)).required().unit("pJ per op")
        .doc("Shifting and adding one column result (ADC code or digital column sum) into its output.");
    s.cost(FIELD(energy.input_buffer_pj_per_byte)).required().unit("pJ per byte")
        .doc("Reading activations from the tile buffer into an array's input register, per byte "
             "delivered to an array.");
    s.cost(FIELD(energy.output_buffer_pj_per_byte)).required().unit("pJ per byte")
        .doc("Writing results (partial sums and outputs) to output registers and buffers.");
    s.cost(FIELD(energy.interconnect_pj_per_byte)).required().unit("pJ per byte per hop")
        .doc("Moving data between tiles on a chip.");
    s.cost(FIELD(energy.chip_link_pj_per_byte))
        .conditional("required unless `chip.max_chips` is 1")
        .unit("pJ per byte").doc("Moving data between chips.");
    s.cost(FIELD(energy.digital_pj_per_op)).required().unit("pJ per op")
        .doc("Digital units: activation, pooling, element-wise ops, requantization (per element op).");
    s.cost(FIELD(energy.weight_program_pj_per_cell))
        .optional("(none: unknown; a cost that needs it is an error)").unit("pJ per cell")
        .doc("Writing one cell, charged when the model does not fit and weights are reloaded.");
    s.cost(FIELD(energy.leakage_mw_per_tile)).required().unit("mW per tile")
        .doc("Static power of one tile while the device runs (0 when already inside the figures above).");
    s.number(FIELD(energy.reference_input_density)).default_value(0.5, "`0.5`").above(0).max(1)
        .doc("Input density at which `row_drive_pj_per_row` and `array_read_pj_per_cell` hold: the mean "
             "input slice over its largest value (bit-serial 1-bit slices: the fraction of 1 bits). The "
             "cost model scales row drive by measured / reference input density (docs/cost-model.md).");
    s.number(FIELD(energy.reference_weight_density)).default_value(0.5, "`0.5`").above(0).max(1)
        .doc("Weight-digit density at which `array_read_pj_per_cell` holds: the mean stored cell digit "
             "over its largest value. Cell energy scales by the product of the input and weight ratios.");
}

void declare_latency(Schema& s) {
    s.section("latency", "Time per event; entries are numbers, `{value, source}` or estimators like energies.");
    s.cost(FIELD(latency.array_read_ns)).required().unit("ns per array cycle")
        .doc("Driving the rows, settling and sampling the columns for one input slice.");
    s.cost(FIELD(latency.adc_ns_per_conversion))
        .conditional("required unless `array.adc.range` is `none`; absent then")
        .unit("ns per conversion")
        .doc("One conversion; a shared ADC takes `cols_per_adc` conversions per array cycle.");
    s.boolean(FIELD(latency.pipelined)).default_value(true, "`true`")
        .doc("Array cycle i+1 overlaps the conversions of cycle i: a cycle takes "
             "max(array_read_ns, cols_per_adc x adc_ns_per_conversion) instead of the sum.");
    s.cost(FIELD(latency.buffer_ns_per_byte)).required().unit("ns per byte")
        .doc("Tile buffer bandwidth (input and output).");
    s.cost(FIELD(latency.interconnect_ns_per_byte)).required().unit("ns per byte per hop")
        .doc("Tile-to-tile bandwidth.");
    s.cost(FIELD(latency.chip_link_ns_per_byte))
        .conditional("required unless `chip.max_chips` is 1")
        .unit("ns per byte").doc("Chip-to-chip bandwidth.");
    s.cost(FIELD(latency.digital_ns_per_op)).required().unit("ns per op")
        .doc("Digital units, per element op.");
    s.cost(FIELD(latency.weight_program_ns_per_row))
        .optional("(none: unknown; a cost that needs it is an error)").unit("ns per row")
        .doc("Programming one row of an array.");
}

void declare_area(Schema& s) {
    s.section("area", "Area per instance; entries are numbers, `{value, source}` or estimators. Per-array "
                      "entries are multiplied by the arrays used, per-tile by tiles, per-chip by chips.");
    s.cost(FIELD(area.array_um2)).required().unit("um^2 per array")
        .doc("Cells of one array (and its drivers when the source does not split them out).");
    s.cost(FIELD(area.row_driver_um2)).required().unit("um^2 per row").doc("Word-line driver / input DAC.");
    s.cost(FIELD(area.adc_um2))
        .conditional("required unless `array.adc.range` is `none`; absent then")
        .unit("um^2 per ADC").doc("One ADC; an array has `cols / cols_per_adc` of them.");
    s.cost(FIELD(area.shift_add_um2)).required().unit("um^2 per array").doc("Shift-add logic of one array.");
    s.cost(FIELD(area.macro_other_um2)).required().unit("um^2 per array")
        .doc("Everything else in a macro: sample-and-hold, input/output registers, capacitors.");
    s.cost(FIELD(area.tile_buffer_um2)).required().unit("um^2 per tile").doc("Tile input/output buffers.");
    s.cost(FIELD(area.tile_other_um2)).required().unit("um^2 per tile")
        .doc("Router, buses, digital units and control of one tile.");
    s.cost(FIELD(area.chip_other_um2)).required().unit("um^2 per chip").doc("Chip I/O, chip links, controller.");
}

void declare_noise(Schema& s) {
    s.section("noise", "Non-idealities the functional simulator applies. The defaults describe an "
                       "ideal device.");
    s.number(FIELD(noise.programming_sigma)).default_value(0, "`0`").min(0).max(1)
        .doc("Programming error, drawn once per chip instance; scaled per `programming_sigma_mode`.");
    s.enumeration(FIELD(noise.programming_sigma_mode), kNoiseModeNames)
        .default_value(NoiseMode::relative, "`relative`")
        .doc("`relative`: sigma x g (proportional to the programmed conductance); `absolute`: "
             "sigma x (g_on - g_off).");
    s.number(FIELD(noise.read_sigma)).default_value(0, "`0`").min(0).max(1)
        .doc("Read noise per read, as a fraction of g_on - g_off.");
    s.number(FIELD(noise.stuck_on_rate)).default_value(0, "`0`").min(0).max(1)
        .doc("Fraction of cells stuck at g_on.");
    s.number(FIELD(noise.stuck_off_rate)).default_value(0, "`0`").min(0).max(1)
        .doc("Fraction of cells stuck at g_off.");
    s.number(FIELD(noise.drift_nu)).default_value(0, "`0`").min(0).max(1)
        .doc("Drift exponent: g(t) = g x (t / t0)^-nu.");
    s.number(FIELD(noise.drift_t0_s)).default_value(1, "`1`").unit("s").above(0)
        .doc("Drift reference time (time of programming read-back).");
    s.number(FIELD(noise.drift_time_s))
        .derived("`noise.drift_t0_s` (no drift)", {"noise.drift_t0_s"},
                 [](const DeviceSpec& d) { return d.noise.drift_t0_s; })
        .unit("s").above(0).doc("Time since programming at which inference runs.");
    s.number(FIELD(noise.ir_drop)).default_value(0, "`0`").min(0).max(10)
        .doc("First-order IR drop: a column sum S (in units of g_on) reads as "
             "S / (1 + ir_drop x S / max_active_rows).");
    s.number(FIELD(noise.adc_sigma_lsb)).default_value(0, "`0`").unit("LSB").min(0).max(1000)
        .doc("ADC input-referred noise.");
    s.number(FIELD(noise.adc_offset_lsb)).default_value(0, "`0`").unit("LSB").min(-1000).max(1000)
        .doc("ADC offset.");
}

void declare_quant(Schema& s) {
    s.section("quant", "Quantization defaults for this device (quant/ may override them per run).");
    s.integer(FIELD(quant.weight_bits))
        .derived("`weight.bits`", {"weight.bits"}, [](const DeviceSpec& d) { return d.weight.bits; })
        .unit("bits").min(1).max(16).doc("Weight code width (1 means binary weights, as `weight_mode: binary`).");
    s.integer(FIELD(quant.activation_bits))
        .derived("`input.bits`", {"input.bits"}, [](const DeviceSpec& d) { return d.input.bits; })
        .unit("bits").min(1).max(16).doc("Activation code width.");
    s.boolean(FIELD(quant.per_channel)).default_value(true, "`true`")
        .doc("One weight scale per output channel (else per tensor).");
    s.boolean(FIELD(quant.symmetric)).default_value(true, "`true`")
        .doc("Symmetric weight codes (zero point 0).");
    s.enumeration(FIELD(quant.calibration), kCalibrationMethodNames)
        .default_value(CalibrationMethod::minmax, "`minmax`")
        .doc("How activation ranges are chosen from calibration data (the training set, never the test set).");
    s.number(FIELD(quant.percentile)).default_value(99.99, "`99.99`").unit("%").above(50).max(100)
        .doc("Percentile used by `calibration: percentile`.");
    s.integer(FIELD(quant.calibration_samples)).default_value(256, "`256`").unit("samples").min(1)
        .max(1'000'000).doc("Calibration inputs drawn from the dataset.");
    s.boolean(FIELD(quant.power_of_two_scales)).default_value(false, "`false`")
        .doc("Round scales to powers of two (shift-only requantization).");
    s.integer(FIELD(quant.bias_bits)).default_value(32, "`32`").unit("bits").min(8).max(64)
        .doc("Bias code width.");
    s.enumeration(FIELD(quant.weight_mode), kWeightModeNames).default_value(WeightMode::uniform, "`uniform`")
        .doc("`uniform`: integer codes of `weight_bits`; `binary`: {-a, +a} per channel; "
             "`ternary`: {-a, 0, +a} per channel.");
    s.enumeration(FIELD(quant.weight_calibration), kCalibrationMethodNames)
        .default_value(CalibrationMethod::minmax, "`minmax`")
        .doc("How the weight clipping range is chosen: `minmax`, `percentile`, `mse` (search for the "
             "range of least squared error) or `kl` (least KL divergence of the histograms).");
    s.boolean(FIELD(quant.weight_full_range)).default_value(false, "`false`")
        .doc("At `weight_bits` = `weight.bits`, use the device's whole code range [-weight.clip, "
             "weight.clip] (WTM2101: +-275) instead of +-(2^(bits-1) - 1).");
    s.boolean(FIELD(quant.cle)).default_value(false, "`false`")
        .doc("Cross-layer equalization: rescale the channels of consecutive layers joined by ReLU "
             "so that their weight ranges match (the float function is unchanged).");
    s.boolean(FIELD(quant.bias_correction)).default_value(false, "`false`")
        .doc("Correct each layer's bias by the mean output error of its quantized weights and inputs, "
             "measured on the calibration data with the layers before it quantized.");
    s.boolean(FIELD(quant.adaround)).default_value(false, "`false`")
        .doc("AdaRound: choose each weight's rounding (up or down) by layer-wise reconstruction of the "
             "layer output on calibration data.");
    s.integer(FIELD(quant.adaround_iterations)).default_value(1000, "`1000`").unit("iterations")
        .min(10).max(100'000).doc("Optimizer steps of AdaRound per layer.");
    s.integer(FIELD(quant.mixed_precision_budget_arrays))
        .optional("(none: every layer gets `weight_bits`)").unit("arrays").min(1)
        .doc("Mixed precision: choose per-layer weight bits in [`mixed_precision_min_bits`, "
             "`weight_bits`] so that the layers need at most this many arrays, guided by the "
             "sensitivity of each layer measured on calibration data.");
    s.integer(FIELD(quant.mixed_precision_min_bits)).default_value(2, "`2`").unit("bits").min(2).max(16)
        .doc("Smallest weight width mixed precision may give a layer.");
    s.integer(FIELD(quant.calibration_seed)).default_value(1, "`1`").min(0).max(2'000'000'000)
        .doc("Seed of the draw of calibration images from the training set.");
    s.boolean(FIELD(quant.use_model_quantization)).default_value(true, "`true`")
        .doc("Take a quantized (QDQ) model's own weight codes, scales and zero points and its "
             "activation quantizers as given, where its layers have them (an error names a layer "
             "the device cannot take); `false` requantizes every layer for the device.");
}

void declare_digital_units(Schema& s) {
    s.section("digital", "The digital units beside the arrays (or the NPU's vector unit) at their declared "
                         "precision: the ops the mapper leaves digital (element-wise, softmax, normalization, "
                         "MatMuls between two activations). docs/simulator.md, \"Digital units\".");
    s.enumeration(FIELD(digital.arithmetic), kDigitalArithmeticNames)
        .default_value(DigitalArithmetic::float_, "`float`")
        .doc("`float`: the simulator computes the digital ops in float (ideal units); `integer`: softmax, "
             "LayerNorm, GELU, activation-by-activation MatMuls and element-wise Add/Sub/Mul run in integer "
             "arithmetic at the bits below (bit-exact, docs/simulator.md); ReLU, pooling and the rest in float.");
    s.integer(FIELD(digital.activation_bits)).default_value(8, "`8`").unit("bits").min(2).max(16)
        .doc("Signed code width of the inputs of softmax, LayerNorm, GELU and the element-wise ops (a scale per "
             "image and tensor: its largest magnitude at the largest code) and of softmax's output probabilities.");
    s.integer(FIELD(digital.accumulator_bits)).default_value(32, "`32`").unit("bits").min(16).max(64)
        .doc("Width of the integer sums, products and fixed-point intermediates; results beyond it saturate.");
    s.integer(FIELD(digital.matmul_bits))
        .derived("`digital.activation_bits`", {"digital.activation_bits"},
                 [](const DeviceSpec& d) { return d.digital.activation_bits; })
        .unit("bits").min(2).max(16)
        .doc("Signed code width of both operands of a MatMul between two activations (attention's QK^T "
             "and AV), a scale per image and operand.");
    s.enumeration(FIELD(digital.softmax), kDigitalFunctionNames).default_value(DigitalFunction::lut, "`lut`")
        .doc("The exp of softmax: `lut`, a table of 2^activation_bits fixed-point entries indexed by the code "
             "distance to the row's largest input; `fixed_point`, I-BERT's second-order polynomial with "
             "shifts (Kim et al., ICML 2021).");
    s.enumeration(FIELD(digital.gelu), kDigitalFunctionNames).default_value(DigitalFunction::lut, "`lut`")
        .doc("GELU: `lut`, a table of 2^activation_bits output codes indexed by the input code; "
             "`fixed_point`, I-BERT's i-GELU (a second-order polynomial for erf).");
}

// Keys both digital kinds share, under `section` ("npu" or "fpga"), with the member access `spec`.
template <class Spec>
void declare_digital_common(Schema& s, const std::string& section, Spec spec, const char* buffers) {
    auto field = [&](auto member) {
        return [spec, member](auto& d) -> auto& { return spec(d).*member; };
    };
    using T = std::remove_reference_t<decltype(spec(std::declval<DeviceSpec&>()))>;
    s.number(section + ".clock_mhz", field(&T::clock_mhz)).required().unit("MHz").above(0).max(100'000)
        .doc("Clock of the MAC array (DSP slices) and buffers.");
    s.integer(section + ".precision_bits", field(&T::precision_bits)).default_value(8, "`8`").unit("bits").min(8).max(16)
        .doc("Operand width of the multipliers: 8 (INT8) or 16 (INT16). The quantizer stores weights and "
             "activations at this width.");
    s.number(section + ".dram_gb_per_s", field(&T::dram_gb_per_s)).required().unit("GB/s").above(0).max(1e6)
        .doc(std::string("Off-chip memory bandwidth. Weights stream from DRAM; activations spill to it when a layer's "
                         "input and output do not fit ") + buffers + ".");
    s.integer(section + ".vector_ops_per_cycle", field(&T::vector_ops_per_cycle)).default_value(1, "`1`")
        .unit("ops per cycle").min(1).max(1'000'000)
        .doc("Element ops (activation, pooling, adds, requantization) the vector unit or fabric does per cycle.");
}

void declare_npu(Schema& s) {
    s.for_kinds(kind_bit(DeviceKind::digital_npu));
    s.section("npu", "A digital NPU (`kind: digital_npu`): a `rows x cols` array of MACs fed from SRAM buffers, "
                     "weights streamed from DRAM layer by layer (docs/cost-model.md, \"Digital baselines\").");
    s.integer(FIELD(npu.rows)).required().unit("MACs").min(1).max(65536)
        .doc("MAC rows: the reduction (K) dimension of a weight tile.");
    s.integer(FIELD(npu.cols)).required().unit("MACs").min(1).max(65536)
        .doc("MAC columns: the outputs (N) of a weight tile.");
    s.enumeration(FIELD(npu.dataflow), kDataflowNames).default_value(Dataflow::systolic, "`systolic`")
        .doc("`systolic`: weight-stationary systolic array (TPU v1): a weight tile takes max(M, rows) + rows + "
             "cols - 2 cycles for M input vectors (loading the next tile overlaps); `adder_tree`: each column "
             "sums its row products in a tree: M + ceil(log2 rows) cycles per tile.");
    declare_digital_common(s, "npu", [](auto& d) -> auto& { return d.npu; }, "the activation buffer");
    s.number(FIELD(npu.weight_buffer_kib)).required().unit("KiB").above(0).max(1e9)
        .doc("On-chip weight staging; a model whose weights all fit stays on chip between inferences.");
    s.number(FIELD(npu.activation_buffer_kib)).required().unit("KiB").above(0).max(1e9)
        .doc("On-chip activation buffer (TPU v1's unified buffer, Eyeriss's global buffer).");
    s.cost(FIELD(npu.mac_pj)).required().unit("pJ per MAC")
        .doc("One multiply-accumulate in the array, its pipeline registers included (e.g. `{model: horowitz_mac}`).");
    s.cost(FIELD(npu.sram_pj_per_byte)).required().unit("pJ per byte")
        .doc("Reading or writing a byte of a buffer (e.g. `{model: sram_buffer, capacity_kb: N}`).");
    s.cost(FIELD(npu.dram_pj_per_byte)).required().unit("pJ per byte").doc("Moving a byte to or from DRAM.");
    s.cost(FIELD(npu.vector_pj_per_op)).required().unit("pJ per op").doc("One element op of the vector unit.");
    s.cost(FIELD(npu.static_mw)).required().unit("mW")
        .doc("Power drawn while running besides the events above (clock tree, control, leakage, host interface).");
    s.cost(FIELD(npu.chip_um2)).optional("(none: area unknown)").unit("um^2").doc("Die (or core) area.");
    s.for_kinds(kAllKinds);
}

void declare_fpga(Schema& s) {
    s.for_kinds(kind_bit(DeviceKind::fpga_dsp));
    s.section("fpga", "An FPGA computing with DSP48E2-like slices (`kind: fpga_dsp`): each slice multiplies a "
                      "27-bit by an 18-bit operand into a 48-bit accumulator; BRAM buffers, LUT fabric, DRAM.");
    s.integer(FIELD(fpga.dsp_slices)).required().unit("DSP slices").min(1).max(1'000'000).doc("DSP slices of the part.");
    s.integer(FIELD(fpga.luts)).required().unit("LUTs").min(1).max(100'000'000).doc("LUTs of the part.");
    s.integer(FIELD(fpga.luts_per_dsp)).default_value(0, "`0` (no LUT limit)").unit("LUTs").min(0).max(100'000)
        .doc("Fabric LUTs one busy DSP slice needs (operand muxing, accumulation control); the slices in use are "
             "min(dsp_slices, luts / luts_per_dsp).");
    s.number(FIELD(fpga.bram_kib)).required().unit("KiB").above(0).max(1e9)
        .doc("Block RAM, split evenly between weight and activation buffers.");
    s.boolean(FIELD(fpga.int8_packing)).default_value(true, "`true`")
        .doc("Two INT8 multiplies per DSP per cycle when they share one operand (the second weight in the 27-bit "
             "port 18 bits above the first, the low product's sign corrected); needs `precision_bits: 8`.");
    declare_digital_common(s, "fpga", [](auto& d) -> auto& { return d.fpga; }, "half the BRAM");
    s.cost(FIELD(fpga.dsp_pj_per_cycle)).required().unit("pJ per DSP cycle")
        .doc("One busy DSP slice for one cycle with its share of the routing (one or two MACs).");
    s.cost(FIELD(fpga.bram_pj_per_byte)).required().unit("pJ per byte").doc("Reading or writing a byte of block RAM.");
    s.cost(FIELD(fpga.dram_pj_per_byte)).required().unit("pJ per byte").doc("Moving a byte to or from DRAM.");
    s.cost(FIELD(fpga.fabric_pj_per_op)).required().unit("pJ per op").doc("One element op in the LUT fabric.");
    s.cost(FIELD(fpga.static_mw)).optional("(none: unknown; energy totals are then unknown)").unit("mW")
        .doc("Static and clock power of the configured part while running.");
    s.cost(FIELD(fpga.chip_um2)).optional("(none: area unknown)").unit("um^2").doc("Die area.");
    s.for_kinds(kAllKinds);
}

Schema build_schema() {
    Schema s;
    declare_top_level(s);
    s.for_kinds(kind_bit(DeviceKind::cim));
    declare_chip(s);
    declare_array(s);
    declare_cell_weight_input_output(s);
    declare_energy(s);
    declare_latency(s);
    declare_area(s);
    declare_noise(s);
    s.for_kinds(kAllKinds);
    declare_quant(s);
    declare_digital_units(s);
    declare_npu(s);
    declare_fpga(s);
    return s;
}

}  // namespace

#undef FIELD

// ---- Schema bookkeeping ----

std::string parent_path(const std::string& path) {
    auto dot = path.rfind('.');
    return dot == std::string::npos ? std::string() : path.substr(0, dot);
}

std::string leaf_name(const std::string& path) {
    auto dot = path.rfind('.');
    return dot == std::string::npos ? path : path.substr(dot + 1);
}

std::string join_path(const std::string& parent, const std::string& name) {
    return parent.empty() ? name : parent + "." + name;
}

void Schema::add_child(const std::string& path) {
    const std::string parent = parent_path(path);
    for (auto& [section, kids] : children_) {
        if (section == parent) {
            CIM_INTERNAL_CHECK(std::find(kids.begin(), kids.end(), leaf_name(path)) == kids.end(),
                               "device schema declares " + path + " twice");
            kids.push_back(leaf_name(path));
            return;
        }
    }
    CIM_INTERNAL_CHECK(parent.empty(), "device schema: section " + parent + " declared after " + path);
    children_.push_back({parent, {leaf_name(path)}});
}

void Schema::section(std::string path, std::string description) {
    add_child(path);
    children_.push_back({path, {}});
    sections_.push_back({std::move(path), std::move(description), kinds_});
}

std::string kinds_text(KindMask kinds) {
    std::string out;
    for (const auto& [kind, name] : kDeviceKindNames)
        if (kinds & kind_bit(kind)) out += (out.empty() ? "" : " and ") + std::string(name);
    return out;
}

KeyDecl& Schema::add(std::string path, ValueKind kind) {
    add_child(path);
    KeyDecl& k = keys_.emplace_back();
    k.path = std::move(path);
    k.kind = kind;
    k.kinds = kinds_;
    return k;
}

const KeyDecl* Schema::find_key(const std::string& path) const {
    for (const auto& k : keys_)
        if (k.path == path) return &k;
    return nullptr;
}

const SectionDecl* Schema::find_section(const std::string& path) const {
    for (const auto& s : sections_)
        if (s.path == path) return &s;
    return nullptr;
}

const std::vector<std::string>& Schema::children(const std::string& section_path) const {
    for (const auto& [section, kids] : children_)
        if (section == section_path) return kids;
    static const std::vector<std::string> none;
    return none;
}

bool Schema::section_required(const std::string& path, DeviceKind kind) const {
    const std::string prefix = path + ".";
    for (const auto& k : keys_)
        if (k.presence == Presence::required && (k.kinds & kind_bit(kind)) && k.path.compare(0, prefix.size(), prefix) == 0)
            return true;
    return false;
}

const Schema& device_schema() {
    static const Schema schema = [] {
        Schema s = build_schema();
        for (const auto& k : s.keys()) {
            CIM_INTERNAL_CHECK(!k.description.empty(), "device schema: " + k.path + " has no description");
            CIM_INTERNAL_CHECK(k.presence == Presence::required || !k.default_text.empty(),
                               "device schema: " + k.path + " has no default text");
        }
        return s;
    }();
    return schema;
}

}  // namespace cim::device_detail
