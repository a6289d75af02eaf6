// Darknet's .weights format (pjreddie/darknet src/parser.c load_weights_upto): a header of
// int32 major, minor, revision and `seen` (int64 when major * 10 + minor >= 2, else int32),
// then raw little-endian float32 per layer in cfg order:
//   [convolutional]: biases, [scales, rolling_mean, rolling_variance if batch_normalize], weights
//   [connected]:     biases, weights
// Darknet reads whatever is there; here a short file, or bytes left over, is an error naming
// the file and the counts.
#pragma once

#include <cstdint>
#include <string>

#include "engine/graph.hpp"

namespace osprey::darknet {

struct WeightsHeader {
  int32_t major = 0, minor = 0, revision = 0;
  int64_t seen = 0;
  size_t bytes = 0;  // header size: 16 or 20
};

// Binds `path` to the tensors a graph from build_network declares (keys "<layer>.<field>").
void bind_darknet_weights(Graph& graph, const std::string& path);

// The number of floats the graph's Darknet tensors take.
int64_t darknet_weight_count(const Graph& graph);

}  // namespace osprey::darknet
