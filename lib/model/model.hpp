// A loaded model: its config, its optimised layer graph with bound weights, and the
// executor that runs it. Loading reads and validates the config, builds the graph (family
// builder or explicit graph), binds the weights file, folds and fuses.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/executor.hpp"
#include "engine/graph.hpp"
#include "model/config.hpp"

namespace osprey {

struct ModelConfig {
  std::string path;  // the config file
  std::string name;
  std::string task = "classify";
  InputSpec input;
  PostprocessSpec postprocess;
  std::vector<std::string> labels;  // empty: class ids stand for themselves
  std::string weights;              // resolved path of the weights file
  std::string onnx;                 // resolved path of an ONNX file holding graph and weights
  std::string tfjs;                 // resolved path of a TF.js graph model (model.json + shards)
  std::vector<std::string> tfjs_outputs;  // its nodes the model returns (empty: the signature's)
  int num_classes = 0;
};

struct LoadOptions {
  std::string weights;      // overrides the config's weights path when set
  std::string input_json;   // a JSON object of "input" keys overriding the config's (from flags)
  std::string labels_file;  // overrides the config's labels when set
};

class OnnxModel;
class TfjsModel;

class Model {
 public:
  // `path` is a config (JSON) or an ONNX file (run with default ImageNet preprocessing at
  // the input size the file declares, else 224x224).
  static std::unique_ptr<Model> load(const std::string& path, const LoadOptions& options = {});

  const ModelConfig& config() const { return config_; }
  // The optimised graph for a batch of one.
  const Graph& graph() { return executor_->graph({input_shape(1)}); }
  Executor& executor() { return *executor_; }
  const OnnxModel* onnx() const { return onnx_.get(); }

  // Input batch in plain NCHW, preprocessed; returns the graph outputs.
  std::vector<Tensor> run(const Tensor& batch) { return executor_->run(batch); }
  // Shape of a batch of n preprocessed images.
  Shape input_shape(int batch) const;
  std::string label(int class_id) const;

 private:
  static std::unique_ptr<Model> load_tfjs(std::unique_ptr<Model> model, const LoadOptions& options);

  ModelConfig config_;
  std::shared_ptr<const OnnxModel> onnx_;
  std::shared_ptr<const TfjsModel> tfjs_;
  std::unique_ptr<Executor> executor_;
};

// Reads the config file alone (no weights): for tools that inspect or validate configs.
ModelConfig read_config(const std::string& config_path, Graph* graph_out = nullptr);

}  // namespace osprey
