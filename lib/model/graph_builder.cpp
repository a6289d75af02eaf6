#include "model/graph_builder.hpp"

#include "core/error.hpp"

namespace osprey {

GraphBuilder::GraphBuilder(int in_channels, const std::string& input_name) {
  Node in;
  in.name = input_name;
  in.op = Op::Input;
  input_ = append(std::move(in), in_channels);
}

int GraphBuilder::append(Node node, int out_channels) {
  const int id = graph_.add(std::move(node));
  channels_.push_back(out_channels);
  return id;
}

int GraphBuilder::conv(const std::string& name, int x, const ConvSpec& s) {
  const int in = channels(x);
  if (in % s.groups || s.out % s.groups) throw ModelError(cat("layer '", name, "': channels ", in, " -> ", s.out, " do not divide into ", s.groups, " groups"));
  ConvParams p;
  p.out_channels = s.out;
  p.kernel = s.kernel;
  p.stride = s.stride;
  p.pad = {s.pad[0], s.pad[1], s.pad[0], s.pad[1]};
  p.dilation = s.dilation;
  p.groups = s.groups;
  p.bias = s.bias;
  Node n{name, Op::Conv, {x}, p, {}, {}, false};
  n.tensors.push_back({"weight", name + ".weight", {s.out, in / s.groups, s.kernel[0], s.kernel[1]}, {}});
  if (s.bias) n.tensors.push_back({"bias", name + ".bias", {s.out}, {}});
  return append(std::move(n), s.out);
}

int GraphBuilder::batch_norm(const std::string& name, int x, float eps) {
  const int64_t c = channels(x);
  Node n{name, Op::BatchNorm, {x}, BatchNormParams{eps}, {}, {}, false};
  for (const char* role : {"weight", "bias", "running_mean", "running_var"}) n.tensors.push_back({role, name + "." + role, {c}, {}});
  return append(std::move(n), channels(x));
}

int GraphBuilder::activation(const std::string& name, int x, Activation act) {
  return append(Node{name, Op::Activation, {x}, act, {}, {}, false}, channels(x));
}

int GraphBuilder::max_pool(const std::string& name, int x, std::array<int, 2> kernel, std::array<int, 2> stride,
                           std::array<int, 2> pad, bool ceil_mode) {
  PoolParams p{true, kernel, stride, {pad[0], pad[1], pad[0], pad[1]}, ceil_mode, true, false};
  return append(Node{name, Op::Pool, {x}, p, {}, {}, false}, channels(x));
}

int GraphBuilder::avg_pool(const std::string& name, int x, std::array<int, 2> kernel, std::array<int, 2> stride,
                           std::array<int, 2> pad, bool ceil_mode, bool count_include_pad) {
  PoolParams p{false, kernel, stride, {pad[0], pad[1], pad[0], pad[1]}, ceil_mode, count_include_pad, false};
  return append(Node{name, Op::Pool, {x}, p, {}, {}, false}, channels(x));
}

int GraphBuilder::adaptive_avg_pool(const std::string& name, int x, std::array<int, 2> output) {
  return append(Node{name, Op::AdaptiveAvgPool, {x}, AdaptivePoolParams{output}, {}, {}, false}, channels(x));
}

int GraphBuilder::lrn(const std::string& name, int x, int size, float alpha, float beta, float k) {
  return append(Node{name, Op::LRN, {x}, LRNParams{size, alpha, beta, k}, {}, {}, false}, channels(x));
}

int GraphBuilder::flatten(const std::string& name, int x) {
  return append(Node{name, Op::Flatten, {x}, AxisParams{1}, {}, {}, false}, 0);
}

int GraphBuilder::linear(const std::string& name, int x, int in_features, int out_features, bool bias) {
  Node n{name, Op::InnerProduct, {x}, InnerProductParams{out_features, bias}, {}, {}, false};
  n.tensors.push_back({"weight", name + ".weight", {out_features, in_features}, {}});
  if (bias) n.tensors.push_back({"bias", name + ".bias", {out_features}, {}});
  return append(std::move(n), out_features);
}

int GraphBuilder::concat(const std::string& name, const std::vector<int>& xs) {
  int c = 0;
  for (int x : xs) c += channels(x);
  return append(Node{name, Op::Concat, xs, AxisParams{1}, {}, {}, false}, c);
}

int GraphBuilder::add(const std::string& name, int a, int b) {
  return append(Node{name, Op::Add, {a, b}, {}, {}, {}, false}, channels(a));
}

int GraphBuilder::mul(const std::string& name, int a, int b) {
  return append(Node{name, Op::Mul, {a, b}, {}, {}, {}, false}, channels(a));
}

int GraphBuilder::upsample_nearest_like(const std::string& name, int x, int like) {
  ResizeParams p;
  p.mode = ResizeParams::Nearest;
  p.coord = ResizeParams::Asymmetric;
  p.nearest = ResizeParams::Floor;
  p.size_from_second_input = true;
  return append(Node{name, Op::Resize, {x, like}, p, {}, {}, false}, channels(x));
}

int GraphBuilder::softmax(const std::string& name, int x) {
  return append(Node{name, Op::Softmax, {x}, AxisParams{1}, {}, {}, false}, channels(x));
}

int GraphBuilder::l2_norm(const std::string& name, int x, const std::string& weight_key, float eps) {
  Node n{name, Op::L2Norm, {x}, L2NormParams{eps}, {}, {}, false};
  n.tensors.push_back({"weight", weight_key, {channels(x)}, {}});
  return append(std::move(n), channels(x));
}

void GraphBuilder::output(int x, const std::string& name) {
  graph_.outputs.push_back(x);
  graph_.output_names.push_back(name);
}

Graph GraphBuilder::finish() {
  if (graph_.outputs.empty()) throw ModelError("graph has no output");
  return std::move(graph_);
}

}  // namespace osprey
