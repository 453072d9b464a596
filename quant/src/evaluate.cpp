// Accuracy of a forward function over labelled data, the float and quantized forwards, and
// each layer's accuracy drop when quantized alone (cim-quant --report).
#include <cim/error.h>
#include <cim/ir/batch.h>
#include <cim/ir/executor.h>
#include <cim/quant/quantizer.h>

#include <algorithm>

namespace cim::quant {

double accuracy(const Forward& forward, const LabeledData& data, int64_t batch, const Progress& progress) {
    const int64_t count = data.inputs.count();
    if (int64_t(data.labels.size()) != count) throw InputError("accuracy: label count differs from item count");
    int64_t correct = 0;
    for (int64_t b0 = 0; b0 < count; b0 += batch) {
        const int64_t b1 = std::min(count, b0 + batch);
        const auto out = forward(data.inputs.batch(b0, b1), b0);
        const Tensor& logits = out.at(0);
        const int64_t classes = logits.numel() / (b1 - b0);
        for (int64_t i = 0; i < b1 - b0; ++i) {
            const float* row = logits.f.data() + i * classes;
            const int64_t pred = std::max_element(row, row + classes) - row;
            correct += pred == data.labels[size_t(b0 + i)];
        }
        if (progress) progress(b1, count);
    }
    return count ? double(correct) / double(count) : 0.0;
}

// A graph that pins a batch of 1 (cim/ir/batch.h) runs its batches one item at a time.
Forward float_forward(const Graph& graph) {
    return [&graph](const std::vector<Tensor>& in, int64_t) {
        const Executor exec(graph);
        return batch_pinned(graph) ? run_per_sample(exec, in) : exec.run(in);
    };
}

Forward quant_forward(const QuantizedModel& model, RunOptions options) {
    return [&model, options](const std::vector<Tensor>& in, int64_t first) {
        auto run = [&](const std::vector<Tensor>& items, int64_t item) {
            RunOptions o = options;
            o.first_item = options.first_item + first + item;
            return run_program(model, items, o);
        };
        return batch_pinned(model.graph) ? run_per_sample(model.graph, in, run) : run(in, 0);
    };
}

void layer_alone_accuracy_drops(const QuantizedModel& model, QuantReport& report, const LabeledData& data,
                                double float_accuracy, const Progress& progress) {
    for (size_t i = 0; i < model.layers.size() && i < report.layers.size(); ++i) {
        std::vector<bool> active(model.graph.nodes.size(), false);
        active[size_t(model.layers[i].node)] = true;
        RunOptions ro;
        ro.active = &active;
        report.layers[i].accuracy_drop_alone = float_accuracy - accuracy(quant_forward(model, ro), data);
        if (progress) progress(int64_t(i + 1), int64_t(std::min(model.layers.size(), report.layers.size())));
    }
}

}  // namespace cim::quant
