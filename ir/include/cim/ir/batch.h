// Batch-1 exports on any number of images.
//
// PyTorch's default torch.onnx.export (no dynamic_axes) pins the batch at 1: the
// graph input is [1, C, H, W], and shape computations traced at batch 1 fold to
// constants (x.view(x.size(0), -1) becomes a Reshape to the constant [1, -1]).
// make_batch_dynamic rewrites such a graph to take any batch, and proves the
// rewrite on sample data; where it cannot, run_per_sample runs the original graph
// one item at a time.
#pragma once

#include <cim/ir/executor.h>
#include <cim/ir/graph.h>

#include <functional>
#include <string>
#include <vector>

namespace cim {

struct BatchRewrite {
    Graph graph;       // batched: the leading input dimension is dynamic (-1); else the graph given
    bool batched = false;
    std::string note;  // what was rewritten and how it was verified, or why the graph stays batch-pinned
};

// For a graph whose inputs all have the leading dimension 1 (a dynamic one counts
// as well): the same graph with that dimension dynamic. Rewrites
//   - Reshape whose constant shape starts with 1 while its data's leading dimension
//     is the batch: the 1 becomes 0 ("copy the batch"), or -1 under allowzero=1;
//   - values that do not carry the batch but meet batched values in a Concat on
//     another axis (a class token, a folded torch.zeros(x.size(0), ...), the output
//     of Expand/Tile/ConstantOfShape to a batch-1 shape): they are broadcast to the
//     batch with an Expand whose shape is read from the input at run time.
// Then verifies: the rewritten graph at batch 3 on three seeded random items must
// give, for every output, what the original gives on each item alone (within 1e-5
// of the output's scale). When shapes do not infer or results differ, returns the
// original graph with batched = false and the reason in `note`. A graph whose
// batch is already dynamic comes back unchanged with batched = true.
BatchRewrite make_batch_dynamic(const Graph& g);

// A graph for runs over many items (the accuracy paths): make_batch_dynamic's rewrite when it
// succeeds; else, when every input leads with a fixed 1, the graph as given, which those paths run
// one item at a time (see batch_pinned), with `note` saying so and why. Any other fixed leading
// dimension is an InputError naming `source`.
BatchRewrite prepare_for_many_items(const Graph& g, const std::string& source);

// A model as the accuracy paths (cim-quant, cim-sim, the Python module) run it: its weights checked
// finite (check_finite_weights), then prepare_for_many_items's graph. When the graph stays
// batch-pinned, `note` says so (the tools print it once); else it is cleared.
Graph prepare_for_accuracy(const Graph& imported, const std::string& source, std::string* note = nullptr);

// True when the graph takes exactly one item per run: an input's leading dimension is fixed at 1.
// float_forward, quant_forward, quantize and simulate then run such a graph item by item.
bool batch_pinned(const Graph& g);

// Runs a batch-pinned graph item by item: every input is cut along its leading
// dimension into items of 1, each item runs alone, and each output is the items'
// outputs concatenated along the leading dimension (each must be 1 there).
// The observer and override are passed to every run. Throws InputError when the
// inputs disagree on the number of items or an output has no leading 1.
std::vector<Tensor> run_per_sample(const Executor& executor, const std::vector<Tensor>& batched_inputs,
                                   const Executor::Observer& observer = {}, const Executor::Override& override_kernel = {});
std::vector<Tensor> run_per_sample(const Graph& graph, const std::vector<Tensor>& batched_inputs);
// The same with any way of running one item (the quantizer's integer program): `run_one` gets
// every input's item `item` (a leading dimension of 1) and returns graph's outputs for it.
using ItemRun = std::function<std::vector<Tensor>(const std::vector<Tensor>& one_item, int64_t item)>;
std::vector<Tensor> run_per_sample(const Graph& graph, const std::vector<Tensor>& batched_inputs, const ItemRun& run_one);

// Items [begin, end) of a tensor batched along its leading dimension.
Tensor batch_slice(const Tensor& t, int64_t begin, int64_t end);
// Tensors of one type and equal trailing dimensions, joined along the leading one.
Tensor batch_concat(const std::vector<Tensor>& parts);

}  // namespace cim
