// Calibrated ADC ranges of a planned crossbar layer (crossbar_impl.h): observing column sums (on the
// programmed conductances, or exactly on the nominal ones), merging what threads observed, and fixing
// the ranges and LSBs.
#include "crossbar_impl.h"

namespace cim::sim {

void CrossbarLayer::observe_for_calibration(const int32_t* x, int64_t V, std::vector<double>& maxima) const {
    const Impl& s = *impl_;
    if (maxima.size() != s.range.size()) maxima.assign(s.range.size(), 0.0);
    // The per-instance pass (not the default): its own workspace per call.
    ReadWorkspace ws;
    ReadWorkspace::Buffers& b = ws.buffers();
    auto visit = [&](size_t gi, const auto* S_cols, const float*) {
        using T = std::remove_cv_t<std::remove_pointer_t<decltype(S_cols)>>;
        const auto* S = s.fold_pairs(S_cols, 0.0f, 0.0f, b.D<T>());  // observed before the IR drop, as unpaired columns are
        for (int p = 0; p < s.planes; ++p) {
            double* obs = maxima.data() + s.range_row(gi, p);
            for (int64_t j = 0; j < s.J; ++j) obs[j] = std::max(obs[j], double(std::fabs(S[p * s.J + j])));
        }
    };
    for (int64_t v = 0; v < V; ++v) {
        if (s.use_double) s.reads<double>(x + v * s.K, b, visit);
        else s.reads<float>(x + v * s.K, b, visit);
    }
}

void CrossbarLayer::observe_nominal(const int32_t* x, int64_t V, std::vector<double>& maxima) const {
    const Impl& s = *impl_;
    CIM_INTERNAL_CHECK(!s.nominal.empty(), "nominal column sums of a layer without a calibrated ADC range");
    if (maxima.size() != s.range.size()) maxima.assign(s.range.size(), 0.0);
    // The layer-wide skip is exact only when every observed column sets the layer's range.
    s.nominal.observe(x, V, maxima.data(), s.adc_range == AdcRange::calibrated_layer && s.converted_cols == s.J, s.range_planes > 1);
}

const std::vector<double>& CrossbarLayer::calibration_maxima() const { return impl_->observed; }
const std::vector<double>& CrossbarLayer::adc_ranges() const { return impl_->range; }

void CrossbarLayer::merge_calibration(const std::vector<double>& maxima) {
    Impl& s = *impl_;
    if (s.observed.empty()) s.observed.assign(s.range.size(), 0.0);
    CIM_INTERNAL_CHECK(maxima.size() == s.observed.size(), "calibration maxima of another layer");
    for (size_t k = 0; k < maxima.size(); ++k) s.observed[k] = std::max(s.observed[k], maxima[k]);
}

void CrossbarLayer::observe_for_calibration(const int32_t* x, int64_t V) {
    std::vector<double> maxima;
    observe_for_calibration(x, V, maxima);
    merge_calibration(maxima);
}

void CrossbarLayer::finish_calibration() {
    Impl& s = *impl_;
    if (!adc_range_calibrated(s.adc_range) || s.observed.empty()) return;
    std::vector<double> r = s.observed;
    const size_t J = size_t(s.J);
    switch (s.adc_range) {
        case AdcRange::none:
        case AdcRange::full_scale:
        case AdcRange::oracle:
        case AdcRange::calibrated_column:
            break;
        case AdcRange::calibrated_layer: {
            double m = 0;
            for (size_t i = 0; i < r.size(); ++i)
                if (!s.no_adc[i % J]) m = std::max(m, s.observed[i]);
            std::fill(r.begin(), r.end(), m);
            break;
        }
        case AdcRange::calibrated_array:
            // One range per array: the row tile of the group and the column tile of the column.
            for (size_t gi = 0; gi < s.groups.size(); ++gi)
                for (int64_t c0 = 0; c0 < s.J; c0 += s.cols_per_array) {
                    const int64_t c1 = std::min(s.J, c0 + s.cols_per_array);
                    double m = 0;
                    for (size_t gj = 0; gj < s.groups.size(); ++gj)
                        if (s.groups[gj].array_row == s.groups[gi].array_row)
                            for (int64_t j = c0; j < c1; ++j)
                                if (!s.no_adc[size_t(j)]) m = std::max(m, s.observed[gj * J + size_t(j)]);
                    for (int64_t j = c0; j < c1; ++j) r[gi * J + size_t(j)] = m;
                }
            break;
        case AdcRange::calibrated_slice:
        case AdcRange::calibrated_plane:
        case AdcRange::calibrated_slice_plane: {
            // One range per class (slice, plane or both): the largest observation over every group and
            // column of the class. Observations are [group][range plane][column].
            const bool by_slice = s.adc_range != AdcRange::calibrated_plane;
            const size_t RP = size_t(s.range_planes);
            auto cls = [&](size_t i) { return (by_slice ? size_t(s.col_slice[i % J]) : 0) * RP + (i / J) % RP; };
            std::vector<double> m(J * RP, 0.0);
            for (size_t i = 0; i < r.size(); ++i)
                if (!s.no_adc[i % J]) m[cls(i)] = std::max(m[cls(i)], s.observed[i]);
            for (size_t i = 0; i < r.size(); ++i) r[i] = m[cls(i)];
            break;
        }
    }
    for (double& v : r) v = std::max(v, 1.0);  // an all-zero column still needs a range
    s.set_ranges(r);
    s.exact_reads = false;
}

void CrossbarLayer::set_range(double range) {
    Impl& s = *impl_;
    if (!adc_range_calibrated(s.adc_range)) return;
    s.set_ranges(std::vector<double>(s.range.size(), std::max(range, 1.0)));
    s.exact_reads = false;
}
}  // namespace cim::sim
