// The samples an accuracy run feeds a model: one source per graph input (in Graph::inputs
// order), each holding the items along its leading axis. A source is either a tensor in memory
// or a reader of a file (a memory-mapped .npy) that converts a batch at a time, so a set larger
// than RAM is scored without ever being held whole.
#pragma once

#include <cim/ir/tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cim {

// One input's items. read() may throw InputError (a file's value that is not finite).
class SampleSource {
public:
    virtual ~SampleSource() = default;
    virtual Shape shape() const = 0;                               // [items, ...sample], float
    virtual Tensor read(int64_t begin, int64_t end) const = 0;     // items [begin, end), float
};

class SampleSet {
public:
    SampleSet() = default;
    SampleSet(Tensor items);                      // NOLINT(google-explicit-constructor): one input in memory
    explicit SampleSet(std::vector<Tensor> items);  // one tensor per input, in memory
    explicit SampleSet(std::vector<std::shared_ptr<const SampleSource>> sources);

    int64_t count() const { return count_; }
    size_t input_count() const { return sources_.size(); }
    Shape sample_shape(size_t input = 0) const;
    // Items [begin, end) of every input (relative to this set).
    std::vector<Tensor> batch(int64_t begin, int64_t end) const;
    // Every item of one input in one tensor (for small sets: calibration, tests).
    Tensor tensor(size_t input = 0) const;
    std::vector<Tensor> tensors() const { return batch(0, count_); }
    // Items [begin, end) as a set of their own; shares the sources (no copy).
    SampleSet slice(int64_t begin, int64_t end) const;

private:
    std::vector<std::shared_ptr<const SampleSource>> sources_;
    int64_t offset_ = 0, count_ = 0;
};

}  // namespace cim
