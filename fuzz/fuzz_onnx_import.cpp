// libFuzzer target: an ONNX model file -> import_onnx (protobuf parse, external data,
// topological sort, shape inference, folding passes) -> specialize_batch(g, 1).
#include "fuzz_util.h"

#include <cim/ir/onnx_import.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = cim::fuzz::input_file("model.onnx", data, size);
    cim::fuzz::expect_input_error([&] {
        const cim::Graph g = cim::import_onnx(path);
        (void)cim::specialize_batch(g, 1);
    });
    return 0;
}
