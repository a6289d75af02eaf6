// Broken ONNX files, written here (with the generated onnx::ModelProto classes, or by
// damaging a valid file's bytes) into <build>/onnx_malformed/: each must be refused with
// an osprey::ModelError whose message is one line naming the file and the problem, and
// absurd sizes must be refused before anything is allocated. osprey-run must exit with
// code 2 and one line on stderr.
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <typeinfo>

#include "core/error.hpp"
#include "model/npy.hpp"
#include "model/onnx/onnx_model.hpp"
#include "onnx/onnx.pb.h"

using namespace osprey;
namespace fs = std::filesystem;

namespace {

fs::path scratch() {
  const fs::path dir = fs::path(OSPREY_BINARY_DIR) / "onnx_malformed";
  fs::create_directories(dir);
  return dir;
}

const Shape kInput{1, 2, 4, 4};

void set_float_type(onnx::ValueInfoProto* v, const std::string& name, const Shape& shape) {
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  auto* s = t->mutable_shape();
  for (int64_t d : shape) s->add_dim()->set_dim_value(d);
}

onnx::TensorProto* add_float_initializer(onnx::GraphProto* g, const std::string& name, const Shape& dims, size_t values) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  std::string raw(values * sizeof(float), '\0');
  for (size_t i = 0; i < values; ++i) {
    const float v = 0.01f * static_cast<float>(i % 17);
    std::memcpy(raw.data() + i * sizeof(float), &v, sizeof(float));
  }
  t->set_raw_data(raw);
  return t;
}

onnx::NodeProto* add_node(onnx::GraphProto* g, const std::string& name, const std::string& op, std::vector<std::string> inputs,
                          std::vector<std::string> outputs) {
  auto* n = g->add_node();
  n->set_name(name);
  n->set_op_type(op);
  for (auto& i : inputs) n->add_input(i);
  for (auto& o : outputs) n->add_output(o);
  return n;
}

// x [1,2,4,4] -> Conv (weight initializer W [3,2,3,3], pads 1) -> Relu -> y: a valid model.
onnx::ModelProto valid_model(int opset = 13) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.set_producer_name("osprey malformed_test");
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  auto* g = m.mutable_graph();
  g->set_name("small");
  set_float_type(g->add_input(), "x", kInput);
  set_float_type(g->add_output(), "y", {1, 3, 4, 4});
  add_float_initializer(g, "W", {3, 2, 3, 3}, 54);
  auto* conv = add_node(g, "conv", "Conv", {"x", "W"}, {"c"});
  auto* pads = conv->add_attribute();
  pads->set_name("pads");
  pads->set_type(onnx::AttributeProto::INTS);
  for (int i = 0; i < 4; ++i) pads->add_ints(1);
  add_node(g, "relu", "Relu", {"c"}, {"y"});
  return m;
}

std::string write_bytes(const std::string& file, const std::string& bytes) {
  const fs::path path = scratch() / file;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
  return path.string();
}

std::string write_model(const std::string& file, const onnx::ModelProto& m) {
  std::string bytes;
  REQUIRE(m.SerializeToString(&bytes));
  return write_bytes(file, bytes);
}

// Loads and builds the file for x [1,2,4,4]; returns the ModelError's message.
std::string import_error(const std::string& path) {
  try {
    OnnxModel model(path);
    (void)model.build({kInput});
  } catch (const ModelError& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL("not a ModelError but ", typeid(e).name(), ": ", e.what());
  }
  FAIL("imported without error: ", path);
  return "";
}

// The message is one line, names the file, and contains every `parts`.
void check_message(const std::string& path, const std::vector<std::string>& parts) {
  const std::string msg = import_error(path);
  INFO("message: ", msg);
  CHECK(msg.find('\n') == std::string::npos);
  CHECK(msg.rfind(path, 0) == 0);  // starts with the file
  for (const auto& p : parts) {
    INFO("expected part: ", p);
    CHECK(msg.find(p) != std::string::npos);
  }
}

long max_rss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

// Refused within a second and without the peak memory growing by 64 MB.
void check_fails_fast(const std::string& path, const std::vector<std::string>& parts) {
  const long rss = max_rss_kb();
  const auto t0 = std::chrono::steady_clock::now();
  check_message(path, parts);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(s < 1.0);
  CHECK(max_rss_kb() - rss < 64 * 1024);
}

// A Constant node holding an int64 vector.
void add_int_constant(onnx::GraphProto* g, const std::string& name, const std::vector<int64_t>& values) {
  auto* n = add_node(g, name + "_node", "Constant", {}, {name});
  auto* a = n->add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  auto* t = a->mutable_t();
  t->set_data_type(onnx::TensorProto::INT64);
  t->add_dims(static_cast<int64_t>(values.size()));
  for (auto v : values) t->add_int64_data(v);
}

// x -> Add(x, big) where `big` comes from `make_big` (a folded constant of absurd size).
onnx::ModelProto model_adding(const std::function<void(onnx::GraphProto*)>& make_big) {
  onnx::ModelProto m = valid_model();
  auto* g = m.mutable_graph();
  g->clear_node();
  g->clear_initializer();
  make_big(g);
  add_node(g, "add", "Add", {"x", "big"}, {"y"});
  return m;
}

}  // namespace

TEST_CASE("malformed ONNX: the valid base model imports") {
  const std::string path = write_model("valid.onnx", valid_model());
  OnnxModel model(path);
  CHECK(model.build({kInput}).nodes.size() >= 3);
}

TEST_CASE("malformed ONNX: truncated file") {
  std::string bytes;
  REQUIRE(valid_model().SerializeToString(&bytes));
  REQUIRE(bytes.size() > 200);
  check_message(write_bytes("truncated.onnx", bytes.substr(0, bytes.size() / 2)), {"not a valid ONNX file"});
}

TEST_CASE("malformed ONNX: random bytes") {
  std::mt19937 rng(20240611);
  std::string bytes(4096, '\0');
  for (char& c : bytes) c = static_cast<char>(rng() & 0xff);
  check_message(write_bytes("random.onnx", bytes), {"not a valid ONNX file"});
}

TEST_CASE("malformed ONNX: empty file") { check_message(write_bytes("empty.onnx", ""), {"no graph nodes"}); }

TEST_CASE("malformed ONNX: missing file") { check_message((scratch() / "does_not_exist.onnx").string(), {"cannot open"}); }

TEST_CASE("malformed ONNX: a cycle") {
  onnx::ModelProto m = valid_model();
  auto* g = m.mutable_graph();
  g->clear_node();
  add_node(g, "first", "Relu", {"b"}, {"a"});
  add_node(g, "second", "Relu", {"a"}, {"b"});
  add_node(g, "last", "Relu", {"b"}, {"y"});
  check_message(write_model("cycle.onnx", m), {"node 'first'", "'b'", "cycle"});
}

TEST_CASE("malformed ONNX: a node input nobody produces") {
  onnx::ModelProto m = valid_model();
  m.mutable_graph()->mutable_node(1)->set_input(0, "ghost");
  check_message(write_model("missing_input.onnx", m), {"node 'relu'", "'ghost'", "not produced"});
}

TEST_CASE("malformed ONNX: a graph output nobody produces") {
  onnx::ModelProto m = valid_model();
  m.mutable_graph()->mutable_output(0)->set_name("nowhere");
  check_message(write_model("missing_output.onnx", m), {"'nowhere'"});
}

TEST_CASE("malformed ONNX: initializer data size disagrees with its dims") {
  onnx::ModelProto raw = valid_model();
  raw.mutable_graph()->mutable_initializer(0)->mutable_raw_data()->resize(10 * sizeof(float));
  check_message(write_model("raw_size.onnx", raw), {"initializer 'W'", "holds 10 values", "[3, 2, 3, 3]", "need 54"});

  onnx::ModelProto typed = valid_model();
  auto* t = typed.mutable_graph()->mutable_initializer(0);
  t->clear_raw_data();
  for (int i = 0; i < 60; ++i) t->add_float_data(0.5f);
  check_message(write_model("float_data_size.onnx", typed), {"initializer 'W'", "holds 60 values", "need 54"});
}

TEST_CASE("malformed ONNX: negative dims") {
  onnx::ModelProto m = valid_model();
  auto* t = m.mutable_graph()->mutable_initializer(0);
  t->set_dims(0, -3);
  check_fails_fast(write_model("negative_dims.onnx", m), {"initializer 'W'", "negative dimension -3"});
}

TEST_CASE("malformed ONNX: more than 2^31 elements") {
  // An initializer claiming 65536 x 65536 x 2 x 3 floats (raw data of 54): refused from the dims.
  onnx::ModelProto m = valid_model();
  auto* t = m.mutable_graph()->mutable_initializer(0);
  t->set_dims(0, 65536);
  t->set_dims(1, 65536);
  check_fails_fast(write_model("huge_dims.onnx", m), {"initializer 'W'", "more than 2^31 elements"});

  // Dims whose product overflows int64.
  t->set_dims(0, int64_t{1} << 62);
  t->set_dims(1, 1024);
  check_fails_fast(write_model("overflow_dims.onnx", m), {"initializer 'W'", "more than 2^31 elements"});

  // Folded at import: ConstantOfShape of a 65536 x 65536 shape (each dim is plausible).
  check_fails_fast(write_model("huge_constant_of_shape.onnx", model_adding([](onnx::GraphProto* g) {
                     add_int_constant(g, "shape", {65536, 65536});
                     add_node(g, "fill", "ConstantOfShape", {"shape"}, {"big"});
                   })),
                   {"node 'fill'", "ConstantOfShape", "2^31"});

  // Expand of a scalar to 2^20 x 2^20.
  check_fails_fast(write_model("huge_expand.onnx", model_adding([](onnx::GraphProto* g) {
                     add_int_constant(g, "one", {1});
                     add_int_constant(g, "shape", {1 << 20, 1 << 20});
                     add_node(g, "expand", "Expand", {"one", "shape"}, {"big"});
                   })),
                   {"node 'expand'", "Expand", "2^31"});

  // Range of 2^40 values.
  check_fails_fast(write_model("huge_range.onnx", model_adding([](onnx::GraphProto* g) {
                     add_int_constant(g, "start", {0});
                     add_int_constant(g, "limit", {int64_t{1} << 40});
                     add_int_constant(g, "delta", {1});
                     add_node(g, "range", "Range", {"start", "limit", "delta"}, {"big"});
                   })),
                   {"node 'range'", "Range", "2^31"});
}

TEST_CASE("malformed ONNX: unsupported op") {
  onnx::ModelProto m = valid_model();
  auto* n = m.mutable_graph()->mutable_node(1);
  n->set_name("mystery");
  n->set_op_type("Einsum");
  check_message(write_model("unsupported_op.onnx", m), {"node 'mystery'", "Einsum", "opset 13", "not supported"});
}

TEST_CASE("malformed ONNX: unsupported opset") {
  for (int opset : {18, 99}) {
    CAPTURE(opset);
    check_message(write_model("opset_" + std::to_string(opset) + ".onnx", valid_model(opset)),
                  {cat("opset ", opset), "outside the supported range"});
  }
  onnx::ModelProto none = valid_model();
  none.clear_opset_import();
  check_message(write_model("no_opset.onnx", none), {"opset"});
}

TEST_CASE("malformed ONNX: non-default op domain") {
  onnx::ModelProto m = valid_model();
  auto* op = m.add_opset_import();
  op->set_domain("com.microsoft");
  op->set_version(1);
  auto* n = m.mutable_graph()->mutable_node(1);
  n->set_name("fused");
  n->set_op_type("FusedGelu");
  n->set_domain("com.microsoft");
  check_message(write_model("custom_domain.onnx", m), {"node 'fused'", "FusedGelu", "domain 'com.microsoft'"});
}

TEST_CASE("malformed ONNX: osprey-run exits with 2 and one line on stderr") {
  const fs::path dir = scratch();
  const std::string input = (dir / "x.npy").string();
  write_npy(input, Tensor(kInput));
  std::string bytes;
  REQUIRE(valid_model().SerializeToString(&bytes));
  onnx::ModelProto unsupported = valid_model();
  unsupported.mutable_graph()->mutable_node(1)->set_op_type("Einsum");
  const std::vector<std::pair<std::string, std::string>> files{
      {write_bytes("cli_truncated.onnx", bytes.substr(0, bytes.size() / 2)), "not a valid ONNX file"},
      {write_model("cli_unsupported_op.onnx", unsupported), "op 'Einsum' is not supported"}};
  for (const auto& [model, expect] : files) {
    CAPTURE(model);
    const std::string err = (dir / "cli_stderr.txt").string();
    const std::string cmd = cat("'", OSPREY_RUN, "' '", model, "' -i x='", input, "' -o '", (dir / "cli_out").string(), "' >/dev/null 2>'", err, "'");
    const int status = std::system(cmd.c_str());
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 2);
    std::ifstream in(err);
    std::stringstream text;
    text << in.rdbuf();
    const std::string s = text.str();
    INFO("stderr: ", s);
    CHECK(std::count(s.begin(), s.end(), '\n') == 1);
    CHECK(s.find(model) != std::string::npos);
    CHECK(s.find(expect) != std::string::npos);
  }
}
