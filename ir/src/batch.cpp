// Batch-1 exports on any number of images: rewrite the pinned batch, verify, or run item by item.
#include "kernels.h"
#include "passes.h"

#include <cim/ir/batch.h>
#include <cim/ir/finite.h>
#include <cim/ir/onnx_import.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <random>
#include <set>

namespace cim {

namespace {

constexpr int64_t kVerifyBatch = 3;     // items of the verification run
constexpr double kTolerance = 1e-5;     // relative to each output's largest magnitude
constexpr int64_t kKnownLimit = 1024;   // the analysis evaluates shape arithmetic up to this many elements
constexpr int64_t kFreeDimSize = 8;     // size given to dynamic non-batch dimensions of verification items
constexpr uint64_t kVerifySeed = 20240611;

// The analysis infers every shape with the batch set to a probe size that no dimension and
// no small integer constant of the graph uses: a dimension equal to it then follows the batch.
int64_t probe_batch(const Graph& g) {
    std::set<int64_t> used;
    for (const Value& v : g.values) {
        used.insert(v.shape.begin(), v.shape.end());
        if (v.constant && !v.constant->floating() && v.constant->numel() <= kKnownLimit)
            used.insert(v.constant->i.begin(), v.constant->i.end());
    }
    for (int64_t p : {7919, 7907, 7901, 7883, 7879, 7877, 7873, 7867})
        if (!used.count(p)) return p;
    return 7853;
}

// `text` with every whole number equal to the probe batch written as N.
std::string with_batch_named(const std::string& text, int64_t probe) {
    const std::string p = std::to_string(probe);
    std::string out;
    for (size_t k = 0; k < text.size();) {
        const bool starts = text.compare(k, p.size(), p) == 0 && (k == 0 || !std::isdigit(static_cast<unsigned char>(text[k - 1])));
        const size_t end = k + p.size();
        if (starts && (end >= text.size() || !std::isdigit(static_cast<unsigned char>(text[end])))) {
            out += 'N';
            k = end;
        } else {
            out += text[k++];
        }
    }
    return out;
}

// A Reshape target as written: [1,-1], where shape_str would show the -1 as unknown.
std::string ints_str(const std::vector<int64_t>& v) {
    std::string s = "[";
    for (size_t k = 0; k < v.size(); ++k) {
        if (k) s += ',';
        s += std::to_string(v[k]);
    }
    return s + "]";
}

// Walks the graph in order with the batch at the probe size, rewriting what pins the batch
// before each node infers. Shapes and small results (shape arithmetic left as nodes)
// are tracked; a node that cannot infer throws InputError.
class BatchAnalysis {
public:
    BatchAnalysis(Graph& g, int64_t probe) : g_(g), probe_(probe), known_(g.values.size()) {
        for (const Value& v : g.values) value_names_.insert(v.name);
        for (const Node& n : g.nodes) node_names_.insert(n.name);
    }

    void run() {
        std::vector<Node> nodes = std::move(g_.nodes);
        g_.nodes.clear();
        for (Node& n : nodes) {
            if (n.op == OpKind::Reshape) unpin_reshape(n);
            if (n.op == OpKind::Concat) expand_concat_inputs(n);
            infer(n);
            g_.nodes.push_back(std::move(n));
        }
        passes::reindex(g_);
        passes::eliminate_dead(g_);  // e.g. a Constant node whose shape was replaced
    }

    const std::vector<std::string>& rewrites() const { return rewrites_; }

private:
    const Tensor* data_of(int id) const {
        if (id < 0) return nullptr;
        if (const Tensor* c = g_.constant(id)) return c;
        return known_[size_t(id)].get();
    }

    std::string unique(std::set<std::string>& names, const std::string& base) {
        std::string name = base;
        for (int k = 1; names.count(name); ++k) name = base + "_" + std::to_string(k);
        names.insert(name);
        return name;
    }

    int add_value(const std::string& base, std::shared_ptr<const Tensor> constant = nullptr) {
        Value v;
        v.name = unique(value_names_, base);
        if (constant) {
            v.type = constant->type;
            v.shape = constant->shape;
            v.rank_known = true;
            v.origin = "the batch rewrite";
            v.constant = std::move(constant);
        }
        g_.values.push_back(std::move(v));
        known_.emplace_back();
        return int(g_.values.size() - 1);
    }

    // Adds a node (before the one being walked), infers it and returns its output.
    int add_node(OpKind op, const std::string& base, std::vector<int> inputs, std::map<std::string, Attribute> attrs = {}) {
        Node n;
        n.op = op;
        n.name = unique(node_names_, base);
        n.inputs = std::move(inputs);
        n.attrs = std::move(attrs);
        n.outputs = {add_value(n.name + "_out")};
        infer(n);
        const int out = n.outputs[0];
        g_.nodes.push_back(std::move(n));
        return out;
    }

    void infer(const Node& n) {
        std::vector<kern::InValue> ins;
        for (int id : n.inputs) {
            if (id < 0) {
                ins.emplace_back();
                continue;
            }
            const Value& v = g_.value(id);
            ins.push_back(kern::InValue{true, v.type, v.shape, v.rank_known, data_of(id)});
        }
        const kern::OpDef& def = kern::op_def(n.op);
        const std::vector<kern::OutInfo> outs = def.infer(n, ins, g_.opset);
        CIM_INTERNAL_CHECK(outs.size() >= n.outputs.size(), "inference returned too few outputs");
        bool small = true;
        for (size_t o = 0; o < n.outputs.size(); ++o) {
            if (n.outputs[o] < 0) continue;
            Value& v = g_.value(n.outputs[o]);
            v.type = outs[o].type;
            v.shape = outs[o].shape;
            v.rank_known = outs[o].rank_known;
            small = small && v.rank_known && shape_known(v.shape) && shape_numel(v.shape) <= kKnownLimit;
        }
        // Shape arithmetic: evaluate nodes whose inputs are all known (Shape and Size need only a known shape).
        if (!small || n.outputs.empty()) return;
        std::vector<Tensor> stand_ins;
        stand_ins.reserve(n.inputs.size());
        std::vector<const Tensor*> in_ptrs;
        for (size_t k = 0; k < n.inputs.size(); ++k) {
            const int id = n.inputs[k];
            const Tensor* t = data_of(id);
            if (id >= 0 && !t) {
                const Value& v = g_.value(id);
                if ((n.op != OpKind::Shape && n.op != OpKind::Size) || !v.rank_known || !shape_known(v.shape)) return;
                Tensor s;
                s.type = v.type;
                s.shape = v.shape;
                stand_ins.push_back(std::move(s));
                t = &stand_ins.back();
            }
            in_ptrs.push_back(t);
        }
        std::vector<Tensor> results;
        for (size_t o = 0; o < n.outputs.size(); ++o) results.emplace_back(outs[o].type, outs[o].shape);
        try {
            def.compute(n, in_ptrs, results, g_.opset);
        } catch (const InputError&) {
            return;  // left unknown; the verification run has the last word
        }
        for (size_t o = 0; o < n.outputs.size(); ++o)
            if (n.outputs[o] >= 0) known_[size_t(n.outputs[o])] = std::make_shared<Tensor>(std::move(results[o]));
    }

    // A Reshape of batched data to a shape that starts with 1 (x.view(1, -1), or x.view(x.size(0), -1)
    // folded at batch 1) pins the batch. The 1 becomes 0, ONNX's "copy this dimension of the input":
    // the data's leading dimension is the batch, so the output's is exactly the batch, the other entries
    // keep being checked against the element count, and it works beside another -1 ([1, -1] -> [0, -1]).
    // A -1 instead could not stand beside a second -1, and would quietly turn any mismatch of the other
    // dimensions into a different batch. Under allowzero=1 a 0 means an empty dimension, so there the
    // 1 becomes -1, possible only when no other entry is -1.
    void unpin_reshape(Node& n) {
        if (!n.has_input(1)) return;
        const Value& x = g_.value(n.inputs[0]);
        if (!x.rank_known || x.shape.empty() || x.shape[0] != probe_) return;
        const Tensor* s = data_of(n.inputs[1]);
        if (!s || s->rank() != 1 || s->numel() == 0 || s->floating()) return;
        std::vector<int64_t> target = s->to_ints();
        if (target[0] != 1) return;
        const std::vector<int64_t> before = target;
        if (n.attr_int("allowzero", 0) == 0) target[0] = 0;
        else if (std::count(target.begin(), target.end(), -1) == 0) target[0] = -1;
        else kern::fail(n, "the shape " + ints_str(before) + " pins the batch, and beside its -1 under allowzero=1 no entry can say \"the batch\"");
        n.inputs[1] = add_value(g_.value(n.inputs[1]).name + "_batch", std::make_shared<Tensor>(Tensor::ints(target)));
        rewrites_.push_back("Reshape '" + n.name + "' to " + ints_str(before) + " now to " + ints_str(target));
    }

    // A Concat on a non-batch axis of batched values and values without the batch (leading 1): the
    // latter are what was computed once at batch 1 (a class token expanded to x.size(0), a folded
    // torch.zeros(x.size(0), ...), an Expand/Tile/ConstantOfShape to a batch-1 shape). Each is
    // broadcast to the batch by an Expand to [batch, 1, ..., 1], the batch read from the input's shape.
    void expand_concat_inputs(Node& n) {
        bool batched = false;
        size_t rank = 0;
        for (int id : n.inputs) {
            if (id < 0) continue;
            const Value& v = g_.value(id);
            if (!v.rank_known || v.shape.empty()) return;
            rank = v.shape.size();
            batched = batched || v.shape[0] == probe_;
        }
        if (!batched || g_.opset < op_min_opset(OpKind::Expand)) return;
        int64_t axis = n.attr_int("axis", 0);
        if (axis < 0) axis += int64_t(rank);
        if (axis == 0) return;  // joined along the batch axis: nothing to broadcast
        for (int& id : n.inputs) {
            if (id < 0 || g_.value(id).shape.size() != rank || g_.value(id).shape[0] != 1) continue;
            auto it = expanded_.find(id);
            if (it == expanded_.end()) {
                it = expanded_.emplace(id, expand_to_batch(id)).first;
                rewrites_.push_back("'" + g_.value(id).name + "' " + shape_str(g_.value(id).shape) + " broadcast to the batch for Concat '" + n.name + "'");
            }
            id = it->second;
        }
    }

    int expand_to_batch(int id) {
        if (batch_ < 0) {  // [batch] from the first input's shape, once
            const int shape = add_node(OpKind::Shape, "batch_shape", {g_.inputs[0]});
            const int zero = add_value("batch_index", std::make_shared<Tensor>(Tensor::ints({0})));
            batch_ = add_node(OpKind::Gather, "batch_size", {shape, zero}, {{"axis", Attribute{int64_t(0)}}});
        }
        const std::string name = g_.value(id).name;  // adding values moves them
        const size_t rank = g_.value(id).shape.size();
        int target = batch_;
        if (rank > 1) {
            const int ones = add_value(name + "_batch_ones", std::make_shared<Tensor>(Tensor::ints(std::vector<int64_t>(rank - 1, 1))));
            target = add_node(OpKind::Concat, name + "_batch_shape", {batch_, ones}, {{"axis", Attribute{int64_t(0)}}});
        }
        return add_node(OpKind::Expand, name + "_batch", {id, target});
    }

    Graph& g_;
    const int64_t probe_;
    std::vector<std::shared_ptr<const Tensor>> known_;  // results of shape arithmetic, per value
    std::set<std::string> value_names_, node_names_;
    std::map<int, int> expanded_;  // value -> its Expand to the batch
    int batch_ = -1;               // value holding [batch], once made
    std::vector<std::string> rewrites_;
};

// Seeded items for verification: N(0, 1) for floating inputs, 0 or 1 for integer and bool ones.
std::vector<Tensor> random_items(const Graph& g, int64_t count) {
    std::mt19937_64 rng(kVerifySeed);
    std::normal_distribution<float> normal;
    std::uniform_int_distribution<int64_t> bit(0, 1);
    std::vector<Tensor> items;
    for (int id : g.inputs) {
        Shape s = g.value(id).shape;
        s[0] = count;
        for (auto& d : s)
            if (d < 0) d = kFreeDimSize;
        Tensor t(g.value(id).type, s);
        for (float& x : t.f) x = normal(rng);
        for (int64_t& x : t.i) x = bit(rng);
        items.push_back(std::move(t));
    }
    return items;
}

double max_magnitude(const Tensor& t) {
    double m = 0;
    for (int64_t k = 0; k < t.numel(); ++k)
        if (std::isfinite(t.get(k))) m = std::max(m, std::fabs(t.get(k)));
    return m;
}

// Runs `batched` at kVerifyBatch items and `original` on each alone; "" when every output agrees,
// else why not. `worst` is the largest difference relative to each output's scale.
std::string verify(const Graph& batched, const Graph& original, double& worst) {
    const std::vector<Tensor> items = random_items(original, kVerifyBatch);
    const std::string at = "at batch " + std::to_string(kVerifyBatch);
    std::vector<Tensor> got, want;
    try {
        const Graph spec = specialize_batch(batched, kVerifyBatch);
        got = Executor(spec).run(items);
    } catch (const InputError& e) {
        return "the rewritten graph fails " + at + ": " + e.what();
    }
    try {
        want = run_per_sample(original, items);
    } catch (const InputError& e) {
        return "the original graph fails on random items: " + std::string(e.what());
    }
    worst = 0;
    for (size_t k = 0; k < want.size(); ++k) {
        const std::string name = original.value(original.outputs[k]).name;
        if (got[k].shape != want[k].shape)
            return "output '" + name + "' is " + shape_str(got[k].shape) + " " + at + ", but " + shape_str(want[k].shape) +
                   " from " + std::to_string(kVerifyBatch) + " single items";
        const double scale = max_magnitude(want[k]);
        const OutputComparison c = compare_output(got[k], want[k], kTolerance, kTolerance * scale);
        if (scale > 0) worst = std::max(worst, c.max_abs / scale);
        if (!c.pass)
            return "output '" + name + "' " + at + " differs from the single items' (" + c.problem + ", largest difference " +
                   std::to_string(c.max_abs) + " against values up to " + std::to_string(scale) + ")";
    }
    return "";
}

BatchRewrite unchanged(const Graph& g, bool batched, std::string note) { return BatchRewrite{g, batched, std::move(note)}; }

}  // namespace

BatchRewrite make_batch_dynamic(const Graph& g) {
    if (g.inputs.empty()) return unchanged(g, false, "the graph has no inputs to batch");
    bool pinned = false;
    for (int id : g.inputs) {
        const Value& v = g.value(id);
        if (!v.rank_known || v.shape.empty() || (v.shape[0] != 1 && v.shape[0] >= 0))
            return unchanged(g, false, "input '" + v.name + "' has " + (v.rank_known ? "shape " + shape_str(v.shape) : "no known shape") +
                                           ", no leading batch dimension of 1");
        pinned = pinned || v.shape[0] == 1;
    }
    if (!pinned) return unchanged(g, true, "the batch is already dynamic");
    for (int id : g.outputs) {
        const Value& v = g.value(id);
        if (v.rank_known && (v.shape.empty() || (v.shape[0] != 1 && v.shape[0] >= 0)))
            return unchanged(g, false, "output '" + v.name + "' has shape " + shape_str(v.shape) + ", no leading batch dimension of 1");
    }

    Graph r = g;
    const int64_t probe = probe_batch(g);
    for (int id : r.inputs) r.value(id).shape[0] = probe;
    BatchAnalysis analysis(r, probe);
    try {
        analysis.run();
    } catch (const InputError& e) {
        return unchanged(g, false, "the graph pins the batch: with N items, " + with_batch_named(e.what(), probe));
    }
    for (int id : r.outputs) {
        const Value& v = r.value(id);
        if (v.rank_known && (v.shape.empty() || (v.shape[0] >= 0 && v.shape[0] != probe)))
            return unchanged(g, false, "the graph pins the batch: output '" + v.name + "' would be " +
                                           with_batch_named(shape_str(v.shape), probe) + " for N items");
    }
    for (int id : r.inputs) r.value(id).shape[0] = -1;
    try {
        infer_shapes(r);
    } catch (const InputError& e) {
        return unchanged(g, false, "the rewritten graph does not infer with a dynamic batch: " + std::string(e.what()));
    }
    double worst = 0;
    const std::string failure = verify(r, g, worst);
    if (!failure.empty()) return unchanged(g, false, "the batch cannot be made dynamic: " + failure);

    std::string note = "batch made dynamic";
    const auto& done = analysis.rewrites();
    if (done.empty()) note += " (no node pinned it)";
    constexpr size_t kListed = 4;  // a ShuffleNet rewrites 32 Reshapes alike
    for (size_t k = 0; k < done.size() && k < kListed; ++k) note += (k ? "; " : ": ") + done[k];
    if (done.size() > kListed) note += "; and " + std::to_string(done.size() - kListed) + " more";
    char tail[160];
    std::snprintf(tail, sizeof tail, "; verified at batch %lld against single items (largest difference %.1e of the output's scale)",
                  static_cast<long long>(kVerifyBatch), worst);
    note += tail;
    return BatchRewrite{std::move(r), true, std::move(note)};
}

Tensor batch_slice(const Tensor& t, int64_t begin, int64_t end) {
    CIM_INTERNAL_CHECK(t.rank() >= 1 && begin >= 0 && begin <= end && end <= t.shape[0], "batch_slice range");
    Shape s = t.shape;
    s[0] = end - begin;
    Tensor out(t.type, s);
    const int64_t per = t.shape[0] ? t.numel() / t.shape[0] : 0;
    if (t.floating()) std::copy(t.f.begin() + begin * per, t.f.begin() + end * per, out.f.begin());
    else std::copy(t.i.begin() + begin * per, t.i.begin() + end * per, out.i.begin());
    return out;
}

Tensor batch_concat(const std::vector<Tensor>& parts) {
    if (parts.empty()) throw InputError("batch_concat: nothing to join");
    Shape s = parts[0].shape;
    if (s.empty()) throw InputError("batch_concat: a scalar has no leading dimension");
    s[0] = 0;
    for (const Tensor& p : parts) {
        if (p.type != parts[0].type || p.rank() != int(s.size()) || !std::equal(s.begin() + 1, s.end(), p.shape.begin() + 1))
            throw InputError("batch_concat: " + shape_str(p.shape) + " " + elem_type_name(p.type) + " does not join " +
                             shape_str(parts[0].shape) + " " + elem_type_name(parts[0].type));
        s[0] += p.shape[0];
    }
    Tensor out(parts[0].type, s);
    size_t at = 0;
    for (const Tensor& p : parts) {
        if (out.floating()) std::copy(p.f.begin(), p.f.end(), out.f.begin() + ptrdiff_t(at));
        else std::copy(p.i.begin(), p.i.end(), out.i.begin() + ptrdiff_t(at));
        at += out.floating() ? p.f.size() : p.i.size();
    }
    return out;
}

std::vector<Tensor> run_per_sample(const Executor& executor, const std::vector<Tensor>& batched_inputs,
                                   const Executor::Observer& observer, const Executor::Override& override_kernel) {
    return run_per_sample(executor.graph(), batched_inputs,
                          [&](const std::vector<Tensor>& one, int64_t) { return executor.run(one, observer, override_kernel); });
}

std::vector<Tensor> run_per_sample(const Graph& g, const std::vector<Tensor>& batched_inputs, const ItemRun& run_one) {
    if (batched_inputs.size() != g.inputs.size())
        throw InputError(g.source_file + ": the model takes " + std::to_string(g.inputs.size()) + " input(s), got " +
                         std::to_string(batched_inputs.size()));
    int64_t count = -1;
    for (size_t k = 0; k < batched_inputs.size(); ++k) {
        const Tensor& t = batched_inputs[k];
        const std::string& name = g.value(g.inputs[k]).name;
        if (t.rank() < 1) throw InputError(g.source_file + ": input '" + name + "' is a scalar, not a batch of items");
        if (count >= 0 && t.shape[0] != count)
            throw InputError(g.source_file + ": input '" + name + "' has " + std::to_string(t.shape[0]) + " items, the first input " +
                             std::to_string(count));
        count = t.shape[0];
    }
    std::vector<std::vector<Tensor>> parts(g.outputs.size());
    for (int64_t item = 0; item < count; ++item) {
        std::vector<Tensor> one;
        for (const Tensor& t : batched_inputs) one.push_back(batch_slice(t, item, item + 1));
        std::vector<Tensor> outs = run_one(one, item);
        for (size_t o = 0; o < outs.size(); ++o) {
            if (outs[o].rank() < 1 || outs[o].shape[0] != 1)
                throw InputError(g.source_file + ": output '" + g.value(g.outputs[o]).name + "' is " + shape_str(outs[o].shape) +
                                 " for one item, without a leading dimension of 1 to join the items along");
            if (item > 0 && outs[o].shape != parts[o][0].shape)
                throw InputError(g.source_file + ": output '" + g.value(g.outputs[o]).name + "' is " + shape_str(parts[o][0].shape) +
                                 " for item 0 but " + shape_str(outs[o].shape) + " for item " + std::to_string(item));
            parts[o].push_back(std::move(outs[o]));
        }
    }
    std::vector<Tensor> result;
    for (size_t o = 0; o < parts.size(); ++o) {
        if (!parts[o].empty()) {
            result.push_back(batch_concat(parts[o]));
            continue;
        }
        const Value& v = g.value(g.outputs[o]);  // no items: an empty batch of the declared shape
        if (!v.rank_known || v.shape.empty() || !std::all_of(v.shape.begin() + 1, v.shape.end(), [](int64_t d) { return d >= 0; }))
            throw InputError(g.source_file + ": no items, and output '" + v.name + "' has no known shape to give an empty batch of");
        Shape s = v.shape;
        s[0] = 0;
        result.emplace_back(v.type, s);
    }
    return result;
}

std::vector<Tensor> run_per_sample(const Graph& graph, const std::vector<Tensor>& batched_inputs) {
    const Executor executor(graph);
    return run_per_sample(executor, batched_inputs);
}

bool batch_pinned(const Graph& g) {
    for (int id : g.inputs) {
        const Value& v = g.value(id);
        if (v.rank_known && !v.shape.empty() && v.shape[0] == 1) return true;
    }
    return false;
}

Graph prepare_for_accuracy(const Graph& imported, const std::string& source, std::string* note) {
    check_finite_weights(imported);
    BatchRewrite b = prepare_for_many_items(imported, source);
    if (note) *note = b.batched ? "" : b.note;
    return std::move(b.graph);
}

BatchRewrite prepare_for_many_items(const Graph& g, const std::string& source) {
    BatchRewrite b = make_batch_dynamic(g);
    if (b.batched) return b;
    for (int id : g.inputs) {
        const Value& v = g.value(id);
        if (!v.rank_known || v.shape.empty() || v.shape[0] != 1)
            throw InputError(source + ": input '" + v.name + "' has " + (v.rank_known ? "shape " + shape_str(v.shape) : "no known shape") +
                             ", no leading batch dimension (dynamic or 1) to feed samples along; export the model with a batch axis first");
    }
    b.note = "the graph pins a batch of 1 (" + b.note + "): it runs one sample at a time, which is slower than batches";
    return b;
}

}  // namespace cim
