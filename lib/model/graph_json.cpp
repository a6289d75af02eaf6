#include "model/graph_json.hpp"

#include <map>

#include "model/graph_builder.hpp"

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

const std::map<std::string, ActKind>& activations() {
  static const std::map<std::string, ActKind> table{
      {"relu", ActKind::Relu},       {"leaky_relu", ActKind::LeakyRelu}, {"relu6", ActKind::Relu6},
      {"tanh", ActKind::Tanh},       {"sigmoid", ActKind::Sigmoid},      {"hardswish", ActKind::HardSwish},
      {"silu", ActKind::SiLU},       {"clip", ActKind::Clip},
  };
  return table;
}

}  // namespace

Graph graph_from_json(ObjectReader& spec) {
  GraphBuilder b(spec.integer("input_channels", 3));
  std::map<std::string, int> values{{"input", b.input()}};
  std::string previous = "input";
  const auto& layers = spec.raw("layers");
  if (!layers.is_array() || layers.empty()) spec.fail("layers", "expected a non-empty array of layers");

  for (size_t i = 0; i < layers.size(); ++i) {
    ObjectReader layer(layers[i], spec.file(), spec.where(cat("layers[", i, "]")));
    const std::string name = layer.string("name");
    const std::string op = layer.string("op");
    if (values.count(name)) layer.fail("name", cat("layer name '", name, "' is used twice"));
    std::vector<int> in;
    for (const auto& n : input_names(layer, previous)) {
      auto it = values.find(n);
      if (it == values.end()) layer.fail("input", cat("no earlier layer is named '", n, "'"));
      in.push_back(it->second);
    }
    auto one = [&]() {
      if (in.size() != 1) layer.fail("input", cat("op '", op, "' takes one input"));
      return in[0];
    };
    int out;
    if (op == "conv") {
      ConvSpec s;
      s.out = layer.integer("out_channels");
      s.kernel = layer.pair("kernel", {1, 1});
      s.stride = layer.pair("stride", {1, 1});
      s.pad = layer.pair("padding", {0, 0});
      s.dilation = layer.pair("dilation", {1, 1});
      s.groups = layer.integer("groups", 1);
      s.bias = layer.boolean("bias", true);
      out = b.conv(name, one(), s);
    } else if (op == "batch_norm") {
      out = b.batch_norm(name, one(), static_cast<float>(layer.number("eps", 1e-5)));
    } else if (activations().count(op)) {
      Activation a{activations().at(op)};
      if (a.kind == ActKind::LeakyRelu) a.alpha = static_cast<float>(layer.number("negative_slope", 0.01));
      if (a.kind == ActKind::Clip) a.alpha = static_cast<float>(layer.number("min")), a.beta = static_cast<float>(layer.number("max"));
      out = b.activation(name, one(), a);
    } else if (op == "max_pool" || op == "avg_pool") {
      const auto kernel = layer.pair("kernel", {2, 2});
      const auto stride = layer.pair("stride", kernel);
      const auto pad = layer.pair("padding", {0, 0});
      const bool ceil = layer.boolean("ceil_mode", false);
      out = op == "max_pool" ? b.max_pool(name, one(), kernel, stride, pad, ceil)
                             : b.avg_pool(name, one(), kernel, stride, pad, ceil, layer.boolean("count_include_pad", true));
    } else if (op == "global_avg_pool" || op == "adaptive_avg_pool") {
      out = b.adaptive_avg_pool(name, one(), op == "global_avg_pool" ? std::array<int, 2>{1, 1} : layer.pair("output", {1, 1}));
    } else if (op == "linear") {
      out = b.linear(name, one(), layer.integer("in_features"), layer.integer("out_features"), layer.boolean("bias", true));
    } else if (op == "lrn") {
      out = b.lrn(name, one(), layer.integer("size"), static_cast<float>(layer.number("alpha", 1e-4)),
                  static_cast<float>(layer.number("beta", 0.75)), static_cast<float>(layer.number("k", 1.0)));
    } else if (op == "flatten") {
      out = b.flatten(name, one());
    } else if (op == "dropout" || op == "identity") {
      out = one();  // identity at inference
    } else if (op == "softmax") {
      out = b.softmax(name, one());
    } else if (op == "concat") {
      out = b.concat(name, in);
    } else if (op == "add") {
      if (in.size() != 2) layer.fail("input", "add takes two inputs");
      out = b.add(name, in[0], in[1]);
    } else {
      layer.fail("op", cat("unknown op '", op, "'"));
    }
    layer.finish();
    values[name] = out;
    previous = name;
  }
  std::vector<std::string> outputs{previous};
  if (spec.has("outputs")) {
    outputs.clear();
    for (const auto& o : spec.raw("outputs")) outputs.push_back(o.is_string() ? o.get<std::string>() : "");
  }
  for (const auto& o : outputs) {
    auto it = values.find(o);
    if (it == values.end()) spec.fail("outputs", cat("no layer is named '", o, "'"));
    b.output(it->second, o);
  }
  spec.finish();
  return b.finish();
}

}  // namespace osprey
