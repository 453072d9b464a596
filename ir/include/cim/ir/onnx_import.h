// ONNX import through ONNX's own protobuf bindings (libonnx).
#pragma once

#include <cim/error.h>
#include <cim/ir/graph.h>

#include <string>
#include <string_view>
#include <vector>

namespace cim {

// Thrown when a model uses ops (or op configurations) cimforge does not implement.
// The message lists every unsupported op type with the names of the nodes using it.
class UnsupportedOpsError : public InputError {
public:
    struct Entry {
        std::string op_type;
        std::string reason;              // why, when the op type exists but a configuration does not
        std::vector<std::string> nodes;  // nodes that use it
    };
    UnsupportedOpsError(const std::string& file, std::vector<Entry> entries);
    const std::vector<Entry>& entries() const { return entries_; }

private:
    std::vector<Entry> entries_;
};

struct ImportOptions {
    bool fold_constants = true;   // evaluate subgraphs whose inputs are all constant
    bool fold_batchnorm = true;   // BatchNormalization after Conv/Gemm into its weights
    bool remove_identity = true;  // drop Identity and inference-mode Dropout
};

// Loads an ONNX file (with external data files beside it, if any), checks every
// node is supported, sorts nodes topologically, infers every shape, and applies
// the simplifying passes. Throws InputError naming the file and node on bad input.
Graph import_onnx(const std::string& path, const ImportOptions& options = {});
// The same for a serialized ModelProto in memory (a torch.onnx.export to a buffer); `label` names
// it in messages. Its checks are import_onnx's; external data is refused (there is no model folder).
Graph import_onnx_bytes(std::string_view bytes, const std::string& label, const ImportOptions& options = {});

// Re-infers every shape with the graph inputs' unknown dimensions (the batch)
// set to `batch`, folding what becomes constant. The mapper works on this.
Graph specialize_batch(const Graph& g, int64_t batch);

// Infers types and shapes of every value from the graph inputs, in place.
void infer_shapes(Graph& g);

// Reads/writes one ONNX TensorProto file (the input_*.pb / output_*.pb of ONNX test cases).
Tensor load_tensor_pb(const std::string& path, std::string* name = nullptr);
void save_tensor_pb(const Tensor& t, const std::string& name, const std::string& path);

// The PREFIX_N.pb files of an ONNX test-case folder (input_0.pb, input_1.pb, ...), in N order.
std::vector<std::string> test_case_files(const std::string& dir, const std::string& prefix);

// ONNX's backend test rule: |out - ref| <= atol + rtol * |ref| for every element (NaN matches
// NaN, infinities match by sign). `problem` names the first difference (shape, type, element).
struct OutputComparison {
    bool pass = true;
    double max_abs = 0, max_rel = 0;
    std::string problem;
};
OutputComparison compare_output(const Tensor& out, const Tensor& ref, double rtol, double atol);

}  // namespace cim
