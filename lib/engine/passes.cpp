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

// Folds y = conv(x) * s + b (per output channel) into the conv's weights and bias.
void scale_and_shift(Node& conv, const std::vector<float>& scale, const std::vector<float>& shift) {
  auto& p = conv.get<ConvParams>();
  const auto channels = static_cast<size_t>(p.out_channels);
  Tensor* w = conv.find_tensor("weight");
  const size_t per_out = w->data.size() / channels;
  for (size_t o = 0; o < channels; ++o)
    for (size_t k = 0; k < per_out; ++k) w->data[o * per_out + k] *= scale[o];
  Tensor bias(Shape{p.out_channels});
  if (const Tensor* b = conv.find_tensor("bias"); b && !b->empty()) bias = *b;
  for (size_t o = 0; o < channels; ++o) bias.data[o] = bias.data[o] * scale[o] + shift[o];
  if (Tensor* b = conv.find_tensor("bias")) {
    *b = std::move(bias);
  } else {
    conv.tensors.push_back({"bias", conv.name + ".bias (folded)", Shape{p.out_channels}, std::move(bias)});
  }
  p.bias = true;
}

void fold_into_conv(Node& conv, const Node& bn) {
  const float eps = bn.get<BatchNormParams>().eps;
  const Tensor& gamma = bn.tensor("weight");
  const Tensor& beta = bn.tensor("bias");
  const Tensor& mean = bn.tensor("running_mean");
  const Tensor& var = bn.tensor("running_var");
  if (conv.find_tensor("weight") == nullptr || conv.find_tensor("weight")->empty())
    throw ModelError(cat("layer '", conv.name, "': weights not loaded before folding"));
  const auto channels = static_cast<size_t>(conv.get<ConvParams>().out_channels);
  std::vector<float> scale(channels), shift(channels);
  for (size_t o = 0; o < channels; ++o) {
    // eval-mode batch norm: (x - mean) / sqrt(var + eps) * gamma + beta
    scale[o] = gamma.data[o] / std::sqrt(var.data[o] + eps);
    shift[o] = beta.data[o] - mean.data[o] * scale[o];
  }
  scale_and_shift(conv, scale, shift);
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

namespace {

// The per-output-channel factors of a constant operand that broadcasts over a conv result
// [N, C, H, W] along C only, or an empty vector.
std::vector<float> per_channel(const Node& constant, int64_t channels) {
  if (constant.op != Op::Constant) return {};
  const Tensor& t = constant.tensor("value");
  Shape s = t.shape;
  while (s.size() < 4) s.insert(s.begin(), 1);
  if (s.size() != 4 || s[0] != 1 || s[2] != 1 || s[3] != 1 || (s[1] != channels && s[1] != 1)) return {};
  return s[1] == channels ? t.data : std::vector<float>(static_cast<size_t>(channels), t.data.at(0));
}

}  // namespace

void fold_channel_affine(Graph& graph) {
  for (size_t id = 0; id < graph.nodes.size(); ++id) {
    Node& node = graph.nodes[id];
    if (node.dead) continue;
    const bool affine = node.op == Op::Activation && node.get<Activation>().kind == ActKind::Affine;
    if (!affine && node.op != Op::Mul && node.op != Op::Add && node.op != Op::Sub && node.op != Op::Div) continue;
    // conv side first; a constant first operand is fine for the commutative ops only
    int conv_id = node.inputs[0], const_id = affine ? -1 : node.inputs.size() > 1 ? node.inputs[1] : -1;
    if (!affine && graph.nodes[conv_id].op == Op::Constant && (node.op == Op::Mul || node.op == Op::Add)) std::swap(conv_id, const_id);
    Node& conv = graph.nodes[conv_id];
    if ((conv.op != Op::Conv && conv.op != Op::Deconv) || !conv.post_ops.empty() || conv.find_tensor("weight") == nullptr ||
        conv.find_tensor("weight")->empty() || sole_consumer(graph, conv_id) != static_cast<int>(id))
      continue;
    const int64_t channels = conv.get<ConvParams>().out_channels;
    std::vector<float> scale(static_cast<size_t>(channels), 1.0f), shift(static_cast<size_t>(channels), 0.0f);
    if (affine) {
      const auto& a = node.get<Activation>();
      std::fill(scale.begin(), scale.end(), a.alpha);
      std::fill(shift.begin(), shift.end(), a.beta);
    } else {
      const std::vector<float> c = per_channel(graph.nodes[const_id], channels);
      if (c.empty()) continue;
      for (size_t o = 0; o < c.size(); ++o) {
        if (node.op == Op::Mul) scale[o] = c[o];
        if (node.op == Op::Div) scale[o] = 1.0f / c[o];
        if (node.op == Op::Add) shift[o] = c[o];
        if (node.op == Op::Sub) shift[o] = -c[o];
      }
    }
    scale_and_shift(conv, scale, shift);
    graph.replace_uses(static_cast<int>(id), conv_id);
    node.dead = true;
  }
}

namespace {

// Activations whose oneDNN forms share an eltwise algorithm cannot both be post-ops of
// one primitive: oneDNN 2.6 then applies the first one's alpha/beta twice (measured:
// conv -> x*2 -> x+1 came out as 4x). Two affine steps are merged into one instead.
bool shares_algorithm(const Activation& a, const Activation& b) {
  auto family = [](ActKind k) {
    switch (k) {
      case ActKind::Relu:
      case ActKind::LeakyRelu: return 0;
      case ActKind::Relu6:
      case ActKind::Clip:
      case ActKind::HardSigmoid: return 1;  // clip_v2 (hardsigmoid also uses linear)
      case ActKind::Affine: return 2;
      default: return 3 + static_cast<int>(k);
    }
  };
  const bool a_linear = a.kind == ActKind::Affine || a.kind == ActKind::HardSigmoid;
  const bool b_linear = b.kind == ActKind::Affine || b.kind == ActKind::HardSigmoid;
  return family(a.kind) == family(b.kind) || (a_linear && b_linear);
}

// Adds `act` to the producer's post-ops if oneDNN can apply it there correctly.
bool append_activation(Node& producer, const Activation& act) {
  if (!producer.post_ops.empty() && producer.post_ops.back().kind == PostOp::Act &&
      producer.post_ops.back().act.kind == ActKind::Affine && act.kind == ActKind::Affine) {
    Activation& last = producer.post_ops.back().act;  // a2 (a1 x + b1) + b2
    last.beta = act.alpha * last.beta + act.beta;
    last.alpha = act.alpha * last.alpha;
    return true;
  }
  for (const auto& po : producer.post_ops)
    if (po.kind == PostOp::Act && shares_algorithm(po.act, act)) return false;
  producer.post_ops.push_back({PostOp::Act, act});
  return true;
}

}  // namespace

void fuse_activations(Graph& graph) {
  for (size_t id = 0; id < graph.nodes.size(); ++id) {
    Node& act = graph.nodes[id];
    if (act.dead || act.op != Op::Activation) continue;
    const int src = act.inputs.at(0);
    Node& producer = graph.nodes[src];
    const bool can_fuse = producer.op == Op::Conv || producer.op == Op::InnerProduct || is_binary(producer.op) ||
                          producer.op == Op::Deconv;
    if (!can_fuse || sole_consumer(graph, src) != static_cast<int>(id)) continue;
    if (!append_activation(producer, act.get<Activation>())) continue;
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
  fold_channel_affine(graph);
  fuse_activations(graph);
  if (!input_shapes.empty()) fuse_sums(graph, infer_shapes(graph, input_shapes));
}

}  // namespace osprey
