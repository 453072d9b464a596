#include <cim/ir/tensor.h>

#include <cim/error.h>
#include <cim/memory_budget.h>

#include <cstdio>
#include <sstream>

namespace cim {

bool is_floating(ElemType t) {
    return t == ElemType::Float || t == ElemType::Double || t == ElemType::Float16;
}

bool is_supported_type(int t) {
    switch (static_cast<ElemType>(t)) {
        case ElemType::Float:
        case ElemType::Double:
        case ElemType::UInt8:
        case ElemType::Int8:
        case ElemType::UInt16:
        case ElemType::Int16:
        case ElemType::Int32:
        case ElemType::Int64:
        case ElemType::Bool:
        case ElemType::UInt32:
        case ElemType::UInt64:
            return true;
        case ElemType::Undefined:
        case ElemType::String:
        case ElemType::Float16:
            return false;
    }
    return false;
}

std::string elem_type_name(ElemType t) {
    switch (t) {
        case ElemType::Undefined: return "undefined";
        case ElemType::Float: return "float32";
        case ElemType::UInt8: return "uint8";
        case ElemType::Int8: return "int8";
        case ElemType::UInt16: return "uint16";
        case ElemType::Int16: return "int16";
        case ElemType::Int32: return "int32";
        case ElemType::Int64: return "int64";
        case ElemType::String: return "string";
        case ElemType::Bool: return "bool";
        case ElemType::Float16: return "float16";
        case ElemType::Double: return "float64";
        case ElemType::UInt32: return "uint32";
        case ElemType::UInt64: return "uint64";
    }
    return "type#" + std::to_string(int(t));
}

int64_t shape_numel(const Shape& s) {
    int64_t n = 1;
    for (int64_t d : s) {
        if (d < 0) return -1;
        if (!checked_mul(n, d, &n)) throw InputError("shape " + shape_str(s) + " has more elements than 64-bit arithmetic can count");
    }
    return n;
}

bool shape_known(const Shape& s) {
    for (int64_t d : s)
        if (d < 0) return false;
    return true;
}

std::string shape_str(const Shape& s) {
    std::ostringstream os;
    os << '[';
    for (size_t k = 0; k < s.size(); ++k) {
        if (k) os << ',';
        if (s[k] < 0)
            os << '?';
        else
            os << s[k];
    }
    os << ']';
    return os.str();
}

Tensor::Tensor(ElemType t, Shape s) : type(t), shape(std::move(s)) {
    int64_t n = shape_numel(shape);
    if (n < 0) n = 0;
    // Every tensor size can come from a file (dims, a Reshape's shape input, ConstantOfShape):
    // a huge one is a clear error, never an OOM kill.
    int64_t bytes = -1;
    checked_mul(n, is_floating(t) ? int64_t(sizeof(float)) : int64_t(sizeof(int64_t)), &bytes);
    if (bytes < 0 || bytes > max_memory_bytes()) check_memory(bytes, "a tensor of shape " + shape_str(shape));
    if (is_floating(t))
        f.assign(size_t(n), 0.0f);
    else
        i.assign(size_t(n), 0);
}

Tensor Tensor::scalar_f(float v) {
    Tensor t(ElemType::Float, {});
    t.f[0] = v;
    return t;
}

Tensor Tensor::ints(const std::vector<int64_t>& v) {
    Tensor t(ElemType::Int64, {int64_t(v.size())});
    t.i = v;
    return t;
}

int64_t int64_of(double v) {
    if (v >= -0x1p63 && v < 0x1p63) return int64_t(v);  // the doubles the cast is defined for
    char text[32];
    std::snprintf(text, sizeof text, "%g", v);
    throw InputError(std::string("the value ") + text + " stands where an integer (a shape, index, axis or count) is expected");
}

std::vector<int64_t> Tensor::to_ints() const {
    if (!floating()) return i;
    std::vector<int64_t> r(f.size());
    for (size_t k = 0; k < f.size(); ++k) r[k] = int64_of(f[k]);
    return r;
}

std::vector<float> Tensor::to_floats() const {
    if (floating()) return f;
    std::vector<float> r(i.size());
    for (size_t k = 0; k < i.size(); ++k) r[k] = float(i[k]);
    return r;
}

}  // namespace cim
