#include "qdq_fixtures.h"

#include "onnx_builder.h"

#include <doctest/doctest.h>

#include <cstdlib>

namespace cim::test {

const std::string& qdq_lenet_dir() {
    static TempDir dir;
    static const std::string path = [] {
        if (std::system("/usr/bin/python3 -c 'import onnx, numpy' >/dev/null 2>&1") != 0) return std::string();
        const std::string cmd = "/usr/bin/python3 " CIM_SOURCE_DIR "/tests/quant/write_qdq_lenet.py " + dir.path +
                                " /usr/share/datasets/fashion-mnist 200 256 >" + dir.file("write.log") + " 2>&1";
        if (std::system(cmd.c_str()) != 0) FAIL("write_qdq_lenet.py failed; see " << dir.file("write.log"));
        return dir.path;
    }();
    return path;
}

}  // namespace cim::test
