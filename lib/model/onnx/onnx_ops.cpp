// ONNX op -> layer graph. Each converter reads its inputs (constants are folded when every
// input is known), checks what the engine supports, and appends engine nodes. Semantics
// follow the ONNX operator specification for opsets 7-17.
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <numeric>

#include "core/error.hpp"
#include "engine/shapes.hpp"
#include "model/onnx/importer.hpp"

namespace osprey {

namespace {

using Converter = std::function<void(Importer&, const onnx::NodeProto&)>;

int normalise_axis(Importer& im, const onnx::NodeProto& node, int64_t axis, size_t rank) {
  const int64_t r = static_cast<int64_t>(rank);
  if (axis < -r || axis >= r) im.fail(node, cat("axis ", axis, " is out of range for rank ", rank));
  return static_cast<int>(axis < 0 ? axis + r : axis);
}

bool all_constant(Importer& im, const onnx::NodeProto& node) {
  for (int i = 0; i < node.input_size(); ++i)
    if (im.has_input(node, i) && !im.is_constant(node, i)) return false;
  return true;
}

// Runtime reshape (or folded one) of input 0 to `shape`.
void emit_reshape(Importer& im, const onnx::NodeProto& node, const Shape& shape) {
  if (element_count(shape) != element_count(im.shape(node, 0)))
    im.fail(node, cat("cannot reshape ", to_string(im.shape(node, 0)), " to ", to_string(shape)));
  if (im.is_constant(node, 0)) {
    im.set_constant(node.output(0), reshaped(im.constant(node, 0), shape));
    return;
  }
  if (shape == im.shape(node, 0)) {
    im.alias(node.output(0), node.input(0));
    return;
  }
  im.add(node, make_node(Op::Reshape, {im.runtime(node, 0)}, ReshapeParams{shape}));
}

// ------------------------------------------------------------ convolution family

std::array<int, 4> conv_pads(Importer& im, const onnx::NodeProto& node, const Shape& in, const std::array<int, 2>& kernel,
                             const std::array<int, 2>& stride, const std::array<int, 2>& dilation) {
  const std::string auto_pad = attr_string(node, "auto_pad", "NOTSET");
  std::array<int, 4> pad{0, 0, 0, 0};
  if (auto_pad == "NOTSET") {
    const auto p = attr_ints(node, "pads");
    if (!p.empty()) {
      if (p.size() != 4) im.fail(node, "only 2-D pads (4 values) are supported");
      pad = {static_cast<int>(p[0]), static_cast<int>(p[1]), static_cast<int>(p[2]), static_cast<int>(p[3])};
    }
  } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    for (int i = 0; i < 2; ++i) {
      const int64_t extent = in[2 + i];
      const int64_t out = (extent + stride[i] - 1) / stride[i];
      const int64_t total = std::max<int64_t>(0, (out - 1) * stride[i] + (kernel[i] - 1) * dilation[i] + 1 - extent);
      const int small = static_cast<int>(total / 2), big = static_cast<int>(total - total / 2);
      pad[i] = auto_pad == "SAME_UPPER" ? small : big;
      pad[2 + i] = auto_pad == "SAME_UPPER" ? big : small;
    }
  } else if (auto_pad != "VALID") {
    im.fail(node, cat("auto_pad '", auto_pad, "' is not supported"));
  }
  return pad;
}

std::array<int, 2> pair_attr(Importer& im, const onnx::NodeProto& node, const std::string& name, int fallback) {
  const auto v = attr_ints(node, name);
  if (v.empty()) return {fallback, fallback};
  if (v.size() != 2) im.fail(node, cat("attribute '", name, "' must have 2 values (only 2-D is supported)"));
  return {static_cast<int>(v[0]), static_cast<int>(v[1])};
}

void convert_conv(Importer& im, const onnx::NodeProto& node) {
  const Shape& in = im.shape(node, 0);
  if (in.size() != 4) im.fail(node, cat("only 2-D convolution (4-D input) is supported, got ", to_string(in)));
  const ConstTensor& w = im.constant(node, 1);
  if (w.shape.size() != 4) im.fail(node, cat("weight must be 4-D, got ", to_string(w.shape)));
  ConvParams p;
  p.out_channels = static_cast<int>(w.shape[0]);
  p.kernel = {static_cast<int>(w.shape[2]), static_cast<int>(w.shape[3])};
  p.stride = pair_attr(im, node, "strides", 1);
  p.dilation = pair_attr(im, node, "dilations", 1);
  p.groups = static_cast<int>(attr_int(node, "group", 1));
  p.pad = conv_pads(im, node, in, p.kernel, p.stride, p.dilation);
  Node n = make_node(Op::Conv, {im.runtime(node, 0)}, p);
  n.tensors.push_back({"weight", node.input(1), w.shape, w.as_tensor()});
  if (im.has_input(node, 2)) {
    const ConstTensor& b = im.constant(node, 2);
    n.tensors.push_back({"bias", node.input(2), b.shape, b.as_tensor()});
    n.get<ConvParams>().bias = true;
  }
  im.add(node, std::move(n));
}

void convert_conv_transpose(Importer& im, const onnx::NodeProto& node) {
  const Shape& in = im.shape(node, 0);
  if (in.size() != 4) im.fail(node, cat("only 2-D transposed convolution is supported, got ", to_string(in)));
  const ConstTensor& w = im.constant(node, 1);  // [in, out/groups, kh, kw]
  ConvParams p;
  p.groups = static_cast<int>(attr_int(node, "group", 1));
  const int64_t in_c = w.shape[0], out_per_group = w.shape[1], in_per_group = in_c / p.groups;
  p.out_channels = static_cast<int>(out_per_group * p.groups);
  p.kernel = {static_cast<int>(w.shape[2]), static_cast<int>(w.shape[3])};
  p.stride = pair_attr(im, node, "strides", 1);
  p.dilation = pair_attr(im, node, "dilations", 1);
  p.output_padding = pair_attr(im, node, "output_padding", 0);
  const auto output_shape = attr_ints(node, "output_shape");
  const std::string auto_pad = attr_string(node, "auto_pad", "NOTSET");
  if (!output_shape.empty() || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    // Pads that produce the requested size (ONNX: total = stride*(in-1) + output_padding + ((k-1)*d+1) - out).
    for (int i = 0; i < 2; ++i) {
      const int64_t out = !output_shape.empty() ? output_shape[output_shape.size() - 2 + i] : in[2 + i] * p.stride[i];
      const int64_t total = p.stride[i] * (in[2 + i] - 1) + p.output_padding[i] + (p.kernel[i] - 1) * p.dilation[i] + 1 - out;
      if (total < 0) im.fail(node, "output_shape larger than the transposed convolution can make");
      // ONNX: the odd pixel goes at the end for SAME_UPPER, at the start otherwise (NOTSET
      // with output_shape, SAME_LOWER); ONNX Runtime agrees.
      const bool upper = auto_pad == "SAME_UPPER";
      p.pad[i] = static_cast<int>(upper ? total / 2 : total - total / 2);
      p.pad[2 + i] = static_cast<int>(total - p.pad[i]);
    }
  } else {
    p.pad = conv_pads(im, node, in, p.kernel, p.stride, p.dilation);
  }
  // Engine layout: [out, in/groups, kh, kw].
  const int64_t k = w.shape[2] * w.shape[3];
  Tensor weight(Shape{p.out_channels, in_per_group, w.shape[2], w.shape[3]});
  for (int64_t g = 0; g < p.groups; ++g)
    for (int64_t i = 0; i < in_per_group; ++i)
      for (int64_t o = 0; o < out_per_group; ++o)
        for (int64_t e = 0; e < k; ++e)
          weight.data[((g * out_per_group + o) * in_per_group + i) * k + e] = static_cast<float>(w.at(((g * in_per_group + i) * out_per_group + o) * k + e));
  Node n = make_node(Op::Deconv, {im.runtime(node, 0)}, p);
  n.tensors.push_back({"weight", node.input(1), weight.shape, std::move(weight)});
  if (im.has_input(node, 2)) {
    const ConstTensor& b = im.constant(node, 2);
    n.tensors.push_back({"bias", node.input(2), b.shape, b.as_tensor()});
    n.get<ConvParams>().bias = true;
  }
  im.add(node, std::move(n));
}

void convert_binary(Importer& im, const onnx::NodeProto& node, Op op, ConstBinary fold);

// y = x W^T + b on 2-D x, with W [out, in].
void emit_linear(Importer& im, const onnx::NodeProto& node, int x, Tensor weight, Tensor bias, const std::string& output) {
  InnerProductParams p;
  p.out_features = static_cast<int>(weight.shape[0]);
  p.bias = !bias.empty();
  Node n = make_node(Op::InnerProduct, {x}, p);
  n.tensors.push_back({"weight", node.input(1), weight.shape, std::move(weight)});
  if (p.bias) n.tensors.push_back({"bias", node.name() + ".bias", bias.shape, std::move(bias)});
  im.add(node, std::move(n), output);
}

void convert_gemm(Importer& im, const onnx::NodeProto& node) {
  const Shape& a = im.shape(node, 0);
  if (a.size() != 2) im.fail(node, cat("A must be 2-D, got ", to_string(a)));
  int x = im.runtime(node, 0);
  if (attr_int(node, "transA", 0)) {
    onnx::NodeProto t;
    t.set_name(im.node_name(node) + "/transpose_a");
    x = im.add(t, make_node(Op::Transpose, {x}, TransposeParams{{1, 0}}), node.output(0) + "#a_t");
  }
  const ConstTensor& b = im.constant(node, 1);
  const float alpha = attr_float(node, "alpha", 1.0f), beta = attr_float(node, "beta", 1.0f);
  // Weight [N, K]: B as given when transB, else B^T.
  ConstTensor w = attr_int(node, "transB", 0) ? b : fold_transpose(b, {1, 0});
  Tensor weight = w.as_tensor();
  for (float& v : weight.data) v *= alpha;
  Tensor bias;
  const bool per_output_c = im.has_input(node, 2) && im.is_constant(node, 2) &&
                            (im.constant(node, 2).size() == weight.shape[0] || im.constant(node, 2).size() == 1);
  if (im.has_input(node, 2) && !per_output_c) {
    // A run-time or matrix-shaped C: y = (alpha A B) + beta C as a linear layer and an add.
    if (beta != 1.0f) im.fail(node, "beta != 1 with a run-time or matrix-shaped C is not supported");
    const std::string product = node.output(0) + "#ab";
    emit_linear(im, node, x, std::move(weight), Tensor{}, product);
    onnx::NodeProto add;
    add.set_name(im.node_name(node) + "/add_c");
    add.add_input(product);
    add.add_input(node.input(2));
    add.add_output(node.output(0));
    return convert_binary(im, add, Op::Add, ConstBinary::Add);
  }
  if (im.has_input(node, 2)) {
    const ConstTensor& c = im.constant(node, 2);
    if (c.size() != 1 && c.size() != weight.shape[0]) im.fail(node, cat("bias C of shape ", to_string(c.shape), " is not per output"));
    bias = Tensor(Shape{weight.shape[0]});
    for (int64_t i = 0; i < weight.shape[0]; ++i) bias.data[i] = beta * static_cast<float>(c.at(c.size() == 1 ? 0 : i));
  }
  emit_linear(im, node, x, std::move(weight), std::move(bias), node.output(0));
}

void convert_matmul(Importer& im, const onnx::NodeProto& node) {
  if (!im.is_constant(node, 1) || im.constant(node, 1).shape.size() != 2) {
    // Two run-time tensors (or a batched constant): the engine's matmul.
    im.add(node, make_node(Op::MatMul, {im.runtime(node, 0), im.runtime(node, 1)}));
    return;
  }
  const ConstTensor& b = im.constant(node, 1);
  if (b.shape.size() != 2) im.fail(node, cat("B must be 2-D, got ", to_string(b.shape)));
  const Shape a = im.shape(node, 0);
  if (a.empty() || a.back() != b.shape[0]) im.fail(node, cat("shapes ", to_string(a), " and ", to_string(b.shape), " do not multiply"));
  int x = im.runtime(node, 0);
  const int64_t rows = element_count(a) / a.back();
  const std::string flat = node.output(0) + "#2d";
  if (a.size() != 2) {
    onnx::NodeProto reshape;
    reshape.set_name(im.node_name(node) + "/flatten");
    x = im.add(reshape, make_node(Op::Reshape, {x}, ReshapeParams{{rows, a.back()}}), flat);
  }
  const std::string out2d = a.size() == 2 ? node.output(0) : node.output(0) + "#ip";
  emit_linear(im, node, x, fold_transpose(b, {1, 0}).as_tensor(), Tensor{}, out2d);
  if (a.size() != 2) {
    Shape out = a;
    out.back() = b.shape[1];
    onnx::NodeProto reshape;
    reshape.set_name(im.node_name(node) + "/unflatten");
    reshape.add_input(out2d);
    reshape.add_output(node.output(0));
    im.add(reshape, make_node(Op::Reshape, {im.runtime(reshape, 0)}, ReshapeParams{out}));
  }
}

void convert_batch_norm(Importer& im, const onnx::NodeProto& node) {
  Node n = make_node(Op::BatchNorm, {im.runtime(node, 0)}, BatchNormParams{attr_float(node, "epsilon", 1e-5f)});
  const char* roles[] = {"weight", "bias", "running_mean", "running_var"};
  for (int i = 0; i < 4; ++i) {
    const ConstTensor& t = im.constant(node, i + 1);
    n.tensors.push_back({roles[i], node.input(i + 1), t.shape, t.as_tensor()});
  }
  im.add(node, std::move(n));
}

// ------------------------------------------------------------ pooling

void convert_pool(Importer& im, const onnx::NodeProto& node, bool max) {
  const Shape& in = im.shape(node, 0);
  if (in.size() != 4) im.fail(node, cat("only 2-D pooling (4-D input) is supported, got ", to_string(in)));
  for (auto d : attr_ints(node, "dilations"))
    if (d != 1) im.fail(node, "dilated pooling is not supported");
  if (max && node.output_size() > 1 && !node.output(1).empty()) im.fail(node, "the Indices output is not supported");
  PoolParams p;
  p.max = max;
  p.kernel = pair_attr(im, node, "kernel_shape", 1);
  p.stride = pair_attr(im, node, "strides", 1);
  p.ceil_mode = attr_int(node, "ceil_mode", 0) != 0;
  p.count_include_pad = attr_int(node, "count_include_pad", 0) != 0;
  p.pad = conv_pads(im, node, in, p.kernel, p.stride, {1, 1});
  im.add(node, make_node(Op::Pool, {im.runtime(node, 0)}, p));
}

void convert_global_pool(Importer& im, const onnx::NodeProto& node, bool max) {
  if (im.shape(node, 0).size() != 4) im.fail(node, "only 4-D inputs are supported");
  PoolParams p;
  p.max = max;
  p.global = true;
  im.add(node, make_node(Op::Pool, {im.runtime(node, 0)}, p));
}

// ------------------------------------------------------------ elementwise

void emit_activation(Importer& im, const onnx::NodeProto& node, Activation act) {
  if (im.is_constant(node, 0)) im.fail(node, "activation of a constant is not folded");
  im.add(node, make_node(Op::Activation, {im.runtime(node, 0)}, act));
}

void convert_clip(Importer& im, const onnx::NodeProto& node) {
  float lo = -std::numeric_limits<float>::max(), hi = std::numeric_limits<float>::max();
  if (im.opset() < 11) {
    lo = attr_float(node, "min", lo);
    hi = attr_float(node, "max", hi);
  } else {
    if (im.has_input(node, 1)) lo = static_cast<float>(im.constant(node, 1).at(0));
    if (im.has_input(node, 2)) hi = static_cast<float>(im.constant(node, 2).at(0));
  }
  if (lo == 0.0f && hi == 6.0f) return emit_activation(im, node, {ActKind::Relu6});
  emit_activation(im, node, {ActKind::Clip, lo, hi});
}

void convert_binary(Importer& im, const onnx::NodeProto& node, Op op, ConstBinary fold) {
  if (all_constant(im, node)) {
    try {
      im.set_constant(node.output(0), fold_binary(fold, im.constant(node, 0), im.constant(node, 1)));
    } catch (const ModelError& e) {
      im.fail(node, e.what());  // name the file and node (shapes that do not broadcast, division by zero ...)
    }
    return;
  }
  // A scalar constant operand becomes an affine activation (fusable into the producer).
  for (int side = 0; side < 2; ++side) {
    if (!im.is_constant(node, side) || im.constant(node, side).size() != 1) continue;
    if (im.shape(node, 1 - side) != broadcast_shapes(im.shape(node, 0), im.shape(node, 1))) continue;
    const float c = static_cast<float>(im.constant(node, side).at(0));
    Activation a{ActKind::Affine, 1.0f, 0.0f};
    if (op == Op::Add) a.beta = c;
    else if (op == Op::Mul) a.alpha = c;
    else if (op == Op::Sub) side == 1 ? (a.beta = -c) : (a.alpha = -1.0f, a.beta = c);
    else if (op == Op::Div && side == 1) a.alpha = 1.0f / c;
    else continue;
    im.add(node, make_node(Op::Activation, {im.runtime(node, 1 - side)}, a));
    return;
  }
  im.add(node, make_node(op, {im.runtime(node, 0), im.runtime(node, 1)}));
}

void convert_pow(Importer& im, const onnx::NodeProto& node) {
  if (all_constant(im, node)) {
    im.set_constant(node.output(0), fold_binary(ConstBinary::Pow, im.constant(node, 0), im.constant(node, 1)));
    return;
  }
  const ConstTensor& e = im.constant(node, 1);
  if (e.size() != 1) im.fail(node, "only a scalar constant exponent is supported");
  emit_activation(im, node, {ActKind::Pow, static_cast<float>(e.at(0))});
}

void convert_unary_fold(Importer& im, const onnx::NodeProto& node, ActKind kind, double (*fn)(double)) {
  if (!im.is_constant(node, 0)) return emit_activation(im, node, {kind, kind == ActKind::Affine ? -1.0f : 0.0f});
  ConstTensor c = im.constant(node, 0);
  if (c.integer) for (auto& v : c.ints) v = static_cast<int64_t>(fn(static_cast<double>(v)));
  else for (auto& v : c.floats) v = static_cast<float>(fn(v));
  im.set_constant(node.output(0), std::move(c));
}

// Sum, Max, Min over any number of inputs: a chain of binary nodes.
void convert_variadic(Importer& im, const onnx::NodeProto& node, Op op, ConstBinary fold) {
  if (node.input_size() == 1) return im.alias(node.output(0), node.input(0));
  std::string acc = node.input(0);
  for (int i = 1; i < node.input_size(); ++i) {
    onnx::NodeProto add;
    add.set_name(im.node_name(node) + (i + 1 < node.input_size() ? "/" + std::to_string(i) : ""));
    add.add_input(acc);
    add.add_input(node.input(i));
    add.add_output(i + 1 < node.input_size() ? node.output(0) + "#" + std::to_string(i) : node.output(0));
    convert_binary(im, add, op, fold);
    acc = add.output(0);
  }
}

// ------------------------------------------------------------ shape ops

void convert_reshape(Importer& im, const onnx::NodeProto& node) {
  const Shape& in = im.shape(node, 0);
  std::vector<int64_t> target = im.opset() < 5 ? attr_ints(node, "shape") : im.constant(node, 1).as_ints();
  const bool allow_zero = attr_int(node, "allowzero", 0) != 0;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == 0 && !allow_zero) {
      if (i >= in.size()) im.fail(node, "0 in the target shape refers to a missing input dimension");
      target[i] = in[i];
    }
    if (target[i] == -1) {
      if (infer >= 0) im.fail(node, "more than one -1 in the target shape");
      infer = static_cast<int>(i);
    } else if (target[i] < 0) {
      im.fail(node, cat("invalid target dimension ", target[i]));
    } else {
      known *= target[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || element_count(in) % known) im.fail(node, cat("cannot infer -1 reshaping ", to_string(in)));
    target[infer] = element_count(in) / known;
  }
  emit_reshape(im, node, Shape(target.begin(), target.end()));
}

void convert_flatten(Importer& im, const onnx::NodeProto& node) {
  const Shape& in = im.shape(node, 0);
  int64_t axis = attr_int(node, "axis", 1);
  if (axis < 0) axis += static_cast<int64_t>(in.size());
  int64_t outer = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= in[i];
  emit_reshape(im, node, {outer, element_count(in) / std::max<int64_t>(outer, 1)});
}

std::vector<int64_t> axes_of(Importer& im, const onnx::NodeProto& node, int input_since_13) {
  if (im.opset() >= 13) return im.has_input(node, input_since_13) ? im.constant(node, input_since_13).as_ints() : std::vector<int64_t>{};
  return attr_ints(node, "axes");
}

void convert_squeeze(Importer& im, const onnx::NodeProto& node) {
  const Shape& in = im.shape(node, 0);
  auto axes = axes_of(im, node, 1);
  std::vector<bool> drop(in.size(), false);
  if (axes.empty()) {
    for (size_t i = 0; i < in.size(); ++i) drop[i] = in[i] == 1;
  } else {
    for (auto a : axes) {
      const int ax = normalise_axis(im, node, a, in.size());
      if (in[ax] != 1) im.fail(node, cat("cannot squeeze axis ", a, " of ", to_string(in)));
      drop[ax] = true;
    }
  }
  Shape out;
  for (size_t i = 0; i < in.size(); ++i)
    if (!drop[i]) out.push_back(in[i]);
  emit_reshape(im, node, out);
}

void convert_unsqueeze(Importer& im, const onnx::NodeProto& node) {
  const Shape& in = im.shape(node, 0);
  auto axes = axes_of(im, node, 1);
  const size_t rank = in.size() + axes.size();
  std::vector<bool> insert(rank, false);
  for (auto a : axes) insert[normalise_axis(im, node, a, rank)] = true;
  Shape out;
  size_t k = 0;
  for (size_t i = 0; i < rank; ++i) out.push_back(insert[i] ? 1 : in.at(k++));
  emit_reshape(im, node, out);
}

void convert_transpose(Importer& im, const onnx::NodeProto& node) {
  const Shape& in = im.shape(node, 0);
  std::vector<int> perm;
  for (auto p : attr_ints(node, "perm")) perm.push_back(static_cast<int>(p));
  if (perm.empty())
    for (size_t i = in.size(); i-- > 0;) perm.push_back(static_cast<int>(i));
  if (im.is_constant(node, 0)) {
    im.set_constant(node.output(0), fold_transpose(im.constant(node, 0), perm));
    return;
  }
  bool identity = true;
  for (size_t i = 0; i < perm.size(); ++i) identity &= perm[i] == static_cast<int>(i);
  if (identity) return im.alias(node.output(0), node.input(0));
  im.add(node, make_node(Op::Transpose, {im.runtime(node, 0)}, TransposeParams{perm}));
}

void convert_concat(Importer& im, const onnx::NodeProto& node) {
  const Shape& first = im.shape(node, 0);
  const int axis = normalise_axis(im, node, attr_int(node, "axis", im.opset() < 4 ? 1 : 0), first.size());
  if (all_constant(im, node)) {
    std::vector<const ConstTensor*> parts;
    for (int i = 0; i < node.input_size(); ++i)
      if (im.constant(node, i).size() > 0 || node.input_size() == 1) parts.push_back(&im.constant(node, i));
    if (parts.empty()) parts.push_back(&im.constant(node, 0));
    im.set_constant(node.output(0), fold_concat(parts, axis));
    return;
  }
  std::vector<int> inputs;
  for (int i = 0; i < node.input_size(); ++i)
    if (element_count(im.shape(node, i)) > 0) inputs.push_back(im.runtime(node, i));
  if (inputs.size() == 1) {
    for (int i = 0; i < node.input_size(); ++i)
      if (element_count(im.shape(node, i)) > 0) return im.alias(node.output(0), node.input(i));
  }
  im.add(node, make_node(Op::Concat, inputs, AxisParams{axis}));
}

// ONNX slice parameters to clamped per-axis (start, step, length).
void emit_slice(Importer& im, const onnx::NodeProto& node, const std::string& output, std::vector<int64_t> starts,
                std::vector<int64_t> ends, std::vector<int64_t> axes, std::vector<int64_t> steps) {
  const Shape& in = im.shape(node, 0);
  const size_t rank = in.size();
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    im.fail(node, "starts, ends, axes and steps differ in length");
  SliceParams p;
  p.starts.assign(rank, 0);
  p.steps.assign(rank, 1);
  p.out = in;
  for (size_t k = 0; k < starts.size(); ++k) {
    const int ax = normalise_axis(im, node, axes[k], rank);
    const int64_t dim = in[ax], step = steps[k];
    if (step == 0) im.fail(node, "slice step 0");
    int64_t s = starts[k] < 0 ? starts[k] + dim : starts[k];
    int64_t e = ends[k] < 0 ? ends[k] + dim : ends[k];
    if (step > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
    }
    const int64_t len = step > 0 ? (e - s + step - 1) / step : (s - e + (-step) - 1) / (-step);
    p.starts[ax] = s;
    p.steps[ax] = step;
    p.out[ax] = std::max<int64_t>(0, len);
  }
  if (im.is_constant(node, 0)) {
    im.set_constant(output, fold_slice(im.constant(node, 0), p.starts, p.steps, p.out));
    return;
  }
  if (p.out == in) {
    bool whole = true;
    for (size_t i = 0; i < rank; ++i) whole &= p.steps[i] == 1;
    if (whole) return im.alias(output, node.input(0));
  }
  im.add(node, make_node(Op::Slice, {im.runtime(node, 0)}, p), output);
}

void convert_slice(Importer& im, const onnx::NodeProto& node) {
  if (im.opset() < 10) return emit_slice(im, node, node.output(0), attr_ints(node, "starts"), attr_ints(node, "ends"), attr_ints(node, "axes"), {});
  emit_slice(im, node, node.output(0), im.constant(node, 1).as_ints(), im.constant(node, 2).as_ints(),
             im.has_input(node, 3) ? im.constant(node, 3).as_ints() : std::vector<int64_t>{},
             im.has_input(node, 4) ? im.constant(node, 4).as_ints() : std::vector<int64_t>{});
}

void convert_split(Importer& im, const onnx::NodeProto& node) {
  const Shape& in = im.shape(node, 0);
  const int axis = normalise_axis(im, node, attr_int(node, "axis", 0), in.size());
  std::vector<int64_t> sizes = im.opset() >= 13 ? (im.has_input(node, 1) ? im.constant(node, 1).as_ints() : std::vector<int64_t>{})
                                                : attr_ints(node, "split");
  const int64_t parts = node.output_size();
  if (sizes.empty()) {
    const int64_t chunk = (in[axis] + parts - 1) / parts;  // the last part may be smaller (opset 18 rule, same when even)
    for (int64_t i = 0; i < parts; ++i) sizes.push_back(std::min(chunk, in[axis] - i * chunk));
  }
  if (static_cast<int64_t>(sizes.size()) != parts || std::accumulate(sizes.begin(), sizes.end(), int64_t{0}) != in[axis])
    im.fail(node, cat("split sizes do not add up to axis ", axis, " of ", to_string(in)));
  int64_t start = 0;
  for (int64_t i = 0; i < parts; ++i) {
    if (!node.output(static_cast<int>(i)).empty())
      emit_slice(im, node, node.output(static_cast<int>(i)), {start}, {start + sizes[i]}, {axis}, {1});
    start += sizes[i];
  }
}

void convert_pad(Importer& im, const onnx::NodeProto& node) {
  const Shape& in = im.shape(node, 0);
  std::vector<int64_t> pads;
  float value = 0.0f;
  if (im.opset() < 11) {
    pads = attr_ints(node, "pads");
    value = attr_float(node, "value", 0.0f);
  } else {
    pads = im.constant(node, 1).as_ints();
    if (im.has_input(node, 2) && im.constant(node, 2).size() > 0) value = static_cast<float>(im.constant(node, 2).at(0));
    if (im.has_input(node, 3)) im.fail(node, "the axes input is not supported");
  }
  if (pads.size() != 2 * in.size()) im.fail(node, cat(pads.size(), " pads for a rank-", in.size(), " input"));
  PadParams p;
  const std::string mode = attr_string(node, "mode", "constant");
  if (mode == "constant") p.mode = PadParams::Constant;
  else if (mode == "reflect") p.mode = PadParams::Reflect;
  else if (mode == "edge") p.mode = PadParams::Edge;
  else im.fail(node, cat("pad mode '", mode, "' is not supported"));
  p.begin.assign(pads.begin(), pads.begin() + static_cast<long>(in.size()));
  p.end.assign(pads.begin() + static_cast<long>(in.size()), pads.end());
  p.value = value;
  im.add(node, make_node(Op::Pad, {im.runtime(node, 0)}, p));
}

void convert_softmax(Importer& im, const onnx::NodeProto& node) {
  const Shape& in = im.shape(node, 0);
  const int axis = normalise_axis(im, node, attr_int(node, "axis", im.opset() >= 13 ? -1 : 1), in.size());
  if (im.opset() >= 13 || axis == static_cast<int>(in.size()) - 1) {
    im.add(node, make_node(Op::Softmax, {im.runtime(node, 0)}, AxisParams{axis}));
    return;
  }
  // Before opset 13 the input is coerced to 2-D at `axis`: softmax over all trailing axes.
  int64_t outer = 1;
  for (int i = 0; i < axis; ++i) outer *= in[i];
  const std::string flat = node.output(0) + "#2d", soft = node.output(0) + "#softmax";
  im.add(node, make_node(Op::Reshape, {im.runtime(node, 0)}, ReshapeParams{{outer, element_count(in) / outer}}), flat);
  onnx::NodeProto s;
  s.set_name(im.node_name(node) + "/softmax");
  s.add_input(flat);
  im.add(s, make_node(Op::Softmax, {im.runtime(s, 0)}, AxisParams{1}), soft);
  onnx::NodeProto r;
  r.set_name(im.node_name(node) + "/reshape");
  r.add_input(soft);
  im.add(r, make_node(Op::Reshape, {im.runtime(r, 0)}, ReshapeParams{in}), node.output(0));
}

void emit_resize(Importer& im, const onnx::NodeProto& node, ResizeParams p, std::vector<float> scales, std::vector<int64_t> sizes) {
  const Shape& in = im.shape(node, 0);
  const size_t r = in.size();
  if (r < 2) im.fail(node, "input rank below 2");
  p.out = in;
  if (!sizes.empty()) {
    if (sizes.size() != r) im.fail(node, "sizes must give every axis");
    p.out.assign(sizes.begin(), sizes.end());
  } else {
    if (scales.size() != r) im.fail(node, cat(scales.size(), " scales for a rank-", r, " input"));
    for (size_t i = 0; i < r; ++i) p.out[i] = static_cast<int64_t>(std::floor(static_cast<double>(in[i]) * scales[i]));
    p.scale = {scales[r - 2], scales[r - 1]};
  }
  for (size_t i = 0; i + 2 < r; ++i)
    if (p.out[i] != in[i]) im.fail(node, "only the last two axes can be resized");
  im.add(node, make_node(Op::Resize, {im.runtime(node, 0)}, p));
}

void convert_resize(Importer& im, const onnx::NodeProto& node) {
  ResizeParams p;
  const std::string mode = attr_string(node, "mode", "nearest");
  if (mode == "nearest") p.mode = ResizeParams::Nearest;
  else if (mode == "linear" || mode == "bilinear") p.mode = ResizeParams::Linear;
  else im.fail(node, cat("mode '", mode, "' is not supported"));
  const std::string coord = attr_string(node, "coordinate_transformation_mode", im.opset() < 11 ? "asymmetric" : "half_pixel");
  static const std::map<std::string, ResizeParams::Coord> coords{
      {"half_pixel", ResizeParams::HalfPixel}, {"pytorch_half_pixel", ResizeParams::PytorchHalfPixel},
      {"align_corners", ResizeParams::AlignCorners}, {"asymmetric", ResizeParams::Asymmetric},
      {"tf_half_pixel_for_nn", ResizeParams::TfHalfPixelForNn}};
  if (!coords.count(coord)) im.fail(node, cat("coordinate_transformation_mode '", coord, "' is not supported"));
  p.coord = coords.at(coord);
  const std::string nearest = attr_string(node, "nearest_mode", "round_prefer_floor");
  static const std::map<std::string, ResizeParams::Rounding> roundings{
      {"round_prefer_floor", ResizeParams::RoundPreferFloor}, {"round_prefer_ceil", ResizeParams::RoundPreferCeil},
      {"floor", ResizeParams::Floor}, {"ceil", ResizeParams::Ceil}};
  if (!roundings.count(nearest)) im.fail(node, cat("nearest_mode '", nearest, "' is not supported"));
  p.nearest = roundings.at(nearest);
  if (attr_int(node, "exclude_outside", 0)) im.fail(node, "exclude_outside=1 is not supported");
  std::vector<float> scales;
  std::vector<int64_t> sizes;
  if (im.opset() < 11) {
    for (auto v : im.constant(node, 1).as_tensor().data) scales.push_back(v);
  } else {
    if (im.has_input(node, 2) && im.constant(node, 2).size() > 0)
      for (auto v : im.constant(node, 2).as_tensor().data) scales.push_back(v);
    if (im.has_input(node, 3) && im.constant(node, 3).size() > 0) sizes = im.constant(node, 3).as_ints();
  }
  emit_resize(im, node, p, scales, sizes);
}

void convert_upsample(Importer& im, const onnx::NodeProto& node) {
  ResizeParams p;
  const std::string mode = attr_string(node, "mode", "nearest");
  p.mode = mode == "nearest" ? ResizeParams::Nearest : ResizeParams::Linear;
  if (mode != "nearest" && mode != "linear" && mode != "bilinear") im.fail(node, cat("mode '", mode, "' is not supported"));
  p.coord = ResizeParams::Asymmetric;
  p.nearest = ResizeParams::Floor;
  std::vector<float> scales = im.opset() < 9 ? attr_floats(node, "scales") : im.constant(node, 1).as_tensor().data;
  emit_resize(im, node, p, scales, {});
}

// ------------------------------------------------------------ constants and folding

void convert_constant(Importer& im, const onnx::NodeProto& node) {
  for (const auto& a : node.attribute()) {
    const std::string what = cat("node '", im.node_name(node), "' (Constant)");
    if (a.name() == "value") return im.set_constant(node.output(0), read_tensor_proto(a.t(), what));
    if (a.name() == "value_float") return im.set_constant(node.output(0), ConstTensor::of_floats({}, {a.f()}));
    if (a.name() == "value_floats")
      return im.set_constant(node.output(0), ConstTensor::of_floats({a.floats_size()}, {a.floats().begin(), a.floats().end()}));
    if (a.name() == "value_int") return im.set_constant(node.output(0), ConstTensor::of_ints({}, {a.i()}));
    if (a.name() == "value_ints")
      return im.set_constant(node.output(0), ConstTensor::of_ints({a.ints_size()}, {a.ints().begin(), a.ints().end()}));
  }
  im.fail(node, "no supported value attribute");
}

void convert_shape(Importer& im, const onnx::NodeProto& node) {
  const Shape& in = im.shape(node, 0);
  const int64_t r = static_cast<int64_t>(in.size());
  int64_t start = attr_int(node, "start", 0), end = attr_int(node, "end", r);
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = std::clamp<int64_t>(start, 0, r);
  end = std::clamp<int64_t>(end, start, r);
  std::vector<int64_t> dims(in.begin() + start, in.begin() + end);
  im.set_constant(node.output(0), ConstTensor::of_ints({static_cast<int64_t>(dims.size())}, dims));
}

void convert_gather(Importer& im, const onnx::NodeProto& node) {
  const Shape& in = im.shape(node, 0);
  const int axis = normalise_axis(im, node, attr_int(node, "axis", 0), in.size());
  const ConstTensor& indices = im.constant(node, 1);
  if (im.is_constant(node, 0)) {
    try {
      im.set_constant(node.output(0), fold_gather(im.constant(node, 0), indices, axis));
    } catch (const ModelError& e) {
      im.fail(node, e.what());
    }
    return;
  }
  // Run-time data with a scalar index: a slice of one element that drops the axis.
  if (indices.size() != 1 || !indices.shape.empty()) im.fail(node, "run-time Gather supports only one scalar index");
  int64_t idx = static_cast<int64_t>(indices.at(0));
  if (idx < 0) idx += in[axis];
  const std::string sliced = node.output(0) + "#slice";
  emit_slice(im, node, sliced, {idx}, {idx + 1}, {axis}, {1});
  onnx::NodeProto r;
  r.set_name(im.node_name(node) + "/squeeze");
  r.add_input(sliced);
  r.add_output(node.output(0));
  Shape out = in;
  out.erase(out.begin() + axis);
  emit_reshape(im, r, out);
}

void convert_cast(Importer& im, const onnx::NodeProto& node) {
  const int64_t to = attr_int(node, "to", onnx::TensorProto::FLOAT);
  const bool to_float = to == onnx::TensorProto::FLOAT || to == onnx::TensorProto::FLOAT16 || to == onnx::TensorProto::DOUBLE;
  if (!im.is_constant(node, 0)) {
    if (!to_float) im.fail(node, "casting a run-time tensor to an integer type is not supported");
    // Run-time tensors are float32 throughout, so a Cast to float16/double/float is a no-op.
    // fp16 models (ISNet: Casts around every Resize and at the graph ends, fp16 weights
    // widened exactly at load) thus compute in fp32 on the same weights: more accurate than
    // an fp16 run, and within rounding of it (the parity tests state the tolerance).
    return im.alias(node.output(0), node.input(0));
  }
  const ConstTensor& c = im.constant(node, 0);
  if (to_float) {
    im.set_constant(node.output(0), ConstTensor::of_floats(c.shape, c.as_tensor().data));
  } else {
    std::vector<int64_t> v;
    for (int64_t k = 0; k < c.size(); ++k) v.push_back(static_cast<int64_t>(c.at(k)));
    if (to == onnx::TensorProto::BOOL)
      for (auto& x : v) x = x != 0;
    im.set_constant(node.output(0), ConstTensor::of_ints(c.shape, v));
  }
}

void convert_constant_of_shape(Importer& im, const onnx::NodeProto& node) {
  const auto dims = im.constant(node, 0).as_ints();
  const Shape shape(dims.begin(), dims.end());
  try {
    check_foldable(shape);  // each dimension may be plausible and the product not
    ConstTensor value = ConstTensor::of_floats({1}, {0.0f});
    if (const auto* a = find_attr(node, "value")) value = read_tensor_proto(a->t(), "the value attribute");
    im.set_constant(node.output(0), fold_expand(reshaped(value, {}), shape));
  } catch (const ModelError& e) {
    im.fail(node, e.what());
  }
}

void convert_range(Importer& im, const onnx::NodeProto& node) {
  const ConstTensor &start = im.constant(node, 0), &limit = im.constant(node, 1), &delta = im.constant(node, 2);
  const double s = start.at(0), l = limit.at(0), d = delta.at(0);
  if (d == 0) im.fail(node, "delta 0");
  const double count = std::ceil((l - s) / d);  // refused in double: a huge count does not fit int64
  if (!(count <= static_cast<double>(int64_t{1} << 31)))
    im.fail(node, cat("a range from ", s, " to ", l, " by ", d, " has more than 2^31 elements"));
  const int64_t n = count > 0 ? static_cast<int64_t>(count) : 0;
  std::vector<double> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(s + static_cast<double>(i) * d);
  if (start.integer) {
    std::vector<int64_t> iv(v.begin(), v.end());
    im.set_constant(node.output(0), ConstTensor::of_ints({n}, iv));
  } else {
    im.set_constant(node.output(0), ConstTensor::of_floats({n}, std::vector<float>(v.begin(), v.end())));
  }
}

void fold_only(Importer& im, const onnx::NodeProto& node, const std::function<ConstTensor()>& fn) {
  if (!all_constant(im, node)) im.fail(node, "supported only when every input is a constant (folded at load time)");
  try {
    im.set_constant(node.output(0), fn());
  } catch (const ModelError& e) {
    im.fail(node, e.what());
  }
}

void convert_reduce_mean(Importer& im, const onnx::NodeProto& node) {
  const Shape& in = im.shape(node, 0);
  auto axes = im.opset() >= 18 ? std::vector<int64_t>{} : attr_ints(node, "axes");
  std::vector<int> norm;
  for (auto a : axes) norm.push_back(normalise_axis(im, node, a, in.size()));
  std::sort(norm.begin(), norm.end());
  if (in.size() != 4 || norm != std::vector<int>{2, 3}) im.fail(node, "only the mean over the spatial axes of a 4-D tensor is supported");
  PoolParams p;
  p.max = false;
  p.global = true;
  const bool keep = attr_int(node, "keepdims", 1) != 0;
  const std::string pooled = keep ? node.output(0) : node.output(0) + "#pool";
  im.add(node, make_node(Op::Pool, {im.runtime(node, 0)}, p), pooled);
  if (!keep) {
    onnx::NodeProto r;
    r.set_name(im.node_name(node) + "/squeeze");
    r.add_input(pooled);
    r.add_output(node.output(0));
    emit_reshape(im, r, {in[0], in[1]});
  }
}

const std::map<std::string, Converter>& converters() {
  using C = const onnx::NodeProto&;
  static const std::map<std::string, Converter> table{
      {"Conv", convert_conv},
      {"ConvTranspose", convert_conv_transpose},
      {"Gemm", convert_gemm},
      {"MatMul", convert_matmul},
      {"BatchNormalization", convert_batch_norm},
      {"MaxPool", [](Importer& im, C n) { convert_pool(im, n, true); }},
      {"AveragePool", [](Importer& im, C n) { convert_pool(im, n, false); }},
      {"GlobalAveragePool", [](Importer& im, C n) { convert_global_pool(im, n, false); }},
      {"GlobalMaxPool", [](Importer& im, C n) { convert_global_pool(im, n, true); }},
      {"ReduceMean", convert_reduce_mean},
      {"LRN",
       [](Importer& im, C n) {
         im.add(n, make_node(Op::LRN, {im.runtime(n, 0)},
                             LRNParams{static_cast<int>(attr_int(n, "size", 5)), attr_float(n, "alpha", 1e-4f),
                                       attr_float(n, "beta", 0.75f), attr_float(n, "bias", 1.0f)}));
       }},
      {"Relu", [](Importer& im, C n) { emit_activation(im, n, {ActKind::Relu}); }},
      {"LeakyRelu", [](Importer& im, C n) { emit_activation(im, n, {ActKind::LeakyRelu, attr_float(n, "alpha", 0.01f)}); }},
      {"Sigmoid", [](Importer& im, C n) { emit_activation(im, n, {ActKind::Sigmoid}); }},
      {"Tanh", [](Importer& im, C n) { emit_activation(im, n, {ActKind::Tanh}); }},
      {"HardSigmoid",
       [](Importer& im, C n) { emit_activation(im, n, {ActKind::HardSigmoid, attr_float(n, "alpha", 0.2f), attr_float(n, "beta", 0.5f)}); }},
      {"HardSwish", [](Importer& im, C n) { emit_activation(im, n, {ActKind::HardSwish}); }},
      {"Elu", [](Importer& im, C n) { emit_activation(im, n, {ActKind::Elu, attr_float(n, "alpha", 1.0f)}); }},
      {"Softplus", [](Importer& im, C n) { emit_activation(im, n, {ActKind::Softplus}); }},
      {"Clip", convert_clip},
      {"Exp", [](Importer& im, C n) { convert_unary_fold(im, n, ActKind::Exp, [](double x) { return std::exp(x); }); }},
      {"Log", [](Importer& im, C n) { convert_unary_fold(im, n, ActKind::Log, [](double x) { return std::log(x); }); }},
      {"Sqrt", [](Importer& im, C n) { convert_unary_fold(im, n, ActKind::Sqrt, [](double x) { return std::sqrt(x); }); }},
      {"Abs", [](Importer& im, C n) { convert_unary_fold(im, n, ActKind::Abs, [](double x) { return std::abs(x); }); }},
      {"Neg", [](Importer& im, C n) { convert_unary_fold(im, n, ActKind::Affine, [](double x) { return -x; }); }},
      {"Floor", [](Importer& im, C n) { fold_only(im, n, [&] { ConstTensor c = im.constant(n, 0); for (auto& v : c.floats) v = std::floor(v); return c; }); }},
      {"Ceil", [](Importer& im, C n) { fold_only(im, n, [&] { ConstTensor c = im.constant(n, 0); for (auto& v : c.floats) v = std::ceil(v); return c; }); }},
      {"Add", [](Importer& im, C n) { convert_binary(im, n, Op::Add, ConstBinary::Add); }},
      {"Sub", [](Importer& im, C n) { convert_binary(im, n, Op::Sub, ConstBinary::Sub); }},
      {"Mul", [](Importer& im, C n) { convert_binary(im, n, Op::Mul, ConstBinary::Mul); }},
      {"Div", [](Importer& im, C n) { convert_binary(im, n, Op::Div, ConstBinary::Div); }},
      {"Max", [](Importer& im, C n) { convert_variadic(im, n, Op::Max, ConstBinary::Max); }},
      {"Min", [](Importer& im, C n) { convert_variadic(im, n, Op::Min, ConstBinary::Min); }},
      {"Sum", [](Importer& im, C n) { convert_variadic(im, n, Op::Add, ConstBinary::Add); }},
      {"Pow", convert_pow},
      {"Equal", [](Importer& im, C n) { fold_only(im, n, [&] { return fold_binary(ConstBinary::Equal, im.constant(n, 0), im.constant(n, 1)); }); }},
      {"Less", [](Importer& im, C n) { fold_only(im, n, [&] { return fold_binary(ConstBinary::Less, im.constant(n, 0), im.constant(n, 1)); }); }},
      {"Greater", [](Importer& im, C n) { fold_only(im, n, [&] { return fold_binary(ConstBinary::Greater, im.constant(n, 0), im.constant(n, 1)); }); }},
      {"Where", [](Importer& im, C n) { fold_only(im, n, [&] { return fold_where(im.constant(n, 0), im.constant(n, 1), im.constant(n, 2)); }); }},
      {"Expand",
       [](Importer& im, C n) {
         fold_only(im, n, [&] {
           const auto s = im.constant(n, 1).as_ints();
           return fold_expand(im.constant(n, 0), Shape(s.begin(), s.end()));
         });
       }},
      {"Concat", convert_concat},
      {"Split", convert_split},
      {"Slice", convert_slice},
      {"Flatten", convert_flatten},
      {"Reshape", convert_reshape},
      {"Transpose", convert_transpose},
      {"Squeeze", convert_squeeze},
      {"Unsqueeze", convert_unsqueeze},
      {"Softmax", convert_softmax},
      {"Resize", convert_resize},
      {"Upsample", convert_upsample},
      {"Pad", convert_pad},
      {"Identity", [](Importer& im, C n) { im.alias(n.output(0), n.input(0)); }},
      {"Dropout",
       [](Importer& im, C n) {
         if (n.output_size() > 1 && !n.output(1).empty()) im.fail(n, "the mask output is not supported");
         if (im.has_input(n, 2) && im.constant(n, 2).at(0) != 0) im.fail(n, "training mode is not supported");
         im.alias(n.output(0), n.input(0));
       }},
      {"Cast", convert_cast},
      {"Constant", convert_constant},
      {"Shape", convert_shape},
      {"Gather", convert_gather},
      {"ConstantOfShape", convert_constant_of_shape},
      {"Range", convert_range},
  };
  return table;
}

}  // namespace

void convert_node(Importer& im, const onnx::NodeProto& node) {
  const auto& table = converters();
  auto it = table.find(node.op_type());
  if (it == table.end()) im.fail(node, cat("op '", node.op_type(), "' is not supported"));
  if (node.output_size() == 0) im.fail(node, "has no outputs");
  it->second(im, node);
}

std::vector<std::string> supported_onnx_ops() {
  std::vector<std::string> ops;
  for (const auto& [name, fn] : converters()) ops.push_back(name);
  return ops;
}

}  // namespace osprey
