// Error types shared by every cimforge library.
//
// Libraries never exit: bad user input throws InputError (tools map it to exit
// status 2 and print the message), a broken invariant throws InternalError (a
// bug in cimforge, reported as such).
#pragma once

#include <stdexcept>
#include <string>

namespace cim {

// Bad input from the user: a file, a YAML field, an ONNX node, a flag.
// The message names the file and the place and, where possible, the fix.
class InputError : public std::runtime_error {
public:
    explicit InputError(const std::string& message) : std::runtime_error(message) {}
};

// An invariant of cimforge itself failed: always a bug.
class InternalError : public std::logic_error {
public:
    explicit InternalError(const std::string& message) : std::logic_error(message) {}
};

}  // namespace cim

// Checks an internal invariant; unlike assert() it survives NDEBUG.
#define CIM_INTERNAL_CHECK(cond, msg)                                                      \
    do {                                                                                   \
        if (!(cond))                                                                       \
            throw ::cim::InternalError(std::string(__FILE__) + ":" + std::to_string(__LINE__) + \
                                       ": internal check failed: " #cond ": " + (msg));      \
    } while (0)
