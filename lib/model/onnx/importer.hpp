// Internal to the ONNX importer: the state of one build() and the op converters.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/graph.hpp"
#include "model/onnx/const_tensor.hpp"
#include "onnx/onnx.pb.h"

namespace osprey {

// An ONNX value during import: known now (folded), or computed at run time by a node.
struct OnnxValue {
  bool constant = false;
  ConstTensor value;  // when constant
  int node = -1;      // when computed at run time
  Shape shape;
};

class Importer {
 public:
  Importer(const std::string& path, int opset) : path_(path), opset_(opset) {}

  int opset() const { return opset_; }
  Graph& graph() { return graph_; }

  bool has(const std::string& name) const { return !name.empty() && values_.count(name); }
  const OnnxValue& value(const onnx::NodeProto& node, int input) const;
  bool is_constant(const onnx::NodeProto& node, int input) const { return value(node, input).constant; }
  const ConstTensor& constant(const onnx::NodeProto& node, int input) const;
  const Shape& shape(const onnx::NodeProto& node, int input) const { return value(node, input).shape; }
  // The node computing input `input` (a Constant node is made for a folded value).
  int runtime(const onnx::NodeProto& node, int input);
  bool has_input(const onnx::NodeProto& node, int input) const { return input < node.input_size() && !node.input(input).empty(); }

  void set_constant(const std::string& name, ConstTensor value);
  // Appends a node (named after the ONNX node) and records its value under `output`.
  int add(const onnx::NodeProto& onnx_node, Node node, const std::string& output);
  // Same, for the node's first output.
  int add(const onnx::NodeProto& onnx_node, Node node) { return add(onnx_node, std::move(node), onnx_node.output(0)); }
  void alias(const std::string& output, const std::string& input);
  int input_node(const std::string& name, const Shape& shape);

  [[noreturn]] void fail(const onnx::NodeProto& node, const std::string& problem) const;
  std::string node_name(const onnx::NodeProto& node) const;

 private:
  std::string path_;
  int opset_;
  Graph graph_;
  std::map<std::string, OnnxValue> values_;
  std::map<std::string, int> materialised_;
  std::vector<Shape> shapes_;  // per graph node
};

// Attribute access with defaults.
int64_t attr_int(const onnx::NodeProto& node, const std::string& name, int64_t fallback);
float attr_float(const onnx::NodeProto& node, const std::string& name, float fallback);
std::string attr_string(const onnx::NodeProto& node, const std::string& name, const std::string& fallback);
std::vector<int64_t> attr_ints(const onnx::NodeProto& node, const std::string& name);
std::vector<float> attr_floats(const onnx::NodeProto& node, const std::string& name);
bool has_attr(const onnx::NodeProto& node, const std::string& name);
const onnx::AttributeProto* find_attr(const onnx::NodeProto& node, const std::string& name);

// A TensorProto as a ConstTensor, validated (dims, data size, type). `what` names it in errors.
ConstTensor read_tensor_proto(const onnx::TensorProto& t, const std::string& what);

// Converts one ONNX node; throws for an op it does not know.
void convert_node(Importer& im, const onnx::NodeProto& node);

}  // namespace osprey
