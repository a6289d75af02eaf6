// Shape inference over the layer graph. Checks that every layer fits its inputs
// (channel counts against weights, kernels against feature maps) with errors that name
// the layer, so a malformed graph fails before any primitive is built.
#pragma once

#include <vector>

#include "engine/graph.hpp"

namespace osprey {

// Output spatial extent of a pooling window, as torch computes it (ceil mode included).
int pooled_extent(int in, int kernel, int stride, int pad_begin, int pad_end, bool ceil_mode);

// numpy broadcasting of two shapes (throws ModelError when they do not broadcast).
Shape broadcast_shapes(const Shape& a, const Shape& b);

// The shape of one node's value from its inputs' shapes.
Shape infer_node_shape(const Node& node, const std::vector<Shape>& input_shapes);

// Shapes of every node's value (empty for dead nodes), given the graph inputs' shapes.
std::vector<Shape> infer_shapes(const Graph& graph, const std::vector<Shape>& input_shapes);

}  // namespace osprey
