#include "onnx_builder.h"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace cim::test {

TempDir::TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cimforge-test-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
}

}  // namespace cim::test
