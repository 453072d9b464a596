// Finding a device file from a name: `wtm2101` -> <configs>/wtm2101.yaml.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "cim/device/device_spec.h"
#include "cim/error.h"
#include "diagnostics.h"

#ifndef CIM_CONFIGS_DIR
#define CIM_CONFIGS_DIR ""
#endif

namespace cim {
namespace {

namespace fs = std::filesystem;

// The folder of bundled configs: $CIMFORGE_CONFIGS when set (even if wrong,
// so that a typo there is reported, not silently bypassed), else the source
// tree's configs/ when it exists, else the installed share/cimforge/configs.
fs::path configs_dir() {
    if (const char* env = std::getenv("CIMFORGE_CONFIGS"); env && *env) return env;
    std::error_code ec;
    const fs::path source_tree = CIM_CONFIGS_DIR;
    if (!source_tree.empty() && fs::is_directory(source_tree, ec)) return source_tree;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) return exe.parent_path() / ".." / "share" / "cimforge" / "configs";
    return source_tree;
}

}  // namespace

std::vector<std::string> bundled_device_names() {
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(configs_dir(), ec), end; !ec && it != end; it.increment(ec)) {
        if (it->path().extension() == ".yaml") names.push_back(it->path().stem().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

std::string resolve_device_path(const std::string& name_or_path) {
    if (name_or_path.empty()) throw InputError("--device: empty device name");
    std::error_code ec;
    if (fs::is_regular_file(name_or_path, ec)) return name_or_path;

    const fs::path dir = configs_dir();
    const bool looks_like_path = name_or_path.find('/') != std::string::npos;
    if (!looks_like_path) {
        fs::path candidate = dir / name_or_path;
        if (candidate.extension() != ".yaml") candidate += ".yaml";
        if (fs::is_regular_file(candidate, ec)) return candidate.string();
    }

    const auto names = bundled_device_names();
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    if (list.empty()) list = "(none found)";
    std::string stem = fs::path(name_or_path).stem().string();
    const std::string best = device_detail::closest(stem, names);
    throw InputError(fmt::format("{}: no such device file and no bundled device of that name{}; bundled "
                                 "devices in {}: {}",
                                 name_or_path, best.empty() ? "" : " (did you mean " + best + "?)",
                                 dir.string(), list));
}

}  // namespace cim
