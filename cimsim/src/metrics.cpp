#include <cim/cimsim/metrics.h>

#include <cim/error.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace cim::sim {

const std::vector<MetricField>& metric_fields() {
    static const std::vector<MetricField> fields = {
        {"accuracy", &OutputMetrics::accuracy},           {"top5_accuracy", &OutputMetrics::top5_accuracy},
        {"agreement_top1", &OutputMetrics::agreement_top1}, {"agreement_top5", &OutputMetrics::agreement_top5},
        {"output_snr_db", &OutputMetrics::output_snr_db}, {"relative_error", &OutputMetrics::relative_error},
        {"kl_divergence", &OutputMetrics::kl_divergence},
    };
    return fields;
}

MetricAccumulator::MetricAccumulator(const std::vector<int>& labels, const Tensor* reference) : labels_(labels), reference_(reference) {}

namespace {

int64_t argmax(const float* row, int64_t n) { return std::max_element(row, row + n) - row; }

// Whether class c is among the 5 largest of row (ties counted against it).
bool in_top5(const float* row, int64_t n, int64_t c) {
    int64_t larger = 0;
    for (int64_t j = 0; j < n; ++j) larger += row[j] > row[c];
    return larger < 5;
}

// log softmax of row into out.
void log_softmax(const float* row, int64_t n, std::vector<double>& out) {
    const double m = *std::max_element(row, row + n);
    double sum = 0;
    for (int64_t j = 0; j < n; ++j) sum += std::exp(double(row[j]) - m);
    const double lse = m + std::log(sum);
    out.resize(size_t(n));
    for (int64_t j = 0; j < n; ++j) out[size_t(j)] = double(row[j]) - lse;
}

}  // namespace

void MetricAccumulator::add(const Tensor& out, int64_t first) {
    const int64_t n = out.rank() > 0 ? out.shape[0] : 1;
    if (n == 0) return;
    const int64_t per = out.numel() / n;
    const bool classifier = out.rank() == 2 && per >= 2;
    if (classifier) classes_ = per;
    if (reference_ && reference_->numel() < (first + n) * per)
        throw InternalError("metrics: the reference outputs hold fewer samples than scored");
    std::vector<double> lp, lq;
    for (int64_t i = 0; i < n; ++i) {
        const float* row = out.f.data() + i * per;
        const float* ref = reference_ ? reference_->f.data() + (first + i) * per : nullptr;
        if (classifier && !labels_.empty()) {
            const int label = labels_.at(size_t(first + i));
            correct_ += argmax(row, per) == label;
            correct5_ += label < per && in_top5(row, per, label);
        }
        if (ref) {
            for (int64_t j = 0; j < per; ++j) {
                const double d = double(row[j]) - double(ref[j]);
                signal_ += double(ref[j]) * double(ref[j]);
                noise_ += d * d;
            }
            if (classifier) {
                const int64_t ref_class = argmax(ref, per);
                agree_ += argmax(row, per) == ref_class;
                agree5_ += in_top5(row, per, ref_class);
                log_softmax(ref, per, lp);
                log_softmax(row, per, lq);
                double kl = 0;
                for (int64_t j = 0; j < per; ++j) kl += std::exp(lp[size_t(j)]) * (lp[size_t(j)] - lq[size_t(j)]);
                kl_ += kl;
            }
        }
    }
    samples_ += n;
}

OutputMetrics MetricAccumulator::result() const {
    OutputMetrics m;
    if (samples_ == 0) return m;
    const double n = double(samples_);
    if (classes_ >= 2 && !labels_.empty()) {
        m.accuracy = double(correct_) / n;
        if (classes_ > 10) m.top5_accuracy = double(correct5_) / n;
    }
    if (reference_) {
        m.output_snr_db = noise_ > 0 ? 10 * std::log10(signal_ / noise_) : std::numeric_limits<double>::infinity();
        m.relative_error = signal_ > 0 ? std::sqrt(noise_ / signal_) : kNoMetric;
        if (classes_ >= 2) {
            m.agreement_top1 = double(agree_) / n;
            m.agreement_top5 = double(agree5_) / n;
            m.kl_divergence = kl_ / n;
        }
    }
    return m;
}

Tensor first_outputs(const std::function<std::vector<Tensor>(const std::vector<Tensor>&, int64_t)>& forward, const SampleSet& inputs,
                     int64_t batch, const std::function<void(int64_t, int64_t)>& progress) {
    const int64_t count = inputs.count();
    Tensor all;
    for (int64_t b = 0; b < count; b += batch) {
        const int64_t e = std::min(count, b + batch);
        const std::vector<Tensor> out = forward(inputs.batch(b, e), b);
        const Tensor& o = out.at(0);
        if (b == 0) {
            Shape full = o.shape.empty() ? Shape{count} : o.shape;
            full[0] = count;
            all = Tensor(ElemType::Float, full);
        }
        const size_t per = size_t(o.numel() / (e - b));
        if (size_t(all.numel()) != per * size_t(count)) throw InputError("the model's output size changes with the batch; cannot score it");
        std::memcpy(all.f.data() + size_t(b) * per, o.f.data(), per * size_t(e - b) * sizeof(float));
        if (progress) progress(e, count);
    }
    return all;
}

}  // namespace cim::sim
