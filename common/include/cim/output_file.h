// Output files (CSV, JSON, SVG, tensors) written so that a failure is never silent: a missing
// folder, a read-only place or a full disk is an InputError naming the path (exit 2 in the tools).
#pragma once

#include <string>
#include <string_view>

namespace cim {

// Writes `text` to `path` (created or truncated) and closes it, checking every step.
// `what` says what the file is, for the message ("CSV file", "plot").
void write_output_file(const std::string& path, std::string_view text, const std::string& what);

// Creates the folder `path` (and its parents) for output files, or throws naming it.
void create_output_folder(const std::string& path, const std::string& what);

// A file written a row at a time (sweep and study CSVs). Each append() is one write(2) of whole
// lines, so a run killed between rows leaves whole rows only, and a failed write (disk full) throws.
class AppendFile {
public:
    AppendFile() = default;
    AppendFile(const AppendFile&) = delete;
    AppendFile& operator=(const AppendFile&) = delete;
    ~AppendFile();
    // append = false truncates the file.
    void open(const std::string& path, bool append, const std::string& what);
    void append(std::string_view lines);
    void close();
    bool is_open() const { return fd_ >= 0; }

private:
    int fd_ = -1;
    std::string path_, what_;
};

}  // namespace cim
