// Test support: runs a command-line tool and captures its exit status and output.
#pragma once

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace cim::test {

struct CommandResult {
    int status = -1;     // exit status; 128+signal if killed
    std::string output;  // stdout and stderr together
};

inline CommandResult run_command(const std::string& cmd) {
    CommandResult r;
    FILE* p = popen((cmd + " 2>&1").c_str(), "r");
    if (!p) return r;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
    int st = pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return r;
}

inline std::string tool(const std::string& name) { return std::string(CIM_BIN_DIR) + "/" + name; }

// A temporary folder of fixtures, written on construction by `/usr/bin/python3 SCRIPT FOLDER ARGS`
// (SCRIPT relative to the source tree) and removed with everything in it on destruction.
struct ScriptFixture {
    std::string path;
    ScriptFixture(const std::string& name, const std::string& script, const std::string& args = "")
        : path((std::filesystem::temp_directory_path() / (name + "_" + std::to_string(::getpid()))).string()) {
        const std::string cmd = "/usr/bin/python3 " + std::string(CIM_SOURCE_DIR) + "/" + script + " " + path + " " + args;
        if (std::system(cmd.c_str()) != 0) throw std::runtime_error(script + " failed");
    }
    ScriptFixture(const ScriptFixture&) = delete;
    ScriptFixture& operator=(const ScriptFixture&) = delete;
    ~ScriptFixture() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

}  // namespace cim::test
