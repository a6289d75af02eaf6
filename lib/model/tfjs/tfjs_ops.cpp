// TensorFlow op -> layer graph. Semantics follow TensorFlow's op definitions (tf.raw_ops):
// NHWC data_format by default, SAME padding with the odd pixel at the end, ResizeBilinear's
// align_corners / half_pixel_centers, StridedSlice masks. Constant subgraphs are folded with
// the ONNX importer's folding kernels (const_tensor.hpp).
#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

#include "core/error.hpp"
#include "engine/shapes.hpp"
#include "model/tfjs/tfjs_importer.hpp"

namespace osprey {

namespace {

using Converter = std::function<void(TfImporter&, const TfNodeView&)>;

// ------------------------------------------------------------ attributes

const nlohmann::json* attr(const TfNodeView& node, const char* name) {
  if (!node.attr.is_object() || !node.attr.contains(name)) return nullptr;
  return &node.attr[name];
}

std::string base64_decode(const std::string& in) {
  static const std::string chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int value = 0, bits = -8;
  for (char c : in) {
    const auto pos = chars.find(c);
    if (pos == std::string::npos) break;  // '=' padding
    value = (value << 6) + static_cast<int>(pos);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((value >> bits) & 0xff));
      bits -= 8;
    }
  }
  return out;
}

std::string attr_string(TfImporter& im, const TfNodeView& node, const char* name, const std::string& fallback) {
  const auto* a = attr(node, name);
  if (!a) return fallback;
  if (!a->contains("s") || !(*a)["s"].is_string()) im.fail(node, cat("attribute '", name, "' is not a string"));
  return base64_decode((*a)["s"].get<std::string>());
}

std::vector<std::string> attr_strings(const TfNodeView& node, const char* name) {
  std::vector<std::string> out;
  const auto* a = attr(node, name);
  if (!a || !a->contains("list") || !(*a)["list"].contains("s")) return out;
  for (const auto& s : (*a)["list"]["s"]) out.push_back(base64_decode(s.get<std::string>()));
  return out;
}

int64_t json_int(const nlohmann::json& v) { return v.is_string() ? std::stoll(v.get<std::string>()) : v.get<int64_t>(); }

std::vector<int64_t> attr_ints(const TfNodeView& node, const char* name) {
  std::vector<int64_t> out;
  const auto* a = attr(node, name);
  if (!a || !a->contains("list") || !(*a)["list"].contains("i")) return out;
  for (const auto& v : (*a)["list"]["i"]) out.push_back(json_int(v));
  return out;
}

int64_t attr_int(const TfNodeView& node, const char* name, int64_t fallback) {
  const auto* a = attr(node, name);
  return a && a->contains("i") ? json_int((*a)["i"]) : fallback;
}

bool attr_bool(const TfNodeView& node, const char* name, bool fallback) {
  const auto* a = attr(node, name);
  return a && a->contains("b") ? (*a)["b"].get<bool>() : fallback;
}

float attr_float(const TfNodeView& node, const char* name, float fallback) {
  const auto* a = attr(node, name);
  return a && a->contains("f") ? (*a)["f"].get<float>() : fallback;
}

bool nhwc(TfImporter& im, const TfNodeView& node) {
  const std::string f = attr_string(im, node, "data_format", "NHWC");
  if (f != "NHWC" && f != "NCHW") im.fail(node, cat("data_format '", f, "' is not supported"));
  return f == "NHWC";
}

// The 4-D layout whose engine order is NCHW for this node's data_format.
std::vector<int> image_layout(TfImporter& im, const TfNodeView& node) { return nhwc(im, node) ? nchw_layout() : identity_layout(4); }

// [1, h, w, 1] (NHWC) or [1, 1, h, w] (NCHW) attribute -> {h, w}.
std::array<int, 2> spatial(TfImporter& im, const TfNodeView& node, const char* name, int fallback) {
  const auto v = attr_ints(node, name);
  if (v.empty()) return {fallback, fallback};
  if (v.size() != 4) im.fail(node, cat("attribute '", name, "' must have 4 values"));
  const bool last = nhwc(im, node);
  if (v[0] != 1 || v[last ? 3 : 1] != 1) im.fail(node, cat("attribute '", name, "' over the batch or channel axis is not supported"));
  return last ? std::array<int, 2>{static_cast<int>(v[1]), static_cast<int>(v[2])} : std::array<int, 2>{static_cast<int>(v[2]), static_cast<int>(v[3])};
}

// TensorFlow padding attribute -> explicit {top, left, bottom, right} for an NCHW input.
std::array<int, 4> padding(TfImporter& im, const TfNodeView& node, const Shape& engine_in, std::array<int, 2> kernel,
                           std::array<int, 2> stride, std::array<int, 2> dilation) {
  const std::string mode = attr_string(im, node, "padding", "VALID");
  if (mode == "VALID") return {0, 0, 0, 0};
  if (mode == "SAME") {
    const auto h = tf_same_padding(engine_in[2], kernel[0], stride[0], dilation[0]);
    const auto w = tf_same_padding(engine_in[3], kernel[1], stride[1], dilation[1]);
    return {h[0], w[0], h[1], w[1]};
  }
  if (mode == "EXPLICIT") {
    const auto p = attr_ints(node, "explicit_paddings");  // [before, after] per axis, data_format order
    if (p.size() != 8) im.fail(node, "explicit_paddings must have 8 values");
    const bool last = nhwc(im, node);
    const size_t h = last ? 1 : 2, w = last ? 2 : 3;
    return {static_cast<int>(p[2 * h]), static_cast<int>(p[2 * w]), static_cast<int>(p[2 * h + 1]), static_cast<int>(p[2 * w + 1])};
  }
  im.fail(node, cat("padding '", mode, "' is not supported"));
}

int normalise_axis(TfImporter& im, const TfNodeView& node, int64_t axis, size_t rank) {
  const auto r = static_cast<int64_t>(rank);
  if (axis < -r || axis >= r) im.fail(node, cat("axis ", axis, " is out of range for rank ", rank));
  return static_cast<int>(axis < 0 ? axis + r : axis);
}

// The engine axis holding TensorFlow axis `tf_axis`.
int engine_axis(const std::vector<int>& layout, int tf_axis) {
  return static_cast<int>(std::find(layout.begin(), layout.end(), tf_axis) - layout.begin());
}

bool all_constant(TfImporter& im, const TfNodeView& node) {
  for (size_t i = 0; i < im.input_count(node); ++i)
    if (!im.is_constant(node, i)) return false;
  return true;
}

// ------------------------------------------------------------ convolution family

// Fused activations of _FusedConv2D / FusedDepthwiseConv2dNative / _FusedMatMul after BiasAdd.
void emit_fused(TfImporter& im, const TfNodeView& node, Node n, const std::vector<int>& layout) {
  const auto fused = attr_strings(node, "fused_ops");
  size_t k = 0;
  if (k < fused.size() && fused[k] == "BiasAdd") ++k;
  std::vector<Activation> acts;
  for (; k < fused.size(); ++k) {
    if (fused[k] == "Relu") acts.push_back({ActKind::Relu});
    else if (fused[k] == "Relu6") acts.push_back({ActKind::Relu6});
    else if (fused[k] == "Elu") acts.push_back({ActKind::Elu, 1.0f});
    else if (fused[k] == "Sigmoid") acts.push_back({ActKind::Sigmoid});
    else if (fused[k] == "LeakyRelu") acts.push_back({ActKind::LeakyRelu, attr_float(node, "leakyrelu_alpha", 0.2f)});
    else im.fail(node, cat("fused op '", fused[k], "' is not supported"));
  }
  if (acts.empty()) {
    im.add(node, std::move(n), layout);
    return;
  }
  n.name = node.def.name + "/conv";
  const std::string inner = node.def.name + "#pre_activation";
  TfjsNode def{inner, node.def.op, {}, {}};
  TfNodeView pre{def, nlohmann::json::object()};
  int x = im.add(pre, std::move(n), layout);
  for (size_t i = 0; i < acts.size(); ++i) {
    Node a = make_node(Op::Activation, {x}, acts[i]);
    a.name = i + 1 == acts.size() ? node.def.name : cat(node.def.name, "/act", i);
    if (i + 1 == acts.size()) {
      im.add(node, std::move(a), layout);
    } else {
      TfjsNode d{a.name, "Activation", {}, {}};
      x = im.add(TfNodeView{d, nlohmann::json::object()}, std::move(a), layout);
    }
  }
}

bool has_bias(const TfNodeView& node) {
  const auto fused = attr_strings(node, "fused_ops");
  return !fused.empty() && fused[0] == "BiasAdd";
}

void convert_conv(TfImporter& im, const TfNodeView& node, bool depthwise) {
  const std::vector<int> layout = image_layout(im, node);
  if (im.tf_shape(node, 0).size() != 4) im.fail(node, cat("input must be 4-D, got ", to_string(im.tf_shape(node, 0))));
  const int x = im.runtime(node, 0, layout);
  const Shape in = im.engine_shape(x);
  const ConstTensor& f = im.constant(node, 1);  // [kh, kw, in, out] or [kh, kw, in, multiplier]
  if (f.shape.size() != 4) im.fail(node, cat("filter must be 4-D, got ", to_string(f.shape)));
  const int64_t kh = f.shape[0], kw = f.shape[1], fin = f.shape[2], fout = f.shape[3];
  ConvParams p;
  p.kernel = {static_cast<int>(kh), static_cast<int>(kw)};
  p.stride = spatial(im, node, "strides", 1);
  p.dilation = spatial(im, node, "dilations", 1);
  p.pad = padding(im, node, in, p.kernel, p.stride, p.dilation);
  Tensor weight;
  if (depthwise) {
    if (fin != in[1]) im.fail(node, cat("filter has ", fin, " input channels, the input has ", in[1]));
    p.groups = static_cast<int>(fin);
    p.out_channels = static_cast<int>(fin * fout);
    weight = Tensor(Shape{fin * fout, 1, kh, kw});
    for (int64_t y = 0; y < kh; ++y)
      for (int64_t xx = 0; xx < kw; ++xx)
        for (int64_t c = 0; c < fin; ++c)
          for (int64_t m = 0; m < fout; ++m)
            weight.data[static_cast<size_t>(((c * fout + m) * kh + y) * kw + xx)] =
                static_cast<float>(f.at(((y * kw + xx) * fin + c) * fout + m));
  } else {
    if (in[1] % fin != 0) im.fail(node, cat("filter has ", fin, " input channels, the input has ", in[1]));
    p.groups = static_cast<int>(in[1] / fin);
    p.out_channels = static_cast<int>(fout);
    weight = Tensor(Shape{fout, fin, kh, kw});
    for (int64_t y = 0; y < kh; ++y)
      for (int64_t xx = 0; xx < kw; ++xx)
        for (int64_t c = 0; c < fin; ++c)
          for (int64_t o = 0; o < fout; ++o)
            weight.data[static_cast<size_t>(((o * fin + c) * kh + y) * kw + xx)] = static_cast<float>(f.at(((y * kw + xx) * fin + c) * fout + o));
  }
  Node n = make_node(Op::Conv, {x}, p);
  n.tensors.push_back({"weight", node.def.inputs[1], weight.shape, std::move(weight)});
  if (has_bias(node)) {
    const ConstTensor& b = im.constant(node, 2);
    if (b.size() != p.out_channels) im.fail(node, cat("bias has ", b.size(), " values for ", p.out_channels, " channels"));
    Tensor bias = b.as_tensor();
    bias.shape = {p.out_channels};
    n.tensors.push_back({"bias", node.def.inputs[2], bias.shape, std::move(bias)});
    n.get<ConvParams>().bias = true;
  }
  emit_fused(im, node, std::move(n), layout);
}

// Conv2DBackpropInput(output_shape, filter [kh, kw, out, in], x): the gradient of a SAME /
// VALID convolution, i.e. a transposed convolution whose padding is the forward conv's.
void convert_conv_backprop_input(TfImporter& im, const TfNodeView& node) {
  const std::vector<int> layout = image_layout(im, node);
  const auto out_shape = im.constant(node, 0).as_ints();
  const ConstTensor& f = im.constant(node, 1);
  if (f.shape.size() != 4 || out_shape.size() != 4) im.fail(node, "filter and output_shape must be 4-D");
  const int x = im.runtime(node, 2, layout);
  const Shape in = im.engine_shape(x);
  const int64_t kh = f.shape[0], kw = f.shape[1], fout = f.shape[2], fin = f.shape[3];
  if (fin != in[1]) im.fail(node, cat("filter has ", fin, " input channels, the input has ", in[1]));
  ConvParams p;
  p.kernel = {static_cast<int>(kh), static_cast<int>(kw)};
  p.stride = spatial(im, node, "strides", 1);
  p.dilation = spatial(im, node, "dilations", 1);
  p.out_channels = static_cast<int>(fout);
  const Shape out_nchw = nhwc(im, node) ? Shape{out_shape[0], out_shape[3], out_shape[1], out_shape[2]} : Shape(out_shape.begin(), out_shape.end());
  const auto pad = padding(im, node, Shape{out_nchw[0], out_nchw[1], out_nchw[2], out_nchw[3]}, p.kernel, p.stride, p.dilation);
  p.pad = pad;
  for (int i = 0; i < 2; ++i) {
    const int64_t natural = (in[2 + i] - 1) * p.stride[i] + static_cast<int64_t>(p.kernel[i] - 1) * p.dilation[i] + 1 - pad[i] - pad[2 + i];
    const int64_t extra = out_nchw[2 + i] - natural;
    if (extra < 0 || extra >= p.stride[i]) im.fail(node, cat("output_shape ", to_string(out_nchw), " does not fit the input ", to_string(in)));
    p.output_padding[i] = static_cast<int>(extra);
  }
  Tensor weight(Shape{fout, fin, kh, kw});
  for (int64_t y = 0; y < kh; ++y)
    for (int64_t xx = 0; xx < kw; ++xx)
      for (int64_t o = 0; o < fout; ++o)
        for (int64_t c = 0; c < fin; ++c)
          weight.data[static_cast<size_t>(((o * fin + c) * kh + y) * kw + xx)] = static_cast<float>(f.at(((y * kw + xx) * fout + o) * fin + c));
  Node n = make_node(Op::Deconv, {x}, p);
  n.tensors.push_back({"weight", node.def.inputs[1], weight.shape, std::move(weight)});
  im.add(node, std::move(n), layout);
}

void convert_pool(TfImporter& im, const TfNodeView& node, bool max) {
  const std::vector<int> layout = image_layout(im, node);
  const int x = im.runtime(node, 0, layout);
  PoolParams p;
  p.max = max;
  p.kernel = spatial(im, node, "ksize", 1);
  p.stride = spatial(im, node, "strides", 1);
  p.pad = padding(im, node, im.engine_shape(x), p.kernel, p.stride, {1, 1});
  p.count_include_pad = false;  // TensorFlow averages over the window's valid pixels only
  im.add(node, make_node(Op::Pool, {x}, p), layout);
}

void convert_matmul(TfImporter& im, const TfNodeView& node, bool fused) {
  if (im.tf_shape(node, 0).size() != 2) im.fail(node, cat("only 2-D MatMul is supported, got ", to_string(im.tf_shape(node, 0))));
  if (attr_bool(node, "transpose_a", false)) im.fail(node, "transpose_a is not supported");
  const ConstTensor& w = im.constant(node, 1);
  const ConstTensor wt = attr_bool(node, "transpose_b", false) ? w : fold_transpose(w, {1, 0});  // [out, in]
  InnerProductParams p;
  p.out_features = static_cast<int>(wt.shape[0]);
  p.bias = fused && has_bias(node);
  Node n = make_node(Op::InnerProduct, {im.runtime(node, 0, {0, 1})}, p);
  n.tensors.push_back({"weight", node.def.inputs[1], wt.shape, wt.as_tensor()});
  if (p.bias) {
    Tensor b = im.constant(node, 2).as_tensor();
    b.shape = {p.out_features};
    n.tensors.push_back({"bias", node.def.inputs[2], b.shape, std::move(b)});
  }
  if (fused) return emit_fused(im, node, std::move(n), {0, 1});
  im.add(node, std::move(n), {0, 1});
}

// ------------------------------------------------------------ elementwise

void convert_activation(TfImporter& im, const TfNodeView& node, Activation act) {
  const TfValue& v = im.value(node, 0);
  if (v.constant) im.fail(node, "activation of a constant is not folded");
  im.add(node, make_node(Op::Activation, {v.node}, act), v.layout);
}

void convert_binary(TfImporter& im, const TfNodeView& node, Op op, ConstBinary fold) {
  if (all_constant(im, node)) {
    try {
      im.set_constant(node.def.name, fold_binary(fold, im.constant(node, 0), im.constant(node, 1)));
    } catch (const ModelError& e) {
      im.fail(node, e.what());
    }
    return;
  }
  const Shape out = broadcast_shapes(im.tf_shape(node, 0), im.tf_shape(node, 1));
  // The run-time operand with the full shape leads; its layout is the result's.
  int lead = -1;
  for (int side = 0; side < 2 && lead < 0; ++side)
    if (!im.is_constant(node, static_cast<size_t>(side)) && im.tf_shape(node, static_cast<size_t>(side)) == out) lead = side;
  if (lead < 0) im.fail(node, cat("broadcasting both operands (", to_string(im.tf_shape(node, 0)), ", ", to_string(im.tf_shape(node, 1)), ") is not supported"));
  const size_t other = static_cast<size_t>(1 - lead);
  const TfValue& x = im.value(node, static_cast<size_t>(lead));
  const std::vector<int> layout = x.layout;
  if (im.is_constant(node, other)) {
    const ConstTensor& c = im.constant(node, other);
    if (c.size() == 1) {  // scalar: an affine activation, fusable into the producer
      const float k = static_cast<float>(c.at(0));
      Activation a{ActKind::Affine, 1.0f, 0.0f};
      bool ok = true;
      if (op == Op::Add) a.beta = k;
      else if (op == Op::Mul) a.alpha = k;
      else if (op == Op::Sub) lead == 0 ? (a.beta = -k) : (a.alpha = -1.0f, a.beta = k);
      else if (op == Op::Div && lead == 0) a.alpha = 1.0f / k;
      else ok = false;
      if (ok) {
        im.add(node, make_node(Op::Activation, {x.node}, a), layout);
        return;
      }
    }
    // Broadcast constant: left-pad its shape to the result's rank, then store it in x's layout.
    Shape padded(out.size() - c.shape.size(), 1);
    padded.insert(padded.end(), c.shape.begin(), c.shape.end());
    const std::string cname = node.def.name + "/operand";
    im.set_constant(cname, reshaped(c, padded));
    const int cid = im.runtime_value(cname, layout, node.def.name);
    if (lead == 1 && op == Op::Div) im.fail(node, "dividing a constant by a run-time tensor is not supported");
    if (lead == 1 && op == Op::Sub) {  // c - x = (-x) + c: the engine broadcasts the second operand only
      TfjsNode d{node.def.name + "/negate", "Neg", {}, {}};
      const int neg = im.add(TfNodeView{d, nlohmann::json::object()}, make_node(Op::Activation, {x.node}, Activation{ActKind::Affine, -1.0f, 0.0f}), layout);
      im.add(node, make_node(Op::Add, {neg, cid}), layout);
      return;
    }
    im.add(node, make_node(op, {x.node, cid}), layout);
    return;
  }
  if (im.tf_shape(node, other).size() != out.size()) im.fail(node, "broadcasting operands of different ranks is not supported");
  const int y = im.runtime(node, other, layout);
  const bool ordered = lead == 0 || op == Op::Add || op == Op::Mul || op == Op::Max || op == Op::Min;
  im.add(node, make_node(op, ordered ? std::vector<int>{x.node, y} : std::vector<int>{y, x.node}), layout);
}

void convert_add_n(TfImporter& im, const TfNodeView& node) {
  const size_t n = im.input_count(node);
  const TfValue& first = im.value(node, 0);
  if (first.constant) im.fail(node, "a constant first operand is not supported");
  int acc = first.node;
  for (size_t i = 1; i < n; ++i) {
    Node a = make_node(Op::Add, {acc, im.runtime(node, i, first.layout)});
    if (i + 1 < n) {
      a.name = cat(node.def.name, "/add", i);
      TfjsNode d{a.name, "Add", {}, {}};
      acc = im.add(TfNodeView{d, nlohmann::json::object()}, std::move(a), first.layout);
    } else {
      im.add(node, std::move(a), first.layout);
    }
  }
  if (n == 1) im.alias(node.def.name, first);
}

// ------------------------------------------------------------ shape and layout ops

void convert_identity(TfImporter& im, const TfNodeView& node) { im.alias(node.def.name, im.value(node, 0)); }

void convert_transpose(TfImporter& im, const TfNodeView& node) {
  const auto perm64 = im.constant(node, 1).as_ints();
  std::vector<int> perm(perm64.begin(), perm64.end());
  const TfValue& v = im.value(node, 0);
  if (perm.size() != v.tf_shape.size()) im.fail(node, cat("perm has ", perm.size(), " values for rank ", v.tf_shape.size()));
  if (v.constant) return im.set_constant(node.def.name, fold_transpose(v.value, perm));
  // Output axis j is input axis perm[j]; the data stays where it is, only the bookkeeping moves:
  // engine axis i holds input axis layout[i] = output axis inverse(perm)[layout[i]].
  std::vector<int> inverse(perm.size());
  for (size_t j = 0; j < perm.size(); ++j) inverse[static_cast<size_t>(perm[j])] = static_cast<int>(j);
  TfValue out = v;
  for (size_t i = 0; i < out.layout.size(); ++i) out.layout[i] = inverse[static_cast<size_t>(v.layout[i])];
  out.tf_shape.clear();
  for (int p : perm) out.tf_shape.push_back(v.tf_shape[static_cast<size_t>(p)]);
  im.set_value(node.def.name, std::move(out));
}

// A reshape to a TensorFlow shape (data in TensorFlow's element order).
void emit_reshape(TfImporter& im, const TfNodeView& node, Shape shape) {
  const TfValue& v = im.value(node, 0);
  const int64_t count = element_count(v.tf_shape);
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) im.fail(node, "more than one -1 in the shape");
      infer = static_cast<int64_t>(i);
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0 && known > 0) shape[static_cast<size_t>(infer)] = count / known;
  if (element_count(shape) != count) im.fail(node, cat("cannot reshape ", to_string(v.tf_shape), " to ", to_string(shape)));
  if (v.constant) return im.set_constant(node.def.name, reshaped(v.value, shape));
  const int x = im.runtime(node, 0, identity_layout(v.tf_shape.size()));
  if (shape == v.tf_shape) {
    TfValue same = im.value(node, 0);
    same.node = x;
    same.layout = identity_layout(shape.size());
    return im.set_value(node.def.name, std::move(same));
  }
  im.add(node, make_node(Op::Reshape, {x}, ReshapeParams{shape}), identity_layout(shape.size()));
}

void convert_reshape(TfImporter& im, const TfNodeView& node) {
  const auto s = im.constant(node, 1).as_ints();
  emit_reshape(im, node, Shape(s.begin(), s.end()));
}

void convert_squeeze(TfImporter& im, const TfNodeView& node) {
  const Shape& in = im.tf_shape(node, 0);
  std::set<int> axes;
  for (auto a : attr_ints(node, "squeeze_dims")) axes.insert(normalise_axis(im, node, a, in.size()));
  Shape out;
  for (size_t i = 0; i < in.size(); ++i)
    if (!(axes.empty() ? in[i] == 1 : axes.count(static_cast<int>(i)) != 0)) out.push_back(in[i]);
  emit_reshape(im, node, out);
}

void convert_expand_dims(TfImporter& im, const TfNodeView& node) {
  Shape out = im.tf_shape(node, 0);
  const int axis = normalise_axis(im, node, im.constant(node, 1).as_ints().at(0), out.size() + 1);
  out.insert(out.begin() + axis, 1);
  emit_reshape(im, node, out);
}

void convert_shape(TfImporter& im, const TfNodeView& node) {
  const Shape& s = im.tf_shape(node, 0);
  im.set_constant(node.def.name, ConstTensor::of_ints({static_cast<int64_t>(s.size())}, std::vector<int64_t>(s.begin(), s.end())));
}

void convert_cast(TfImporter& im, const TfNodeView& node) {
  const TfValue& v = im.value(node, 0);
  if (!v.constant) return im.alias(node.def.name, v);  // float data stays float in the engine
  const auto* dst = attr(node, "DstT");
  const std::string type = dst && dst->contains("type") ? (*dst)["type"].get<std::string>() : "DT_FLOAT";
  const bool to_int = type.find("INT") != std::string::npos || type == "DT_BOOL";
  ConstTensor c = v.value;
  if (to_int && !c.integer) c = ConstTensor::of_ints(c.shape, c.as_ints());
  if (!to_int && c.integer) c = ConstTensor::of_floats(c.shape, c.as_tensor().data);
  im.set_constant(node.def.name, std::move(c));
}

void convert_concat(TfImporter& im, const TfNodeView& node) {
  const size_t n = im.input_count(node) - 1;  // the last input is the axis
  const int axis = normalise_axis(im, node, im.constant(node, n).as_ints().at(0), im.tf_shape(node, 0).size());
  bool constant = true;
  for (size_t i = 0; i < n; ++i) constant &= im.is_constant(node, i);
  if (constant) {
    std::vector<const ConstTensor*> parts;
    for (size_t i = 0; i < n; ++i) parts.push_back(&im.constant(node, i));
    return im.set_constant(node.def.name, fold_concat(parts, axis));
  }
  std::vector<int> layout;
  for (size_t i = 0; i < n && layout.empty(); ++i)
    if (!im.is_constant(node, i)) layout = im.value(node, i).layout;
  std::vector<int> inputs;
  for (size_t i = 0; i < n; ++i)
    if (element_count(im.tf_shape(node, i)) > 0) inputs.push_back(im.runtime(node, i, layout));
  im.add(node, make_node(Op::Concat, inputs, AxisParams{engine_axis(layout, axis)}), layout);
}

void convert_pad(TfImporter& im, const TfNodeView& node, bool with_value, bool mirror) {
  const TfValue& v = im.value(node, 0);
  const auto pads = im.constant(node, 1).as_ints();  // [rank, 2]
  if (pads.size() != 2 * v.tf_shape.size()) im.fail(node, cat("paddings have ", pads.size(), " values for rank ", v.tf_shape.size()));
  if (v.constant) im.fail(node, "padding a constant is not folded");
  PadParams p;
  for (int a : v.layout) {
    p.begin.push_back(pads[2 * static_cast<size_t>(a)]);
    p.end.push_back(pads[2 * static_cast<size_t>(a) + 1]);
  }
  if (with_value) p.value = static_cast<float>(im.constant(node, 2).at(0));
  if (mirror) {
    const std::string mode = attr_string(im, node, "mode", "REFLECT");
    if (mode != "REFLECT") im.fail(node, cat("MirrorPad mode '", mode, "' is not supported"));
    p.mode = PadParams::Reflect;
  }
  im.add(node, make_node(Op::Pad, {v.node}, p), v.layout);
}

void convert_resize(TfImporter& im, const TfNodeView& node, bool bilinear) {
  if (im.tf_shape(node, 0).size() != 4) im.fail(node, "input must be 4-D (NHWC)");
  const int x = im.runtime(node, 0, nchw_layout());
  const auto size = im.constant(node, 1).as_ints();
  if (size.size() != 2) im.fail(node, "size must have 2 values");
  ResizeParams p;
  p.out = {size[0], size[1]};
  const bool align = attr_bool(node, "align_corners", false), half = attr_bool(node, "half_pixel_centers", false);
  if (bilinear) {
    // TensorFlow's half-pixel bilinear equals ONNX's half_pixel (sources clamped at the borders).
    p.mode = ResizeParams::Linear;
    p.coord = align ? ResizeParams::AlignCorners : half ? ResizeParams::HalfPixel : ResizeParams::Asymmetric;
  } else {
    p.mode = ResizeParams::Nearest;
    p.coord = align ? ResizeParams::AlignCorners : half ? ResizeParams::TfHalfPixelForNn : ResizeParams::Asymmetric;
    p.nearest = align ? ResizeParams::RoundPreferCeil : ResizeParams::Floor;
  }
  im.add(node, make_node(Op::Resize, {x}, p), nchw_layout());
}

// Mean over the spatial axes of an image (squeeze-and-excitation): a global average pool.
void convert_mean(TfImporter& im, const TfNodeView& node) {
  const TfValue& v = im.value(node, 0);
  if (v.constant) im.fail(node, "Mean of a constant is not folded");
  std::set<int> axes;
  for (auto a : im.constant(node, 1).as_ints()) axes.insert(normalise_axis(im, node, a, v.tf_shape.size()));
  const bool keep = attr_bool(node, "keep_dims", false);
  if (v.tf_shape.size() != 4) im.fail(node, "only the mean of 4-D tensors is supported");
  // Bring the reduced axes last (engine axes 2 and 3), keeping the others in order.
  std::vector<int> layout;
  for (int a = 0; a < 4; ++a)
    if (!axes.count(a)) layout.push_back(a);
  if (axes.size() != 2 || layout.size() != 2) im.fail(node, "only a mean over two axes of a 4-D tensor is supported");
  for (int a : axes) layout.push_back(a);
  const int x = im.runtime(node, 0, layout);
  PoolParams p;
  p.max = false;
  p.global = true;
  if (keep) return void(im.add(node, make_node(Op::Pool, {x}, p), layout));
  TfjsNode d{node.def.name + "/pool", "Mean", {}, {}};
  const int pooled = im.add(TfNodeView{d, nlohmann::json::object()}, make_node(Op::Pool, {x}, p), layout);
  const Shape pooled_shape = im.engine_shape(pooled);
  im.add(node, make_node(Op::Reshape, {pooled}, ReshapeParams{{pooled_shape[0], pooled_shape[1]}}), {0, 1});
}

// Slices along one TensorFlow axis: outputs "name", "name:1", ...
void emit_splits(TfImporter& im, const TfNodeView& node, size_t data, int axis, const std::vector<int64_t>& sizes) {
  const TfValue& v = im.value(node, data);
  if (v.constant) im.fail(node, "splitting a constant is not folded");
  const int e = engine_axis(v.layout, axis);
  const Shape in = im.engine_shape(v.node);
  int64_t start = 0;
  for (size_t k = 0; k < sizes.size(); ++k) {
    SliceParams p;
    p.starts.assign(in.size(), 0);
    p.steps.assign(in.size(), 1);
    p.out = in;
    p.starts[static_cast<size_t>(e)] = start;
    p.out[static_cast<size_t>(e)] = sizes[k];
    start += sizes[k];
    im.add(node, make_node(Op::Slice, {v.node}, p), v.layout, static_cast<int>(k));
  }
  if (start != v.tf_shape[static_cast<size_t>(axis)]) im.fail(node, cat("split sizes add up to ", start, ", the axis has ", v.tf_shape[static_cast<size_t>(axis)]));
}

void convert_split_v(TfImporter& im, const TfNodeView& node) {
  const Shape& in = im.tf_shape(node, 0);
  const int axis = normalise_axis(im, node, im.constant(node, 2).as_ints().at(0), in.size());
  auto sizes = im.constant(node, 1).as_ints();
  int64_t known = 0, infer = -1;
  for (size_t i = 0; i < sizes.size(); ++i) sizes[i] < 0 ? infer = static_cast<int64_t>(i) : known += sizes[i];
  if (infer >= 0) sizes[static_cast<size_t>(infer)] = in[static_cast<size_t>(axis)] - known;
  emit_splits(im, node, 0, axis, sizes);
}

void convert_split(TfImporter& im, const TfNodeView& node) {
  const Shape& in = im.tf_shape(node, 1);
  const int axis = normalise_axis(im, node, im.constant(node, 0).as_ints().at(0), in.size());
  const int64_t n = attr_int(node, "num_split", 1);
  if (n <= 0 || in[static_cast<size_t>(axis)] % n) im.fail(node, cat("cannot split ", in[static_cast<size_t>(axis)], " into ", n));
  emit_splits(im, node, 1, axis, std::vector<int64_t>(static_cast<size_t>(n), in[static_cast<size_t>(axis)] / n));
}

void convert_strided_slice(TfImporter& im, const TfNodeView& node) {
  const Shape& in = im.tf_shape(node, 0);
  const auto begin = im.constant(node, 1).as_ints(), end = im.constant(node, 2).as_ints(), strides = im.constant(node, 3).as_ints();
  if (attr_int(node, "ellipsis_mask", 0) || attr_int(node, "new_axis_mask", 0)) im.fail(node, "ellipsis_mask and new_axis_mask are not supported");
  const int64_t begin_mask = attr_int(node, "begin_mask", 0), end_mask = attr_int(node, "end_mask", 0),
                shrink = attr_int(node, "shrink_axis_mask", 0);
  std::vector<int64_t> starts, steps;
  Shape out, squeezed;
  for (size_t i = 0; i < in.size(); ++i) {
    const int64_t n = in[i];
    int64_t s = i < strides.size() ? strides[i] : 1;
    if (s == 0) im.fail(node, "stride 0");
    int64_t b, e;
    if (i >= begin.size()) {
      b = s > 0 ? 0 : n - 1;
      e = s > 0 ? n : -1;
    } else if (shrink >> i & 1) {
      b = begin[i] < 0 ? begin[i] + n : begin[i];
      if (b < 0 || b >= n) im.fail(node, cat("index ", begin[i], " is out of range for axis ", i));
      e = b + 1;
      s = 1;
    } else {
      // Clamp as TensorFlow does: negative indices count from the end.
      auto clamp = [&](int64_t v) {
        if (v < 0) v += n;
        return s > 0 ? std::clamp<int64_t>(v, 0, n) : std::clamp<int64_t>(v, -1, n - 1);
      };
      b = (begin_mask >> i & 1) ? (s > 0 ? 0 : n - 1) : clamp(begin[i]);
      e = (end_mask >> i & 1) ? (s > 0 ? n : -1) : clamp(end[i]);
    }
    const int64_t len = s > 0 ? std::max<int64_t>(0, (e - b + s - 1) / s) : std::max<int64_t>(0, (b - e - s - 1) / -s);
    starts.push_back(b);
    steps.push_back(s);
    out.push_back(len);
    if (!(shrink >> i & 1)) squeezed.push_back(len);
  }
  const TfValue& v = im.value(node, 0);
  if (v.constant) return im.set_constant(node.def.name, reshaped(fold_slice(v.value, starts, steps, out), squeezed));
  SliceParams p;
  for (int a : v.layout) {
    p.starts.push_back(starts[static_cast<size_t>(a)]);
    p.steps.push_back(steps[static_cast<size_t>(a)]);
    p.out.push_back(out[static_cast<size_t>(a)]);
  }
  if (squeezed.size() == out.size()) return void(im.add(node, make_node(Op::Slice, {v.node}, p), v.layout));
  TfjsNode d{node.def.name + "/slice", "StridedSlice", {}, {}};
  im.add(TfNodeView{d, nlohmann::json::object()}, make_node(Op::Slice, {v.node}, p), v.layout);
  const int x = im.runtime_value(d.name, identity_layout(out.size()), node.def.name);
  im.add(node, make_node(Op::Reshape, {x}, ReshapeParams{squeezed}), identity_layout(squeezed.size()));
}

// SparseToDense(indices, output_shape, values, default): only on constants (shape arithmetic).
void convert_sparse_to_dense(TfImporter& im, const TfNodeView& node) {
  if (!all_constant(im, node)) im.fail(node, "only constant inputs are supported");
  const ConstTensor& indices = im.constant(node, 0);
  const auto shape = im.constant(node, 1).as_ints();
  const ConstTensor& values = im.constant(node, 2);
  const ConstTensor& fallback = im.constant(node, 3);
  const Shape out(shape.begin(), shape.end());
  check_foldable(out);
  const int64_t n = element_count(out);
  const bool integer = values.integer && fallback.integer;
  std::vector<double> data(static_cast<size_t>(n), fallback.size() ? fallback.at(0) : 0.0);
  const int64_t rank = static_cast<int64_t>(out.size());
  const int64_t count = indices.shape.empty() ? 1 : indices.shape[0];
  for (int64_t k = 0; k < count && indices.size() > 0; ++k) {
    int64_t offset = 0;
    for (int64_t d = 0; d < rank; ++d) {
      const int64_t idx = static_cast<int64_t>(indices.at(rank == 1 && indices.shape.size() < 2 ? k : k * rank + d));
      if (idx < 0 || idx >= out[static_cast<size_t>(d)]) im.fail(node, cat("index ", idx, " is out of range"));
      offset = offset * out[static_cast<size_t>(d)] + idx;
    }
    data[static_cast<size_t>(offset)] = values.size() == 1 ? values.at(0) : values.at(k);
  }
  if (integer) {
    std::vector<int64_t> v(data.begin(), data.end());
    return im.set_constant(node.def.name, ConstTensor::of_ints(out, std::move(v)));
  }
  im.set_constant(node.def.name, ConstTensor::of_floats(out, std::vector<float>(data.begin(), data.end())));
}

void convert_bias_add(TfImporter& im, const TfNodeView& node) {
  const TfValue& x = im.value(node, 0);
  const ConstTensor& b = im.constant(node, 1);
  const size_t rank = x.tf_shape.size();
  const bool last = nhwc(im, node) || rank != 4;
  Shape shape(rank, 1);
  shape[last ? rank - 1 : 1] = b.size();
  const std::string cname = node.def.name + "/bias";
  im.set_constant(cname, reshaped(b, shape));
  im.add(node, make_node(Op::Add, {x.node, im.runtime_value(cname, x.layout, node.def.name)}), x.layout);
}

const std::map<std::string, Converter>& converters() {
  static const std::map<std::string, Converter> table{
      {"Identity", convert_identity},
      {"StopGradient", convert_identity},
      {"Conv2D", [](TfImporter& im, const TfNodeView& n) { convert_conv(im, n, false); }},
      {"_FusedConv2D", [](TfImporter& im, const TfNodeView& n) { convert_conv(im, n, false); }},
      {"DepthwiseConv2dNative", [](TfImporter& im, const TfNodeView& n) { convert_conv(im, n, true); }},
      {"FusedDepthwiseConv2dNative", [](TfImporter& im, const TfNodeView& n) { convert_conv(im, n, true); }},
      {"Conv2DBackpropInput", convert_conv_backprop_input},
      {"MaxPool", [](TfImporter& im, const TfNodeView& n) { convert_pool(im, n, true); }},
      {"AvgPool", [](TfImporter& im, const TfNodeView& n) { convert_pool(im, n, false); }},
      {"MatMul", [](TfImporter& im, const TfNodeView& n) { convert_matmul(im, n, false); }},
      {"_FusedMatMul", [](TfImporter& im, const TfNodeView& n) { convert_matmul(im, n, true); }},
      {"BiasAdd", convert_bias_add},
      {"Add", [](TfImporter& im, const TfNodeView& n) { convert_binary(im, n, Op::Add, ConstBinary::Add); }},
      {"AddV2", [](TfImporter& im, const TfNodeView& n) { convert_binary(im, n, Op::Add, ConstBinary::Add); }},
      {"Sub", [](TfImporter& im, const TfNodeView& n) { convert_binary(im, n, Op::Sub, ConstBinary::Sub); }},
      {"Mul", [](TfImporter& im, const TfNodeView& n) { convert_binary(im, n, Op::Mul, ConstBinary::Mul); }},
      {"RealDiv", [](TfImporter& im, const TfNodeView& n) { convert_binary(im, n, Op::Div, ConstBinary::Div); }},
      {"Maximum", [](TfImporter& im, const TfNodeView& n) { convert_binary(im, n, Op::Max, ConstBinary::Max); }},
      {"Minimum", [](TfImporter& im, const TfNodeView& n) { convert_binary(im, n, Op::Min, ConstBinary::Min); }},
      {"AddN", convert_add_n},
      {"Relu", [](TfImporter& im, const TfNodeView& n) { convert_activation(im, n, {ActKind::Relu}); }},
      {"Relu6", [](TfImporter& im, const TfNodeView& n) { convert_activation(im, n, {ActKind::Relu6}); }},
      {"Sigmoid", [](TfImporter& im, const TfNodeView& n) { convert_activation(im, n, {ActKind::Sigmoid}); }},
      {"Tanh", [](TfImporter& im, const TfNodeView& n) { convert_activation(im, n, {ActKind::Tanh}); }},
      {"Elu", [](TfImporter& im, const TfNodeView& n) { convert_activation(im, n, {ActKind::Elu, 1.0f}); }},
      {"LeakyRelu",
       [](TfImporter& im, const TfNodeView& n) { convert_activation(im, n, {ActKind::LeakyRelu, attr_float(n, "alpha", 0.2f)}); }},
      {"Pad", [](TfImporter& im, const TfNodeView& n) { convert_pad(im, n, false, false); }},
      {"PadV2", [](TfImporter& im, const TfNodeView& n) { convert_pad(im, n, true, false); }},
      {"MirrorPad", [](TfImporter& im, const TfNodeView& n) { convert_pad(im, n, false, true); }},
      {"ConcatV2", convert_concat},
      {"ResizeBilinear", [](TfImporter& im, const TfNodeView& n) { convert_resize(im, n, true); }},
      {"ResizeNearestNeighbor", [](TfImporter& im, const TfNodeView& n) { convert_resize(im, n, false); }},
      {"Mean", convert_mean},
      {"Transpose", convert_transpose},
      {"Reshape", convert_reshape},
      {"Squeeze", convert_squeeze},
      {"ExpandDims", convert_expand_dims},
      {"Shape", convert_shape},
      {"Cast", convert_cast},
      {"SplitV", convert_split_v},
      {"Split", convert_split},
      {"StridedSlice", convert_strided_slice},
      {"SparseToDense", convert_sparse_to_dense},
  };
  return table;
}

}  // namespace

void convert_tf_node(TfImporter& im, const TfNodeView& node) {
  const auto& table = converters();
  const auto it = table.find(node.def.op);
  if (it == table.end()) im.fail(node, cat("op '", node.def.op, "' is not supported"));
  it->second(im, node);
}

std::vector<std::string> supported_tfjs_ops() {
  std::vector<std::string> ops{"Const", "Placeholder"};
  for (const auto& [name, fn] : converters()) ops.push_back(name);
  std::sort(ops.begin(), ops.end());
  return ops;
}

}  // namespace osprey
