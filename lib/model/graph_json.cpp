#include "model/graph_json.hpp"

#include <cfloat>
#include <cmath>
#include <limits>
#include <map>

namespace osprey {

namespace {

std::vector<std::string> input_names(ObjectReader& layer, const std::string& previous) {
  if (!layer.has("input")) return {previous};
  const auto& v = layer.raw("input");
  if (v.is_string()) return {v.get<std::string>()};
  std::vector<std::string> names;
  if (v.is_array())
    for (const auto& s : v)
      if (s.is_string()) names.push_back(s.get<std::string>());
  if (names.empty() || (v.is_array() && names.size() != v.size())) layer.fail("input", "expected a layer name or a list of names");
  return names;
}

// Activation ops: name -> kind.
const std::map<std::string, ActKind>& activations() {
  static const std::map<std::string, ActKind> table{
      {"relu", ActKind::Relu},       {"leaky_relu", ActKind::LeakyRelu},    {"relu6", ActKind::Relu6},
      {"clip", ActKind::Clip},       {"tanh", ActKind::Tanh},               {"sigmoid", ActKind::Sigmoid},
      {"hardswish", ActKind::HardSwish}, {"silu", ActKind::SiLU},           {"hardsigmoid", ActKind::HardSigmoid},
      {"exp", ActKind::Exp},         {"log", ActKind::Log},                 {"sqrt", ActKind::Sqrt},
      {"abs", ActKind::Abs},         {"affine", ActKind::Affine},           {"pow", ActKind::Pow},
      {"elu", ActKind::Elu},         {"gelu", ActKind::Gelu},               {"softplus", ActKind::Softplus},
  };
  return table;
}

const std::map<std::string, Op>& binary_ops() {
  static const std::map<std::string, Op> table{{"add", Op::Add}, {"sub", Op::Sub}, {"mul", Op::Mul},
                                               {"div", Op::Div}, {"max", Op::Max}, {"min", Op::Min}};
  return table;
}

// A float: a JSON number, or "inf", "-inf", "nan" (which JSON numbers cannot hold).
float real(ObjectReader& r, const std::string& key) {
  const auto& v = r.raw(key);
  if (v.is_number()) return static_cast<float>(v.get<double>());
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "inf") return std::numeric_limits<float>::infinity();
    if (s == "-inf") return -std::numeric_limits<float>::infinity();
    if (s == "nan") return std::numeric_limits<float>::quiet_NaN();
  }
  r.fail(key, "expected a number (or \"inf\", \"-inf\", \"nan\")");
}
float real(ObjectReader& r, const std::string& key, float fallback) { return r.has(key) ? real(r, key) : fallback; }

int positive(ObjectReader& r, const std::string& key, int fallback) {
  const int v = r.integer(key, fallback);
  if (v <= 0) r.fail(key, cat("must be positive, got ", v));
  return v;
}
int positive(ObjectReader& r, const std::string& key) {
  if (!r.has(key)) r.fail(key, "missing");
  return positive(r, key, 0);
}

std::array<int, 2> positive_pair(ObjectReader& r, const std::string& key, std::array<int, 2> fallback) {
  const auto v = r.pair(key, fallback);
  if (v[0] <= 0 || v[1] <= 0) r.fail(key, cat("must be positive, got [", v[0], ", ", v[1], "]"));
  return v;
}

// Padding: N (all sides), [h, w] (top = bottom, left = right) or [top, left, bottom, right].
std::array<int, 4> padding(ObjectReader& r, const std::string& key) {
  if (!r.has(key)) return {0, 0, 0, 0};
  const auto& v = r.raw(key);
  std::array<int, 4> p{};
  bool ok = true;
  if (v.is_number_integer()) {
    p.fill(v.get<int>());
  } else if (v.is_array() && (v.size() == 2 || v.size() == 4)) {
    for (const auto& e : v) ok &= e.is_number_integer();
    if (ok && v.size() == 2) p = {v[0].get<int>(), v[1].get<int>(), v[0].get<int>(), v[1].get<int>()};
    if (ok && v.size() == 4) p = {v[0].get<int>(), v[1].get<int>(), v[2].get<int>(), v[3].get<int>()};
  } else {
    ok = false;
  }
  if (!ok) r.fail(key, "expected an integer, [h, w] or [top, left, bottom, right]");
  for (int x : p)
    if (x < 0) r.fail(key, "must not be negative");
  return p;
}

std::vector<int64_t> int64s(ObjectReader& r, const std::string& key) {
  const auto v = r.integers(key);
  return std::vector<int64_t>(v.begin(), v.end());
}

template <typename E>
E choice(ObjectReader& r, const std::string& key, const std::map<std::string, E>& options, E fallback) {
  if (!r.has(key)) return fallback;
  const std::string s = r.string(key);
  auto it = options.find(s);
  if (it != options.end()) return it->second;
  std::string names;
  for (const auto& [name, value] : options) names += (names.empty() ? "" : ", ") + name;
  r.fail(key, cat("expected one of ", names, ", got '", s, "'"));
}

class Parser {
 public:
  explicit Parser(ObjectReader& spec) : spec_(spec) {
    const int channels = positive(spec, "input_channels", 3);
    Node in;
    in.name = "input";
    in.op = Op::Input;
    values_["input"] = add(std::move(in), channels);
    graph_.input_names.push_back("input");
  }

  Graph parse() {
    const auto& layers = spec_.raw("layers");
    if (!layers.is_array() || layers.empty()) spec_.fail("layers", "expected a non-empty array of layers");
    std::string previous = "input";
    for (size_t i = 0; i < layers.size(); ++i) {
      ObjectReader layer(layers[i], spec_.file(), spec_.where(cat("layers[", i, "]")));
      const std::string name = layer.string("name");
      if (name.empty()) layer.fail("name", "must not be empty");
      if (values_.count(name)) layer.fail("name", cat("layer name '", name, "' is used twice"));
      values_[name] = parse_layer(layer, name, previous);
      layer.finish();
      previous = name;
    }
    std::vector<std::string> outputs{previous};
    if (spec_.has("outputs")) {
      outputs.clear();
      const auto& v = spec_.raw("outputs");
      if (!v.is_array() || v.empty()) spec_.fail("outputs", "expected a non-empty list of layer names");
      for (const auto& o : v) {
        if (!o.is_string()) spec_.fail("outputs", "expected a non-empty list of layer names");
        outputs.push_back(o.get<std::string>());
      }
    }
    for (const auto& o : outputs) {
      auto it = values_.find(o);
      if (it == values_.end()) spec_.fail("outputs", cat("no layer is named '", o, "'"));
      graph_.outputs.push_back(it->second);
      graph_.output_names.push_back(o);
    }
    spec_.finish();
    return std::move(graph_);
  }

 private:
  int add(Node node, int channels) {
    const int id = graph_.add(std::move(node));
    channels_.push_back(channels);
    return id;
  }

  static Node make(const std::string& name, Op op, std::vector<int> inputs, NodeParams params = {}) {
    Node n;
    n.name = name;
    n.op = op;
    n.inputs = std::move(inputs);
    n.params = std::move(params);
    return n;
  }

  static void declare(Node& n, const std::string& role, Shape shape) { n.tensors.push_back({role, n.name + "." + role, std::move(shape), {}}); }

  // The channel count (axis 1) of value `x`: from `key` when the layer gives it (checked
  // against what is known), else as tracked; an error when neither tells.
  int channels_of(ObjectReader& layer, int x, const std::string& key) {
    const int known = channels_[x];
    if (layer.has(key)) {
      const int given = positive(layer, key);
      if (known > 0 && given != known) layer.fail(key, cat("is ", given, " but the input has ", known, " channels"));
      return given;
    }
    if (known <= 0) layer.fail(key, cat("missing: the input's channel count is not evident from the layers before, so give ", key));
    return known;
  }

  int parse_layer(ObjectReader& layer, const std::string& name, const std::string& previous) {
    const std::string op = layer.string("op");
    std::vector<int> in;
    if (op == "constant") {
      if (layer.has("input")) layer.fail("input", "a constant takes no input");
    } else {
      for (const auto& n : input_names(layer, previous)) {
        auto it = values_.find(n);
        if (it == values_.end()) layer.fail("input", cat("no earlier layer is named '", n, "'"));
        in.push_back(it->second);
      }
    }
    auto one = [&]() {
      if (in.size() != 1) layer.fail("input", cat("op '", op, "' takes one input"));
      return in[0];
    };
    auto same = [&](Op kind, NodeParams params) {
      const int x = one();
      return add(make(name, kind, {x}, std::move(params)), channels_[x]);
    };

    if (op == "conv" || op == "deconv") {
      const int x = one();
      ConvParams p;
      p.out_channels = positive(layer, "out_channels");
      p.kernel = positive_pair(layer, "kernel", {1, 1});
      p.stride = positive_pair(layer, "stride", {1, 1});
      p.pad = padding(layer, "padding");
      p.dilation = positive_pair(layer, "dilation", {1, 1});
      p.groups = positive(layer, "groups", 1);
      p.bias = layer.boolean("bias", true);
      if (op == "deconv") {
        p.output_padding = layer.pair("output_padding", {0, 0});
        if (p.output_padding[0] < 0 || p.output_padding[1] < 0) layer.fail("output_padding", "must not be negative");
      }
      const int c = channels_of(layer, x, "in_channels");
      if (c % p.groups || p.out_channels % p.groups)
        layer.fail("groups", cat("channels ", c, " -> ", p.out_channels, " do not divide into ", p.groups, " groups"));
      Node n = make(name, op == "conv" ? Op::Conv : Op::Deconv, {x}, p);
      declare(n, "weight", {p.out_channels, c / p.groups, p.kernel[0], p.kernel[1]});
      if (p.bias) declare(n, "bias", {p.out_channels});
      return add(std::move(n), p.out_channels);
    }
    if (op == "batch_norm") {
      const int x = one();
      const int c = channels_of(layer, x, "channels");
      Node n = make(name, Op::BatchNorm, {x}, BatchNormParams{real(layer, "eps", 1e-5f)});
      for (const char* role : {"weight", "bias", "running_mean", "running_var"}) declare(n, role, {c});
      return add(std::move(n), c);
    }
    if (auto it = activations().find(op); it != activations().end()) {
      Activation a{it->second, 0.0f, 0.0f};
      switch (a.kind) {
        case ActKind::LeakyRelu: a.alpha = real(layer, "negative_slope", 0.01f); break;
        case ActKind::Clip:
          a.alpha = real(layer, "min", -FLT_MAX);
          a.beta = real(layer, "max", FLT_MAX);
          break;
        case ActKind::HardSigmoid:
          a.alpha = real(layer, "alpha", 0.2f);
          a.beta = real(layer, "beta", 0.5f);
          break;
        case ActKind::Affine:
          a.alpha = real(layer, "alpha", 1.0f);
          a.beta = real(layer, "beta", 0.0f);
          break;
        case ActKind::Pow: a.alpha = real(layer, "exponent"); break;
        case ActKind::Elu: a.alpha = real(layer, "alpha", 1.0f); break;
        default: break;
      }
      return same(Op::Activation, a);
    }
    if (op == "max_pool" || op == "avg_pool") {
      PoolParams p;
      p.max = op == "max_pool";
      p.kernel = positive_pair(layer, "kernel", {2, 2});
      p.stride = positive_pair(layer, "stride", p.kernel);
      p.pad = padding(layer, "padding");
      p.ceil_mode = layer.boolean("ceil_mode", false);
      p.count_include_pad = p.max || layer.boolean("count_include_pad", true);
      return same(Op::Pool, p);
    }
    if (op == "global_avg_pool" || op == "global_max_pool") {
      PoolParams p;
      p.max = op == "global_max_pool";
      p.global = true;
      return same(Op::Pool, p);
    }
    if (op == "adaptive_avg_pool") return same(Op::AdaptiveAvgPool, AdaptivePoolParams{positive_pair(layer, "output", {1, 1})});
    if (op == "linear") {
      const int x = one();
      const int in_features = positive(layer, "in_features");
      InnerProductParams p{positive(layer, "out_features"), layer.boolean("bias", true)};
      Node n = make(name, Op::InnerProduct, {x}, p);
      declare(n, "weight", {p.out_features, in_features});
      if (p.bias) declare(n, "bias", {p.out_features});
      return add(std::move(n), p.out_features);
    }
    if (op == "lrn") {
      return same(Op::LRN, LRNParams{positive(layer, "size"), real(layer, "alpha", 1e-4f), real(layer, "beta", 0.75f), real(layer, "k", 1.0f)});
    }
    if (op == "flatten") return add(make(name, Op::Flatten, {one()}, AxisParams{1}), -1);
    if (op == "dropout" || op == "identity") return one();  // identity at inference
    if (op == "softmax") return same(Op::Softmax, AxisParams{axis(layer)});
    if (op == "concat") {
      const int ax = axis(layer);
      int c = ax == 1 ? 0 : channels_[in.at(0)];
      for (int x : in)
        if (ax == 1) c = (c < 0 || channels_[x] <= 0) ? -1 : c + channels_[x];
      return add(make(name, Op::Concat, in, AxisParams{ax}), c);
    }
    if (op == "matmul") {
      if (in.size() != 2) layer.fail("input", "matmul takes two inputs");
      return add(make(name, Op::MatMul, in), -1);
    }
    if (auto it = binary_ops().find(op); it != binary_ops().end()) {
      if (in.size() != 2) layer.fail("input", cat(op, " takes two inputs"));
      const int a = channels_[in[0]], b = channels_[in[1]];
      const int c = a <= 0 || b <= 0 ? -1 : a == b ? a : a == 1 ? b : b == 1 ? a : -1;
      return add(make(name, it->second, in), c);
    }
    if (op == "reshape") {
      const int x = one();
      ReshapeParams p{int64s(layer, "shape"), true};
      int inferred = 0;
      for (auto d : p.shape) {
        if (d < -1) layer.fail("shape", cat("invalid dimension ", d, " (0 copies the input's, -1 is inferred)"));
        inferred += d == -1;
      }
      if (inferred > 1) layer.fail("shape", "more than one -1");
      const int c = p.shape.size() < 2 ? -1 : p.shape[1] == 0 ? channels_[x] : p.shape[1] > 0 ? static_cast<int>(p.shape[1]) : -1;
      return add(make(name, Op::Reshape, {x}, p), c);
    }
    if (op == "transpose") {
      const int x = one();
      TransposeParams p{layer.integers("perm")};
      return add(make(name, Op::Transpose, {x}, p), p.perm.size() > 1 && p.perm[1] == 1 ? channels_[x] : -1);
    }
    if (op == "slice") {
      const int x = one();
      SliceParams p;
      p.starts = int64s(layer, "starts");
      p.out = int64s(layer, "sizes");
      p.steps = layer.has("steps") ? int64s(layer, "steps") : std::vector<int64_t>(p.starts.size(), 1);
      if (p.out.size() != p.starts.size() || p.steps.size() != p.starts.size())
        layer.fail("sizes", "starts, sizes and steps must have one entry per axis");
      for (size_t i = 0; i < p.starts.size(); ++i) {
        if (p.starts[i] < 0) layer.fail("starts", "must not be negative");
        if (p.out[i] < -1) layer.fail("sizes", "must be a count or -1 (as many as there are)");
        if (p.steps[i] == 0) layer.fail("steps", "must not be 0");
      }
      int c = -1;
      if (p.out.size() > 1) c = p.out[1] >= 0 ? static_cast<int>(p.out[1]) : p.starts[1] == 0 && p.steps[1] == 1 ? channels_[x] : -1;
      return add(make(name, Op::Slice, {x}, p), c);
    }
    if (op == "pad") {
      const int x = one();
      PadParams p;
      p.begin = int64s(layer, "begin");
      p.end = int64s(layer, "end");
      if (p.begin.size() != p.end.size()) layer.fail("end", "begin and end must have one entry per axis");
      p.mode = choice<PadParams::Mode>(layer, "mode", {{"constant", PadParams::Constant}, {"reflect", PadParams::Reflect}, {"edge", PadParams::Edge}},
                                       PadParams::Constant);
      p.value = real(layer, "value", 0.0f);
      const int c = p.begin.size() > 1 && channels_[x] > 0 ? static_cast<int>(channels_[x] + p.begin[1] + p.end[1]) : -1;
      return add(make(name, Op::Pad, {x}, p), c);
    }
    if (op == "resize") {
      // Two inputs: the second gives the output's last two axes (read for its shape only).
      if (in.size() != 1 && in.size() != 2) layer.fail("input", "resize takes one input, or two (data, size reference)");
      ResizeParams p;
      p.size_from_second_input = in.size() == 2;
      p.mode = choice<ResizeParams::Mode>(layer, "mode", {{"nearest", ResizeParams::Nearest}, {"linear", ResizeParams::Linear}},
                                          ResizeParams::Nearest);
      p.coord = choice<ResizeParams::Coord>(layer, "coordinate_mode",
                                            {{"half_pixel", ResizeParams::HalfPixel},
                                             {"pytorch_half_pixel", ResizeParams::PytorchHalfPixel},
                                             {"align_corners", ResizeParams::AlignCorners},
                                             {"asymmetric", ResizeParams::Asymmetric},
                                             {"tf_half_pixel_for_nn", ResizeParams::TfHalfPixelForNn}},
                                            ResizeParams::HalfPixel);
      p.nearest = choice<ResizeParams::Rounding>(layer, "nearest_mode",
                                                 {{"round_prefer_floor", ResizeParams::RoundPreferFloor},
                                                  {"round_prefer_ceil", ResizeParams::RoundPreferCeil},
                                                  {"floor", ResizeParams::Floor},
                                                  {"ceil", ResizeParams::Ceil}},
                                                 ResizeParams::RoundPreferFloor);
      if (layer.has("size")) {
        const auto s = positive_pair(layer, "size", {0, 0});
        p.out = {s[0], s[1]};
      }
      if (layer.has("scales")) {
        const auto s = layer.numbers("scales");
        if (s.size() != 2 || !(s[0] > 0) || !(s[1] > 0)) layer.fail("scales", "expected two positive numbers [h, w]");
        p.scale = {static_cast<float>(s[0]), static_cast<float>(s[1])};
      }
      if (p.size_from_second_input) {
        if (!p.out.empty()) layer.fail("size", "not allowed with a second input, which gives the size");
        if (p.scale[0] != 0) layer.fail("scales", "not allowed with a second input, which gives the size");
        return add(make(name, Op::Resize, {in[0], in[1]}, p), channels_[in[0]]);
      }
      if (p.out.empty() && p.scale[0] == 0) layer.fail("size", "missing: give size [h, w], scales [h, w] or both");
      return same(Op::Resize, p);
    }
    if (op == "constant") {
      Shape shape = int64s(layer, "shape");
      for (auto d : shape)
        if (d < 0) layer.fail("shape", "must not be negative");
      Node n = make(name, Op::Constant, {});
      declare(n, "value", shape);
      return add(std::move(n), -1);
    }
    layer.fail("op", cat("unknown op '", op, "'"));
  }

  static int axis(ObjectReader& layer) {
    const int a = layer.integer("axis", 1);
    if (a < 0) layer.fail("axis", "must not be negative (axes count from 0)");
    return a;
  }

  ObjectReader& spec_;
  Graph graph_;
  std::map<std::string, int> values_;
  std::vector<int> channels_;  // per node: axis 1, or -1 where the parser cannot tell
};

}  // namespace

Graph graph_from_json(ObjectReader& spec) { return Parser(spec).parse(); }

}  // namespace osprey
