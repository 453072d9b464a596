// Data-movement and shape ops, reductions (ReduceX, ArgMax/ArgMin, CumSum), constants.
#include "int_arith.h"
#include "kernels.h"

#include <cim/memory_budget.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace cim::kern {

namespace {

// y[o] = x[sum_d offs[d][o_d]]; a negative table entry marks padding (pad_value).
void gather_copy(const Tensor& x, Tensor& y, const std::vector<std::vector<int64_t>>& offs, double pad_value = 0) {
    const size_t r = y.shape.size();
    const int64_t total = y.numel();
    if (total == 0) return;
    const bool fl = y.floating();
    if (r == 0) {
        if (fl) y.f[0] = x.f[0];
        else y.i[0] = x.i[0];
        return;
    }
    std::vector<int64_t> counter(r, 0);
    const std::vector<int64_t>& last = offs[r - 1];
    const int64_t inner = y.shape[r - 1];
    for (int64_t o = 0; o < total; o += inner) {
        int64_t base = 0;
        bool pad = false;
        for (size_t d = 0; d + 1 < r; ++d) {
            int64_t v = offs[d][size_t(counter[d])];
            if (v < 0) pad = true;
            base += v;
        }
        for (int64_t j = 0; j < inner; ++j) {
            const int64_t v = last[size_t(j)];
            const bool p = pad || v < 0;
            if (fl) y.f[size_t(o + j)] = p ? float(pad_value) : x.f[size_t(base + v)];
            else y.i[size_t(o + j)] = p ? int64_t(pad_value) : x.i[size_t(base + v)];
        }
        for (int d = int(r) - 2; d >= 0; --d) {
            if (++counter[size_t(d)] < y.shape[size_t(d)]) break;
            counter[size_t(d)] = 0;
        }
    }
}

std::vector<int64_t> strides_of(const Shape& s) {
    std::vector<int64_t> st(s.size(), 1);
    for (int d = int(s.size()) - 2; d >= 0; --d) st[size_t(d)] = st[size_t(d + 1)] * s[size_t(d + 1)];
    return st;
}

// Copies `count` elements between tensors of the same storage.
void copy_block(const Tensor& x, int64_t xoff, Tensor& y, int64_t yoff, int64_t count) {
    if (y.floating()) std::copy_n(x.f.begin() + xoff, count, y.f.begin() + yoff);
    else std::copy_n(x.i.begin() + xoff, count, y.i.begin() + yoff);
}

// Integer list from an input (run time) or nullopt when not known statically.
std::optional<std::vector<int64_t>> ints_of(std::span<const InValue> in, size_t k) {
    if (k >= in.size() || !in[k].present || !in[k].data) return std::nullopt;
    return in[k].data->to_ints();
}

}  // namespace

// ---------------- Reshape ----------------
static std::vector<OutInfo> infer_reshape(const Node& n, std::span<const InValue> in, int) {
    const InValue& x = in[0];
    auto target = ints_of(in, 1);
    if (!target) {
        if (in.size() > 1 && in[1].rank_known && in[1].shape.size() == 1 && in[1].shape[0] >= 0)
            return {OutInfo{x.type, Shape(size_t(in[1].shape[0]), -1)}};
        return {unknown_rank(x.type)};
    }
    if (!x.rank_known) return {OutInfo{x.type, Shape(target->size(), -1)}};
    const bool allowzero = n.attr_int("allowzero", 0);
    Shape out(target->size());
    int neg = -1;
    std::vector<bool> copied(x.shape.size(), false);
    for (size_t d = 0; d < out.size(); ++d) {
        int64_t v = (*target)[d];
        if (v == 0 && !allowzero) {
            if (d >= x.shape.size()) fail(n, "shape entry 0 at position " + std::to_string(d) + " has no input dim to copy");
            out[d] = x.shape[d];
            copied[d] = true;
        } else if (v == -1) {
            if (neg >= 0) fail(n, "shape has more than one -1");
            neg = int(d);
            out[d] = -1;
        } else if (v < -1) {
            fail(n, "invalid shape entry " + std::to_string(v));
        } else {
            out[d] = v;
        }
    }
    // The -1 entry (or a consistency check): divide the input's elements by the known output dims,
    // cancelling dims copied with 0, which may be unknown at import.
    int64_t num = 1, den = 1;
    bool num_known = true;
    for (size_t d = 0; d < x.shape.size(); ++d) {
        if (copied[d]) continue;
        if (x.shape[d] < 0) num_known = false;
        else if (!checked_mul(num, x.shape[d], &num)) fail(n, "input shape " + shape_str(x.shape) + " has more elements than 64-bit arithmetic can count");
    }
    for (size_t d = 0; d < out.size(); ++d)
        if (!(d < copied.size() && copied[d]) && int(d) != neg && !checked_mul(den, out[d], &den))
            fail(n, "target shape " + shape_str(*target) + " has more elements than 64-bit arithmetic can count");
    if (neg >= 0) {
        if (num_known) {
            if (den == 0 || num % den != 0) fail(n, "cannot reshape " + shape_str(x.shape) + " to " + shape_str(*target));
            out[size_t(neg)] = num / den;
        }
    } else if (num_known && num != den) {
        fail(n, "cannot reshape " + shape_str(x.shape) + " (" + std::to_string(shape_numel(x.shape)) + " elements) to " + shape_str(*target));
    }
    return {OutInfo{x.type, out}};
}

static void compute_copy(const Node&, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    if (out[0].floating()) out[0].f = in[0]->f;
    else out[0].i = in[0]->i;
}

// ---------------- Flatten ----------------
static std::vector<OutInfo> infer_flatten(const Node& n, std::span<const InValue> in, int) {
    const InValue& x = in[0];
    if (!x.rank_known) return {OutInfo{x.type, {-1, -1}}};
    const int64_t r = int64_t(x.shape.size());
    int64_t axis = n.attr_int("axis", 1);
    if (axis < 0) axis += r;
    if (axis < 0 || axis > r) fail(n, "axis out of range");
    Shape a(x.shape.begin(), x.shape.begin() + axis), b(x.shape.begin() + axis, x.shape.end());
    return {OutInfo{x.type, {shape_numel(a), shape_numel(b)}}};
}

// ---------------- Transpose ----------------
static std::vector<int64_t> perm_of(const Node& n, size_t r) {
    auto perm = n.attr_ints("perm");
    if (perm.empty()) {
        perm.resize(r);
        for (size_t d = 0; d < r; ++d) perm[d] = int64_t(r - 1 - d);
    }
    if (perm.size() != r) fail(n, "perm has " + std::to_string(perm.size()) + " entries for rank " + std::to_string(r));
    std::vector<bool> seen(r, false);
    for (int64_t& p : perm) {
        if (p < 0) p += int64_t(r);
        if (p < 0 || p >= int64_t(r) || seen[size_t(p)]) fail(n, "perm is not a permutation");
        seen[size_t(p)] = true;
    }
    return perm;
}
static std::vector<OutInfo> infer_transpose(const Node& n, std::span<const InValue> in, int) {
    const InValue& x = in[0];
    if (!x.rank_known) return {unknown_rank(x.type)};
    auto perm = perm_of(n, x.shape.size());
    Shape out(x.shape.size());
    for (size_t d = 0; d < out.size(); ++d) out[d] = x.shape[size_t(perm[d])];
    return {OutInfo{x.type, out}};
}
static void compute_transpose(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    const Tensor& x = *in[0];
    auto perm = perm_of(n, x.shape.size());
    auto st = strides_of(x.shape);
    std::vector<std::vector<int64_t>> offs(perm.size());
    for (size_t d = 0; d < perm.size(); ++d) {
        offs[d].resize(size_t(out[0].shape[d]));
        for (int64_t o = 0; o < out[0].shape[d]; ++o) offs[d][size_t(o)] = o * st[size_t(perm[d])];
    }
    gather_copy(x, out[0], offs);
}

// ---------------- Concat ----------------
static std::vector<OutInfo> infer_concat(const Node& n, std::span<const InValue> in, int) {
    std::vector<const InValue*> xs;
    for (const InValue& v : in)
        if (v.present) xs.push_back(&v);
    if (xs.empty()) fail(n, "needs at least one input");
    for (auto* v : xs)
        if (!v->rank_known) return {unknown_rank(xs[0]->type)};
    const size_t r = xs[0]->shape.size();
    const int64_t axis = norm_axis(n, n.attr_int("axis", 0), int64_t(r));
    Shape out = xs[0]->shape;
    out[size_t(axis)] = 0;
    for (auto* v : xs) {
        if (v->shape.size() != r) fail(n, "inputs have different ranks: " + shape_str(xs[0]->shape) + " and " + shape_str(v->shape));
        for (size_t d = 0; d < r; ++d) {
            if (int64_t(d) == axis) continue;
            if (out[d] < 0) out[d] = v->shape[d];
            else if (v->shape[d] >= 0 && v->shape[d] != out[d])
                fail(n, "inputs differ outside axis " + std::to_string(axis) + ": " + shape_str(xs[0]->shape) + " and " + shape_str(v->shape));
        }
        if (out[size_t(axis)] >= 0) out[size_t(axis)] = v->shape[size_t(axis)] < 0 ? -1 : out[size_t(axis)] + v->shape[size_t(axis)];
    }
    return {OutInfo{xs[0]->type, out}};
}
static void compute_concat(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    Tensor& y = out[0];
    const int64_t axis = norm_axis(n, n.attr_int("axis", 0), y.rank());
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= y.shape[size_t(d)];
    const int64_t yblock = y.numel() / std::max<int64_t>(outer, 1);
    int64_t off = 0;
    for (const Tensor* t : in) {
        if (!t) continue;
        const int64_t block = outer ? t->numel() / outer : 0;
        for (int64_t o = 0; o < outer; ++o) copy_block(*t, o * block, y, o * yblock + off, block);
        off += block;
    }
}

// ---------------- Split ----------------
static std::vector<int64_t> split_sizes(const Node& n, std::span<const InValue> in, int64_t dim, size_t outputs, int opset, bool& known) {
    known = true;
    std::vector<int64_t> sizes;
    if (opset < 13) sizes = n.attr_ints("split");
    else if (in.size() > 1 && in[1].present) {
        auto s = ints_of(in, 1);
        if (!s) {
            known = false;
            return std::vector<int64_t>(outputs, -1);
        }
        sizes = *s;
    }
    if (!sizes.empty()) {
        if (sizes.size() != outputs) fail(n, "split has " + std::to_string(sizes.size()) + " sizes for " + std::to_string(outputs) + " outputs");
        if (dim >= 0 && std::accumulate(sizes.begin(), sizes.end(), int64_t(0)) != dim)
            fail(n, "split sizes do not add up to the axis length " + std::to_string(dim));
        return sizes;
    }
    if (dim < 0) {
        known = false;
        return std::vector<int64_t>(outputs, -1);
    }
    const int64_t chunk = (dim + int64_t(outputs) - 1) / int64_t(outputs);  // num_outputs (opset 18) rounds up
    if (opset < 18 && dim % int64_t(outputs) != 0)
        fail(n, "axis length " + std::to_string(dim) + " does not divide into " + std::to_string(outputs) + " outputs");
    for (size_t k = 0; k < outputs; ++k) sizes.push_back(std::min(chunk, dim - chunk * int64_t(k)));
    return sizes;
}
static std::vector<OutInfo> infer_split(const Node& n, std::span<const InValue> in, int opset) {
    const InValue& x = in[0];
    const size_t outputs = n.outputs.size();
    if (!x.rank_known) return std::vector<OutInfo>(outputs, unknown_rank(x.type));
    const int64_t axis = norm_axis(n, n.attr_int("axis", 0), int64_t(x.shape.size()));
    bool known;
    auto sizes = split_sizes(n, in, x.shape[size_t(axis)], outputs, opset, known);
    std::vector<OutInfo> outs;
    for (size_t k = 0; k < outputs; ++k) {
        Shape s = x.shape;
        s[size_t(axis)] = sizes[k];
        outs.push_back(OutInfo{x.type, s});
    }
    return outs;
}
static void compute_split(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    const Tensor& x = *in[0];
    const int64_t axis = norm_axis(n, n.attr_int("axis", 0), x.rank());
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x.shape[size_t(d)];
    const int64_t xblock = outer ? x.numel() / outer : 0;
    int64_t off = 0;
    for (Tensor& y : out) {
        const int64_t block = outer ? y.numel() / outer : 0;
        for (int64_t o = 0; o < outer; ++o) copy_block(x, o * xblock + off, y, o * block, block);
        off += block;
    }
}

// ---------------- Slice ----------------
namespace {
struct SliceDim {
    int64_t start = 0, step = 1, len = 0;
};
// Returns per-dim start/step/len; nullopt when inputs are not known statically.
std::optional<std::vector<SliceDim>> slice_plan(const Node& n, const Shape& x, std::span<const InValue> in, int opset) {
    std::vector<int64_t> starts, ends, axes, steps;
    if (opset < 10) {
        starts = n.attr_ints("starts");
        ends = n.attr_ints("ends");
        axes = n.attr_ints("axes");
    } else {
        auto s = ints_of(in, 1), e = ints_of(in, 2);
        if (!s || !e) return std::nullopt;
        starts = *s;
        ends = *e;
        if (in.size() > 3 && in[3].present) {
            auto a = ints_of(in, 3);
            if (!a) return std::nullopt;
            axes = *a;
        }
        if (in.size() > 4 && in[4].present) {
            auto st = ints_of(in, 4);
            if (!st) return std::nullopt;
            steps = *st;
        }
    }
    if (starts.size() != ends.size()) fail(n, "starts and ends differ in length");
    if (axes.empty())
        for (size_t k = 0; k < starts.size(); ++k) axes.push_back(int64_t(k));
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (axes.size() != starts.size() || steps.size() != starts.size()) fail(n, "axes/steps differ in length from starts");
    std::vector<SliceDim> plan(x.size());
    for (size_t d = 0; d < x.size(); ++d) plan[d] = SliceDim{0, 1, x[d]};
    for (size_t k = 0; k < starts.size(); ++k) {
        const int64_t axis = norm_axis(n, axes[k], int64_t(x.size()));
        const int64_t dim = x[size_t(axis)];
        const int64_t step = steps[k];
        if (step == 0) fail(n, "step must not be 0");
        if (dim < 0) {
            plan[size_t(axis)] = SliceDim{0, step, -1};
            continue;
        }
        int64_t s = starts[k], e = ends[k];
        if (s < 0) s += dim;
        if (e < 0) e += dim;
        if (step > 0) {
            s = std::clamp<int64_t>(s, 0, dim);
            e = std::clamp<int64_t>(e, 0, dim);
        } else {
            s = std::clamp<int64_t>(s, 0, dim - 1);
            e = std::clamp<int64_t>(e, -1, dim - 1);
        }
        int64_t len = step > 0 ? (e - s + step - 1) / step : (s - e + (-step) - 1) / (-step);
        plan[size_t(axis)] = SliceDim{s, step, std::max<int64_t>(len, 0)};
    }
    return plan;
}
}  // namespace

static std::vector<OutInfo> infer_slice(const Node& n, std::span<const InValue> in, int opset) {
    const InValue& x = in[0];
    if (!x.rank_known) return {unknown_rank(x.type)};
    auto plan = slice_plan(n, x.shape, in, opset);
    if (!plan) return {OutInfo{x.type, Shape(x.shape.size(), -1)}};
    Shape out;
    for (auto& p : *plan) out.push_back(p.len);
    return {OutInfo{x.type, out}};
}
static void compute_slice(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int opset) {
    const Tensor& x = *in[0];
    auto vals = as_values(in);
    auto plan = *slice_plan(n, x.shape, vals, opset);
    auto st = strides_of(x.shape);
    std::vector<std::vector<int64_t>> offs(plan.size());
    for (size_t d = 0; d < plan.size(); ++d)
        for (int64_t o = 0; o < plan[d].len; ++o) offs[d].push_back((plan[d].start + o * plan[d].step) * st[d]);
    gather_copy(x, out[0], offs);
}

// ---------------- Gather ----------------
static std::vector<OutInfo> infer_gather(const Node& n, std::span<const InValue> in, int) {
    const InValue &x = in[0], &idx = in[1];
    if (!x.rank_known || !idx.rank_known) return {unknown_rank(x.type)};
    const int64_t axis = norm_axis(n, n.attr_int("axis", 0), int64_t(x.shape.size()));
    Shape out(x.shape.begin(), x.shape.begin() + axis);
    out.insert(out.end(), idx.shape.begin(), idx.shape.end());
    out.insert(out.end(), x.shape.begin() + axis + 1, x.shape.end());
    return {OutInfo{x.type, out}};
}
static void compute_gather(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    const Tensor &x = *in[0], &idx = *in[1];
    Tensor& y = out[0];
    const int64_t axis = norm_axis(n, n.attr_int("axis", 0), x.rank());
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x.shape[size_t(d)];
    for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.shape[size_t(d)];
    const int64_t dim = x.shape[size_t(axis)], ni = idx.numel();
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t k = 0; k < ni; ++k) {
            int64_t j = idx.get_int(k);
            if (j < 0) j += dim;
            if (j < 0 || j >= dim) fail(n, "index " + std::to_string(idx.get_int(k)) + " out of range for axis length " + std::to_string(dim));
            copy_block(x, (o * dim + j) * inner, y, (o * ni + k) * inner, inner);
        }
}

// ---------------- GatherElements ----------------
static std::vector<OutInfo> infer_gather_elements(const Node& n, std::span<const InValue> in, int) {
    const InValue &x = in[0], &idx = in[1];
    if (x.rank_known && idx.rank_known) {
        const int64_t r = int64_t(x.shape.size());
        if (int64_t(idx.shape.size()) != r) fail(n, "indices " + shape_str(idx.shape) + " must have the rank of data " + shape_str(x.shape));
        const int64_t axis = norm_axis(n, n.attr_int("axis", 0), r);
        for (int64_t d = 0; d < r; ++d)
            if (d != axis && x.shape[size_t(d)] >= 0 && idx.shape[size_t(d)] > x.shape[size_t(d)])
                fail(n, "indices " + shape_str(idx.shape) + " exceed data " + shape_str(x.shape) + " outside axis " + std::to_string(axis));
    }
    return {OutInfo{x.type, idx.shape, idx.rank_known}};
}
static void compute_gather_elements(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    const Tensor &x = *in[0], &idx = *in[1];
    Tensor& y = out[0];
    const size_t r = size_t(x.rank());
    const size_t axis = size_t(norm_axis(n, n.attr_int("axis", 0), int64_t(r)));
    const auto xst = strides_of(x.shape);
    const int64_t dim = r ? x.shape[axis] : 1, total = idx.numel();
    std::vector<int64_t> counter(r, 0);
    for (int64_t k = 0; k < total; ++k) {
        int64_t j = idx.get_int(k);
        if (j < 0) j += dim;
        if (j < 0 || j >= dim) fail(n, "index " + std::to_string(idx.get_int(k)) + " out of range for axis length " + std::to_string(dim));
        int64_t off = 0;
        for (size_t d = 0; d < r; ++d) off += (d == axis ? j : counter[d]) * xst[d];
        if (y.floating()) y.f[size_t(k)] = x.f[size_t(off)];
        else y.i[size_t(k)] = x.i[size_t(off)];
        for (int d = int(r) - 1; d >= 0; --d) {
            if (++counter[size_t(d)] < idx.shape[size_t(d)]) break;
            counter[size_t(d)] = 0;
        }
    }
}

// ---------------- Squeeze / Unsqueeze ----------------
static std::optional<std::vector<int64_t>> axes_of(const Node& n, std::span<const InValue> in, int opset, int input_since) {
    if (opset < input_since) return n.attr_ints("axes");
    if (in.size() > 1 && in[1].present) return ints_of(in, 1);
    return std::vector<int64_t>{};
}
static std::vector<OutInfo> infer_squeeze(const Node& n, std::span<const InValue> in, int opset) {
    const InValue& x = in[0];
    auto axes = axes_of(n, in, opset, 13);
    if (!x.rank_known || !axes) return {unknown_rank(x.type)};
    const int64_t r = int64_t(x.shape.size());
    std::vector<bool> drop(size_t(r), false);
    if (axes->empty()) {
        for (int64_t d = 0; d < r; ++d) {
            if (x.shape[size_t(d)] < 0) return {unknown_rank(x.type)};
            drop[size_t(d)] = x.shape[size_t(d)] == 1;
        }
    } else {
        for (int64_t a : *axes) {
            a = norm_axis(n, a, r);
            if (x.shape[size_t(a)] > 1) fail(n, "cannot squeeze axis " + std::to_string(a) + " of " + shape_str(x.shape));
            drop[size_t(a)] = true;
        }
    }
    Shape out;
    for (int64_t d = 0; d < r; ++d)
        if (!drop[size_t(d)]) out.push_back(x.shape[size_t(d)]);
    return {OutInfo{x.type, out}};
}
static std::vector<OutInfo> infer_unsqueeze(const Node& n, std::span<const InValue> in, int opset) {
    const InValue& x = in[0];
    auto axes = axes_of(n, in, opset, 13);
    if (!x.rank_known || !axes) return {unknown_rank(x.type)};
    const int64_t r = int64_t(x.shape.size() + axes->size());
    std::vector<bool> ins(size_t(r), false);
    for (int64_t a : *axes) {
        a = norm_axis(n, a, r);
        if (ins[size_t(a)]) fail(n, "axes has a duplicate");
        ins[size_t(a)] = true;
    }
    Shape out;
    size_t k = 0;
    for (int64_t d = 0; d < r; ++d) out.push_back(ins[size_t(d)] ? 1 : x.shape[k++]);
    return {OutInfo{x.type, out}};
}

// ---------------- Shape ----------------
static std::vector<OutInfo> infer_shape_op(const Node& n, std::span<const InValue> in, int) {
    const InValue& x = in[0];
    if (!x.rank_known) return {OutInfo{ElemType::Int64, {-1}}};
    const int64_t r = int64_t(x.shape.size());
    int64_t s = n.attr_int("start", 0), e = n.attr_int("end", r);
    if (s < 0) s += r;
    if (e < 0) e += r;
    s = std::clamp<int64_t>(s, 0, r);
    e = std::clamp<int64_t>(e, 0, r);
    return {OutInfo{ElemType::Int64, {std::max<int64_t>(e - s, 0)}}};
}
static void compute_shape_op(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    const int64_t r = in[0]->rank();
    int64_t s = n.attr_int("start", 0), e = n.attr_int("end", r);
    if (s < 0) s += r;
    if (e < 0) e += r;
    s = std::clamp<int64_t>(s, 0, r);
    for (int64_t d = s; d < s + int64_t(out[0].i.size()); ++d) out[0].i[size_t(d - s)] = in[0]->shape[size_t(d)];
}

// ---------------- Size ----------------
static std::vector<OutInfo> infer_size(const Node&, std::span<const InValue>, int) { return {OutInfo{ElemType::Int64, {}}}; }
static void compute_size(const Node&, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    out[0].i[0] = in[0]->numel();
}

// ---------------- DepthToSpace / SpaceToDepth ----------------
// Both are a reshape to 6-D, a transpose and a reshape back: the output, seen as 6-D, reads
// the input with one stride per dim, which gather_copy does.
static std::string check_depth_to_space(const Node& n, int) {
    if (n.op != OpKind::DepthToSpace) return "";
    const std::string mode = n.attr_string("mode", "DCR");
    if (mode != "DCR" && mode != "CRD") return "DepthToSpace mode '" + mode + "' is not supported";
    return "";
}
static int64_t blocksize_of(const Node& n) {
    const int64_t b = n.attr_int("blocksize", 0);
    if (b < 1) fail(n, "needs a positive blocksize attribute");
    return b;
}
static std::vector<OutInfo> infer_depth_to_space(const Node& n, std::span<const InValue> in, int) {
    const InValue& x = in[0];
    const int64_t b = blocksize_of(n);
    if (!x.rank_known) return {OutInfo{x.type, Shape(4, -1)}};
    if (x.shape.size() != 4) fail(n, "input must be 4-D [N, C, H, W], got " + shape_str(x.shape));
    const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
    auto mul = [](int64_t d, int64_t f) { return d < 0 ? -1 : d * f; };
    auto div = [&](int64_t d, int64_t f, const char* what) {
        if (d < 0) return int64_t(-1);
        if (d % f != 0) fail(n, std::string(what) + " " + std::to_string(d) + " is not divisible by " + std::to_string(f));
        return d / f;
    };
    if (n.op == OpKind::DepthToSpace) return {OutInfo{x.type, {N, div(C, b * b, "channel count"), mul(H, b), mul(W, b)}}};
    return {OutInfo{x.type, {N, mul(C, b * b), div(H, b, "height"), div(W, b, "width")}}};
}
static void compute_depth_to_space(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    const Tensor& x = *in[0];
    Tensor& y = out[0];
    const int64_t b = blocksize_of(n);
    const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3], HW = H * W;
    Shape view;
    std::vector<int64_t> strides;
    if (n.op == OpKind::DepthToSpace) {
        const int64_t Cy = C / (b * b);
        view = {N, Cy, H, b, W, b};  // y[n, c, h, bh, w, bw] = y[n, c, h*b + bh, w*b + bw]
        if (n.attr_string("mode", "DCR") == "DCR") strides = {C * HW, HW, W, b * Cy * HW, 1, Cy * HW};  // x channel (bh*b + bw)*Cy + c
        else strides = {C * HW, b * b * HW, W, b * HW, 1, HW};                                        // x channel c*b*b + bh*b + bw
    } else {
        view = {N, b, b, C, H / b, W / b};  // y channel (bh*b + bw)*C + c reads x[n, c, h*b + bh, w*b + bw]
        strides = {C * HW, W, 1, HW, b * W, b};
    }
    std::vector<std::vector<int64_t>> offs(6);
    for (size_t d = 0; d < 6; ++d)
        for (int64_t o = 0; o < view[d]; ++o) offs[d].push_back(o * strides[d]);
    const Shape real = y.shape;
    y.shape = view;
    gather_copy(x, y, offs);
    y.shape = real;
}

// ---------------- Expand / Tile ----------------
static std::vector<OutInfo> infer_expand(const Node& n, std::span<const InValue> in, int) {
    const InValue& x = in[0];
    auto target = ints_of(in, 1);
    if (!target || !x.rank_known) {
        if (in[1].rank_known && in[1].shape.size() == 1 && in[1].shape[0] >= 0 && x.rank_known)
            return {OutInfo{x.type, Shape(std::max<size_t>(size_t(in[1].shape[0]), x.shape.size()), -1)}};
        return {unknown_rank(x.type)};
    }
    return {OutInfo{x.type, broadcast(n, x.shape, *target)}};
}
static void compute_broadcast_copy(const Node&, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    const Tensor& x = *in[0];
    Tensor& y = out[0];
    const size_t r = y.shape.size(), lead = r - x.shape.size();
    auto st = strides_of(x.shape);
    std::vector<std::vector<int64_t>> offs(r);
    for (size_t d = 0; d < r; ++d) {
        offs[d].resize(size_t(y.shape[d]));
        for (int64_t o = 0; o < y.shape[d]; ++o) {
            if (d < lead) offs[d][size_t(o)] = 0;
            else {
                int64_t xd = x.shape[d - lead];
                offs[d][size_t(o)] = (xd == 1 ? 0 : o % xd) * st[d - lead];  // Tile wraps with %; Expand has o < xd
            }
        }
    }
    gather_copy(x, y, offs);
}
static std::vector<OutInfo> infer_tile(const Node& n, std::span<const InValue> in, int) {
    const InValue& x = in[0];
    auto reps = ints_of(in, 1);
    if (!x.rank_known) return {unknown_rank(x.type)};
    if (!reps) return {OutInfo{x.type, Shape(x.shape.size(), -1)}};
    if (reps->size() != x.shape.size()) fail(n, "repeats must have one entry per input dimension");
    Shape out(x.shape.size());
    for (size_t d = 0; d < out.size(); ++d) out[d] = x.shape[d] < 0 ? -1 : x.shape[d] * (*reps)[d];
    return {OutInfo{x.type, out}};
}

// ---------------- Pad ----------------
namespace {
struct PadPlan {
    std::vector<int64_t> pads;  // begins then ends, per dim
    double value = 0;
};
std::optional<PadPlan> pad_plan(const Node& n, const Shape& x, std::span<const InValue> in, int opset) {
    PadPlan p;
    const size_t r = x.size();
    std::vector<int64_t> pads, axes;
    if (opset < 11) {
        pads = n.attr_ints("pads");
        p.value = n.attr_float("value", 0.0f);
    } else {
        auto pv = ints_of(in, 1);
        if (!pv) return std::nullopt;
        pads = *pv;
        if (in.size() > 2 && in[2].present) {
            if (!in[2].data) return std::nullopt;
            if (in[2].data->numel() > 0) p.value = in[2].data->get(0);
        }
        if (in.size() > 3 && in[3].present) {
            auto av = ints_of(in, 3);
            if (!av) return std::nullopt;
            axes = *av;
        }
    }
    if (axes.empty())
        for (size_t d = 0; d < r; ++d) axes.push_back(int64_t(d));
    if (pads.size() != 2 * axes.size()) fail(n, "pads has " + std::to_string(pads.size()) + " entries, expected " + std::to_string(2 * axes.size()));
    p.pads.assign(2 * r, 0);
    for (size_t k = 0; k < axes.size(); ++k) {
        int64_t a = norm_axis(n, axes[k], int64_t(r));
        p.pads[size_t(a)] = pads[k];
        p.pads[size_t(a) + r] = pads[k + axes.size()];
    }
    return p;
}
}  // namespace

static std::string check_pad(const Node& n, int) {
    const std::string mode = n.attr_string("mode", "constant");
    if (mode != "constant" && mode != "reflect" && mode != "edge") return "Pad mode '" + mode + "' is not supported";
    return "";
}
static std::vector<OutInfo> infer_pad(const Node& n, std::span<const InValue> in, int opset) {
    const InValue& x = in[0];
    if (!x.rank_known) return {unknown_rank(x.type)};
    auto p = pad_plan(n, x.shape, in, opset);
    if (!p) return {OutInfo{x.type, Shape(x.shape.size(), -1)}};
    const size_t r = x.shape.size();
    Shape out(r);
    for (size_t d = 0; d < r; ++d) {
        out[d] = x.shape[d] < 0 ? -1 : x.shape[d] + p->pads[d] + p->pads[d + r];
        if (out[d] < -1 || (x.shape[d] >= 0 && out[d] < 0)) fail(n, "negative pads remove more than the input holds");
    }
    return {OutInfo{x.type, out}};
}
static void compute_pad(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int opset) {
    const Tensor& x = *in[0];
    auto vals = as_values(in);
    PadPlan p = *pad_plan(n, x.shape, vals, opset);
    const std::string mode = n.attr_string("mode", "constant");
    const size_t r = x.shape.size();
    auto st = strides_of(x.shape);
    std::vector<std::vector<int64_t>> offs(r);
    for (size_t d = 0; d < r; ++d) {
        const int64_t len = x.shape[d];
        for (int64_t o = 0; o < out[0].shape[d]; ++o) {
            int64_t s = o - p.pads[d];
            if (s < 0 || s >= len) {
                if (mode == "constant") s = -1;
                else if (mode == "edge") s = std::clamp<int64_t>(s, 0, len - 1);
                else {  // reflect, without repeating the edge
                    if (len == 1) s = 0;
                    else {
                        const int64_t period = 2 * (len - 1);
                        s = ((s % period) + period) % period;
                        if (s >= len) s = period - s;
                    }
                }
            }
            offs[d].push_back(s < 0 ? -(int64_t(1) << 60) : s * st[d]);
        }
    }
    gather_copy(x, out[0], offs, p.value);
}

// ---------------- Reductions ----------------
static std::optional<std::vector<int64_t>> reduce_axes(const Node& n, std::span<const InValue> in, int opset) {
    const int input_since = n.op == OpKind::ReduceSum ? 13 : 18;
    return axes_of(n, in, opset, input_since);
}
static std::vector<bool> reduce_mask(const Node& n, const std::vector<int64_t>& axes, size_t r, bool& noop) {
    noop = false;
    std::vector<bool> mask(r, axes.empty());
    if (axes.empty() && n.attr_int("noop_with_empty_axes", 0)) {
        noop = true;
        mask.assign(r, false);
    }
    for (int64_t a : axes) mask[size_t(norm_axis(n, a, int64_t(r)))] = true;
    return mask;
}
static std::vector<OutInfo> infer_reduce(const Node& n, std::span<const InValue> in, int opset) {
    const InValue& x = in[0];
    auto axes = reduce_axes(n, in, opset);
    if (!x.rank_known || !axes) return {unknown_rank(x.type)};
    bool noop;
    auto mask = reduce_mask(n, *axes, x.shape.size(), noop);
    const bool keep = n.attr_int("keepdims", 1);
    Shape out;
    for (size_t d = 0; d < x.shape.size(); ++d) {
        if (!mask[d]) out.push_back(x.shape[d]);
        else if (keep) out.push_back(1);
    }
    return {OutInfo{x.type, out}};
}
namespace {
// Calls f(output index, input index) for every input element; mask marks the reduced dims.
template <class F>
void reduce_visit(const Shape& xs, const std::vector<bool>& mask, F&& f) {
    const size_t r = xs.size();
    Shape kept;  // output strides laid over the input's dims (0 on reduced dims)
    for (size_t d = 0; d < r; ++d) kept.push_back(mask[d] ? 1 : xs[d]);
    auto kst = strides_of(kept);
    for (size_t d = 0; d < r; ++d)
        if (mask[d]) kst[d] = 0;
    const int64_t total = shape_numel(xs);
    std::vector<int64_t> counter(r, 0);
    for (int64_t k = 0; k < total; ++k) {
        int64_t o = 0;
        for (size_t d = 0; d < r; ++d) o += counter[d] * kst[d];
        f(o, k);
        for (int d = int(r) - 1; d >= 0; --d) {
            if (++counter[size_t(d)] < xs[size_t(d)]) break;
            counter[size_t(d)] = 0;
        }
    }
}

// The range of an integer element type: what ReduceMax / ReduceMin give over no elements.
std::pair<int64_t, int64_t> int_range(ElemType t) {
    switch (t) {
        case ElemType::Bool: return {0, 1};
        case ElemType::UInt8: return {0, std::numeric_limits<uint8_t>::max()};
        case ElemType::Int8: return {std::numeric_limits<int8_t>::min(), std::numeric_limits<int8_t>::max()};
        case ElemType::UInt16: return {0, std::numeric_limits<uint16_t>::max()};
        case ElemType::Int16: return {std::numeric_limits<int16_t>::min(), std::numeric_limits<int16_t>::max()};
        case ElemType::Int32: return {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()};
        case ElemType::UInt32: return {0, std::numeric_limits<uint32_t>::max()};
        case ElemType::UInt64: return {0, -1};  // the bit pattern of 2^64 - 1
        default: return {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()};
    }
}
}  // namespace

static void compute_reduce(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int opset) {
    const Tensor& x = *in[0];
    Tensor& y = out[0];
    auto vals = as_values(in);
    bool noop;
    // With noop_with_empty_axes every element is reduced alone, so e.g. ReduceSumSquare still squares
    // (as ONNX's reference does).
    auto mask = reduce_mask(n, *reduce_axes(n, vals, opset), x.shape.size(), noop);
    const OpKind op = n.op;
    const size_t ny = size_t(y.numel());
    int64_t count = 1;
    for (size_t d = 0; d < x.shape.size(); ++d)
        if (mask[d]) count *= x.shape[d];
    if (!x.floating() && op != OpKind::ReduceL2 && op != OpKind::ReduceLogSum && op != OpKind::ReduceLogSumExp) {
        // Integers accumulate in int64: exact where a double would round above 2^53.
        const ElemType t = x.type;
        const auto [lo, hi] = int_range(t);
        int64_t init = op == OpKind::ReduceMax ? lo : op == OpKind::ReduceMin ? hi : op == OpKind::ReduceProd ? 1 : 0;
        std::vector<int64_t> acc(ny, init);
        auto visit = [&](auto fn) { reduce_visit(x.shape, mask, [&](int64_t o, int64_t k) { fn(acc[size_t(o)], x.i[size_t(k)]); }); };
        switch (op) {
            case OpKind::ReduceMax: visit([&](int64_t& a, int64_t v) { if (order_key(v, t) > order_key(a, t)) a = v; }); break;
            case OpKind::ReduceMin: visit([&](int64_t& a, int64_t v) { if (order_key(v, t) < order_key(a, t)) a = v; }); break;
            case OpKind::ReduceProd: visit([](int64_t& a, int64_t v) { a = wrap_mul(a, v); }); break;
            case OpKind::ReduceL1: visit([](int64_t& a, int64_t v) { a = wrap_add(a, wrap_abs(v)); }); break;
            case OpKind::ReduceSumSquare: visit([](int64_t& a, int64_t v) { a = wrap_add(a, wrap_mul(v, v)); }); break;
            default: visit([](int64_t& a, int64_t v) { a = wrap_add(a, v); }); break;  // ReduceSum, ReduceMean
        }
        for (size_t o = 0; o < ny; ++o) y.i[o] = op == OpKind::ReduceMean ? acc[o] / std::max<int64_t>(count, 1) : acc[o];
        return;
    }
    const double inf = std::numeric_limits<double>::infinity();
    double init = op == OpKind::ReduceMax ? -inf : op == OpKind::ReduceMin ? inf : op == OpKind::ReduceProd ? 1.0 : 0.0;
    std::vector<double> acc(ny, init), shift;
    auto visit = [&](std::vector<double>& into, auto fn) {
        reduce_visit(x.shape, mask, [&](int64_t o, int64_t k) { fn(into[size_t(o)], x.get(k), o); });
    };
    // NaN propagates through Max and Min, as numpy's max/min (ONNX's reference).
    auto max_fn = [](double& a, double v, int64_t) { if (v > a || std::isnan(v)) a = v; };
    switch (op) {
        case OpKind::ReduceMax: visit(acc, max_fn); break;
        case OpKind::ReduceMin: visit(acc, [](double& a, double v, int64_t) { if (v < a || std::isnan(v)) a = v; }); break;
        case OpKind::ReduceProd: visit(acc, [](double& a, double v, int64_t) { a *= v; }); break;
        case OpKind::ReduceL1: visit(acc, [](double& a, double v, int64_t) { a += std::fabs(v); }); break;
        case OpKind::ReduceL2:
        case OpKind::ReduceSumSquare: visit(acc, [](double& a, double v, int64_t) { a += v * v; }); break;
        case OpKind::ReduceLogSumExp:
            // log(sum(exp(v - max))) + max, so large inputs do not overflow.
            shift.assign(ny, -inf);
            visit(shift, max_fn);
            visit(acc, [&](double& a, double v, int64_t o) { a += std::exp(v - shift[size_t(o)]); });
            break;
        default: visit(acc, [](double& a, double v, int64_t) { a += v; }); break;  // ReduceSum, ReduceMean, ReduceLogSum
    }
    for (size_t o = 0; o < ny; ++o) {
        double v = acc[o];
        switch (op) {
            case OpKind::ReduceMean: v /= double(std::max<int64_t>(count, 1)); break;
            case OpKind::ReduceL2: v = std::sqrt(v); break;
            case OpKind::ReduceLogSum: v = std::log(v); break;
            case OpKind::ReduceLogSumExp: v = std::isfinite(shift[o]) ? std::log(v) + shift[o] : shift[o]; break;
            default: break;
        }
        if (y.floating()) y.f[o] = float(v);
        else y.i[o] = std::isfinite(v) ? saturating_int64(v) : 0;
    }
}

// ---------------- ArgMax / ArgMin ----------------
static std::vector<OutInfo> infer_argextreme(const Node& n, std::span<const InValue> in, int) {
    const InValue& x = in[0];
    if (!x.rank_known) return {unknown_rank(ElemType::Int64)};
    if (x.shape.empty()) fail(n, "needs an input of rank >= 1");
    const size_t axis = size_t(norm_axis(n, n.attr_int("axis", 0), int64_t(x.shape.size())));
    if (x.shape[axis] == 0) fail(n, "axis " + std::to_string(axis) + " of " + shape_str(x.shape) + " is empty");
    Shape out = x.shape;
    if (n.attr_int("keepdims", 1)) out[axis] = 1;
    else out.erase(out.begin() + int64_t(axis));
    return {OutInfo{ElemType::Int64, out}};
}
static void compute_argextreme(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    const Tensor& x = *in[0];
    Tensor& y = out[0];
    const int64_t axis = norm_axis(n, n.attr_int("axis", 0), x.rank());
    const bool is_max = n.op == OpKind::ArgMax, last = n.attr_int("select_last_index", 0) != 0;
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x.shape[size_t(d)];
    for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.shape[size_t(d)];
    const int64_t len = x.shape[size_t(axis)];
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
            const size_t base = size_t(o * len * inner + i);
            y.i[size_t(o * inner + i)] =
                x.floating() ? arg_extreme(len, is_max, last, [&](int64_t k) { return x.f[base + size_t(k * inner)]; })
                             : arg_extreme(len, is_max, last, [&](int64_t k) { return order_key(x.i[base + size_t(k * inner)], x.type); });
        }
}

// ---------------- CumSum ----------------
static std::vector<OutInfo> infer_cumsum(const Node& n, std::span<const InValue> in, int) {
    if (in.size() < 2 || !in[0].present || !in[1].present) fail(n, "needs inputs x and axis");
    if (in[1].rank_known && shape_numel(in[1].shape) > 1) fail(n, "axis must hold one value, got shape " + shape_str(in[1].shape));
    if (in[1].type != ElemType::Undefined && in[1].type != ElemType::Int32 && in[1].type != ElemType::Int64)
        fail(n, "axis must be int32 or int64, got " + elem_type_name(in[1].type));
    return {OutInfo{in[0].type, in[0].shape, in[0].rank_known}};
}
static void compute_cumsum(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    const Tensor& x = *in[0];
    Tensor& y = out[0];
    if (in[1]->numel() != 1) fail(n, "axis must hold one value");
    const int64_t axis = norm_axis(n, in[1]->get_int(0), x.rank());
    const bool exclusive = n.attr_int("exclusive", 0) != 0, reverse = n.attr_int("reverse", 0) != 0;
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x.shape[size_t(d)];
    for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.shape[size_t(d)];
    const int64_t len = x.rank() ? x.shape[size_t(axis)] : 1;
    auto scan = [&](auto& acc, auto read, auto write) {
        for (int64_t o = 0; o < outer; ++o)
            for (int64_t i = 0; i < inner; ++i) {
                acc = 0;
                for (int64_t j = 0; j < len; ++j) {
                    const size_t k = size_t((o * len + (reverse ? len - 1 - j : j)) * inner + i);
                    if (exclusive) {
                        write(k, acc);
                        acc += read(k);
                    } else {
                        acc += read(k);
                        write(k, acc);
                    }
                }
            }
    };
    if (x.floating()) {
        double acc;
        scan(acc, [&](size_t k) { return double(x.f[k]); }, [&](size_t k, double v) { y.f[k] = float(v); });
    } else {
        uint64_t acc;  // unsigned: sums wrap around as two's complement (int_arith.h)
        scan(acc, [&](size_t k) { return uint64_t(x.i[k]); }, [&](size_t k, uint64_t v) { y.i[k] = int64_t(v); });
    }
}

// ---------------- constants ----------------
static Tensor constant_value(const Node& n) {
    if (const Tensor* t = n.attr_tensor("value")) return *t;
    if (n.has("value_float")) return Tensor::scalar_f(n.attr_float("value_float", 0));
    if (n.has("value_floats")) {
        auto v = n.attr_floats("value_floats");
        Tensor t(ElemType::Float, {int64_t(v.size())});
        t.f = v;
        return t;
    }
    if (n.has("value_int")) {
        Tensor t(ElemType::Int64, {});
        t.i[0] = n.attr_int("value_int", 0);
        return t;
    }
    if (n.has("value_ints")) return Tensor::ints(n.attr_ints("value_ints"));
    fail(n, "has no supported value attribute (value, value_float(s), value_int(s))");
}
static std::string check_constant(const Node& n, int) {
    if (n.has("sparse_value")) return "Constant with sparse_value is not supported";
    if (n.has("value_string") || n.has("value_strings")) return "Constant with string values is not supported";
    return "";
}
static std::vector<OutInfo> infer_constant(const Node& n, std::span<const InValue>, int) {
    Tensor t = constant_value(n);
    return {OutInfo{t.type, t.shape}};
}
static void compute_constant(const Node& n, std::span<const Tensor* const>, std::span<Tensor> out, int) {
    out[0] = constant_value(n);
}

static std::vector<OutInfo> infer_constant_of_shape(const Node& n, std::span<const InValue> in, int) {
    const Tensor* v = n.attr_tensor("value");
    ElemType t = v ? v->type : ElemType::Float;
    auto s = ints_of(in, 0);
    if (!s) {
        if (in[0].rank_known && in[0].shape.size() == 1 && in[0].shape[0] >= 0) return {OutInfo{t, Shape(size_t(in[0].shape[0]), -1)}};
        return {unknown_rank(t)};
    }
    for (int64_t d : *s)
        if (d < 0) fail(n, "negative dimension in shape");
    return {OutInfo{t, *s}};
}
static void compute_constant_of_shape(const Node& n, std::span<const Tensor* const>, std::span<Tensor> out, int) {
    const Tensor* v = n.attr_tensor("value");
    if (out[0].floating()) std::fill(out[0].f.begin(), out[0].f.end(), v ? float(v->get(0)) : 0.0f);
    else std::fill(out[0].i.begin(), out[0].i.end(), v ? v->get_int(0) : 0);
}

static std::vector<OutInfo> infer_range(const Node& n, std::span<const InValue> in, int) {
    ElemType t = in[0].type;
    if (!in[0].data || !in[1].data || !in[2].data) return {OutInfo{t, {-1}}};
    double start = in[0].data->get(0), limit = in[1].data->get(0), delta = in[2].data->get(0);
    if (delta == 0) fail(n, "delta must not be 0");
    int64_t count = std::max<int64_t>(int64_of(std::ceil((limit - start) / delta)), 0);
    return {OutInfo{t, {count}}};
}
static void compute_range(const Node&, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    double start = in[0]->get(0), delta = in[2]->get(0);
    for (int64_t k = 0; k < out[0].numel(); ++k) {
        if (out[0].floating()) out[0].f[size_t(k)] = float(start + double(k) * delta);
        else out[0].i[size_t(k)] = int64_t(start) + k * int64_t(delta);
    }
}

// ---------------- Dropout (inference: identity, mask all true) ----------------
static std::vector<OutInfo> infer_dropout(const Node& n, std::span<const InValue> in, int) {
    if (in.size() > 2 && in[2].present) {
        if (!in[2].data) unsupported(n, "Dropout with a run-time training_mode input");
        if (in[2].data->numel() > 0 && in[2].data->get_int(0) != 0) unsupported(n, "Dropout in training mode");
    }
    std::vector<OutInfo> outs{OutInfo{in[0].type, in[0].shape, in[0].rank_known}};
    if (n.outputs.size() > 1) outs.push_back(OutInfo{ElemType::Bool, in[0].shape, in[0].rank_known});
    return outs;
}
static std::string check_dropout(const Node& n, int) {
    if (n.attr_int("is_test", 1) == 0) return "Dropout in training mode is not supported";
    return "";
}
static void compute_dropout(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    if (in.size() > 2 && in[2] && in[2]->get_int(0) != 0) fail(n, "training_mode=true is not supported");
    compute_copy(n, in, out, 0);
    if (out.size() > 1) std::fill(out[1].i.begin(), out[1].i.end(), 1);
}

// ---------------- Trilu, EyeLike: the triangle or a diagonal of the last two dims ----------------
// Trilu keeps element (i, j) when j - i >= k (upper) or j - i <= k (lower); k is the optional second input.
static std::vector<OutInfo> infer_trilu(const Node& n, std::span<const InValue> in, int) {
    if (in.empty() || !in[0].present) fail(n, "needs an input");
    if (in[0].rank_known && in[0].shape.size() < 2) fail(n, "needs an input of rank 2 or more, got " + shape_str(in[0].shape));
    return {OutInfo{in[0].type, in[0].shape, in[0].rank_known}};
}
static void compute_trilu(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    const Tensor& x = *in[0];
    Tensor& y = out[0];
    const int64_t k = in.size() > 1 && in[1] ? in[1]->get_int(0) : 0;
    const bool upper = n.attr_int("upper", 1) != 0;
    const int64_t R = x.shape[size_t(x.rank() - 2)], C = x.shape[size_t(x.rank() - 1)];
    for (int64_t e = 0; e < x.numel(); ++e) {
        const int64_t i = (e / C) % R, j = e % C;
        const bool keep = upper ? j - i >= k : j - i <= k;
        if (y.floating()) y.f[size_t(e)] = keep ? x.f[size_t(e)] : 0.0f;
        else y.i[size_t(e)] = keep ? x.i[size_t(e)] : 0;
    }
}
// EyeLike: ones on diagonal k of a 2-D tensor shaped like the input, of type dtype (default the input's).
static std::vector<OutInfo> infer_eye_like(const Node& n, std::span<const InValue> in, int) {
    if (in.empty() || !in[0].present) fail(n, "needs an input");
    if (in[0].rank_known && in[0].shape.size() != 2) fail(n, "needs a 2-D input, got " + shape_str(in[0].shape));
    const ElemType t = n.has("dtype") ? ElemType(n.attr_int("dtype", 1)) : in[0].type;
    if (!is_supported_type(int(t))) unsupported(n, "EyeLike of element type " + elem_type_name(t) + " is not supported");
    return {OutInfo{t, in[0].shape, in[0].rank_known}};
}
static void compute_eye_like(const Node& n, std::span<const Tensor* const>, std::span<Tensor> out, int) {
    Tensor& y = out[0];
    const int64_t k = n.attr_int("k", 0), R = y.shape[0], C = y.shape[1];
    for (int64_t i = 0; i < R; ++i)
        if (i + k >= 0 && i + k < C) {
            if (y.floating()) y.f[size_t(i * C + i + k)] = 1.0f;
            else y.i[size_t(i * C + i + k)] = 1;
        }
}

void register_shape(OpDef* t) {
    t[size_t(OpKind::Reshape)] = {infer_reshape, compute_copy, nullptr};
    t[size_t(OpKind::Flatten)] = {infer_flatten, compute_copy, nullptr};
    t[size_t(OpKind::Squeeze)] = {infer_squeeze, compute_copy, nullptr};
    t[size_t(OpKind::Unsqueeze)] = {infer_unsqueeze, compute_copy, nullptr};
    t[size_t(OpKind::Transpose)] = {infer_transpose, compute_transpose, nullptr};
    t[size_t(OpKind::Concat)] = {infer_concat, compute_concat, nullptr};
    t[size_t(OpKind::Split)] = {infer_split, compute_split, nullptr};
    t[size_t(OpKind::Slice)] = {infer_slice, compute_slice, nullptr};
    t[size_t(OpKind::Gather)] = {infer_gather, compute_gather, nullptr};
    t[size_t(OpKind::Shape)] = {infer_shape_op, compute_shape_op, nullptr};
    t[size_t(OpKind::Expand)] = {infer_expand, compute_broadcast_copy, nullptr};
    t[size_t(OpKind::Tile)] = {infer_tile, compute_broadcast_copy, nullptr};
    t[size_t(OpKind::Pad)] = {infer_pad, compute_pad, check_pad};
    t[size_t(OpKind::GatherElements)] = {infer_gather_elements, compute_gather_elements, nullptr};
    t[size_t(OpKind::Size)] = {infer_size, compute_size, nullptr};
    for (OpKind op : {OpKind::DepthToSpace, OpKind::SpaceToDepth})
        t[size_t(op)] = {infer_depth_to_space, compute_depth_to_space, check_depth_to_space};
    for (OpKind op : {OpKind::ReduceMean, OpKind::ReduceSum, OpKind::ReduceMax, OpKind::ReduceMin, OpKind::ReduceProd,
                      OpKind::ReduceL1, OpKind::ReduceL2, OpKind::ReduceSumSquare, OpKind::ReduceLogSum,
                      OpKind::ReduceLogSumExp})
        t[size_t(op)] = {infer_reduce, compute_reduce, nullptr};
    for (OpKind op : {OpKind::ArgMax, OpKind::ArgMin})
        t[size_t(op)] = {infer_argextreme, compute_argextreme, nullptr};
    t[size_t(OpKind::CumSum)] = {infer_cumsum, compute_cumsum, nullptr};
    t[size_t(OpKind::Constant)] = {infer_constant, compute_constant, check_constant};
    t[size_t(OpKind::ConstantOfShape)] = {infer_constant_of_shape, compute_constant_of_shape, nullptr};
    t[size_t(OpKind::Range)] = {infer_range, compute_range, nullptr};
    t[size_t(OpKind::Dropout)] = {infer_dropout, compute_dropout, check_dropout};
    t[size_t(OpKind::Trilu)] = {infer_trilu, compute_trilu, nullptr};
    t[size_t(OpKind::EyeLike)] = {infer_eye_like, compute_eye_like, nullptr};
}

}  // namespace cim::kern
