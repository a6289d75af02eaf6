// osprey-inspect: the layer graph of a model (ONNX file or config) with each layer's
// output shape, parameters and FLOPs, and the totals. Needs no weights for a config.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "app_common.hpp"
#include "core/error.hpp"
#include "engine/cost.hpp"
#include "engine/shapes.hpp"
#include "model/model.hpp"
#include "model/onnx/onnx_model.hpp"

using namespace osprey;
namespace fs = std::filesystem;

namespace {

constexpr const char* kTool = "osprey-inspect";

struct Options {
  std::string model;
  std::vector<int> size;
  int batch = 1;
  bool json = false;
};

std::string op_label(const Node& n) {
  std::string label = op_name(n.op);
  if (n.op == Op::Activation) label = act_name(n.get<Activation>().kind);
  if (n.op == Op::Pool) label = n.get<PoolParams>().global ? (n.get<PoolParams>().max ? "global_max_pool" : "global_avg_pool")
                                                           : (n.get<PoolParams>().max ? "max_pool" : "avg_pool");
  for (const auto& po : n.post_ops) label += po.kind == PostOp::Sum ? "+sum" : std::string("+") + act_name(po.act.kind);
  return label;
}

int inspect(const Options& o) {
  Graph graph;
  Shape input;
  std::string source;
  if (fs::path(o.model).extension() == ".onnx") {
    OnnxModel onnx(o.model);
    if (onnx.inputs().empty()) throw ModelError(cat(o.model, ": the model has no float input"));
    const auto& dims = onnx.inputs()[0].dims;
    input = Shape(dims.begin(), dims.end());
    if (input.empty()) input = {1, 3, 224, 224};
    input[0] = o.batch;
    for (size_t i = 1; i < input.size(); ++i) {
      const size_t from_end = input.size() - i;  // spatial sizes are the last two axes
      if (!o.size.empty() && from_end <= 2) input[i] = o.size[o.size.size() == 1 ? 0 : 2 - from_end];
      if (input[i] < 0) input[i] = from_end <= 2 ? 224 : 3;
    }
    graph = onnx.build({input});
    source = cat("ONNX opset ", onnx.opset(), ", producer ", onnx.producer());
  } else {
    const ModelConfig config = read_config(o.model, &graph);
    int h = config.input.height, w = config.input.width;
    if (!o.size.empty()) h = o.size[0], w = o.size.size() > 1 ? o.size[1] : o.size[0];
    input = {o.batch, config.input.channel_count(), h, w};
    source = "config";
  }
  const auto shapes = infer_shapes(graph, {input});
  int64_t total_params = 0, total_flops = 0;
  nlohmann::ordered_json layers = nlohmann::ordered_json::array();
  if (!o.json) {
    std::cout << o.model << " (" << source << "), input " << to_string(input) << "\n";
    std::printf("%-4s %-40s %-22s %-22s %12s %12s\n", "#", "layer", "op", "output", "params", "MFLOPs");
  }
  int index = 0;
  for (size_t id = 0; id < graph.nodes.size(); ++id) {
    const Node& n = graph.nodes[id];
    if (n.dead || n.op == Op::Input) continue;
    std::vector<Shape> ins;
    for (int in : n.inputs) ins.push_back(shapes[in]);
    const int64_t params = node_parameters(n), flops = node_flops(n, ins, shapes[id]);
    total_params += params;
    total_flops += flops;
    if (o.json) {
      layers.push_back({{"name", n.name}, {"op", op_label(n)}, {"shape", shapes[id]}, {"params", params}, {"flops", flops}});
    } else {
      std::string name = n.name.size() > 40 ? "..." + n.name.substr(n.name.size() - 37) : n.name;
      std::printf("%-4d %-40s %-22s %-22s %12lld %12.2f\n", index, name.c_str(), op_label(n).c_str(), to_string(shapes[id]).c_str(),
                  static_cast<long long>(params), flops / 1e6);
    }
    ++index;
  }
  if (o.json) {
    std::cout << nlohmann::ordered_json{{"model", o.model}, {"input", input}, {"layers", layers}, {"params", total_params}, {"flops", total_flops}}.dump()
              << "\n";
  } else {
    std::printf("%d layers, %.3f M parameters, %.3f GFLOPs per batch of %d\n", index, total_params / 1e6, total_flops / 1e9, o.batch);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Print a model's layer graph with output shapes, parameters and FLOPs."};
  Options o;
  app.add_option("model", o.model, "ONNX file or model config (JSON)")->required();
  app.add_option_function<std::string>("--input-size", [&o](const std::string& v) { o.size = comma_numbers<int>("--input-size", v); },
                                       "H,W (or one number) for open or overridden spatial sizes");
  app.add_option("-b,--batch", o.batch, "Batch size")->check(CLI::PositiveNumber);
  app.add_flag("--json", o.json, "One JSON object instead of a table");
  return run_tool(kTool, argc, argv, app, [&] { return inspect(o); });
}
