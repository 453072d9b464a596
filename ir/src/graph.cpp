#include <cim/error.h>
#include <cim/ir/graph.h>
#include <cim/ir/op_traits.h>

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

namespace {

// SignRule::by_attributes: the ops whose parameters decide the sign of their output.
template <class ConstOf>
bool nonnegative_by_attributes(const Graph& g, const Node& n, bool first_nonnegative, ConstOf in_const) {
    auto first_value_nonnegative = [](const Tensor* t) { return t && t->numel() > 0 && t->get(0) >= 0; };
    if (n.op == OpKind::Clip)  // a lower bound >= 0 (input 1 from opset 11, attribute `min` before)
        return first_value_nonnegative(in_const(1)) || (g.opset < 11 && n.attr_float("min", -1) >= 0) ||
               first_nonnegative;
    if (n.op == OpKind::ThresholdedRelu) return n.attr_float("alpha", 1.0f) >= 0 || first_nonnegative;
    if (n.op == OpKind::Pad) {  // constant mode pads with input 2 (0 when omitted); other modes copy values
        if (!first_nonnegative) return false;
        if (n.attr_string("mode", "constant") != "constant" || !n.has_input(2)) return true;
        return first_value_nonnegative(in_const(2));
    }
    if (n.op == OpKind::Resize) return first_nonnegative && n.attr_string("mode", "nearest") != "cubic";
    if (n.op == OpKind::ConstantOfShape) {
        const Tensor* v = n.attr_tensor("value");
        return !v || first_value_nonnegative(v);
    }
    if (n.op == OpKind::DequantizeLinear) {  // uint8 codes with a zero point of 0 are never negative
        if (first_nonnegative) return true;
        if (!n.has_input(0) || g.value(n.inputs[0]).type != ElemType::UInt8) return false;
        if (!n.has_input(2)) return true;
        const Tensor* zp = in_const(2);
        if (!zp) return false;
        for (int64_t k = 0; k < zp->numel(); ++k)
            if (zp->get(k) != 0) return false;
        return true;
    }
    // op_traits.cpp marked an op by_attributes without a rule here (tests/ir/test_op_traits.cpp runs every op).
    throw InternalError("nonnegative_values: no sign rule for " + std::string(op_name(n.op)));
}

}  // namespace

// Forward dataflow: constants by their values, every other value by its op's SignRule
// (op_traits.h); the rule is conservative: "false" only means "may be negative".
std::vector<bool> nonnegative_values(const Graph& g) {
    std::vector<bool> nn(g.values.size(), false);
    auto all_nonnegative = [](const Tensor* t) {
        if (!t) return false;
        for (int64_t k = 0; k < t->numel(); ++k)
            if (!(t->get(k) >= 0)) return false;
        return true;
    };
    for (size_t v = 0; v < g.values.size(); ++v) nn[v] = all_nonnegative(g.values[v].constant.get());
    for (const Node& n : g.nodes) {
        auto in_nn = [&](size_t k) { return n.has_input(k) && nn[size_t(n.inputs[k])]; };
        auto in_const = [&](size_t k) { return n.has_input(k) ? g.constant(n.inputs[k]) : nullptr; };
        bool out_nn = false;
        switch (op_traits(n.op).sign) {
            case SignRule::nonnegative: out_nn = true; break;
            case SignRule::follows_first: out_nn = in_nn(0); break;
            case SignRule::follows_all:
                out_nn = n.has_input(0);
                for (int i : n.inputs)
                    if (i >= 0 && !nn[size_t(i)]) out_nn = false;
                break;
            case SignRule::any: break;
            case SignRule::by_attributes:
                out_nn = nonnegative_by_attributes(g, n, in_nn(0), in_const);
                break;
        }
        if (out_nn)
            for (int o : n.outputs)
                if (o >= 0) nn[size_t(o)] = true;
    }
    return nn;
}

}  // namespace cim
