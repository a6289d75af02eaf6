// The ONNX importer on the shape of graph an fp16 conversion leaves (onnxconverter-common's
// float16 tool, as in imgly's ISNet), in miniature and without the 88 MB model: an fp16
// initializer, Casts fp32 -> fp16 at the graph input and fp16 -> fp32 at the output, and
// those Cast nodes appended at the END of the node list (out of topological order). The
// importer must take the nodes in dependency order, widen the fp16 weights exactly and
// treat the Casts as no-ops (computing in fp32). Exact: relu(x + b) with b's fp16 values.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "core/half.hpp"
#include "engine/executor.hpp"
#include "engine/passes.hpp"
#include "model/onnx/onnx_model.hpp"
#include "onnx/onnx.pb.h"

using namespace osprey;

namespace {

void set_type(onnx::ValueInfoProto* v, const std::string& name, const Shape& shape) {
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  for (int64_t d : shape) t->mutable_shape()->add_dim()->set_dim_value(d);
}

onnx::NodeProto* add_node(onnx::GraphProto* g, const std::string& op, const std::vector<std::string>& in, const std::string& out) {
  auto* n = g->add_node();
  n->set_name(out + "_" + op);
  n->set_op_type(op);
  for (const auto& i : in) n->add_input(i);
  n->add_output(out);
  return n;
}

void add_cast(onnx::GraphProto* g, const std::string& in, const std::string& out, int to) {
  auto* a = add_node(g, "Cast", {in}, out)->add_attribute();
  a->set_name("to");
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(to);
}

}  // namespace

TEST_CASE("ONNX fp16 graph with Casts appended at the end runs in fp32") {
  const Shape shape{1, 2, 3, 3};
  const std::vector<uint16_t> bias_bits{0x2E66, 0xB99A};  // fp16 0.0999756 and -0.700195 (0.1 and -0.7 rounded)
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(15);
  auto* g = m.mutable_graph();
  g->set_name("fp16_miniature");
  set_type(g->add_input(), "x", shape);
  set_type(g->add_output(), "y", shape);
  auto* b = g->add_initializer();
  b->set_name("b");
  b->set_data_type(onnx::TensorProto::FLOAT16);
  for (int64_t d : Shape{1, 2, 1, 1}) b->add_dims(d);
  std::string raw;
  std::vector<float> bias_fp16;
  for (uint16_t h : bias_bits) {
    bias_fp16.push_back(half_to_float(h));
    raw.push_back(static_cast<char>(h & 0xff));
    raw.push_back(static_cast<char>(h >> 8));
  }
  b->set_raw_data(raw);
  // The converter's order: the compute nodes first, then the Casts it inserted.
  add_node(g, "Add", {"x_fp16", "b"}, "sum");
  add_node(g, "Relu", {"sum"}, "y_fp16");
  add_cast(g, "x", "x_fp16", onnx::TensorProto::FLOAT16);
  add_cast(g, "y_fp16", "y", onnx::TensorProto::FLOAT);

  const std::filesystem::path dir = std::filesystem::path(OSPREY_BINARY_DIR) / "real_models_scratch";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "fp16_miniature.onnx").string();
  {
    std::ofstream out(path, std::ios::binary);
    REQUIRE(m.SerializeToOstream(&out));
  }
  const OnnxModel model(path);
  auto graph = std::make_shared<Graph>(model.build({shape}));
  optimize(*graph, {shape});
  Executor executor{std::shared_ptr<const Graph>(graph)};
  Tensor x(shape);
  for (size_t i = 0; i < x.data.size(); ++i) x.data[i] = 0.25f * static_cast<float>(i % 7) - 0.5f;
  const Tensor y = executor.run(x).at(0);
  REQUIRE(y.shape == shape);
  for (size_t i = 0; i < y.data.size(); ++i) {
    const size_t c = i / 9;
    CHECK(y.data[i] == std::max(0.0f, x.data[i] + bias_fp16[c]));
  }
}
