// The data flags cim-quant and cim-sim share (--dataset, --data, --labels, --preprocess,
// --calibration-data, --limit), and the checks that a dataset fits the model it feeds.
#pragma once

#include <cim/data/dataset.h>
#include <cim/ir/graph.h>

#include <CLI/CLI.hpp>

#include <string>

namespace cim::cli {

// Registers the data flags on `app`, writing into `spec`.
void add_data_options(CLI::App& app, data::EvaluationSpec& spec);

// Loads the evaluation and calibration sets and checks that their samples fit the model's input
// (shape, one input) and that labels index its outputs. Errors name the data file and the model.
data::EvaluationSets load_sets_for_model(const data::EvaluationSpec& spec, const Graph& model, const std::string& model_path);

// A model as the accuracy tools run it: imported, its weights finite, and a batch-1 export
// (PyTorch's default) rewritten to take any batch (verified; see cim/ir/batch.h). A graph that
// cannot be batched is an error saying why.
Graph import_for_accuracy(const std::string& model_path);

// "fashion-mnist", or the --data path: how reports name the data.
std::string data_name(const data::EvaluationSpec& spec);

}  // namespace cim::cli
