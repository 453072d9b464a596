// How a run's outputs are scored: against labels (accuracy, top-5) and, with or without labels,
// against the float model's outputs (top-1/top-5 agreement, output SNR, softmax KL divergence).
// Classifier metrics apply when the first output is [N, C] with C >= 2; SNR applies to any output.
#pragma once

#include <cim/ir/sample_set.h>
#include <cim/ir/tensor.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

namespace cim::sim {

inline constexpr double kNoMetric = std::numeric_limits<double>::quiet_NaN();

struct OutputMetrics {
    double accuracy = kNoMetric;        // top-1 against labels
    double top5_accuracy = kNoMetric;   // against labels, more than 10 classes
    double agreement_top1 = kNoMetric;  // argmax equals the float model's
    double agreement_top5 = kNoMetric;  // the float model's argmax is among the 5 largest outputs
    double output_snr_db = kNoMetric;   // 10 log10(sum ref^2 / sum (out - ref)^2) over every output value
    double relative_error = kNoMetric;  // ||out - ref|| / ||ref||
    double kl_divergence = kNoMetric;   // mean KL(softmax(ref) || softmax(out)), nats
};

// The metrics in the order reports list them, with their JSON names.
struct MetricField {
    const char* name;
    double OutputMetrics::*field;
};
const std::vector<MetricField>& metric_fields();

class MetricAccumulator {
public:
    // labels: one per sample, or empty; reference: the float model's first output for every
    // sample ([count, ...]), or nullptr.
    MetricAccumulator(const std::vector<int>& labels, const Tensor* reference);
    // Scores samples [first, first + n) given their first output tensor [n, ...].
    void add(const Tensor& outputs, int64_t first);
    OutputMetrics result() const;

private:
    const std::vector<int>& labels_;
    const Tensor* reference_;
    int64_t samples_ = 0, classes_ = 0;
    int64_t correct_ = 0, correct5_ = 0, agree_ = 0, agree5_ = 0;
    double signal_ = 0, noise_ = 0, kl_ = 0;
};

// The first output of `forward` for every sample of `inputs` (every graph input's), run in batches.
// `progress` (optional) hears (samples done, total) after each batch.
Tensor first_outputs(const std::function<std::vector<Tensor>(const std::vector<Tensor>&, int64_t)>& forward, const SampleSet& inputs,
                     int64_t batch = 250, const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace cim::sim
