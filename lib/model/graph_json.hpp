// An explicit layer graph in a config ("architecture": {"graph": {...}}), for networks
// no family describes, and the form osprey-convert writes imported ONNX models in. Each
// layer names its op, its input(s) (default: the previous layer) and its hyperparameters;
// weights are looked up as "<name>.weight" etc. docs/config.md lists the ops and their keys.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/graph.hpp"
#include "model/json_reader.hpp"

namespace osprey {

Graph graph_from_json(ObjectReader& spec);

// The explicit-graph form of a graph (graph_json_writer.cpp).
struct GraphJson {
  nlohmann::ordered_json spec;            // {"input_channels", "layers", "outputs"}
  std::map<std::string, Tensor> tensors;  // weights-file key ("<layer>.<role>") -> tensor
  int layers = 0;                         // layers written: the live nodes the outputs depend on
  int64_t parameters = 0;                 // weight elements (constants not counted)
};

// `graph` has one input, bound weights and no fused post-ops (an imported graph before
// optimize()); `input_shape` is the shape it was built for, axis 0 being the batch. Layers
// get unique, file-safe names (from the node names); reshapes and slices that carry the
// batch through are written relative to it (0 / -1), so the result runs at any batch size.
// With `tensors` false, only the spec is made.
GraphJson graph_to_json(const Graph& graph, const Shape& input_shape, bool tensors = true);

// A config as text: objects indented, each layer of a layer list on one line.
std::string format_config(const nlohmann::ordered_json& config);

}  // namespace osprey
