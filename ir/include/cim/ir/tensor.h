// Tensors of the graph IR and of the reference executor.
//
// Floating types (float, double) are stored as float; integer and bool types
// as int64. The ONNX element type is kept so results convert back exactly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cim {

// ONNX TensorProto.DataType codes for the element types cimforge handles.
enum class ElemType : int {
    Undefined = 0,
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    UInt16 = 4,
    Int16 = 5,
    Int32 = 6,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Float16 = 10,
    Double = 11,
    UInt32 = 12,
    UInt64 = 13,
};

// True for the types stored in Tensor::f.
bool is_floating(ElemType t);
// True for the types the executor computes with (not string, float16, complex ...).
bool is_supported_type(int onnx_elem_type);
std::string elem_type_name(ElemType t);

using Shape = std::vector<int64_t>;  // -1 marks a dimension not known statically

int64_t shape_numel(const Shape& s);  // -1 if any dim is unknown
bool shape_known(const Shape& s);
std::string shape_str(const Shape& s);

// v as an int64 (truncated toward zero), for a shape, index, axis or count computed from a file's
// values: NaN, infinities and values past int64 throw InputError instead of a cast that is undefined.
int64_t int64_of(double v);

struct Tensor {
    ElemType type = ElemType::Float;
    Shape shape;
    std::vector<float> f;    // data of floating types
    std::vector<int64_t> i;  // data of integer and bool types

    Tensor() = default;
    Tensor(ElemType t, Shape s);  // zero-filled
    static Tensor scalar_f(float v);
    static Tensor ints(const std::vector<int64_t>& v);  // 1-D int64

    int64_t numel() const { return shape_numel(shape); }
    int rank() const { return static_cast<int>(shape.size()); }
    bool floating() const { return is_floating(type); }
    // Element k as double / int64 whatever the storage.
    double get(int64_t k) const { return floating() ? double(f[size_t(k)]) : double(i[size_t(k)]); }
    int64_t get_int(int64_t k) const { return floating() ? int64_of(f[size_t(k)]) : i[size_t(k)]; }
    std::vector<int64_t> to_ints() const;
    std::vector<float> to_floats() const;
};

}  // namespace cim
