// NumPy .npy arrays (format versions 1-3), shared by the .npy and .npz readers and by --labels.
#pragma once

#include <cim/data/dataset.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cim::data {

enum class NpyType { f2, f4, f8, u1, i1, u2, i2, u4, i4, u8, i8, b1 };

struct NpyArray {
    NpyType type = NpyType::f4;
    size_t item_bytes = 4;
    std::vector<int64_t> shape;
    const uint8_t* data = nullptr;  // the array's bytes (C order, little-endian)
    int64_t count() const;          // elements
};

// Parses an .npy image held in [bytes, bytes + size): header, dtype, shape; checks that the data
// the header declares is present. `where` names the file (and member) for messages.
NpyArray parse_npy(const uint8_t* bytes, size_t size, const std::string& where);

// Samples [skip, skip + limit) along the first axis, converted to float; checks finiteness and
// that they fit the memory budget.
Tensor npy_samples(const NpyArray& a, int64_t skip, int64_t limit, const std::string& where);
// Samples [begin, end) (within the array), converted to float; checks finiteness.
Tensor npy_items(const NpyArray& a, int64_t begin, int64_t end, const std::string& where);
// Values per sample; an error for a scalar or samples of no values.
int64_t npy_sample_size(const NpyArray& a, const std::string& where);

// A 1-D integer (or integral float) array of class labels, entries [skip, skip + count).
std::vector<int> npy_labels(const NpyArray& a, int64_t skip, int64_t count, const std::string& where);

// A read-only mapping of a whole file, unmapped on scope exit.
class MappedFile {
public:
    explicit MappedFile(const std::string& path);
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    ~MappedFile();
    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }

private:
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

// Labels for a set of `count` samples starting at `skip` from --labels (an .npy file).
std::vector<int> read_label_file(const std::string& path, int64_t skip, int64_t count);

}  // namespace cim::data
