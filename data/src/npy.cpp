// NumPy .npy: magic "\x93NUMPY", version, a little-endian header length (2 bytes in version 1,
// 4 in 2 and 3), then a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (N, ...), }
// padded with spaces to a multiple of 64 bytes, then the data.
#include "npy.h"

#include <cim/error.h>
#include <cim/memory_budget.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>

namespace cim::data {

namespace {

[[noreturn]] void bad(const std::string& where, const std::string& what) {
    throw InputError(where + ": " + what + " (write it with numpy.save / numpy.savez)");
}

size_t item_bytes_of(NpyType t) {
    switch (t) {
        case NpyType::u1:
        case NpyType::i1:
        case NpyType::b1: return 1;
        case NpyType::f2:
        case NpyType::u2:
        case NpyType::i2: return 2;
        case NpyType::f4:
        case NpyType::u4:
        case NpyType::i4: return 4;
        case NpyType::f8:
        case NpyType::u8:
        case NpyType::i8: return 8;
    }
    return 0;
}

NpyType parse_descr(const std::string& d, const std::string& where) {
    // Byte order: '<' little, '|' not applicable, '=' native (little on every machine we run on).
    if (d.size() < 3 || (d[0] != '<' && d[0] != '|' && d[0] != '='))
        bad(where, "dtype '" + d + "' is not supported: use little-endian float32/float16/float64, (u)int8/16/32/64 or bool");
    const std::string k = d.substr(1);
    if (k == "f2") return NpyType::f2;
    if (k == "f4") return NpyType::f4;
    if (k == "f8") return NpyType::f8;
    if (k == "u1") return NpyType::u1;
    if (k == "i1") return NpyType::i1;
    if (k == "b1") return NpyType::b1;
    if (k == "u2") return NpyType::u2;
    if (k == "i2") return NpyType::i2;
    if (k == "u4") return NpyType::u4;
    if (k == "i4") return NpyType::i4;
    if (k == "u8") return NpyType::u8;
    if (k == "i8") return NpyType::i8;
    bad(where, "dtype '" + d + "' is not supported: use float32/float16/float64, (u)int8/16/32/64 or bool");
}

// IEEE half -> float, exactly (subnormals, infinities and NaN included).
float half_to_float(uint16_t h) {
    const uint32_t sign = uint32_t(h >> 15) << 31, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    uint32_t bits;
    if (exp == 0x1f) bits = sign | 0x7f800000u | (mant << 13);
    else if (exp != 0) bits = sign | ((exp + 112) << 23) | (mant << 13);
    else if (mant == 0) bits = sign;
    else {
        float v = std::ldexp(float(mant), -24);
        return sign ? -v : v;
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

double element(const NpyArray& a, int64_t k) {
    const uint8_t* p = a.data + size_t(k) * a.item_bytes;
    auto get = [p](auto v) {
        std::memcpy(&v, p, sizeof v);
        return double(v);
    };
    switch (a.type) {
        case NpyType::f2: {
            uint16_t h;
            std::memcpy(&h, p, 2);
            return double(half_to_float(h));
        }
        case NpyType::f4: return get(float{});
        case NpyType::f8: return get(double{});
        case NpyType::u1: return get(uint8_t{});
        case NpyType::i1: return get(int8_t{});
        case NpyType::b1: return *p != 0;
        case NpyType::u2: return get(uint16_t{});
        case NpyType::i2: return get(int16_t{});
        case NpyType::u4: return get(uint32_t{});
        case NpyType::i4: return get(int32_t{});
        case NpyType::u8: return get(uint64_t{});
        case NpyType::i8: return get(int64_t{});
    }
    return 0;
}

// The value of 'key' in the header dict, as text up to the next top-level ',' or '}'.
std::string dict_value(const std::string& h, const std::string& key, const std::string& where) {
    size_t at = h.find("'" + key + "'");
    if (at == std::string::npos) at = h.find("\"" + key + "\"");
    if (at == std::string::npos) bad(where, "the header has no '" + key + "' entry");
    size_t p = h.find(':', at + key.size() + 2);
    if (p == std::string::npos) bad(where, "the header's '" + key + "' entry has no value");
    ++p;
    while (p < h.size() && h[p] == ' ') ++p;
    int depth = 0;
    size_t e = p;
    for (; e < h.size(); ++e) {
        const char c = h[e];
        if (c == '(' || c == '[') ++depth;
        else if (c == ')' || c == ']') --depth;
        else if ((c == ',' || c == '}') && depth == 0) break;
    }
    if (depth != 0 || e >= h.size()) bad(where, "the header's '" + key + "' entry is malformed");
    std::string v = h.substr(p, e - p);
    while (!v.empty() && v.back() == ' ') v.pop_back();
    return v;
}

}  // namespace

int64_t NpyArray::count() const {
    int64_t n = 1;
    for (int64_t d : shape) checked_mul(n, d, &n);
    return n;
}

NpyArray parse_npy(const uint8_t* bytes, size_t size, const std::string& where) {
    static const uint8_t magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
    if (size < 10 || std::memcmp(bytes, magic, 6) != 0) bad(where, "not a NumPy .npy file (no \\x93NUMPY magic)");
    const int major = bytes[6];
    if (major < 1 || major > 3) bad(where, "NumPy format version " + std::to_string(major) + " is not supported (1 to 3 are)");
    size_t header_len, offset;
    if (major == 1) {
        header_len = size_t(bytes[8]) | size_t(bytes[9]) << 8;
        offset = 10;
    } else {
        if (size < 12) bad(where, "truncated header");
        header_len = size_t(bytes[8]) | size_t(bytes[9]) << 8 | size_t(bytes[10]) << 16 | size_t(bytes[11]) << 24;
        offset = 12;
    }
    if (header_len > size - offset) bad(where, "truncated header (it declares " + std::to_string(header_len) + " bytes)");
    const std::string h(reinterpret_cast<const char*>(bytes + offset), header_len);
    NpyArray a;
    std::string descr = dict_value(h, "descr", where);
    if (descr.size() < 2 || (descr.front() != '\'' && descr.front() != '"'))
        bad(where, "structured dtype " + descr + " is not supported: save a plain numeric array");
    descr = descr.substr(1, descr.size() - 2);
    a.type = parse_descr(descr, where);
    a.item_bytes = item_bytes_of(a.type);
    const std::string fortran = dict_value(h, "fortran_order", where);
    if (fortran == "True") bad(where, "the array is in Fortran order; save numpy.ascontiguousarray(x)");
    if (fortran != "False") bad(where, "fortran_order is '" + fortran + "', expected True or False");
    const std::string shape = dict_value(h, "shape", where);
    if (shape.size() < 2 || shape.front() != '(' || shape.back() != ')') bad(where, "the shape " + shape + " is not a tuple");
    for (size_t p = 1; p + 1 < shape.size();) {
        while (p + 1 < shape.size() && (shape[p] == ' ' || shape[p] == ',')) ++p;
        if (p + 1 >= shape.size()) break;
        size_t e = p;
        while (e + 1 < shape.size() && shape[e] >= '0' && shape[e] <= '9') ++e;
        if (e == p || e - p > 15) bad(where, "the shape " + shape + " is not a tuple of non-negative integers");
        a.shape.push_back(std::stoll(shape.substr(p, e - p)));
        p = e;
        while (p + 1 < shape.size() && shape[p] == 'L') ++p;  // Python 2 longs
    }
    int64_t n = 1, need = -1;
    for (int64_t d : a.shape)
        if (!checked_mul(n, d, &n)) bad(where, "the shape " + shape + " overflows 64-bit arithmetic");
    checked_mul(n, int64_t(a.item_bytes), &need);
    const size_t data_at = offset + header_len;
    if (need < 0 || uint64_t(need) > size - data_at)
        bad(where, "truncated data: shape " + shape + " of " + descr + " needs " + std::to_string(need) + " bytes, the file has " +
                       std::to_string(size - data_at) + " after its header");
    a.data = bytes + data_at;
    return a;
}

// Values per sample (the product of the dimensions after the first); checks there are samples.
int64_t npy_sample_size(const NpyArray& a, const std::string& where) {
    if (a.shape.empty()) bad(where, "the array is a scalar; expected samples along the first axis");
    int64_t per = 1;
    for (size_t d = 1; d < a.shape.size(); ++d) per *= a.shape[d];
    if (per == 0) bad(where, "its samples (shape " + shape_str(Shape(a.shape.begin() + 1, a.shape.end())) + ") hold no values");
    return per;
}

Tensor npy_samples(const NpyArray& a, int64_t skip, int64_t limit, const std::string& where) {
    const int64_t per = npy_sample_size(a, where);
    const int64_t total = a.shape[0];
    if (skip > total) skip = total;
    const int64_t count = limit < 0 ? total - skip : std::min(limit, total - skip);
    int64_t bytes = -1;
    checked_mul(count * per, int64_t(sizeof(float)), &bytes);
    check_memory(bytes, where + ": " + std::to_string(count) + " samples");
    return npy_items(a, skip, skip + count, where);
}

Tensor npy_items(const NpyArray& a, int64_t begin, int64_t end, const std::string& where) {
    const int64_t per = npy_sample_size(a, where), count = end - begin, skip = begin;
    Shape shape(a.shape.begin(), a.shape.end());
    shape[0] = count;
    Tensor t(ElemType::Float, shape);
    const int64_t first = skip * per, n = count * per;
    if (n == 0) return t;  // no samples (an empty tensor has no buffer to copy into)
    if (a.type == NpyType::f4) {
        std::memcpy(t.f.data(), a.data + size_t(first) * 4, size_t(n) * 4);
    } else {
        for (int64_t k = 0; k < n; ++k) t.f[size_t(k)] = float(element(a, first + k));
    }
    for (int64_t k = 0; k < n; ++k)
        if (!std::isfinite(t.f[size_t(k)]))
            throw InputError(where + ": sample " + std::to_string(skip + k / std::max<int64_t>(per, 1)) + " holds a non-finite value (NaN or Inf) at flat index " +
                             std::to_string(first + k) + "; data must be finite numbers");
    return t;
}

std::vector<int> npy_labels(const NpyArray& a, int64_t skip, int64_t count, const std::string& where) {
    int64_t n = a.count();
    if (a.shape.size() == 2 && a.shape[1] == 1) n = a.shape[0];
    else if (a.shape.size() != 1) bad(where, "labels must be a 1-D array of class indices");
    if (skip + count > n)
        throw InputError(where + ": holds " + std::to_string(n) + " labels, fewer than the " + std::to_string(skip + count) +
                         " samples of the data; each sample needs a label");
    std::vector<int> out(static_cast<size_t>(count));
    for (int64_t k = 0; k < count; ++k) {
        const double v = element(a, skip + k);
        if (!(v >= 0) || v != std::floor(v) || v > 1e9)
            throw InputError(where + ": label " + std::to_string(skip + k) + " is " + std::to_string(v) +
                             "; labels must be non-negative integer class indices");
        out[size_t(k)] = int(v);
    }
    return out;
}

MappedFile::MappedFile(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw InputError(path + ": no such file");
    if (!std::filesystem::is_regular_file(path, ec)) throw InputError(path + ": not a regular file");
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw InputError(path + ": cannot open (" + std::strerror(errno) + ")");
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        ::close(fd);
        throw InputError(path + ": cannot read its size");
    }
    size_ = size_t(st.st_size);
    if (size_ > 0) {
        void* m = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            ::close(fd);
            throw InputError(path + ": cannot map the file (" + std::strerror(errno) + ")");
        }
        data_ = static_cast<const uint8_t*>(m);
    }
    ::close(fd);
}

MappedFile::~MappedFile() {
    if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

std::vector<int> read_label_file(const std::string& path, int64_t skip, int64_t count) {
    const MappedFile f(path);
    return npy_labels(parse_npy(f.data(), f.size(), path), skip, count, path);
}

namespace {

// The samples of a memory-mapped .npy, converted a batch at a time. Pages read are given back
// after each batch (they stay in the page cache), so a set larger than RAM is scored in the memory
// of a batch; a non-finite value is found when its batch is read.
class NpySource : public SampleSource {
public:
    explicit NpySource(const std::string& path) : file_(std::make_shared<MappedFile>(path)), where_(path) {
        array_ = parse_npy(file_->data(), file_->size(), path);
        npy_sample_size(array_, path);
    }
    Shape shape() const override { return Shape(array_.shape.begin(), array_.shape.end()); }
    Tensor read(int64_t begin, int64_t end) const override {
        Tensor t = npy_items(array_, begin, end, where_);
        const size_t sample_bytes = size_t(t.numel() / std::max<int64_t>(1, end - begin)) * array_.item_bytes;
        const uintptr_t page = uintptr_t(::sysconf(_SC_PAGESIZE));
        const uintptr_t from = (uintptr_t(array_.data) + size_t(begin) * sample_bytes + page - 1) / page * page;
        const uintptr_t to = (uintptr_t(array_.data) + size_t(end) * sample_bytes) / page * page;
        if (to > from) ::madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
        return t;
    }

private:
    std::shared_ptr<MappedFile> file_;
    NpyArray array_;
    std::string where_;
};

}  // namespace

Dataset read_npy(const std::string& path, const LoadOptions& options) {
    Dataset d;
    d.source = path;
    d.format = "npy";
    const SampleSet all(std::vector<std::shared_ptr<const SampleSource>>{std::make_shared<NpySource>(path)});
    const int64_t skip = std::min(options.skip, all.count());
    d.inputs = all.slice(skip, options.limit < 0 ? all.count() : std::min(all.count(), skip + options.limit));
    d.input_names = {""};
    if (!options.labels_path.empty()) d.labels = read_label_file(options.labels_path, skip, d.count());
    return d;
}

}  // namespace cim::data
