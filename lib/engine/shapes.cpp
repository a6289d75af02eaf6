#include "engine/shapes.hpp"

#include <cmath>

#include "core/error.hpp"

namespace osprey {

int pooled_extent(int in, int kernel, int stride, int pad_begin, int pad_end, bool ceil_mode) {
  const int span = in + pad_begin + pad_end - kernel;
  if (span < 0) return 0;
  int out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
  // torch: the last window must start inside the input or the left padding
  if (ceil_mode && (out - 1) * stride >= in + pad_begin) --out;
  return out;
}

namespace {

[[noreturn]] void shape_error(const Node& node, const std::string& what) {
  throw ModelError(cat("layer '", node.name, "' (", op_name(node.op), "): ", what));
}

const Shape& require_rank(const Node& node, const Shape& s, size_t rank) {
  if (s.size() != rank) shape_error(node, cat("expects a ", rank, "-D input, got ", to_string(s)));
  return s;
}

Shape conv_shape(const Node& node, const Shape& in) {
  const auto& p = node.get<ConvParams>();
  require_rank(node, in, 4);
  if (in[1] % p.groups != 0 || p.out_channels % p.groups != 0)
    shape_error(node, cat("channels ", in[1], " -> ", p.out_channels, " do not divide into ", p.groups, " groups"));
  for (const auto& t : node.tensors) {
    if (t.role == "weight" && !t.value.empty()) {
      const Shape expect{p.out_channels, in[1] / p.groups, p.kernel[0], p.kernel[1]};
      if (t.value.shape != expect)
        shape_error(node, cat("weight ", t.key, " has shape ", to_string(t.value.shape), " but the input ", to_string(in),
                              " needs ", to_string(expect)));
    }
  }
  Shape out{in[0], p.out_channels, 0, 0};
  for (int i = 0; i < 2; ++i) {
    const int extent = static_cast<int>(in[2 + i]);
    const int eff_kernel = (p.kernel[i] - 1) * p.dilation[i] + 1;
    const int span = extent + p.pad[i] + p.pad[2 + i] - eff_kernel;
    if (span < 0) shape_error(node, cat("kernel ", eff_kernel, " is larger than the padded input ", to_string(in)));
    out[2 + i] = span / p.stride[i] + 1;
  }
  return out;
}

Shape pool_shape(const Node& node, const Shape& in) {
  const auto& p = node.get<PoolParams>();
  require_rank(node, in, 4);
  if (p.global) return {in[0], in[1], 1, 1};
  Shape out{in[0], in[1], 0, 0};
  for (int i = 0; i < 2; ++i) {
    const int o = pooled_extent(static_cast<int>(in[2 + i]), p.kernel[i], p.stride[i], p.pad[i], p.pad[2 + i], p.ceil_mode);
    if (o <= 0) shape_error(node, cat("window ", p.kernel[i], " does not fit the input ", to_string(in)));
    out[2 + i] = o;
  }
  return out;
}

Shape concat_shape(const Node& node, const std::vector<Shape>& ins) {
  const int axis = node.get<AxisParams>().axis;
  Shape out = ins.at(0);
  if (axis < 0 || axis >= static_cast<int>(out.size())) shape_error(node, cat("axis ", axis, " is out of range"));
  out[axis] = 0;
  for (const auto& s : ins) {
    if (s.size() != out.size()) shape_error(node, cat("inputs of different rank: ", to_string(ins[0]), " and ", to_string(s)));
    for (size_t d = 0; d < s.size(); ++d)
      if (static_cast<int>(d) != axis && s[d] != ins[0][d])
        shape_error(node, cat("inputs ", to_string(ins[0]), " and ", to_string(s), " differ outside axis ", axis));
    out[axis] += s[axis];
  }
  return out;
}

}  // namespace

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1) throw ModelError(cat("shapes ", to_string(a), " and ", to_string(b), " do not broadcast"));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

namespace {

Shape deconv_shape(const Node& node, const Shape& in) {
  const auto& p = node.get<ConvParams>();
  require_rank(node, in, 4);
  Shape out{in[0], p.out_channels, 0, 0};
  for (int i = 0; i < 2; ++i)
    out[2 + i] = (in[2 + i] - 1) * p.stride[i] - p.pad[i] - p.pad[2 + i] + p.dilation[i] * (p.kernel[i] - 1) + p.output_padding[i] + 1;
  if (out[2] <= 0 || out[3] <= 0) shape_error(node, cat("output would be empty for input ", to_string(in)));
  return out;
}

Shape pad_shape(const Node& node, const Shape& in) {
  const auto& p = node.get<PadParams>();
  if (p.begin.size() != in.size() || p.end.size() != in.size()) shape_error(node, cat("pads do not match the rank of ", to_string(in)));
  Shape out = in;
  for (size_t i = 0; i < in.size(); ++i) {
    out[i] = in[i] + p.begin[i] + p.end[i];
    if (out[i] < 0) shape_error(node, cat("pads crop axis ", i, " of ", to_string(in), " below zero"));
    if (p.mode == PadParams::Reflect && (p.begin[i] >= in[i] || p.end[i] >= in[i]))
      shape_error(node, cat("reflect pad ", p.begin[i], "/", p.end[i], " needs an axis longer than ", in[i]));
  }
  return out;
}

Shape reshape_shape(const Node& node, const Shape& in) {
  const auto& p = node.get<ReshapeParams>();
  Shape out = p.shape;
  if (p.relative) {
    int infer = -1;
    int64_t known = 1;
    for (size_t i = 0; i < out.size(); ++i) {
      if (out[i] == 0) {
        if (i >= in.size()) shape_error(node, cat("target ", to_string(p.shape), " copies axis ", i, " which ", to_string(in), " lacks"));
        out[i] = in[i];
      }
      if (out[i] == -1) {
        if (infer >= 0) shape_error(node, cat("target ", to_string(p.shape), " has more than one -1"));
        infer = static_cast<int>(i);
      } else if (out[i] < 0) {
        shape_error(node, cat("invalid target dimension ", out[i]));
      } else {
        known *= out[i];
      }
    }
    if (infer >= 0) {
      if (known == 0 || element_count(in) % known != 0)
        shape_error(node, cat("cannot reshape ", to_string(in), " to ", to_string(p.shape), ": no size for -1 fits"));
      out[infer] = element_count(in) / known;
    }
  }
  if (element_count(out) != element_count(in)) shape_error(node, cat("cannot reshape ", to_string(in), " to ", to_string(out)));
  return out;
}

Shape slice_shape(const Node& node, const Shape& x) {
  const auto& p = node.get<SliceParams>();
  if (p.out.size() != x.size() || p.starts.size() != x.size() || p.steps.size() != x.size())
    shape_error(node, cat("slice of rank ", p.out.size(), " for ", to_string(x)));
  Shape out = p.out;
  for (size_t i = 0; i < x.size(); ++i) {
    if (p.steps[i] == 0) shape_error(node, cat("step 0 on axis ", i));
    if (out[i] < 0) {  // as many as fit from the start
      const int64_t s = p.starts[i], step = p.steps[i];
      if (s < 0 || s >= x[i]) out[i] = 0;
      else out[i] = step > 0 ? (x[i] - s + step - 1) / step : s / -step + 1;
    }
    const int64_t last = p.starts[i] + (out[i] - 1) * p.steps[i];
    if (out[i] > 0 && (p.starts[i] < 0 || p.starts[i] >= x[i] || last < 0 || last >= x[i]))
      shape_error(node, cat("slice window leaves axis ", i, " of ", to_string(x)));
  }
  return out;
}

Shape resize_shape(const Node& node, const std::vector<Shape>& ins) {
  const auto& p = node.get<ResizeParams>();
  const Shape& x = ins[0];
  const size_t r = x.size();
  if (r < 2) shape_error(node, cat("resize needs an input of rank 2 or more, got ", to_string(x)));
  if (ins.size() != (p.size_from_second_input ? 2u : 1u))
    shape_error(node, cat("resize takes ", p.size_from_second_input ? "two inputs (data, size reference)" : "one input", ", got ", ins.size()));
  Shape out = p.out;
  if (p.size_from_second_input) {
    const Shape& like = ins[1];
    if (!p.out.empty() || p.scale[0] != 0 || p.scale[1] != 0) shape_error(node, "a size taken from the second input excludes a size or scales");
    if (like.size() < 2) shape_error(node, cat("the size reference needs rank 2 or more, got ", to_string(like)));
    out = x;
    out[r - 2] = like[like.size() - 2];
    out[r - 1] = like[like.size() - 1];
  } else if (p.out.empty()) {
    if (p.scale[0] <= 0 || p.scale[1] <= 0) shape_error(node, "neither an output size nor scales");
    out = x;
    for (int i = 0; i < 2; ++i)
      out[r - 2 + i] = static_cast<int64_t>(std::floor(static_cast<double>(x[r - 2 + i]) * static_cast<double>(p.scale[i])));
  } else if (p.out.size() == 2) {
    out = x;
    out[r - 2] = p.out[0];
    out[r - 1] = p.out[1];
  }
  if (out.size() != r) shape_error(node, cat("resize to ", to_string(out), " from ", to_string(x)));
  for (size_t i = 0; i + 2 < r; ++i)
    if (out[i] != x[i]) shape_error(node, cat("only the last two axes can be resized: ", to_string(x), " -> ", to_string(out)));
  return out;
}

}  // namespace

Shape infer_node_shape(const Node& node, const std::vector<Shape>& ins) {
  if (node.op == Op::Constant) {
    for (const auto& t : node.tensors)  // the declared shape until a weights file binds the value
      if (t.role == "value") return t.value.empty() && t.value.shape.empty() ? t.shape : t.value.shape;
    shape_error(node, "has no value");
  }
  if (ins.empty()) shape_error(node, "has no inputs");
  const Shape& x = ins[0];
  Shape out;
  switch (node.op) {
    case Op::Input:
    case Op::Constant: break;
    case Op::Conv: out = conv_shape(node, x); break;
    case Op::Deconv: out = deconv_shape(node, x); break;
    case Op::Pool: out = pool_shape(node, x); break;
    case Op::AdaptiveAvgPool: {
      require_rank(node, x, 4);
      const auto& o = node.get<AdaptivePoolParams>().output;
      out = {x[0], x[1], o[0], o[1]};
      break;
    }
    case Op::InnerProduct: {
      require_rank(node, x, 2);
      const auto& p = node.get<InnerProductParams>();
      for (const auto& t : node.tensors)
        if (t.role == "weight" && !t.value.empty() && t.value.shape != Shape{p.out_features, x[1]})
          shape_error(node, cat("weight ", t.key, " has shape ", to_string(t.value.shape), " but the input ",
                                to_string(x), " needs ", to_string(Shape{p.out_features, x[1]})));
      out = {x[0], p.out_features};
      break;
    }
    case Op::BatchNorm:
    case Op::LRN:
    case Op::Activation:
    case Op::Identity: out = x; break;
    case Op::Softmax: {
      const int axis = node.get<AxisParams>().axis;
      if (axis < 0 || axis >= static_cast<int>(x.size())) shape_error(node, cat("axis ", axis, " is out of range for ", to_string(x)));
      out = x;
      break;
    }
    case Op::Concat: out = concat_shape(node, ins); break;
    case Op::Add:
    case Op::Mul:
    case Op::Sub:
    case Op::Div:
    case Op::Max:
    case Op::Min:
      if (ins.size() != 2) shape_error(node, cat("needs 2 inputs, got ", ins.size()));
      try {
        out = broadcast_shapes(ins[0], ins[1]);
      } catch (const ModelError& e) {
        shape_error(node, e.what());
      }
      break;
    case Op::Flatten: {
      if (x.size() < 2) shape_error(node, cat("cannot flatten ", to_string(x)));
      int64_t features = 1;
      for (size_t d = 1; d < x.size(); ++d) features *= x[d];
      out = {x[0], features};
      break;
    }
    case Op::Reshape: out = reshape_shape(node, x); break;
    case Op::Transpose: {
      const auto& perm = node.get<TransposeParams>().perm;
      if (perm.size() != x.size()) shape_error(node, cat("permutation of ", perm.size(), " axes for ", to_string(x)));
      out.resize(x.size());
      std::vector<bool> seen(x.size(), false);
      for (size_t i = 0; i < perm.size(); ++i) {
        if (perm[i] < 0 || perm[i] >= static_cast<int>(x.size()) || seen[perm[i]]) shape_error(node, "invalid permutation");
        seen[perm[i]] = true;
        out[i] = x[perm[i]];
      }
      break;
    }
    case Op::Slice: out = slice_shape(node, x); break;
    case Op::Pad: out = pad_shape(node, x); break;
    case Op::MatMul: {
      if (ins.size() != 2) shape_error(node, cat("needs 2 inputs, got ", ins.size()));
      const Shape &a = ins[0], &b = ins[1];
      if (a.size() < 2 || b.size() < 2) shape_error(node, cat("operands must have rank 2 or more, got ", to_string(a), " and ", to_string(b)));
      if (a.back() != b[b.size() - 2]) shape_error(node, cat("shapes ", to_string(a), " and ", to_string(b), " do not multiply"));
      try {
        out = broadcast_shapes(Shape(a.begin(), a.end() - 2), Shape(b.begin(), b.end() - 2));
      } catch (const ModelError& e) {
        shape_error(node, e.what());
      }
      out.push_back(a[a.size() - 2]);
      out.push_back(b.back());
      break;
    }
    case Op::Resize: out = resize_shape(node, ins); break;
    case Op::L2Norm:
      if (x.size() < 2) shape_error(node, cat("needs a channel axis, got ", to_string(x)));
      for (const auto& t : node.tensors)
        if (t.role == "weight" && !t.value.empty() && t.value.shape != Shape{x[1]})
          shape_error(node, cat("weight ", t.key, " has shape ", to_string(t.value.shape), " but the input has ", x[1], " channels"));
      out = x;
      break;
  }
  return out;
}

std::vector<Shape> infer_shapes(const Graph& graph, const std::vector<Shape>& input_shapes) {
  if (input_shapes.size() != graph.inputs.size())
    throw ModelError(cat("the model has ", graph.inputs.size(), " inputs but ", input_shapes.size(), " shapes were given"));
  std::vector<Shape> shapes(graph.nodes.size());
  for (size_t i = 0; i < graph.inputs.size(); ++i) shapes[graph.inputs[i]] = input_shapes[i];

  for (size_t id = 0; id < graph.nodes.size(); ++id) {
    const Node& node = graph.nodes[id];
    if (node.dead || node.op == Op::Input) continue;
    std::vector<Shape> ins;
    for (int in : node.inputs) ins.push_back(shapes[in]);
    const Shape out = infer_node_shape(node, ins);
    // A fused sum adds the last input, which must match the result.
    for (const auto& po : node.post_ops)
      if (po.kind == PostOp::Sum && shapes[node.inputs.back()] != out)
        shape_error(node, cat("fused sum operand ", to_string(shapes[node.inputs.back()]), " differs from the result ", to_string(out)));
    shapes[id] = out;
  }
  return shapes;
}

}  // namespace osprey
