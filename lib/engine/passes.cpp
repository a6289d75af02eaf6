#include "engine/passes.hpp"

#include <cmath>

#include "core/error.hpp"
#include "engine/shapes.hpp"

namespace osprey {

void remove_identities(Graph& graph) {
  for (size_t id = 0; id < graph.nodes.size(); ++id) {
    Node& node = graph.nodes[id];
    if (node.dead || node.op != Op::Identity) continue;
    graph.replace_uses(static_cast<int>(id), node.inputs.at(0));
    node.dead = true;
  }
}

namespace {

// The single live consumer of value `id`, or -1 if it has none or several (or is a graph output).
int sole_consumer(const Graph& graph, int id) {
  if (graph.use_count(id) != 1) return -1;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& n = graph.nodes[i];
    if (n.dead) continue;
    for (int in : n.inputs)
      if (in == id) return static_cast<int>(i);
  }
  return -1;
}

void fold_into_conv(Node& conv, const Node& bn) {
  const auto& p = conv.get<ConvParams>();
  const float eps = bn.get<BatchNormParams>().eps;
  const Tensor& gamma = bn.tensor("weight");
  const Tensor& beta = bn.tensor("bias");
  const Tensor& mean = bn.tensor("running_mean");
  const Tensor& var = bn.tensor("running_var");
  Tensor* weight = conv.find_tensor("weight");
  if (!weight || weight->empty()) throw ModelError(cat("layer '", conv.name, "': weights not loaded before folding"));
  const int64_t out = p.out_channels;
  const int64_t per_out = weight->size() / out;

  Tensor bias(Shape{out});
  if (const Tensor* b = conv.find_tensor("bias"); b && !b->empty()) bias = *b;
  for (int64_t o = 0; o < out; ++o) {
    // Same arithmetic as torch's eval-mode batch norm: (x - mean) / sqrt(var + eps) * gamma + beta.
    const float scale = gamma.data[o] / std::sqrt(var.data[o] + eps);
    for (int64_t k = 0; k < per_out; ++k) weight->data[o * per_out + k] *= scale;
    bias.data[o] = (bias.data[o] - mean.data[o]) * scale + beta.data[o];
  }
  if (Tensor* b = conv.find_tensor("bias")) {
    *b = std::move(bias);
  } else {
    conv.tensors.push_back({"bias", bn.name + " (folded)", Shape{out}, std::move(bias)});
  }
  conv.get<ConvParams>().bias = true;
}

}  // namespace

void fold_batch_norms(Graph& graph) {
  for (size_t id = 0; id < graph.nodes.size(); ++id) {
    Node& bn = graph.nodes[id];
    if (bn.dead || bn.op != Op::BatchNorm) continue;
    const int src = bn.inputs.at(0);
    Node& conv = graph.nodes[src];
    if (conv.op != Op::Conv || !conv.post_ops.empty() || sole_consumer(graph, src) != static_cast<int>(id)) continue;
    fold_into_conv(conv, bn);
    graph.replace_uses(static_cast<int>(id), src);
    bn.dead = true;
  }
}

void fuse_activations(Graph& graph) {
  for (size_t id = 0; id < graph.nodes.size(); ++id) {
    Node& act = graph.nodes[id];
    if (act.dead || act.op != Op::Activation) continue;
    const int src = act.inputs.at(0);
    Node& producer = graph.nodes[src];
    const bool can_fuse = producer.op == Op::Conv || producer.op == Op::InnerProduct || producer.op == Op::Add ||
                          producer.op == Op::Mul;
    if (!can_fuse || sole_consumer(graph, src) != static_cast<int>(id)) continue;
    producer.post_ops.push_back({PostOp::Act, act.get<Activation>()});
    graph.replace_uses(static_cast<int>(id), src);
    act.dead = true;
  }
}

void fuse_sums(Graph& graph, const std::vector<Shape>& shapes) {
  for (size_t id = 0; id < graph.nodes.size(); ++id) {
    Node& add = graph.nodes[id];
    if (add.dead || add.op != Op::Add || add.inputs.size() != 2) continue;
    for (int side = 0; side < 2; ++side) {
      const int conv_id = add.inputs[side];
      const int other = add.inputs[1 - side];
      const Node& conv = graph.nodes[conv_id];
      if (conv.op != Op::Conv || !conv.post_ops.empty() || sole_consumer(graph, conv_id) != static_cast<int>(id)) continue;
      if (shapes[conv_id] != shapes[other]) continue;  // broadcasting: keep the add
      // The add becomes the convolution, at the add's place in the order, so that the
      // other operand is computed before it runs.
      Node fused = std::move(graph.nodes[conv_id]);
      graph.nodes[conv_id] = Node{};
      graph.nodes[conv_id].name = fused.name;
      graph.nodes[conv_id].dead = true;
      fused.inputs.push_back(other);
      fused.post_ops.push_back({PostOp::Sum, {}});
      for (const auto& po : add.post_ops) fused.post_ops.push_back(po);
      add = std::move(fused);
      break;
    }
  }
}

void optimize(Graph& graph, const std::vector<Shape>& input_shapes) {
  remove_identities(graph);
  fold_batch_norms(graph);
  fuse_activations(graph);
  if (!input_shapes.empty()) fuse_sums(graph, infer_shapes(graph, input_shapes));
}

}  // namespace osprey
