// The one list of cost estimators, and the resolution of every estimated entry of
// a device: inputs gathered, parameters and defaults applied, the anchor's ratio
// taken, the figure checked.
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include <fmt/format.h>

#include "../diagnostics.h"
#include "../schema.h"
#include "cim/error.h"
#include "estimator.h"

namespace cim::device_detail {

void Inputs::add(std::string_view name, double value, std::string_view unit, std::string_view from) {
    list_.push_back({name, value, unit, from});
}

EstimateInput* Inputs::find(std::string_view name) {
    for (auto& i : list_)
        if (i.name == name) return &i;
    return nullptr;
}

bool Inputs::has(std::string_view name) const {
    return std::any_of(list_.begin(), list_.end(), [&](const EstimateInput& i) { return i.name == name; });
}

double Inputs::operator[](std::string_view name) const {
    for (const auto& i : list_)
        if (i.name == name) return i.value;
    CIM_INTERNAL_CHECK(false, "estimator input not gathered: " + std::string(name));
    return 0;
}

void Inputs::set(std::string_view name, double value, std::string_view from) {
    for (auto& i : list_)
        if (i.name == name) {
            i.value = value;
            i.from = from;
            return;
        }
    CIM_INTERNAL_CHECK(false, "estimator input not gathered: " + std::string(name));
}

const std::vector<Estimator>& estimators() {
    static const std::vector<Estimator> all = [] {
        std::vector<Estimator> v;
        for (auto part : {adc_estimators, wordline_estimators, array_read_estimators, cell_area_estimators,
                          logic_estimators, buffer_estimators, wire_estimators, scaled_estimators})
            for (auto& e : part()) v.push_back(std::move(e));
        for (auto& e : v)
            for (auto& p : e.params)
                if (p.default_value) p.default_from = "default: " + p.default_source;
        return v;
    }();
    return all;
}

const Estimator* find_estimator(std::string_view name) {
    // Hashed: every re-priced entry of every sweep point looks its estimator up.
    static const std::unordered_map<std::string_view, const Estimator*> by_name = [] {
        std::unordered_map<std::string_view, const Estimator*> m;
        for (const auto& e : estimators()) m.emplace(e.name, &e);
        return m;
    }();
    const auto it = by_name.find(name);
    return it == by_name.end() ? nullptr : it->second;
}

namespace {

std::string describe_params(const Estimator& e) {
    std::vector<std::string> p;
    for (const auto& q : e.params) p.push_back(q.unit.empty() ? q.name : q.name + " [" + q.unit + "]");
    return p.empty() ? "no parameters" : fmt::format("{}", fmt::join(p, ", "));
}

}  // namespace

std::string estimators_for(const std::string& path) {
    std::vector<std::string> here, others;
    for (const auto& e : estimators()) {
        const bool serves = std::find(e.serves.begin(), e.serves.end(), path) != e.serves.end();
        (serves ? here : others).push_back(fmt::format("{} ({})", e.name, describe_params(e)));
    }
    std::string s = here.empty() ? "no estimator prices " + path
                                 : fmt::format("estimators for {}: {}", path, fmt::join(here, "; "));
    if (!others.empty()) s += fmt::format(" (others: {})", fmt::join(others, "; "));
    return s;
}

namespace {

// Equal values read from the same places. The texts are views of static strings, so equal
// addresses mean equal texts (different addresses only cost a re-evaluation).
bool same_inputs(const std::vector<EstimateInput>& a, const std::vector<EstimateInput>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].value != b[i].value || a[i].name.data() != b[i].name.data() || a[i].from.data() != b[i].from.data() ||
            a[i].unit.data() != b[i].unit.data())
            return false;
    return true;
}

void resolve_one(const KeyDecl& k, DeviceSpec& d, Diagnostics& diag) {
    Cost* cost = k.write_cost(d);
    if (!cost || !cost->estimate || diag.failed(k.path)) return;
    CostEstimate& est = *cost->estimate;
    const Estimator* e = find_estimator(est.model);
    CIM_INTERNAL_CHECK(e != nullptr, "unknown estimator passed the parser: " + est.model);
    if (e->needs_anchor && !est.anchor_value) {
        diag.error(k.path, fmt::format("estimator {} only scales a published figure: give `anchor: {{value: N, "
                                       "<input>: N, ...}}`",
                                       e->name));
        diag.mark_failed(k.path);
        return;
    }
    // Gathered into per-thread scratch memory: a sweep re-prices every variant.
    thread_local std::vector<EstimateInput> scratch;
    Inputs in(std::move(scratch));
    if (std::string problem = e->gather(d, k.path, in); !problem.empty()) {
        diag.error(k.path, fmt::format("estimator {}: {}", e->name, problem));
        diag.mark_failed(k.path);
        return;
    }
    const bool anchored = est.anchor_value.has_value();
    for (const ParamDecl& p : e->params) {
        if (!p.paths.empty() && std::find(p.paths.begin(), p.paths.end(), k.path) == p.paths.end()) continue;
        const auto given = std::find_if(est.params.begin(), est.params.end(),
                                        [&](const auto& kv) { return kv.first == p.name; });
        double value = 0;
        std::string_view from;
        if (given != est.params.end()) {
            value = given->second;
            from = "parameter";
        } else if (in.has(p.name)) {
            continue;  // the device supplied it (e.g. cell_f2 from the technology)
        } else if (p.default_value) {
            value = *p.default_value;
            from = p.default_from;
        } else if (p.cancels && anchored) {
            value = 1.0;
            from = "not given: a factor that cancels against the anchor";
        } else if (p.optional) {
            continue;
        } else {
            diag.error(k.path, fmt::format("estimator {} needs `{}` ({}{}){}", e->name, p.name, p.doc,
                                           p.unit.empty() ? "" : ", " + p.unit,
                                           p.cancels ? " or an `anchor: {value: N, ...}`" : ""));
            diag.mark_failed(k.path);
            return;
        }
        if (EstimateInput* i = in.find(p.name)) {
            i->value = value;
            i->from = from;
        } else {
            in.add(p.name, value, p.unit, from);
        }
    }
    // A variant that moved none of the estimate's inputs keeps the price it copied (the model
    // reads nothing else: its inputs, parameters and anchor, the last two fixed per entry).
    if (!est.inputs.empty() && same_inputs(in.list(), est.inputs)) {
        scratch = in.take();
        return;
    }
    std::string_view formula;
    const double model = e->evaluate(in, k.path, &formula);
    double value = model;
    double at_anchor = 0;
    if (anchored) {
        // The model at the anchor's operating point: the pinned inputs swapped in, then back.
        std::vector<std::pair<EstimateInput*, double>> saved;
        for (const auto& [name, v] : est.anchor_at) {
            EstimateInput* i = in.find(name);
            if (!i) {
                std::vector<std::string_view> names;
                for (const auto& x : in.list()) names.push_back(x.name);
                diag.error(k.path + ".anchor." + name,
                           fmt::format("estimator {} has no input `{}` for {}; its inputs: {}", e->name, name, k.path,
                                       fmt::join(names, ", ")));
                diag.mark_failed(k.path);
                return;
            }
            saved.emplace_back(i, i->value);
            i->value = v;
        }
        at_anchor = e->evaluate(in, k.path, nullptr);
        for (const auto& [i, v] : saved) i->value = v;
        if (!(at_anchor > 0) || !std::isfinite(at_anchor)) {
            diag.error(k.path + ".anchor", fmt::format("estimator {} gives {} at the anchor's operating point; an "
                                                       "anchor needs a positive model figure",
                                                       e->name, at_anchor));
            diag.mark_failed(k.path);
            return;
        }
        // Equal operating points give exactly the anchor (x / x == 1 in IEEE arithmetic).
        value = *est.anchor_value * (model / at_anchor);
    }
    if (!std::isfinite(value) || value < 0) {
        diag.error(k.path, fmt::format("estimator {} gives {} ({}); check its inputs", e->name, value, formula));
        diag.mark_failed(k.path);
        return;
    }
    cost->value = value;
    est.formula = formula;
    est.reference = e->reference;
    est.inputs.assign(in.list().begin(), in.list().end());
    scratch = in.take();
    est.model_value = model;
    est.model_value_at_anchor = at_anchor;
}

// The cost keys in pricing order: latencies, then areas, then energies.
const std::vector<const KeyDecl*>& cost_keys_in_order() {
    static const std::vector<const KeyDecl*> keys = [] {
        std::vector<const KeyDecl*> v;
        for (const char* section : {"latency.", "area.", "energy.", "npu.", "fpga."})
            for (const KeyDecl& k : device_schema().keys())
                if (k.kind == ValueKind::cost && k.path.rfind(section, 0) == 0) v.push_back(&k);
        return v;
    }();
    return keys;
}

}  // namespace

void resolve_estimates(DeviceSpec& d, Diagnostics& diag) {
    for (const KeyDecl* k : cost_keys_in_order()) resolve_one(*k, d, diag);
}

}  // namespace cim::device_detail
