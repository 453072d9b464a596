#include "diagnostics.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include <fmt/format.h>

#include "schema.h"

namespace cim::device_detail {

void Diagnostics::record(const std::string& path, const YAML::Mark& key_mark,
                         const YAML::Mark& value_mark) {
    places_[path] = Place{key_mark, value_mark};
}

void Diagnostics::record_override(const std::string& path, const std::string& set_text) {
    overrides_[path] = set_text;
    if (std::find(override_order_.begin(), override_order_.end(), set_text) == override_order_.end())
        override_order_.push_back(set_text);
}

const std::string* Diagnostics::override_for(const std::string& path) const {
    for (std::string p = path;; p = parent_path(p)) {
        if (auto it = overrides_.find(p); it != overrides_.end()) return &it->second;
        if (p.empty()) return nullptr;
    }
}

bool Diagnostics::failed(const std::string& path) const {
    if (failed_.empty()) return false;  // the common case: no walk up the path
    for (std::string p = path;; p = parent_path(p)) {
        if (failed_.count(p)) return true;
        if (p.empty()) return false;
    }
}

std::string Diagnostics::key_position(const std::string& path) const {
    auto it = places_.find(path);
    if (it == places_.end() || it->second.key.is_null()) return "?";
    return fmt::format("{}:{}", it->second.key.line + 1, it->second.key.column + 1);
}

void Diagnostics::error(const std::string& path, const std::string& problem) {
    if (const std::string* set_text = override_for(path)) {
        add(YAML::Mark::null_mark(), set_text, path, problem);
        return;
    }
    // The value's own mark, else the key's, else the nearest ancestor's, else 1:1.
    for (std::string p = path;; p = parent_path(p)) {
        if (auto it = places_.find(p); it != places_.end()) {
            const Place& place = it->second;
            if (p == path && !place.value.is_null()) return add(place.value, nullptr, path, problem);
            if (!place.key.is_null()) return add(place.key, nullptr, path, problem);
        }
        if (p.empty()) break;
    }
    YAML::Mark start;  // line 0, column 0
    add(start, nullptr, path, problem);
}

void Diagnostics::error_at_key(const std::string& path, const std::string& problem) {
    if (const std::string* set_text = override_for(path)) {
        add(YAML::Mark::null_mark(), set_text, path, problem);
        return;
    }
    auto it = places_.find(path);
    if (it != places_.end() && !it->second.key.is_null()) return add(it->second.key, nullptr, path, problem);
    error(path, problem);
}

void Diagnostics::error_at(const YAML::Mark& mark, const std::string& path, const std::string& problem) {
    if (const std::string* set_text = override_for(path)) {
        add(YAML::Mark::null_mark(), set_text, path, problem);
        return;
    }
    add(mark, nullptr, path, problem);
}

void Diagnostics::error_in_override(const std::string& set_text, const std::string& path,
                                    const std::string& problem) {
    if (std::find(override_order_.begin(), override_order_.end(), set_text) == override_order_.end())
        override_order_.push_back(set_text);
    add(YAML::Mark::null_mark(), &set_text, path, problem);
}

void Diagnostics::add(const YAML::Mark& mark, const std::string* set_text, const std::string& path,
                      const std::string& problem) {
    Entry e;
    e.seq = static_cast<int>(entries_.size());
    e.text = path.empty() ? problem : path + ": " + problem;
    if (set_text) {
        e.from_set = true;
        e.location = "--set " + *set_text;
        auto it = std::find(override_order_.begin(), override_order_.end(), *set_text);
        e.set_index = static_cast<int>(it - override_order_.begin());
    } else {
        e.line = mark.is_null() ? 1 : mark.line + 1;  // yaml-cpp counts from 0
        e.col = mark.is_null() ? 1 : mark.column + 1;
        e.location = fmt::format("{}:{}:{}", file_, e.line, e.col);
    }
    // The same problem found twice (e.g. by two rules) is reported once.
    if (!seen_.insert(e.location + '\n' + e.text).second) return;
    if (full()) {  // a file of thousands of problems: the first ones, and how many more
        ++unlisted_;
        return;
    }
    entries_.push_back(std::move(e));
}

std::string Diagnostics::message() const {
    std::vector<const Entry*> order;
    for (const auto& e : entries_) order.push_back(&e);
    std::stable_sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
        if (a->from_set != b->from_set) return !a->from_set;
        if (a->from_set) return a->set_index != b->set_index ? a->set_index < b->set_index : a->seq < b->seq;
        if (a->line != b->line) return a->line < b->line;
        if (a->col != b->col) return a->col < b->col;
        return a->seq < b->seq;
    });
    std::string out;
    for (const Entry* e : order) {
        if (!out.empty()) out += '\n';
        out += e->location + ": " + e->text;
    }
    if (unlisted_ > 0) out += fmt::format("\n{}: and {} more problems (the first {} found are listed)", file_, unlisted_, kMaxListed);
    return out;
}

int edit_distance(const std::string& a, const std::string& b) {
    const size_t n = a.size(), m = b.size();
    std::vector<int> cells((n + 1) * (m + 1));  // one block: this runs for every candidate of every unknown key
    auto d = [&](size_t i, size_t j) -> int& { return cells[i * (m + 1) + j]; };
    for (size_t i = 0; i <= n; ++i) d(i, 0) = static_cast<int>(i);
    for (size_t j = 0; j <= m; ++j) d(0, j) = static_cast<int>(j);
    for (size_t i = 1; i <= n; ++i) {
        for (size_t j = 1; j <= m; ++j) {
            const int cost = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                                     std::tolower(static_cast<unsigned char>(b[j - 1]))
                                 ? 0
                                 : 1;
            d(i, j) = std::min({d(i - 1, j) + 1, d(i, j - 1) + 1, d(i - 1, j - 1) + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d(i, j) = std::min(d(i, j), d(i - 2, j - 2) + 1);
        }
    }
    return d(n, m);
}

std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
    // Short words allow one edit, longer ones up to a third of their length.
    const int limit = std::max(1, static_cast<int>(word.size()) / 3);
    std::string best;
    int best_distance = limit + 1;
    for (const auto& c : candidates) {
        // The distance is at least the difference in length: no need to compute it.
        if (std::abs(static_cast<long>(word.size()) - static_cast<long>(c.size())) >= best_distance) continue;
        const int dist = edit_distance(word, c);
        if (dist < best_distance) {
            best_distance = dist;
            best = c;
        }
    }
    return best;
}

}  // namespace cim::device_detail
