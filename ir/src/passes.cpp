#include "passes.h"

#include "kernels.h"
#include "qdq.h"

#include <algorithm>
#include <cmath>
#include <deque>

namespace cim::passes {

void reindex(Graph& g) {
    for (Value& v : g.values) v.producer = -1;
    for (size_t k = 0; k < g.nodes.size(); ++k)
        for (int o : g.nodes[k].outputs)
            if (o >= 0) g.values[size_t(o)].producer = int(k);
}

namespace {
// Removes the nodes marked in `drop`, keeping the order of the others.
void remove_nodes(Graph& g, const std::vector<bool>& drop) {
    std::vector<Node> kept;
    for (size_t k = 0; k < g.nodes.size(); ++k)
        if (!drop[k]) kept.push_back(std::move(g.nodes[k]));
    g.nodes = std::move(kept);
    reindex(g);
}
}  // namespace

void topological_sort(Graph& g) {
    reindex(g);
    const size_t n = g.nodes.size();
    std::vector<int> pending(n, 0);
    std::vector<std::vector<int>> users(n);
    for (size_t k = 0; k < n; ++k)
        for (int in : g.nodes[k].inputs) {
            if (in < 0) continue;
            int p = g.values[size_t(in)].producer;
            if (p >= 0) {
                ++pending[k];
                users[size_t(p)].push_back(int(k));
            }
        }
    std::deque<int> ready;
    for (size_t k = 0; k < n; ++k)
        if (pending[k] == 0) ready.push_back(int(k));
    std::vector<Node> sorted;
    sorted.reserve(n);
    std::vector<bool> done(n, false);
    while (!ready.empty()) {
        int k = ready.front();
        ready.pop_front();
        done[size_t(k)] = true;
        for (int u : users[size_t(k)])
            if (--pending[size_t(u)] == 0) ready.push_back(u);
        sorted.push_back(std::move(g.nodes[size_t(k)]));
    }
    if (sorted.size() != n) {
        for (size_t k = 0; k < n; ++k)
            if (!done[k])
                throw InputError(g.source_file + ": the graph has a cycle through node '" + g.nodes[k].name + "'");
    }
    g.nodes = std::move(sorted);
    reindex(g);
}

// A kernel's InputError with the file and, unless the kernel named it, the node.
[[noreturn]] static void rethrow_at(const Graph& g, const Node& n, const InputError& e) {
    const std::string what = e.what();
    throw InputError(g.source_file + ": " + (what.rfind("node '", 0) == 0 ? "" : "node '" + n.name + "' (" + std::string(op_name(n.op)) + "): ") + what);
}

static bool foldable(const Graph& g, const Node& n) {
    if (n.op == OpKind::Constant) return true;
    if (n.op == OpKind::Shape || n.op == OpKind::Size) {  // need only the input's shape
        const Value& x = g.values[size_t(n.inputs[0])];
        return x.rank_known && shape_known(x.shape);
    }
    bool any = false;
    for (int in : n.inputs) {
        if (in < 0) continue;
        if (!g.values[size_t(in)].constant) return false;
        any = true;
    }
    return any;
}

// A QDQ model's weight: keeps the codes, scales and zero points of the DequantizeLinear being
// folded into a float constant, for the quantizer to take as given.
static void record_model_quantization(Graph& g, const Node& n, const std::vector<const Tensor*>& in) {
    const Tensor& codes = *in[0];
    auto m = dequantize_grid(n, codes.type, codes.rank(), in[1], in.size() > 2 ? in[2] : nullptr);
    if (!m) return;  // int32 (a bias) or a grid the quantizer cannot take
    m->codes.assign(codes.i.begin(), codes.i.end());
    g.values[size_t(n.outputs[0])].model_quantization = std::make_shared<const ModelQuantization>(std::move(*m));
}

void infer_and_fold(Graph& g, bool fold) {
    std::vector<bool> folded(g.nodes.size(), false);
    for (size_t k = 0; k < g.nodes.size(); ++k) {
        const Node& n = g.nodes[k];
        std::vector<kern::InValue> ins;
        for (int in : n.inputs) {
            kern::InValue v;
            if (in >= 0) {
                const Value& val = g.values[size_t(in)];
                v = kern::InValue{true, val.type, val.shape, val.rank_known, val.constant.get()};
            }
            ins.push_back(v);
        }
        const kern::OpDef& def = kern::op_def(n.op);
        std::vector<kern::OutInfo> outs;
        try {
            outs = def.infer(n, ins, g.opset);
        } catch (const kern::Unsupported&) {
            throw;
        } catch (const InputError& e) {
            rethrow_at(g, n, e);
        }
        if (outs.size() < n.outputs.size())  // the file's node names more outputs than its op gives
            kern::unsupported(n, std::to_string(n.outputs.size()) + " outputs where " + std::string(op_name(n.op)) + " gives " +
                                     std::to_string(outs.size()));
        for (size_t o = 0; o < n.outputs.size(); ++o) {
            if (n.outputs[o] < 0) continue;
            Value& v = g.values[size_t(n.outputs[o])];
            v.type = outs[o].type;
            v.shape = outs[o].shape;
            v.rank_known = outs[o].rank_known;
        }
        if (!fold || !foldable(g, n)) continue;
        std::vector<const Tensor*> in_ptrs;
        std::vector<Tensor> shape_only;
        shape_only.reserve(n.inputs.size());
        for (size_t i = 0; i < n.inputs.size(); ++i) {
            int in = n.inputs[i];
            if (in < 0) {
                in_ptrs.push_back(nullptr);
                continue;
            }
            const Value& val = g.values[size_t(in)];
            if (val.constant) in_ptrs.push_back(val.constant.get());
            else {  // Shape of a known shape: an empty stand-in with the right shape
                Tensor t;
                t.type = val.type;
                t.shape = val.shape;
                shape_only.push_back(std::move(t));
                in_ptrs.push_back(&shape_only.back());
            }
        }
        std::vector<Tensor> results;
        for (size_t o = 0; o < n.outputs.size(); ++o) results.emplace_back(outs[o].type, outs[o].shape);
        try {
            def.compute(n, in_ptrs, results, g.opset);
        } catch (const kern::Unsupported&) {
            throw;
        } catch (const InputError& e) {
            rethrow_at(g, n, e);
        }
        for (size_t o = 0; o < n.outputs.size(); ++o)
            if (n.outputs[o] >= 0) g.values[size_t(n.outputs[o])].constant = std::make_shared<Tensor>(std::move(results[o]));
        if (n.op == OpKind::DequantizeLinear && n.outputs[0] >= 0) record_model_quantization(g, n, in_ptrs);
        folded[k] = true;
    }
    if (std::find(folded.begin(), folded.end(), true) == folded.end()) return;
    remove_nodes(g, folded);
}

static void replace_uses(Graph& g, int from, int to) {
    for (Node& n : g.nodes)
        for (int& in : n.inputs)
            if (in == from) in = to;
}

static bool is_graph_output(const Graph& g, int id) {
    return std::find(g.outputs.begin(), g.outputs.end(), id) != g.outputs.end();
}

void remove_identity(Graph& g) {
    auto users = g.consumers();
    std::vector<bool> drop(g.nodes.size(), false);
    for (size_t k = 0; k < g.nodes.size(); ++k) {
        Node& n = g.nodes[k];
        if ((n.op != OpKind::Identity && n.op != OpKind::Dropout) || !n.has_input(0) || n.outputs.empty()) continue;
        bool mask_used = false;
        for (size_t o = 1; o < n.outputs.size(); ++o) mask_used = mask_used || n.outputs[o] >= 0;
        if (mask_used) continue;  // someone wants Dropout's mask
        const int in = n.inputs[0], out = n.outputs[0];
        if (!is_graph_output(g, out)) {
            replace_uses(g, out, in);
            drop[k] = true;
            continue;
        }
        // A graph output keeps its name: the producer of the input writes it directly.
        const int p = g.values[size_t(in)].producer;
        if (p < 0 || users[size_t(in)].size() != 1 || is_graph_output(g, in)) continue;
        for (int& o : g.nodes[size_t(p)].outputs)
            if (o == in) o = out;
        drop[k] = true;
    }
    remove_nodes(g, drop);
}

void fold_batchnorm(Graph& g) {
    auto users = g.consumers();
    std::vector<bool> drop(g.nodes.size(), false);
    for (size_t k = 0; k < g.nodes.size(); ++k) {
        const Node& bn = g.nodes[k];
        if (bn.op != OpKind::BatchNormalization || !bn.has_input(0)) continue;
        const int x = bn.inputs[0];
        const int p = g.values[size_t(x)].producer;
        if (p < 0 || users[size_t(x)].size() != 1 || is_graph_output(g, x)) continue;
        Node& prev = g.nodes[size_t(p)];
        if (prev.op != OpKind::Conv && prev.op != OpKind::Gemm) continue;
        const Tensor* scale = g.constant(bn.inputs[1]);
        const Tensor* bias = g.constant(bn.inputs[2]);
        const Tensor* mean = g.constant(bn.inputs[3]);
        const Tensor* var = g.constant(bn.inputs[4]);
        const Tensor* w = g.constant(prev.inputs[1]);
        const Tensor* b = prev.has_input(2) ? g.constant(prev.inputs[2]) : nullptr;
        if (!scale || !bias || !mean || !var || !w || (prev.has_input(2) && !b)) continue;
        if (!w->floating()) continue;
        const float eps = bn.attr_float("epsilon", 1e-5f);
        const int64_t C = scale->numel();
        if (bias->numel() != C || mean->numel() != C || var->numel() != C) continue;
        std::vector<float> a(static_cast<size_t>(C)), s(static_cast<size_t>(C));
        for (int64_t c = 0; c < C; ++c) {
            a[size_t(c)] = scale->f[size_t(c)] / std::sqrt(var->f[size_t(c)] + eps);
            s[size_t(c)] = bias->f[size_t(c)] - mean->f[size_t(c)] * a[size_t(c)];
        }
        auto w2 = std::make_shared<Tensor>(*w);
        std::vector<float> b_old(static_cast<size_t>(C), 0.0f);
        if (prev.op == OpKind::Conv) {
            if (w->shape[0] != C) continue;
            const int64_t per = w->numel() / C;
            for (int64_t c = 0; c < C; ++c)
                for (int64_t j = 0; j < per; ++j) w2->f[size_t(c * per + j)] *= a[size_t(c)];
            if (b) {
                if (b->numel() != C) continue;
                b_old = b->f;
            }
        } else {  // Gemm: output channel = column of Y
            if (prev.attr_int("transA", 0) != 0 && w->rank() != 2) continue;
            const bool tb = prev.attr_int("transB", 0);
            const int64_t N = tb ? w->shape[0] : w->shape[1], K = tb ? w->shape[1] : w->shape[0];
            if (N != C) continue;
            for (int64_t r = 0; r < K; ++r)
                for (int64_t c = 0; c < C; ++c) {
                    size_t idx = tb ? size_t(c * K + r) : size_t(r * C + c);
                    w2->f[idx] *= a[size_t(c)];
                }
            if (b) {
                const float beta = prev.attr_float("beta", 1.0f);
                if (b->numel() == C) for (int64_t c = 0; c < C; ++c) b_old[size_t(c)] = beta * b->f[size_t(c)];
                else if (b->numel() == 1) for (int64_t c = 0; c < C; ++c) b_old[size_t(c)] = beta * b->f[0];
                else continue;  // a per-row C cannot fold
                prev.attrs["beta"] = Attribute{1.0f};
            }
        }
        auto b2 = std::make_shared<Tensor>(ElemType::Float, Shape{C});
        for (int64_t c = 0; c < C; ++c) b2->f[size_t(c)] = b_old[size_t(c)] * a[size_t(c)] + s[size_t(c)];
        // New constant values so shared initializers stay untouched.
        auto add_const = [&](const std::string& name, std::shared_ptr<Tensor> t) {
            Value v;
            v.name = name;
            v.origin = "BatchNormalization '" + bn.name + "' folded into '" + g.value(prev.inputs[1]).name + "'";
            v.type = t->type;
            v.shape = t->shape;
            v.rank_known = true;
            v.constant = std::move(t);
            g.values.push_back(std::move(v));
            return int(g.values.size() - 1);
        };
        const int wid = add_const(prev.name + ".weight_bnfolded", w2);
        const int bid = add_const(prev.name + ".bias_bnfolded", b2);
        prev.inputs[1] = wid;
        if (prev.inputs.size() < 3) prev.inputs.resize(3, -1);
        prev.inputs[2] = bid;
        prev.outputs[0] = bn.outputs[0];  // the conv now produces the BN's output
        drop[k] = true;
    }
    remove_nodes(g, drop);
}

void eliminate_dead(Graph& g) {
    std::vector<bool> live(g.values.size(), false);
    for (int o : g.outputs) live[size_t(o)] = true;
    std::vector<bool> dead(g.nodes.size(), true);
    for (size_t k = g.nodes.size(); k-- > 0;) {
        const Node& n = g.nodes[k];
        bool needed = false;
        for (int o : n.outputs)
            if (o >= 0 && live[size_t(o)]) needed = true;
        if (!needed) continue;
        dead[k] = false;
        for (int in : n.inputs)
            if (in >= 0) live[size_t(in)] = true;
    }
    for (size_t v = 0; v < g.values.size(); ++v)
        if (!live[v]) g.values[v].constant.reset();  // free folded-away weights
    remove_nodes(g, dead);
}

}  // namespace cim::passes
