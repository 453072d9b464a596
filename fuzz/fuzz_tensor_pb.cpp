// libFuzzer target: an ONNX TensorProto file (the input_N.pb / output_N.pb of a test case,
// a model input or dataset) -> load_tensor_pb.
#include "fuzz_util.h"

#include <cim/ir/onnx_import.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = cim::fuzz::input_file("input_0.pb", data, size);
    cim::fuzz::expect_input_error([&] {
        std::string name;
        const cim::Tensor t = cim::load_tensor_pb(path, &name);
        (void)t.numel();
    });
    return 0;
}
