// osprey-convert's library side: ONNX file -> config (explicit layer graph) + safetensors,
// written to disk and loaded back with Model::load like any config, then run against ONNX
// Runtime's outputs at batch 2 and batch 1 (the converted graph keeps the batch size free).
// Also: the explicit-graph format reads back what the writer writes, for every op.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "core/error.hpp"
#include "engine/executor.hpp"
#include "engine/passes.hpp"
#include "engine/shapes.hpp"
#include "model/convert.hpp"
#include "model/graph_json.hpp"
#include "model/model.hpp"
#include "model/npy.hpp"
#include "model/onnx/onnx_model.hpp"

using namespace osprey;
namespace fs = std::filesystem;

namespace {

float max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape == b.shape);
  float m = 0.0f;
  for (size_t i = 0; i < a.data.size(); ++i) m = std::max(m, std::abs(a.data[i] - b.data[i]));
  return m;
}

Tensor first_sample(const Tensor& t) {
  Shape one = t.shape;
  one[0] = 1;
  const auto per = static_cast<long>(t.data.size() / static_cast<size_t>(t.shape[0]));
  return Tensor(one, std::vector<float>(t.data.begin(), t.data.begin() + per));
}

nlohmann::json reference_entry(const std::string& stem) {
  std::ifstream in(std::string(OSPREY_ONNX_REFS) + "/onnx_references.json");
  REQUIRE(in);
  const auto index = nlohmann::json::parse(in);
  for (const auto& m : index["models"])
    if (m["onnx"] == stem + ".onnx") return m;
  FAIL("no reference entry for ", stem);
  return {};
}

void check_converted(const std::string& stem) {
  const std::string refs = OSPREY_ONNX_REFS;
  const auto entry = reference_entry(stem);
  const std::string onnx_path = refs + "/" + stem + ".onnx";
  const std::string dir = std::string(OSPREY_BINARY_DIR) + "/convert_test";

  const ConvertedModel converted = convert_onnx(onnx_path);
  CHECK(converted.name == stem);
  CHECK(converted.input == Shape{1, 3, 224, 224});
  CHECK(converted.batch_warning == "");  // imported at batch 2, the same config
  const ConvertedFiles files = write_converted(converted, dir);
  REQUIRE(fs::exists(files.config));
  REQUIRE(fs::exists(files.weights));
  for (const auto& t : files.temporary) CHECK_FALSE(fs::exists(t));

  // Round trip: the written config parses back to as many live layers as the import made.
  Graph parsed;
  const ModelConfig config = read_config(files.config, &parsed);
  const OnnxModel onnx(onnx_path);
  const Graph imported = onnx.build({converted.input});
  CHECK(parsed.live_node_count() == imported.live_node_count());
  CHECK(parsed.live_node_count() == converted.layers + 1);  // + the input
  CHECK(config.input.height == 224);
  CHECK(config.input.resize == ResizeMode::Stretch);
  CHECK(config.input.mean == std::vector<float>{0, 0, 0});

  // The converted model, loaded like any config, against ONNX Runtime.
  const auto model = Model::load(files.config);
  const Tensor input = read_npy(refs + "/" + entry["input"].get<std::string>());
  const Tensor ort = read_npy(refs + "/" + entry["ort"].get<std::string>());
  REQUIRE(input.shape[0] == 2);
  const Tensor two = model->run(input).at(0);
  const float batch2 = max_abs_diff(two, ort);
  const Tensor one = model->run(first_sample(input)).at(0);
  const float batch1 = max_abs_diff(one, first_sample(ort));
  MESSAGE(stem, " converted: ", converted.layers, " layers, ", converted.parameters, " parameters; max abs diff vs ONNX Runtime ",
          batch2, " (batch 2), ", batch1, " (batch 1)");
  CHECK(batch2 <= 1e-4f);
  CHECK(batch1 <= 1e-4f);
  CHECK(model->graph().output_names.at(0) == entry["output_name"].get<std::string>());
}

// A graph using every op and key of the format, read from JSON text.
const char* kEveryOp = R"({
  "input_channels": 3,
  "layers": [
    {"name": "c1", "op": "conv", "out_channels": 4, "kernel": 3, "padding": [1, 0, 1, 2]},
    {"name": "bn", "op": "batch_norm", "eps": 0.001},
    {"name": "hs", "op": "hardsigmoid", "alpha": 0.25, "beta": 0.4},
    {"name": "d1", "op": "deconv", "out_channels": 4, "kernel": 3, "stride": 2, "padding": 1, "output_padding": 1, "groups": 2},
    {"name": "lr", "op": "leaky_relu", "negative_slope": 0.1},
    {"name": "mp", "op": "max_pool", "kernel": 3, "stride": 2, "padding": [1, 1, 0, 0], "ceil_mode": true},
    {"name": "ap", "op": "avg_pool", "kernel": 2, "stride": 1, "padding": 1, "count_include_pad": false},
    {"name": "p1", "op": "pad", "begin": [0, 0, 1, 1], "end": [0, 0, 0, 1], "mode": "reflect"},
    {"name": "p2", "op": "pad", "begin": [0, 1, 0, 0], "end": [0, 0, 2, 0], "value": -1.5},
    {"name": "r1", "op": "resize", "mode": "linear", "coordinate_mode": "align_corners", "size": [10, 12]},
    {"name": "r2", "op": "resize", "nearest_mode": "floor", "coordinate_mode": "asymmetric", "scales": [2, 1.5]},
    {"name": "s1", "op": "slice", "starts": [0, 0, 1, 0], "sizes": [-1, -1, 8, 9], "steps": [1, 1, 2, 2]},
    {"name": "t1", "op": "transpose", "perm": [0, 1, 3, 2]},
    {"name": "k", "op": "constant", "shape": [1, 5, 1, 1]},
    {"name": "m1", "op": "mul", "input": ["t1", "k"]},
    {"name": "e1", "op": "elu", "alpha": 0.5},
    {"name": "sp", "op": "softplus"},
    {"name": "af", "op": "affine", "alpha": 2, "beta": -1},
    {"name": "cl", "op": "clip", "min": -0.5},
    {"name": "k2", "op": "constant", "shape": [5, 1, 1]},
    {"name": "a1", "op": "add", "input": ["cl", "k2"]},
    {"name": "s2", "op": "sub", "input": ["a1", "m1"]},
    {"name": "ab", "op": "abs"},
    {"name": "one", "op": "affine", "beta": 1},
    {"name": "q", "op": "sqrt"},
    {"name": "dv", "op": "div", "input": ["s2", "q"]},
    {"name": "mx", "op": "max", "input": ["dv", "m1"]},
    {"name": "mn", "op": "min", "input": ["mx", "cl"]},
    {"name": "g1", "op": "gelu"},
    {"name": "th", "op": "tanh"},
    {"name": "pw", "op": "pow", "exponent": 2},
    {"name": "c2", "op": "conv", "out_channels": 6, "in_channels": 5, "kernel": [1, 3], "padding": [0, 2], "dilation": [1, 2], "bias": false},
    {"name": "cat", "op": "concat", "input": ["c2", "mn"]},
    {"name": "sw", "op": "hardswish"},
    {"name": "lrn", "op": "lrn", "size": 3},
    {"name": "aap", "op": "adaptive_avg_pool", "output": [2, 3]},
    {"name": "gmp", "op": "global_max_pool", "input": "cat"},
    {"name": "gap", "op": "global_avg_pool", "input": "cat"},
    {"name": "sum", "op": "add", "input": ["gmp", "gap"]},
    {"name": "flat", "op": "flatten"},
    {"name": "fc", "op": "linear", "in_features": 11, "out_features": 7},
    {"name": "sg", "op": "sigmoid"},
    {"name": "rs", "op": "reshape", "shape": [0, 7, 1, -1]},
    {"name": "sm", "op": "softmax", "axis": 1},
    {"name": "r6", "op": "relu6", "input": "aap"},
    {"name": "silu", "op": "silu"},
    {"name": "ex", "op": "exp"},
    {"name": "lg", "op": "log"},
    {"name": "fl2", "op": "reshape", "shape": [0, -1]},
    {"name": "do", "op": "dropout"},
    {"name": "relu", "op": "relu"},
    {"name": "sm2", "op": "softmax"}
  ],
  "outputs": ["sm", "sm2"]
})";

Graph parse_graph(const nlohmann::json& spec) {
  ObjectReader reader(spec, "test.json", "graph");
  return graph_from_json(reader);
}

std::vector<Tensor> run_graph(Graph graph, const Tensor& input) {
  optimize(graph, {input.shape});
  Executor executor{std::make_shared<const Graph>(std::move(graph))};
  return executor.run(input);
}

Tensor random_tensor(const Shape& shape, std::mt19937& rng, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  Tensor t(shape);
  for (auto& v : t.data) v = dist(rng);
  return t;
}

}  // namespace

TEST_CASE("convert mobilenet_v2 from ONNX and run the written config") { check_converted("mobilenet_v2_op13"); }
TEST_CASE("convert fcn_resnet50 from ONNX and run the written config") { check_converted("fcn_resnet50_op13"); }

TEST_CASE("convert refuses an input size the file contradicts and writes nothing") {
  const std::string dir = std::string(OSPREY_BINARY_DIR) + "/convert_test/refused";
  fs::remove_all(dir);
  ConvertOptions options;
  options.input_size = {100, 100};
  CHECK_THROWS_WITH_AS(convert_onnx(std::string(OSPREY_ONNX_REFS) + "/mobilenet_v2_op13.onnx", options),
                       doctest::Contains("fixes the input size to 224x224"), ModelError);
  options.input_size = {0, 0};
  options.name = "../escape";
  CHECK_THROWS_AS(convert_onnx(std::string(OSPREY_ONNX_REFS) + "/mobilenet_v2_op13.onnx", options), ModelError);
  CHECK_FALSE(fs::exists(dir));
}

TEST_CASE("explicit graph format reads back what the writer writes for every op") {
  const auto spec = nlohmann::json::parse(kEveryOp);
  Graph graph = parse_graph(spec);
  std::mt19937 rng(7);
  for (auto& node : graph.nodes)
    for (auto& t : node.tensors) t.value = random_tensor(t.shape, rng, 0.5f, 1.5f);
  const Tensor input = random_tensor({2, 3, 8, 8}, rng, -1.0f, 1.0f);
  const Shape one{1, 3, 8, 8};

  const GraphJson written = graph_to_json(graph, one);
  CHECK(written.layers + 1 == graph.live_node_count());
  const auto respec = nlohmann::json::parse(written.spec.dump());
  Graph reread = parse_graph(respec);
  CHECK(reread.live_node_count() == graph.live_node_count());
  for (auto& node : reread.nodes)
    for (auto& t : node.tensors) {
      auto it = written.tensors.find(t.key);
      REQUIRE_MESSAGE(it != written.tensors.end(), t.key);
      CHECK(it->second.shape == t.shape);
      t.value = it->second;
    }
  // Writing the re-read graph gives the same JSON: nothing is lost either way.
  CHECK(graph_to_json(reread, one).spec.dump() == written.spec.dump());

  // Same results, at the batch size written for and another.
  const Tensor first = first_sample(input);
  for (const Tensor* x : {&input, &first}) {
    const auto a = run_graph(graph, *x);
    const auto b = run_graph(reread, *x);
    REQUIRE(a.size() == 2);
    REQUIRE(b.size() == 2);
    for (size_t i = 0; i < a.size(); ++i) {
      CHECK(a[i].shape[0] == x->shape[0]);
      CHECK(max_abs_diff(a[i], b[i]) == 0.0f);
    }
  }
  // Batch sizes are independent: sample 0 of the batch-2 run is the batch-1 run.
  const auto two = run_graph(graph, input);
  const auto single = run_graph(graph, first);
  for (size_t i = 0; i < two.size(); ++i) CHECK(max_abs_diff(first_sample(two[i]), single[i]) <= 1e-5f);
}

TEST_CASE("explicit graph errors name the layer and the key") {
  auto error_of = [](const std::string& layers) {
    const auto spec = nlohmann::json::parse(R"({"input_channels": 3, "layers": [)" + layers + "]}");
    try {
      parse_graph(spec);
    } catch (const ModelError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(error_of(R"({"name": "c", "op": "conv", "out_channels": 4, "padding": [1, 2, 3]})") ==
        "test.json: graph.layers[0].padding: expected an integer, [h, w] or [top, left, bottom, right]");
  CHECK(error_of(R"({"name": "r", "op": "reshape", "shape": [0, -1, -1]})") == "test.json: graph.layers[0].shape: more than one -1");
  CHECK(error_of(R"({"name": "f", "op": "reshape", "shape": [0, -1]}, {"name": "c", "op": "conv", "out_channels": 4})")
            .find("graph.layers[1].in_channels: missing") != std::string::npos);
  CHECK(error_of(R"({"name": "c", "op": "conv", "out_channels": 4, "in_channels": 5})") ==
        "test.json: graph.layers[0].in_channels: is 5 but the input has 3 channels");
  CHECK(error_of(R"({"name": "z", "op": "resize", "mode": "cubic", "size": 4})")
            .find("graph.layers[0].mode: expected one of linear, nearest, got 'cubic'") != std::string::npos);
  CHECK(error_of(R"({"name": "k", "op": "constant", "input": "input", "shape": [1]})") ==
        "test.json: graph.layers[0].input: a constant takes no input");
  CHECK(error_of(R"({"name": "p", "op": "max_pool", "stride": 0})") == "test.json: graph.layers[0].stride: must be positive, got [0, 0]");
}
