// The float reference executor: runs a Graph on any batch size. Every later
// result (quantized, simulated) is compared against it.
#pragma once

#include <cim/ir/graph.h>

#include <functional>
#include <span>
#include <vector>

namespace cim {

class Executor {
public:
    explicit Executor(const Graph& graph);

    // Called after each node with the node and its outputs (calibration, per-layer error).
    using Observer = std::function<void(const Node&, std::span<const Tensor>)>;

    // Replaces the kernel of chosen nodes (the quantizer's integer program runs its
    // weight-stationary layers this way): called before each node with its inputs and
    // its outputs, allocated with the inferred types and shapes. Return true after
    // filling the outputs, false to run the float kernel.
    using Override = std::function<bool(const Node&, std::span<const Tensor* const>, std::span<Tensor>)>;

    // One tensor per graph input, in Graph::inputs order; returns Graph::outputs.
    std::vector<Tensor> run(const std::vector<Tensor>& inputs, const Observer& observer = {},
                            const Override& override_kernel = {}) const;

    const Graph& graph() const { return graph_; }

private:
    const Graph& graph_;
    std::vector<int> last_use_;  // per value: index of the last node reading it
};

}  // namespace cim
