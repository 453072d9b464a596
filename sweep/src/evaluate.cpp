// The model of a sweep: one design point -> device -> mapping -> cost (-> accuracy).
#include "internal.h"

#include <cim/cimsim/cost_model.h>
#include <cim/cimsim/simulator.h>
#include <cim/device/device_spec.h>
#include <cim/error.h>
#include <cim/ir/batch.h>
#include <cim/ir/finite.h>
#include <cim/ir/onnx_import.h>
#include <cim/mapper/mapping.h>
#include <cim/data/dataset.h>
#include <cim/models/fashion_mnist.h>
#include <cim/quant/quantizer.h>

#include <fmt/format.h>

#include <atomic>
#include <cmath>
#include <mutex>
#include <unordered_map>

namespace cim::sweep {

namespace {

std::string one_line(const std::string& message) {
    std::string s = message;
    for (size_t p = 0; (p = s.find('\n', p)) != std::string::npos;) s.replace(p, 1, " | ");
    return s;
}

// The fields quantize() does not read (costs, noise, the ADC): devices equal
// after clearing them quantize a network identically.
DeviceSpec quantization_key(DeviceSpec d) {
    d.noise = {};
    d.energy = {};
    d.latency = {};
    d.area = {};
    d.array.adc = {};
    d.overrides.clear();
    d.description.clear();
    return d;
}


}  // namespace

struct Evaluator::Impl {
    SweepSpec spec;
    EvalOptions options;
    std::vector<DeviceVariants> variants;  // one per device of the device axis, else the base device

    struct Model {
        Graph graph;     // as imported (quantizer, float accuracy)
        Graph batch1;    // shapes specialized to batch 1 (mapper, cost model)
        double float_accuracy = 0;
    };
    std::vector<Model> models;

    struct MapSlot {
        std::once_flag once;
        std::optional<Mapping> mapping;
        std::string error;
    };
    std::mutex map_mutex;
    std::vector<std::unordered_map<std::string, std::shared_ptr<MapSlot>>> maps;  // per model

    quant::LabeledData test;
    SampleSet calibration;  // every model input's calibration samples, in memory
    struct QuantSlot {
        DeviceSpec key;
        std::once_flag once;
        std::optional<quant::QuantResult> result;
        double accuracy = 0;
        std::string error;
    };
    std::mutex quant_mutex;
    std::vector<std::vector<std::shared_ptr<QuantSlot>>> quants;  // per model

    std::atomic<int64_t> points{0}, mappings{0}, quantizations{0};

    Impl(const SweepSpec& s, EvalOptions o) : spec(s), options(o) {
        if (s.device_axis < 0) variants.emplace_back(s.device, s.fixed);
        for (const auto& dev : s.devices) variants.emplace_back(dev, s.fixed);
    }

    std::shared_ptr<MapSlot> mapping_for(int model, const DeviceSpec& d) {
        if (!options.reuse_mappings) {
            auto slot = std::make_shared<MapSlot>();
            fill(*slot, model, d);
            return slot;
        }
        std::shared_ptr<MapSlot> slot;
        {
            const std::string key = mapping_key(d);
            std::lock_guard<std::mutex> lock(map_mutex);
            auto& cache = maps[size_t(model)];
            auto it = cache.find(key);
            if (it == cache.end()) {
                if (cache.size() >= 4096) cache.clear();  // bounded memory; slots in use stay alive
                it = cache.emplace(key, std::make_shared<MapSlot>()).first;
            }
            slot = it->second;
        }
        std::call_once(slot->once, [&] { fill(*slot, model, d); });
        return slot;
    }

    void fill(MapSlot& slot, int model, const DeviceSpec& d) {
        ++mappings;
        try {
            slot.mapping = map_model(models[size_t(model)].batch1, d);
        } catch (const InputError& e) {
            slot.error = one_line(e.what());
        }
    }

    std::shared_ptr<QuantSlot> quantization_for(int model, const DeviceSpec& d) {
        DeviceSpec key = quantization_key(d);
        std::shared_ptr<QuantSlot> slot;
        {
            std::lock_guard<std::mutex> lock(quant_mutex);
            for (const auto& s : quants[size_t(model)])
                if (s->key == key) slot = s;
            if (!slot) {
                slot = std::make_shared<QuantSlot>();
                slot->key = std::move(key);
                quants[size_t(model)].push_back(slot);
            }
        }
        std::call_once(slot->once, [&] {
            ++quantizations;
            try {
                const Graph& g = models[size_t(model)].graph;
                quant::QuantOptions qo = quant::QuantOptions::from_device(d);
                qo.arrays_at_width = arrays_per_layer_at_width;  // for a mixed-precision budget
                qo.report_sqnr = false;  // cim-quant's per-layer report: L + 1 more passes over the calibration data
                slot->result = quant::quantize(g, d, calibration.tensors(), qo);
                slot->accuracy = quant::accuracy(quant::quant_forward(slot->result->model), test);
            } catch (const InputError& e) {
                slot->error = one_line(e.what());
            }
        });
        return slot;
    }
};

Evaluator::Evaluator(const SweepSpec& spec, EvalOptions options) : impl_(std::make_unique<Impl>(spec, options)) {
    Impl& s = *impl_;
    for (const auto& m : spec.models) {
        Impl::Model md;
        md.graph = import_onnx(m.path);
        check_finite_weights(md.graph);
        // Accuracy runs batches: a batch-1 export is rewritten to take any batch, or runs one sample at a time.
        if (spec.accuracy) md.graph = prepare_for_many_items(md.graph, m.path).graph;
        md.batch1 = specialize_batch(md.graph, 1);
        s.models.push_back(std::move(md));
    }
    s.maps.resize(spec.models.size());
    s.quants.resize(spec.models.size());
    if (spec.accuracy) {
        const AccuracySpec& a = *spec.accuracy;
        data::EvaluationSpec ds;  // the dataset layer, as cim-sim's --data / --dataset
        ds.dataset = a.data.empty() ? "fashion-mnist" : "";
        ds.fashion_mnist_dir = a.dataset_dir.empty() ? models::default_fashion_mnist_dir() : a.dataset_dir;
        ds.data = a.data;
        ds.labels = a.labels;
        ds.preprocess = a.preprocess;
        ds.calibration_data = a.calibration_data;
        ds.limit = a.images;
        ds.calibration_count = a.calibration > 0 ? a.calibration : s.variants.front().base().quant.calibration_samples;
        ds.seed = a.seed;
        // Bound to the first model's inputs by name; every model must take the same inputs.
        const Graph& first = s.models.front().graph;
        data::EvaluationSets sets = data::load_evaluation_sets(ds, first, spec.models.front().path);
        if (!sets.test.has_labels())
            throw InputError(a.data + ": has no labels; a sweep's accuracy metric needs them (metrics.accuracy.labels, or an .npz with y)");
        for (size_t m = 1; m < s.models.size(); ++m) {
            const Graph& g = s.models[m].graph;
            bool same = g.inputs.size() == first.inputs.size();
            for (size_t k = 0; same && k < g.inputs.size(); ++k) {
                const Value& v = g.value(g.inputs[k]);
                const Shape sample = sets.test.sample_shape(k);
                same = v.name == first.value(first.inputs[k]).name &&
                       (!v.rank_known || (v.shape.size() == sample.size() + 1 && std::equal(sample.begin(), sample.end(), v.shape.begin() + 1,
                                                                                         [](int64_t d, int64_t m) { return m < 0 || m == d; })));
            }
            if (!same)
                throw InputError(spec.models[m].path + ": its inputs do not take the samples " + spec.models.front().path + " takes from " +
                                 (a.data.empty() ? ds.fashion_mnist_dir : a.data) + "; a sweep's models share one dataset");
        }
        s.test = quant::LabeledData{std::move(sets.test.inputs), std::move(sets.test.labels)};
        s.calibration = std::move(sets.calibration.inputs);
        for (auto& md : s.models) md.float_accuracy = quant::accuracy(quant::float_forward(md.graph), s.test);
    }
}

Evaluator::~Evaluator() = default;

Evaluator::Stats Evaluator::stats() const { return {impl_->points.load(), impl_->mappings.load(), impl_->quantizations.load()}; }

PointResult Evaluator::evaluate(const Point& p) const {
    Impl& s = *impl_;
    ++s.points;
    PointResult r;
    const auto& cost_names = detail::cost_metric_names();
    r.metrics.assign(cost_names.size() + (s.spec.accuracy ? detail::accuracy_metric_names().size() : 0), std::nullopt);

    DeviceSpec d;
    try {
        // Axes whose keys a device's kind does not have (array.adc.bits on a digital NPU) are skipped for it.
        const DeviceVariants& base = s.variants[s.spec.device_axis >= 0 ? size_t(p.value[size_t(s.spec.device_axis)]) : 0];
        std::vector<std::string> sets, skipped;
        for (auto& text : point_overrides(s.spec, p)) {
            const std::string path = text.substr(0, text.find('='));
            if (path_applies_to(path, base.base().kind)) sets.push_back(std::move(text));
            else if (std::find(skipped.begin(), skipped.end(), path) == skipped.end()) skipped.push_back(path);
        }
        d = base.make(sets);
        if (!skipped.empty())
            r.note = fmt::format("{} skipped: {} is kind {}", fmt::join(skipped, ", "), d.name, to_string(d.kind));
    } catch (const InputError& e) {
        r.status = "invalid";
        r.note = one_line(e.what());
        return r;
    }
    const auto slot = s.mapping_for(p.model, d);
    if (!slot->mapping) {
        r.status = "unmappable";
        r.note = slot->error;
        return r;
    }
    const Mapping& m = *slot->mapping;
    const Impl::Model& model = s.models[size_t(p.model)];
    CostOptions co;
    co.batch = s.spec.batch;
    co.describe = false;
    const CostReport rep = estimate_cost(model.batch1, m, d, co);
    // A digital device without a published area reports it unknown (0 mm^2 would be a silent zero).
    const std::optional<double> area = rep.area_mm2 > 0 || d.kind == DeviceKind::cim ? std::optional<double>(rep.area_mm2) : std::nullopt;
    size_t k = 0;
    for (const std::optional<double>& v : {rep.latency_s, rep.throughput_inf_per_s, rep.energy_j, rep.power_w,
                                           area, rep.tops, rep.tops_per_w, rep.tops_per_mm2,
                                           std::optional<double>(double(m.arrays_used)), std::optional<double>(double(m.chips)),
                                           std::optional<double>(m.utilization), std::optional<double>(m.fits_device ? 1.0 : 0.0)})
        r.metrics[k++] = v;
    if (!m.fits_device) r.note += (r.note.empty() ? "" : "; ") + m.fit_note;
    if (!rep.latency_s || !rep.energy_j)
        for (const auto& n : rep.notes)
            if (n.find("unknown") != std::string::npos) r.note += (r.note.empty() ? "" : "; ") + n;

    if (s.spec.accuracy) {
        const auto q = s.quantization_for(p.model, d);
        if (!q->result) {
            r.status = "failed";
            r.note = q->error;
            return r;
        }
        try {
            sim::SimOptions so;
            so.seed = s.spec.accuracy->seed;
            so.instances = s.spec.accuracy->instances;
            so.snr_images = 0;  // a sweep reports accuracy, not per-layer SNR
            const sim::SimResult res = sim::simulate(q->result->model, d, s.test, s.calibration, model.float_accuracy, q->accuracy, so);
            r.metrics[k++] = res.mean_accuracy;
            r.metrics[k++] = res.ci95_half_width;
            r.metrics[k++] = res.quant_accuracy;
            r.metrics[k++] = res.float_accuracy;
        } catch (const InputError& e) {
            r.status = "failed";
            r.note = one_line(e.what());
        }
    }
    return r;
}

}  // namespace cim::sweep
