// The state of one TF.js import: TensorFlow values with the layout the engine holds them in,
// materialising constants and layout transposes on demand (each at most once), and
// TensorFlow's SAME padding arithmetic.
#include <algorithm>

#include "core/error.hpp"
#include "engine/shapes.hpp"
#include "model/tfjs/tfjs_importer.hpp"

namespace osprey {

std::vector<int> identity_layout(size_t rank) {
  std::vector<int> l(rank);
  for (size_t i = 0; i < rank; ++i) l[i] = static_cast<int>(i);
  return l;
}

Shape permuted(const Shape& shape, const std::vector<int>& layout) {
  Shape out;
  for (int a : layout) out.push_back(shape.at(static_cast<size_t>(a)));
  return out;
}

std::string TfImporter::key(const std::string& ref) {
  std::string k = ref;
  if (!k.empty() && k[0] == '^') k.erase(0, 1);
  if (k.size() > 2 && k.compare(k.size() - 2, 2, ":0") == 0) k.resize(k.size() - 2);
  return k;
}

void TfImporter::fail(const TfNodeView& node, const std::string& problem) const {
  throw ModelError(cat(path_, ": node '", node.def.name, "' (", node.def.op, "): ", problem));
}

size_t TfImporter::input_count(const TfNodeView& node) const {
  size_t n = 0;
  for (const auto& in : node.def.inputs)
    if (in.empty() || in[0] != '^') ++n;
  return n;
}

const TfValue& TfImporter::value(const TfNodeView& node, size_t input) const {
  if (input >= input_count(node)) fail(node, cat("input ", input, " is missing"));
  auto it = values_.find(key(node.def.inputs[input]));
  if (it == values_.end()) fail(node, cat("input '", node.def.inputs[input], "' is not produced by any node"));
  return it->second;
}

const ConstTensor& TfImporter::constant(const TfNodeView& node, size_t input) const {
  const TfValue& v = value(node, input);
  if (!v.constant) fail(node, cat("input '", node.def.inputs[input], "' must be a constant, but it is computed at run time"));
  return v.value;
}

int TfImporter::runtime_value(const std::string& ref, const std::vector<int>& layout, const std::string& who) {
  const auto it = values_.find(key(ref));
  if (it == values_.end()) throw ModelError(cat(path_, ": ", who, ": '", ref, "' is not produced by any node"));
  const TfValue& v = it->second;
  if (layout.size() != v.tf_shape.size())
    throw ModelError(cat(path_, ": ", who, ": '", ref, "' has rank ", v.tf_shape.size(), ", expected ", layout.size()));
  if (!v.constant && v.layout == layout) return v.node;
  std::string memo = key(ref) + "|";
  for (int a : layout) memo += std::to_string(a) + ",";
  if (auto m = materialised_.find(memo); m != materialised_.end()) return m->second;
  Node n;
  if (v.constant) {
    n.name = key(ref);
    n.op = Op::Constant;
    const ConstTensor c = fold_transpose(v.value, layout);
    n.tensors.push_back({"value", key(ref), c.shape, c.as_tensor()});
    const int id = graph_.add(std::move(n));
    shapes_.push_back(c.shape);
    materialised_[memo] = id;
    return id;
  }
  // Engine axis i must hold TensorFlow axis layout[i], which the value keeps at engine axis
  // inverse(v.layout)[layout[i]].
  std::vector<int> where(layout.size());
  for (size_t i = 0; i < v.layout.size(); ++i) where[static_cast<size_t>(v.layout[i])] = static_cast<int>(i);
  TransposeParams p;
  for (int a : layout) p.perm.push_back(where[static_cast<size_t>(a)]);
  n.name = key(ref) + "/to_layout";
  n.op = Op::Transpose;
  n.inputs = {v.node};
  n.params = p;
  const Shape shape = infer_node_shape(n, {shapes_.at(static_cast<size_t>(v.node))});
  const int id = graph_.add(std::move(n));
  shapes_.push_back(shape);
  materialised_[memo] = id;
  return id;
}

int TfImporter::runtime(const TfNodeView& node, size_t input, const std::vector<int>& layout) {
  value(node, input);  // checks the input exists
  return runtime_value(node.def.inputs[input], layout, cat("node '", node.def.name, "' (", node.def.op, ")"));
}

void TfImporter::set_constant(const std::string& output, ConstTensor value) {
  TfValue v;
  v.constant = true;
  v.tf_shape = value.shape;
  v.layout = identity_layout(value.shape.size());
  v.value = std::move(value);
  values_[output] = std::move(v);
}

int TfImporter::add(const TfNodeView& node, Node engine_node, const std::vector<int>& layout, int output) {
  if (engine_node.name.empty()) engine_node.name = output == 0 ? node.def.name : output_key(node.def.name, output);
  std::vector<Shape> ins;
  for (int in : engine_node.inputs) ins.push_back(shapes_.at(static_cast<size_t>(in)));
  Shape shape;
  try {
    shape = infer_node_shape(engine_node, ins);
  } catch (const ModelError& e) {
    fail(node, e.what());
  }
  if (shape.size() != layout.size()) fail(node, cat("internal: result rank ", shape.size(), " for a layout of rank ", layout.size()));
  const int id = graph_.add(std::move(engine_node));
  shapes_.push_back(shape);
  TfValue v;
  v.node = id;
  v.layout = layout;
  v.tf_shape.assign(shape.size(), 0);
  for (size_t i = 0; i < layout.size(); ++i) v.tf_shape[static_cast<size_t>(layout[i])] = shape[i];
  values_[output_key(node.def.name, output)] = std::move(v);
  return id;
}

int TfImporter::input_node(const std::string& name, const Shape& engine_shape, std::vector<int> layout) {
  Node n;
  n.name = name;
  n.op = Op::Input;
  const int id = graph_.add(std::move(n));
  shapes_.push_back(engine_shape);
  graph_.input_names.push_back(name);
  TfValue v;
  v.node = id;
  v.tf_shape.assign(engine_shape.size(), 0);
  for (size_t i = 0; i < layout.size(); ++i) v.tf_shape[static_cast<size_t>(layout[i])] = engine_shape[i];
  v.layout = std::move(layout);
  values_[name] = std::move(v);
  return id;
}

std::array<int, 2> tf_same_padding(int64_t in, int kernel, int stride, int dilation) {
  const int64_t out = (in + stride - 1) / stride;
  const int64_t total = std::max<int64_t>((out - 1) * stride + static_cast<int64_t>(kernel - 1) * dilation + 1 - in, 0);
  return {static_cast<int>(total / 2), static_cast<int>(total - total / 2)};
}

}  // namespace osprey
