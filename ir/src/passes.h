// Internal: graph passes run by the importer.
#pragma once

#include <cim/ir/graph.h>

namespace cim::passes {

void topological_sort(Graph& g);
// Infers every value's type and shape in node order; with `fold`, evaluates
// nodes whose inputs are all constant (and Shape of a fully known shape) and
// drops them, their outputs becoming constants.
void infer_and_fold(Graph& g, bool fold);
void remove_identity(Graph& g);
void fold_batchnorm(Graph& g);
void eliminate_dead(Graph& g);
// Recomputes Value::producer after nodes were removed or reordered.
void reindex(Graph& g);

}  // namespace cim::passes
