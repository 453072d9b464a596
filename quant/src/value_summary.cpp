// The streamed summary of a layer's calibration values (value_summary.h): exact extrema,
// the extreme values at both ends (for percentiles and the clipped fraction) and the
// calibrator's every-k-th-value subsample, taken by position as the values arrive.
#include "value_summary.h"

#include "model_quant.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace cim::quant::detail {

namespace {

// Extreme values kept at each end: enough for the percentile's rank and for clipping of a few
// per cent (a calibrator that clips more than that falls back to the whole values).
size_t tail_size(int64_t total, double percentile) {
    size_t keep = std::max<size_t>(4096, size_t(total / 32));
    if (percentile > 0)
        keep = std::max(keep, size_t(std::ceil((1.0 - percentile / 100.0) * double(total))) + 2);
    return keep;
}

}  // namespace

void ValueSummary::Tail::trim() {
    if (v.size() <= keep) return;
    std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(keep - 1), v.end(), std::greater<float>());
    cut = v[keep - 1];
    v.resize(keep);
    trimmed = true;
}

ValueSummary::ValueSummary(int64_t total, size_t sample_cap, double percentile)
    : total_(total), sample_cap_(sample_cap) {
    const size_t keep = tail_size(total, percentile);
    if (4 * int64_t(keep) >= total) {
        top_.keep = size_t(std::max<int64_t>(total, 1));  // everything, in top_ alone
    } else {
        top_.keep = keep;
        bottom_.keep = keep;
    }
    if (sample_cap_ > 0 && total_ > int64_t(sample_cap_)) {
        sample_all_ = false;
        sample_step_ = double(total_) / double(sample_cap_);
        sample_.reserve(sample_cap_);
    }
}

void ValueSummary::add(int64_t position, const float* x, size_t count) {
    if (count == 0) return;
    if (position < 0 || position + int64_t(count) > total_) {
        exact_ = false;
        return;
    }
    const bool both = bottom_.keep > 0;
    for (size_t k = 0; k < count; ++k) {
        const float v = x[k];
        if (std::isnan(v)) {
            ++nans_;
            continue;
        }
        mn_ = std::min(mn_, v);
        mx_ = std::max(mx_, v);
        top_.add(v);
        if (both) bottom_.add(-v);
    }
    seen_ += int64_t(count);
    if (sample_cap_ == 0) return;
    if (sample_all_) {
        for (size_t k = 0; k < count; ++k)
            if (!std::isnan(x[k])) sample_.push_back(x[k]);
        return;
    }
    // Indices i with floor(i * step) in [position, position + count), as calibrate_range's
    // subsample computes them (the values without NaN: a NaN anywhere makes this inexact).
    const size_t pos = size_t(position), end = pos + count;
    size_t i = size_t(double(pos) / sample_step_);
    while (i > 0 && size_t(double(i - 1) * sample_step_) >= pos) --i;
    while (i < sample_cap_ && size_t(double(i) * sample_step_) < pos) ++i;
    for (; i < sample_cap_; ++i) {
        const size_t p = size_t(double(i) * sample_step_);
        if (p >= end) break;
        sample_.push_back(x[p - pos]);
    }
}

void ValueSummary::finish() {
    top_.trim();
    bottom_.trim();
}

const std::vector<float>* ValueSummary::everything() const { return top_.trimmed ? nullptr : &top_.v; }

std::optional<float> ValueSummary::ranked(size_t rank) const {
    const size_t n = size_t(finite());
    if (rank >= n) return std::nullopt;
    if (const auto* all = everything()) {
        std::vector<float> c = *all;
        std::nth_element(c.begin(), c.begin() + std::ptrdiff_t(rank), c.end());
        return c[rank];
    }
    const size_t from_top = n - 1 - rank;
    if (from_top < top_.v.size()) {
        std::vector<float> c = top_.v;
        std::nth_element(c.begin(), c.begin() + std::ptrdiff_t(from_top), c.end(), std::greater<float>());
        return c[from_top];
    }
    if (rank < bottom_.v.size()) {
        std::vector<float> c = bottom_.v;  // -x: the rank-th smallest x is the rank-th largest -x
        std::nth_element(c.begin(), c.begin() + std::ptrdiff_t(rank), c.end(), std::greater<float>());
        return -c[rank];
    }
    return std::nullopt;
}

std::optional<float> ValueSummary::ranked_magnitude(size_t rank) const {
    const size_t n = size_t(finite());
    if (rank >= n) return std::nullopt;
    std::vector<float> c;
    if (const auto* all = everything()) {
        c = *all;
        for (float& v : c) v = std::fabs(v);
        std::nth_element(c.begin(), c.begin() + std::ptrdiff_t(rank), c.end());
        return c[rank];
    }
    // The `keep` largest magnitudes are among the `keep` largest and `keep` smallest values,
    // two disjoint parts of the values (keep <= n / 4).
    const size_t from_top = n - 1 - rank;
    if (from_top >= top_.keep) return std::nullopt;
    c.reserve(top_.v.size() + bottom_.v.size());
    for (float v : top_.v) c.push_back(std::fabs(v));
    for (float v : bottom_.v) c.push_back(std::fabs(v));
    std::nth_element(c.begin(), c.begin() + std::ptrdiff_t(from_top), c.end(), std::greater<float>());
    return c[from_top];
}

std::optional<std::vector<float>> ValueSummary::sample() const {
    if (sample_cap_ == 0 || (!sample_all_ && nans_ > 0)) return std::nullopt;
    return sample_;
}

std::optional<int64_t> ValueSummary::clipped(const ActQuant& a) const {
    if (const auto* all = everything()) {
        int64_t out = 0;
        for (float x : *all) out += act_code(a, x) < a.code_min || act_code(a, x) > a.code_max;
        return out;
    }
    // Codes grow with the value: the clipped values are the largest and the smallest, all
    // within the tails unless a whole tail is clipped.
    int64_t high = 0, low = 0;
    for (float x : top_.v) high += act_code(a, x) > a.code_max;
    for (float y : bottom_.v) low += act_code(a, -y) < a.code_min;
    if (size_t(high) >= top_.v.size() || size_t(low) >= bottom_.v.size()) return std::nullopt;
    return high + low;
}

}  // namespace cim::quant::detail
