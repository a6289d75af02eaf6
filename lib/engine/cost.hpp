// What a layer costs: parameters and floating-point operations (a multiply-add counts as
// two), for `osprey-inspect` and for reasoning about benchmarks.
#pragma once

#include <vector>

#include "engine/graph.hpp"

namespace osprey {

int64_t node_parameters(const Node& node);
int64_t node_flops(const Node& node, const std::vector<Shape>& inputs, const Shape& output);

}  // namespace osprey
