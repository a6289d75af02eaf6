// An explicit layer graph in a config ("architecture": {"graph": {...}}), for networks
// no family describes. Each layer names its op, its input(s) (default: the previous
// layer) and its hyperparameters; weights are looked up as "<name>.weight" etc.
// docs/config.md lists the ops and their keys.
#pragma once

#include "engine/graph.hpp"
#include "model/json_reader.hpp"

namespace osprey {

Graph graph_from_json(ObjectReader& spec);

}  // namespace osprey
