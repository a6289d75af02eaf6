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
  Add,              // elementwise, numpy broadcasting (the engine broadcasts the second operand)
  Mul,
  Sub,
  Div,
  Max,
  Min,
  Flatten,          // [N, C, H, W] -> [N, C*H*W] (torch.flatten(x, 1))
  Identity,         // dropout at inference; removed by passes
  Constant,         // a tensor known at load time ("value"), e.g. a broadcast operand from ONNX
  Deconv,           // transposed convolution (ConvParams; weights [out, in/groups, kh, kw])
  Reshape,          // row-major reshape (also squeeze/unsqueeze/flatten at any axis)
  Transpose,        // axis permutation
  Slice,            // strided window per axis
  Pad,              // constant, reflect or edge padding per axis
  Resize,           // nearest or linear interpolation of the last two axes, ONNX Resize semantics
                    // (optionally to the size of a second input's last two axes)
  MatMul,           // numpy matmul of two run-time tensors (rank >= 2, batch axes broadcast)
  L2Norm,           // x / max(||x||_2 over channels, eps) * weight[c] per pixel (SSD's conv4_3)
};

inline bool is_binary(Op op) {
  return op == Op::Add || op == Op::Mul || op == Op::Sub || op == Op::Div || op == Op::Max || op == Op::Min;
}

const char* op_name(Op op);

enum class ActKind {
  Relu, LeakyRelu, Relu6, Clip, Tanh, Sigmoid, HardSwish, SiLU,
  HardSigmoid,  // max(0, min(1, alpha*x + beta))
  Exp, Log, Sqrt, Abs,
  Affine,       // alpha*x + beta (scalar Mul/Add/Neg folded from ONNX)
  Pow,          // x^alpha
  Elu,          // alpha
  Gelu,         // erf form
  Softplus,
};

const char* act_name(ActKind kind);

struct Activation {
  ActKind kind = ActKind::Relu;
  float alpha = 0.0f;  // LeakyRelu slope; Clip lower bound; HardSigmoid/Affine scale; Pow exponent; Elu alpha
  float beta = 0.0f;   // Clip upper bound; HardSigmoid/Affine offset
};

struct ConvParams {
  int out_channels = 0;
  std::array<int, 2> kernel{1, 1};
  std::array<int, 2> stride{1, 1};
  std::array<int, 4> pad{0, 0, 0, 0};  // top, left, bottom, right
  std::array<int, 2> dilation{1, 1};   // torch convention: 1 = dense
  int groups = 1;
  bool bias = false;
  std::array<int, 2> output_padding{0, 0};  // Deconv only
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

struct ReshapeParams {
  Shape shape;  // the output shape
  // ONNX Reshape rules (explicit-graph configs, which keep the batch size free): a 0 copies
  // the input dimension at that position and one -1 is inferred from the element count.
  // Off (the importer's graphs), `shape` is the exact output shape.
  bool relative = false;
};

struct TransposeParams {
  std::vector<int> perm;  // output axis i is input axis perm[i]
};

struct SliceParams {
  // One entry per axis, already clamped: element k of the output along an axis is input
  // element starts + k * steps (steps may be negative).
  std::vector<int64_t> starts, steps;
  Shape out;  // -1 for an axis: as many elements as the input has from `starts` on (resolved per input shape)
};

struct PadParams {
  enum Mode { Constant, Reflect, Edge } mode = Constant;
  std::vector<int64_t> begin, end;  // per axis; negative values crop
  float value = 0.0f;
};

struct ResizeParams {
  enum Mode { Nearest, Linear } mode = Nearest;
  // ONNX coordinate_transformation_mode
  enum Coord { HalfPixel, PytorchHalfPixel, AlignCorners, Asymmetric, TfHalfPixelForNn } coord = HalfPixel;
  // ONNX nearest_mode
  enum Rounding { RoundPreferFloor, RoundPreferCeil, Floor, Ceil } nearest = RoundPreferFloor;
  // Output shape: the full shape (only the last two axes may differ from the input's), or
  // just the last two axes (leading axes follow the input), or empty: floor(input * scale).
  Shape out;
  std::array<float, 2> scale{0, 0};  // explicit scales for the last two axes (0: out/in)
  // The output's last two axes are those of the node's second input, which is read for its
  // shape only (torch's F.interpolate(x, size=y.shape[-2:])); `out` and `scale` stay empty.
  bool size_from_second_input = false;
};

// torch's scale_weight * F.normalize(x, p=2, dim=1, eps): tensor "weight" [C].
struct L2NormParams {
  float eps = 1e-12f;
};

using NodeParams = std::variant<std::monostate, ConvParams, PoolParams, AdaptivePoolParams, InnerProductParams,
                                BatchNormParams, LRNParams, Activation, AxisParams, ReshapeParams, TransposeParams,
                                SliceParams, PadParams, ResizeParams, L2NormParams>;

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

// A node of `op` on `inputs` with `params`, not yet named or bound: how importers make them.
Node make_node(Op op, std::vector<int> inputs, NodeParams params = {});

struct Graph {
  std::vector<Node> nodes;
  std::vector<int> inputs;   // node indices of the graph inputs (Op::Input)
  std::vector<int> outputs;  // node indices whose values are the graph outputs
  std::vector<std::string> output_names;
  // Weights-file keys the architecture knows but does not use at inference (aux heads).
  std::vector<std::string> ignored_key_prefixes;

  int add(Node node);  // appends, checks inputs refer to earlier nodes, returns its index
  std::vector<std::string> input_names;  // one per graph input
  // Every use of value `from` (node inputs and graph outputs) now reads value `to`.
  void replace_uses(int from, int to);
  // Number of live nodes reading value `id` (plus one per graph output slot).
  int use_count(int id) const;
  int live_node_count() const;
};

}  // namespace osprey
