#include "model/onnx/onnx_model.hpp"

#include <cstring>
#include <fstream>
#include <limits>
#include <map>

#include "core/error.hpp"
#include "core/half.hpp"
#include "engine/shapes.hpp"
#include "model/onnx/importer.hpp"

namespace osprey {

namespace {

constexpr int kMinOpset = 1;  // the converters read the attributes each opset version uses
constexpr int kMaxOpset = 17;
constexpr int64_t kMaxElements = int64_t{1} << 31;  // no tensor this big is plausible: refuse before allocating

Shape checked_dims(const google::protobuf::RepeatedField<int64_t>& dims, const std::string& what) {
  Shape shape;
  int64_t count = 1;
  for (int64_t d : dims) {
    if (d < 0) throw ModelError(cat(what, ": negative dimension ", d));
    if (d > 0 && count > kMaxElements / d) throw ModelError(cat(what, ": more than 2^31 elements"));
    count *= d;
    shape.push_back(d);
  }
  return shape;
}

template <typename T>
void copy_raw(const std::string& raw, std::vector<T>& out) {
  std::memcpy(out.data(), raw.data(), out.size() * sizeof(T));
}


// The order to convert nodes in: the file's, with a node moved after the producers of its
// inputs when the file lists it earlier. ONNX requires topological order, but some tools
// break it (onnxconverter-common's fp16 conversion appends the Cast nodes it inserts at the
// end of the graph, as in imgly's ISNet); ONNX Runtime sorts, so we do too. With a cycle the
// file's order is kept, and converting reports the first node whose input is not there.
std::vector<int> topological_order(const onnx::GraphProto& g) {
  const int n = g.node_size();
  std::map<std::string, int> producer;
  for (int i = 0; i < n; ++i)
    for (const auto& out : g.node(i).output())
      if (!out.empty()) producer.emplace(out, i);
  enum : char { New, Open, Done };
  std::vector<char> state(static_cast<size_t>(n), New);
  std::vector<int> order;
  bool cycle = false;
  for (int root = 0; root < n; ++root) {
    if (state[root] != New) continue;
    std::vector<std::pair<int, int>> stack{{root, 0}};  // node, next input to look at (depth-first, no recursion)
    state[root] = Open;
    while (!stack.empty()) {
      const auto [v, k] = stack.back();
      if (k < g.node(v).input_size()) {
        ++stack.back().second;
        const auto it = producer.find(g.node(v).input(k));
        if (it == producer.end() || it->second == v) continue;
        if (state[it->second] == Open) cycle = true;
        if (state[it->second] != New) continue;
        state[it->second] = Open;
        stack.emplace_back(it->second, 0);
      } else {
        state[v] = Done;
        order.push_back(v);
        stack.pop_back();
      }
    }
  }
  if (cycle)
    for (int i = 0; i < n; ++i) order[i] = i;
  return order;
}

}  // namespace

ConstTensor read_tensor_proto(const onnx::TensorProto& t, const std::string& what) {
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    throw ModelError(cat(what, ": weights stored in an external file are not supported"));
  const Shape shape = checked_dims(t.dims(), what);
  const auto n = static_cast<size_t>(element_count(shape));
  const bool raw = t.has_raw_data();
  auto expect = [&](size_t have, size_t elem) {
    if (raw ? t.raw_data().size() != n * elem : have != n)
      throw ModelError(cat(what, ": holds ", raw ? t.raw_data().size() / std::max<size_t>(elem, 1) : have, " values but its dims ",
                           to_string(shape), " need ", n));
  };
  using TP = onnx::TensorProto;
  switch (t.data_type()) {
    case TP::FLOAT: {
      std::vector<float> v(n);
      expect(static_cast<size_t>(t.float_data_size()), 4);
      if (raw) copy_raw(t.raw_data(), v);
      else std::copy(t.float_data().begin(), t.float_data().end(), v.begin());
      return ConstTensor::of_floats(shape, std::move(v));
    }
    case TP::DOUBLE: {
      std::vector<double> d(n);
      expect(static_cast<size_t>(t.double_data_size()), 8);
      if (raw) copy_raw(t.raw_data(), d);
      else std::copy(t.double_data().begin(), t.double_data().end(), d.begin());
      return ConstTensor::of_floats(shape, std::vector<float>(d.begin(), d.end()));
    }
    case TP::FLOAT16:
    case TP::BFLOAT16: {
      // 16-bit floats: little-endian in raw_data, else one per int32_data entry
      const auto widen = t.data_type() == TP::FLOAT16 ? half_to_float : bfloat16_to_float;
      std::vector<float> v(n);
      expect(static_cast<size_t>(t.int32_data_size()), 2);
      for (size_t i = 0; i < n; ++i) {
        const uint16_t h = raw ? static_cast<uint16_t>(static_cast<unsigned char>(t.raw_data()[2 * i]) |
                                                       (static_cast<unsigned char>(t.raw_data()[2 * i + 1]) << 8))
                               : static_cast<uint16_t>(t.int32_data(static_cast<int>(i)));
        v[i] = widen(h);
      }
      return ConstTensor::of_floats(shape, std::move(v));
    }
    case TP::INT64: {
      std::vector<int64_t> v(n);
      expect(static_cast<size_t>(t.int64_data_size()), 8);
      if (raw) copy_raw(t.raw_data(), v);
      else std::copy(t.int64_data().begin(), t.int64_data().end(), v.begin());
      return ConstTensor::of_ints(shape, std::move(v));
    }
    case TP::INT32:
    case TP::INT16:
    case TP::INT8:
    case TP::UINT8:
    case TP::UINT16:
    case TP::BOOL: {
      const size_t elem = t.data_type() == TP::INT32 ? 4 : (t.data_type() == TP::INT16 || t.data_type() == TP::UINT16) ? 2 : 1;
      std::vector<int64_t> v(n);
      expect(static_cast<size_t>(t.int32_data_size()), elem);
      for (size_t i = 0; i < n; ++i) {
        if (!raw) {
          v[i] = t.int32_data(static_cast<int>(i));
          continue;
        }
        const char* p = t.raw_data().data() + i * elem;
        switch (t.data_type()) {
          case TP::INT32: { int32_t x; std::memcpy(&x, p, 4); v[i] = x; break; }
          case TP::INT16: { int16_t x; std::memcpy(&x, p, 2); v[i] = x; break; }
          case TP::UINT16: { uint16_t x; std::memcpy(&x, p, 2); v[i] = x; break; }
          case TP::INT8: v[i] = static_cast<int8_t>(*p); break;
          default: v[i] = static_cast<uint8_t>(*p); break;
        }
      }
      return ConstTensor::of_ints(shape, std::move(v));
    }
    default:
      throw ModelError(cat(what, ": tensor data type ", t.data_type(), " is not supported"));
  }
}

// ---------------------------------------------------------------- Importer

std::string Importer::node_name(const onnx::NodeProto& node) const {
  if (!node.name().empty()) return node.name();
  return node.output_size() ? node.output(0) : node.op_type();
}

void Importer::fail(const onnx::NodeProto& node, const std::string& problem) const {
  throw ModelError(cat(path_, ": node '", node_name(node), "' (", node.op_type(), ", opset ", opset_, "): ", problem));
}

const OnnxValue& Importer::value(const onnx::NodeProto& node, int input) const {
  if (!has_input(node, input)) fail(node, cat("input ", input, " is missing"));
  auto it = values_.find(node.input(input));
  if (it == values_.end())
    fail(node, cat("input '", node.input(input), "' is not produced by any earlier node (missing, or the graph has a cycle)"));
  return it->second;
}

const ConstTensor& Importer::constant(const onnx::NodeProto& node, int input) const {
  const OnnxValue& v = value(node, input);
  if (!v.constant) fail(node, cat("input '", node.input(input), "' must be a constant (known at load time), but it is computed at run time"));
  return v.value;
}

int Importer::runtime(const onnx::NodeProto& node, int input) {
  const OnnxValue& v = value(node, input);
  if (!v.constant) return v.node;
  const std::string& name = node.input(input);
  if (auto it = materialised_.find(name); it != materialised_.end()) return it->second;
  Node c;
  c.name = name;
  c.op = Op::Constant;
  c.tensors.push_back({"value", name, v.value.shape, v.value.as_tensor()});
  const int id = graph_.add(std::move(c));
  shapes_.push_back(v.value.shape);
  materialised_[name] = id;
  return id;
}

void Importer::set_constant(const std::string& name, ConstTensor value) {
  OnnxValue v;
  v.constant = true;
  v.shape = value.shape;
  v.value = std::move(value);
  values_[name] = std::move(v);
}

int Importer::add(const onnx::NodeProto& onnx_node, Node node, const std::string& output) {
  if (node.name.empty()) node.name = node_name(onnx_node);
  std::vector<Shape> ins;
  for (int in : node.inputs) ins.push_back(shapes_.at(in));
  Shape shape;
  try {
    shape = infer_node_shape(node, ins);
  } catch (const ModelError& e) {
    fail(onnx_node, e.what());
  }
  const int id = graph_.add(std::move(node));
  shapes_.push_back(shape);
  OnnxValue v;
  v.node = id;
  v.shape = shape;
  values_[output] = std::move(v);
  return id;
}

void Importer::alias(const std::string& output, const std::string& input) { values_[output] = values_.at(input); }

int Importer::input_node(const std::string& name, const Shape& shape) {
  Node n;
  n.name = name;
  n.op = Op::Input;
  const int id = graph_.add(std::move(n));
  shapes_.push_back(shape);
  graph_.input_names.push_back(name);
  OnnxValue v;
  v.node = id;
  v.shape = shape;
  values_[name] = v;
  return id;
}

// ---------------------------------------------------------------- attributes

const onnx::AttributeProto* find_attr(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& a : node.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}
bool has_attr(const onnx::NodeProto& node, const std::string& name) { return find_attr(node, name) != nullptr; }
int64_t attr_int(const onnx::NodeProto& node, const std::string& name, int64_t fallback) {
  const auto* a = find_attr(node, name);
  return a ? a->i() : fallback;
}
float attr_float(const onnx::NodeProto& node, const std::string& name, float fallback) {
  const auto* a = find_attr(node, name);
  return a ? a->f() : fallback;
}
std::string attr_string(const onnx::NodeProto& node, const std::string& name, const std::string& fallback) {
  const auto* a = find_attr(node, name);
  return a ? a->s() : fallback;
}
std::vector<int64_t> attr_ints(const onnx::NodeProto& node, const std::string& name) {
  const auto* a = find_attr(node, name);
  return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : std::vector<int64_t>{};
}
std::vector<float> attr_floats(const onnx::NodeProto& node, const std::string& name) {
  const auto* a = find_attr(node, name);
  return a ? std::vector<float>(a->floats().begin(), a->floats().end()) : std::vector<float>{};
}

// ---------------------------------------------------------------- OnnxModel

OnnxModel::OnnxModel(const std::string& path) : path_(path), proto_(std::make_unique<onnx::ModelProto>()) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelError(cat(path, ": cannot open ONNX file"));
  if (!proto_->ParseFromIstream(&in)) throw ModelError(cat(path, ": not a valid ONNX file (protobuf parse failed; truncated or corrupt?)"));
  if (!proto_->has_graph() || proto_->graph().node_size() == 0) throw ModelError(cat(path, ": ONNX file has no graph nodes"));
  for (const auto& op : proto_->opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx") opset_ = static_cast<int>(op.version());
  if (opset_ == 0) throw ModelError(cat(path, ": no default-domain opset_import"));
  if (opset_ < kMinOpset || opset_ > kMaxOpset)
    throw ModelError(cat(path, ": opset ", opset_, " is outside the supported range ", kMinOpset, "..", kMaxOpset));

  const auto& g = proto_->graph();
  for (const auto& t : g.initializer()) initializers_[t.name()] = read_tensor_proto(t, cat(path, ": initializer '", t.name(), "'"));
  for (const auto& in : g.input()) {
    if (initializers_.count(in.name())) continue;  // old exporters list weights as inputs too
    OnnxInput info;
    info.name = in.name();
    const auto& type = in.type().tensor_type();
    info.elem_type = type.elem_type();
    info.is_float = type.elem_type() == onnx::TensorProto::FLOAT || type.elem_type() == onnx::TensorProto::FLOAT16 ||
                    type.elem_type() == onnx::TensorProto::DOUBLE;
    for (const auto& d : type.shape().dim()) info.dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
    inputs_.push_back(std::move(info));
  }
  for (const auto& out : g.output()) outputs_.push_back(out.name());
}

OnnxModel::~OnnxModel() = default;

std::string OnnxModel::producer() const { return proto_->producer_name() + " " + proto_->producer_version(); }

Graph OnnxModel::build(const std::vector<Shape>& float_input_shapes, const std::map<std::string, ConstTensor>& constants) const {
  Importer im(path_, opset_);
  size_t next_shape = 0;
  for (const auto& in : inputs_) {
    if (auto it = constants.find(in.name); it != constants.end()) {
      im.set_constant(in.name, it->second);
      continue;
    }
    if (!in.is_float) throw ModelError(cat(path_, ": input '", in.name, "' is not a float tensor; give its value as a constant"));
    if (next_shape >= float_input_shapes.size())
      throw ModelError(cat(path_, ": no shape given for input '", in.name, "'"));
    const Shape& shape = float_input_shapes[next_shape++];
    if (!in.dims.empty()) {
      bool ok = shape.size() == in.dims.size();
      for (size_t i = 0; ok && i < shape.size(); ++i) ok = in.dims[i] < 0 || in.dims[i] == shape[i];
      if (!ok) {
        Shape declared(in.dims.begin(), in.dims.end());
        throw ModelError(cat(path_, ": input '", in.name, "' is declared ", to_string(declared), " (-1 = any), got ", to_string(shape)));
      }
    }
    im.input_node(in.name, shape);
  }
  if (next_shape != float_input_shapes.size())
    throw ModelError(cat(path_, ": ", float_input_shapes.size(), " input shapes given for ", next_shape, " float inputs"));
  for (const auto& [name, value] : initializers_)
    if (!im.has(name)) im.set_constant(name, value);

  for (int index : topological_order(proto_->graph())) {
    const auto& node = proto_->graph().node(index);
    if (!node.domain().empty() && node.domain() != "ai.onnx")
      im.fail(node, cat("op domain '", node.domain(), "' is not supported"));
    convert_node(im, node);
  }
  Graph& graph = im.graph();
  for (const auto& name : outputs_) {
    onnx::NodeProto fake;
    fake.set_name("graph output");
    fake.set_op_type("Output");
    fake.add_input(name);
    graph.outputs.push_back(im.runtime(fake, 0));
    graph.output_names.push_back(name);
  }
  return std::move(graph);
}

}  // namespace osprey
