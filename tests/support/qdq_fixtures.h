// Test support: the QDQ LeNet-5 models that tests/quant/write_qdq_lenet.py writes.
#pragma once

#include <string>

namespace cim::test {

// The folder holding lenet_{ort,pytorch,brevitas}.onnx, their reference logits and the data
// (written once per test process), or "" when /usr/bin/python3 cannot import onnx and numpy.
const std::string& qdq_lenet_dir();

}  // namespace cim::test

// Skips the test case, with a message, when the fixtures cannot be written.
#define REQUIRE_QDQ_LENET()                                                                                  \
    if (cim::test::qdq_lenet_dir().empty()) {                                                                \
        MESSAGE("skipped: /usr/bin/python3 cannot import onnx and numpy (scripts/setup.sh --with-training)"); \
        return;                                                                                              \
    }
