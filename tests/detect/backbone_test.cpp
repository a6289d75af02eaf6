// The Faster R-CNN backbone (family resnet_fpn) against torchvision's
// fasterrcnn_resnet50_fpn(...).backbone: ResNet-50 with FrozenBatchNorm2d (eps 0, as for the
// COCO weights), FPN and LastLevelMaxPool, on seeded weights with randomised frozen
// statistics and calibrated activations (make_detect_references.py, DIR/backbone/).
// All five levels must agree: max |osprey - torch| <= 1e-4 * max(1, max |torch|) per level.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "engine/shapes.hpp"
#include "model/graph_json.hpp"
#include "model/model.hpp"
#include "references.hpp"

using namespace osprey;
using namespace osprey::detect::test;

namespace {

const Case& backbone_case(const std::string& name) {
  static const std::vector<Case> cases = cases_of("resnet_fpn_backbone");
  for (const Case& c : cases)
    if (c.name == name) return c;
  FAIL("no reference case ", name, ": rerun tests/detect/make_detect_references.py");
  throw std::logic_error("unreachable");
}

// A config for the case's architecture, written for this test and loaded with the
// reference weights.
std::unique_ptr<Model> load_backbone(const Case& c, int height, int width) {
  namespace fs = std::filesystem;
  const fs::path config = fs::temp_directory_path() / cat("osprey_", c.name, "_", getpid(), ".json");
  nlohmann::json doc;
  doc["name"] = c.name;
  doc["architecture"] = {{"family", "resnet_fpn"}, {"depth", c.params.at("depth")}, {"bn_eps", c.params.at("bn_eps")},
                         {"out_channels", c.params.at("out_channels")}};
  doc["input"] = {{"size", {height, width}}};
  std::ofstream(config) << doc.dump(1);
  LoadOptions options;
  options.weights = std::string(OSPREY_DETECT_REFS) + "/" + c.params.at("weights").get<std::string>();
  std::unique_ptr<Model> model;
  try {
    model = Model::load(config.string(), options);
  } catch (...) {
    fs::remove(config);
    throw;
  }
  fs::remove(config);
  return model;
}

// Samples [first, first + count) of a batch.
Tensor samples(const Tensor& t, int64_t first, int64_t count) {
  const int64_t per = element_count(t.shape) / t.shape.at(0);
  Shape shape = t.shape;
  shape[0] = count;
  return Tensor(shape, std::vector<float>(t.data.begin() + first * per, t.data.begin() + (first + count) * per));
}

void check_levels(const std::string& name, int64_t batch) {
  const Case& c = backbone_case(name);
  Tensor input = c.array("input");
  REQUIRE(input.shape.size() == 4);
  REQUIRE(batch <= input.shape[0]);
  input = samples(input, 0, batch);
  auto model = load_backbone(c, static_cast<int>(input.shape[2]), static_cast<int>(input.shape[3]));
  const std::vector<Tensor> got = model->run(input);
  const auto names = c.params.at("outputs").get<std::vector<std::string>>();
  REQUIRE(got.size() == names.size());
  CHECK(model->graph().output_names == names);
  // The top-down adds become sum post-ops of the lateral 1x1 convs (the upsampling reads
  // its size from the body's feature, not from the lateral conv).
  int fused = 0;
  for (const Node& n : model->graph().nodes)
    if (!n.dead && n.name.rfind("backbone.fpn.inner_blocks.", 0) == 0)
      fused += !n.post_ops.empty() && n.post_ops[0].kind == PostOp::Sum;
  CHECK(fused == 3);
  for (size_t i = 0; i < names.size(); ++i) {
    CAPTURE(names[i]);
    const Tensor want = samples(c.array("out_" + names[i]), 0, batch);
    REQUIRE(got[i].shape == want.shape);
    const double err = max_abs_error(got[i].data, want.data);
    double scale = 0;
    for (float v : want.data) scale = std::max(scale, double(std::abs(v)));
    MESSAGE(name, " batch ", batch, " level '", names[i], "' ", to_string(want.shape), ": max abs error ", err,
            ", max |ref| ", scale);
    CHECK(err >= 0);
    CHECK(err <= 1e-4 * std::max(1.0, scale));
  }
}

}  // namespace

TEST_CASE("resnet_fpn backbone matches torchvision at batch 2") { check_levels("backbone_resnet50_fpn", 2); }

TEST_CASE("resnet_fpn backbone matches torchvision at batch 1") { check_levels("backbone_resnet50_fpn", 1); }

// 250x333: levels of 63x84, 32x42, 16x21, 8x11, so the top-down upsampling is not always
// an exact doubling (63 rows from 32: src = floor(dst * 32 / 63)).
TEST_CASE("resnet_fpn backbone matches torchvision at an odd size") { check_levels("backbone_resnet50_fpn_odd", 1); }

TEST_CASE("resnet_fpn family: torchvision names and defaults") {
  const std::string config = std::string(OSPREY_BINARY_DIR) + "/detect_resnet_fpn_family_test.json";
  std::ofstream(config) << R"({"architecture": {"family": "resnet_fpn"}})";
  Graph graph;
  const ModelConfig cfg = read_config(config, &graph);
  CHECK(cfg.num_classes == 0);
  CHECK(cfg.input.height == 800);
  CHECK(cfg.input.width == 800);
  CHECK(cfg.input.resize == ResizeMode::Stretch);
  CHECK(cfg.input.mean == std::vector<float>{0.485f, 0.456f, 0.406f});
  CHECK(cfg.input.std == std::vector<float>{0.229f, 0.224f, 0.225f});
  CHECK(graph.output_names == std::vector<std::string>{"0", "1", "2", "3", "pool"});

  std::vector<std::string> keys;
  float eps = -1;
  for (const Node& n : graph.nodes) {
    for (const auto& t : n.tensors) keys.push_back(t.key);
    if (n.op == Op::BatchNorm) eps = n.get<BatchNormParams>().eps;
  }
  CHECK(eps == 1e-5f);  // FrozenBatchNorm2d's default
  // 53 convolutions + 53 frozen batch norms (4 tensors each) in the body, 8 biased convs in the FPN.
  CHECK(keys.size() == 53 + 53 * 4 + 8 * 2);
  for (const char* key : {"backbone.body.conv1.weight", "backbone.body.bn1.running_var", "backbone.body.layer1.0.downsample.0.weight",
                          "backbone.body.layer4.2.bn3.bias", "backbone.fpn.inner_blocks.0.0.weight",
                          "backbone.fpn.inner_blocks.3.0.bias", "backbone.fpn.layer_blocks.2.0.weight"})
    CHECK_MESSAGE(std::find(keys.begin(), keys.end(), key) != keys.end(), key);
  const std::vector<Shape> shapes = infer_shapes(graph, {{1, 3, 800, 800}});
  const std::vector<Shape> want{{1, 256, 200, 200}, {1, 256, 100, 100}, {1, 256, 50, 50}, {1, 256, 25, 25}, {1, 256, 13, 13}};
  for (size_t i = 0; i < want.size(); ++i) CHECK(shapes[graph.outputs[i]] == want[i]);

  // The explicit-graph form keeps the size-from-second-input resizes (two inputs, no size).
  const GraphJson written = graph_to_json(graph, {1, 3, 800, 800}, false);
  int two_input_resizes = 0;
  for (const auto& layer : written.spec.at("layers"))
    if (layer.at("op") == "resize") two_input_resizes += layer.at("input").size() == 2 && !layer.contains("size");
  CHECK(two_input_resizes == 3);
  const nlohmann::json reread_spec = nlohmann::json::parse(written.spec.dump());
  ObjectReader reader(reread_spec, "written graph");
  const Graph reread = graph_from_json(reader);
  const std::vector<Shape> reread_shapes = infer_shapes(reread, {{1, 3, 250, 333}});
  const std::vector<Shape> odd{{1, 256, 63, 84}, {1, 256, 32, 42}, {1, 256, 16, 21}, {1, 256, 8, 11}, {1, 256, 4, 6}};
  REQUIRE(reread.outputs.size() == odd.size());
  for (size_t i = 0; i < odd.size(); ++i) CHECK(reread_shapes[reread.outputs[i]] == odd[i]);

  std::ofstream(config) << R"({"architecture": {"family": "resnet_fpn", "depth": 18, "bn_eps": 0.0}})";
  read_config(config, &graph);
  const Node& inner0 = *std::find_if(graph.nodes.begin(), graph.nodes.end(),
                                     [](const Node& n) { return n.name == "backbone.fpn.inner_blocks.0.0"; });
  CHECK(inner0.tensors.at(0).shape == Shape{256, 64, 1, 1});  // basic blocks: in_channels [64, 128, 256, 512]
  std::ofstream(config) << R"({"architecture": {"family": "resnet_fpn", "bn_eps": -1}})";
  CHECK_THROWS_AS(read_config(config, &graph), ModelError);
  std::filesystem::remove(config);
}
