// Reading a device YAML: parse the text, apply --set overrides to the tree,
// walk the tree against the schema (types, bounds, unknown, duplicate and
// missing keys), fill derived defaults, run the cross-field rules, and throw
// every problem at once.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "cim/device/device_spec.h"
#include "cim/error.h"
#include "diagnostics.h"
#include "enum_names.h"
#include "estimators/estimator.h"
#include "rules.h"
#include "schema.h"

namespace cim {
namespace device_detail {
namespace {

std::string quote(const std::string& s) { return "'" + s + "'"; }

// Plain scalars carry the tag "?", quoted ones "!": `rows: "64"` is a string.
bool is_quoted(const YAML::Node& n) { return n.Tag() == "!"; }

std::string describe(const YAML::Node& n) {
    switch (n.Type()) {
        case YAML::NodeType::Null: return "nothing (null)";
        case YAML::NodeType::Sequence: return "a list";
        case YAML::NodeType::Map: return "a mapping";
        case YAML::NodeType::Scalar:
            return is_quoted(n) ? "the quoted string \"" + n.Scalar() + "\"" : quote(n.Scalar());
        case YAML::NodeType::Undefined: return "nothing";
    }
    return "?";
}

std::optional<long long> parse_integer(std::string text) {
    if (!text.empty() && text[0] == '+') text.erase(0, 1);
    long long v = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, v);
    if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
    return v;
}

std::optional<double> parse_number(std::string text) {
    if (text == ".inf" || text == ".Inf" || text == ".INF" || text == "+.inf" || text == "+.Inf")
        return std::numeric_limits<double>::infinity();
    if (text == "-.inf" || text == "-.Inf" || text == "-.INF") return -std::numeric_limits<double>::infinity();
    if (!text.empty() && text[0] == '+') text.erase(0, 1);
    double v = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, v);
    if (text.empty() || ec != std::errc() || ptr != end || std::isnan(v)) return std::nullopt;
    return v;
}

std::string format_number(double v) {
    if (std::isinf(v)) return v > 0 ? ".inf" : "-.inf";
    return fmt::format("{}", v);
}

std::string bounds_text(const KeyDecl& k) {
    auto num = [&](double v) {
        return k.kind == ValueKind::integer ? fmt::format("{}", static_cast<long long>(v)) : format_number(v);
    };
    if (k.min && k.max)
        return fmt::format("must be in {}{}, {}]", k.min->exclusive ? "(" : "[", num(k.min->value), num(k.max->value));
    if (k.min) return fmt::format("must be {} {}", k.min->exclusive ? ">" : ">=", num(k.min->value));
    if (k.max) return fmt::format("must be <= {}", num(k.max->value));
    return "";
}

class TreeReader {
public:
    // `kind` decides which keys the device may give; nullopt (override_path_problem) suggests from every kind.
    TreeReader(const Schema& schema, Diagnostics& diag, DeviceSpec& spec, std::optional<DeviceKind> kind = DeviceKind::cim)
        : schema_(schema), diag_(diag), spec_(spec), kind_(kind.value_or(DeviceKind::cim)), any_kind_(!kind) {}

    void read_section(const YAML::Node& map, const std::string& section);
    void fill_derived_defaults();
    // One key's value: type and bounds checked, stored, marked given (DeviceVariants).
    void read_key(const KeyDecl& k, const YAML::Node& value);
    std::string unknown_key_problem(const std::string& section, const std::string& name) const;

private:
    std::optional<Value> convert(const KeyDecl& k, const YAML::Node& value);
    std::optional<double> convert_number(const KeyDecl& k, const std::string& path, const YAML::Node& value);
    std::optional<Cost> convert_cost(const KeyDecl& k, const YAML::Node& value);
    std::optional<Cost> convert_estimate(const KeyDecl& k, const YAML::Node& value);
    std::optional<double> estimate_number(const std::string& path, const YAML::Node& value);
    bool in_bounds(const KeyDecl& k, const std::string& path, double v);
    void mark_subtree_failed(const std::string& path);

    // Whether a key or section of the schema belongs to this device's kind.
    bool applies(KindMask kinds) const { return any_kind_ || (kinds & kind_bit(kind_)) != 0; }
    KindMask kinds_of(const std::string& path) const {
        if (const SectionDecl* sec = schema_.find_section(path)) return sec->kinds;
        if (const KeyDecl* k = schema_.find_key(path)) return k->kinds;
        return kAllKinds;
    }

    const Schema& schema_;
    Diagnostics& diag_;
    DeviceSpec& spec_;
    DeviceKind kind_;
    bool any_kind_ = false;
};

void TreeReader::mark_subtree_failed(const std::string& path) { diag_.mark_failed(path); }

std::string TreeReader::unknown_key_problem(const std::string& section, const std::string& name) const {
    // 1. Something declared under this section, compared with '.' written as
    //    '_' so that `adc_bit` inside `array` finds `adc.bits`.
    const std::string prefix = section.empty() ? "" : section + ".";
    std::vector<std::string> relative, flattened;
    auto consider = [&](const std::string& path) {
        if (path.compare(0, prefix.size(), prefix) != 0 || !applies(kinds_of(path))) return;
        std::string rel = path.substr(prefix.size());
        std::string flat = rel;
        for (char& c : flat)
            if (c == '.') c = '_';
        relative.push_back(rel);
        flattened.push_back(flat);
    };
    for (const auto& s : schema_.sections()) consider(s.path);
    for (const auto& k : schema_.keys()) consider(k.path);
    // 2. A key of another section whose tail matches: `dac_bits` under `array`
    //    finds input.dac_bits, `adc_bits` under `area` finds array.adc.bits.
    std::vector<std::string> tails, owners;
    for (const auto& k : schema_.keys()) {
        if (!applies(k.kinds)) continue;
        std::string tail;
        for (std::string p = k.path; !p.empty(); p = parent_path(p)) {
            tail = tail.empty() ? leaf_name(p) : leaf_name(p) + "_" + tail;
            tails.push_back(tail);
            owners.push_back(k.path);
        }
    }
    // The closer of the two wins; on a tie the key under this section.
    std::string suggestion;
    int distance = 1 << 30;
    if (std::string best = closest(name, flattened); !best.empty()) {
        distance = edit_distance(name, best);
        for (size_t i = 0; i < flattened.size(); ++i)
            if (flattened[i] == best) suggestion = prefix + relative[i];
    }
    if (std::string best = closest(name, tails); !best.empty() && edit_distance(name, best) < distance) {
        for (size_t i = 0; i < tails.size(); ++i)
            if (tails[i] == best) { suggestion = owners[i]; break; }
    }
    if (!suggestion.empty()) return "unknown key; did you mean " + suggestion + "?";
    std::string expected;
    for (const auto& kid : schema_.children(section))
        if (applies(kinds_of(join_path(section, kid)))) expected += (expected.empty() ? "" : ", ") + kid;
    return "unknown key; expected one of: " + expected;
}

void TreeReader::read_section(const YAML::Node& map, const std::string& section) {
    const auto& kids = schema_.children(section);
    std::unordered_map<std::string, YAML::Node> present;  // a file may give thousands of keys
    std::set<std::string> foreign;                         // given, but of another device kind
    auto find_present = [&](const std::string& name) -> const YAML::Node* {
        const auto it = present.find(name);
        return it == present.end() ? nullptr : &it->second;
    };

    if (map.IsDefined() && map.IsMap()) {
        for (auto it = map.begin(); it != map.end(); ++it) {
            const YAML::Node key = it->first;
            const YAML::Node value = it->second;
            if (!key.IsScalar()) {
                diag_.error_at(key.Mark(), section, "keys must be plain names, got " + describe(key));
                continue;
            }
            const std::string name = key.Scalar();
            const std::string path = join_path(section, name);
            if (find_present(name)) {
                diag_.error_at(key.Mark(), path,
                               fmt::format("duplicate key (first given at {})", diag_.key_position(path)));
                continue;
            }
            // An empty value's mark points past the key's line; the key's is clearer.
            diag_.record(path, key.Mark(), value.IsNull() ? YAML::Mark::null_mark() : value.Mark());
            present.emplace(name, value);
            if (std::find(kids.begin(), kids.end(), name) == kids.end()) {
                diag_.error_at_key(path, diag_.full() ? "unknown key" : unknown_key_problem(section, name));
            } else if (const KindMask kinds = kinds_of(path); !applies(kinds)) {
                diag_.error_at_key(path, fmt::format("belongs to kind {} devices; this device is kind {}: remove it "
                                                     "(docs/device-schema.md lists the keys of each kind)",
                                                     kinds_text(kinds), to_string(kind_)));
                foreign.insert(name);  // then read as absent
            }
        }
    }

    for (const auto& name : kids) {
        const std::string path = join_path(section, name);
        const YAML::Node* node = foreign.count(name) ? nullptr : find_present(name);
        if (schema_.find_section(path)) {
            if (!node) {
                if (schema_.section_required(path, kind_)) {
                    diag_.error(path, "required section is missing");
                    mark_subtree_failed(path);
                } else {
                    read_section(YAML::Node(), path);  // every key takes its default
                }
            } else if (!node->IsMap()) {
                diag_.error(path, "expected a section (a mapping of keys), got " + describe(*node));
                mark_subtree_failed(path);
            } else {
                read_section(*node, path);
            }
            continue;
        }
        const KeyDecl* k = schema_.find_key(path);
        CIM_INTERNAL_CHECK(k != nullptr, "device schema child without declaration: " + path);
        // `~` (or nothing) on a key that is not required means "not given": the
        // default applies, so `--set key=~` resets a key.
        const bool null_is_absent = k->presence != Presence::required;
        if (node && !(node->IsNull() && null_is_absent)) {
            read_key(*k, *node);
            continue;
        }
        switch (k->presence) {
            case Presence::required:
                if (!applies(k->kinds)) break;  // a digital device's CIM view is synthesized (digital_view)
                diag_.error(path, k->unit.empty() ? "required key is missing"
                                                  : "required key is missing (" + k->unit + ")");
                diag_.mark_failed(path);
                break;
            case Presence::defaulted: k->set_default(spec_); break;
            case Presence::derived:      // filled after the walk, see fill_derived_defaults()
            case Presence::optional:     // stays unset
            case Presence::conditional:  // the rules decide
                break;
        }
    }
}

void TreeReader::read_key(const KeyDecl& k, const YAML::Node& value) {
    if (auto v = convert(k, value)) {
        k.assign(spec_, *v);
        diag_.mark_given(k.path);
    } else {
        diag_.mark_failed(k.path);
    }
}

bool TreeReader::in_bounds(const KeyDecl& k, const std::string& path, double v) {
    const bool low = k.min && (k.min->exclusive ? v <= k.min->value : v < k.min->value);
    const bool high = k.max && v > k.max->value;
    if (!low && !high) return true;
    const std::string shown = k.kind == ValueKind::integer ? fmt::format("{}", static_cast<long long>(v))
                                                           : format_number(v);
    diag_.error(path, shown + " is out of range: " + bounds_text(k));
    return false;
}

std::optional<double> TreeReader::convert_number(const KeyDecl& k, const std::string& path,
                                                 const YAML::Node& value) {
    std::optional<double> v;
    if (value.IsScalar() && !is_quoted(value)) v = parse_number(value.Scalar());
    if (!v) {
        diag_.error(path, "expected a number, got " + describe(value));
        return std::nullopt;
    }
    if (!in_bounds(k, path, *v)) return std::nullopt;
    return v;
}

std::optional<Cost> TreeReader::convert_cost(const KeyDecl& k, const YAML::Node& value) {
    Cost cost;
    if (value.IsScalar()) {
        auto v = convert_number(k, k.path, value);
        if (!v) return std::nullopt;
        cost.value = *v;
    } else if (value.IsMap() && value["model"].IsDefined()) {
        return convert_estimate(k, value);
    } else if (value.IsMap()) {
        bool ok = true, has_value = false;
        std::vector<std::string> seen;
        for (auto it = value.begin(); it != value.end(); ++it) {
            const YAML::Node key = it->first;
            const YAML::Node field = it->second;
            const std::string name = key.IsScalar() ? key.Scalar() : "?";
            const std::string path = k.path + "." + name;
            if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
                diag_.error_at(key.Mark(), path,
                               fmt::format("duplicate key (first given at {})", diag_.key_position(path)));
                ok = false;
                continue;
            }
            seen.push_back(name);
            diag_.record(path, key.Mark(), field.Mark());
            if (name == "value") {
                has_value = true;
                auto v = convert_number(k, path, field);
                if (v) cost.value = *v; else ok = false;
            } else if (name == "source") {
                if (field.IsScalar()) {
                    cost.source = field.Scalar();
                } else {
                    diag_.error(path, "expected a string, got " + describe(field));
                    ok = false;
                }
            } else {
                const std::string best = closest(name, {"value", "source"});
                diag_.error_at_key(path, best.empty() ? "unknown key; a cost has only `value` and `source`, or "
                                                        "`model: NAME` for an estimator (docs/cost-estimators.md)"
                                                      : "unknown key; did you mean " + k.path + "." + best + "?");
                ok = false;
            }
        }
        if (!has_value) {
            diag_.error(k.path, "a cost mapping needs `value` (" + k.unit + ")");
            ok = false;
        }
        if (!ok) return std::nullopt;
    } else {
        diag_.error(k.path, "expected a number or {value: N, source: \"...\"}, got " + describe(value));
        return std::nullopt;
    }
    if (cost.source.empty())
        if (const std::string* set_text = diag_.override_for(k.path)) cost.source = "--set " + *set_text;
    return cost;
}

std::optional<double> TreeReader::estimate_number(const std::string& path, const YAML::Node& value) {
    std::optional<double> v;
    if (value.IsScalar() && !is_quoted(value)) v = parse_number(value.Scalar());
    if (!v || !std::isfinite(*v)) {
        diag_.error(path, "expected a number, got " + describe(value));
        return std::nullopt;
    }
    return v;
}

// `{model: NAME, <param>: N, ..., anchor: {value: N, <input>: N, ...}, source: "..."}`: checked
// against the estimator's declaration here; computed after the cross-field rules (resolve_estimates).
std::optional<Cost> TreeReader::convert_estimate(const KeyDecl& k, const YAML::Node& value) {
    // Places first, so that every message below points at its own key.
    {
        std::vector<std::string> placed;
        for (auto it = value.begin(); it != value.end(); ++it) {
            const std::string name = it->first.IsScalar() ? it->first.Scalar() : "?";
            if (std::find(placed.begin(), placed.end(), name) != placed.end()) continue;
            placed.push_back(name);
            diag_.record(k.path + "." + name, it->first.Mark(), it->second.Mark());
        }
    }
    const YAML::Node model = value["model"];
    if (!model.IsScalar()) {
        diag_.error(k.path + ".model", "expected an estimator name, got " + describe(model) + "; " + estimators_for(k.path));
        return std::nullopt;
    }
    std::vector<std::string> names;
    for (const auto& e : estimators()) names.push_back(e.name);
    const Estimator* est = find_estimator(model.Scalar());
    if (!est) {
        const std::string best = closest(model.Scalar(), names);
        diag_.error(k.path + ".model", quote(model.Scalar()) + " is not an estimator" +
                                           (best.empty() ? "" : " (did you mean " + best + "?)") + "; " +
                                           estimators_for(k.path));
        return std::nullopt;
    }
    if (std::find(est->serves.begin(), est->serves.end(), k.path) == est->serves.end()) {
        diag_.error(k.path + ".model", fmt::format("estimator {} does not price {} (it prices {}); {}", est->name,
                                                   k.path, fmt::join(est->serves, ", "), estimators_for(k.path)));
        return std::nullopt;
    }
    Cost cost;
    CostEstimate e;
    e.model = est->name;
    bool ok = true;
    std::vector<std::string> seen, param_names, anchor_names;
    for (const auto& p : est->params) param_names.push_back(p.name);
    for (const auto& i : est->inputs) anchor_names.push_back(i.name);
    for (const auto& p : param_names)  // a parameter that may replace an input is listed once
        if (std::find(anchor_names.begin(), anchor_names.end(), p) == anchor_names.end()) anchor_names.push_back(p);
    const std::string params_text = fmt::format("{}", fmt::join(param_names, ", "));
    for (auto it = value.begin(); it != value.end(); ++it) {
        const YAML::Node key = it->first;
        const YAML::Node field = it->second;
        const std::string name = key.IsScalar() ? key.Scalar() : "?";
        const std::string path = k.path + "." + name;
        if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
            diag_.error_at(key.Mark(), path, fmt::format("duplicate key (first given at {})", diag_.key_position(path)));
            ok = false;
            continue;
        }
        seen.push_back(name);
        if (name == "model") continue;
        if (name == "source") {
            if (field.IsScalar()) cost.source = field.Scalar();
            else {
                diag_.error(path, "expected a string, got " + describe(field));
                ok = false;
            }
        } else if (name == "value") {
            diag_.error_at_key(path, "an estimated cost has no `value`: give the published figure as "
                                     "`anchor: {value: N, <input>: N, ...}`, or drop `model`");
            ok = false;
        } else if (name == "anchor") {
            if (!field.IsMap()) {
                diag_.error(path, "expected {value: N, <input>: N, ...}, got " + describe(field));
                ok = false;
                continue;
            }
            std::vector<std::string> anchor_seen;
            for (auto a = field.begin(); a != field.end(); ++a) {
                const std::string an = a->first.IsScalar() ? a->first.Scalar() : "?";
                const std::string apath = path + "." + an;
                diag_.record(apath, a->first.Mark(), a->second.Mark());
                if (std::find(anchor_seen.begin(), anchor_seen.end(), an) != anchor_seen.end()) {
                    diag_.error_at_key(apath, "duplicate key");
                    ok = false;
                    continue;
                }
                anchor_seen.push_back(an);
                if (an == "value") {
                    auto v = convert_number(k, apath, a->second);
                    if (v) e.anchor_value = *v; else ok = false;
                } else if (std::find(anchor_names.begin(), anchor_names.end(), an) != anchor_names.end()) {
                    auto v = estimate_number(apath, a->second);
                    if (v) e.anchor_at.emplace_back(an, *v); else ok = false;
                } else {
                    const std::string best = closest(an, anchor_names);
                    diag_.error_at_key(apath, fmt::format("not an input of estimator {}{}; an anchor gives `value` and "
                                                          "any of: {}", est->name,
                                                          best.empty() ? "" : " (did you mean " + best + "?)",
                                                          fmt::join(anchor_names, ", ")));
                    ok = false;
                }
            }
            if (!e.anchor_value) {
                diag_.error(path, "an anchor needs `value` (" + k.unit + "): the published figure");
                ok = false;
            }
        } else if (std::find(param_names.begin(), param_names.end(), name) != param_names.end()) {
            auto v = estimate_number(path, field);
            if (v) e.params.emplace_back(name, *v); else ok = false;
        } else {
            const std::string best = closest(name, param_names);
            diag_.error_at_key(path, fmt::format("not a parameter of estimator {}{}; its parameters: {} (and `anchor`, "
                                                 "`source`)",
                                                 est->name, best.empty() ? "" : " (did you mean " + best + "?)",
                                                 params_text.empty() ? "none" : params_text));
            ok = false;
        }
    }
    if (!ok) return std::nullopt;
    if (cost.source.empty())
        if (const std::string* set_text = diag_.override_for(k.path)) cost.source = "--set " + *set_text;
    cost.estimate = std::move(e);
    return cost;
}

std::optional<Value> TreeReader::convert(const KeyDecl& k, const YAML::Node& value) {
    const std::string& path = k.path;
    switch (k.kind) {
        case ValueKind::integer: {
            std::optional<long long> v;
            if (value.IsScalar() && !is_quoted(value)) v = parse_integer(value.Scalar());
            if (!v) {
                diag_.error(path, "expected an integer, got " + describe(value));
                return std::nullopt;
            }
            if (!in_bounds(k, path, static_cast<double>(*v))) return std::nullopt;
            return Value{*v};
        }
        case ValueKind::number: {
            auto v = convert_number(k, path, value);
            if (!v) return std::nullopt;
            return Value{*v};
        }
        case ValueKind::boolean: {
            // YAML 1.2 booleans only: `yes`/`no`/`on` are rejected, not guessed.
            const std::string s = value.IsScalar() && !is_quoted(value) ? value.Scalar() : "";
            if (s == "true" || s == "True" || s == "TRUE") return Value{true};
            if (s == "false" || s == "False" || s == "FALSE") return Value{false};
            diag_.error(path, "expected true or false, got " + describe(value));
            return std::nullopt;
        }
        case ValueKind::string: {
            if (!value.IsScalar()) {
                diag_.error(path, "expected a string, got " + describe(value));
                return std::nullopt;
            }
            return Value{value.Scalar()};
        }
        case ValueKind::enumeration: {
            std::string allowed;
            for (const auto& a : k.allowed) allowed += (allowed.empty() ? "" : ", ") + a;
            if (!value.IsScalar()) {
                diag_.error(path, "expected one of " + allowed + ", got " + describe(value));
                return std::nullopt;
            }
            const std::string s = value.Scalar();
            if (std::find(k.allowed.begin(), k.allowed.end(), s) != k.allowed.end()) return Value{s};
            const std::string best = closest(s, k.allowed);
            diag_.error(path, quote(s) + " is not one of " + allowed +
                                  (best.empty() ? "" : "; did you mean " + best + "?"));
            return std::nullopt;
        }
        case ValueKind::cost: {
            auto c = convert_cost(k, value);
            if (!c) return std::nullopt;
            return Value{*c};
        }
    }
    return std::nullopt;
}

void TreeReader::fill_derived_defaults() {
    for (const auto& k : schema_.keys()) {
        if (k.presence != Presence::derived || diag_.given(k.path) || diag_.failed(k.path)) continue;
        bool inputs_ok = true;
        for (const auto& from : k.derived_from) inputs_ok = inputs_ok && !diag_.failed(from);
        if (inputs_ok) k.set_default(spec_);
        else diag_.mark_failed(k.path);
    }
}

// --set path.to.key=value: the value is parsed as YAML (so `6` is a number
// and `none` a name) and replaces or creates the node before validation.
// "a.b.c" -> {"a", "b", "c"} (empty parts kept, so "a..b" is caught as a bad key).
std::vector<std::string> split_dotted(const std::string& path) {
    std::vector<std::string> parts;
    for (size_t start = 0;;) {
        const size_t dot = path.find('.', start);
        parts.push_back(path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    return parts;
}

void apply_override(YAML::Node& root, const std::string& text, Diagnostics& diag) {
    const auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0) {
        diag.error_in_override(text, "", "expected path.to.key=value");
        return;
    }
    const std::string path = text.substr(0, eq);
    const std::string value_text = text.substr(eq + 1);
    const std::vector<std::string> parts = split_dotted(path);
    for (const auto& p : parts) {
        if (p.empty() || p.find_first_of(" \t[]{}:,#") != std::string::npos) {
            diag.error_in_override(text, path, "not a key path (expected names joined by '.')");
            return;
        }
    }
    YAML::Node value;
    try {
        value = YAML::Load(value_text);
    } catch (const YAML::Exception& e) {
        diag.error_in_override(text, path, "the value is not valid YAML: " + e.msg);
        return;
    }
    if (!root.IsMap()) root = YAML::Node(YAML::NodeType::Map);
    YAML::Node cur = root;
    std::string walked;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
        walked = join_path(walked, parts[i]);
        YAML::Node next = cur[parts[i]];
        if (!next.IsDefined() || next.IsNull()) {
            cur[parts[i]] = YAML::Node(YAML::NodeType::Map);
            diag.record_override(walked, text);  // created by this --set
        } else if (!next.IsMap()) {
            diag.error_in_override(text, walked, "is not a section; cannot set " + path + " inside it");
            return;
        }
        YAML::Node child = cur[parts[i]];
        cur.reset(child);
    }
    cur[parts.back()] = value;
    diag.record_override(path, text);
}

// The kind the YAML gives (after overrides), which decides the sections it may have; cim when
// absent or invalid (the walk reports an invalid one).
DeviceKind peek_kind(const YAML::Node& root) {
    if (!root.IsMap()) return DeviceKind::cim;
    const YAML::Node& const_root = root;
    const YAML::Node kind = const_root["kind"];
    if (!kind.IsDefined() || !kind.IsScalar()) return DeviceKind::cim;
    return value_of(kDeviceKindNames, kind.Scalar()).value_or(DeviceKind::cim);
}

}  // namespace

DeviceSpec read_device(std::string_view yaml_text, const std::string& source_name,
                       const std::vector<std::string>& set_overrides,
                       std::set<std::string>* given_out = nullptr) {
    Diagnostics diag(source_name);
    YAML::Node root;
    try {
        root = YAML::Load(std::string(yaml_text));
    } catch (const YAML::Exception& e) {
        diag.error_at(e.mark, "", "invalid YAML: " + e.msg);
        throw InputError(diag.message());
    }
    if (root.IsNull() && set_overrides.empty()) {
        diag.error("", "the device description is empty");
        throw InputError(diag.message());
    }
    if (!root.IsNull() && !root.IsMap()) {
        diag.error_at(root.Mark(), "", "expected a mapping of keys at the top level, got " + describe(root));
        throw InputError(diag.message());
    }
    diag.record("", root.Mark(), root.Mark());
    for (const auto& text : set_overrides) apply_override(root, text, diag);

    DeviceSpec spec;
    try {
        TreeReader reader(device_schema(), diag, spec, peek_kind(root));
        reader.read_section(root, "");
        fill_digital_view(spec);
        reader.fill_derived_defaults();
        check_cross_field_rules(spec, diag);
        resolve_estimates(spec, diag);
    } catch (const YAML::Exception& e) {
        // yaml-cpp should not throw here; if it does, still report a place, never crash.
        diag.error_at(e.mark, "", "invalid YAML: " + e.msg);
    }
    if (!diag.empty()) throw InputError(diag.message());
    spec.source_path = source_name;
    spec.overrides = set_overrides;
    if (given_out) *given_out = diag.given_paths();
    return spec;
}

namespace {

// A --set value that YAML reads as a plain scalar with exactly this text (no
// quotes, flow collections, comments, anchors, document markers or nulls).
bool plain_scalar(const std::string& v) {
    if (v.empty() || v == "~" || v == "null" || v == "Null" || v == "NULL") return false;
    for (char c : v)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '+' || c == '-')) return false;
    const char c0 = v[0];
    if (c0 == '-' || c0 == '+' || c0 == '.') {
        if (v.size() < 2) return false;
        const char c1 = v[1];
        if (!(std::isalnum(static_cast<unsigned char>(c1)) || (c1 == '.' && c0 != '.'))) return false;
    }
    return true;
}

}  // namespace

}  // namespace device_detail

struct DeviceVariants::Impl {
    std::string text, source;
    std::vector<std::string> base_overrides;
    DeviceSpec base;
    std::set<std::string> given;
};

DeviceVariants::DeviceVariants(const std::string& name_or_path, std::vector<std::string> base_overrides)
{
    auto impl = std::make_shared<Impl>();
    impl->source = resolve_device_path(name_or_path);
    std::ifstream in(impl->source, std::ios::binary);
    if (!in) throw InputError(impl->source + ": cannot open the device file");
    std::ostringstream text;
    text << in.rdbuf();
    impl->text = text.str();
    impl->base_overrides = std::move(base_overrides);
    impl->base = device_detail::read_device(impl->text, impl->source, impl->base_overrides, &impl->given);
    impl_ = std::move(impl);
}

const DeviceSpec& DeviceVariants::base() const { return impl_->base; }

DeviceSpec DeviceVariants::make(const std::vector<std::string>& set_overrides) const {
    using namespace device_detail;
    std::vector<std::string> all = impl_->base_overrides;
    all.insert(all.end(), set_overrides.begin(), set_overrides.end());
    // Fast path: every override sets one key to a plain scalar, so the base spec
    // with those keys stored, the derived defaults recomputed and the cross-field
    // rules run equals what reading the YAML again would give.
    const Schema& schema = device_schema();
    Diagnostics diag(impl_->source);
    diag.set_base_given(&impl_->given);
    DeviceSpec spec = impl_->base;
    TreeReader reader(schema, diag, spec, spec.kind);
    bool fast = true;
    for (const auto& text : set_overrides) {
        const auto eq = text.find('=');
        const KeyDecl* k = eq == std::string::npos || eq == 0 ? nullptr : schema.find_key(text.substr(0, eq));
        const std::string value = eq == std::string::npos ? "" : text.substr(eq + 1);
        // The kind decides which keys a device has; a key of another kind is an error only the full read words.
        if (!k || !plain_scalar(value) || k->path == "kind" || !(k->kinds & kind_bit(spec.kind))) {
            fast = false;
            break;
        }
        diag.record_override(k->path, text);
        reader.read_key(*k, YAML::Node(value));
    }
    if (fast) {
        fill_digital_view(spec);
        reader.fill_derived_defaults();
        check_cross_field_rules(spec, diag);
        resolve_estimates(spec, diag);
        if (diag.empty()) {
            spec.overrides = std::move(all);
            return spec;
        }
    }
    // Anything else, and every error (for its exact message), reads the YAML again.
    return read_device(impl_->text, impl_->source, all);
}

std::string override_path_problem(const std::string& path) {
    using namespace device_detail;
    const Schema& schema = device_schema();
    if (schema.find_key(path)) return "";
    const std::vector<std::string> parts = split_dotted(path);
    for (const auto& p : parts)
        if (p.empty() || p.find_first_of(" \t[]{}:,#=") != std::string::npos)
            return "not a key path (expected names joined by '.', e.g. array.adc.bits)";
    std::string section;
    for (size_t i = 0; i < parts.size(); ++i) {
        const std::string here = join_path(section, parts[i]);
        if (schema.find_section(here)) {
            section = here;
            continue;
        }
        if (const KeyDecl* k = schema.find_key(here)) {
            // `energy.adc_pj_per_conversion.value`: a field of a cost given as a mapping.
            // ... or of an estimator (`.model`, a parameter, `.anchor.bits`): checked when the YAML is read.
            if (k->kind == ValueKind::cost && i + 1 < parts.size()) return "";
            return "'" + here + "' is a key, not a section; nothing lies inside it";
        }
        Diagnostics diag("");
        DeviceSpec scratch;
        TreeReader reader(schema, diag, scratch, std::nullopt);
        return "'" + here + "': " + reader.unknown_key_problem(section, parts[i]);
    }
    const auto& kids = schema.children(section);
    return "is a section, not a key (its keys: " + [&] {
        std::string list;
        for (const auto& kid : kids) list += (list.empty() ? "" : ", ") + kid;
        return list;
    }() + ")";
}

bool path_applies_to(const std::string& path, DeviceKind kind) {
    using namespace device_detail;
    const Schema& schema = device_schema();
    // The first section or key on the path decides (a cost's `.value` lies inside its key).
    for (std::string p = path; !p.empty(); p = parent_path(p)) {
        if (const KeyDecl* k = schema.find_key(p)) return (k->kinds & kind_bit(kind)) != 0;
        if (const SectionDecl* sec = schema.find_section(p); sec && parent_path(p).empty())
            return (sec->kinds & kind_bit(kind)) != 0;
    }
    return true;
}

DeviceSpec parse_device(std::string_view yaml_text, const std::string& source_name,
                        const std::vector<std::string>& set_overrides) {
    return device_detail::read_device(yaml_text, source_name, set_overrides);
}

DeviceSpec load_device(const std::string& name_or_path, const std::vector<std::string>& set_overrides) {
    const std::string path = resolve_device_path(name_or_path);
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path + ": cannot open the device file");
    std::ostringstream text;
    text << in.rdbuf();
    return device_detail::read_device(text.str(), path, set_overrides);
}

}  // namespace cim
