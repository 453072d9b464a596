// What every cimforge command-line tool shares: error handling and exit codes.
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace cim::cli {

// Runs a tool's body: InputError -> message on stderr, exit 2; InternalError or
// any other exception -> "internal error" report, exit 3. Never lets one escape.
int guarded_main(const char* tool, const std::function<int()>& body);

// Parses the command line. Returns the status to exit with (0 after --help,
// kExitBadInput on a usage error, with CLI11's message printed unless `print` is false,
// as on the MPI ranks other than the first), or nullopt to go on.
std::optional<int> parse_args(CLI::App& app, int argc, char** argv, bool print = true);

// --max-memory SIZE: the limit for data sized by input files (see cim/memory_budget.h).
void add_max_memory_option(CLI::App& app);

// A progress bar with rate and ETA on stderr, drawn only when stderr is a terminal (so logs
// and pipes stay clean); `done` is updated from one thread.
class ProgressBar {
public:
    explicit ProgressBar(std::string label, bool enabled = true);
    void update(int64_t done, int64_t total);
    void finish();

private:
    std::string label_;
    bool enabled_;
    std::chrono::steady_clock::time_point start_, last_;
    int64_t done_ = 0;
};

// A progress callback (done, total) drawing a ProgressBar that clears itself when done reaches total.
std::function<void(int64_t, int64_t)> progress_bar(const std::string& label, bool enabled = true);
// A line naming a short phase ("tool: importing MODEL..."), overwritten by what follows; on a terminal only.
void progress_phase(const std::string& tool, const std::string& what, bool enabled = true);

// Exit codes of the command-line contract.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFail = 1;      // ran, but a check failed (e.g. outputs differ)
inline constexpr int kExitBadInput = 2;  // bad usage or bad input
inline constexpr int kExitInternal = 3;

}  // namespace cim::cli
