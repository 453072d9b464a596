// The data flags cim-quant and cim-sim share (--dataset, --data, --labels, --preprocess,
// --calibration-data, --limit), and the model preparation of an accuracy run.
#pragma once

#include <cim/data/dataset.h>
#include <cim/ir/graph.h>

#include <CLI/CLI.hpp>

#include <string>

namespace cim::cli {

// Registers the data flags on `app`, writing into `spec`.
void add_data_options(CLI::App& app, data::EvaluationSpec& spec);

// Loads the evaluation and calibration sets, bound to the model's inputs by name, and checks that
// they fit it (data::load_evaluation_sets with a model). Errors name the data file and the model.
data::EvaluationSets load_sets_for_model(const data::EvaluationSpec& spec, const Graph& model, const std::string& model_path);

// A model as the accuracy tools run it: imported, its weights finite, and a batch-1 export
// (PyTorch's default) rewritten to take any batch (verified; see cim/ir/batch.h). A graph that
// cannot be batched keeps its batch of 1 and runs one sample at a time; `note` then says so
// (the tools print it once).
Graph import_for_accuracy(const std::string& model_path, std::string* note = nullptr);

// "fashion-mnist", or the --data path: how reports name the data.
std::string data_name(const data::EvaluationSpec& spec);

}  // namespace cim::cli
