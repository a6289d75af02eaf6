#include "model/darknet/network.hpp"

#include "core/error.hpp"
#include "model/darknet/cfg.hpp"

namespace osprey::darknet {

namespace {

// What a Darknet layer outputs: a graph value and its shape per image ([c, h, w], or a flat
// vector of `c` features when h = w = 0).
struct Value {
  int node = -1;
  int c = 0, h = 0, w = 0;
  bool flat() const { return h == 0; }
  int64_t size() const { return flat() ? c : int64_t{c} * h * w; }
};

class Builder {
 public:
  Builder(const Cfg& cfg, int height, int width, int channels) : cfg_(cfg) {
    Node in;
    in.name = "input";
    in.op = Op::Input;
    const int id = graph_.add(std::move(in));
    graph_.input_names.push_back("input");
    input_ = {id, channels, height, width};
  }

  Network build() {
    for (size_t i = 1; i < cfg_.sections.size(); ++i) {
      index_ = static_cast<int>(i) - 1;
      const CfgSection& s = cfg_.sections[i];
      const Value prev = layers_.empty() ? input_ : layers_.back();
      layers_.push_back(layer(s, prev));
    }
    if (layers_.empty()) throw ModelError(cat(cfg_.path, ": no layers after [net]"));
    if (net_.heads.empty()) {
      output(layers_.back(), "output");
      net_.num_classes = static_cast<int>(layers_.back().size());
    }
    net_.graph = std::move(graph_);
    return std::move(net_);
  }

 private:
  std::string prefix() const { return std::to_string(index_); }

  int add(Node node) { return graph_.add(std::move(node)); }

  void output(const Value& v, const std::string& name) {
    graph_.outputs.push_back(v.node);
    graph_.output_names.push_back(name);
  }

  Value activation(const CfgSection& s, Value x, const std::string& fallback) {
    const std::string act = cfg_.string(s, "activation", fallback);
    auto apply = [&](ActKind kind, float alpha, const std::string& name, int input) {
      return add(Node{prefix() + "." + name, Op::Activation, {input}, Activation{kind, alpha, 0.0f}, {}, {}, false});
    };
    if (act == "linear") return x;
    if (act == "leaky") x.node = apply(ActKind::LeakyRelu, 0.1f, "leaky", x.node);  // activations.h: x > 0 ? x : .1 * x
    else if (act == "relu") x.node = apply(ActKind::Relu, 0, "relu", x.node);
    else if (act == "logistic") x.node = apply(ActKind::Sigmoid, 0, "logistic", x.node);
    else if (act == "tanh") x.node = apply(ActKind::Tanh, 0, "tanh", x.node);
    else if (act == "mish") {  // x * tanh(softplus(x)) (Misra 2019; AlexeyAB's darknet)
      const int sp = apply(ActKind::Softplus, 0, "softplus", x.node);
      const int th = apply(ActKind::Tanh, 0, "tanh", sp);
      x.node = add(Node{prefix() + ".mish", Op::Mul, {x.node, th}, {}, {}, {}, false});
    } else {
      cfg_.fail(s, "activation", cat("activation '", act, "' is not supported (linear, leaky, relu, logistic, tanh, mish)"));
    }
    return x;
  }

  void need_image(const CfgSection& s, const Value& x) const {
    if (x.flat()) cfg_.fail(s, "needs an image input (channels x height x width), its input is a flat vector");
  }

  // Darknet routes and shortcuts name layers by index; negative indices count back from
  // this layer.
  const Value& layer_at(const CfgSection& s, const std::string& key, int index) const {
    const int absolute = index < 0 ? index_ + index : index;
    if (absolute < 0 || absolute >= index_)
      cfg_.fail(s, key, cat("layer index ", index, " is out of range (layer ", index_, " can read layers 0 to ", index_ - 1, ")"));
    return layers_[static_cast<size_t>(absolute)];
  }

  Value convolutional(const CfgSection& s, Value x) {
    need_image(s, x);
    const int filters = cfg_.integer(s, "filters", 1);
    const int size = cfg_.integer(s, "size", 1);
    const int stride = cfg_.integer(s, "stride", 1);
    int padding = cfg_.integer(s, "padding", 0);
    if (cfg_.integer(s, "pad", 0)) padding = size / 2;
    const int groups = cfg_.integer(s, "groups", 1);
    const bool bn = cfg_.integer(s, "batch_normalize", 0) != 0;
    for (const char* key : {"binary", "xnor", "flipped", "dilation"})
      if (cfg_.integer(s, key, 0) > (std::string(key) == "dilation" ? 1 : 0)) cfg_.fail(s, key, "is not supported");
    if (filters <= 0 || size <= 0 || stride <= 0 || padding < 0 || groups <= 0) cfg_.fail(s, "needs positive filters, size, stride and groups");
    if (x.c % groups || filters % groups) cfg_.fail(s, "groups", cat("channels ", x.c, " -> ", filters, " do not divide into ", groups, " groups"));
    ConvParams p;
    p.out_channels = filters;
    p.kernel = {size, size};
    p.stride = {stride, stride};
    p.pad = {padding, padding, padding, padding};
    p.groups = groups;
    p.bias = !bn;
    Node conv{prefix() + ".conv", Op::Conv, {x.node}, p, {}, {}, false};
    conv.tensors.push_back({"weight", prefix() + ".weights", {filters, x.c / groups, size, size}, {}});
    if (!bn) conv.tensors.push_back({"bias", prefix() + ".biases", {filters}, {}});
    Value y{add(std::move(conv)), filters, (x.h + 2 * padding - size) / stride + 1, (x.w + 2 * padding - size) / stride + 1};
    if (y.h <= 0 || y.w <= 0) cfg_.fail(s, cat("input ", x.h, "x", x.w, " is smaller than the kernel ", size));
    if (bn) {
      // Darknet normalises as (x - mean) / (sqrt(var) + 1e-6); bind_darknet_weights stores
      // (sqrt(var) + 1e-6)^2 as the running variance so that eps = 0 gives exactly that.
      Node norm{prefix() + ".bn", Op::BatchNorm, {y.node}, BatchNormParams{0.0f}, {}, {}, false};
      norm.tensors.push_back({"weight", prefix() + ".scales", {filters}, {}});
      norm.tensors.push_back({"bias", prefix() + ".biases", {filters}, {}});
      norm.tensors.push_back({"running_mean", prefix() + ".rolling_mean", {filters}, {}});
      norm.tensors.push_back({"running_var", prefix() + ".rolling_variance", {filters}, {}});
      y.node = add(std::move(norm));
    }
    return activation(s, y, "logistic");
  }

  Value maxpool(const CfgSection& s, Value x) {
    need_image(s, x);
    const int stride = cfg_.integer(s, "stride", 1);
    const int size = cfg_.integer(s, "size", stride);
    const int padding = cfg_.integer(s, "padding", size - 1);
    if (stride <= 0 || size <= 0 || padding < 0) cfg_.fail(s, "needs positive size and stride");
    // maxpool_layer.c: out = (in + padding - size) / stride + 1, windows start at
    // i * stride - padding / 2, cells outside the input are skipped.
    const int out_h = (x.h + padding - size) / stride + 1, out_w = (x.w + padding - size) / stride + 1;
    if (out_h <= 0 || out_w <= 0) cfg_.fail(s, cat("input ", x.h, "x", x.w, " is smaller than the window ", size));
    const int before = padding / 2;
    // bottom / right padding just large enough for the engine to produce out_h x out_w
    const int after_h = std::max(0, (out_h - 1) * stride + size - x.h - before);
    const int after_w = std::max(0, (out_w - 1) * stride + size - x.w - before);
    if (before >= size) cfg_.fail(s, "padding", cat("padding ", padding, " leaves windows outside the input"));
    PoolParams p{true, {size, size}, {stride, stride}, {before, before, after_h, after_w}, false, true, false};
    return {add(Node{prefix() + ".maxpool", Op::Pool, {x.node}, p, {}, {}, false}), x.c, out_h, out_w};
  }

  Value route(const CfgSection& s) {
    const std::vector<int> indices = cfg_.integers(s, "layers");
    if (indices.empty()) cfg_.fail(s, "needs layers=");
    // AlexeyAB's groups / group_id (YOLOv4-tiny): each routed layer contributes the
    // group_id-th of `groups` equal channel slices (route_layer.c copies that part of its output)
    const int groups = cfg_.integer(s, "groups", 1), group_id = cfg_.integer(s, "group_id", 0);
    if (groups < 1 || group_id < 0 || group_id >= groups) cfg_.fail(s, "group_id", cat("expected 0 <= group_id < groups = ", groups));
    std::vector<Value> sliced;
    for (int i : indices) {
      Value v = layer_at(s, "layers", i);
      if (groups > 1) {
        if (v.flat() || v.c % groups) cfg_.fail(s, "groups", cat("layer ", i, "'s ", v.c, " channels do not split into ", groups, " groups"));
        const int part = v.c / groups;
        SliceParams p{{0, int64_t{part} * group_id, 0, 0}, {1, 1, 1, 1}, {-1, part, -1, -1}};
        v.node = add(Node{prefix() + ".group" + std::to_string(sliced.size()), Op::Slice, {v.node}, p, {}, {}, false});
        v.c = part;
      }
      sliced.push_back(v);
    }
    std::vector<const Value*> from;
    for (const Value& v : sliced) from.push_back(&v);
    if (from.size() == 1) return *from[0];
    Value y = *from[0];
    std::vector<int> inputs;
    y.c = 0;
    for (const Value* v : from) {
      if (v->flat() || v->h != from[0]->h || v->w != from[0]->w)
        cfg_.fail(s, "layers", cat("the routed layers have different sizes (", from[0]->h, "x", from[0]->w, " and ", v->h, "x", v->w, ")"));
      inputs.push_back(v->node);
      y.c += v->c;
    }
    y.node = add(Node{prefix() + ".route", Op::Concat, inputs, AxisParams{1}, {}, {}, false});
    return y;
  }

  Value shortcut(const CfgSection& s, Value x) {
    const std::vector<int> from = cfg_.integers(s, "from");
    if (from.size() != 1) cfg_.fail(s, "from", "expected one layer index");
    const Value& other = layer_at(s, "from", from[0]);
    if (other.c != x.c || other.h != x.h || other.w != x.w)
      cfg_.fail(s, "from", cat("shapes differ (", other.c, "x", other.h, "x", other.w, " and ", x.c, "x", x.h, "x", x.w, "): not supported"));
    if (cfg_.number(s, "alpha", 1) != 1 || cfg_.number(s, "beta", 1) != 1) cfg_.fail(s, "alpha and beta other than 1 are not supported");
    x.node = add(Node{prefix() + ".shortcut", Op::Add, {x.node, other.node}, {}, {}, {}, false});
    return activation(s, x, "linear");
  }

  Value upsample(const CfgSection& s, Value x) {
    need_image(s, x);
    const int stride = cfg_.integer(s, "stride", 2);
    if (stride <= 0) cfg_.fail(s, "stride", "only positive strides (upsampling) are supported");
    ResizeParams p;
    p.mode = ResizeParams::Nearest;
    p.coord = ResizeParams::Asymmetric;
    p.nearest = ResizeParams::Floor;  // upsample_cpu: in = out / stride
    // by scale, not a fixed size: the graph then runs at any input size (--input-size)
    p.scale = {static_cast<float>(stride), static_cast<float>(stride)};
    Value y{add(Node{prefix() + ".upsample", Op::Resize, {x.node}, p, {}, {}, false}), x.c, x.h * stride, x.w * stride};
    const float scale = cfg_.number(s, "scale", 1);
    if (scale != 1) y.node = add(Node{prefix() + ".scale", Op::Activation, {y.node}, Activation{ActKind::Affine, scale, 0}, {}, {}, false});
    return y;
  }

  Value reorg(const CfgSection& s, Value x) {
    need_image(s, x);
    const int st = cfg_.integer(s, "stride", 1);
    for (const char* key : {"reverse", "flatten", "extra"})
      if (cfg_.integer(s, key, 0)) cfg_.fail(s, key, "is not supported");
    if (st <= 0 || x.c % (st * st) || x.h % st || x.w % st)
      cfg_.fail(s, cat("stride ", st, " does not divide the input ", x.c, "x", x.h, "x", x.w));
    // reorg_cpu(forward = 0): the input buffer read as [c / st^2, h * st, w * st]; output
    // element (k, j, i) of [c, h, w] is that view's (k % (c/st^2), j*st + (k / (c/st^2)) / st,
    // i*st + (k / (c/st^2)) % st); the result is then read as [c * st^2, h / st, w / st].
    const int64_t c2 = x.c / (st * st);
    ReshapeParams view{{-1, c2, x.h, st, x.w, st}, true};
    view.shape[0] = 0;
    const int a = add(Node{prefix() + ".reorg_view", Op::Reshape, {x.node}, view, {}, {}, false});
    const int b = add(Node{prefix() + ".reorg_shuffle", Op::Transpose, {a}, TransposeParams{{0, 3, 5, 1, 2, 4}}, {}, {}, false});
    ReshapeParams out{{0, int64_t{x.c} * st * st, x.h / st, x.w / st}, true};
    return {add(Node{prefix() + ".reorg", Op::Reshape, {b}, out, {}, {}, false}), x.c * st * st, x.h / st, x.w / st};
  }

  // [local] (local_layer.c): a convolution with its own weights at every output location.
  // im2col (as a grouped conv with one-hot kernels: row c*k*k + kh*k + kw, im2col_cpu's order),
  // then per location j out[:, j] = W_j (n x c*k*k) . col[:, j] as one batched MatMul, then
  // the per-location biases ([n, out_h, out_w]).
  Value local(const CfgSection& s, Value x) {
    need_image(s, x);
    const int n = cfg_.integer(s, "filters", 1), size = cfg_.integer(s, "size", 1), stride = cfg_.integer(s, "stride", 1);
    const int pad = cfg_.integer(s, "pad", 0);
    if (n <= 0 || size <= 0 || stride <= 0 || pad < 0) cfg_.fail(s, "needs positive filters, size and stride");
    // local_out_height, and what im2col_cpu (called with pad as pixels) lays out
    const int out_h = (x.h - (pad ? 1 : size)) / stride + 1, out_w = (x.w - (pad ? 1 : size)) / stride + 1;
    if (out_h <= 0 || out_w <= 0 || (x.h + 2 * pad - size) / stride + 1 != out_h || (x.w + 2 * pad - size) / stride + 1 != out_w)
      cfg_.fail(s, cat("size ", size, " with pad=", pad, " on ", x.h, "x", x.w, ": Darknet's output size and im2col disagree"));
    const int64_t k = int64_t{x.c} * size * size, locations = int64_t{out_h} * out_w;
    ConvParams p;
    p.out_channels = static_cast<int>(k);
    p.kernel = {size, size};
    p.stride = {stride, stride};
    p.pad = {pad, pad, pad, pad};
    p.groups = x.c;
    p.bias = false;
    Tensor one_hot({k, 1, size, size});
    for (int64_t q = 0; q < k; ++q) one_hot.data[static_cast<size_t>(q * size * size + q % (size * size))] = 1.0f;
    Node im2col{prefix() + ".im2col", Op::Conv, {x.node}, p, {}, {}, false};
    im2col.tensors.push_back({"weight", prefix() + ".im2col (fixed)", {k, 1, size, size}, std::move(one_hot)});
    int v = add(std::move(im2col));
    v = add(Node{prefix() + ".cols", Op::Reshape, {v}, ReshapeParams{{0, k, locations}, true}, {}, {}, false});
    v = add(Node{prefix() + ".cols_t", Op::Transpose, {v}, TransposeParams{{2, 1, 0}}, {}, {}, false});  // [locations, k, N]
    Node weights{prefix() + ".weights", Op::Constant, {}, {}, {}, {}, false};
    weights.tensors.push_back({"value", prefix() + ".weights", {locations, n, k}, {}});
    const int w = add(std::move(weights));
    v = add(Node{prefix() + ".local", Op::MatMul, {w, v}, {}, {}, {}, false});  // [locations, n, N]
    v = add(Node{prefix() + ".local_t", Op::Transpose, {v}, TransposeParams{{2, 1, 0}}, {}, {}, false});
    v = add(Node{prefix() + ".local_map", Op::Reshape, {v}, ReshapeParams{{0, n, out_h, out_w}, true}, {}, {}, false});
    Node biases{prefix() + ".biases", Op::Constant, {}, {}, {}, {}, false};
    biases.tensors.push_back({"value", prefix() + ".biases", {1, n, out_h, out_w}, {}});
    const int b = add(std::move(biases));
    v = add(Node{prefix() + ".bias", Op::Add, {v, b}, {}, {}, {}, false});
    return activation(s, {v, n, out_h, out_w}, "logistic");
  }

  Value connected(const CfgSection& s, Value x) {
    const int outputs = cfg_.integer(s, "output", 1);
    if (outputs <= 0) cfg_.fail(s, "output", "must be positive");
    if (cfg_.integer(s, "batch_normalize", 0)) cfg_.fail(s, "batch_normalize", "is not supported on [connected]");
    int input = x.node;
    if (!x.flat()) input = add(Node{prefix() + ".flatten", Op::Flatten, {x.node}, AxisParams{1}, {}, {}, false});
    const int64_t inputs = x.size();
    Node fc{prefix() + ".connected", Op::InnerProduct, {input}, InnerProductParams{outputs, true}, {}, {}, false};
    fc.tensors.push_back({"weight", prefix() + ".weights", {outputs, inputs}, {}});
    fc.tensors.push_back({"bias", prefix() + ".biases", {outputs}, {}});
    return activation(s, {add(std::move(fc)), outputs, 0, 0}, "logistic");
  }

  Value head(const CfgSection& s, Value x) {
    Head h;
    h.where = s.where(cfg_.path);
    h.layer = index_;
    if (s.type == "yolo") {
      need_image(s, x);
      h.kind = Head::Kind::Yolo;
      h.classes = cfg_.integer(s, "classes", 20);
      const int total = cfg_.integer(s, "num", 1);
      std::vector<int> mask = cfg_.integers(s, "mask");
      if (mask.empty())
        for (int i = 0; i < total; ++i) mask.push_back(i);
      const std::vector<float> anchors = cfg_.numbers(s, "anchors");
      if (!anchors.empty() && static_cast<int>(anchors.size()) != 2 * total)
        cfg_.fail(s, "anchors", cat("has ", anchors.size(), " numbers for num=", total, " anchors"));
      for (int m : mask) {
        if (m < 0 || m >= total) cfg_.fail(s, "mask", cat("index ", m, " is outside the ", total, " anchors"));
        h.anchors.push_back(anchors.empty() ? 0.5f : anchors[2 * m]);  // Darknet's default biases are .5
        h.anchors.push_back(anchors.empty() ? 0.5f : anchors[2 * m + 1]);
      }
      h.num = static_cast<int>(mask.size());
      if (x.c != h.num * (h.classes + 5))
        cfg_.fail(s, cat("its input has ", x.c, " channels, expected ", h.num, " x (", h.classes, " + 5) = ", h.num * (h.classes + 5)));
      h.height = x.h, h.width = x.w;
    } else if (s.type == "region") {
      need_image(s, x);
      h.kind = Head::Kind::Region;
      h.classes = cfg_.integer(s, "classes", 20);
      h.num = cfg_.integer(s, "num", 1);
      h.coords = cfg_.integer(s, "coords", 4);
      h.softmax = cfg_.integer(s, "softmax", 0) != 0;
      h.background = cfg_.integer(s, "background", 0) != 0;
      if (h.coords != 4) cfg_.fail(s, "coords", "only 4 is supported");
      if (h.background) cfg_.fail(s, "background", "is not supported");
      if (s.has("tree") || s.has("map")) cfg_.fail(s, "softmax trees (YOLO9000) are not supported");
      h.anchors = cfg_.numbers(s, "anchors");
      if (h.anchors.empty()) h.anchors.assign(2 * static_cast<size_t>(h.num), 0.5f);
      if (static_cast<int>(h.anchors.size()) != 2 * h.num) cfg_.fail(s, "anchors", cat("has ", h.anchors.size(), " numbers for num=", h.num));
      if (x.c != h.num * (h.classes + h.coords + 1))
        cfg_.fail(s, cat("its input has ", x.c, " channels, expected ", h.num, " x (", h.classes, " + 5) = ", h.num * (h.classes + 5)));
      h.height = x.h, h.width = x.w;
    } else {  // detection
      h.kind = Head::Kind::Detection;
      h.classes = cfg_.integer(s, "classes", 1);
      h.coords = cfg_.integer(s, "coords", 1);
      h.num = cfg_.integer(s, "num", 1);
      h.side = cfg_.integer(s, "side", 7);
      h.softmax = cfg_.integer(s, "softmax", 0) != 0;
      h.sqrt = cfg_.integer(s, "sqrt", 0) != 0;
      if (h.coords != 4) cfg_.fail(s, "coords", "only 4 is supported");
      const int64_t expected = int64_t{h.side} * h.side * (h.classes + h.num * 5);
      if (x.size() != expected)
        cfg_.fail(s, cat("its input has ", x.size(), " values, expected side^2 x (classes + 5 num) = ", expected));
    }
    if (!net_.heads.empty() && net_.heads.front().classes != h.classes)
      cfg_.fail(s, "classes", cat("heads disagree on the class count (", net_.heads.front().classes, " and ", h.classes, ")"));
    net_.num_classes = h.classes;
    output(x, prefix() + "." + s.type);
    net_.heads.push_back(std::move(h));
    return x;  // Darknet's heads pass their (activated) input on; nothing reads it at inference
  }

  Value layer(const CfgSection& s, const Value& prev) {
    const std::string& t = s.type;
    if (t == "convolutional" || t == "conv") return convolutional(s, prev);
    if (t == "maxpool" || t == "max") return maxpool(s, prev);
    if (t == "route") return route(s);
    if (t == "shortcut") return shortcut(s, prev);
    if (t == "upsample") return upsample(s, prev);
    if (t == "reorg") return reorg(s, prev);
    if (t == "connected" || t == "conn") return connected(s, prev);
    if (t == "local") return local(s, prev);
    if (t == "dropout") return prev;  // inference: the input itself
    if (t == "yolo" || t == "region" || t == "detection") return head(s, prev);
    if (t == "avgpool" || t == "avg") {
      need_image(s, prev);
      PoolParams p{false, {prev.h, prev.w}, {1, 1}, {0, 0, 0, 0}, false, true, true};
      // avgpool_layer.c: a c x 1 x 1 image (a 1x1 [convolutional] may follow, as in darknet53.cfg)
      return {add(Node{prefix() + ".avgpool", Op::Pool, {prev.node}, p, {}, {}, false}), prev.c, 1, 1};
    }
    if (t == "softmax" || t == "soft") {
      if (cfg_.integer(s, "groups", 1) != 1 || s.has("tree")) cfg_.fail(s, "grouped or tree softmax is not supported");
      int input = prev.node;
      if (!prev.flat()) input = add(Node{prefix() + ".flatten", Op::Flatten, {prev.node}, AxisParams{1}, {}, {}, false});
      return {add(Node{prefix() + ".softmax", Op::Softmax, {input}, AxisParams{1}, {}, {}, false}), static_cast<int>(prev.size()), 0, 0};
    }
    if (t == "cost") return prev;  // training only
    cfg_.fail(s, cat("unknown or unsupported layer type [", t,
                     "] (supported: convolutional, maxpool, route, shortcut, upsample, reorg, connected, local, dropout, avgpool, softmax, cost, "
                     "region, yolo, detection)"));
  }

  const Cfg& cfg_;
  Graph graph_;
  Network net_;
  Value input_;
  std::vector<Value> layers_;
  int index_ = 0;
};

}  // namespace

InputSpec read_input_spec(const std::string& cfg_path) {
  const Cfg cfg = read_cfg(cfg_path);
  const CfgSection& net = cfg.sections[0];
  InputSpec spec;
  spec.height = cfg.integer(net, "height", 0);
  spec.width = cfg.integer(net, "width", 0);
  const int channels = cfg.integer(net, "channels", 0);
  if (spec.height <= 0 || spec.width <= 0) cfg.fail(net, "needs positive width= and height=");
  if (channels != 3 && channels != 1) cfg.fail(net, "channels", cat("expected 1 or 3, got ", channels));
  spec.channels = channels == 1 ? ChannelOrder::Gray : ChannelOrder::RGB;
  spec.resize = ResizeMode::Stretch;
  spec.resize_shorter = std::min(spec.height, spec.width);
  spec.scale = 1.0f / 255.0f;  // load_image_color: pixels / 255, no mean or std
  spec.mean.assign(static_cast<size_t>(channels), 0.0f);
  spec.std.assign(static_cast<size_t>(channels), 1.0f);
  return spec;
}

Network build_network(const std::string& cfg_path, int height, int width) {
  InputSpec spec = read_input_spec(cfg_path);
  if (height > 0) spec.height = height;
  if (width > 0) spec.width = width;
  spec.resize_shorter = std::min(spec.height, spec.width);
  const Cfg cfg = read_cfg(cfg_path);
  Builder builder(cfg, spec.height, spec.width, spec.channel_count());
  Network net = builder.build();
  net.input = spec;
  return net;
}

}  // namespace osprey::darknet
