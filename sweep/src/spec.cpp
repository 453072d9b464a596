// Reading a sweep YAML: every key checked (unknown keys with a suggestion,
// types, bounds), every axis path checked against the device schema at the
// axis's line, constraints parsed and their names resolved, and all problems
// reported together as FILE:LINE:COL: key: problem.
#include "internal.h"

#include <cim/device/device_spec.h>
#include <cim/error.h>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <tuple>
#include <unordered_set>

#ifndef CIM_MODELS_DIR
#define CIM_MODELS_DIR ""
#endif

namespace cim::sweep {

namespace fs = std::filesystem;

namespace detail {

const std::vector<std::string>& cost_metric_names() {
    static const std::vector<std::string> names = {"latency_s", "throughput_inf_per_s", "energy_j", "power_w",
                                                   "area_mm2",  "tops",                 "tops_per_w", "tops_per_mm2",
                                                   "arrays",    "chips",                "utilization", "fits"};
    return names;
}

const std::vector<std::string>& accuracy_metric_names() {
    static const std::vector<std::string> names = {"accuracy", "accuracy_ci95", "quant_accuracy", "float_accuracy"};
    return names;
}

uint64_t fnv1a(std::string_view s, uint64_t h) {
    for (unsigned char c : s) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    return h;
}

namespace {
int edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::vector<int>> d(a.size() + 1, std::vector<int>(b.size() + 1));
    for (size_t i = 0; i <= a.size(); ++i) d[i][0] = int(i);
    for (size_t j = 0; j <= b.size(); ++j) d[0][j] = int(j);
    for (size_t i = 1; i <= a.size(); ++i)
        for (size_t j = 1; j <= b.size(); ++j) {
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    return d[a.size()][b.size()];
}
}  // namespace

std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
    std::string best;
    int best_d = std::max(2, int(word.size()) / 3) + 1;
    for (const auto& c : candidates) {
        const int d = edit_distance(word, c);
        if (d < best_d) {
            best_d = d;
            best = c;
        }
    }
    return best;
}

std::string format_number(double v) {
    if (std::isnan(v)) return "";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    return fmt::format("{:.9g}", v);
}

}  // namespace detail

namespace {

using detail::closest;

// Problems, each at a place; thrown together.
class Problems {
public:
    explicit Problems(std::string file) : file_(std::move(file)) {}
    void at(const YAML::Mark& m, const std::string& key, const std::string& problem) {
        const int line = m.is_null() ? 1 : m.line + 1, col = m.is_null() ? 1 : m.column + 1;
        at(line, col, key, problem);
    }
    void at(int line, int col, const std::string& key, const std::string& problem) {
        entries_.push_back({line, col, int(entries_.size()),
                            fmt::format("{}:{}:{}: {}{}", file_, line, col, key.empty() ? "" : key + ": ", problem)});
    }
    bool empty() const { return entries_.empty(); }
    std::string message() const {
        auto sorted = entries_;
        std::stable_sort(sorted.begin(), sorted.end(), [](const Entry& a, const Entry& b) {
            return std::tie(a.line, a.col, a.seq) < std::tie(b.line, b.col, b.seq);
        });
        std::string out;
        for (const auto& e : sorted) out += (out.empty() ? "" : "\n") + e.text;
        return out;
    }

private:
    struct Entry {
        int line, col, seq;
        std::string text;
    };
    std::string file_;
    std::vector<Entry> entries_;
};

std::string describe(const YAML::Node& n) {
    switch (n.Type()) {
        case YAML::NodeType::Null: return "nothing (null)";
        case YAML::NodeType::Sequence: return "a list";
        case YAML::NodeType::Map: return "a mapping";
        case YAML::NodeType::Scalar: return n.Tag() == "!" ? "the quoted string \"" + n.Scalar() + "\"" : "'" + n.Scalar() + "'";
        case YAML::NodeType::Undefined: return "nothing";
    }
    return "?";
}

// The entries of a mapping, checked against the allowed keys (unknown and duplicate keys reported).
struct Entry {
    std::string key;
    YAML::Node key_node, value;
};
std::vector<Entry> entries(const YAML::Node& map, const std::string& where, const std::vector<std::string>& allowed,
                           Problems& P) {
    std::vector<Entry> out;
    for (auto it = map.begin(); it != map.end(); ++it) {
        const YAML::Node k = it->first;
        if (!k.IsScalar()) {
            P.at(k.Mark(), where, "keys must be plain names, got " + describe(k));
            continue;
        }
        const std::string name = k.Scalar();
        const std::string path = where.empty() ? name : where + "." + name;
        bool dup = false;
        for (const auto& e : out)
            if (e.key == name) {
                P.at(k.Mark(), path, fmt::format("duplicate key (first given at {}:{})", e.key_node.Mark().line + 1,
                                                 e.key_node.Mark().column + 1));
                dup = true;
            }
        if (dup) continue;
        if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
            const std::string best = closest(name, allowed);
            std::string list;
            for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
            P.at(k.Mark(), path, best.empty() ? "unknown key; expected one of: " + list : "unknown key; did you mean " + best + "?");
            continue;
        }
        out.push_back({name, k, it->second});
    }
    return out;
}

const Entry* find(const std::vector<Entry>& es, const std::string& key) {
    for (const auto& e : es)
        if (e.key == key) return &e;
    return nullptr;
}

std::optional<std::string> as_string(const YAML::Node& n, const std::string& path, Problems& P) {
    if (!n.IsScalar()) {
        P.at(n.Mark(), path, "expected a string, got " + describe(n));
        return std::nullopt;
    }
    return n.Scalar();
}

std::optional<double> parse_double(const std::string& t) {
    std::string s = t;
    if (!s.empty() && s[0] == '+') s.erase(0, 1);
    double v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
    return v;
}

std::optional<double> as_number(const YAML::Node& n, const std::string& path, Problems& P) {
    std::optional<double> v;
    if (n.IsScalar() && n.Tag() != "!") v = parse_double(n.Scalar());
    if (!v) P.at(n.Mark(), path, "expected a number, got " + describe(n));
    return v;
}

std::optional<long long> as_int(const YAML::Node& n, const std::string& path, long long lo, long long hi, Problems& P) {
    std::optional<long long> v;
    if (n.IsScalar() && n.Tag() != "!") {
        std::string s = n.Scalar();
        if (!s.empty() && s[0] == '+') s.erase(0, 1);
        long long x = 0;
        auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
        if (!s.empty() && ec == std::errc() && ptr == s.data() + s.size()) v = x;
    }
    if (!v) {
        P.at(n.Mark(), path, "expected an integer, got " + describe(n));
        return std::nullopt;
    }
    if (*v < lo || *v > hi) {
        P.at(n.Mark(), path, fmt::format("{} is out of range: must be in [{}, {}]", *v, lo, hi));
        return std::nullopt;
    }
    return v;
}

std::optional<bool> as_bool(const YAML::Node& n, const std::string& path, Problems& P) {
    const std::string s = n.IsScalar() && n.Tag() != "!" ? n.Scalar() : "";
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
    P.at(n.Mark(), path, "expected true or false, got " + describe(n));
    return std::nullopt;
}

// A list of strings (a single string is a list of one).
std::vector<std::pair<std::string, YAML::Node>> as_string_list(const YAML::Node& n, const std::string& path, Problems& P) {
    std::vector<std::pair<std::string, YAML::Node>> out;
    if (n.IsScalar()) {
        out.emplace_back(n.Scalar(), n);
    } else if (n.IsSequence()) {
        for (size_t i = 0; i < n.size(); ++i) {
            const YAML::Node e = n[i];
            if (auto s = as_string(e, fmt::format("{}[{}]", path, i), P)) out.emplace_back(*s, e);
        }
    } else {
        P.at(n.Mark(), path, "expected a list of strings, got " + describe(n));
    }
    return out;
}

bool valid_name(const std::string& s) {
    if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
    for (char c : s)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')) return false;
    return true;
}

fs::path models_dir() {
    if (const char* env = std::getenv("CIMFORGE_MODELS"); env && *env) return env;
    return CIM_MODELS_DIR;
}

std::vector<std::string> zoo_names() {
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(models_dir(), ec), end; !ec && it != end; it.increment(ec))
        if (fs::is_regular_file(it->path() / "model.onnx", ec)) names.push_back(it->path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

bool looks_like_path(const std::string& s, const char* ext) {
    return s.find('/') != std::string::npos || (s.size() > std::strlen(ext) && s.ends_with(ext));
}

std::string relative_to(const std::string& base_dir, const std::string& p) {
    if (fs::path(p).is_absolute() || base_dir.empty()) return p;
    return (fs::path(base_dir) / p).lexically_normal().string();
}

// The value text of a field written in the base device YAML (with the fixed
// overrides), for constraints: "" when it is not written there.
class BaseFields {
public:
    BaseFields(const std::string& device_path, const std::vector<std::string>& fixed) : fixed_(fixed) {
        try {
            root_ = YAML::LoadFile(device_path);
        } catch (const std::exception&) {
        }
    }
    std::optional<std::string> get(const std::string& path) const {
        for (auto it = fixed_.rbegin(); it != fixed_.rend(); ++it)
            if (it->rfind(path + "=", 0) == 0) return it->substr(path.size() + 1);
        if (!root_ || !root_.IsMap()) return std::nullopt;
        YAML::Node cur = YAML::Clone(root_);
        size_t start = 0;
        for (;;) {
            const size_t dot = path.find('.', start);
            const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
            if (!cur.IsMap()) return std::nullopt;
            YAML::Node next = cur[part];
            if (!next.IsDefined()) return std::nullopt;
            cur.reset(next);
            if (dot == std::string::npos) break;
            start = dot + 1;
        }
        if (cur.IsMap() && cur["value"].IsDefined() && cur["value"].IsScalar()) return cur["value"].Scalar();
        if (cur.IsScalar()) return cur.Scalar();
        return std::nullopt;
    }

private:
    YAML::Node root_;
    std::vector<std::string> fixed_;
};

std::vector<std::string> range_values(const std::vector<Entry>& es, const std::string& where, const YAML::Node& node, Problems& P) {
    std::vector<std::string> out;
    const Entry* from = find(es, "from");
    const Entry* to = find(es, "to");
    const Entry* step = find(es, "step");
    const Entry* count = find(es, "count");
    const Entry* scale = find(es, "scale");
    const Entry* integer = find(es, "integer");
    bool ok = true;
    if (!from) P.at(node.Mark(), where, "a range needs `from`"), ok = false;
    if (!to) P.at(node.Mark(), where, "a range needs `to`"), ok = false;
    if (!step == !count) P.at(node.Mark(), where, "a range needs exactly one of `step` and `count`"), ok = false;
    const std::optional<double> a_ = from ? as_number(from->value, where + ".from", P) : std::nullopt;
    const std::optional<double> b_ = to ? as_number(to->value, where + ".to", P) : std::nullopt;
    const std::optional<double> st_ = step ? as_number(step->value, where + ".step", P) : std::nullopt;
    const std::optional<long long> n_ = count ? as_int(count->value, where + ".count", 1, 100000, P) : std::nullopt;
    bool log = false;
    if (scale) {
        auto s = as_string(scale->value, where + ".scale", P);
        if (s && *s == "log") log = true;
        else if (s && *s != "linear") P.at(scale->value.Mark(), where + ".scale", "'" + *s + "' is not one of linear, log"), ok = false;
    }
    if (!a_ || !b_ || (step && !st_) || (count && !n_)) return out;
    const double a = *a_, b = *b_, st = st_.value_or(0);
    const long long n = n_.value_or(1);
    auto is_int_text = [](const Entry* e) {
        const std::string s = e->value.Scalar();
        return s.find_first_of(".eE") == std::string::npos;
    };
    bool ints = step && is_int_text(from) && is_int_text(to) && is_int_text(step);
    if (integer) {
        auto v = as_bool(integer->value, where + ".integer", P);
        if (v) ints = *v;
    }
    if (!ok) return out;
    std::vector<double> xs;
    if (log) {
        if (a <= 0 || b <= 0) {
            P.at(node.Mark(), where, "a log range needs from > 0 and to > 0");
            return out;
        }
        if (step) {
            P.at(step->key_node.Mark(), where + ".step", "a log range takes `count`, not `step`");
            return out;
        }
        for (long long i = 0; i < n; ++i)
            xs.push_back(n == 1 ? a : std::exp(std::log(a) + (std::log(b) - std::log(a)) * double(i) / double(n - 1)));
    } else if (step) {
        const double s = std::fabs(st);
        if (s == 0) {
            P.at(step->value.Mark(), where + ".step", "must not be 0");
            return out;
        }
        const double span = std::fabs(b - a);
        const double values = std::floor(span / s + 1e-9) + 1;  // in double: it may be past any integer (1e308 / 1e-300)
        if (!(values <= 100000)) {
            P.at(node.Mark(), where, fmt::format("{:.6g} values; at most 100000", values));
            return out;
        }
        const long long k = (long long)values;
        const double dir = b >= a ? 1 : -1;
        for (long long i = 0; i < k; ++i) xs.push_back(a + dir * s * double(i));
    } else {
        for (long long i = 0; i < n; ++i) xs.push_back(n == 1 ? a : a + (b - a) * double(i) / double(n - 1));
    }
    std::unordered_set<std::string> seen;  // up to 100000 values: no quadratic search
    for (double x : xs) {
        std::string t = ints ? fmt::format("{}", (long long)std::llround(x)) : fmt::format("{:.6g}", x);
        if (seen.insert(t).second) out.push_back(t);
    }
    return out;
}

}  // namespace

std::vector<std::string> metric_names(const SweepSpec& spec) {
    std::vector<std::string> m = detail::cost_metric_names();
    if (spec.accuracy)
        for (const auto& a : detail::accuracy_metric_names()) m.push_back(a);
    return m;
}

void set_accuracy_images(SweepSpec& spec, int images) {
    if (spec.accuracy) spec.accuracy->images = images;
}

SweepSpec parse_sweep(std::string_view yaml_text, const std::string& source_name, const std::string& base_dir) {
    Problems P(source_name);
    YAML::Node root;
    try {
        root = YAML::Load(std::string(yaml_text));
    } catch (const YAML::Exception& e) {
        P.at(e.mark, "", "invalid YAML: " + e.msg);
        throw InputError(P.message());
    }
    if (!root.IsMap()) {
        P.at(root.Mark(), "", root.IsNull() ? "the sweep description is empty" : "expected a mapping of keys at the top level, got " + describe(root));
        throw InputError(P.message());
    }
    SweepSpec spec;
    spec.file = source_name;
    spec.name = fs::path(source_name).stem().string();
    const auto top = entries(root, "", {"name", "device", "set", "models", "axes", "sampling", "constraints", "metrics", "pareto", "plot"}, P);
    // A device axis (`path: device`) lists the devices in place of `device:`.
    bool device_axis_given = false;
    if (const Entry* e = find(top, "axes"); e && e->value.IsSequence())
        for (size_t i = 0; i < e->value.size(); ++i) {
            const YAML::Node an = e->value[i];
            if (an.IsMap() && an["path"].IsDefined() && an["path"].IsScalar() && an["path"].Scalar() == "device") device_axis_given = true;
        }
    for (const char* required : {"device", "models", "axes"})
        if (!find(top, required) && !(device_axis_given && std::string(required) == "device"))
            P.at(root.Mark(), required, "required key is missing");
    if (device_axis_given)
        if (const Entry* e = find(top, "device"))
            P.at(e->key_node.Mark(), "device", "the devices are the values of the axis `path: device`; remove `device:` "
                                                "(or the axis)");

    if (const Entry* e = find(top, "name"))
        if (auto s = as_string(e->value, "name", P)) spec.name = *s;

    // ---- fixed overrides ----
    std::vector<std::pair<std::string, YAML::Node>> fixed_nodes;
    if (const Entry* e = find(top, "set")) {
        if (e->value.IsMap()) {
            for (auto it = e->value.begin(); it != e->value.end(); ++it) {
                const YAML::Node k = it->first, v = it->second;
                if (!k.IsScalar()) {
                    P.at(k.Mark(), "set", "keys must be device paths, got " + describe(k));
                    continue;
                }
                if (!(v.IsScalar() || v.IsNull())) {
                    P.at(v.Mark(), "set." + k.Scalar(), "expected a value, got " + describe(v));
                    continue;
                }
                fixed_nodes.emplace_back(k.Scalar() + "=" + (v.IsNull() ? "~" : v.Scalar()), k);
            }
        } else {
            fixed_nodes = as_string_list(e->value, "set", P);
        }
    }
    for (const auto& [text, node] : fixed_nodes) {
        const auto eq = text.find('=');
        if (eq == std::string::npos || eq == 0) {
            P.at(node.Mark(), "set", "'" + text + "': expected path.to.key=value");
            continue;
        }
        if (std::string why = override_path_problem(text.substr(0, eq)); !why.empty())
            P.at(node.Mark(), "set", text.substr(0, eq) + ": " + why);
        spec.fixed.push_back(text);
    }

    // ---- base device ----
    std::string device_path;  // resolved, for constraint lookups
    if (const Entry* e = find(top, "device")) {
        if (auto s = as_string(e->value, "device", P)) {
            std::error_code ec;  // a name the file system refuses (too long) is no file: reported below
            spec.device = looks_like_path(*s, ".yaml") && fs::exists(relative_to(base_dir, *s), ec) ? relative_to(base_dir, *s) : *s;
            try {
                device_path = resolve_device_path(spec.device);
                if (P.empty()) load_device(spec.device, spec.fixed);
            } catch (const InputError& err) {
                P.at(e->value.Mark(), "device", std::string("the base device does not load:\n  ") + [&] {
                    std::string m = err.what();
                    for (size_t p = 0; (p = m.find('\n', p)) != std::string::npos; p += 3) m.replace(p, 1, "\n  ");
                    return m;
                }());
            }
        }
    }

    // ---- models ----
    if (const Entry* e = find(top, "models")) {
        const auto list = as_string_list(e->value, "models", P);
        if (list.empty() && e->value.IsSequence()) P.at(e->value.Mark(), "models", "the list is empty");
        for (size_t i = 0; i < list.size(); ++i) {
            const auto& [s, node] = list[i];
            SweepSpec::Model m;
            m.name = s;
            std::error_code ec;
            if (looks_like_path(s, ".onnx")) {
                m.path = relative_to(base_dir, s);
                if (!fs::is_regular_file(m.path, ec)) P.at(node.Mark(), fmt::format("models[{}]", i), m.path + ": no such file");
                m.name = fs::path(s).stem().string() == "model" ? fs::path(s).parent_path().filename().string() : fs::path(s).stem().string();
            } else {
                m.path = (models_dir() / s / "model.onnx").string();
                if (!fs::is_regular_file(m.path, ec)) {
                    const auto names = zoo_names();
                    std::string list_text;
                    for (const auto& n : names) list_text += (list_text.empty() ? "" : ", ") + n;
                    const std::string best = closest(s, names);
                    P.at(node.Mark(), fmt::format("models[{}]", i),
                         fmt::format("'{}' is no zoo model{} and no .onnx file; zoo models in {}: {}", s,
                                     best.empty() ? "" : " (did you mean " + best + "?)", models_dir().string(),
                                     list_text.empty() ? "(none found)" : list_text));
                }
            }
            for (const auto& other : spec.models)
                if (other.name == m.name) P.at(node.Mark(), fmt::format("models[{}]", i), "'" + m.name + "' is listed twice");
            spec.models.push_back(m);
        }
    }

    // ---- axes ----
    if (const Entry* e = find(top, "axes")) {
        if (!e->value.IsSequence() || e->value.size() == 0) {
            P.at(e->value.Mark(), "axes", e->value.IsSequence() ? "the list is empty; give at least one axis"
                                                                : "expected a list of axes, got " + describe(e->value));
        } else {
            for (size_t i = 0; i < e->value.size(); ++i) {
                const YAML::Node an = e->value[i];
                const std::string where = fmt::format("axes[{}]", i);
                if (!an.IsMap()) {
                    P.at(an.Mark(), where, "expected a mapping (path: ..., values: [...]), got " + describe(an));
                    continue;
                }
                const auto ae = entries(an, where, {"path", "paths", "name", "values", "range"}, P);
                Axis axis;
                axis.line = an.Mark().line + 1;
                axis.col = an.Mark().column + 1;
                const Entry* path = find(ae, "path");
                const Entry* paths = find(ae, "paths");
                if (!path == !paths) P.at(an.Mark(), where, "give exactly one of `path` and `paths`");
                std::vector<std::pair<std::string, YAML::Node>> path_list;
                if (path) {
                    if (auto s = as_string(path->value, where + ".path", P)) path_list.emplace_back(*s, path->value);
                } else if (paths) {
                    path_list = as_string_list(paths->value, where + ".paths", P);
                    if (path_list.empty() && paths->value.IsSequence()) P.at(paths->value.Mark(), where + ".paths", "the list is empty");
                }
                for (const auto& [p, node] : path_list) {
                    if (p == "device") {
                        if (!path) P.at(node.Mark(), where + ".paths", "the device axis is `path: device` alone (devices are not zipped with keys)");
                        axis.paths.push_back(p);
                        continue;
                    }
                    if (std::string why = override_path_problem(p); !why.empty()) {
                        P.at(node.Mark(), where + (path ? ".path" : ".paths"), p + ": " + why);
                        continue;
                    }
                    for (const auto& f : spec.fixed)
                        if (f.rfind(p + "=", 0) == 0)
                            P.at(node.Mark(), where, p + " is also fixed in `set:`; the axis would replace it (remove one)");
                    for (const auto& other : spec.axes)
                        if (std::find(other.paths.begin(), other.paths.end(), p) != other.paths.end())
                            P.at(node.Mark(), where, p + " is already swept by axis " + other.name);
                    if (std::find(axis.paths.begin(), axis.paths.end(), p) != axis.paths.end())
                        P.at(node.Mark(), where, p + " is listed twice");
                    axis.paths.push_back(p);
                }
                if (const Entry* n = find(ae, "name")) {
                    if (auto s = as_string(n->value, where + ".name", P)) {
                        if (!valid_name(*s))
                            P.at(n->value.Mark(), where + ".name", "'" + *s + "' is not a name (letters, digits, '_' and '.', not starting with a digit)");
                        axis.name = *s;
                    }
                } else if (!path_list.empty()) {
                    axis.name = path_list.front().first;
                }
                const Entry* values = find(ae, "values");
                const Entry* range = find(ae, "range");
                if (!values == !range) P.at(an.Mark(), where, "give exactly one of `values` and `range`");
                if (values) {
                    if (!values->value.IsSequence() || values->value.size() == 0) {
                        P.at(values->value.Mark(), where + ".values",
                             values->value.IsSequence() ? "the list is empty" : "expected a list of values, got " + describe(values->value));
                    } else {
                        auto scalar = [&](const YAML::Node& v, const std::string& at) -> std::optional<std::string> {
                            if (!(v.IsScalar() || v.IsNull())) {
                                P.at(v.Mark(), at, "expected a value, got " + describe(v));
                                return std::nullopt;
                            }
                            const std::string t = v.IsNull() ? "~" : v.Scalar();
                            if (t.find_first_of("\n\r") != std::string::npos) {
                                P.at(v.Mark(), at, "a value must fit on one line");
                                return std::nullopt;
                            }
                            return t;
                        };
                        std::unordered_set<std::string> listed;  // the values so far (a list may be long)
                        bool any_zipped = false;
                        for (size_t j = 0; j < values->value.size(); ++j) any_zipped = any_zipped || values->value[j].IsSequence();
                        for (size_t j = 0; j < values->value.size(); ++j) {
                            const YAML::Node v = values->value[j];
                            const std::string at = fmt::format("{}.values[{}]", where, j);
                            std::vector<std::string> tuple;
                            if (any_zipped) {
                                if (!v.IsSequence() || v.size() != path_list.size()) {
                                    P.at(v.Mark(), at, fmt::format("a zipped value lists one entry per path ({}), got {}", path_list.size(),
                                                                   v.IsSequence() ? fmt::format("{} entries", v.size()) : describe(v)));
                                    continue;
                                }
                                bool ok = true;
                                for (size_t i = 0; i < v.size(); ++i) {
                                    auto t = scalar(v[i], fmt::format("{}[{}]", at, i));
                                    if (t) tuple.push_back(*t);
                                    else ok = false;
                                }
                                if (!ok) continue;
                            } else if (auto t = scalar(v, at)) {
                                tuple.push_back(*t);
                            } else {
                                continue;
                            }
                            if (!listed.insert(tuple.front()).second) {
                                P.at(v.Mark(), at, "'" + tuple.front() + "' is listed twice" + (any_zipped ? " (the first entry names the value in the CSV)" : ""));
                                continue;
                            }
                            axis.values.push_back(tuple.front());
                            if (any_zipped) axis.zipped.push_back(std::move(tuple));
                        }
                    }
                } else if (range) {
                    if (!range->value.IsMap()) {
                        P.at(range->value.Mark(), where + ".range", "expected {from: A, to: B, step: S | count: N, scale: linear | log}, got " + describe(range->value));
                    } else {
                        const auto re = entries(range->value, where + ".range", {"from", "to", "step", "count", "scale", "integer"}, P);
                        axis.values = range_values(re, where + ".range", range->value, P);
                    }
                }
                for (const auto& other : spec.axes)
                    if (!axis.name.empty() && other.name == axis.name)
                        P.at(an.Mark(), where, "two axes are named " + axis.name + "; give one a `name:`");
                if (axis.paths.size() == 1 && axis.paths.front() == "device") {
                    if (range) P.at(an.Mark(), where, "the device axis lists devices under `values:` (names or YAML files)");
                    spec.device_axis = int(spec.axes.size());
                    for (const auto& v : axis.values) {
                        std::error_code ec;
                        const std::string dev = looks_like_path(v, ".yaml") && fs::exists(relative_to(base_dir, v), ec) ? relative_to(base_dir, v) : v;
                        try {
                            const std::string resolved = resolve_device_path(dev);
                            if (device_path.empty()) device_path = resolved;
                            if (P.empty()) load_device(dev, spec.fixed);
                        } catch (const InputError& err) {
                            std::string m = err.what();
                            for (size_t q = 0; (q = m.find('\n', q)) != std::string::npos; q += 3) m.replace(q, 1, "\n  ");
                            P.at(axis.line, axis.col, where + ".values", "device '" + v + "' does not load:\n  " + m);
                        }
                        spec.devices.push_back(dev);
                    }
                    if (!spec.devices.empty()) spec.device = spec.devices.front();
                }
                spec.axes.push_back(axis);
            }
        }
    }
    const std::vector<std::string> reserved = [&] {
        std::vector<std::string> r = {"id", "model", "status", "pareto", "note"};
        for (const auto& m : detail::cost_metric_names()) r.push_back(m);
        for (const auto& m : detail::accuracy_metric_names()) r.push_back(m);
        return r;
    }();
    for (const auto& a : spec.axes)
        if (std::find(reserved.begin(), reserved.end(), a.name) != reserved.end())
            P.at(a.line, a.col, "axes", "'" + a.name + "' is a column of its own; give the axis another `name:`");

    // ---- sampling ----
    if (const Entry* e = find(top, "sampling")) {
        if (!e->value.IsMap()) {
            P.at(e->value.Mark(), "sampling", "expected {method: grid | random | latin_hypercube, count: N, seed: S}, got " + describe(e->value));
        } else {
            const auto se = entries(e->value, "sampling", {"method", "count", "seed"}, P);
            bool method_ok = true;
            if (const Entry* m = find(se, "method")) {
                if (auto s = as_string(m->value, "sampling.method", P)) {
                    if (*s == "grid") spec.sampling = Sampling::grid;
                    else if (*s == "random") spec.sampling = Sampling::random;
                    else if (*s == "latin_hypercube" || *s == "lhs") spec.sampling = Sampling::latin_hypercube;
                    else {
                        method_ok = false;
                        const std::string best = closest(*s, {"grid", "random", "latin_hypercube"});
                        P.at(m->value.Mark(), "sampling.method", "'" + *s + "' is not one of grid, random, latin_hypercube" +
                                                                     (best.empty() ? "" : "; did you mean " + best + "?"));
                    }
                }
            }
            const Entry* c = find(se, "count");
            if (c) {
                if (auto n = as_int(c->value, "sampling.count", 1, kMaxPoints, P)) spec.count = *n;
            }
            if (spec.sampling == Sampling::grid && c && method_ok)
                P.at(c->key_node.Mark(), "sampling.count", "a grid takes every point; count is for random and latin_hypercube");
            if (spec.sampling != Sampling::grid && !c && method_ok) P.at(e->value.Mark(), "sampling.count", "required key is missing (points to draw)");
            if (const Entry* s = find(se, "seed"))
                if (auto n = as_int(s->value, "sampling.seed", 0, std::numeric_limits<long long>::max(), P)) spec.seed = uint64_t(*n);
        }
    }

    // ---- metrics ----
    if (const Entry* e = find(top, "metrics")) {
        if (!e->value.IsMap()) {
            P.at(e->value.Mark(), "metrics", "expected {batch: N, accuracy: {...}}, got " + describe(e->value));
        } else {
            const auto me = entries(e->value, "metrics", {"batch", "accuracy"}, P);
            if (const Entry* b = find(me, "batch"))
                if (auto n = as_int(b->value, "metrics.batch", 1, 1'000'000, P)) spec.batch = int(*n);
            if (const Entry* a = find(me, "accuracy")) {
                AccuracySpec acc;
                bool on = true;
                if (a->value.IsScalar()) {
                    auto v = as_bool(a->value, "metrics.accuracy", P);
                    on = v.value_or(false);
                } else if (a->value.IsMap()) {
                    const auto ae = entries(a->value, "metrics.accuracy",
                                            {"images", "instances", "seed", "calibration", "dataset_dir", "data", "labels", "preprocess", "calibration_data"}, P);
                    if (const Entry* x = find(ae, "images"))
                        if (auto n = as_int(x->value, "metrics.accuracy.images", 1, 10000, P)) acc.images = int(*n);
                    if (const Entry* x = find(ae, "instances"))
                        if (auto n = as_int(x->value, "metrics.accuracy.instances", 1, 10000, P)) acc.instances = int(*n);
                    if (const Entry* x = find(ae, "seed"))
                        if (auto n = as_int(x->value, "metrics.accuracy.seed", 0, std::numeric_limits<long long>::max(), P)) acc.seed = uint64_t(*n);
                    if (const Entry* x = find(ae, "calibration"))
                        if (auto n = as_int(x->value, "metrics.accuracy.calibration", 1, 60000, P)) acc.calibration = int(*n);
                    if (const Entry* x = find(ae, "dataset_dir"))
                        if (auto s = as_string(x->value, "metrics.accuracy.dataset_dir", P)) acc.dataset_dir = relative_to(base_dir, *s);
                    for (auto [key, field] : {std::pair<const char*, std::string AccuracySpec::*>{"data", &AccuracySpec::data},
                                              {"labels", &AccuracySpec::labels},
                                              {"preprocess", &AccuracySpec::preprocess},
                                              {"calibration_data", &AccuracySpec::calibration_data}})
                        if (const Entry* x = find(ae, key))
                            if (auto s = as_string(x->value, std::string("metrics.accuracy.") + key, P)) acc.*field = relative_to(base_dir, *s);
                } else {
                    P.at(a->value.Mark(), "metrics.accuracy", "expected {images: N, instances: M, seed: S} or true, got " + describe(a->value));
                    on = false;
                }
                if (on) spec.accuracy = acc;
            }
        }
    }
    const std::vector<std::string> metrics = metric_names(spec);

    // ---- Pareto objectives ----
    std::vector<std::string> objective_names;
    if (const Entry* e = find(top, "pareto")) {
        if (!e->value.IsMap()) {
            P.at(e->value.Mark(), "pareto", "expected {minimize: [...], maximize: [...]}, got " + describe(e->value));
        } else {
            const auto pe = entries(e->value, "pareto", {"minimize", "maximize", "per"}, P);
            if (const Entry* per = find(pe, "per"))
                for (const auto& [name, node] : as_string_list(per->value, "pareto.per", P)) {
                    int k = -1;
                    for (size_t i = 0; i < spec.axes.size(); ++i)
                        if (spec.axes[i].name == name) k = int(i);
                    if (k < 0) {
                        std::vector<std::string> names;
                        for (const auto& a : spec.axes) names.push_back(a.name);
                        const std::string best = closest(name, names);
                        P.at(node.Mark(), "pareto.per", "'" + name + "' is not an axis" + (best.empty() ? "" : "; did you mean " + best + "?"));
                    } else {
                        spec.pareto_per.push_back(k);
                    }
                }
            for (const char* dir : {"minimize", "maximize"})
                if (const Entry* d = find(pe, dir))
                    for (const auto& [name, node] : as_string_list(d->value, std::string("pareto.") + dir, P)) {
                        if (std::find(metrics.begin(), metrics.end(), name) == metrics.end()) {
                            const std::string best = closest(name, metrics);
                            const bool acc = std::find(detail::accuracy_metric_names().begin(), detail::accuracy_metric_names().end(), name) !=
                                             detail::accuracy_metric_names().end();
                            P.at(node.Mark(), std::string("pareto.") + dir,
                                 acc ? "'" + name + "' is computed only with metrics.accuracy"
                                     : "'" + name + "' is not a metric" + (best.empty() ? "" : "; did you mean " + best + "?"));
                            continue;
                        }
                        if (std::find(objective_names.begin(), objective_names.end(), name) != objective_names.end()) {
                            P.at(node.Mark(), std::string("pareto.") + dir, "'" + name + "' is an objective twice");
                            continue;
                        }
                        objective_names.push_back(name);
                        spec.pareto.push_back({name, std::string(dir) == "maximize"});
                    }
            if (spec.pareto.empty() && !find(pe, "minimize") && !find(pe, "maximize"))
                P.at(e->value.Mark(), "pareto", "give minimize and/or maximize");
        }
    } else {
        spec.pareto = {{"energy_j", false}, {"latency_s", false}, {"area_mm2", false}};
        if (spec.accuracy) spec.pareto.push_back({"accuracy", true});
    }

    // ---- plot ----
    std::vector<std::string> axis_names;
    for (const auto& a : spec.axes) axis_names.push_back(a.name);
    if (!spec.pareto.empty()) {
        spec.plot_x = spec.pareto[0].metric;
        spec.plot_y = spec.pareto.size() > 1 ? spec.pareto[1].metric : spec.pareto[0].metric;
        if (spec.accuracy) {
            for (const auto& o : spec.pareto)
                if (o.metric == "accuracy") {
                    spec.plot_y = "accuracy";
                    spec.plot_x = spec.pareto[0].metric == "accuracy" && spec.pareto.size() > 1 ? spec.pareto[1].metric : spec.pareto[0].metric;
                }
        }
    }
    spec.plot_color = spec.device_axis >= 0 ? spec.axes[size_t(spec.device_axis)].name
                      : spec.models.size() > 1 ? "model" : (spec.axes.empty() ? "" : spec.axes[0].name);
    if (const Entry* e = find(top, "plot")) {
        if (!e->value.IsMap()) {
            P.at(e->value.Mark(), "plot", "expected {x: METRIC, y: METRIC, color: AXIS}, got " + describe(e->value));
        } else {
            const auto pe = entries(e->value, "plot", {"x", "y", "color"}, P);
            std::vector<std::string> columns = metrics;
            columns.insert(columns.end(), axis_names.begin(), axis_names.end());
            for (const char* k : {"x", "y"})
                if (const Entry* x = find(pe, k))
                    if (auto s = as_string(x->value, std::string("plot.") + k, P)) {
                        if (std::find(columns.begin(), columns.end(), *s) == columns.end()) {
                            const std::string best = closest(*s, columns);
                            P.at(x->value.Mark(), std::string("plot.") + k,
                                 "'" + *s + "' is neither a metric nor an axis" + (best.empty() ? "" : "; did you mean " + best + "?"));
                        } else {
                            (std::string(k) == "x" ? spec.plot_x : spec.plot_y) = *s;
                        }
                    }
            if (const Entry* c = find(pe, "color"))
                if (auto s = as_string(c->value, "plot.color", P)) {
                    std::vector<std::string> allowed = axis_names;
                    allowed.push_back("model");
                    if (std::find(allowed.begin(), allowed.end(), *s) == allowed.end() && !s->empty()) {
                        const std::string best = closest(*s, allowed);
                        P.at(c->value.Mark(), "plot.color", "'" + *s + "' is not an axis or `model`" + (best.empty() ? "" : "; did you mean " + best + "?"));
                    } else {
                        spec.plot_color = *s;
                    }
                }
        }
    }

    // ---- constraints ----
    auto compiled = std::make_shared<Constraints>();
    if (const Entry* e = find(top, "constraints")) {
        const BaseFields base(device_path, spec.fixed);
        for (const auto& [text, node] : as_string_list(e->value, "constraints", P)) {
            Constraints::One c;
            c.text = text;
            c.line = node.Mark().line + 1;
            c.col = node.Mark().column + 1;
            // Columns of an expression inside a plain or quoted scalar on one line.
            const int shift = node.Tag() == "!" ? 1 : 0;
            try {
                c.expr = detail::Expr::parse(text);
            } catch (const detail::ExprError& err) {
                P.at(c.line, c.col + shift + int(err.offset), "constraints", "'" + text + "': " + err.message);
                continue;
            }
            bool ok = true;
            for (const auto& name : c.expr.names()) {
                Constraints::Binding b;
                for (size_t k = 0; k < spec.axes.size() && b.axis_index < 0; ++k) {
                    const Axis& a = spec.axes[k];
                    const auto it = std::find(a.paths.begin(), a.paths.end(), name);
                    if (a.name == name || it != a.paths.end()) {
                        b.kind = Constraints::Binding::axis;
                        b.axis_index = int(k);
                        if (a.name != name && !a.zipped.empty()) b.path_index = int(it - a.paths.begin());
                    }
                }
                if (b.axis_index < 0) {
                    if (name == "model") {
                        b.kind = Constraints::Binding::model;
                    } else if (auto v = base.get(name)) {
                        b.kind = Constraints::Binding::constant;
                        b.value = detail::Value::of(*v);
                    } else {
                        std::string list;
                        for (const auto& a : axis_names) list += (list.empty() ? "" : ", ") + a;
                        const std::string best = closest(name, axis_names);
                        P.at(c.line, c.col + shift + int(text.find(name)), "constraints",
                             fmt::format("'{}': '{}' is neither an axis ({}){} nor `model` nor a field the base device gives", text, name, list,
                                         best.empty() ? "" : "; did you mean " + best + "?"));
                        ok = false;
                    }
                }
                c.bindings.push_back(b);
            }
            if (ok) compiled->list.push_back(std::move(c));
        }
    }
    spec.constraints = compiled;
    for (const auto& c : compiled->list) spec.constraint_texts.push_back(c.text);

    if (!P.empty()) throw InputError(P.message());
    return spec;
}

SweepSpec load_sweep(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path + ": cannot open the sweep file");
    std::ostringstream text;
    text << in.rdbuf();
    return parse_sweep(text.str(), path, fs::path(path).parent_path().string());
}

}  // namespace cim::sweep
