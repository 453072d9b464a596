// DeviceSpec: the validated, immutable description of one CIM device, read
// from a device YAML (configs/*.yaml). Every key is declared once in the
// schema (device/src/schema.cpp); docs/device-schema.md is generated from it.
//
// The hierarchy is chip -> tiles -> macros, where a macro is one crossbar
// array with its converters and shift-add logic. Units are part of the names
// (_pj, _ns, _um2, _mhz, _mw, _s). Models take a `const DeviceSpec&`, never YAML.
// Member initializers only keep a hand-built struct defined; a parsed spec
// takes every default from the schema (docs/device-schema.md).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace cim {

enum class Technology { sram_analog, sram_digital, mram, nor_flash, rram, pcm, fefet };

// What the device is: a compute-in-memory chip (arrays holding the weights), or a digital baseline
// that streams weights from DRAM through a MAC array (an NPU such as TPU v1 or Eyeriss) or through
// an FPGA's DSP slices. Each kind has its own schema sections (docs/device-schema.md).
enum class DeviceKind { cim, digital_npu, fpga_dsp };

// How a digital MAC array moves operands: `systolic` (weight-stationary, inputs and partial sums
// passed PE to PE, TPU v1) or `adder_tree` (each column sums its row products in one tree).
enum class Dataflow { systolic, adder_tree };

// The arithmetic of the digital units (element-wise ops, softmax, normalization, MatMuls between
// two activations): `float` (ideal, as the float executor) or `integer` at digital.* bits.
enum class DigitalArithmetic { float_, integer };
// How an integer exp (softmax) or GELU is computed: a table of 2^activation_bits entries indexed
// by the input code, or fixed-point polynomial arithmetic (I-BERT, Kim et al. ICML 2021).
enum class DigitalFunction { lut, fixed_point };

// How a signed weight code is stored in unsigned cell conductances.
enum class WeightEncoding {
    differential,     // W = W+ - W-, magnitudes on two columns
    offset,           // W + 2^(bits-1) stored unsigned; a reference column removes the offset
    twos_complement,  // two's-complement bit slices; the top slice weighs negative in shift-add
    native_signed,    // the cell stores the signed code itself (WTM2101)
};

// How the offset encoding's offset (2^(bits-1) x the input sum) is removed.
enum class OffsetReference {
    converted,  // reference columns on the array, read through the ADC like weight columns
    digital,    // no reference columns: the digital periphery subtracts the nominal reference reading
                // (the offset and the off-cell leak times the plane's input sum) exactly
};

// How the off-cell leak (g_off per cell, from cell.on_off_ratio) is removed where no reference or
// pair subtraction cancels it (two's-complement columns).
enum class LeakReference {
    none,     // kept in the column sums (differential pairs and offset references cancel it themselves)
    digital,  // the periphery subtracts the nominal leak (g_off x the plane's input sum x the output's
              // column weights) exactly: a calibrated off-current correction
};

// How the two columns of a differential pair are read.
enum class DifferentialReadout {
    digital,  // each column converted by its own ADC read, W- subtracted in shift-add
    analog,   // W+ - W- subtracted on the bit lines, one bipolar conversion per pair (range -R..+R)
};

enum class InputMode { bit_serial, multi_bit };

// How signed activations reach an array that only takes unsigned inputs.
enum class SignedInputHandling {
    unsigned_only,    // signed activations are an error (the layer needs a ReLU before it)
    offset,           // x + 2^(bits-1), the offset times the weight sum is subtracted digitally
    pos_neg_split,    // x = x+ - x-: x- drives a second row set holding -W (doubles the rows)
    twos_complement,  // bit-serial planes, the MSB plane is subtracted in shift-add
    bipolar,          // +-V on one row set: each plane (or the DAC) drives the sign as the voltage polarity
};

// Where the ADC's conversion range comes from. `none`: no ADC, the column sum
// is read exactly (digital macros). `calibrated_slice`: one range per layer and weight
// slice (the columns of one |shift-add weight|, offset reference columns included);
// `calibrated_plane`: per layer and input plane (bit-serial cycle); `calibrated_slice_plane`:
// per layer, slice and plane. `oracle`: every read gets the range of its own largest column
// sum (NeuroSim's readout) -- not realisable, the ADC cannot know the sums before converting them.
enum class AdcRange {
    none,
    full_scale,
    calibrated_layer,
    calibrated_array,
    calibrated_column,
    calibrated_slice,
    calibrated_plane,
    calibrated_slice_plane,
    oracle,
};

// `relative`: sigma scales with the programmed conductance (sigma * g);
// `absolute`: sigma is a fraction of the full conductance range (sigma * (g_on - g_off)).
enum class NoiseMode { relative, absolute };

enum class CalibrationMethod { minmax, percentile, mse, kl };

// Weight code sets: `uniform` integer codes of quant.weight_bits, `binary` {-a, +a},
// `ternary` {-a, 0, +a}.
enum class WeightMode { uniform, binary, ternary };

// One input of an estimator: a field of the device, a parameter of the YAML entry or
// the estimator's documented default. The texts are views of the estimator registry's
// static strings (no allocation when a sweep re-prices a variant).
struct EstimateInput {
    std::string_view name;  // "bits"
    double value = 0;
    std::string_view unit;  // "bits", "nm", "V", "" (dimensionless)
    std::string_view from;  // "array.adc.bits", "parameter", "default: Murmann survey ..."

    bool operator==(const EstimateInput&) const = default;
};

// A cost computed by a named estimator (docs/cost-estimators.md):
// `{model: NAME, <param>: N, ..., anchor: {value: N, <input>: N, ...}, source: "..."}`.
// With an anchor the price is anchor.value x model(inputs) / model(inputs at the anchor):
// the published figure at its operating point, scaled by the model away from it.
struct CostEstimate {
    std::string model;                                  // registered estimator name
    std::vector<std::pair<std::string, double>> params; // as given in the YAML
    std::optional<double> anchor_value;                 // the published figure
    std::vector<std::pair<std::string, double>> anchor_at;  // the inputs it was published at
    // Filled when the device is read (views of the registry's static strings):
    std::string_view formula;    // the model's: "E = FoM_W * 2^bits * S(node, V) / S(fom_node, V)"
    std::string_view reference;  // where the model and its constants come from
    std::vector<EstimateInput> inputs;  // every input the formula read, in order
    double model_value = 0;             // the model's own figure at `inputs`
    double model_value_at_anchor = 0;   // ... at the anchor's operating point (anchored only)

    bool operator==(const CostEstimate&) const = default;
};

// One per-component energy, latency or area figure and where it came from.
struct Cost {
    double value = 0;
    std::string source;  // the YAML `source:` citation; empty if the YAML gave a bare number
    std::optional<CostEstimate> estimate;  // set when an estimator computed `value`

    bool operator==(const Cost&) const = default;
};

struct ChipSpec {
    int tiles = 1;                  // tiles per chip
    int macros_per_tile = 1;        // macros (arrays) per tile
    std::optional<int> max_chips;   // nullopt: as many chips as the model needs
    double clock_mhz = 0;           // digital clock

    bool operator==(const ChipSpec&) const = default;
};

struct AdcSpec {
    AdcRange range = AdcRange::none;
    int bits = 0;                   // 0 exactly when range == none
    int cols_per_adc = 1;           // columns sharing one ADC (converted one after another)

    bool operator==(const AdcSpec&) const = default;
};

struct ArraySpec {
    int rows = 0, cols = 0;                   // physical
    int usable_rows = 0, usable_cols = 0;     // what the mapper may use
    int max_active_rows = 0;                  // rows summed in one read (<= usable_rows)
    int bias_rows = 0;                        // extra rows for the bias, not counted in rows
    int bias_row_input = 0;                   // input code driven on bias rows
    std::optional<std::int64_t> capacity_bits;  // stated capacity, cross-checked when given
    bool multi_layer = false;                 // several layers' weight blocks may share one array
    // Conv groups packed block-diagonally into one array, at most (none: as many as fit). Packed
    // groups are read together, so with a finite ON/OFF ratio each column sees every group's leak.
    std::optional<std::int64_t> max_groups_per_array;
    AdcSpec adc;

    bool operator==(const ArraySpec&) const = default;
};

struct CellSpec {
    int bits = 1;                   // bits stored per cell (levels = 2^bits)
    double on_off_ratio = 0;        // g_on / g_off; +inf means off cells conduct nothing

    bool operator==(const CellSpec&) const = default;
};

struct WeightSpec {
    int bits = 8;                   // code width including the sign
    int clip = 127;                 // codes are clipped to [-clip, clip]
    WeightEncoding encoding = WeightEncoding::differential;
    OffsetReference offset_reference = OffsetReference::converted;  // offset encoding only
    LeakReference leak_reference = LeakReference::none;             // two's-complement encoding only
    DifferentialReadout differential_readout = DifferentialReadout::digital;  // differential encoding only

    bool operator==(const WeightSpec&) const = default;
};

struct InputSpec {
    int bits = 8;                   // activation code width entering the array
    InputMode mode = InputMode::bit_serial;
    int dac_bits = 1;               // bits applied per array cycle (== bits for multi_bit)
    SignedInputHandling signed_handling = SignedInputHandling::offset;

    bool operator==(const InputSpec&) const = default;
};

struct OutputSpec {
    std::optional<int> bits;        // result width after the shift; nullopt: full precision
    int shift_bits_min = 0;         // the result is divided by G = 2^n, n in [min, max]
    int shift_bits_max = 0;

    bool operator==(const OutputSpec&) const = default;
};

struct EnergySpec {
    std::optional<Cost> array_read_pj_per_column;  // at least one of these two is given
    std::optional<Cost> array_read_pj_per_cell;
    Cost row_drive_pj_per_row;                     // per active row per input cycle
    std::optional<Cost> adc_pj_per_conversion;     // given exactly when there is an ADC
    Cost shift_add_pj_per_op;
    Cost input_buffer_pj_per_byte;
    Cost output_buffer_pj_per_byte;
    Cost interconnect_pj_per_byte;                 // per byte per hop between tiles
    std::optional<Cost> chip_link_pj_per_byte;     // nullopt only when max_chips == 1
    Cost digital_pj_per_op;
    std::optional<Cost> weight_program_pj_per_cell;  // nullopt: unknown
    Cost leakage_mw_per_tile;
    // Data densities at which the row-drive and array-read energies above hold;
    // the cost model scales them by measured densities (docs/cost-model.md).
    double reference_input_density = 0.5;
    double reference_weight_density = 0.5;

    bool operator==(const EnergySpec&) const = default;
};

struct LatencySpec {
    Cost array_read_ns;                            // one array cycle (one input cycle)
    std::optional<Cost> adc_ns_per_conversion;     // given exactly when there is an ADC
    bool pipelined = true;                         // array read overlaps the previous cycle's conversions
    Cost buffer_ns_per_byte;
    Cost interconnect_ns_per_byte;
    std::optional<Cost> chip_link_ns_per_byte;     // nullopt only when max_chips == 1
    Cost digital_ns_per_op;
    std::optional<Cost> weight_program_ns_per_row; // nullopt: unknown

    bool operator==(const LatencySpec&) const = default;
};

struct AreaSpec {
    Cost array_um2;                 // per array: cells (and drivers when not split out)
    Cost row_driver_um2;            // per row of an array
    std::optional<Cost> adc_um2;    // per ADC; given exactly when there is an ADC
    Cost shift_add_um2;             // per array
    Cost macro_other_um2;           // per array: S&H, registers, capacitors, ...
    Cost tile_buffer_um2;           // per tile
    Cost tile_other_um2;            // per tile: router, digital units, control
    Cost chip_other_um2;            // per chip: I/O, chip links

    bool operator==(const AreaSpec&) const = default;
};

// A digital NPU (kind digital_npu): a rows x cols array of MACs, SRAM buffers, DRAM.
struct NpuSpec {
    int rows = 0, cols = 0;             // MACs: rows take the reduction (K), columns the outputs (N)
    int precision_bits = 8;             // INT8 or INT16 operands
    Dataflow dataflow = Dataflow::systolic;
    double clock_mhz = 0;
    double weight_buffer_kib = 0;       // on-chip weight staging (double-buffered tiles)
    double activation_buffer_kib = 0;   // on-chip activations (unified buffer)
    double dram_gb_per_s = 0;           // off-chip bandwidth
    int vector_ops_per_cycle = 1;       // element ops (activation, pooling, ...) per cycle
    Cost mac_pj;                        // one multiply-accumulate
    Cost sram_pj_per_byte;              // buffer read or write
    Cost dram_pj_per_byte;
    Cost vector_pj_per_op;
    Cost static_mw;                     // clock tree, control, leakage, I/O while running
    std::optional<Cost> chip_um2;       // nullopt: area unknown

    bool operator==(const NpuSpec&) const = default;
};

// An FPGA computing with its DSP slices (kind fpga_dsp): DSP48E2-like 27x18 multipliers with a
// 48-bit accumulator, BRAM buffers, LUT fabric, DRAM.
struct FpgaSpec {
    int dsp_slices = 0;
    int luts = 0;                       // the fabric's LUTs
    int luts_per_dsp = 0;               // glue logic one busy DSP needs (operand muxing, control)
    double bram_kib = 0;                // block RAM
    double clock_mhz = 0;
    int precision_bits = 8;
    bool int8_packing = true;           // two INT8 MACs sharing an operand per DSP per cycle
    double dram_gb_per_s = 0;
    int vector_ops_per_cycle = 1;
    Cost dsp_pj_per_cycle;              // one busy DSP slice for one cycle (fabric routing included)
    Cost bram_pj_per_byte;
    Cost dram_pj_per_byte;
    Cost fabric_pj_per_op;              // element ops in LUTs
    std::optional<Cost> static_mw;      // nullopt: unknown (energy totals then unknown)
    std::optional<Cost> chip_um2;       // nullopt: area unknown

    bool operator==(const FpgaSpec&) const = default;
};

struct NoiseSpec {
    double programming_sigma = 0;
    NoiseMode programming_sigma_mode = NoiseMode::relative;
    double read_sigma = 0;          // per read, fraction of the conductance range
    double stuck_on_rate = 0, stuck_off_rate = 0;
    double drift_nu = 0, drift_t0_s = 1, drift_time_s = 1;  // g(t) = g * (t / t0)^-nu
    double ir_drop = 0;
    double adc_sigma_lsb = 0, adc_offset_lsb = 0;

    bool operator==(const NoiseSpec&) const = default;
};

// Defaults for quant/ (the quantizer may override them per run).
struct QuantDefaults {
    int weight_bits = 8, activation_bits = 8;
    bool per_channel = true;
    bool symmetric = true;
    CalibrationMethod calibration = CalibrationMethod::minmax;
    double percentile = 99.99;
    int calibration_samples = 256;
    bool power_of_two_scales = false;
    int bias_bits = 32;
    WeightMode weight_mode = WeightMode::uniform;
    CalibrationMethod weight_calibration = CalibrationMethod::minmax;
    bool weight_full_range = false;     // codes span [-weight.clip, weight.clip] at weight.bits
    bool cle = false;                   // cross-layer equalization
    bool bias_correction = false;
    bool adaround = false;
    int adaround_iterations = 1000;
    std::optional<int> mixed_precision_budget_arrays;  // nullopt: uniform bit width
    int mixed_precision_min_bits = 2;
    int calibration_seed = 1;
    bool use_model_quantization = true;  // a QDQ model's own codes, scales and zero points

    bool operator==(const QuantDefaults&) const = default;
};

// The digital units at their declared precision (docs/device-schema.md, `digital`).
struct DigitalSpec {
    DigitalArithmetic arithmetic = DigitalArithmetic::float_;
    int activation_bits = 8;    // codes of the operands of softmax, LayerNorm, GELU
    int accumulator_bits = 32;  // sums, products and fixed-point intermediates saturate here
    int matmul_bits = 8;        // operands of a MatMul between two activations (QK^T, AV)
    DigitalFunction softmax = DigitalFunction::lut;
    DigitalFunction gelu = DigitalFunction::lut;

    bool operator==(const DigitalSpec&) const = default;
};

struct DeviceSpec {
    std::string name;
    std::string description;
    DeviceKind kind = DeviceKind::cim;
    Technology technology = Technology::sram_analog;
    int node_nm = 0;
    std::optional<double> supply_v;      // core supply; estimators scale energies with it
    ChipSpec chip;
    ArraySpec array;
    CellSpec cell;
    WeightSpec weight;
    InputSpec input;
    OutputSpec output;
    EnergySpec energy;
    LatencySpec latency;
    AreaSpec area;
    NoiseSpec noise;
    QuantDefaults quant;
    DigitalSpec digital;
    // A digital device's own description (kind digital_npu / fpga_dsp). For those kinds the CIM
    // fields above are not read from the YAML: they describe the exact integer datapath (an
    // all-digital array of ideal cells, no ADC) that the quantizer and simulator run.
    NpuSpec npu;
    FpgaSpec fpga;

    std::string source_path;             // file it came from
    std::vector<std::string> overrides;  // the --set strings applied, in order

    bool operator==(const DeviceSpec&) const = default;
};

// Loads a device by name ("wtm2101") or path, applies `--set path=value`
// overrides and validates. Throws cim::InputError listing every problem as
// `FILE:LINE:COL: path.to.key: problem`.
DeviceSpec load_device(const std::string& name_or_path,
                       const std::vector<std::string>& set_overrides = {});

// Many variants of one device, each the base with its own --set overrides
// (cim-sweep evaluates thousands). The YAML is read once; a variant whose
// overrides each set one key to a plain scalar is made from the parsed spec
// (types, bounds, derived defaults and cross-field rules checked as load_device
// checks them, in microseconds); any other override, and every invalid variant
// (for its exact message), goes through load_device's full path. make() equals
// load_device(name_or_path, base_overrides + overrides) and is thread-safe.
class DeviceVariants {
public:
    explicit DeviceVariants(const std::string& name_or_path, std::vector<std::string> base_overrides = {});
    const DeviceSpec& base() const;
    DeviceSpec make(const std::vector<std::string>& set_overrides) const;

private:
    struct Impl;
    std::shared_ptr<const Impl> impl_;
};

// What is wrong with a --set path on its own, whatever its value: "" when it
// names a key of the schema, else the problem with a suggestion
// ("'array.adc.bit': unknown key; did you mean array.adc.bits?").
std::string override_path_problem(const std::string& path);

// Whether a schema key path (a --set path, "array.adc.bits") belongs to devices of `kind`: the CIM
// sections belong to kind cim only, `npu` to digital_npu, `fpga` to fpga_dsp; the rest to all.
bool path_applies_to(const std::string& path, DeviceKind kind);

// Same, from YAML text; `source_name` stands in for the file in messages.
DeviceSpec parse_device(std::string_view yaml_text, const std::string& source_name,
                        const std::vector<std::string>& set_overrides = {});

// The argument as a path if it exists, else `<configs>/<name>.yaml`, where
// <configs> is $CIMFORGE_CONFIGS, else the source tree's configs/, else
// `<exe dir>/../share/cimforge/configs`. Throws InputError naming the bundled devices.
std::string resolve_device_path(const std::string& name_or_path);

// Names of the bundled configs (file stems), sorted.
std::vector<std::string> bundled_device_names();

// Every energy, latency and area entry with its YAML path ("energy.adc_pj_per_conversion"),
// in schema order; `cost` points into `d` and is null for an entry not given.
// Every schema key of a device (docs/device-schema.md order) with its value: integers as long
// long, enumerations by name, costs with their source and estimate; an unset optional key is
// monostate. What the Python module's cimforge.Device shows as attributes.
using DeviceFieldValue = std::variant<std::monostate, long long, double, bool, std::string, Cost>;
struct DeviceField {
    std::string path;  // "array.adc.bits"
    std::string unit;  // "" when dimensionless
    DeviceFieldValue value;
};
std::vector<DeviceField> device_fields(const DeviceSpec& d);

struct NamedCost {
    std::string path;
    std::string unit;  // "pJ per conversion"
    const Cost* cost;
};
std::vector<NamedCost> list_costs(const DeviceSpec& d);

// The formula of an estimate as it prices: the model's, or with an anchor
// "anchor x model / model(anchor); model: ...".
std::string estimate_formula(const CostEstimate& e);

// Markdown reference of every key, generated from the schema declarations.
std::string device_schema_markdown();

// Derived geometry the mapper and cost model share. The column layout of a weight is
// column_layout() (cim/device/column_layout.h); these two read it at weight.bits.
int weight_slices(const DeviceSpec& d);       // cell digits per weight (per sign for differential)
int columns_per_weight(const DeviceSpec& d);  // columns one output occupies
int adcs_per_array(const DeviceSpec& d);      // 0 without an ADC
// Digital readings (conversions, with an ADC) per column read: 1/2 when differential pairs are
// subtracted on the bit lines (weight.differential_readout analog: one per pair), else 1.
double readings_per_column(const DeviceSpec& d);
int input_cycles(const DeviceSpec& d);        // array cycles per input vector: ceil(bits / dac_bits)
// Area (um^2) from the area entries: one array with its drivers, ADCs, shift-add and other
// periphery; one tile (its arrays, buffer and other logic).
double array_area_um2(const DeviceSpec& d);
double tile_area_um2(const DeviceSpec& d);

std::string_view to_string(Technology v);
std::string_view to_string(DeviceKind v);
std::string_view to_string(Dataflow v);
std::string_view to_string(WeightEncoding v);
std::string_view to_string(OffsetReference v);
std::string_view to_string(LeakReference v);
std::string_view to_string(DifferentialReadout v);
std::string_view to_string(InputMode v);
std::string_view to_string(SignedInputHandling v);
std::string_view to_string(AdcRange v);
// True for the ranges set from calibration data (calibrated_*).
bool adc_range_calibrated(AdcRange v);
std::string_view to_string(NoiseMode v);
std::string_view to_string(CalibrationMethod v);
std::string_view to_string(WeightMode v);

}  // namespace cim
