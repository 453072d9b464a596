// ONNX file -> Graph: parse with libonnx's protobuf classes, convert, check
// support, sort, infer shapes, simplify.
#include "kernels.h"
#include "passes.h"

#include <cim/ir/onnx_import.h>
#include <cim/memory_budget.h>
#include <cim/output_file.h>

#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/wire_format_lite.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <regex>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <utility>

namespace cim {

namespace fs = std::filesystem;

UnsupportedOpsError::UnsupportedOpsError(const std::string& file, std::vector<Entry> entries)
    : InputError([&] {
          std::ostringstream os;
          os << file << ": the model uses " << entries.size() << " unsupported op"
             << (entries.size() == 1 ? "" : "s") << " (see docs/onnx-support.md for what is supported):";
          for (const Entry& e : entries) {
              os << "\n  " << e.op_type;
              if (!e.reason.empty()) os << " (" << e.reason << ")";
              os << ": ";
              for (size_t k = 0; k < e.nodes.size() && k < 8; ++k) os << (k ? ", " : "") << "'" << e.nodes[k] << "'";
              if (e.nodes.size() > 8) os << " and " << e.nodes.size() - 8 << " more";
          }
          return os.str();
      }()),
      entries_(std::move(entries)) {}

namespace {

// ---------------- tensors ----------------
size_t elem_size(ElemType t) {
    switch (t) {
        case ElemType::Float: return 4;
        case ElemType::Double: return 8;
        case ElemType::UInt8:
        case ElemType::Int8:
        case ElemType::Bool: return 1;
        case ElemType::UInt16:
        case ElemType::Int16:
        case ElemType::Float16: return 2;
        case ElemType::Int32:
        case ElemType::UInt32: return 4;
        case ElemType::Int64:
        case ElemType::UInt64: return 8;
        case ElemType::Undefined:
        case ElemType::String: return 0;
    }
    return 0;
}

template <class T>
T read_le(const char* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));  // x86-64 and ONNX are both little-endian
    return v;
}

// The data of a tensor must fill its shape exactly; checked before the tensor is allocated.
void check_byte_count(ElemType type, const Shape& shape, size_t bytes, const std::string& where) {
    const size_t need = size_t(shape_numel(shape)) * elem_size(type);
    if (bytes != need)
        throw InputError(where + ": holds " + std::to_string(bytes) + " bytes of data but its shape " + shape_str(shape) +
                         " needs " + std::to_string(need) + " (truncated or corrupt file?)");
}

void fill_from_raw(Tensor& t, const char* p, size_t bytes, const std::string& where) {
    const size_t n = size_t(t.numel()), es = elem_size(t.type);
    check_byte_count(t.type, t.shape, bytes, where);
    if (t.type == ElemType::Float) {  // the common case, and the bulk of a big model: one copy
        if (bytes) std::memcpy(t.f.data(), p, bytes);  // an empty tensor has no buffer
        return;
    }
    for (size_t k = 0; k < n; ++k) {
        const char* q = p + k * es;
        switch (t.type) {
            case ElemType::Float: t.f[k] = read_le<float>(q); break;
            case ElemType::Double: t.f[k] = float(read_le<double>(q)); break;
            case ElemType::UInt8: t.i[k] = read_le<uint8_t>(q); break;
            case ElemType::Int8: t.i[k] = read_le<int8_t>(q); break;
            case ElemType::Bool: t.i[k] = read_le<uint8_t>(q) != 0; break;
            case ElemType::UInt16: t.i[k] = read_le<uint16_t>(q); break;
            case ElemType::Int16: t.i[k] = read_le<int16_t>(q); break;
            case ElemType::Int32: t.i[k] = read_le<int32_t>(q); break;
            case ElemType::UInt32: t.i[k] = read_le<uint32_t>(q); break;
            case ElemType::Int64: t.i[k] = read_le<int64_t>(q); break;
            case ElemType::UInt64: t.i[k] = int64_t(read_le<uint64_t>(q)); break;
            default: throw InputError(where + ": element type " + elem_type_name(t.type) + " is not supported");
        }
    }
}

// An open file, closed on scope exit.
struct FileHandle {
    int fd = -1;
    FileHandle() = default;
    explicit FileHandle(int f) : fd(f) {}
    FileHandle(FileHandle&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
    FileHandle& operator=(FileHandle&& o) noexcept {
        std::swap(fd, o.fd);
        return *this;
    }
    ~FileHandle() {
        if (fd >= 0) ::close(fd);
    }
};

// Reads bytes [offset, offset + length) of fd into dst.
void read_range(int fd, int64_t offset, size_t length, char* dst, const std::string& file) {
    size_t done = 0;
    while (done < length) {
        const ssize_t r = ::pread(fd, dst + done, length - done, off_t(offset + int64_t(done)));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0)
            throw InputError(file + ": cannot read bytes " + std::to_string(offset) + ".." + std::to_string(offset + int64_t(length)) +
                             (r < 0 ? std::string(" (") + std::strerror(errno) + ")" : std::string(" (the file is shorter)")));
        done += size_t(r);
    }
}

// Where a tensor's bytes lie in a file: ONNX external data, or a large raw_data field of the
// model file itself that the parse skipped (see read_model).
struct FileRange {
    int fd = -1;
    std::string file;
    int64_t offset = 0, length = 0;
};

// Reads `r` into t, which has its shape; float data goes straight into the tensor's storage, in
// chunks so a big tensor is read by all threads.
constexpr size_t kReadChunkBytes = size_t(8) << 20;
size_t read_chunks(const Tensor& t, const FileRange& r) {
    return t.type == ElemType::Float ? std::max<size_t>(1, (size_t(r.length) + kReadChunkBytes - 1) / kReadChunkBytes) : 1;
}
void read_chunk(Tensor& t, const FileRange& r, size_t chunk, const std::string& where) {
    if (t.type == ElemType::Float) {
        const size_t begin = chunk * kReadChunkBytes, end = std::min(size_t(r.length), begin + kReadChunkBytes);
        if (end > begin) read_range(r.fd, r.offset + int64_t(begin), end - begin, reinterpret_cast<char*>(t.f.data()) + begin, r.file);
        return;
    }
    std::string buf(size_t(r.length), '\0');
    read_range(r.fd, r.offset, buf.size(), buf.data(), r.file);
    fill_from_raw(t, buf.data(), buf.size(), where);
}

// A non-negative decimal integer of an external_data entry, or an error naming it.
int64_t external_int(const std::string& text, const std::string& key, const std::string& where) {
    int64_t v = 0;
    bool ok = !text.empty() && text.size() <= 18;
    for (char c : text) ok = ok && c >= '0' && c <= '9';
    if (ok) v = std::stoll(text);
    if (!ok) throw InputError(where + ": external data " + key + " '" + text + "' is not a non-negative integer below 10^18");
    return v;
}

// Opens the external data file of tp and finds its bytes. The location must stay inside the
// model's folder after symlinks are resolved (as ONNX's checker requires), so a downloaded model
// cannot make us read other files; it must be a regular file, and the range must lie inside it.
FileRange external_range(const onnx::TensorProto& tp, const fs::path& base_dir, const std::string& where, FileHandle& handle) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const auto& kv : tp.external_data()) {
        if (kv.key() == "location") location = kv.value();
        else if (kv.key() == "offset") offset = external_int(kv.value(), "offset", where);
        else if (kv.key() == "length") length = external_int(kv.value(), "length", where);
    }
    if (location.empty()) throw InputError(where + ": external data without a location");
    const fs::path loc(location);
    const auto refuse = [&](const std::string& why) {
        return InputError(where + ": external data location '" + location + "' " + why +
                          "; ONNX external data must be a file inside the model's folder, named by a relative path");
    };
    if (location.find('\0') != std::string::npos) throw refuse("holds a NUL byte");
    if (loc.is_absolute() || loc.has_root_name() || loc.has_root_directory()) throw refuse("is an absolute path");
    for (const auto& part : loc)
        if (part == "..") throw refuse("leaves the model's folder ('..')");
    std::error_code ec;
    const fs::path folder = fs::canonical(base_dir.empty() ? fs::path(".") : base_dir, ec);
    if (ec) throw InputError(where + ": cannot resolve the model's folder '" + base_dir.string() + "' (" + ec.message() + ")");
    const fs::path p = base_dir / loc;
    const fs::path real = fs::canonical(p, ec);
    if (ec)
        throw InputError(where + ": external data file '" + p.string() +
                         "' is missing; keep it beside the .onnx file (ONNX stores its path relative to the model)");
    const auto [f_end, r_end] = std::mismatch(folder.begin(), folder.end(), real.begin(), real.end());
    if (f_end != folder.end() || r_end == real.end()) throw refuse("resolves (through a symbolic link) to '" + real.string() + "', outside the model's folder");
    // O_NONBLOCK: a FIFO must not hang the open; it is refused below as not a regular file.
    handle = FileHandle(::open(real.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    struct stat st {};
    if (handle.fd < 0 || ::fstat(handle.fd, &st) != 0)
        throw InputError(where + ": cannot open external data file '" + p.string() + "' (" + std::strerror(errno) + ")");
    if (!S_ISREG(st.st_mode)) throw refuse("is not a regular file (a directory, device or pipe)");
    const int64_t size = int64_t(st.st_size);
    if (length < 0) length = offset <= size ? size - offset : 0;
    if (offset > size || length > size - offset)
        throw InputError(where + ": external data file '" + p.string() + "' has " + std::to_string(size) +
                         " bytes, the tensor needs bytes " + std::to_string(offset) + ".." + std::to_string(offset + length) +
                         " (truncated file?)");
    return {handle.fd, p.string(), offset, length};
}

// tp's shape, checked: no negative dimension, an element count that fits 64 bits.
Shape checked_shape(const onnx::TensorProto& tp, const std::string& where) {
    if (!is_supported_type(tp.data_type()))
        throw InputError(where + ": element type " + elem_type_name(ElemType(tp.data_type())) + " is not supported");
    Shape shape(tp.dims().begin(), tp.dims().end());
    for (int64_t d : shape)
        if (d < 0) throw InputError(where + ": negative dimension in " + shape_str(shape));
    int64_t n = 1;
    for (int64_t d : shape)
        if (!checked_mul(n, d, &n)) throw InputError(where + ": shape " + shape_str(shape) + " has more elements than 64-bit arithmetic can count");
    return shape;
}

// Bytes tp takes once converted (float types as float, integers as int64).
int64_t storage_bytes(const onnx::TensorProto& tp, const std::string& where) {
    int64_t bytes = -1;
    checked_mul(shape_numel(checked_shape(tp, where)), is_floating(ElemType(tp.data_type())) ? 4 : 8, &bytes);
    return bytes;
}

// A zero tensor of tp's type and shape, within the memory limit.
Tensor tensor_of_shape(const onnx::TensorProto& tp, const std::string& where) {
    Shape shape = checked_shape(tp, where);
    check_memory(storage_bytes(tp, where), where + " of shape " + shape_str(shape));
    return Tensor(ElemType(tp.data_type()), std::move(shape));
}

Tensor convert_tensor(onnx::TensorProto& tp, const fs::path& base_dir, const std::string& where, bool release) {
    // The data present is checked against the shape before the tensor is allocated: a file
    // declaring a huge shape with few bytes is an error, not an allocation.
    const Shape declared = checked_shape(tp, where);
    const ElemType type = ElemType(tp.data_type());
    const size_t n = size_t(shape_numel(declared));
    if (tp.data_location() == onnx::TensorProto::EXTERNAL) {
        FileHandle handle;
        const FileRange r = external_range(tp, base_dir, where, handle);
        check_byte_count(type, declared, size_t(r.length), where);
        Tensor t = tensor_of_shape(tp, where);
        for (size_t c = 0; c < read_chunks(t, r); ++c) read_chunk(t, r, c, where);
        return t;
    }
    if (tp.has_raw_data()) {
        check_byte_count(type, declared, tp.raw_data().size(), where);
        Tensor t = tensor_of_shape(tp, where);
        fill_from_raw(t, tp.raw_data().data(), tp.raw_data().size(), where);
        if (release) std::string().swap(*tp.mutable_raw_data());  // keep peak memory near one copy
        return t;
    }
    const size_t have = [&]() -> size_t {
        switch (type) {
            case ElemType::Float: return size_t(tp.float_data_size());
            case ElemType::Double: return size_t(tp.double_data_size());
            case ElemType::Int64: return size_t(tp.int64_data_size());
            case ElemType::UInt32:
            case ElemType::UInt64: return size_t(tp.uint64_data_size());
            case ElemType::UInt8:
            case ElemType::Int8:
            case ElemType::UInt16:
            case ElemType::Int16:
            case ElemType::Int32:
            case ElemType::Bool: return size_t(tp.int32_data_size());  // the small types live in int32_data
            case ElemType::Undefined:
            case ElemType::String:
            case ElemType::Float16: break;  // refused by checked_shape
        }
        return 0;
    }();
    if (have != n)
        throw InputError(where + ": holds " + std::to_string(have) + " values but its shape " + shape_str(declared) + " needs " +
                         std::to_string(n));
    Tensor t = tensor_of_shape(tp, where);
    switch (t.type) {
        case ElemType::Float:
            for (size_t k = 0; k < n; ++k) t.f[k] = tp.float_data(int(k));
            break;
        case ElemType::Double:
            for (size_t k = 0; k < n; ++k) t.f[k] = float(tp.double_data(int(k)));
            break;
        case ElemType::Int64:
            for (size_t k = 0; k < n; ++k) t.i[k] = tp.int64_data(int(k));
            break;
        case ElemType::UInt32:
        case ElemType::UInt64:
            for (size_t k = 0; k < n; ++k) t.i[k] = int64_t(tp.uint64_data(int(k)));
            break;
        default:  // int8/16/32, uint8/16, bool live in int32_data
            for (size_t k = 0; k < n; ++k) t.i[k] = tp.int32_data(int(k));
            break;
    }
    return t;
}

Attribute convert_attr(const onnx::AttributeProto& a, const fs::path& base_dir, const std::string& where) {
    Attribute r;
    switch (a.type()) {
        case onnx::AttributeProto::INT: r.value = int64_t(a.i()); break;
        case onnx::AttributeProto::FLOAT: r.value = a.f(); break;
        case onnx::AttributeProto::STRING: r.value = a.s(); break;
        case onnx::AttributeProto::INTS: r.value = std::vector<int64_t>(a.ints().begin(), a.ints().end()); break;
        case onnx::AttributeProto::FLOATS: r.value = std::vector<float>(a.floats().begin(), a.floats().end()); break;
        case onnx::AttributeProto::STRINGS: r.value = std::vector<std::string>(a.strings().begin(), a.strings().end()); break;
        case onnx::AttributeProto::TENSOR: {
            onnx::TensorProto tp = a.t();
            r.value = convert_tensor(tp, base_dir, where + " attribute '" + a.name() + "'", false);
            break;
        }
        default:
            throw InputError(where + ": attribute '" + a.name() + "' has a type cimforge does not read (graphs, sparse tensors, type protos)");
    }
    return r;
}

// ---------------- model file ----------------
// protobuf parses a bytes field by copying it, so a 550 MB model would be copied twice (into the
// proto, then into our tensors) and its memory faulted in twice. Instead the wire format is walked
// down ModelProto.graph.initializer[k].raw_data on a read-only mapping of the file, protobuf parses
// a skeleton with the large raw_data fields cut out, and their bytes are later read straight from
// the file into the tensors, like ONNX external data.
struct LoadedModel {
    onnx::ModelProto model;
    FileHandle file;
    std::map<int, FileRange> cut_raw_data;  // initializer index -> its raw_data in the file
};

constexpr int64_t kCutRawDataBytes = 64 << 10;  // smaller tensors (shapes, biases) stay in the parse

struct MalformedWire {};  // the walk gave up; the full parse then reports the error

// Copies the message in [p, p + size) to out field by field, except the length-delimited fields
// that take(field number, payload, payload size, out) handles itself (returns true).
template <class Take>
void rewrite_message(const uint8_t* p, int size, std::string& out, Take&& take) {
    namespace wfl = google::protobuf::internal;
    google::protobuf::io::CodedInputStream in(p, size);
    for (;;) {
        const int start = in.CurrentPosition();
        const uint32_t tag = in.ReadTag();
        if (tag == 0) {
            if (in.CurrentPosition() != size) throw MalformedWire{};
            return;
        }
        if (wfl::WireFormatLite::GetTagWireType(tag) == wfl::WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
            uint32_t len = 0;
            if (!in.ReadVarint32(&len)) throw MalformedWire{};
            const int payload = in.CurrentPosition();
            if (len > uint32_t(size - payload)) throw MalformedWire{};
            if (!take(int(tag >> 3), p + payload, int(len), out)) out.append(reinterpret_cast<const char*>(p) + start, size_t(payload + int(len) - start));
            in.Skip(int(len));
        } else {
            if (!wfl::WireFormatLite::SkipField(&in, tag)) throw MalformedWire{};
            out.append(reinterpret_cast<const char*>(p) + start, size_t(in.CurrentPosition() - start));
        }
    }
}

void append_field(std::string& out, int field, const std::string& payload) {
    namespace wfl = google::protobuf::internal;
    uint8_t head[20];
    uint8_t* e = wfl::WireFormatLite::WriteTagToArray(field, wfl::WireFormatLite::WIRETYPE_LENGTH_DELIMITED, head);
    e = google::protobuf::io::CodedOutputStream::WriteVarint32ToArray(uint32_t(payload.size()), e);
    out.append(reinterpret_cast<const char*>(head), size_t(e - head));
    out += payload;
}

// The model without its large initializer raw_data, and where those bytes are in the file.
std::string model_skeleton(const uint8_t* file, int size, std::map<int, std::pair<int64_t, int64_t>>& cut) {
    std::string skeleton;
    int initializer = 0;
    rewrite_message(file, size, skeleton, [&](int field, const uint8_t* graph, int graph_size, std::string& out) {
        if (field != onnx::ModelProto::kGraphFieldNumber) return false;
        std::string g;
        rewrite_message(graph, graph_size, g, [&](int gfield, const uint8_t* tensor, int tensor_size, std::string& gout) {
            if (gfield != onnx::GraphProto::kInitializerFieldNumber) return false;
            const int index = initializer++;
            std::string t;
            rewrite_message(tensor, tensor_size, t, [&](int tfield, const uint8_t* data, int data_size, std::string&) {
                if (tfield != onnx::TensorProto::kRawDataFieldNumber) return false;
                if (data_size < kCutRawDataBytes) {
                    cut.erase(index);  // a later raw_data field replaces an earlier one
                    return false;
                }
                cut[index] = {data - file, data_size};
                return true;
            });
            append_field(gout, gfield, t);
            return true;
        });
        append_field(out, field, g);
        return true;
    });
    return skeleton;
}

LoadedModel read_model(const std::string& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw InputError(path + ": no such file");
    if (fs::is_directory(path, ec)) throw InputError(path + ": is a directory, expected an .onnx file");
    if (!fs::is_regular_file(path, ec)) throw InputError(path + ": is not a regular file (a device or pipe), expected an .onnx file");
    LoadedModel loaded;
    loaded.file = FileHandle(::open(path.c_str(), O_RDONLY));
    const int fd = loaded.file.fd;
    if (fd < 0) throw InputError(path + ": cannot open (" + std::strerror(errno) + ")");
    struct stat st {};
    if (::fstat(fd, &st) != 0 || st.st_size <= 0) throw InputError(path + ": empty or unreadable file; expected an ONNX model");
    if (uint64_t(st.st_size) > uint64_t(INT_MAX))
        throw InputError(path + ": " + std::to_string(st.st_size) + " bytes is over protobuf's 2 GB limit; save the weights as ONNX external data");
    const int size = int(st.st_size);

    // The walk touches only the pages holding field headers.
    std::map<int, std::pair<int64_t, int64_t>> cut;
    std::string skeleton;
    bool walked = false;
    if (void* m = ::mmap(nullptr, size_t(size), PROT_READ, MAP_PRIVATE, fd, 0); m != MAP_FAILED) {
        try {
            skeleton = model_skeleton(static_cast<const uint8_t*>(m), size, cut);
            walked = true;
        } catch (const MalformedWire&) {
        }
        ::munmap(m, size_t(size));
    }
    bool ok;
    if (walked) {
        google::protobuf::io::CodedInputStream coded(reinterpret_cast<const uint8_t*>(skeleton.data()), int(skeleton.size()));
        ok = loaded.model.ParseFromCodedStream(&coded) && coded.ConsumedEntireMessage();
    } else {  // streamed, so a malformed file is reported by protobuf as before
        ::lseek(fd, 0, SEEK_SET);
        google::protobuf::io::FileInputStream raw(fd, 1 << 20);
        google::protobuf::io::CodedInputStream coded(&raw);
        coded.SetTotalBytesLimit(INT_MAX);
        ok = loaded.model.ParseFromCodedStream(&coded) && coded.ConsumedEntireMessage();
    }
    if (!ok)
        throw InputError(path + ": not a valid ONNX model (the protobuf data is truncated or corrupt, or this is not an ONNX file)");
    if (!loaded.model.has_graph() || loaded.model.ir_version() <= 0)
        throw InputError(path + ": does not look like an ONNX model (no graph or no IR version); is this the right file?");
    for (const auto& [index, range] : cut) loaded.cut_raw_data[index] = {fd, path, range.first, range.second};
    return loaded;
}

Shape shape_from_type(const onnx::TypeProto& tp, bool& rank_known) {
    rank_known = false;
    Shape s;
    if (!tp.has_tensor_type() || !tp.tensor_type().has_shape()) return s;
    rank_known = true;
    for (const auto& d : tp.tensor_type().shape().dim()) s.push_back(d.has_dim_value() ? d.dim_value() : -1);
    return s;
}

}  // namespace

Tensor load_tensor_pb(const std::string& path, std::string* name) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path + ": cannot open tensor file");
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    onnx::TensorProto tp;
    if (!tp.ParseFromString(bytes)) throw InputError(path + ": not a valid ONNX TensorProto (truncated or corrupt)");
    if (name) *name = tp.name();
    return convert_tensor(tp, fs::path(path).parent_path(), path, true);
}

void save_tensor_pb(const Tensor& t, const std::string& name, const std::string& path) {
    onnx::TensorProto tp;
    tp.set_name(name);
    tp.set_data_type(int(t.type));
    for (int64_t d : t.shape) tp.add_dims(d);
    std::string raw;
    const size_t n = size_t(t.numel());
    auto put = [&](auto v) { raw.append(reinterpret_cast<const char*>(&v), sizeof(v)); };
    for (size_t k = 0; k < n; ++k) {
        switch (t.type) {
            case ElemType::Float: put(t.f[k]); break;
            case ElemType::Double: put(double(t.f[k])); break;
            case ElemType::UInt8:
            case ElemType::Bool: put(uint8_t(t.i[k])); break;
            case ElemType::Int8: put(int8_t(t.i[k])); break;
            case ElemType::UInt16: put(uint16_t(t.i[k])); break;
            case ElemType::Int16: put(int16_t(t.i[k])); break;
            case ElemType::Int32: put(int32_t(t.i[k])); break;
            case ElemType::UInt32: put(uint32_t(t.i[k])); break;
            case ElemType::Int64: put(int64_t(t.i[k])); break;
            case ElemType::UInt64: put(uint64_t(t.i[k])); break;
            default: throw InputError(path + ": cannot write element type " + elem_type_name(t.type));
        }
    }
    tp.set_raw_data(raw);
    std::string bytes;
    if (!tp.SerializeToString(&bytes)) throw InputError(path + ": cannot serialize the tensor (over protobuf's 2 GB limit?)");
    write_output_file(path, bytes, "tensor file");
}

std::vector<std::string> test_case_files(const std::string& dir, const std::string& prefix) {
    std::vector<std::pair<int, std::string>> found;
    const std::regex re(prefix + "_([0-9]+)\\.pb");
    for (const auto& e : fs::directory_iterator(dir)) {
        std::smatch m;
        const std::string name = e.path().filename().string();
        if (std::regex_match(name, m, re)) found.emplace_back(std::stoi(m[1]), e.path().string());
    }
    std::sort(found.begin(), found.end());
    std::vector<std::string> files;
    for (auto& f : found) files.push_back(f.second);
    return files;
}

OutputComparison compare_output(const Tensor& out, const Tensor& ref, double rtol, double atol) {
    OutputComparison c;
    if (out.shape != ref.shape) {
        c.pass = false;
        c.problem = "shape " + shape_str(out.shape) + " differs from expected " + shape_str(ref.shape);
        return c;
    }
    if (is_floating(out.type) != is_floating(ref.type)) {
        c.pass = false;
        c.problem = "type " + elem_type_name(out.type) + " differs from expected " + elem_type_name(ref.type);
        return c;
    }
    for (int64_t k = 0; k < ref.numel(); ++k) {
        const double a = out.get(k), b = ref.get(k);
        if (std::isnan(a) && std::isnan(b)) continue;
        if (std::isinf(a) && std::isinf(b) && (a > 0) == (b > 0)) continue;
        double err = std::fabs(a - b);
        if (std::isnan(err)) err = INFINITY;
        c.max_abs = std::max(c.max_abs, err);
        if (b != 0) c.max_rel = std::max(c.max_rel, err / std::fabs(b));
        if (!(err <= atol + rtol * std::fabs(b)) && c.pass) {
            c.pass = false;
            c.problem = "element " + std::to_string(k) + ": " + std::to_string(a) + " vs expected " + std::to_string(b);
        }
    }
    return c;
}

namespace {

// A model given as bytes has no folder, so no external data file can be trusted to belong to it.
void refuse_external_data(const onnx::ModelProto& model, const std::string& label) {
    auto refuse = [&](const onnx::TensorProto& tp, const std::string& where) {
        if (tp.data_location() == onnx::TensorProto::EXTERNAL)
            throw InputError(label + ": " + where + " '" + tp.name() +
                             "' keeps its data in an external file, which a model given as bytes cannot reach; "
                             "export with the weights inside the model (or save it to a file and import that)");
    };
    for (const auto& tp : model.graph().initializer()) refuse(tp, "initializer");
    for (const auto& node : model.graph().node())
        for (const auto& a : node.attribute()) {
            if (a.has_t()) refuse(a.t(), "node '" + node.name() + "' attribute");
            for (const auto& tp : a.tensors()) refuse(tp, "node '" + node.name() + "' attribute");
        }
}

Graph import_loaded(LoadedModel& loaded, const std::string& path, const fs::path& base_dir, const ImportOptions& options);

}  // namespace

Graph import_onnx(const std::string& path, const ImportOptions& options) {
    LoadedModel loaded = read_model(path);
    return import_loaded(loaded, path, fs::path(path).parent_path(), options);
}

Graph import_onnx_bytes(std::string_view bytes, const std::string& label, const ImportOptions& options) {
    if (bytes.empty()) throw InputError(label + ": no bytes; expected a serialized ONNX model");
    if (bytes.size() > size_t(INT_MAX))
        throw InputError(label + ": " + std::to_string(bytes.size()) +
                         " bytes is over protobuf's 2 GB limit; save the model with ONNX external data and import the file");
    check_memory(int64_t(bytes.size()), label + ": the serialized model");
    LoadedModel loaded;
    google::protobuf::io::CodedInputStream coded(reinterpret_cast<const uint8_t*>(bytes.data()), int(bytes.size()));
    coded.SetTotalBytesLimit(INT_MAX);
    if (!loaded.model.ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage())
        throw InputError(label + ": not a valid ONNX model (the protobuf data is truncated or corrupt, or these are not ONNX bytes)");
    if (!loaded.model.has_graph() || loaded.model.ir_version() <= 0)
        throw InputError(label + ": does not look like an ONNX model (no graph or no IR version)");
    refuse_external_data(loaded.model, label);
    return import_loaded(loaded, label, fs::path(), options);
}

namespace {

Graph import_loaded(LoadedModel& loaded, const std::string& path, const fs::path& base_dir, const ImportOptions& options) {
    onnx::ModelProto& model = loaded.model;
    Graph g;
    g.source_file = path;
    for (const auto& kv : model.metadata_props()) g.metadata[kv.key()] = kv.value();

    g.opset = -1;
    for (const auto& os : model.opset_import())
        if (os.domain().empty() || os.domain() == "ai.onnx") g.opset = int(os.version());
    if (g.opset > kMaxOpset)
        throw InputError(path + ": opset " + std::to_string(g.opset) + " is newer than cimforge reads (up to " +
                         std::to_string(kMaxOpset) + "); re-export with opset_version=" + std::to_string(kMaxOpset) + " or lower");

    // Declared shapes (from the file and from ONNX's own inference) for the consistency check.
    // ONNX's inference trusts the graph (libonnx 1.12 crashes on a node reading an undefined name, or
    // on a Conv whose weight rank differs from its input's; found by fuzz/fuzz_onnx_import): it runs on
    // a copy, below, once our own import and inference have accepted the graph.
    std::map<std::string, std::pair<Shape, bool>> declared;
    auto declare = [&](const auto& value_infos) {
        for (const auto& vi : value_infos) {
            bool rk;
            Shape s = shape_from_type(vi.type(), rk);
            if (rk) declared[vi.name()] = {s, rk};
        }
    };
    declare(model.graph().value_info());
    declare(model.graph().output());
    const bool onnx_inference = model.ByteSizeLong() < (size_t(256) << 20);  // it copies the proto, which holds only small tensors
    onnx::ModelProto copy_for_inference;
    if (onnx_inference) copy_for_inference = model;

    onnx::GraphProto& gp = *model.mutable_graph();
    std::map<std::string, int> ids;
    auto new_value = [&](const std::string& name) {
        Value v;
        v.name = name;
        g.values.push_back(std::move(v));
        ids[name] = int(g.values.size() - 1);
        return int(g.values.size() - 1);
    };
    std::vector<UnsupportedOpsError::Entry> unsupported;
    auto add_unsupported = [&](const std::string& op, const std::string& reason, const std::string& node) {
        for (auto& e : unsupported)
            if (e.op_type == op && e.reason == reason) {
                e.nodes.push_back(node);
                return;
            }
        unsupported.push_back({op, reason, {node}});
    };

    // Initializers: small ones convert from the proto; large ones (cut from the parse, or external
    // data) get their storage first and are then read from their files in chunks by all threads.
    const int n_init = gp.initializer_size();
    std::vector<std::shared_ptr<Tensor>> converted(static_cast<size_t>(n_init));
    std::vector<std::string> errors(static_cast<size_t>(n_init));
    std::vector<FileRange> ranges(static_cast<size_t>(n_init));
    std::vector<FileHandle> external_files(static_cast<size_t>(n_init));
    auto where_init = [&](const onnx::TensorProto& tp) { return path + ": initializer '" + tp.name() + "'"; };
    {  // the weights together must fit the memory limit before any is allocated
        int64_t total = 0;
        for (int k = 0; k < n_init; ++k) {
            const onnx::TensorProto& tp = gp.initializer(k);
            if (!is_supported_type(tp.data_type())) continue;
            const int64_t bytes = storage_bytes(tp, where_init(tp));
            if (bytes < 0 || __builtin_add_overflow(total, bytes, &total)) total = -1;
            if (total < 0) break;
        }
        check_memory(total, path + ": the model's " + std::to_string(n_init) + " initializers");
    }
#pragma omp parallel for schedule(dynamic, 1)
    for (int k = 0; k < n_init; ++k) {
        onnx::TensorProto& tp = *gp.mutable_initializer(k);
        if (tp.name().empty() || !is_supported_type(tp.data_type())) continue;
        try {
            auto cut = loaded.cut_raw_data.find(k);
            if (cut == loaded.cut_raw_data.end() && tp.data_location() != onnx::TensorProto::EXTERNAL) {
                converted[size_t(k)] = std::make_shared<Tensor>(convert_tensor(tp, base_dir, where_init(tp), true));
                continue;
            }
            ranges[size_t(k)] = cut != loaded.cut_raw_data.end() ? cut->second : external_range(tp, base_dir, where_init(tp), external_files[size_t(k)]);
            check_byte_count(ElemType(tp.data_type()), checked_shape(tp, where_init(tp)), size_t(ranges[size_t(k)].length), where_init(tp));
            converted[size_t(k)] = std::make_shared<Tensor>(tensor_of_shape(tp, where_init(tp)));
        } catch (const std::exception& e) {
            errors[size_t(k)] = e.what();
        }
    }
    std::vector<std::pair<int, size_t>> reads;  // (initializer, chunk)
    for (int k = 0; k < n_init; ++k)
        if (ranges[size_t(k)].fd >= 0 && converted[size_t(k)])
            for (size_t c = 0; c < read_chunks(*converted[size_t(k)], ranges[size_t(k)]); ++c) reads.emplace_back(k, c);
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t r = 0; r < reads.size(); ++r) {
        const int k = reads[r].first;
        try {
            read_chunk(*converted[size_t(k)], ranges[size_t(k)], reads[r].second, where_init(gp.initializer(k)));
        } catch (const std::exception& e) {
#pragma omp critical(cim_import_errors)
            errors[size_t(k)] = e.what();
        }
    }
    for (int k = 0; k < n_init; ++k) {
        const onnx::TensorProto& tp = gp.initializer(k);
        if (tp.name().empty()) throw InputError(path + ": initializer #" + std::to_string(k) + " has no name");
        if (!errors[size_t(k)].empty()) throw InputError(errors[size_t(k)]);
        if (!is_supported_type(tp.data_type())) {
            add_unsupported("initializer of element type " + elem_type_name(ElemType(tp.data_type())), "", tp.name());
            continue;
        }
        int id = new_value(tp.name());
        auto& t = converted[size_t(k)];
        g.values[size_t(id)].type = t->type;
        g.values[size_t(id)].shape = t->shape;
        g.values[size_t(id)].rank_known = true;
        g.values[size_t(id)].constant = std::move(t);
    }
    for (const auto& in : gp.input()) {
        if (ids.count(in.name())) continue;  // an initializer listed as input: a constant
        const auto& tt = in.type().tensor_type();
        if (!in.type().has_tensor_type()) {
            add_unsupported("non-tensor graph input", "", in.name());
            continue;
        }
        if (!is_supported_type(tt.elem_type())) {
            add_unsupported("graph input of element type " + elem_type_name(ElemType(tt.elem_type())), "", in.name());
            continue;
        }
        int id = new_value(in.name());
        Value& v = g.values[size_t(id)];
        v.type = ElemType(tt.elem_type());
        v.shape = shape_from_type(in.type(), v.rank_known);
        g.inputs.push_back(id);
    }

    // Nodes.
    std::vector<Node> nodes;
    std::set<std::string> node_names;
    for (int k = 0; k < gp.node_size(); ++k) {
        const onnx::NodeProto& np = gp.node(k);
        Node n;
        n.name = np.name().empty() ? np.op_type() + "_" + std::to_string(k) : np.name();
        if (node_names.count(n.name)) n.name += "#" + std::to_string(k);
        node_names.insert(n.name);
        const std::string where = path + ": node '" + n.name + "' (" + np.op_type() + ")";
        bool ok = true;
        if (!np.domain().empty() && np.domain() != "ai.onnx") {
            add_unsupported(np.domain() + "." + np.op_type(), "custom domain", n.name);
            ok = false;
        }
        auto op = op_from_name(np.op_type());
        if (ok && !op) {
            add_unsupported(np.op_type(), "", n.name);
            ok = false;
        }
        if (ok && g.opset < op_min_opset(*op)) {
            add_unsupported(np.op_type(), "opset " + std::to_string(g.opset) + " version; supported from opset " + std::to_string(op_min_opset(*op)), n.name);
            ok = false;
        }
        if (ok) {
            n.op = *op;
            for (const auto& a : np.attribute()) {
                try {
                    n.attrs[a.name()] = convert_attr(a, base_dir, where);
                } catch (const InputError& e) {
                    add_unsupported(np.op_type(), std::string("attribute '") + a.name() + "' of an unsupported kind", n.name);
                    ok = false;
                }
            }
        }
        for (const auto& in : np.input()) n.inputs.push_back(in.empty() ? -1 : (ids.count(in) ? ids[in] : new_value(in)));
        for (const auto& out : np.output()) {
            if (out.empty()) {
                n.outputs.push_back(-1);
                continue;
            }
            int id = ids.count(out) ? ids[out] : new_value(out);
            Value& v = g.values[size_t(id)];
            if (v.producer >= 0 || v.constant || std::find(g.inputs.begin(), g.inputs.end(), id) != g.inputs.end())
                throw InputError(where + ": output '" + out + "' is already produced elsewhere in the graph (ONNX requires single assignment)");
            v.producer = int(nodes.size());
            n.outputs.push_back(id);
        }
        if (ok) {
            if (auto check = kern::op_def(n.op).check) {
                std::string why = check(n, g.opset);
                if (!why.empty()) add_unsupported(np.op_type(), why, n.name);
            }
        }
        nodes.push_back(std::move(n));
    }
    if (!unsupported.empty()) throw UnsupportedOpsError(path, std::move(unsupported));
    if (g.opset < 0) throw InputError(path + ": the model imports no default-domain (ai.onnx) opset");

    // Every input must come from somewhere.
    for (const Node& n : nodes)
        for (int id : n.inputs) {
            if (id < 0) continue;
            const Value& v = g.values[size_t(id)];
            if (v.producer < 0 && !v.constant && std::find(g.inputs.begin(), g.inputs.end(), id) == g.inputs.end())
                throw InputError(path + ": node '" + n.name + "' (" + std::string(op_name(n.op)) + ") reads '" + v.name +
                                 "', which no node, initializer or graph input provides (missing initializer?)");
        }
    for (const auto& out : gp.output()) {
        auto it = ids.find(out.name());
        if (it == ids.end()) throw InputError(path + ": graph output '" + out.name() + "' is not produced by any node");
        g.outputs.push_back(it->second);
    }
    if (g.outputs.empty()) throw InputError(path + ": the graph has no outputs");

    g.nodes = std::move(nodes);
    passes::topological_sort(g);
    try {
        passes::infer_and_fold(g, options.fold_constants);
    } catch (const kern::Unsupported& e) {
        // Found only once types are known (e.g. an integer Conv); reported like any unsupported op.
        throw UnsupportedOpsError(path, {{e.op, e.reason, {e.node}}});
    }
    if (onnx_inference) {
        try {
            onnx::shape_inference::InferShapes(copy_for_inference);
            declared.clear();
            declare(copy_for_inference.graph().value_info());
            declare(model.graph().output());
        } catch (const std::exception&) {
            // ONNX's inference gives up on some valid models (e.g. newer opsets); ours decides.
        }
    }
    // Consistency with the shapes the file (and ONNX's inference) declares.
    for (const Value& v : g.values) {
        auto it = declared.find(v.name);
        if (it == declared.end() || !v.rank_known) continue;
        const Shape& d = it->second.first;
        bool clash = d.size() != v.shape.size();
        for (size_t k = 0; !clash && k < d.size(); ++k) clash = d[k] >= 0 && v.shape[k] >= 0 && d[k] != v.shape[k];
        if (clash)
            throw InputError(path + ": inconsistent shapes: '" + v.name + "' is declared " + shape_str(d) + " but " +
                             (v.producer >= 0 ? "node '" + g.nodes[size_t(v.producer)].name + "' produces " : "it is ") +
                             shape_str(v.shape));
    }
    if (options.remove_identity) passes::remove_identity(g);
    if (options.fold_batchnorm) passes::fold_batchnorm(g);
    passes::eliminate_dead(g);
    return g;
}

}  // namespace

void infer_shapes(Graph& g) { passes::infer_and_fold(g, false); }

Graph specialize_batch(const Graph& src, int64_t batch) {
    Graph g = src;
    for (int id : g.inputs) {
        Value& v = g.values[size_t(id)];
        if (!v.shape.empty() && v.shape[0] < 0) v.shape[0] = batch;
    }
    passes::infer_and_fold(g, true);
    passes::eliminate_dead(g);
    return g;
}

}  // namespace cim
