#include "cli_common.h"

#include <cim/error.h>
#include <cim/memory_budget.h>

#include <fmt/core.h>

#include <cstdio>
#include <exception>
#include <new>
#include <unistd.h>

namespace cim::cli {

int guarded_main(const char* tool, const std::function<int()>& body) {
    try {
        return body();
    } catch (const InputError& e) {
        fmt::print(stderr, "{}: error: {}\n", tool, e.what());
        return kExitBadInput;
    } catch (const InternalError& e) {
        fmt::print(stderr, "{}: internal error (a bug in cimforge, please report it): {}\n", tool, e.what());
        return kExitInternal;
    } catch (const std::bad_alloc&) {
        fmt::print(stderr, "{}: error: out of memory\n", tool);
        return kExitInternal;
    } catch (const std::exception& e) {
        fmt::print(stderr, "{}: internal error (a bug in cimforge, please report it): {}\n", tool, e.what());
        return kExitInternal;
    }
}

void add_max_memory_option(CLI::App& app) {
    app.add_option_function<std::string>(
        "--max-memory", [](const std::string& v) { set_max_memory_bytes(parse_memory_size(v)); },
        "memory limit for models and data sized by input files, e.g. 8G, 512M or 50% (default 3/4 of this machine's RAM); "
        "a model or dataset needing more is an error, not an out-of-memory kill");
}

std::optional<int> parse_args(CLI::App& app, int argc, char** argv, bool print) {
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return (print ? app.exit(e) : e.get_exit_code()) == 0 ? kExitOk : kExitBadInput;
    }
    return std::nullopt;
}

ProgressBar::ProgressBar(std::string label, bool enabled)
    : label_(std::move(label)), enabled_(enabled && isatty(2)), start_(std::chrono::steady_clock::now()), last_(start_) {}

void ProgressBar::update(int64_t done, int64_t total) {
    if (!enabled_ || total <= 0) return;
    const auto now = std::chrono::steady_clock::now();
    if (done < done_) start_ = now;  // the count started over (the next chip instance): so do rate and ETA
    done_ = done;
    if (done < total && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    const double frac = double(done) / double(total);
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double eta = frac > 0 ? elapsed * (1 - frac) / frac : 0;
    const double rate = elapsed > 0 ? double(done) / elapsed : 0;
    const int width = 30, fill = int(frac * width + 0.5);
    fmt::print(stderr, "\r{} [{}{}] {:5.1f}% {}/{} {}/s ETA {:.0f} s  ", label_, std::string(size_t(fill), '#'),
               std::string(size_t(width - fill), '.'), 100 * frac, done, total, rate >= 10 ? fmt::format("{:.0f}", rate) : fmt::format("{:.2f}", rate), eta);
    std::fflush(stderr);
}

void ProgressBar::finish() {
    if (enabled_) fmt::print(stderr, "\r{}\r", std::string(80, ' '));
}

std::function<void(int64_t, int64_t)> progress_bar(const std::string& label, bool enabled) {
    auto bar = std::make_shared<ProgressBar>(label, enabled);
    return [bar](int64_t done, int64_t total) {
        bar->update(done, total);
        if (done >= total) bar->finish();
    };
}

void progress_phase(const std::string& tool, const std::string& what, bool enabled) {
    if (enabled && isatty(2)) fmt::print(stderr, "\r{}: {}...{}\r", tool, what, std::string(30, ' '));
}

}  // namespace cim::cli
