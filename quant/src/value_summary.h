// Internal: what an activation calibrator needs of one layer's calibration values,
// observed a batch at a time instead of keeping every value (docs/quantization.md,
// "Calibration pass"). The results are those of calibrate_range and clipped_fraction
// on the whole concatenation, bit for bit; where the summary cannot give them exactly
// (rare: see each function) it says so and the caller falls back to the whole values.
#pragma once

#include <cim/quant/program.h>
#include <cim/quant/quantizer.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

namespace cim::quant::detail {

// The subsample size a calibrator takes of the values (every k-th value; 0: it takes
// none). `magnitude`: the range is one threshold on |x| (symmetric or non-negative).
size_t calibration_sample_cap(CalibrationMethod method, bool magnitude);

// The rank the percentile calibrator takes, round(p (n - 1)), of n > 0 values.
size_t quantile_rank(size_t n, double p);

class ValueSummary {
public:
    ValueSummary() = default;
    // `total`: values in the concatenation (NaN included); `sample_cap`: calibration_sample_cap
    // of the method; `percentile`: the percentile calibrator's (0: another method).
    ValueSummary(int64_t total, size_t sample_cap, double percentile);

    // Values [position, position + count) of the concatenation, in any order of blocks.
    void add(int64_t position, const float* x, size_t count);
    // The concatenation did not have the announced size: nothing here is exact.
    void mark_inexact() { exact_ = false; }
    // After the last add.
    void finish();

    bool exact() const { return exact_ && seen_ == total_; }
    int64_t seen() const { return seen_; }          // NaN included
    int64_t finite() const { return seen_ - nans_; }
    float min() const { return mn_; }
    float max() const { return mx_; }
    // The value of rank `rank` (ascending) among the non-NaN values, or of their magnitudes.
    std::optional<float> ranked(size_t rank) const;
    std::optional<float> ranked_magnitude(size_t rank) const;
    // The calibrator's subsample (of the non-NaN values, in no particular order).
    std::optional<std::vector<float>> sample() const;
    // Values whose code under `a` is out of its range (what clipped_fraction counts).
    std::optional<int64_t> clipped(const ActQuant& a) const;

private:
    // The `keep` largest values seen (as a multiset), in O(1) amortized per value.
    struct Tail {
        size_t keep = 0;
        float cut = -std::numeric_limits<float>::infinity();
        bool trimmed = false;
        std::vector<float> v;
        void add(float x) {
            if (x > cut) {
                v.push_back(x);
                if (v.size() >= 2 * keep) trim();
            }
        }
        void trim();
    };
    // Every non-NaN value when the tails hold them all (never trimmed), else nullptr.
    const std::vector<float>* everything() const;

    int64_t total_ = 0, seen_ = 0, nans_ = 0;
    bool exact_ = true;
    float mn_ = std::numeric_limits<float>::infinity(), mx_ = -std::numeric_limits<float>::infinity();
    Tail top_, bottom_;  // bottom_ holds -x
    size_t sample_cap_ = 0;
    double sample_step_ = 1;  // as calibrate_range's subsample: value index floor(i * step)
    bool sample_all_ = true;
    std::vector<float> sample_;
};

// calibrate_range on the values the summary stands for; nullopt when it cannot be had exactly.
std::optional<Range> calibrate_range(const ValueSummary& s, CalibrationMethod method, double percentile,
                                     bool symmetric, bool nonnegative, int64_t levels);

}  // namespace cim::quant::detail
