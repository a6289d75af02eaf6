#include "model/model.hpp"

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "engine/passes.hpp"
#include "model/families/family.hpp"
#include "model/graph_json.hpp"
#include "model/json_reader.hpp"
#include "model/safetensors.hpp"
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

ModelConfig read_config(const std::string& config_path, Graph* graph_out) {
  const nlohmann::json doc = read_json_file(config_path);
  ObjectReader top(doc, config_path);
  ModelConfig config;
  config.path = config_path;
  config.name = top.string("name", fs::path(config_path).stem().string());
  config.task = top.string("task", "classify");
  if (config.task != "classify") top.fail("task", cat("task '", config.task, "' is not supported by this version (classify)"));

  ObjectReader arch = top.object("architecture");
  Graph graph;
  if (arch.has("graph")) {
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
  top.finish();
  if (graph_out) *graph_out = std::move(graph);
  return config;
}

std::unique_ptr<Model> Model::load(const std::string& config_path, const LoadOptions& options) {
  auto model = std::unique_ptr<Model>(new Model());
  auto graph = std::make_shared<Graph>();
  model->config_ = read_config(config_path, graph.get());
  if (!options.weights.empty()) model->config_.weights = options.weights;
  if (model->config_.weights.empty()) throw ModelError(cat(config_path, ": no weights file (set \"weights\" or pass --weights)"));
  {
    SafetensorsFile file(model->config_.weights);
    bind_weights(*graph, file);
  }
  optimize(*graph, {model->input_shape(1)});
  model->graph_ = graph;
  model->executor_ = std::make_unique<Executor>(graph);
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
