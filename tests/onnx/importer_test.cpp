// Small ONNX graphs, one or two per rule of the importer (tests/onnx/make_small_models.py
// writes them with onnx.helper, with ONNX Runtime's outputs), imported with OnnxModel,
// built for the input shapes, optimised, run by the Executor and compared with ORT.
//
// Tolerance, per output: max |osprey - ORT| <= 1e-4 * max(1, max |ORT|). Absolute 1e-4
// for outputs of order 1, relative beyond: both sides compute in float32, but oneDNN
// and ORT sum in different orders (and oneDNN may fuse a batch norm into a convolution),
// so the last bits differ; a wrong rule (an axis, a rounding mode, a pad) gives errors of
// the order of the values themselves.
//
// One test per group of cases (cases.json names the group); a case may have extra runs
// at other input shapes (the dynamic-batch cases: batch 3, and batch1/), which go through
// one Executor whose graph factory builds the file once per shape.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.hpp"
#include "engine/executor.hpp"
#include "engine/passes.hpp"
#include "model/npy.hpp"
#include "model/onnx/onnx_model.hpp"

using namespace osprey;
namespace fs = std::filesystem;

namespace {

// The groups make_small_models.py writes; each has a TEST_CASE below.
const std::set<std::string> kGroups{"folding", "squeeze", "slice_split", "softmax", "layout",
                                    "pad", "resize", "conv", "linear", "elementwise", "fusion"};

struct SmallCase {
  std::string name, group, covers;
  int opset = 0;
  std::vector<std::string> runs, outputs;
};

std::vector<SmallCase> all_cases() {
  const fs::path index = fs::path(OSPREY_ONNX_SMALL) / "cases.json";
  std::ifstream in(index);
  INFO("run tests/onnx/make_small_models.py --out ", OSPREY_ONNX_SMALL, " first");
  REQUIRE(in);
  std::vector<SmallCase> cases;
  for (const auto& j : nlohmann::json::parse(in)) {
    SmallCase c;
    c.name = j.at("name");
    c.group = j.at("group");
    c.covers = j.at("covers");
    c.opset = j.at("opset");
    c.runs = j.at("runs").get<std::vector<std::string>>();
    c.outputs = j.at("outputs").get<std::vector<std::string>>();
    cases.push_back(std::move(c));
  }
  return cases;
}

// As osprey-run and ORT's runner name output files.
std::string sanitised(const std::string& name) {
  std::string s = name;
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') c = '_';
  return s;
}

struct Measured {
  double err = 0, scale = 0;
};

Measured compare(const Tensor& got, const Tensor& want) {
  Measured m;
  for (float v : want.data) m.scale = std::max(m.scale, static_cast<double>(std::abs(v)));
  for (size_t i = 0; i < want.data.size(); ++i)
    m.err = std::max(m.err, std::abs(static_cast<double>(got.data[i]) - static_cast<double>(want.data[i])));
  return m;
}

// Reshape nodes of the planned graph whose output starts with `batch` (the folded
// torch.flatten target must follow the batch size the graph was built for).
int reshapes_to_batch(const Graph& graph, int64_t batch) {
  int n = 0;
  for (const auto& node : graph.nodes)
    if (!node.dead && node.op == Op::Reshape && !node.get<ReshapeParams>().shape.empty() &&
        node.get<ReshapeParams>().shape[0] == batch)
      ++n;
  return n;
}

// Appends one line per output to `report`: the error measured and the tolerance.
void check_case(const SmallCase& c, std::string& report) {
  INFO("case ", c.name, " (", c.covers, ")");
  const fs::path dir = fs::path(OSPREY_ONNX_SMALL) / c.name;
  auto model = std::make_shared<const OnnxModel>((dir / "model.onnx").string());
  CHECK(model->opset() == c.opset);
  REQUIRE(model->output_names() == c.outputs);
  Executor executor([model](const std::vector<Shape>& shapes) {
    auto graph = std::make_shared<Graph>(model->build(shapes));
    optimize(*graph, shapes);
    return std::shared_ptr<const Graph>(graph);
  });
  std::set<const Graph*> graphs;
  for (const auto& run : c.runs) {
    INFO("run '", run, "'");
    const fs::path rdir = run.empty() ? dir : dir / run;
    std::vector<Tensor> inputs;
    std::vector<Shape> shapes;
    for (const auto& in : model->inputs()) {
      inputs.push_back(read_npy((rdir / ("input_" + in.name + ".npy")).string()));
      shapes.push_back(inputs.back().shape);
    }
    std::vector<const Tensor*> pointers;
    for (const auto& t : inputs) pointers.push_back(&t);
    std::vector<Tensor> outputs;
    try {
      outputs = executor.run(pointers);
    } catch (const std::exception& e) {
      FAIL_CHECK("import or run failed: ", std::string(e.what()));
      continue;
    }
    REQUIRE(outputs.size() == c.outputs.size());
    for (size_t i = 0; i < outputs.size(); ++i) {
      INFO("output ", c.outputs[i]);
      const Tensor want = read_npy((rdir / "expected" / (sanitised(c.outputs[i]) + ".npy")).string());
      INFO("shape: osprey ", to_string(outputs[i].shape), ", ORT ", to_string(want.shape));
      CHECK(outputs[i].shape == want.shape);
      if (outputs[i].shape != want.shape) continue;
      const Measured m = compare(outputs[i], want);
      const double tol = 1e-4 * std::max(1.0, m.scale);
      report += cat("\n  ", c.name, run.empty() ? "" : "/" + run, " ", c.outputs[i], " ", to_string(want.shape), ": max abs err ",
                    m.err, " (max |ORT| ", m.scale, ", tolerance ", tol, ")");
      CHECK(m.err <= tol);
    }
    if (c.runs.size() > 1) {
      // The dynamic-batch cases: the flatten target is folded for this batch size.
      const Graph& g = executor.graph(shapes);
      graphs.insert(&g);
      CHECK(reshapes_to_batch(g, shapes.at(0).at(0)) >= 1);
    }
  }
  if (c.runs.size() > 1) CHECK(graphs.size() == c.runs.size());  // one graph per batch size
}

void check_group(const std::string& group) {
  REQUIRE(kGroups.count(group));
  int n = 0;
  std::string report;
  for (const auto& c : all_cases()) {
    if (c.group != group) continue;
    check_case(c, report);
    ++n;
  }
  CHECK(n > 0);
  MESSAGE(n, " cases of group ", group, report);
}

}  // namespace

TEST_CASE("small models: every case belongs to a tested group") {
  const auto cases = all_cases();
  CHECK(cases.size() >= 30);
  std::set<std::string> seen;
  for (const auto& c : cases) {
    INFO("case ", c.name);
    CHECK(kGroups.count(c.group) == 1);
    seen.insert(c.group);
  }
  CHECK(seen == kGroups);
}

TEST_CASE("small models: constant folding (torch flatten at batch 1 and 3 - Constant weights - ConstantOfShape - Range - Cast)") {
  check_group("folding");
}
TEST_CASE("small models: Squeeze and Unsqueeze (axes attribute and input)") { check_group("squeeze"); }
TEST_CASE("small models: Slice and Split") { check_group("slice_split"); }
TEST_CASE("small models: Softmax axis semantics (opset 11 and 13)") { check_group("softmax"); }
TEST_CASE("small models: Flatten Transpose and Gather") { check_group("layout"); }
TEST_CASE("small models: Pad (constant reflect edge)") { check_group("pad"); }
TEST_CASE("small models: Resize and Upsample") { check_group("resize"); }
TEST_CASE("small models: ConvTranspose - auto_pad - pooling - ReduceMean") { check_group("conv"); }
TEST_CASE("small models: Gemm MatMul and BatchNormalization") { check_group("linear"); }
TEST_CASE("small models: elementwise (scalar affine - broadcasting - hard activations - Clip)") { check_group("elementwise"); }
// Scalar Mul/Add/Sub/Div after a convolution become several eltwise_linear post-ops of it.
TEST_CASE("small models: chains of affine activations fused into a convolution") { check_group("fusion"); }
