#include <cim/cimsim/simulator.h>

#include <cim/ir/batch.h>
#include <cim/ir/onnx_import.h>
#include <cim/error.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace cim::sim {

namespace {

// The mapper and the quantizer describe a layer's columns with one function (cim/device/column_layout.h);
// a placement whose geometry differs from the digits the quantizer programmed is a bug, not an input.
void check_placement(const quant::QuantLayer& L, const LayerMapping& lm, const ColumnLayout& programmed) {
    std::string differs;
    auto compare = [&](const char* what, int64_t mapped, int64_t quantized) {
        if (mapped != quantized) differs += fmt::format("{}{} {} (mapper) vs {} (quantizer)", differs.empty() ? "" : ", ", what, mapped, quantized);
    };
    compare("rows per vector", lm.rows_per_vector, L.rows());
    compare("outputs", lm.n, L.N);
    compare("groups", lm.groups, L.groups);
    if (lm.placement != Placement::arrays) differs += std::string(differs.empty() ? "" : ", ") + "not placed on arrays";
    // The mapper places a layer at its storage width; codes that need fewer columns (ternary, a QDQ
    // model's narrower range) leave the rest of each output's columns unused, never the reverse.
    if (lm.cols_per_output < programmed.columns_per_output || lm.reference_cols < placed_reference_columns(programmed))
        differs += fmt::format("{}columns per output {} + {} reference (mapper) vs {} + {} (quantizer)", differs.empty() ? "" : ", ",
                               lm.cols_per_output, lm.reference_cols, programmed.columns_per_output,
                               placed_reference_columns(programmed));
    if (lm.rows_per_array < 1 || lm.outputs_per_array < 1) differs += std::string(differs.empty() ? "" : ", ") + "no array geometry";
    if (!differs.empty()) throw InternalError("layer '" + L.name + "': the mapping differs from the quantized layer: " + differs);
}

// Vectors per read of an mvm call: the scratch's output block holds this many outputs of the widest layer.
constexpr int64_t kOutBlock = CrossbarLayer::kExactBlock;

}  // namespace

struct CrossbarBackend::Scratch {
    ReadWorkspace reads;
    std::vector<double> out;  // kOutBlock x the widest layer's outputs
    // One group's rows and exact results within a packed block (kOutBlock vectors).
    std::vector<int32_t> group_x;
    std::vector<int64_t> group_acc;
};

Mapping simulation_mapping(const quant::QuantizedModel& model, const DeviceSpec& device) {
    MapOptions options;
    options.duplicate = false;          // copies change throughput, not what one read computes
    options.skip_zero_arrays = false;   // an all-zero array still reads (its leak and noise)
    for (const quant::QuantLayer& L : model.layers)
        if (L.weight_bits >= 2 && L.weight_bits < device.weight.bits) options.layer_weight_bits[L.name] = L.weight_bits;
    return map_model(specialize_batch(model.graph, 1), device, options);
}

double CrossbarBackend::LayerStats::snr_db() const {
    if (exact()) return INFINITY;
    if (compared == 0) return NAN;
    return 10.0 * std::log10(signal / error);
}

ProgrammedMatrix CrossbarBackend::program(const quant::QuantLayer& L, int g, const DeviceSpec& d, const LayerMapping* lm) {
    const quant::CellDigits& cd = L.digits;
    const int64_t rows = L.rows(), N = L.N, cpo = cd.layout.columns_per_output;
    const int64_t refs = cd.layout.reference_columns;
    ColumnLayout placed = cd.layout;  // as the mapper tiles: reference columns only when converted
    placed.reference_on_array = d.weight.offset_reference == OffsetReference::converted;
    if (lm) check_placement(L, *lm, placed);
    const int64_t P = lm ? lm->outputs_per_array : outputs_per_array(placed, d.array.usable_cols);
    if (P < 1) throw InputError(d.source_path + ": an array cannot hold one output");
    const int64_t tiles = (N + P - 1) / P;
    // weight.leak_reference digital: the periphery subtracts the nominal off-cell leak of every output's
    // columns. A column of digit-0 cells per array reads exactly that leak per unit column weight; it is
    // computed, not placed (a digital reference), weighted by minus the sum of the column weights.
    const int64_t leak_cols = d.weight.leak_reference == LeakReference::digital ? tiles : 0;
    ProgrammedMatrix pm;
    pm.rows = rows;
    pm.rows_per_array = lm ? lm->rows_per_array : 0;
    pm.outputs = N;
    pm.cols = N * cpo + tiles * refs + leak_cols;
    // Digital references are not on the arrays: they follow the weight columns of all tiles, one set
    // per tile, outside the per-array column count.
    pm.digital_reference = (refs > 0 && !placed.reference_on_array) || leak_cols > 0;
    pm.cols_per_array = P * cpo + (pm.digital_reference ? 0 : refs);
    pm.signed_inputs = L.input.realization == quant::InputRealization::twos_complement;
    pm.bipolar_inputs = L.input.realization == quant::InputRealization::bipolar;
    // Analog differential readout: W+ digit c of an output pairs with W- digit c, cpo / 2 columns on.
    const bool analog_pairs = cd.encoding == WeightEncoding::differential && d.weight.differential_readout == DifferentialReadout::analog;
    if (analog_pairs) pm.col_minus.assign(size_t(pm.cols), -1);
    pm.digits.assign(size_t(rows * pm.cols), 0);
    if (refs > 0 || leak_cols > 0) pm.col_reference.assign(size_t(pm.cols), 0);
    int64_t j = 0;
    auto add_references = [&](int64_t n0, int64_t n1) {  // offset encoding: one reference set per array
        for (int64_t c = 0; c < refs; ++c, ++j) {
            pm.col_output.push_back(n0);
            pm.col_output_end.push_back(n1);
            pm.col_factor.push_back(cd.reference_weight[size_t(c)]);
            pm.col_reference[size_t(j)] = 1;
            for (int64_t r = 0; r < rows; ++r) pm.digits[size_t(r * pm.cols + j)] = cd.reference_digit[size_t(c)];
        }
    };
    for (int64_t t = 0; t < tiles; ++t) {
        const int64_t n0 = t * P, n1 = std::min(N, n0 + P);
        for (int64_t n = n0; n < n1; ++n)
            for (int64_t c = 0; c < cpo; ++c, ++j) {
                if (analog_pairs && c < cpo / 2) pm.col_minus[size_t(j)] = j + cpo / 2;
                pm.col_output.push_back(n);
                pm.col_output_end.push_back(n + 1);
                pm.col_factor.push_back(cd.column_weight[size_t(c)]);
                for (int64_t r = 0; r < rows; ++r) pm.digits[size_t(r * pm.cols + j)] = L.digit(g, r, n, int(c));
            }
        if (placed.reference_on_array) add_references(n0, n1);
    }
    if (refs > 0 && !placed.reference_on_array)
        for (int64_t t = 0; t < tiles; ++t) add_references(t * P, std::min(N, (t + 1) * P));
    if (leak_cols > 0) {
        int64_t weight_sum = 0;
        for (int64_t w : cd.column_weight) weight_sum += w;
        for (int64_t t = 0; t < tiles; ++t, ++j) {  // digits stay 0
            pm.col_output.push_back(t * P);
            pm.col_output_end.push_back(std::min(N, (t + 1) * P));
            pm.col_factor.push_back(-weight_sum);
            pm.col_reference[size_t(j)] = 1;
        }
    }
    return pm;
}

ProgrammedMatrix CrossbarBackend::program_block(const quant::QuantLayer& L, int first, int count, const DeviceSpec& d,
                                                const LayerMapping& lm) {
    CIM_INTERNAL_CHECK(count >= 1 && first + count <= L.groups, "group block");
    std::vector<ProgrammedMatrix> parts;
    for (int i = 0; i < count; ++i) parts.push_back(program(L, first + i, d, &lm));
    const ProgrammedMatrix& p0 = parts[0];
    if (count == 1) return std::move(parts[0]);
    ProgrammedMatrix pm;
    pm.rows = p0.rows * count;
    pm.cols = p0.cols * count;
    pm.outputs = p0.outputs * count;
    CIM_INTERNAL_CHECK(pm.rows <= lm.rows_per_array, "a packed block taller than an array");
    pm.rows_per_array = lm.rows_per_array;
    pm.cols_per_array = 0;  // one array: the mapper packs only what fits
    pm.digital_reference = p0.digital_reference;
    pm.signed_inputs = p0.signed_inputs;
    pm.bipolar_inputs = p0.bipolar_inputs;
    pm.digits.assign(size_t(pm.rows * pm.cols), 0);
    if (!p0.col_minus.empty()) pm.col_minus.assign(size_t(pm.cols), -1);
    if (!p0.col_reference.empty()) pm.col_reference.assign(size_t(pm.cols), 0);
    for (int i = 0; i < count; ++i) {
        const ProgrammedMatrix& p = parts[size_t(i)];
        const int64_t r0 = i * p0.rows, c0 = i * p0.cols, n0 = i * p0.outputs;
        for (int64_t r = 0; r < p.rows; ++r)
            std::copy_n(p.digits.data() + r * p.cols, p.cols, pm.digits.data() + (r0 + r) * pm.cols + c0);
        for (int64_t j = 0; j < p.cols; ++j) {
            pm.col_output.push_back(n0 + p.col_output[size_t(j)]);
            pm.col_output_end.push_back(n0 + (p.col_output_end.empty() ? p.col_output[size_t(j)] + 1 : p.col_output_end[size_t(j)]));
            pm.col_factor.push_back(p.col_factor[size_t(j)]);
            if (!p.col_reference.empty()) pm.col_reference[size_t(c0 + j)] = p.col_reference[size_t(j)];
            if (!p.col_minus.empty() && p.col_minus[size_t(j)] >= 0) pm.col_minus[size_t(c0 + j)] = c0 + p.col_minus[size_t(j)];
        }
    }
    return pm;
}

size_t CrossbarBackend::layer_index(const quant::QuantLayer& layer) const {
    const size_t li = size_t(&layer - model_.layers.data());
    CIM_INTERNAL_CHECK(li < layers_.size(), "layer not from this model");
    return li;
}

int64_t CrossbarBackend::groups_per_call(const quant::QuantLayer& layer) const { return groups_per_block_[layer_index(layer)]; }

CrossbarBackend::CrossbarBackend(const quant::QuantizedModel& model, const DeviceSpec& device, uint64_t seed, uint64_t instance)
    : CrossbarBackend(model, device, seed, instance, simulation_mapping(model, device)) {}

CrossbarBackend::CrossbarBackend(const quant::QuantizedModel& model, const DeviceSpec& device, uint64_t seed, uint64_t instance,
                                 const Mapping& mapping)
    : model_(model) {
    // A digital device (kind digital_npu / fpga_dsp) streams weights through a MAC engine: nothing is
    // placed, and its reads are exact; the functional stand-in keeps the device's array size.
    const bool arrays = device.kind == DeviceKind::cim;
    for (size_t li = 0; li < model.layers.size(); ++li) {
        const quant::QuantLayer& L = model.layers[li];
        const LayerMapping* placed = nullptr;
        if (arrays) {
            // By name: specializing the batch folds constant subgraphs, so node indices differ.
            placed = mapping.find(L.name);
            if (!placed) throw InternalError("layer '" + L.name + "' is not in the mapping of " + mapping.model);
        }
        // Conv (and ConvTranspose) groups packed block-diagonally share one array and are read together.
        const int64_t per_block = placed && (L.op == OpKind::Conv || L.op == OpKind::ConvTranspose)
                                      ? std::max<int64_t>(1, placed->groups_per_array)
                                      : 1;
        std::vector<CrossbarLayer> blocks;
        for (int64_t g = 0, b = 0; g < L.groups; g += per_block, ++b)
            blocks.emplace_back(device,
                                per_block > 1 ? program_block(L, int(g), int(std::min(per_block, L.groups - g)), device, *placed)
                                              : program(L, int(g), device, placed),
                                seed, instance, uint64_t(li), uint64_t(b));
        layers_.push_back(std::move(blocks));
        groups_per_block_.push_back(per_block);
        names_.push_back(L.name);
    }
    chunk_energy_.resize(layers_.size());
}

CrossbarBackend::~CrossbarBackend() = default;

void CrossbarBackend::reserve(Scratch& s) const {
    size_t widest = 0;
    for (const auto& l : layers_)
        for (const CrossbarLayer& g : l) {
            g.reserve(s.reads);
            widest = std::max(widest, size_t(g.outputs()));
        }
    s.out.resize(size_t(kOutBlock) * widest);
    size_t group_rows = 0, group_outputs = 0;
    for (size_t li = 0; li < layers_.size(); ++li)
        if (groups_per_block_[li] > 1) {
            group_rows = std::max(group_rows, size_t(model_.layers[li].rows()));
            group_outputs = std::max(group_outputs, size_t(model_.layers[li].N));
        }
    s.group_x.resize(size_t(kOutBlock) * group_rows);
    s.group_acc.resize(size_t(kOutBlock) * group_outputs);
}

void CrossbarBackend::reserve_all() {
    for (auto& s : scratch_) reserve(*s);
}

CrossbarBackend::Scratch& CrossbarBackend::take_scratch() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (free_scratch_.empty()) {  // a thread's first concurrent call: the only allocation of reads
        scratch_.push_back(std::make_unique<Scratch>());
        reserve(*scratch_.back());
        free_scratch_.reserve(scratch_.size());
        return *scratch_.back();
    }
    Scratch& s = *free_scratch_.back();
    free_scratch_.pop_back();
    return s;
}

void CrossbarBackend::give_back(Scratch& s) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_scratch_.push_back(&s);
}

int64_t CrossbarBackend::snr_items_end() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return snr_items_end_;
}

bool CrossbarBackend::all_exact() const {
    for (const auto& l : layers_)
        for (const auto& g : l)
            if (!g.exact()) return false;
    return true;
}

void CrossbarBackend::force_bitplanes(bool on) {
    force_bitplanes_ = on;
    for (auto& l : layers_)
        for (auto& g : l) g.force_bitplanes(on);
    reserve_all();
}

void CrossbarBackend::force_kernel(SumKernel k) {
    for (auto& l : layers_)
        for (auto& g : l)
            if (g.supports(k)) g.force_kernel(k);
    reserve_all();
}

void CrossbarBackend::mvm(const quant::QuantLayer& layer, int group, const int32_t* x, int64_t vectors, int64_t* acc,
                          const quant::MvmContext& ctx) {
    const size_t li = layer_index(layer);
    const int64_t per_block = groups_per_block_[li];
    CIM_INTERNAL_CHECK(group % per_block == 0, "a call that does not start a packed block");
    CrossbarLayer& xb = layers_[li][size_t(group / per_block)];
    const int64_t count = std::min(per_block, layer.groups - group);  // groups read by this call
    if (calibrating_) {
        thread_local std::vector<double> maxima;
        maxima.clear();
        if (calibration_mode_ == AdcCalibration::nominal) {
            // Seeded with what was observed so far: reads that cannot raise it are skipped.
            {
                std::lock_guard<std::mutex> lock(mutex_);
                maxima = xb.calibration_maxima();
            }
            xb.observe_nominal(x, vectors, maxima);
        } else {
            xb.observe_for_calibration(x, vectors, maxima);
        }
        {
            std::lock_guard<std::mutex> lock(mutex_);
            xb.merge_calibration(maxima);
        }
        Scratch& scratch = take_scratch();
        exact_mvm(layer, group, count, x, vectors, acc, ctx, scratch);
        give_back(scratch);
        return;
    }
    // The read-noise stream is keyed by the first image of the call and, in a recurrent layer,
    // the step (and the layer's own coordinates), so results do not depend on which thread runs
    // which images, and every step of a recurrence draws anew. The call is read in blocks of
    // kOutBlock vectors (the same draws: each vector's are placed by its index among the call's
    // items, ctx.first_vector on, so a program that splits a chunk into calls draws the same).
    const uint64_t chunk = uint64_t(ctx.first_item) + (uint64_t(ctx.step) << 40);
    const int64_t N = xb.outputs(), K = xb.rows();
    CIM_INTERNAL_CHECK(N == count * layer.N && K == count * layer.rows(), "a call's groups and the array block differ");
    const bool exact = xb.exact() && !force_bitplanes_;
    const bool compare = !exact && !(snr_images_ >= 0 && ctx.first_item >= snr_images_);
    Scratch& scratch = take_scratch();
    // The exact reference goes into acc first; each block then compares and overwrites its part.
    if (compare) exact_mvm(layer, group, count, x, vectors, acc, ctx, scratch);
    double sig = 0, err = 0;
    for (int64_t v0 = 0; v0 < vectors; v0 += kOutBlock) {
        const int64_t nv = std::min(kOutBlock, vectors - v0);
        double* out = scratch.out.data();
        xb.run(x + v0 * K, nv, out, chunk, scratch.reads, ctx.first_vector + v0);
        int64_t* a = acc + v0 * N;
        if (exact) {
            for (int64_t i = 0; i < nv * N; ++i) a[i] = int64_t(out[i]);
        } else if (!compare) {
            for (int64_t i = 0; i < nv * N; ++i) a[i] = std::llround(out[i]);
        } else {
            for (int64_t i = 0; i < nv * N; ++i) {
                const double ref = double(a[i]), e = out[i] - ref;
                sig += ref * ref;
                err += e * e;
                a[i] = std::llround(out[i]);
            }
        }
    }
    give_back(scratch);
    if (!compare) return;
    std::lock_guard<std::mutex> lock(mutex_);
    ChunkEnergy& e = chunk_energy_[li][{ctx.first_item, group}];
    e.signal += sig;
    e.error += err;
    e.compared += vectors * N;
    snr_items_end_ = std::max(snr_items_end_, ctx.first_item + ctx.items);
}

void CrossbarBackend::exact_mvm(const quant::QuantLayer& layer, int group, int64_t count, const int32_t* x, int64_t vectors,
                                int64_t* acc, const quant::MvmContext& ctx, Scratch& s) {
    if (count == 1) {
        exact_.mvm(layer, group, x, vectors, acc, ctx);
        return;
    }
    const int64_t R = layer.rows(), N = layer.N;
    for (int64_t v0 = 0; v0 < vectors; v0 += kOutBlock) {
        const int64_t nv = std::min(kOutBlock, vectors - v0);
        for (int64_t i = 0; i < count; ++i) {
            for (int64_t v = 0; v < nv; ++v) std::copy_n(x + ((v0 + v) * count + i) * R, R, s.group_x.data() + v * R);
            exact_.mvm(layer, group + int(i), s.group_x.data(), nv, s.group_acc.data(), ctx);
            for (int64_t v = 0; v < nv; ++v) std::copy_n(s.group_acc.data() + v * N, N, acc + ((v0 + v) * count + i) * N);
        }
    }
}

void CrossbarBackend::finish_calibration() {
    for (auto& l : layers_)
        for (auto& g : l) g.finish_calibration();
    calibrating_ = false;
    reserve_all();  // calibrated ranges can turn a layer's reads from one GEMM to bit planes
}

CrossbarBackend::ColumnValues CrossbarBackend::per_group(const std::vector<double>& (CrossbarLayer::*field)() const) const {
    ColumnValues out;
    for (const auto& l : layers_) {
        out.emplace_back();
        for (const auto& g : l) out.back().push_back((g.*field)());
    }
    return out;
}

CrossbarBackend::ColumnValues CrossbarBackend::calibration_maxima() const { return per_group(&CrossbarLayer::calibration_maxima); }
CrossbarBackend::ColumnValues CrossbarBackend::adc_ranges() const { return per_group(&CrossbarLayer::adc_ranges); }

void CrossbarBackend::calibrate_from(const ColumnValues& maxima) {
    CIM_INTERNAL_CHECK(maxima.size() == layers_.size(), "calibration of another model");
    for (size_t li = 0; li < layers_.size(); ++li) {
        CIM_INTERNAL_CHECK(maxima[li].size() == layers_[li].size(), "calibration of another model");
        for (size_t g = 0; g < layers_[li].size(); ++g)
            if (!maxima[li][g].empty()) layers_[li][g].merge_calibration(maxima[li][g]);
    }
    finish_calibration();
}

void CrossbarBackend::set_layer_ranges(const std::map<std::string, double>& ranges) {
    for (size_t li = 0; li < layers_.size(); ++li) {
        const auto it = ranges.find(names_[li]);
        if (it == ranges.end()) continue;
        for (auto& g : layers_[li]) g.set_range(it->second);
    }
    reserve_all();
}

std::vector<CrossbarBackend::LayerStats> CrossbarBackend::layer_stats() const {
    std::vector<LayerStats> out;
    for (size_t li = 0; li < layers_.size(); ++li) {
        LayerStats s;
        s.name = names_[li];
        for (const auto& [chunk, energy] : chunk_energy_[li]) {  // in chunk order: the same sums for any thread count
            s.signal += energy.signal;
            s.error += energy.error;
            s.compared += energy.compared;
        }
        s.exact_plan = !force_bitplanes_;
        for (const auto& g : layers_[li]) {
            s.exact_plan = s.exact_plan && g.exact();
            AdcStats a = g.adc_stats();
            s.conversions += a.conversions;
            s.clipped += a.clipped;
        }
        out.push_back(s);
    }
    return out;
}

double ci95_half_width(const std::vector<double>& v) {
    const size_t n = v.size();
    if (n < 2) return 0;
    double mean = 0;
    for (double x : v) mean += x;
    mean /= double(n);
    double var = 0;
    for (double x : v) var += (x - mean) * (x - mean);
    var /= double(n - 1);
    if (var < 1e-24) return 0;  // identical values: no spread (not rounding noise)
    // Two-sided 97.5 % quantiles of Student's t for 1..30 degrees of freedom, then the normal limit.
    static const double t975[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                  2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                                  2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
    const size_t df = n - 1;
    const double t = df <= 30 ? t975[df - 1] : 1.96;
    return t * std::sqrt(var / double(n));
}

namespace {

// The names of the layers the arrays run, for error messages.
std::string array_layer_names(const quant::QuantizedModel& model) {
    std::string layers;
    for (const auto& l : model.layers) layers += (layers.empty() ? "" : ", ") + l.name;
    return layers;
}

void check_capture_nodes(const quant::QuantizedModel& model, const std::vector<std::string>& names) {
    for (const std::string& name : names) {
        const bool found = std::any_of(model.graph.nodes.begin(), model.graph.nodes.end(), [&](const Node& n) { return n.name == name; });
        if (found) continue;
        throw InputError(model.graph.source_file + ": no node named '" + name + "' to capture; the array layers are: " +
                         array_layer_names(model));
    }
}

// Trained ranges replace calibrated ones: the device must calibrate, and every name must be a layer
// the arrays run.
void check_adc_ranges(const quant::QuantizedModel& model, const DeviceSpec& device, const AdcRangeFile& file) {
    if (!adc_range_calibrated(device.array.adc.range))
        throw InputError(fmt::format("{}: trained ADC ranges replace calibrated ones, but {} has array.adc.range {}; "
                                     "use --set array.adc.range=calibrated_layer",
                                     file.path, device.name, to_string(device.array.adc.range)));
    for (const auto& entry : file.ranges) {
        const std::string& name = entry.first;  // a named copy: clang 14 cannot capture a structured binding
        const bool found = std::any_of(model.layers.begin(), model.layers.end(), [&](const auto& l) { return l.name == name; });
        if (found) continue;
        throw InputError(fmt::format("{}:{}: adc_ranges.{}: no array layer of that name in {}; its array layers are: {}",
                                     file.path, file.lines.at(name), name, model.graph.source_file, array_layer_names(model)));
    }
}

// Keeps the first output of the named nodes, a batch (or, for a batch-pinned graph, an item) at a time.
Executor::Observer capture_into(std::map<std::string, std::vector<Tensor>>& parts, const std::vector<std::string>& names) {
    return [&parts, &names](const Node& node, std::span<const Tensor> outputs) {
        if (!outputs.empty() && std::find(names.begin(), names.end(), node.name) != names.end()) parts[node.name].push_back(outputs[0]);
    };
}

}  // namespace

SimResult simulate(const quant::QuantizedModel& model, const DeviceSpec& device, const quant::LabeledData& test,
                   const SampleSet& calibration, double float_accuracy, double quant_accuracy, const SimOptions& opt) {
    const auto t0 = std::chrono::steady_clock::now();
    SimResult r;
    r.images = test.inputs.count();
    // A graph that pins a batch of 1 runs one item at a time.
    const int64_t batch = batch_pinned(model.graph) ? 1 : opt.batch;
    if (!test.labels.empty() && int64_t(test.labels.size()) != r.images) throw InternalError("simulate: label count differs from the sample count");
    if (test.labels.empty() && !opt.reference_outputs)
        throw InputError("the test data has no labels and no float reference outputs were given: nothing to score");
    check_capture_nodes(model, opt.capture_nodes);
    if (opt.adc_ranges) check_adc_ranges(model, device, *opt.adc_ranges);
    r.instances = opt.instances;
    r.float_accuracy = float_accuracy;
    r.quant_accuracy = quant_accuracy;
    r.exact = true;
    const bool calibrated = adc_range_calibrated(device.array.adc.range);
    int64_t done = 0;
    const int64_t total = r.images * opt.instances;
    CrossbarBackend::ColumnValues nominal_maxima;  // nominal calibration: observed once, for every instance
    const Mapping mapping = simulation_mapping(model, device);
    for (int inst = 0; inst < opt.instances; ++inst) {
        CrossbarBackend backend(model, device, opt.seed, uint64_t(inst), mapping);
        backend.set_snr_images(opt.snr_images);
        quant::RunOptions ro;
        ro.backend = &backend;
        const auto t_cal = std::chrono::steady_clock::now();
        if (calibrated && calibration.count() > 0 && opt.adc_calibration == AdcCalibration::nominal && inst > 0) {
            backend.calibrate_from(nominal_maxima);
        } else if (calibrated && calibration.count() > 0) {
            backend.begin_calibration(opt.adc_calibration);
            const int64_t n = calibration.count();
            for (int64_t b = 0; b < n; b += batch) {
                ro.first_item = b;
                quant::run_program(model, calibration.batch(b, std::min(n, b + batch)), ro);
                if (opt.calibration_progress) opt.calibration_progress(std::min(n, b + batch), n);
            }
            backend.finish_calibration();
            // Kept for the next instances only (a copy of every layer's maxima: 6 MB on ResNet-18).
            if (opt.adc_calibration == AdcCalibration::nominal && opt.instances > 1) nominal_maxima = backend.calibration_maxima();
        }
        if (opt.adc_ranges) backend.set_layer_ranges(opt.adc_ranges->ranges);
        const auto t_sim = std::chrono::steady_clock::now();
        r.adc_calibration_seconds += std::chrono::duration<double>(t_sim - t_cal).count();
        MetricAccumulator scores(test.labels, opt.reference_outputs);
        const bool capture = inst == 0 && !opt.capture_nodes.empty();
        std::map<std::string, std::vector<Tensor>> simulated_parts, exact_parts;
        for (int64_t b = 0; b < r.images; b += batch) {
            const int64_t e = std::min(r.images, b + batch);
            ro.first_item = b;
            const std::vector<Tensor> inputs = test.inputs.batch(b, e);
            auto out = quant::run_program(model, inputs, ro, capture ? capture_into(simulated_parts, opt.capture_nodes) : Executor::Observer{});
            if (capture) {
                quant::RunOptions exact;
                exact.first_item = b;
                quant::run_program(model, inputs, exact, capture_into(exact_parts, opt.capture_nodes));
            }
            scores.add(out[0], b);
            done += e - b;
            if (opt.progress) opt.progress(done, total);
        }
        r.simulation_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t_sim).count();
        for (auto& [name, parts] : simulated_parts) r.captured_simulated[name] = batch_concat(parts);
        for (auto& [name, parts] : exact_parts) r.captured_exact[name] = batch_concat(parts);
        const OutputMetrics m = scores.result();
        r.instance_metrics.push_back(m);
        r.instance_accuracy.push_back(test.labels.empty() ? m.agreement_top1 : m.accuracy);
        r.exact = r.exact && backend.all_exact();
        r.snr_images = std::max(r.snr_images, backend.snr_items_end());
        auto stats = backend.layer_stats();
        if (r.layers.empty()) r.layers = stats;
        else
            for (size_t i = 0; i < stats.size(); ++i) {
                r.layers[i].signal += stats[i].signal;
                r.layers[i].error += stats[i].error;
                r.layers[i].compared += stats[i].compared;
                r.layers[i].exact_plan = r.layers[i].exact_plan && stats[i].exact_plan;
                r.layers[i].conversions += stats[i].conversions;
                r.layers[i].clipped += stats[i].clipped;
            }
    }
    for (double a : r.instance_accuracy) r.mean_accuracy += a;
    r.mean_accuracy /= double(std::max<size_t>(1, r.instance_accuracy.size()));
    r.ci95_half_width = ci95_half_width(r.instance_accuracy);
    for (const MetricField& f : metric_fields()) {
        std::vector<double> v;
        for (const OutputMetrics& m : r.instance_metrics) v.push_back(m.*f.field);
        double sum = 0;
        for (double x : v) sum += x;
        r.mean_metrics.*f.field = sum / double(std::max<size_t>(1, v.size()));
        r.ci95_metrics.*f.field = std::isfinite(r.mean_metrics.*f.field) ? ci95_half_width(v) : kNoMetric;
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

}  // namespace cim::sim
