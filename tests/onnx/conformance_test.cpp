// ONNX's own backend node tests (Debian's libonnx-testdata): every case whose op Osprey
// maps is imported and run, and its outputs compared with the expected ones (|a - b| <=
// 1e-4 + 1e-3 |b|, ONNX's own rtol). A case may be unsupported (a clear import error: an
// integer type, a training-mode output ...) but never wrong. The per-op pass counts are
// written to build/onnx_conformance.md and reported in the README.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/error.hpp"
#include "engine/executor.hpp"
#include "engine/passes.hpp"
#include "model/onnx/importer.hpp"
#include "model/onnx/onnx_model.hpp"

using namespace osprey;
namespace fs = std::filesystem;

namespace {

ConstTensor read_pb(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  onnx::TensorProto t;
  if (!t.ParseFromIstream(&in)) throw ModelError(cat(file.string(), ": not a TensorProto"));
  return read_tensor_proto(t, file.string());
}

std::string first_op(const fs::path& model) {
  std::ifstream in(model, std::ios::binary);
  onnx::ModelProto m;
  if (!m.ParseFromIstream(&in) || m.graph().node_size() == 0) return "";
  return m.graph().node(0).op_type();
}

enum class Outcome { Pass, Wrong, Unsupported };

struct CaseResult {
  Outcome outcome;
  std::string detail;
};

// Runs one case with the float inputs from `runtime_from` on given at run time and the
// rest bound as constants (node tests pass weights as graph inputs).
CaseResult run_case(const fs::path& dir, size_t runtime_inputs) {
  OnnxModel model((dir / "model.onnx").string());
  const fs::path data = dir / "test_data_set_0";
  std::map<std::string, ConstTensor> constants;
  std::vector<Tensor> tensors;
  std::vector<Shape> shapes;
  for (size_t i = 0; i < model.inputs().size(); ++i) {
    const auto& in = model.inputs()[i];
    const fs::path file = data / ("input_" + std::to_string(i) + ".pb");
    if (!fs::exists(file)) continue;  // optional input left out
    std::ifstream pb(file, std::ios::binary);
    onnx::TensorProto proto;
    if (!proto.ParseFromIstream(&pb)) throw ModelError(cat(file.string(), ": not a TensorProto"));
    // (some cases store bfloat16 inputs as uint16 data: a test-data quirk, not a model)
    if (proto.data_type() != in.elem_type) throw ModelError(cat(file.string(), ": data type ", proto.data_type(), " differs from the declared ", in.elem_type));
    ConstTensor value = read_tensor_proto(proto, file.string());
    if (!value.integer && in.is_float && tensors.size() < runtime_inputs) {
      tensors.push_back(value.as_tensor());
      shapes.push_back(value.shape);
    } else {
      constants[in.name] = std::move(value);
    }
  }
  auto graph = std::make_shared<Graph>(model.build(shapes, constants));
  optimize(*graph, shapes);
  Executor executor{std::shared_ptr<const Graph>(graph)};
  std::vector<const Tensor*> inputs;
  for (const auto& t : tensors) inputs.push_back(&t);
  const std::vector<Tensor> outputs = executor.run(inputs);
  for (size_t i = 0; i < outputs.size(); ++i) {
    const fs::path file = data / ("output_" + std::to_string(i) + ".pb");
    if (!fs::exists(file)) continue;
    const ConstTensor expected = read_pb(file);
    if (expected.shape != outputs[i].shape)
      return {Outcome::Wrong, cat("output ", i, " has shape ", to_string(outputs[i].shape), ", expected ", to_string(expected.shape))};
    for (int64_t k = 0; k < expected.size(); ++k) {
      const double want = expected.at(k), got = outputs[i].data[k];
      if (std::isnan(want) && std::isnan(got)) continue;
      if (!(std::abs(got - want) <= 1e-4 + 1e-3 * std::abs(want)))
        return {Outcome::Wrong, cat("output ", i, " element ", k, ": ", got, " instead of ", want)};
    }
  }
  return {Outcome::Pass, ""};
}

CaseResult run_case(const fs::path& dir) {
  std::string first_error;
  // First with every float input given at run time, then with only the first.
  for (size_t runtime_inputs : {size_t{64}, size_t{1}}) {
    try {
      return run_case(dir, runtime_inputs);
    } catch (const ModelError& e) {
      if (first_error.empty()) first_error = e.what();
    }
  }
  return {Outcome::Unsupported, first_error};
}

}  // namespace

TEST_CASE("ONNX backend node tests: every case of every supported op") {
  const fs::path root = OSPREY_ONNX_NODE_TESTS;
  REQUIRE(fs::is_directory(root));
  const auto ops = supported_onnx_ops();
  const std::set<std::string> supported(ops.begin(), ops.end());
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(root)) {
    const std::string name = e.path().filename().string();
    if (name.size() > 9 && name.compare(name.size() - 9, 9, "_expanded") == 0) continue;  // function-expanded twins
    cases.push_back(e.path());
  }
  std::sort(cases.begin(), cases.end());

  struct Count { int pass = 0, wrong = 0, unsupported = 0; };
  std::map<std::string, Count> per_op;
  std::vector<std::string> wrong, unsupported;
  for (const auto& dir : cases) {
    const std::string op = first_op(dir / "model.onnx");
    if (!supported.count(op)) continue;
    const CaseResult r = run_case(dir);
    Count& c = per_op[op];
    const std::string name = dir.filename().string();
    switch (r.outcome) {
      case Outcome::Pass: ++c.pass; break;
      case Outcome::Wrong: ++c.wrong; wrong.push_back(name + ": " + r.detail); break;
      case Outcome::Unsupported: ++c.unsupported; unsupported.push_back(name + ": " + r.detail); break;
    }
  }

  int pass = 0, total = 0;
  std::ofstream md(fs::path(OSPREY_BINARY_DIR) / "onnx_conformance.md");
  md << "| op | passed | unsupported (clear error) | wrong |\n|---|---|---|---|\n";
  for (const auto& [op, c] : per_op) {
    md << "| " << op << " | " << c.pass << "/" << c.pass + c.wrong + c.unsupported << " | " << c.unsupported << " | " << c.wrong << " |\n";
    pass += c.pass;
    total += c.pass + c.wrong + c.unsupported;
  }
  md << "\nUnsupported cases:\n";
  for (const auto& u : unsupported) md << "- " << u.substr(0, 300) << "\n";
  MESSAGE("ONNX node tests: ", pass, " of ", total, " cases pass over ", per_op.size(), " ops (details in build/onnx_conformance.md)");
  for (const auto& w : wrong) MESSAGE("wrong: ", w);
  CHECK(wrong.empty());
  CHECK(pass >= 251);  // the count at the time of writing is reported in the README; a drop is a regression
}
