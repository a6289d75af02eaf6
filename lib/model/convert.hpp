// ONNX file -> Osprey model (config + safetensors), for osprey-convert. The ONNX graph is
// imported at batch 1 for the input size the file fixes (or the caller gives) and written
// as an explicit layer graph (graph_json.hpp), so the converted model no longer needs the
// .onnx file and runs at any batch size. Implemented in graph_json_writer.cpp.
#pragma once

#include <array>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace osprey {

struct ConvertOptions {
  std::string name;                     // file stem and config "name"; default: the ONNX file's stem
  std::array<int, 2> input_size{0, 0};  // [h, w]; needed when the file leaves them open
};

struct ConvertedModel {
  std::string name;
  nlohmann::ordered_json config;          // "weights" is "<name>.safetensors", beside the config
  std::map<std::string, Tensor> tensors;  // the weights file's contents
  std::map<std::string, std::string> metadata;
  int layers = 0;
  int64_t parameters = 0;
  Shape input;  // [1, C, H, W]
  // Empty when the graph imported at batch 2 writes the same config (the converted model
  // runs at any batch size) or the file fixes the batch at 1; else why it runs at batch 1 only.
  std::string batch_warning;
};

// Throws ModelError (naming the file) when the model cannot be converted.
ConvertedModel convert_onnx(const std::string& onnx_path, const ConvertOptions& options = {});

struct ConvertedFiles {
  std::string config, weights;         // <dir>/<name>.json, <dir>/<name>.safetensors
  std::vector<std::string> temporary;  // written first and renamed at the end; removed on failure
};

ConvertedFiles converted_files(const std::string& dir, const std::string& name);

// Writes both files or neither (creates `dir` if needed).
ConvertedFiles write_converted(const ConvertedModel& model, const std::string& dir);

}  // namespace osprey
