// Convenience for family builders: appends layers to a graph, tracks channel counts, and
// declares each layer's weights under its torchvision state_dict key with the expected
// shape ("layer1.0.conv1" -> "layer1.0.conv1.weight" [64, 64, 3, 3]).
#pragma once

#include <array>
#include <string>
#include <vector>

#include "engine/graph.hpp"

namespace osprey {

struct ConvSpec {
  int out = 0;
  std::array<int, 2> kernel{1, 1};
  std::array<int, 2> stride{1, 1};
  std::array<int, 2> pad{0, 0};  // symmetric (top/bottom, left/right)
  int groups = 1;
  std::array<int, 2> dilation{1, 1};
  bool bias = true;
};

class GraphBuilder {
 public:
  explicit GraphBuilder(int in_channels, const std::string& input_name = "input");

  int input() const { return input_; }
  int channels(int value) const { return channels_.at(value); }

  int conv(const std::string& name, int x, const ConvSpec& spec);
  int batch_norm(const std::string& name, int x, float eps = 1e-5f);
  int activation(const std::string& name, int x, Activation act);
  int relu(const std::string& name, int x) { return activation(name, x, {ActKind::Relu}); }
  int max_pool(const std::string& name, int x, std::array<int, 2> kernel, std::array<int, 2> stride, std::array<int, 2> pad = {0, 0},
               bool ceil_mode = false);
  int avg_pool(const std::string& name, int x, std::array<int, 2> kernel, std::array<int, 2> stride, std::array<int, 2> pad = {0, 0},
               bool ceil_mode = false, bool count_include_pad = true);
  int adaptive_avg_pool(const std::string& name, int x, std::array<int, 2> output);
  int lrn(const std::string& name, int x, int size, float alpha, float beta, float k);
  int flatten(const std::string& name, int x);
  int linear(const std::string& name, int x, int in_features, int out_features, bool bias = true);
  int concat(const std::string& name, const std::vector<int>& xs);
  int add(const std::string& name, int a, int b);
  // a * b; b may be [N, C, 1, 1] (broadcast over the spatial axes: squeeze-and-excitation).
  int mul(const std::string& name, int a, int b);
  // torch's F.interpolate(x, size=like.shape[-2:], mode="nearest"): src = floor(dst * in / out).
  int upsample_nearest_like(const std::string& name, int x, int like);
  int softmax(const std::string& name, int x);
  // weight[c] * F.normalize(x, dim=1, eps): the per-channel weight is the tensor `weight_key`.
  int l2_norm(const std::string& name, int x, const std::string& weight_key, float eps = 1e-12f);
  void output(int x, const std::string& name = "output");
  void ignore_keys(const std::string& prefix) { graph_.ignored_key_prefixes.push_back(prefix); }

  Graph finish();

 private:
  int append(Node node, int out_channels);

  Graph graph_;
  std::vector<int> channels_;
  int input_ = -1;
};

}  // namespace osprey
