#include "kernels.h"

#include <array>

namespace cim::kern {

InValue as_value(const Tensor* t) {
    if (!t) return InValue{};
    return InValue{true, t->type, t->shape, true, t};
}

std::vector<InValue> as_values(std::span<const Tensor* const> in) {
    std::vector<InValue> v;
    for (const Tensor* t : in) v.push_back(as_value(t));
    return v;
}

void fail(const Node& n, const std::string& msg) {
    throw InputError("node '" + n.name + "' (" + std::string(op_name(n.op)) + "): " + msg);
}

void unsupported(const Node& n, const std::string& reason) {
    throw Unsupported(n.name, std::string(op_name(n.op)), reason, "node '" + n.name + "' (" + std::string(op_name(n.op)) + "): " + reason + " is not supported");
}

void require_floating(const Node& n, std::span<const InValue> in, size_t count) {
    for (size_t k = 0; k < in.size() && k < count; ++k)
        if (in[k].present && in[k].type != ElemType::Undefined && !is_floating(in[k].type))
            unsupported(n, "element type " + elem_type_name(in[k].type));
}

Shape broadcast(const Node& n, const Shape& a, const Shape& b) {
    const size_t r = std::max(a.size(), b.size());
    Shape out(r);
    for (size_t d = 0; d < r; ++d) {
        int64_t x = d < r - a.size() ? 1 : a[d - (r - a.size())];
        int64_t y = d < r - b.size() ? 1 : b[d - (r - b.size())];
        if (x == y) out[d] = x;
        else if (x == 1) out[d] = y;
        else if (y == 1) out[d] = x;
        else if (x < 0 || y < 0) out[d] = x < 0 ? y : x;  // the unknown one must match the known
        else fail(n, "shapes " + shape_str(a) + " and " + shape_str(b) + " do not broadcast");
    }
    return out;
}

int64_t norm_axis(const Node& n, int64_t axis, int64_t rank) {
    if (axis < -rank || (axis >= rank && !(rank == 0 && axis == 0)))
        fail(n, "axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
    return axis < 0 ? axis + rank : axis;
}

namespace {
const std::array<OpDef, size_t(OpKind::Count)>& op_table() {
    static const std::array<OpDef, size_t(OpKind::Count)> table = [] {
        std::array<OpDef, size_t(OpKind::Count)> t{};
        register_elementwise(t.data());
        register_nn(t.data());
        register_products(t.data());
        register_shape(t.data());
        register_rnn(t.data());
        return t;
    }();
    return table;
}
}  // namespace

const OpDef& op_def(OpKind op) {
    const OpDef& d = op_table().at(size_t(op));
    CIM_INTERNAL_CHECK(d.infer && d.compute, "op " + std::string(op_name(op)) + " has no kernel registered");
    return d;
}

}  // namespace cim::kern

namespace cim {
bool op_has_kernel(OpKind op) {
    if (size_t(op) >= size_t(OpKind::Count)) return false;
    const kern::OpDef& d = kern::op_table().at(size_t(op));
    return d.infer && d.compute;
}
}  // namespace cim
