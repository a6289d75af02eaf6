#include "model/model.hpp"

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "engine/passes.hpp"
#include "model/darknet/darknet_model.hpp"
#include "model/darknet/network.hpp"
#include "model/darknet/weights.hpp"
#include "model/families/family.hpp"
#include "model/graph_json.hpp"
#include "model/json_reader.hpp"
#include "model/onnx/onnx_model.hpp"
#include "model/safetensors.hpp"
#include "model/tfjs/tfjs_model.hpp"
#include "model/weights.hpp"

namespace osprey {

namespace fs = std::filesystem;

namespace {

std::string relative_to(const std::string& config_path, const std::string& path) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  return (fs::path(config_path).parent_path() / path).lexically_normal().string();
}

void read_input(ObjectReader in, InputSpec& spec) {
  if (in.has("size")) {
    const auto size = in.pair("size", {spec.height, spec.width});
    spec.height = size[0];
    spec.width = size[1];
  }
  if (in.has("channels")) {
    const std::string c = in.string("channels");
    if (c == "rgb") spec.channels = ChannelOrder::RGB;
    else if (c == "bgr") spec.channels = ChannelOrder::BGR;
    else if (c == "gray") spec.channels = ChannelOrder::Gray;
    else in.fail("channels", cat("expected rgb, bgr or gray, got '", c, "'"));
  }
  if (in.has("resize")) {
    const std::string r = in.string("resize");
    if (r == "stretch") spec.resize = ResizeMode::Stretch;
    else if (r == "shorter_side_crop") spec.resize = ResizeMode::ShorterSideCrop;
    else in.fail("resize", cat("expected stretch or shorter_side_crop, got '", r, "'"));
  }
  spec.resize_shorter = in.integer("resize_shorter", spec.resize_shorter);
  spec.scale = static_cast<float>(in.number("scale", spec.scale));
  auto floats = [&](const char* key, std::vector<float>& out) {
    if (!in.has(key)) return;
    out.clear();
    for (double v : in.numbers(key)) out.push_back(static_cast<float>(v));
  };
  floats("mean", spec.mean);
  floats("std", spec.std);
  in.finish();
  if (spec.height <= 0 || spec.width <= 0) in.fail("size", "must be positive");
  if (spec.resize == ResizeMode::ShorterSideCrop && spec.resize_shorter < std::min(spec.height, spec.width))
    in.fail("resize_shorter", cat(spec.resize_shorter, " is smaller than the crop ", spec.height, "x", spec.width));
  const size_t c = static_cast<size_t>(spec.channel_count());
  if (spec.mean.size() != c) in.fail("mean", cat("has ", spec.mean.size(), " values for ", c, " channels"));
  if (spec.std.size() != c) in.fail("std", cat("has ", spec.std.size(), " values for ", c, " channels"));
  for (float s : spec.std)
    if (s == 0.0f) in.fail("std", "must not contain 0");
}

std::vector<std::string> read_label_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ModelError(cat(path, ": cannot open labels file"));
  std::vector<std::string> labels;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) labels.push_back(line);
  }
  return labels;
}

// Flags given on the command line override the config (same keys, same checks).
void apply_overrides(ModelConfig& config, const LoadOptions& options) {
  if (!options.input_json.empty()) {
    const nlohmann::json input = nlohmann::json::parse(options.input_json);
    read_input(ObjectReader(input, "command line", "input"), config.input);
  }
  if (!options.labels_file.empty()) config.labels = read_label_file(options.labels_file);
}

std::vector<std::string> read_labels(ObjectReader& top, const std::string& config_path) {
  const auto& v = top.raw("labels");
  std::vector<std::string> labels;
  if (v.is_array()) {
    for (const auto& l : v) {
      if (!l.is_string()) top.fail("labels", "expected a list of strings or a file name");
      labels.push_back(l.get<std::string>());
    }
    return labels;
  }
  if (!v.is_string()) top.fail("labels", "expected a list of strings or a file name");
  const std::string path = relative_to(config_path, v.get<std::string>());
  std::ifstream in(path);
  if (!in) top.fail("labels", cat("cannot open labels file ", path));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) labels.push_back(line);
  }
  return labels;
}

}  // namespace

namespace {

// read_config, with `input_json` (LoadOptions::input_json) over the config's "input" before
// a Darknet network is built at its size.
ModelConfig read_config_overriding(const std::string& config_path, Graph* graph_out, const std::string& input_json) {
  const nlohmann::json doc = read_json_file(config_path);
  ObjectReader top(doc, config_path);
  ModelConfig config;
  config.path = config_path;
  config.name = top.string("name", fs::path(config_path).stem().string());
  config.task = top.string("task", "classify");
  if (config.task != "classify" && config.task != "detect" && config.task != "segment")
    top.fail("task", cat("task '", config.task, "' is not supported (classify, detect, segment)"));

  ObjectReader arch = top.object("architecture");
  Graph graph;
  std::string darknet_cfg;  // built below, once the input size is known
  if (arch.has("onnx")) {
    config.onnx = relative_to(config_path, arch.string("onnx"));
    config.num_classes = arch.integer("num_classes", 0);
  } else if (arch.has("darknet")) {
    darknet_cfg = relative_to(config_path, arch.string("darknet"));
    config.input = darknet::read_input_spec(darknet_cfg);
  } else if (arch.has("tfjs")) {
    config.tfjs = relative_to(config_path, arch.string("tfjs"));
    if (arch.has("outputs")) {
      const auto& outs = arch.raw("outputs");
      if (!outs.is_array()) arch.fail("outputs", "expected a list of node names");
      for (const auto& o : outs) {
        if (!o.is_string()) arch.fail("outputs", "expected a list of node names");
        config.tfjs_outputs.push_back(o.get<std::string>());
      }
    }
    config.num_classes = arch.integer("num_classes", 0);
  } else if (arch.has("graph")) {
    ObjectReader spec = arch.object("graph");
    graph = graph_from_json(spec);
    config.num_classes = arch.integer("num_classes", 0);
  } else {
    const FamilyBuilder build = find_family(arch.string("family"), arch);
    FamilyModel family = build(arch);
    graph = std::move(family.graph);
    config.input = family.input;
    config.num_classes = family.num_classes;
  }
  arch.finish();

  if (top.has("input")) read_input(top.object("input"), config.input);
  if (!input_json.empty()) read_input(ObjectReader(nlohmann::json::parse(input_json), "command line", "input"), config.input);
  if (!darknet_cfg.empty()) {
    darknet::Network net = darknet::build_network(darknet_cfg, config.input.height, config.input.width);
    graph = std::move(net.graph);
    config.num_classes = net.num_classes;
  }
  if (top.has("labels")) config.labels = read_labels(top, config_path);
  if (config.num_classes && !config.labels.empty() && static_cast<int>(config.labels.size()) != config.num_classes)
    top.fail("labels", cat("has ", config.labels.size(), " labels for ", config.num_classes, " classes"));
  if (top.has("weights")) config.weights = relative_to(config_path, top.string("weights"));
  if (top.has("postprocess")) {
    ObjectReader post = top.object("postprocess");
    config.postprocess.softmax = post.boolean("softmax", config.postprocess.softmax);
    config.postprocess.top_k = post.integer("top_k", config.postprocess.top_k);
    post.finish();
  }
  // The task pipeline's settings (anchors, priors, decoders, thresholds): read strictly by
  // lib/detect and lib/segment, which know their keys.
  if (top.has("detector")) top.raw("detector");
  if (top.has("segmenter")) top.raw("segmenter");
  top.finish();
  if (graph_out) *graph_out = std::move(graph);
  return config;
}

}  // namespace

ModelConfig read_config(const std::string& config_path, Graph* graph_out) { return read_config_overriding(config_path, graph_out, ""); }

namespace {

bool has_suffix(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::unique_ptr<Model> Model::load(const std::string& path, const LoadOptions& options) {
  auto model = std::unique_ptr<Model>(new Model());
  ModelConfig& config = model->config_;
  if (has_suffix(path, ".onnx")) {
    config.path = path;
    config.name = fs::path(path).stem().string();
    config.onnx = path;
  } else {
    auto graph = std::make_shared<Graph>();
    config = darknet::is_darknet_cfg(path) ? darknet::bare_cfg_config(path, graph.get())
                                           : read_config_overriding(path, graph.get(), options.input_json);
    if (!config.tfjs.empty()) return load_tfjs(std::move(model), options);
    if (config.onnx.empty()) {
      if (!options.weights.empty()) config.weights = options.weights;
      if (config.weights.empty()) throw ModelError(cat(path, ": no weights file (set \"weights\" or pass --weights)"));
      const InputSpec built = config.input;
      apply_overrides(config, options);
      // A Darknet network is built for one input size: rebuild a bare cfg's at the new one.
      if (darknet::is_darknet_cfg(path) && (config.input.height != built.height || config.input.width != built.width))
        *graph = darknet::build_network(path, config.input.height, config.input.width).graph;
      if (darknet::is_darknet_weights(config.weights)) {
        darknet::bind_darknet_weights(*graph, config.weights);
      } else {
        SafetensorsFile file(config.weights);
        bind_weights(*graph, file);
      }
      optimize(*graph, {model->input_shape(1)});
      model->executor_ = std::make_unique<Executor>(std::shared_ptr<const Graph>(graph));
      return model;
    }
  }
  // ONNX: the graph is built (and its shape arithmetic folded) per input shape.
  auto onnx = std::make_shared<const OnnxModel>(config.onnx);
  if (onnx->inputs().size() != 1) throw ModelError(cat(config.onnx, ": image tools need a model with one input, this one has ", onnx->inputs().size()));
  const auto& dims = onnx->inputs()[0].dims;
  if (dims.size() == 4 && config.path == config.onnx) {
    if (dims[1] == 1) config.input.channels = ChannelOrder::Gray, config.input.mean = {0.5f}, config.input.std = {0.5f};
    if (dims[2] > 0) config.input.height = static_cast<int>(dims[2]);
    if (dims[3] > 0) config.input.width = static_cast<int>(dims[3]);
    config.input.resize_shorter = std::max(config.input.resize_shorter, std::min(config.input.height, config.input.width));
  }
  apply_overrides(config, options);
  model->onnx_ = onnx;
  model->executor_ = std::make_unique<Executor>([onnx](const std::vector<Shape>& shapes) {
    auto graph = std::make_shared<Graph>(onnx->build(shapes));
    optimize(*graph, shapes);
    return std::shared_ptr<const Graph>(graph);
  });
  model->executor_->prepare({model->input_shape(1)});  // import errors surface at load time
  return model;
}

// TF.js: the weights come with the model; the graph is built (and its constants folded)
// per input shape, at the size the config states.
std::unique_ptr<Model> Model::load_tfjs(std::unique_ptr<Model> model, const LoadOptions& options) {
  ModelConfig& config = model->config_;
  if (!options.weights.empty()) throw ModelError(cat(config.path, ": a TF.js model carries its weights; --weights does not apply"));
  apply_overrides(config, options);
  auto tfjs = std::make_shared<const TfjsModel>(config.tfjs);
  model->tfjs_ = tfjs;
  const std::vector<std::string> outputs = config.tfjs_outputs;
  model->executor_ = std::make_unique<Executor>([tfjs, outputs](const std::vector<Shape>& shapes) {
    if (shapes.size() != 1) throw ModelError(cat(tfjs->path(), ": the model has one input, ", shapes.size(), " shapes given"));
    auto graph = std::make_shared<Graph>(tfjs->build(shapes[0], outputs));
    optimize(*graph, shapes);
    return std::shared_ptr<const Graph>(graph);
  });
  model->executor_->prepare({model->input_shape(1)});  // import errors surface at load time
  return model;
}

Shape Model::input_shape(int batch) const {
  return {batch, config_.input.channel_count(), config_.input.height, config_.input.width};
}

std::string Model::label(int class_id) const {
  if (class_id >= 0 && class_id < static_cast<int>(config_.labels.size())) return config_.labels[class_id];
  return std::to_string(class_id);
}

}  // namespace osprey
