// Binding a weights file to a graph: every tensor the architecture declares must be in
// the file with the declared shape, and every tensor in the file must be used (or be a
// known training-only tensor), as torch's load_state_dict(strict=True) demands.
#pragma once

#include "engine/graph.hpp"
#include "model/safetensors.hpp"

namespace osprey {

void bind_weights(Graph& graph, const SafetensorsFile& file);

}  // namespace osprey
