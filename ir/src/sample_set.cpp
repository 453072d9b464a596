#include <cim/ir/sample_set.h>

#include <cim/error.h>
#include <cim/ir/batch.h>

namespace cim {

namespace {

class TensorSource : public SampleSource {
public:
    explicit TensorSource(Tensor t) : t_(std::move(t)) {
        if (t_.rank() < 1) throw InputError("a set of samples needs items along a leading axis, got a scalar");
    }
    Shape shape() const override { return t_.shape; }
    Tensor read(int64_t begin, int64_t end) const override {
        if (begin == 0 && end == t_.shape[0]) return t_;
        return batch_slice(t_, begin, end);
    }

private:
    Tensor t_;
};

std::vector<std::shared_ptr<const SampleSource>> in_memory(std::vector<Tensor> items) {
    std::vector<std::shared_ptr<const SampleSource>> out;
    for (Tensor& t : items) out.push_back(std::make_shared<TensorSource>(std::move(t)));
    return out;
}

}  // namespace

SampleSet::SampleSet(Tensor items) : SampleSet(in_memory([&] {
                                         std::vector<Tensor> v;
                                         v.push_back(std::move(items));
                                         return v;
                                     }())) {}

SampleSet::SampleSet(std::vector<Tensor> items) : SampleSet(in_memory(std::move(items))) {}

SampleSet::SampleSet(std::vector<std::shared_ptr<const SampleSource>> sources) : sources_(std::move(sources)) {
    for (size_t k = 0; k < sources_.size(); ++k) {
        const int64_t n = sources_[k]->shape().at(0);
        if (k > 0 && n != count_)
            throw InputError("the inputs of a set of samples hold different numbers of items: " + std::to_string(count_) + " for the first, " +
                             std::to_string(n) + " for input " + std::to_string(k));
        count_ = n;
    }
}

Shape SampleSet::sample_shape(size_t input) const {
    const Shape s = sources_.at(input)->shape();
    return Shape(s.begin() + 1, s.end());
}

std::vector<Tensor> SampleSet::batch(int64_t begin, int64_t end) const {
    CIM_INTERNAL_CHECK(begin >= 0 && begin <= end && end <= count_, "SampleSet::batch range");
    std::vector<Tensor> out;
    out.reserve(sources_.size());
    for (const auto& s : sources_) out.push_back(s->read(offset_ + begin, offset_ + end));
    return out;
}

Tensor SampleSet::tensor(size_t input) const {
    CIM_INTERNAL_CHECK(input < sources_.size(), "SampleSet::tensor input");
    return sources_[input]->read(offset_, offset_ + count_);
}

SampleSet SampleSet::slice(int64_t begin, int64_t end) const {
    CIM_INTERNAL_CHECK(begin >= 0 && begin <= end && end <= count_, "SampleSet::slice range");
    SampleSet s = *this;
    s.offset_ = offset_ + begin;
    s.count_ = end - begin;
    return s;
}

}  // namespace cim
