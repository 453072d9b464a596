// The functional crossbar model of one weight-stationary layer (one conv group):
// cell digits on arrays, bit-serial or multi-bit inputs, column sums over at most
// max_active_rows rows, an ADC per read, digital shift-add. See docs/simulator.md.
//
// Units: conductances are in "digit units": one level step of a cell is 1, so an
// ideal cell holding digit d conducts d (plus g_off = (2^cell_bits - 1) / (on_off_ratio - 1)
// when the ON/OFF ratio is finite). An input plane value times a conductance is
// the charge one read adds to its column.
#pragma once

#include <cim/device/device_spec.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cim::sim {

// A layer as it is programmed: K' rows x J columns of cell digits. Column j
// belongs to output col_output[j] and is weighed by col_factor[j] in the digital
// shift-add (e.g. +4^s / -4^s for slice s of a differential pair). Rows are the
// array inputs as the array sees them (unsigned codes; a positive/negative input
// split appears as twice the rows).
struct ProgrammedMatrix {
    int64_t rows = 0, cols = 0, outputs = 0;
    std::vector<int16_t> digits;       // rows x cols, row-major; < 2^cell_bits, or signed for native_signed cells
    // Column j adds col_factor[j] x its reading to outputs [col_output[j], col_output_end[j]):
    // one output for a weight column, all outputs of its array for an offset reference column.
    std::vector<int64_t> col_output;      // cols
    std::vector<int64_t> col_output_end;  // cols; empty: col_output + 1
    std::vector<int64_t> col_factor;      // cols
    // 1 marks a reference column (empty: none): the offset encoding's, or a column of digit-0 cells
    // standing for the off-cell leak (weight.leak_reference digital). With digital_reference the
    // reference columns are not on the array at all: the periphery
    // adds their nominal reading (digit and off-cell leak times the plane's input sum), exactly.
    std::vector<uint8_t> col_reference;   // cols or empty
    bool digital_reference = false;
    int64_t cols_per_array = 0;        // columns one array holds (for per-array ADC ranges); 0: all
    int64_t rows_per_array = 0;        // rows one array holds (the mapper's row tile); 0: array.usable_rows
    bool signed_inputs = false;        // two's-complement input codes: the top input bit weighs negative
    bool bipolar_inputs = false;       // signed codes driven as +-V: the planes of |x| with the sign of x
    // Analog differential readout (empty: none): for a W+ column the index of its W- column, whose
    // current the bit line subtracts before one bipolar conversion; -1 for every other column.
    std::vector<int64_t> col_minus;
};

// Where each ADC's range came from and how often it clipped.
struct AdcStats {
    int64_t conversions = 0;
    int64_t clipped = 0;  // conversions outside the codes (above the top code; below the bottom one of a bipolar ADC)
};

// How the bit-plane path forms its column sums: by popcount over the cell digits packed as bits
// (cells exact in integers: no programming error, no stuck cells), by int8 dot products of the
// plane values with the digits (the same cells, digits within +-127 and planes of at most 8 bits),
// or by adding the stored float conductance rows of the inputs whose plane bit is set (any cells).
// Chosen when the layer is planned.
// fixed_rows: the conductance rows of cells with programming variation in 16-bit fixed point, added in
// int16 lanes (twice float's per instruction), for 1-bit input planes (docs/simulator.md, "Fixed-point rows").
enum class SumKernel { automatic, popcount, int8_dot, float_rows, fixed_rows };

// The scratch of reads (input bits or bytes, column sums, noise draws, per-column accumulators):
// one per thread, sized once by CrossbarLayer::reserve for the largest block of every layer it
// serves, so that reads through it allocate nothing. Never used by two threads at once.
class ReadWorkspace {
public:
    ReadWorkspace();
    ~ReadWorkspace();
    ReadWorkspace(ReadWorkspace&&) noexcept;
    ReadWorkspace& operator=(ReadWorkspace&&) noexcept;
    size_t capacity_bytes() const;  // what its buffers hold
    struct Buffers;  // internal (cimsim/src/read_workspace.h)
    Buffers& buffers() { return *buffers_; }

private:
    std::unique_ptr<Buffers> buffers_;
};

class CrossbarLayer {
public:
    // Programs one chip instance: programming error, stuck cells, drift, ON/OFF leak and
    // IR drop are folded into the stored conductances here, drawn from (seed, instance, layer, group).
    // Every random stream is keyed by one mixing function of those coordinates (and the chunk, for reads).
    CrossbarLayer(const DeviceSpec& device, ProgrammedMatrix matrix, uint64_t seed, uint64_t instance, uint64_t layer,
                  uint64_t group = 0);
    ~CrossbarLayer();
    CrossbarLayer(CrossbarLayer&&) noexcept;

    // True when every read is represented exactly (ideal cells, no noise, an ADC that
    // covers every column sum with unit LSB, or no ADC): the layer is then one GEMM.
    bool exact() const;

    // Calibrated ADC ranges: observe column sums on calibration inputs (x as in run()).
    void observe_for_calibration(const int32_t* x, int64_t vectors);
    // The same in two steps, so threads observe in parallel: the largest |column sum| per read
    // group and column goes into `maxima` (the caller's, sized on first use), then is merged
    // under the caller's lock. Maxima commute: the ranges do not depend on the thread count.
    void observe_for_calibration(const int32_t* x, int64_t vectors, std::vector<double>& maxima) const;
    void merge_calibration(const std::vector<double>& maxima);
    // The same statistic on the nominal conductances (the digits as programmed, without programming
    // error or stuck cells; drift and the ON/OFF leak included), exact from integer popcounts:
    // what the ranges of a design are set from, the same for every chip instance. The ranges equal
    // observe_for_calibration's when the cells are ideal, up to that path's float rounding. Reads
    // that cannot raise what `maxima` already holds are skipped (seed it with what was observed so
    // far); with a per-layer range, only the layer's largest column maximum is then exact.
    void observe_nominal(const int32_t* x, int64_t vectors, std::vector<double>& maxima) const;
    // Fixes the ranges from what was observed (the largest column sum per layer / array / column).
    void finish_calibration();
    // Every ADC of the layer converts `range` (a trained range, cim-sim --adc-ranges), whatever the
    // calibrated granularity; at least 1, as calibrated ranges. Ignored without a calibrated range.
    void set_range(double range);
    // What was observed (read groups x columns; read groups x input planes x columns for the
    // per-plane granularities) and the ADC ranges in force (the same shape).
    const std::vector<double>& calibration_maxima() const;
    const std::vector<double>& adc_ranges() const;

    // x: vectors x rows unsigned input codes; out: vectors x outputs, sum_j factor_j * reading_j.
    // `chunk_id` (the first item of the call) keys the read-noise stream so results do not depend
    // on how work is split.
    void run(const int32_t* x, int64_t vectors, double* out, uint64_t chunk_id) const;
    // The same through a workspace this layer has reserved (no allocation). `first_vector`: where x
    // starts in the call keyed by chunk_id, so that a call split into blocks draws the same noise.
    void run(const int32_t* x, int64_t vectors, double* out, uint64_t chunk_id, ReadWorkspace& ws, int64_t first_vector = 0) const;
    // Grows `ws` to what this layer's reads need (the planned or forced kernel; the one-GEMM
    // shortcut's block of inputs). Idempotent; a workspace can serve many layers.
    void reserve(ReadWorkspace& ws) const;
    // Vectors the one-GEMM shortcut multiplies at once (its input block is reserved for this many).
    static constexpr int64_t kExactBlock = 256;
    // The same, forced through the bit-plane path even when exact() (for tests of the identity).
    void run_bitplanes(const int32_t* x, int64_t vectors, double* out, uint64_t chunk_id) const;

    // Tests: make run() take the bit-plane path even when exact().
    void force_bitplanes(bool on);
    // Tests: use this kernel (only one the layer supports) instead of the plan's choice.
    void force_kernel(SumKernel k);
    // Whether force_kernel(k) can take k: popcount and int8_dot need cells exact in integers, and
    // int8_dot digits within +-127 and input planes of at most 8 bits.
    bool supports(SumKernel k) const;
    // The kernel the plan chose for the bit-plane path (popcount, int8_dot or float_rows), whatever is forced.
    SumKernel kernel() const;

    AdcStats adc_stats() const;
    int64_t rows() const;
    int64_t outputs() const;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace cim::sim
