#include "engine/graph.hpp"

#include "core/error.hpp"

namespace osprey {

Node make_node(Op op, std::vector<int> inputs, NodeParams params) {
  Node n;
  n.op = op;
  n.inputs = std::move(inputs);
  n.params = std::move(params);
  return n;
}

const char* op_name(Op op) {
  switch (op) {
    case Op::Input: return "input";
    case Op::Conv: return "conv";
    case Op::Pool: return "pool";
    case Op::AdaptiveAvgPool: return "adaptive_avg_pool";
    case Op::InnerProduct: return "linear";
    case Op::BatchNorm: return "batch_norm";
    case Op::LRN: return "lrn";
    case Op::Activation: return "activation";
    case Op::Softmax: return "softmax";
    case Op::Concat: return "concat";
    case Op::Add: return "add";
    case Op::Mul: return "mul";
    case Op::Sub: return "sub";
    case Op::Div: return "div";
    case Op::Max: return "max";
    case Op::Min: return "min";
    case Op::Flatten: return "flatten";
    case Op::Identity: return "identity";
    case Op::Constant: return "constant";
    case Op::Deconv: return "deconv";
    case Op::Reshape: return "reshape";
    case Op::Transpose: return "transpose";
    case Op::Slice: return "slice";
    case Op::Pad: return "pad";
    case Op::Resize: return "resize";
    case Op::MatMul: return "matmul";
    case Op::L2Norm: return "l2_norm";
  }
  return "?";
}

const char* act_name(ActKind kind) {
  switch (kind) {
    case ActKind::Relu: return "relu";
    case ActKind::LeakyRelu: return "leaky_relu";
    case ActKind::Relu6: return "relu6";
    case ActKind::Clip: return "clip";
    case ActKind::Tanh: return "tanh";
    case ActKind::Sigmoid: return "sigmoid";
    case ActKind::HardSwish: return "hardswish";
    case ActKind::SiLU: return "silu";
    case ActKind::HardSigmoid: return "hardsigmoid";
    case ActKind::Exp: return "exp";
    case ActKind::Log: return "log";
    case ActKind::Sqrt: return "sqrt";
    case ActKind::Abs: return "abs";
    case ActKind::Affine: return "affine";
    case ActKind::Pow: return "pow";
    case ActKind::Elu: return "elu";
    case ActKind::Gelu: return "gelu";
    case ActKind::Softplus: return "softplus";
  }
  return "?";
}

bool Node::has_tensor(const std::string& role) const {
  for (const auto& t : tensors)
    if (t.role == role) return true;
  return false;
}

Tensor* Node::find_tensor(const std::string& role) {
  for (auto& t : tensors)
    if (t.role == role) return &t.value;
  return nullptr;
}

const Tensor& Node::tensor(const std::string& role) const {
  for (const auto& t : tensors) {
    if (t.role != role) continue;
    if (t.value.empty() && t.value.shape.empty())  // (a zero-element tensor has a shape)
      throw ModelError(cat("layer '", name, "': tensor '", t.key, "' has no data (weights not loaded)"));
    return t.value;
  }
  throw ModelError(cat("layer '", name, "' has no '", role, "' tensor"));
}

int Graph::add(Node node) {
  const int id = static_cast<int>(nodes.size());
  for (int in : node.inputs)
    if (in < 0 || in >= id) throw ModelError(cat("layer '", node.name, "' reads value ", in, " which is not defined before it"));
  if (node.op == Op::Input) inputs.push_back(id);
  nodes.push_back(std::move(node));
  return id;
}

void Graph::replace_uses(int from, int to) {
  for (auto& n : nodes)
    for (int& in : n.inputs)
      if (in == from) in = to;
  for (int& out : outputs)
    if (out == from) out = to;
}

int Graph::use_count(int id) const {
  int uses = 0;
  for (const auto& n : nodes) {
    if (n.dead) continue;
    for (int in : n.inputs) uses += (in == id);
  }
  for (int out : outputs) uses += (out == id);
  return uses;
}

int Graph::live_node_count() const {
  int count = 0;
  for (const auto& n : nodes) count += !n.dead;
  return count;
}

}  // namespace osprey
