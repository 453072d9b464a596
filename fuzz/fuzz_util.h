// Shared by the libFuzzer targets (fuzz_*.cpp): a per-process scratch folder for the
// loaders that take a path, and the one rule every target checks: bad bytes end in
// cim::InputError (UnsupportedOpsError is one), anything else is a bug.
#pragma once

#include <cim/error.h>
#include <cim/memory_budget.h>

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <typeinfo>

namespace cim::fuzz {

// The tools' --max-memory, for every target: 1 GiB, under libFuzzer's -rss_limit_mb=2048 and
// -malloc_limit_mb=2048 (scripts/fuzz.sh). A size past the budget is the budget's InputError; only an
// allocation no check guards reaches libFuzzer's out-of-memory report.
inline const bool kMemoryBudgetSet = (cim::set_max_memory_bytes(int64_t(1) << 30), true);

// Removes the file the previous input left at `path`, so that the next is a new file: truncating one
// that holds data makes ext4 flush it on close (auto_da_alloc), 2 ms of every execution on this disk.
inline void remove_old(const std::string& path) { ::unlink(path.c_str()); }

// Writes `size` bytes to `path` (replacing it); aborts when it cannot, which is the
// harness's problem, not the loader's.
inline void write_file(const std::string& path, const void* data, std::size_t size) {
    remove_old(path);
    std::ofstream out(path, std::ios::binary);
    out.write(static_cast<const char*>(data), std::streamsize(size));
    out.close();
    if (!out) {
        std::fprintf(stderr, "fuzz harness: cannot write %s\n", path.c_str());
        std::abort();
    }
}

// A folder of this process's own under $TMPDIR (scripts/fuzz.sh points TMPDIR at a scratch
// folder of build-fuzz/), removed when the fuzzer exits normally. It holds ONNX external data for
// the inputs to name (`location: weights.bin`): 4 KiB of float32 0, 1, 2, ..., 1023.
class ScratchDir {
public:
    static const ScratchDir& get() {
        static const ScratchDir dir;
        return dir;
    }
    std::string file(std::string_view name) const { return (path_ / name).string(); }
    const std::filesystem::path& path() const { return path_; }

private:
    ScratchDir() {
        path_ = std::filesystem::temp_directory_path() / ("cim_fuzz_" + std::to_string(::getpid()));
        std::filesystem::create_directories(path_);
        float values[1024];
        for (int i = 0; i < 1024; ++i) values[i] = float(i);
        write_file(file("weights.bin"), values, sizeof values);
    }
    ~ScratchDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    std::filesystem::path path_;
};

// The input as a file in the scratch folder.
inline std::string input_file(std::string_view name, const uint8_t* data, std::size_t size) {
    const std::string path = ScratchDir::get().file(name);
    write_file(path, data, size);
    return path;
}

// Runs `f`. cim::InputError is the expected outcome for bad input; any other exception
// escaping is reported with its type and message and aborts, so that libFuzzer keeps
// the input as a crash.
template <class F>
void expect_input_error(F&& f) {
    try {
        f();
    } catch (const cim::InputError&) {
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fuzz: %s escaped (not cim::InputError): %s\n", typeid(e).name(), e.what());
        std::abort();
    } catch (...) {
        std::fprintf(stderr, "fuzz: a non-std exception escaped\n");
        std::abort();
    }
}

}  // namespace cim::fuzz
