// The functional simulator: the quantizer's integer program with every
// weight-stationary layer read through modelled crossbars (cim/cimsim/crossbar.h),
// Monte-Carlo over chip instances, accuracy with a confidence interval, and the
// error each layer adds. See docs/simulator.md.
#pragma once

#include <cim/cimsim/adc_ranges.h>
#include <cim/cimsim/metrics.h>
#include <cim/cimsim/crossbar.h>
#include <cim/mapper/mapping.h>
#include <cim/quant/program.h>
#include <cim/quant/quantizer.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace cim::sim {

// Where calibrated ADC ranges come from (array.adc.range: calibrated_*). Both take the largest
// |column sum| of every read of the calibration images, before noise and the ADC.
enum class AdcCalibration {
    // The nominal conductances (the digits as programmed, with the ON/OFF leak and drift, without
    // programming error or stuck cells): the ranges of the design, computed once from exact integer
    // column sums and shared by every chip instance.
    nominal,
    // Each chip instance's own programmed conductances (a chip trimmed after programming), through
    // the float bit-plane sums, once per instance. Equal to nominal for ideal cells.
    per_instance,
};

// The mapper's placement of a quantized model's array layers, as the simulator reads it: the graph at
// batch 1, each layer at the weight width the quantizer gave it (docs/simulator.md, "Tiling").
Mapping simulation_mapping(const quant::QuantizedModel& model, const DeviceSpec& device);

// An MvmBackend that programs every QuantLayer's cell digits onto crossbars of one
// chip instance and reads them with the device's non-idealities. The arrays are tiled as the
// mapping places them (outputs and rows per array); without one, simulation_mapping's.
class CrossbarBackend : public quant::MvmBackend {
public:
    CrossbarBackend(const quant::QuantizedModel& model, const DeviceSpec& device, uint64_t seed, uint64_t instance);
    CrossbarBackend(const quant::QuantizedModel& model, const DeviceSpec& device, uint64_t seed, uint64_t instance,
                    const Mapping& mapping);
    ~CrossbarBackend() override;

    void mvm(const quant::QuantLayer& layer, int group, const int32_t* x, int64_t vectors, int64_t* acc,
             const quant::MvmContext& ctx) override;
    // Conv groups the mapping packs block-diagonally into one array (groups_per_array) are read
    // together, as that array reads them: every group's rows driven at once.
    int64_t groups_per_call(const quant::QuantLayer& layer) const override;

    // Calibrated ADC ranges: while calibrating, mvm() observes column sums and returns the
    // exact result (so activations follow the integer program); finish fixes the ranges.
    void begin_calibration(AdcCalibration mode = AdcCalibration::nominal) {
        calibrating_ = true;
        calibration_mode_ = mode;
    }
    void finish_calibration();
    // [layer][array block: one group, or the groups packed in one array][read group x column]:
    // what calibration observed, or the ADC ranges in force.
    using ColumnValues = std::vector<std::vector<std::vector<double>>>;
    ColumnValues calibration_maxima() const;
    ColumnValues adc_ranges() const;
    // Fixes the ranges from another backend's observations of the same model (nominal
    // calibration: one pass serves every chip instance).
    void calibrate_from(const ColumnValues& maxima);
    // Replaces the ranges of the named layers (every group, every ADC) by the given ones.
    void set_layer_ranges(const std::map<std::string, double>& ranges);

    // Per layer: error energy of the simulated accumulators against the exact ones on the same
    // inputs (over the calls set_snr_images admits), and ADC statistics (over every call).
    struct LayerStats {
        std::string name;
        double signal = 0, error = 0;  // sums of squares
        int64_t compared = 0;          // accumulators compared with the exact GEMM
        bool exact_plan = false;       // every group reads by one exact GEMM: nothing to compare
        int64_t conversions = 0, clipped = 0;
        bool exact() const { return exact_plan || (compared > 0 && !(error > 0)); }
        // +inf for an exact layer, NaN for one with nothing compared.
        double snr_db() const;
    };
    std::vector<LayerStats> layer_stats() const;
    bool all_exact() const;
    // The exact reference GEMM behind the per-layer SNR costs as much as an ideal read: run it only
    // for calls whose first item is below `images` (negative: every call).
    void set_snr_images(int64_t images) { snr_images_ = images; }
    // One past the last item a compared call covered (0 when none was).
    int64_t snr_items_end() const;
    // Tests of the identity: read through bit planes and ADCs even where one GEMM is exact.
    void force_bitplanes(bool on);
    // Tests: every layer's column sums by this kernel where the layer supports it (CrossbarLayer::force_kernel).
    void force_kernel(SumKernel k);

    // Builds the programmed matrix of one group, tiled as `placed` says (a CIM device's mapping of the
    // layer; null: from the device's array size, as a digital device's MAC engine has no arrays).
    // Exposed for tests.
    static ProgrammedMatrix program(const quant::QuantLayer& layer, int group, const DeviceSpec& device,
                                    const LayerMapping* placed = nullptr);
    // The array of `count` groups packed block-diagonally from `first`: each group's columns (its
    // own reference columns too) hold its digits on its rows and digit 0 (an off cell, which leaks
    // g_off) on the others' rows; outputs group by group.
    static ProgrammedMatrix program_block(const quant::QuantLayer& layer, int first, int count, const DeviceSpec& device,
                                          const LayerMapping& placed);

private:
    ColumnValues per_group(const std::vector<double>& (CrossbarLayer::*field)() const) const;
    // Read scratch, one per concurrent mvm call, taken from a pool and given back: each is reserved
    // for every layer when made (and again when a kernel is forced), so reads allocate nothing
    // after a thread's first call.
    struct Scratch;
    Scratch& take_scratch();
    void give_back(Scratch& s);
    void reserve(Scratch& s) const;
    void reserve_all();  // after a change of plan (forced kernel, calibrated ranges)

    const quant::QuantizedModel& model_;
    size_t layer_index(const quant::QuantLayer& layer) const;  // checked: a layer of model_
    // The exact integer result of a call of `count` groups (each group's GEMM on its own rows).
    void exact_mvm(const quant::QuantLayer& layer, int group, int64_t count, const int32_t* x, int64_t vectors, int64_t* acc,
                   const quant::MvmContext& ctx, Scratch& s);

    std::vector<std::vector<CrossbarLayer>> layers_;  // [layer][array block]
    std::vector<int64_t> groups_per_block_;           // [layer]: 1, or the groups packed in one array
    std::vector<std::string> names_;
    bool calibrating_ = false;
    AdcCalibration calibration_mode_ = AdcCalibration::nominal;
    bool force_bitplanes_ = false;
    int64_t snr_images_ = -1;
    int64_t snr_items_end_ = 0;
    quant::ExactMvmBackend exact_;
    mutable std::mutex mutex_;
    std::vector<std::unique_ptr<Scratch>> scratch_;  // every one made (under mutex_)
    std::vector<Scratch*> free_scratch_;             // those not in use
    // Per layer and (first item, group) of an mvm call: signal and error energy, summed in key
    // order by layer_stats() (floating-point sums in thread-completion order would differ in the last bits).
    struct ChunkEnergy {
        double signal = 0, error = 0;
        int64_t compared = 0;
    };
    std::vector<std::map<std::pair<int64_t, int>, ChunkEnergy>> chunk_energy_;
};

struct SimOptions {
    uint64_t seed = 1;
    int instances = 1;
    int64_t batch = 250;                      // images per executor call
    int calibration_images = 256;             // for calibrated ADC ranges (from the training set)
    AdcCalibration adc_calibration = AdcCalibration::nominal;
    std::function<void(int64_t done, int64_t total)> progress;  // images simulated so far
    std::function<void(int64_t done, int64_t total)> calibration_progress;  // ADC calibration samples, per instance
    // The float model's first output for every test sample: the reference of the label-free
    // metrics (agreement, SNR, KL). Without it, and without labels, nothing can be scored.
    const Tensor* reference_outputs = nullptr;
    // Nodes whose first output is kept for every test item, from the first chip instance
    // (SimResult::captured_*): for looking inside a layer. Each costs its output's size in memory
    // and an exact run of the integer program over the test set.
    std::vector<std::string> capture_nodes;
    // Trained ADC ranges (cim-sim --adc-ranges): the named layers convert with these ranges instead of
    // calibrated ones, in every chip instance. Needs a calibrated array.adc.range; names must be array layers.
    const AdcRangeFile* adc_ranges = nullptr;
    // The per-layer SNR compares each read with an exact integer GEMM of the same inputs, which costs
    // as much as an ideal read: only the calls that start within the first `snr_images` test images
    // are compared; negative compares all. Accuracy and ADC statistics cover every image.
    int64_t snr_images = 1000;
};

struct SimResult {
    int64_t images = 0;
    int instances = 0;
    double float_accuracy = 0, quant_accuracy = 0;  // float graph; integer program (ideal arrays)
    // The headline figure per instance: accuracy against labels, or, without labels, top-1
    // agreement with the float model (NaN when neither applies).
    std::vector<double> instance_accuracy;
    double mean_accuracy = 0, ci95_half_width = 0;  // Student-t interval over instances (0 for one instance)
    std::vector<OutputMetrics> instance_metrics;      // every metric, per instance
    OutputMetrics mean_metrics, ci95_metrics;         // their means and 95 % half widths over instances
    std::vector<CrossbarBackend::LayerStats> layers; // summed over instances
    int64_t snr_images = 0;  // test items behind the per-layer SNR, per instance (0 when every layer is exact)
    bool exact = false;                             // every read was exact (identity expected)
    double seconds = 0;
    double adc_calibration_seconds = 0;  // the ADC-range calibration pass (all instances)
    double simulation_seconds = 0;       // the test images through the simulated arrays (all instances)
    // Per SimOptions::capture_nodes name, its output on every test item: read through the first
    // chip instance's arrays, and from the integer program on ideal arrays (the same inputs to the
    // network; the difference is the error of this layer and of every array layer before it).
    std::map<std::string, Tensor> captured_simulated, captured_exact;
};

// Simulates `instances` chip instances on the labelled test data. `calibration` is drawn
// from the training set (used for calibrated ADC ranges); both feed every graph input. A graph
// that pins a batch of 1 (cim/ir/batch.h) runs one item at a time.
SimResult simulate(const quant::QuantizedModel& model, const DeviceSpec& device, const quant::LabeledData& test,
                   const SampleSet& calibration, double float_accuracy, double quant_accuracy, const SimOptions& options);

// 95% two-sided Student-t half width for the mean of `values`.
double ci95_half_width(const std::vector<double>& values);

}  // namespace cim::sim
