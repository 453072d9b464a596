// Collects every problem found in one device description, each tied to a
// place: `FILE:LINE:COL` from the YAML mark, or `--set TEXT` when the value
// came from an override. All of them are thrown together as one InputError.
#pragma once

#include <map>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include <yaml-cpp/mark.h>

namespace cim::device_detail {

class Diagnostics {
public:
    explicit Diagnostics(std::string file) : file_(std::move(file)) {}

    // Where a key was written (key mark) and where its value starts.
    void record(const std::string& path, const YAML::Mark& key_mark, const YAML::Mark& value_mark);
    // The path (and everything below it) came from this --set text.
    void record_override(const std::string& path, const std::string& set_text);

    // An error about `path`, placed at the path's own location (or its
    // nearest recorded ancestor's). An empty path prints no path part.
    void error(const std::string& path, const std::string& problem);
    // An error placed at the key itself (unknown or duplicate key).
    void error_at_key(const std::string& path, const std::string& problem);
    void error_at(const YAML::Mark& mark, const std::string& path, const std::string& problem);
    // An error in the --set text itself (malformed, not valid YAML, ...).
    void error_in_override(const std::string& set_text, const std::string& path,
                           const std::string& problem);
    // The --set text that produced `path` (or an ancestor), or nullptr.
    const std::string* override_for(const std::string& path) const;

    // Keys whose value was rejected; rules that read them are skipped.
    void mark_failed(const std::string& path) { failed_.insert(path); }
    bool failed(const std::string& path) const;  // the path or an ancestor failed
    void mark_given(const std::string& path) { given_.insert(path); }
    bool given(const std::string& path) const {
        return given_.count(path) > 0 || (base_given_ && base_given_->count(path) > 0);
    }
    const std::set<std::string>& given_paths() const { return given_; }
    // Keys given by a device read earlier (DeviceVariants): given() answers for them too.
    void set_base_given(const std::set<std::string>* base) { base_given_ = base; }

    // "L:C" of a key, for messages that point back at it ("first given at 3:5").
    std::string key_position(const std::string& path) const;

    bool empty() const { return entries_.empty(); }
    // As many problems as a message lists; past them they are only counted, and work spent on
    // describing one (suggestions) can be skipped.
    static constexpr size_t kMaxListed = 100;
    bool full() const { return entries_.size() >= kMaxListed; }
    // One line per problem: files in line order, then overrides in the order given; then how many
    // more there were.
    std::string message() const;

private:
    struct Entry {
        bool from_set = false;
        int set_index = 0;  // position of the --set among the overrides
        int line = 0, col = 0;
        std::string location;  // rendered "FILE:L:C" or "--set TEXT"
        std::string text;      // "path: problem"
        int seq = 0;
    };
    struct Place {
        YAML::Mark key = YAML::Mark::null_mark();
        YAML::Mark value = YAML::Mark::null_mark();
    };
    void add(const YAML::Mark& mark, const std::string* set_text, const std::string& path,
             const std::string& problem);

    std::string file_;
    std::map<std::string, Place> places_;
    std::map<std::string, std::string> overrides_;
    std::vector<std::string> override_order_;
    std::set<std::string> failed_, given_;
    const std::set<std::string>* base_given_ = nullptr;
    std::vector<Entry> entries_;
    std::unordered_set<std::string> seen_;  // location and text of every problem, listed or not
    size_t unlisted_ = 0;
};

// Optimal-string-alignment edit distance (a transposition counts as one edit).
int edit_distance(const std::string& a, const std::string& b);

// The closest candidate to `word` within a distance that scales with its
// length, or "" when nothing is close.
std::string closest(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace cim::device_detail
