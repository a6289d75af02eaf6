// osprey-run: runs any model (an ONNX file or an Osprey config) on raw input tensors from
// .npy files and writes every graph output as <output-dir>/<name>.npy. The tool for
// checking a model against another runtime, and the one the conformance tests use.
#include <chrono>
#include <filesystem>
#include <iostream>

#include "app_common.hpp"
#include "core/error.hpp"
#include "engine/executor.hpp"
#include "engine/passes.hpp"
#include "model/model.hpp"
#include "model/npy.hpp"
#include "model/onnx/onnx_model.hpp"

using namespace osprey;
namespace fs = std::filesystem;

namespace {

constexpr const char* kTool = "osprey-run";

std::string sanitised(const std::string& name) {
  std::string s = name;
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') c = '_';
  return s;
}

struct Options {
  std::string model, weights, output_dir;
  std::vector<std::string> inputs;
  int threads = 0;
  int repeat = 1;
};

int run(const Options& o) {
  set_num_threads(o.threads);
  // name -> tensor, in the model's input order
  std::vector<std::pair<std::string, std::string>> given;
  for (const auto& arg : o.inputs) {
    const auto eq = arg.find('=');
    given.emplace_back(eq == std::string::npos ? "" : arg.substr(0, eq), eq == std::string::npos ? arg : arg.substr(eq + 1));
  }

  std::unique_ptr<Executor> executor;
  std::vector<std::string> input_names;
  std::vector<std::string> output_names;
  std::shared_ptr<OnnxModel> onnx;
  std::unique_ptr<Model> model;
  if (fs::path(o.model).extension() == ".onnx") {
    onnx = std::make_shared<OnnxModel>(o.model);
    for (const auto& in : onnx->inputs()) input_names.push_back(in.name);
    output_names = onnx->output_names();
    executor = std::make_unique<Executor>([onnx](const std::vector<Shape>& shapes) {
      auto graph = std::make_shared<Graph>(onnx->build(shapes));
      optimize(*graph, shapes);
      return std::shared_ptr<const Graph>(graph);
    });
  } else {
    LoadOptions options;
    options.weights = o.weights;
    model = Model::load(o.model, options);
    input_names = {"input"};
    output_names = model->graph().output_names;
  }

  std::vector<Tensor> tensors(input_names.size());
  std::vector<bool> filled(input_names.size(), false);
  for (const auto& [name, file] : given) {
    size_t slot = 0;
    if (name.empty()) {
      if (input_names.size() != 1) throw ModelError(cat("the model has ", input_names.size(), " inputs: give each as name=file.npy"));
    } else {
      auto it = std::find(input_names.begin(), input_names.end(), name);
      if (it == input_names.end()) throw ModelError(cat("the model has no input named '", name, "'"));
      slot = static_cast<size_t>(it - input_names.begin());
    }
    tensors[slot] = read_npy(file);
    filled[slot] = true;
  }
  for (size_t i = 0; i < input_names.size(); ++i)
    if (!filled[i]) throw ModelError(cat("no value given for input '", input_names[i], "' (--input ", input_names[i], "=file.npy)"));

  std::vector<const Tensor*> inputs;
  for (const auto& t : tensors) inputs.push_back(&t);
  std::vector<Tensor> outputs;
  Executor& ex = model ? model->executor() : *executor;
  std::vector<Shape> shapes;
  for (const auto& t : tensors) shapes.push_back(t.shape);
  const auto t0 = std::chrono::steady_clock::now();
  ex.prepare(shapes);
  const double plan_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::vector<double> times;
  for (int r = 0; r < std::max(1, o.repeat); ++r) {
    const auto t = std::chrono::steady_clock::now();
    outputs = ex.run(inputs);
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count());
  }
  fs::create_directories(o.output_dir);
  nlohmann::ordered_json report{{"model", o.model}, {"plan_ms", round_ms(plan_ms)}};
  std::sort(times.begin(), times.end());
  report["min_ms"] = round_ms(times.front());
  report["median_ms"] = round_ms(times[times.size() / 2]);
  nlohmann::ordered_json outs = nlohmann::ordered_json::array();
  for (size_t i = 0; i < outputs.size(); ++i) {
    const std::string file = (fs::path(o.output_dir) / (sanitised(output_names.at(i)) + ".npy")).string();
    write_npy(file, outputs[i]);
    outs.push_back({{"name", output_names[i]}, {"shape", outputs[i].shape}, {"file", file}});
  }
  report["outputs"] = outs;
  std::cout << report.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Run a model (ONNX file or Osprey config) on .npy input tensors; write every output as .npy."};
  Options o;
  app.add_option("model", o.model, "ONNX file or model config (JSON)")->required();
  app.add_option("-i,--input", o.inputs, "name=file.npy (or file.npy for a single-input model)")->required();
  app.add_option("-o,--output-dir", o.output_dir, "Directory for <output name>.npy")->required();
  app.add_option("--weights", o.weights, "Weights file for a config, instead of the config's");
  app.add_option("-t,--threads", o.threads, "Compute threads (default: all cores)")->check(CLI::NonNegativeNumber);
  app.add_option("--repeat", o.repeat, "Runs to time (the outputs are from the last)")->check(CLI::PositiveNumber);
  return run_tool(kTool, argc, argv, app, [&] { return run(o); });
}
