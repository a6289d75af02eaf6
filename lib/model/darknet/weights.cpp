#include "model/darknet/weights.hpp"

#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>

#include "core/error.hpp"

namespace osprey::darknet {

static_assert(std::endian::native == std::endian::little, "the .weights reader assumes a little-endian machine");

namespace {

struct Slot {
  NamedTensor* tensor;
  bool variance;  // rolling_variance: stored as (sqrt(var) + 1e-6)^2, see network.cpp
};

// The tensors in file order: by layer index, then in the layer's field order.
std::vector<Slot> file_order(Graph& graph) {
  std::map<int, std::map<std::string, NamedTensor*>> layers;
  std::map<int, bool> connected;
  for (auto& node : graph.nodes)
    for (auto& t : node.tensors) {
      if (!t.value.empty()) continue;  // fixed by the architecture ([local]'s im2col kernels)
      const size_t dot = t.key.find('.');
      const int layer = std::stoi(t.key.substr(0, dot));
      layers[layer][t.key.substr(dot + 1)] = &t;
      if (node.op == Op::InnerProduct) connected[layer] = true;
    }
  static const std::vector<std::string> conv_order{"biases", "scales", "rolling_mean", "rolling_variance", "weights"};
  static const std::vector<std::string> fc_order{"biases", "weights", "scales", "rolling_mean", "rolling_variance"};
  std::vector<Slot> order;
  for (auto& [layer, fields] : layers)
    for (const auto& field : connected[layer] ? fc_order : conv_order)
      if (auto it = fields.find(field); it != fields.end()) order.push_back({it->second, field == "rolling_variance"});
  return order;
}

}  // namespace

int64_t darknet_weight_count(const Graph& graph) {
  int64_t n = 0;
  for (const auto& node : graph.nodes)
    for (const auto& t : node.tensors)
      if (t.value.empty()) n += element_count(t.shape);
  return n;
}

void bind_darknet_weights(Graph& graph, const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw ModelError(cat(path, ": cannot open Darknet weights file"));
  const auto file_size = static_cast<size_t>(in.tellg());
  in.seekg(0);
  WeightsHeader h;
  if (file_size < 16) throw ModelError(cat(path, ": ", file_size, " bytes is too short for a Darknet .weights header"));
  int32_t head[4];
  in.read(reinterpret_cast<char*>(head), sizeof head);
  h.major = head[0], h.minor = head[1], h.revision = head[2];
  if (h.major > 1000 || h.minor > 1000)
    throw ModelError(cat(path, ": version ", h.major, ".", h.minor, " (transposed [connected] weights) is not supported"));
  if (h.major * 10 + h.minor >= 2) {
    if (file_size < 20) throw ModelError(cat(path, ": ", file_size, " bytes is too short for a Darknet .weights header"));
    in.seekg(12);
    in.read(reinterpret_cast<char*>(&h.seen), 8);
    h.bytes = 20;
  } else {
    h.seen = head[3];
    h.bytes = 16;
  }
  const std::vector<Slot> order = file_order(graph);
  const int64_t expected = darknet_weight_count(graph);
  const size_t body = file_size - h.bytes;
  if (body % 4) throw ModelError(cat(path, ": ", body, " bytes after the header is not a whole number of floats"));
  const auto found = static_cast<int64_t>(body / 4);
  if (found < expected)
    throw ModelError(cat(path, ": truncated: the network needs ", expected, " floats after the ", h.bytes, "-byte header, the file has ", found));
  if (found > expected)
    throw ModelError(cat(path, ": ", found - expected, " floats (", (found - expected) * 4, " bytes) left over after the ", expected,
                         " the network needs (is this file for another cfg?)"));
  for (const Slot& s : order) {
    Tensor t(s.tensor->shape);
    in.read(reinterpret_cast<char*>(t.data.data()), static_cast<std::streamsize>(t.data.size() * sizeof(float)));
    if (!in) throw ModelError(cat(path, ": read error"));
    if (s.variance)
      for (float& v : t.data) {
        const float d = std::sqrt(v) + 1e-6f;
        v = d * d;
      }
    s.tensor->value = std::move(t);
  }
}

}  // namespace osprey::darknet
