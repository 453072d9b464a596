// The memory one process may take for data whose size comes from a file (tensor dimensions,
// element counts, dataset headers). Every size read from untrusted input is checked here before
// anything is allocated, so a hostile or corrupt file is a clear error instead of an OOM kill.
//
// The limit is process-wide: the tools set it from --max-memory; the default is 3/4 of the
// machine's physical RAM (docs/reliability.md).
#pragma once

#include <cim/error.h>

#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <unistd.h>

namespace cim {

inline int64_t physical_memory_bytes() {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return int64_t(8) << 30;  // unknown: assume a small machine
    return int64_t(pages) * int64_t(page);
}

inline int64_t default_max_memory_bytes() { return physical_memory_bytes() / 4 * 3; }

namespace detail {
inline std::atomic<int64_t>& max_memory_slot() {
    static std::atomic<int64_t> slot{default_max_memory_bytes()};
    return slot;
}
}  // namespace detail

inline int64_t max_memory_bytes() { return detail::max_memory_slot().load(std::memory_order_relaxed); }
inline void set_max_memory_bytes(int64_t bytes) { detail::max_memory_slot().store(bytes, std::memory_order_relaxed); }

// "1.5 GB" style, binary units (what `free -h` prints).
inline std::string memory_size_str(int64_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = double(bytes);
    int u = 0;
    while (v >= 1024 && u < 6) v /= 1024, ++u;
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
    return buf;
}

// Parses a --max-memory value: bytes, or a number with K/M/G/T (binary, optional "iB"/"B"),
// or a percentage of physical RAM ("50%"). Throws InputError naming the flag.
inline int64_t parse_memory_size(const std::string& text, const std::string& flag = "--max-memory") {
    const auto bad = [&] {
        return InputError(flag + " " + text + ": expected a size such as 8G, 512M, 2000000000 or 50% (of this machine's RAM)");
    };
    size_t used = 0;
    double v = 0;
    try {
        v = std::stod(text, &used);
    } catch (const std::exception&) {
        throw bad();
    }
    std::string unit = text.substr(used);
    while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
    for (auto& c : unit) c = char(std::toupper(static_cast<unsigned char>(c)));
    double scale = 1;
    if (unit == "%") scale = double(physical_memory_bytes()) / 100;
    else if (unit.empty() || unit == "B") scale = 1;
    else {
        const std::string units = "KMGT";
        const size_t p = units.find(unit[0]);
        const std::string rest = unit.substr(1);
        if (p == std::string::npos || !(rest.empty() || rest == "B" || rest == "IB")) throw bad();
        scale = std::ldexp(1.0, 10 * int(p + 1));
    }
    const double bytes = v * scale;
    if (!std::isfinite(bytes) || bytes < 1 || bytes > 9.0e18) throw bad();
    return int64_t(bytes);
}

// a * b, or false when it overflows int64 (either factor negative counts as overflow).
inline bool checked_mul(int64_t a, int64_t b, int64_t* out) {
    if (a < 0 || b < 0) return false;
    return !__builtin_mul_overflow(a, b, out);
}

// Throws InputError when `bytes` (negative: the size overflowed) is more than the budget.
// `what` names the thing and where it came from, e.g. "model.onnx: initializer 'w' of shape [..]".
inline void check_memory(int64_t bytes, const std::string& what) {
    const int64_t limit = max_memory_bytes();
    if (bytes >= 0 && bytes <= limit) return;
    throw InputError(what + (bytes < 0 ? std::string(" has a size that overflows 64-bit arithmetic")
                                       : " needs " + memory_size_str(bytes)) +
                     ", more than the memory limit of " + memory_size_str(limit) +
                     " (--max-memory; default 3/4 of this machine's RAM); the file is corrupt, or raise --max-memory");
}

}  // namespace cim
