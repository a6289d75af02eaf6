// Darknet networks as Osprey models: a config's {"architecture": {"darknet": "<file.cfg>"}},
// or a bare .cfg file given where a config is expected (like a bare .onnx file). The hooks
// lib/model/model.cpp calls; the work is in network.cpp and weights.cpp.
#pragma once

#include <string>

#include "engine/graph.hpp"
#include "model/model.hpp"

namespace osprey::darknet {

// The config a bare .cfg file stands for: named after the file, task "detect" when the
// network ends in detection heads, input from [net], labels are class ids. Builds the graph.
ModelConfig bare_cfg_config(const std::string& cfg_path, Graph* graph);

bool is_darknet_cfg(const std::string& path);      // ends in .cfg
bool is_darknet_weights(const std::string& path);  // ends in .weights

}  // namespace osprey::darknet
