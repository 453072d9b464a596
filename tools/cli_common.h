// What every cimforge command-line tool shares: error handling and exit codes.
#pragma once

#include <functional>

namespace cim::cli {

// Runs a tool's body: InputError -> message on stderr, exit 2; InternalError or
// any other exception -> "internal error" report, exit 3. Never lets one escape.
int guarded_main(const char* tool, const std::function<int()>& body);

// Exit codes of the command-line contract.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFail = 1;      // ran, but a check failed (e.g. outputs differ)
inline constexpr int kExitBadInput = 2;  // bad usage or bad input
inline constexpr int kExitInternal = 3;

}  // namespace cim::cli
