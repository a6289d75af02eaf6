// Internal to the TF.js importer: the state of one build() (values with their layouts) and
// the op converters.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/graph.hpp"
#include "model/onnx/const_tensor.hpp"
#include "model/tfjs/tfjs_model.hpp"

namespace osprey {

// A TensorFlow value during import: known now (folded), or computed by an engine node.
// `layout[i]` is the TensorFlow axis engine axis i holds (so the engine shape is
// tf_shape[layout[i]]); constants are kept in TensorFlow's order.
struct TfValue {
  bool constant = false;
  ConstTensor value;
  int node = -1;
  Shape tf_shape;
  std::vector<int> layout;
};

// A node being converted: its definition and its parsed attributes.
struct TfNodeView {
  const TfjsNode& def;
  nlohmann::json attr;
};

class TfImporter {
 public:
  explicit TfImporter(const std::string& path) : path_(path) {}

  Graph& graph() { return graph_; }
  const std::string& path() const { return path_; }

  bool has(const std::string& ref) const { return values_.count(key(ref)) != 0; }
  const TfValue& value(const TfNodeView& node, size_t input) const;
  const ConstTensor& constant(const TfNodeView& node, size_t input) const;
  bool is_constant(const TfNodeView& node, size_t input) const { return value(node, input).constant; }
  const Shape& tf_shape(const TfNodeView& node, size_t input) const { return value(node, input).tf_shape; }
  size_t input_count(const TfNodeView& node) const;  // data inputs (control edges excluded)

  // The engine node holding input `input` with engine axis i = TensorFlow axis layout[i]
  // (constants are materialised, run-time values transposed when their layout differs).
  int runtime(const TfNodeView& node, size_t input, const std::vector<int>& layout);
  int runtime_value(const std::string& ref, const std::vector<int>& layout, const std::string& who);

  void set_constant(const std::string& output, ConstTensor value);
  // Appends an engine node; its value is output `output` of the TF node, with this layout
  // (the engine shape is inferred and checked).
  int add(const TfNodeView& node, Node engine_node, const std::vector<int>& layout, int output = 0);
  void alias(const std::string& output, const TfValue& value) { values_[output] = value; }
  void set_value(const std::string& output, TfValue value) { values_[output] = std::move(value); }
  int input_node(const std::string& name, const Shape& engine_shape, std::vector<int> layout);
  Shape engine_shape(int node) const { return shapes_.at(static_cast<size_t>(node)); }

  [[noreturn]] void fail(const TfNodeView& node, const std::string& problem) const;

  static std::string key(const std::string& ref);  // "x:0" -> "x"
  static std::string output_key(const std::string& node, int output) { return output == 0 ? node : node + ":" + std::to_string(output); }

 private:
  std::string path_;
  Graph graph_;
  std::map<std::string, TfValue> values_;
  std::map<std::string, int> materialised_;  // "ref|layout" -> node
  std::vector<Shape> shapes_;                 // engine shape per graph node
};

// Layout helpers.
std::vector<int> identity_layout(size_t rank);
inline std::vector<int> nchw_layout() { return {0, 3, 1, 2}; }  // an NHWC value stored NCHW
Shape permuted(const Shape& shape, const std::vector<int>& layout);  // out[i] = shape[layout[i]]

// Converts one TensorFlow node; throws for an op it does not know.
void convert_tf_node(TfImporter& im, const TfNodeView& node);

}  // namespace osprey
