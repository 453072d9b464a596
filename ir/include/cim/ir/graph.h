// The graph IR: what the network computes, nothing about how it is mapped.
//
// Nodes are in topological order; every value has an element type and a shape
// (-1 for a dimension known only at run time, typically the batch); constants
// (initializers and folded subgraphs) hold their tensors.
#pragma once

#include <cim/ir/ops.h>
#include <cim/ir/tensor.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace cim {

struct Attribute {
    // Exactly one alternative is set, as in ONNX's AttributeProto.
    std::variant<int64_t, float, std::string, std::vector<int64_t>, std::vector<float>,
                 std::vector<std::string>, Tensor>
        value;
};

// A QDQ model's own quantization of a tensor: real = scale[c] * (code - zero_point[c]), c the
// index along `axis` (per channel) or 0 (per tensor), codes in [code_min, code_max] (the code
// type's range, narrowed by a Clip between QuantizeLinear and DequantizeLinear, as Brevitas
// writes codes narrower than 8 bits). The quantizer takes it instead of calibrating
// (docs/quantization.md, "Models that arrive quantized").
struct ModelQuantization {
    std::string node;                 // the DequantizeLinear, for messages
    ElemType code_type = ElemType::Int8;  // Int8 or UInt8: the DequantizeLinear's input
    int64_t axis = -1;                // axis of the tensor the scales run along; -1: per tensor
    std::vector<float> scale;         // one per channel (one value per tensor)
    std::vector<int32_t> zero_point;  // one per channel
    int32_t code_min = -128, code_max = 127;
    std::vector<int16_t> codes;       // a constant's codes in its element order (empty for activations)
};

// The range of a weight's codes as the arrays store them: with every zero point 0 the codes
// themselves; otherwise all shifted by one constant to the middle of their range, so that they
// are symmetric for the cells (w - zw, and so every product, is unchanged). The quantizer
// (quant/src/model_quant.cpp) and the mapper both size a QDQ layer's columns from it.
struct StoredCodeRange {
    int32_t shift = 0;
    int64_t min = 0, max = 0;  // after the shift, min <= 0 <= max
};
StoredCodeRange stored_code_range(const ModelQuantization& m);

struct Value {
    std::string name;
    ElemType type = ElemType::Undefined;
    Shape shape;
    bool rank_known = false;                  // false: nothing is known of the shape
    std::shared_ptr<const Tensor> constant;   // set for initializers and folded values
    int producer = -1;                        // index of the producing node, -1 if none
    std::string origin;                       // how a pass made this constant ("" for initializers), for messages
    // Set when the importer folded a DequantizeLinear of int8/uint8 codes into this constant
    // (a QDQ model's weight): the codes, scales and zero points it was made from.
    std::shared_ptr<const ModelQuantization> model_quantization;
};

struct Node {
    std::string name;      // ONNX node name, or "<op_type>_<index>" when the file gives none
    OpKind op = OpKind::Identity;
    std::vector<int> inputs;   // value ids; -1 for an omitted optional input
    std::vector<int> outputs;  // value ids; -1 for an omitted optional output
    std::map<std::string, Attribute> attrs;

    bool has(const std::string& key) const { return attrs.count(key) != 0; }
    int64_t attr_int(const std::string& key, int64_t fallback) const;
    float attr_float(const std::string& key, float fallback) const;
    std::string attr_string(const std::string& key, const std::string& fallback) const;
    std::vector<int64_t> attr_ints(const std::string& key, const std::vector<int64_t>& fallback = {}) const;
    std::vector<float> attr_floats(const std::string& key, const std::vector<float>& fallback = {}) const;
    const Tensor* attr_tensor(const std::string& key) const;
    // Number of inputs actually given (trailing omitted ones dropped).
    size_t input_count() const;
    bool has_input(size_t k) const { return k < inputs.size() && inputs[k] >= 0; }
};

struct Graph {
    std::string source_file;  // the ONNX file it came from, for messages
    int opset = 0;            // default-domain opset
    std::vector<Value> values;
    std::vector<Node> nodes;  // topological order
    std::vector<int> inputs;  // graph inputs that are not constants
    std::vector<int> outputs;
    std::map<std::string, std::string> metadata;  // ONNX metadata_props

    const Value& value(int id) const { return values.at(size_t(id)); }
    Value& value(int id) { return values.at(size_t(id)); }
    const Tensor* constant(int id) const { return id < 0 ? nullptr : values.at(size_t(id)).constant.get(); }
    int find_value(const std::string& name) const;  // -1 if absent
    const Node* find_node(const std::string& name) const;
    // Each value's consumers (node indices), for passes.
    std::vector<std::vector<int>> consumers() const;
    // Human-readable dump, one node per line with shapes (for --dump-after=import).
    std::string dump() const;
};

// Which values can never be negative (ReLU outputs and order-preserving moves of
// them): the mapper and the quantizer decide signed-input handling by it.
std::vector<bool> nonnegative_values(const Graph& g);

// The quantization grid of an activation: the DequantizeLinear (of int8/uint8 codes, with
// constant scale and zero point) that produced `value`, possibly through ops that keep every
// element on its grid (reshapes, transposes, slices, max pooling, ReLU). nullopt if there is
// none. The codes are left empty.
std::optional<ModelQuantization> activation_quantization(const Graph& g, int value);

}  // namespace cim
