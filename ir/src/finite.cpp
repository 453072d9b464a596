#include <cim/ir/finite.h>

#include <cim/error.h>
#include <cim/ir/op_traits.h>

#include <cmath>
#include <set>

namespace cim {

void count_non_finite(const Tensor& t, int64_t& nan, int64_t& inf) {
    nan = inf = 0;
    for (float v : t.f) {
        nan += std::isnan(v);
        inf += std::isinf(v);
    }
}

std::vector<NonFiniteWeights> non_finite_weights(const Graph& g) {
    std::vector<NonFiniteWeights> found;
    std::set<int> seen;  // a shared constant is reported once
    for (const Node& n : g.nodes) {
        // Only these ops hold weights on the arrays.
        const OpRole role = op_traits(n.op).role;
        if (role != OpRole::matmul && role != OpRole::recurrent) continue;
        for (int id : n.inputs) {
            const Tensor* t = g.constant(id);
            if (!t || !t->floating() || !seen.insert(id).second) continue;
            NonFiniteWeights r{n.name, g.value(id).name, g.value(id).origin, 0, 0, t->numel()};
            count_non_finite(*t, r.nan, r.inf);
            if (r.nan || r.inf) found.push_back(std::move(r));
        }
    }
    return found;
}

std::string describe(const std::vector<NonFiniteWeights>& found) {
    std::string s;
    for (const auto& r : found) {
        s += "\n  node '" + r.node + "': '" + r.tensor + "' holds ";
        if (r.nan) s += std::to_string(r.nan) + " NaN";
        if (r.nan && r.inf) s += " and ";
        if (r.inf) s += std::to_string(r.inf) + " Inf";
        s += " of " + std::to_string(r.total) + " values";
        if (!r.origin.empty()) s += " (" + r.origin + ")";
    }
    return s;
}

void check_finite_data(const Tensor& t, const std::string& file) {
    if (!t.floating()) return;
    int64_t first = -1, bad = 0;
    for (size_t k = 0; k < t.f.size(); ++k)
        if (!std::isfinite(t.f[k])) {
            if (first < 0) first = int64_t(k);
            ++bad;
        }
    if (!bad) return;
    const int64_t per_sample = t.rank() > 0 && t.shape[0] > 0 ? t.numel() / t.shape[0] : 1;
    throw InputError(file + ": holds " + std::to_string(bad) + " non-finite value(s) (NaN or Inf); the first is element " +
                     std::to_string(first) + " of shape " + shape_str(t.shape) + ", in sample " + std::to_string(first / per_sample) +
                     "; data must be finite numbers");
}

void check_finite_weights(const Graph& g) {
    const auto found = non_finite_weights(g);
    if (found.empty()) return;
    throw InputError(g.source_file + ": weights with non-finite values cannot be quantized or programmed onto arrays:" + describe(found) +
                     "\n  (the model is corrupt or diverged in training; check it with cim-run, which runs it in float)");
}

}  // namespace cim
