// Graph rewrites that make inference cheaper without changing its result:
//   - identities (dropout at inference) are removed;
//   - a batch norm right after a convolution is folded into the convolution's weights, and
//     so is a per-channel constant multiply/add;
//   - an activation right after a convolution, linear layer or elementwise op becomes a
//     oneDNN post-op of that producer;
//   - a residual add of a convolution's result becomes a "sum" post-op of the convolution,
//     so the convolution accumulates into the other operand (ResNet's shortcut).
// Weights must be bound before folding.
#pragma once

#include <vector>

#include "engine/graph.hpp"

namespace osprey {

void remove_identities(Graph& graph);
void fold_batch_norms(Graph& graph);
// A per-channel (or scalar) multiply, divide, add or subtract by a constant right after a
// convolution, and affine activations there, become the convolution's weights and bias
// (exported graphs often spell batch norm and bias this way).
void fold_channel_affine(Graph& graph);
void fuse_activations(Graph& graph);
// Needs the value shapes (a broadcasting add cannot become a sum post-op).
void fuse_sums(Graph& graph, const std::vector<Shape>& shapes);

// All of the above, in the right order. `input_shapes` are the nominal input shapes; when
// empty, sum fusion is skipped.
void optimize(Graph& graph, const std::vector<Shape>& input_shapes);

}  // namespace osprey
