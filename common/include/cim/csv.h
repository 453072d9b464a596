// One CSV field (RFC 4180), for every tool that writes CSV.
#pragma once

#include <string>
#include <string_view>

namespace cim {

// Appends f to line, quoted when it holds a comma, a quote or a line break (quotes doubled, line
// breaks turned into spaces so every row stays on one line).
inline void append_csv_field(std::string& line, std::string_view f) {
    if (f.find_first_of(",\"\n\r") == std::string_view::npos) {
        line += f;
        return;
    }
    line += '"';
    for (char c : f) {
        if (c == '"') line += '"';
        line += (c == '\n' || c == '\r') ? ' ' : c;
    }
    line += '"';
}

}  // namespace cim
