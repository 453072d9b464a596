#include "cli_common.h"

#include <cim/error.h>

#include <fmt/core.h>

#include <cstdio>
#include <exception>
#include <new>

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

}  // namespace cim::cli
