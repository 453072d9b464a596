// The device schema: every YAML key declared once with its type, unit,
// default (or "required"), bounds or allowed values, description, and the
// DeviceSpec member it fills. The parser, the --set overrides and the
// generated docs/device-schema.md all read these declarations.
#pragma once

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "cim/device/device_spec.h"
#include "cim/error.h"

namespace cim::device_detail {

enum class ValueKind { integer, number, boolean, string, enumeration, cost };

enum class Presence {
    required,     // missing is an error
    defaulted,    // missing takes a fixed default
    derived,      // missing takes a value computed from other keys
    optional,     // missing stays unset (std::optional member)
    conditional,  // required or forbidden depending on other keys (checked in the post-pass)
};

// The device kinds a key or section belongs to (a bit per DeviceKind).
using KindMask = unsigned;
constexpr KindMask kind_bit(DeviceKind k) { return 1u << unsigned(k); }
inline constexpr KindMask kAllKinds = kind_bit(DeviceKind::cim) | kind_bit(DeviceKind::digital_npu) |
                                      kind_bit(DeviceKind::fpga_dsp);

struct Bound {
    double value = 0;
    bool exclusive = false;
};

// A parsed, type-checked YAML value before it is stored in the DeviceSpec.
using Value = std::variant<long long, double, bool, std::string, Cost>;

struct KeyDecl {
    std::string path;  // "array.adc.bits"
    KindMask kinds = kAllKinds;  // other kinds may not give it (their own sections describe them)
    ValueKind kind = ValueKind::integer;
    std::string unit;  // "" when dimensionless
    Presence presence = Presence::required;
    std::string default_text;  // for the docs: the default, or the rule behind it
    std::optional<Bound> min, max;
    std::vector<std::string> allowed;  // names of an enumeration
    std::string description;

    std::function<void(DeviceSpec&, const Value&)> assign;
    std::function<DeviceFieldValue(const DeviceSpec&)> read;  // the member's value (monostate: unset)
    std::function<const Cost*(const DeviceSpec&)> read_cost;  // ValueKind::cost only
    std::function<Cost*(DeviceSpec&)> write_cost;             // ValueKind::cost only (estimators)
    std::function<void(DeviceSpec&)> set_default;          // Presence::defaulted / derived
    std::vector<std::string> derived_from;                 // Presence::derived
};

struct SectionDecl {
    std::string path;  // "array.adc"
    std::string description;
    KindMask kinds = kAllKinds;
};

// "cim", "digital_npu and fpga_dsp": the kinds of a mask, for messages and docs.
std::string kinds_text(KindMask kinds);

// Builder handle returned by Schema::integer() etc.; T is the member type
// without std::optional.
template <class T, class Access>
class KeyBuilder {
public:
    KeyBuilder(KeyDecl& decl, Access access) : decl_(decl), access_(access) {}

    KeyBuilder& unit(std::string u) { decl_.unit = std::move(u); return *this; }
    KeyBuilder& doc(std::string d) { decl_.description = std::move(d); return *this; }
    KeyBuilder& min(double v) { decl_.min = Bound{v, false}; return *this; }
    KeyBuilder& above(double v) { decl_.min = Bound{v, true}; return *this; }
    KeyBuilder& max(double v) { decl_.max = Bound{v, false}; return *this; }
    KeyBuilder& required() { decl_.presence = Presence::required; return *this; }
    KeyBuilder& optional(std::string meaning) {
        decl_.presence = Presence::optional;
        decl_.default_text = std::move(meaning);
        return *this;
    }
    KeyBuilder& conditional(std::string rule) {
        decl_.presence = Presence::conditional;
        decl_.default_text = std::move(rule);
        return *this;
    }
    KeyBuilder& default_value(T value, std::string text) {
        decl_.presence = Presence::defaulted;
        decl_.default_text = std::move(text);
        auto access = access_;
        decl_.set_default = [access, value](DeviceSpec& d) { access(d) = value; };
        return *this;
    }
    // The default is computed from `from` keys (filled before the cross-field rules).
    KeyBuilder& derived(std::string text, std::vector<std::string> from,
                        std::function<T(const DeviceSpec&)> compute) {
        decl_.presence = Presence::derived;
        decl_.default_text = std::move(text);
        decl_.derived_from = std::move(from);
        auto access = access_;
        decl_.set_default = [access, compute](DeviceSpec& d) { access(d) = compute(d); };
        return *this;
    }

private:
    KeyDecl& decl_;
    Access access_;
};

template <class T>
struct Unwrap { using type = T; };
template <class T>
struct Unwrap<std::optional<T>> { using type = T; };

// A member's value as the schema reads it back (device_fields): integers widened, an unset
// optional member as monostate.
template <class M>
DeviceFieldValue field_value(const M& member) {
    if constexpr (requires { member.has_value(); }) {
        if (!member) return std::monostate{};
        return field_value(*member);
    } else if constexpr (std::is_same_v<M, bool> || std::is_same_v<M, double> || std::is_same_v<M, std::string> ||
                         std::is_same_v<M, Cost>) {
        return member;
    } else {
        static_assert(std::is_integral_v<M>);
        return static_cast<long long>(member);
    }
}

class Schema {
public:
    // Keys and sections declared from here on belong to these kinds.
    void for_kinds(KindMask kinds) { kinds_ = kinds; }
    void section(std::string path, std::string description);

    template <class Access>
    auto integer(std::string path, Access access) {
        using T = member_t<Access>;
        static_assert(std::is_integral_v<T>);
        KeyDecl& k = add(std::move(path), ValueKind::integer);
        k.read = [access](const DeviceSpec& d) { return field_value(access(d)); };
        k.assign = [access](DeviceSpec& d, const Value& v) {
            access(d) = static_cast<T>(std::get<long long>(v));
        };
        return KeyBuilder<T, Access>(k, access);
    }
    template <class Access>
    auto number(std::string path, Access access) {
        using T = member_t<Access>;
        static_assert(std::is_same_v<T, double>);
        KeyDecl& k = add(std::move(path), ValueKind::number);
        k.read = [access](const DeviceSpec& d) { return field_value(access(d)); };
        k.assign = [access](DeviceSpec& d, const Value& v) { access(d) = std::get<double>(v); };
        return KeyBuilder<T, Access>(k, access);
    }
    template <class Access>
    auto boolean(std::string path, Access access) {
        using T = member_t<Access>;
        static_assert(std::is_same_v<T, bool>);
        KeyDecl& k = add(std::move(path), ValueKind::boolean);
        k.read = [access](const DeviceSpec& d) { return field_value(access(d)); };
        k.assign = [access](DeviceSpec& d, const Value& v) { access(d) = std::get<bool>(v); };
        return KeyBuilder<T, Access>(k, access);
    }
    template <class Access>
    auto string(std::string path, Access access) {
        using T = member_t<Access>;
        static_assert(std::is_same_v<T, std::string>);
        KeyDecl& k = add(std::move(path), ValueKind::string);
        k.read = [access](const DeviceSpec& d) { return field_value(access(d)); };
        k.assign = [access](DeviceSpec& d, const Value& v) {
            access(d) = std::get<std::string>(v);
        };
        return KeyBuilder<T, Access>(k, access);
    }
    template <class Access, class Table>
    auto enumeration(std::string path, Access access, const Table& names) {
        using T = member_t<Access>;
        static_assert(std::is_enum_v<T>);
        KeyDecl& k = add(std::move(path), ValueKind::enumeration);
        k.read = [access, &names](const DeviceSpec& d) -> DeviceFieldValue {
            for (const auto& [value, n] : names)
                if (value == access(d)) return std::string(n);
            return std::monostate{};
        };
        for (const auto& entry : names) k.allowed.emplace_back(entry.second);
        k.assign = [access, &names](DeviceSpec& d, const Value& v) {
            const auto& name = std::get<std::string>(v);
            for (const auto& [value, n] : names)
                if (n == name) { access(d) = value; return; }
            CIM_INTERNAL_CHECK(false, "enumeration value not in table: " + name);
        };
        return KeyBuilder<T, Access>(k, access);
    }
    template <class Access>
    auto cost(std::string path, Access access) {
        using T = member_t<Access>;
        static_assert(std::is_same_v<T, Cost>);
        KeyDecl& k = add(std::move(path), ValueKind::cost);
        k.read = [access](const DeviceSpec& d) { return field_value(access(d)); };
        k.min = Bound{0, false};  // no negative energy, latency or area
        k.assign = [access](DeviceSpec& d, const Value& v) { access(d) = std::get<Cost>(v); };
        k.read_cost = [access](const DeviceSpec& d) -> const Cost* {
            const auto& member = access(d);
            if constexpr (std::is_same_v<std::remove_cvref_t<decltype(member)>, Cost>) return &member;
            else return member ? &*member : nullptr;
        };
        k.write_cost = [access](DeviceSpec& d) -> Cost* {
            auto& member = access(d);
            if constexpr (std::is_same_v<std::remove_cvref_t<decltype(member)>, Cost>) return &member;
            else return member ? &*member : nullptr;
        };
        return KeyBuilder<T, Access>(k, access);
    }

    // Declaration order is documentation order.
    const std::deque<KeyDecl>& keys() const { return keys_; }
    const std::vector<SectionDecl>& sections() const { return sections_; }
    const KeyDecl* find_key(const std::string& path) const;
    const SectionDecl* find_section(const std::string& path) const;
    // Direct children (keys and sections) of a section, in declaration order;
    // "" is the top level.
    const std::vector<std::string>& children(const std::string& section_path) const;
    // A section is required when a required key of `kind` lies below it.
    bool section_required(const std::string& path, DeviceKind kind = DeviceKind::cim) const;

private:
    template <class Access>
    using member_t = typename Unwrap<
        std::remove_reference_t<decltype(std::declval<Access>()(std::declval<DeviceSpec&>()))>>::type;

    KeyDecl& add(std::string path, ValueKind kind);
    void add_child(const std::string& path);

    KindMask kinds_ = kAllKinds;
    std::deque<KeyDecl> keys_;  // deque: builders hold references while more are added
    std::vector<SectionDecl> sections_;
    std::vector<std::pair<std::string, std::vector<std::string>>> children_;
};

// The one schema of device YAML files.
const Schema& device_schema();

// "array.adc.bits" -> "array.adc"; "name" -> "".
std::string parent_path(const std::string& path);
// "array.adc.bits" -> "bits".
std::string leaf_name(const std::string& path);
std::string join_path(const std::string& parent, const std::string& name);

}  // namespace cim::device_detail
