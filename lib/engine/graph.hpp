// The layer graph: Osprey's intermediate representation of a network.
//
// A graph is a list of nodes in execution (topological) order. Each node produces one
// value, named by the node's index; its inputs are indices of earlier nodes. Nodes carry
// their hyperparameters as a typed struct and their weights as named tensors whose keys
// follow torchvision's state_dict ("layer1.0.conv1.weight"). Graph passes (passes.hpp)
// rewrite the graph in place (batch norm folding, activation and sum fusion); the
// executor (executor.hpp) turns it into oneDNN primitives for one input shape.
#pragma once

#include <array>
#include <string>
#include <variant>
#include <vector>

#include "core/tensor.hpp"

namespace osprey {

enum class Op {
  Input,
  Conv,             // 2-D convolution, with groups, stride, padding, dilation
  Pool,             // max or average pooling, ceil mode, count_include_pad
  AdaptiveAvgPool,  // torch's AdaptiveAvgPool2d
  InnerProduct,     // fully connected (torch Linear) on [N, features]
  BatchNorm,        // inference batch norm; folded into a preceding conv when there is one
  LRN,              // local response normalisation across channels (AlexNet)
  Activation,       // elementwise activation
  Softmax,
  Concat,
  Add,              // elementwise, second operand may broadcast
  Mul,
  Flatten,          // [N, C, H, W] -> [N, C*H*W] (torch.flatten(x, 1))
  Identity,         // dropout at inference; removed by passes
};

const char* op_name(Op op);

enum class ActKind { Relu, LeakyRelu, Relu6, Clip, Tanh, Sigmoid, HardSwish, SiLU };

const char* act_name(ActKind kind);

struct Activation {
  ActKind kind = ActKind::Relu;
  float alpha = 0.0f;  // LeakyRelu slope; Clip lower bound
  float beta = 0.0f;   // Clip upper bound
};

struct ConvParams {
  int out_channels = 0;
  std::array<int, 2> kernel{1, 1};
  std::array<int, 2> stride{1, 1};
  std::array<int, 4> pad{0, 0, 0, 0};  // top, left, bottom, right
  std::array<int, 2> dilation{1, 1};   // torch convention: 1 = dense
  int groups = 1;
  bool bias = false;
};

struct PoolParams {
  bool max = true;
  std::array<int, 2> kernel{2, 2};
  std::array<int, 2> stride{2, 2};
  std::array<int, 4> pad{0, 0, 0, 0};  // top, left, bottom, right
  bool ceil_mode = false;
  bool count_include_pad = true;  // average pooling only
  bool global = false;            // kernel = whole feature map
};

struct AdaptivePoolParams {
  std::array<int, 2> output{1, 1};
};

struct InnerProductParams {
  int out_features = 0;
  bool bias = true;
};

struct BatchNormParams {
  float eps = 1e-5f;
};

struct LRNParams {
  int size = 5;
  float alpha = 1e-4f;
  float beta = 0.75f;
  float k = 1.0f;
};

struct AxisParams {
  int axis = 1;
};

using NodeParams = std::variant<std::monostate, ConvParams, PoolParams, AdaptivePoolParams, InnerProductParams,
                                BatchNormParams, LRNParams, Activation, AxisParams>;

// A fused post-operation, applied in order to a producer's result inside its primitive.
struct PostOp {
  enum Kind { Act, Sum } kind = Act;
  Activation act;  // for Act
  // Sum adds the node's last input (an extra operand appended by the sum-fusion pass).
};

// A weight tensor of a node: its role ("weight", "bias", "running_mean" ...), the key it
// has in the weights file, the shape the architecture expects, and once bound, its data.
struct NamedTensor {
  std::string role;
  std::string key;
  Shape shape;
  Tensor value;  // empty until weights are bound
};

struct Node {
  std::string name;  // torchvision module path, e.g. "layer1.0.conv1"
  Op op = Op::Identity;
  std::vector<int> inputs;
  NodeParams params;
  std::vector<NamedTensor> tensors;
  std::vector<PostOp> post_ops;
  bool dead = false;  // removed by a pass; skipped by the executor

  const Tensor& tensor(const std::string& role) const;  // throws if absent or unbound
  Tensor* find_tensor(const std::string& role);
  bool has_tensor(const std::string& role) const;

  template <typename P>
  const P& get() const { return std::get<P>(params); }
  template <typename P>
  P& get() { return std::get<P>(params); }
};

struct Graph {
  std::vector<Node> nodes;
  std::vector<int> inputs;   // node indices of the graph inputs (Op::Input)
  std::vector<int> outputs;  // node indices whose values are the graph outputs
  std::vector<std::string> output_names;
  // Weights-file keys the architecture knows but does not use at inference (aux heads).
  std::vector<std::string> ignored_key_prefixes;

  int add(Node node);  // appends, checks inputs refer to earlier nodes, returns its index
  // Every use of value `from` (node inputs and graph outputs) now reads value `to`.
  void replace_uses(int from, int to);
  // Number of live nodes reading value `id` (plus one per graph output slot).
  int use_count(int id) const;
  int live_node_count() const;
};

}  // namespace osprey
