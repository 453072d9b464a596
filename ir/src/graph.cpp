#include <cim/error.h>
#include <cim/ir/graph.h>

#include <array>
#include <sstream>

namespace cim {

namespace {
struct OpInfo {
    std::string_view name;
    int since;
};
constexpr std::array kOps = {
#define CIM_OP_INFO(name, since) OpInfo{#name, since},
    CIM_OP_LIST(CIM_OP_INFO)
#undef CIM_OP_INFO
};
static_assert(kOps.size() == size_t(OpKind::Count), "op table out of step with OpKind");
}  // namespace

std::string_view op_name(OpKind op) { return kOps.at(size_t(op)).name; }
int op_min_opset(OpKind op) { return kOps.at(size_t(op)).since; }

std::optional<OpKind> op_from_name(std::string_view type) {
    for (size_t k = 0; k < kOps.size(); ++k)
        if (kOps[k].name == type) return OpKind(k);
    return std::nullopt;
}

template <class T>
static const T* get_alt(const std::map<std::string, Attribute>& attrs, const std::string& key) {
    auto it = attrs.find(key);
    if (it == attrs.end()) return nullptr;
    return std::get_if<T>(&it->second.value);
}

int64_t Node::attr_int(const std::string& key, int64_t fallback) const {
    if (auto* v = get_alt<int64_t>(attrs, key)) return *v;
    if (has(key)) throw InputError("node '" + name + "': attribute '" + key + "' must be an integer");
    return fallback;
}
float Node::attr_float(const std::string& key, float fallback) const {
    if (auto* v = get_alt<float>(attrs, key)) return *v;
    if (auto* v = get_alt<int64_t>(attrs, key)) return float(*v);
    if (has(key)) throw InputError("node '" + name + "': attribute '" + key + "' must be a float");
    return fallback;
}
std::string Node::attr_string(const std::string& key, const std::string& fallback) const {
    if (auto* v = get_alt<std::string>(attrs, key)) return *v;
    if (has(key)) throw InputError("node '" + name + "': attribute '" + key + "' must be a string");
    return fallback;
}
std::vector<int64_t> Node::attr_ints(const std::string& key, const std::vector<int64_t>& fallback) const {
    if (auto* v = get_alt<std::vector<int64_t>>(attrs, key)) return *v;
    if (auto* v = get_alt<int64_t>(attrs, key)) return {*v};
    if (has(key)) throw InputError("node '" + name + "': attribute '" + key + "' must be a list of integers");
    return fallback;
}
std::vector<float> Node::attr_floats(const std::string& key, const std::vector<float>& fallback) const {
    if (auto* v = get_alt<std::vector<float>>(attrs, key)) return *v;
    if (has(key)) throw InputError("node '" + name + "': attribute '" + key + "' must be a list of floats");
    return fallback;
}
const Tensor* Node::attr_tensor(const std::string& key) const { return get_alt<Tensor>(attrs, key); }

size_t Node::input_count() const {
    size_t n = inputs.size();
    while (n > 0 && inputs[n - 1] < 0) --n;
    return n;
}

int Graph::find_value(const std::string& name) const {
    for (size_t k = 0; k < values.size(); ++k)
        if (values[k].name == name) return int(k);
    return -1;
}

const Node* Graph::find_node(const std::string& name) const {
    for (const Node& n : nodes)
        if (n.name == name) return &n;
    return nullptr;
}

std::vector<std::vector<int>> Graph::consumers() const {
    std::vector<std::vector<int>> c(values.size());
    for (size_t k = 0; k < nodes.size(); ++k)
        for (int v : nodes[k].inputs)
            if (v >= 0) c[size_t(v)].push_back(int(k));
    return c;
}

std::string Graph::dump() const {
    std::ostringstream os;
    auto val = [&](int id) {
        if (id < 0) return std::string("-");
        const Value& v = values[size_t(id)];
        return v.name + ":" + elem_type_name(v.type) + (v.rank_known ? shape_str(v.shape) : "[unknown]") +
               (v.constant ? "(const)" : "");
    };
    os << "graph " << source_file << " opset " << opset << "\n";
    for (int id : inputs) os << "  input " << val(id) << "\n";
    for (const Node& n : nodes) {
        os << "  " << n.name << " = " << op_name(n.op) << "(";
        for (size_t k = 0; k < n.inputs.size(); ++k) os << (k ? ", " : "") << val(n.inputs[k]);
        os << ") -> ";
        for (size_t k = 0; k < n.outputs.size(); ++k) os << (k ? ", " : "") << val(n.outputs[k]);
        os << "\n";
    }
    for (int id : outputs) os << "  output " << val(id) << "\n";
    return os.str();
}

// Forward dataflow: constants by their values; ReLU-like ops produce non-negative
// values, and order-preserving data movement keeps them so.
std::vector<bool> nonnegative_values(const Graph& g) {
    std::vector<bool> nn(g.values.size(), false);
    for (size_t v = 0; v < g.values.size(); ++v) {
        const Tensor* t = g.values[v].constant.get();
        if (!t) continue;
        bool all = true;
        for (int64_t k = 0; k < t->numel() && all; ++k) all = t->get(k) >= 0;
        nn[v] = all;
    }
    for (const Node& n : g.nodes) {
        bool out_nn = false;
        auto in_nn = [&](size_t k) { return n.has_input(k) && nn[size_t(n.inputs[k])]; };
        switch (n.op) {
            case OpKind::Relu: case OpKind::Sigmoid: case OpKind::Softmax: case OpKind::HardSigmoid:
            case OpKind::Abs: case OpKind::Exp: case OpKind::Sqrt: case OpKind::Softplus: case OpKind::Shape:
                out_nn = true;
                break;
            case OpKind::Clip: {
                const Tensor* lo = n.has_input(1) ? g.constant(n.inputs[1]) : nullptr;
                out_nn = (lo && lo->numel() > 0 && lo->get(0) >= 0) || (g.opset < 11 && n.attr_float("min", -1) >= 0) ||
                         in_nn(0);
                break;
            }
            case OpKind::MaxPool: case OpKind::AveragePool: case OpKind::GlobalAveragePool:
            case OpKind::GlobalMaxPool: case OpKind::Reshape: case OpKind::Flatten: case OpKind::Transpose:
            case OpKind::Squeeze: case OpKind::Unsqueeze: case OpKind::Slice: case OpKind::Gather:
            case OpKind::Expand: case OpKind::Tile: case OpKind::Resize: case OpKind::Identity: case OpKind::Dropout:
            case OpKind::Split: case OpKind::Pad: case OpKind::ReduceMax: case OpKind::ReduceMean:
            case OpKind::ReduceSum:
                out_nn = in_nn(0);
                break;
            case OpKind::Concat: case OpKind::Add: case OpKind::Mul: {
                out_nn = true;
                for (size_t k = 0; k < n.inputs.size(); ++k)
                    if (n.inputs[k] >= 0 && !nn[size_t(n.inputs[k])]) out_nn = false;
                break;
            }
            default: break;
        }
        if (out_nn)
            for (int o : n.outputs)
                if (o >= 0) nn[size_t(o)] = true;
    }
    return nn;
}

}  // namespace cim
