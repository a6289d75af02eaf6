// ONNX import. An OnnxModel parses and validates a .onnx file once (through the official
// onnx.proto schema); build() turns it into a layer graph for fixed input shapes, folding
// everything that is constant for those shapes (Shape, Gather, Concat, Reshape targets,
// Cast, ConstantOfShape, Range ...). Dynamic batch sizes work by building once per shape.
// Weights may be initializers or Constant nodes. An op the engine cannot run is an error
// naming the op, the node and the opset.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/graph.hpp"
#include "model/onnx/const_tensor.hpp"

namespace onnx {
class ModelProto;
}

namespace osprey {

struct OnnxInput {
  std::string name;
  std::vector<int64_t> dims;  // -1 where the file leaves a dimension open
  bool is_float = true;
  int elem_type = 1;  // onnx::TensorProto::DataType
};

class OnnxModel {
 public:
  explicit OnnxModel(const std::string& path);
  ~OnnxModel();
  OnnxModel(const OnnxModel&) = delete;
  OnnxModel& operator=(const OnnxModel&) = delete;

  const std::string& path() const { return path_; }
  int opset() const { return opset_; }
  const std::vector<OnnxInput>& inputs() const { return inputs_; }
  const std::vector<std::string>& output_names() const { return outputs_; }
  std::string producer() const;

  // A layer graph for these shapes of the float inputs. Non-float inputs (shape tensors,
  // as some exporters and ONNX's own tests use) must be given as `constants`.
  Graph build(const std::vector<Shape>& float_input_shapes, const std::map<std::string, ConstTensor>& constants = {}) const;

 private:
  std::string path_;
  std::unique_ptr<onnx::ModelProto> proto_;
  std::map<std::string, ConstTensor> initializers_;
  std::vector<OnnxInput> inputs_;
  std::vector<std::string> outputs_;
  int opset_ = 0;
};

// The ONNX op types the importer maps, sorted.
std::vector<std::string> supported_onnx_ops();

}  // namespace osprey
