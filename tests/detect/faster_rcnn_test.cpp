// Faster R-CNN (fasterrcnn_resnet50_fpn) against torchvision 0.14 on seeded weights
// (make_detect_references.py, DIR/detector/): the transform at 800 / 1333, the RPN's
// proposals and the box postprocessing each from torchvision's own inputs, then the whole
// detector on two photos (given as float tensors) at min_size 512 / max_size 853; and
// fasterrcnn_resnet50_fpn_v2 (DIR/detector_v2/) end to end on dog.jpg at 384 / 640;
// fasterrcnn_mobilenet_v3_large_fpn (DIR/detector_mobilenet/) end to end on dog.jpg at
// 320 / 533 with the family's RPN score threshold 0.05.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.hpp"
#include "detect/anchors.hpp"
#include "detect/faster_rcnn.hpp"
#include "engine/graph.hpp"
#include "model/model.hpp"
#include "references.hpp"

using namespace osprey;
using namespace osprey::detect;
using namespace osprey::detect::test;

namespace {

const Case& detector_case() {
  static const std::vector<Case> cases = cases_of("faster_rcnn");
  return cases.at(0);
}

std::vector<Box> boxes_of(const Tensor& t) { return t.data.empty() ? std::vector<Box>{} : boxes_from_tensor(t); }

std::vector<ImageSize> image_sizes(const Case& c) {
  std::vector<ImageSize> sizes;
  for (const auto& s : c.params.at("image_sizes")) sizes.push_back({s.at(0).get<int64_t>(), s.at(1).get<int64_t>()});
  return sizes;
}

// Max |a - b| over the coordinates of two box lists of equal length (-1 when they differ).
double box_error(const std::vector<Box>& a, const std::vector<Box>& b) { return max_abs_error(flatten(a), flatten(b)); }

struct DetectionCheck {
  double box_err = 0, score_err = 0;
  bool labels_equal = false;
};

DetectionCheck compare(const std::vector<Box>& boxes, const std::vector<float>& scores, const std::vector<int64_t>& labels,
                       const Case& c, const std::string& boxes_key, int image) {
  DetectionCheck r;
  const std::vector<Box> want = boxes_of(c.array(cat(boxes_key, image)));
  REQUIRE(boxes.size() == want.size());
  r.box_err = box_error(boxes, want);
  r.score_err = max_abs_error(scores, c.floats(cat("scores", image)));
  r.labels_equal = labels == c.indices(cat("labels", image));
  return r;
}

std::unique_ptr<FasterRcnn> load_detector(const Case& c, const FasterRcnnParams& params) {
  namespace fs = std::filesystem;
  const fs::path config = fs::temp_directory_path() / cat("osprey_faster_rcnn_", getpid(), ".json");
  nlohmann::json doc;
  const std::string family = c.params.value("family", "fasterrcnn_resnet50_fpn");
  doc["name"] = family + "_test";
  doc["architecture"] = {{"family", family}, {"bn_eps", c.params.at("bn_eps")},
                         {"num_classes", c.params.at("num_classes")}};
  std::ofstream(config) << doc.dump(1);
  std::unique_ptr<FasterRcnn> detector;
  try {
    detector = FasterRcnn::load(config.string(), std::string(OSPREY_DETECT_REFS) + "/" + c.params.at("weights").get<std::string>(),
                                params);
  } catch (...) {
    fs::remove(config);
    throw;
  }
  fs::remove(config);
  return detector;
}

}  // namespace

TEST_CASE("rcnn transform matches torchvision at 800 and 1333") {
  for (const Case& c : cases_of("rcnn_transform")) {
    CAPTURE(c.name);
    const Tensor image = c.array("image");
    const ImageBatch batch = transform_images(std::span<const Tensor>(&image, 1), {});
    const Tensor want = c.array("batch");
    const ImageSize size{c.params.at("image_size").at(0).get<int64_t>(), c.params.at("image_size").at(1).get<int64_t>()};
    CHECK(batch.image_sizes.at(0).height == size.height);
    CHECK(batch.image_sizes.at(0).width == size.width);
    CHECK(batch.original_sizes.at(0).height == image.shape[1]);
    REQUIRE(batch.tensor.shape == want.shape);
    const double err = max_abs_error(batch.tensor.data, want.data);
    MESSAGE(c.name, " ", image.shape[1], "x", image.shape[2], " -> ", size.height, "x", size.width, " padded ",
            to_string(want.shape), ": max abs error ", err);
    CHECK(err <= 1e-5);
  }
}

TEST_CASE("rcnn resize rule: shorter side 800 unless the longer exceeds 1333") {
  auto check = [](int64_t h, int64_t w, int64_t want_h, int64_t want_w) {
    const ImageSize s = resized_size({h, w}, 800, 1333);
    CAPTURE(h);
    CAPTURE(w);
    CHECK(s.height == want_h);
    CHECK(s.width == want_w);
  };
  check(576, 768, 800, 1066);   // 800 / 576 = 1.3889: 1066.67 floors
  check(480, 640, 800, 1066);
  check(100, 417, 319, 1333);   // the longer side caps the scale
  check(800, 1000, 800, 1000);  // already there
  // 1333 * float32(1 / 1500) = 0.88866663 < 1333 / 1500: 1332.99995 floors to 1332 in
  // torchvision too (its scale is reciprocal-then-multiply in float32)
  check(1500, 301, 1332, 267);
  check(1, 1, 800, 800);
  CHECK_THROWS_AS(resized_size({0, 5}, 800, 1333), std::invalid_argument);
}

TEST_CASE("rpn proposals match torchvision from its own head outputs") {
  const Case& c = detector_case();
  const int levels = c.params.at("levels");
  std::vector<Tensor> objectness, deltas;
  std::vector<GridSize> grids;
  for (int l = 0; l < levels; ++l) {
    objectness.push_back(c.array(cat("objectness", l)));
    deltas.push_back(c.array(cat("deltas", l)));
    grids.push_back({objectness.back().shape[2], objectness.back().shape[3]});
  }
  const Tensor batch = c.array("batch");
  std::vector<std::vector<float>> sizes{{32}, {64}, {128}, {256}, {512}};
  const AnchorGenerator generator(sizes, std::vector<std::vector<float>>(5, {0.5f, 1.0f, 2.0f}));
  const std::vector<Box> anchors = generator.generate({batch.shape[2], batch.shape[3]}, grids);
  const std::vector<Proposals> got = rpn_proposals(objectness, deltas, anchors, image_sizes(c));
  REQUIRE(got.size() == 2);
  for (int i = 0; i < 2; ++i) {
    const std::vector<Box> want = boxes_of(c.array(cat("proposals", i)));
    REQUIRE(got[i].boxes.size() == want.size());
    const double box_err = box_error(got[i].boxes, want);
    const double score_err = max_abs_error(got[i].scores, c.floats(cat("proposal_scores", i)));
    MESSAGE("image ", i, ": ", want.size(), " proposals, max box error ", box_err, " px, max score error ", score_err);
    CHECK(box_err <= 1e-3);
    CHECK(score_err <= 1e-6);
  }
}

TEST_CASE("box postprocessing matches torchvision from its own box head outputs") {
  const Case& c = detector_case();
  const Tensor logits = c.array("class_logits"), regression = c.array("box_regression");
  const std::vector<ImageSize> sizes = image_sizes(c);
  int64_t first = 0;
  for (int i = 0; i < 2; ++i) {
    const std::vector<Box> proposals = boxes_of(c.array(cat("proposals", i)));
    const auto k = static_cast<int64_t>(proposals.size());
    auto rows = [&](const Tensor& t) {
      const int64_t w = t.shape[1];
      return Tensor({k, w}, std::vector<float>(t.data.begin() + first * w, t.data.begin() + (first + k) * w));
    };
    const Detections d = postprocess_detections(rows(logits), rows(regression), proposals, sizes[i]);
    first += k;
    const DetectionCheck r = compare(d.boxes, d.scores, d.labels, c, "raw_boxes", i);
    MESSAGE("image ", i, ": ", d.boxes.size(), " detections, max box error ", r.box_err, " px, max score error ", r.score_err);
    CHECK(r.labels_equal);
    CHECK(r.box_err <= 1e-3);
    CHECK(r.score_err <= 1e-6);
  }
}

namespace {

// The whole detector on the case's photos: batch, proposals (order up to near-equal scores)
// and the detections.
void check_end_to_end(const Case& c) {
  const int images_n = c.params.at("images");
  FasterRcnnParams params;
  params.transform.min_size = c.params.at("min_size");
  params.transform.max_size = c.params.at("max_size");
  auto detector = load_detector(c, params);
  std::vector<Tensor> images;
  for (int i = 0; i < images_n; ++i) images.push_back(c.array(cat("image", i)));
  FasterRcnn::Trace trace;
  const std::vector<Detections> got = detector->detect(images, &trace);

  const Tensor batch = c.array("batch");
  REQUIRE(trace.batch.tensor.shape == batch.shape);
  const double batch_err = max_abs_error(trace.batch.tensor.data, batch.data);
  MESSAGE("batch ", to_string(batch.shape), ": max abs error ", batch_err);
  CHECK(batch_err <= 1e-5);
  REQUIRE(got.size() == static_cast<size_t>(images_n));
  for (int i = 0; i < images_n; ++i) {
    CAPTURE(i);
    const std::vector<Box> want = boxes_of(c.array(cat("proposals", i)));
    const Proposals& p = trace.proposals[i];
    CHECK(p.boxes.size() == want.size());
    // Same proposals in the same order, except that proposals whose scores are within 1e-5
    // (float noise of the backbone) may come in either order: each torchvision proposal is
    // matched to an unused one of ours with a score within 1e-5 and a box within 0.01 px.
    const std::vector<float> want_scores = c.floats(cat("proposal_scores", i));
    const size_t n = std::min(p.boxes.size(), want.size());
    std::vector<bool> used(n, false);
    int64_t unmatched = 0, swapped = 0;
    double worst = 0, score_err = 0;
    for (size_t j = 0; j < n; ++j) {
      size_t lo = j;
      while (lo > 0 && std::abs(p.scores[lo - 1] - want_scores[j]) <= 1e-5f) --lo;
      bool found = false;
      for (size_t m = lo; m < n && p.scores[m] >= want_scores[j] - 1e-5f; ++m) {
        const double e = box_error({p.boxes[m]}, {want[j]});
        if (used[m] || e > 0.01 || std::abs(p.scores[m] - want_scores[j]) > 1e-5f) continue;
        used[m] = found = true;
        swapped += m != j;
        worst = std::max(worst, e);
        score_err = std::max(score_err, double(std::abs(p.scores[m] - want_scores[j])));
        break;
      }
      unmatched += !found;
    }
    MESSAGE("image ", i, ": ", p.boxes.size(), " proposals (torchvision ", want.size(), "), ", unmatched, " unmatched, ", swapped,
            " in swapped order among near-equal scores; max box error ", worst, " px, max score error ", score_err);
    CHECK(unmatched == 0);
    CHECK(swapped <= 4);
    CHECK(score_err <= 1e-4);

    const Detections& d = got[i];
    CHECK(d.boxes.size() == c.params.at("detections").at(i).get<size_t>());
    const DetectionCheck r = compare(d.boxes, d.scores, d.labels, c, "boxes", i);
    MESSAGE("image ", i, ": ", d.boxes.size(), " detections, max box error ", r.box_err, " px, max score error ", r.score_err,
            ", labels ", std::string(r.labels_equal ? "equal" : "DIFFER"));
    CHECK(r.labels_equal);
    CHECK(r.box_err <= 0.01);
    CHECK(r.score_err <= 1e-4);
  }
}

}  // namespace

TEST_CASE("fasterrcnn_resnet50_fpn matches torchvision end to end on two photos") { check_end_to_end(detector_case()); }

TEST_CASE("fasterrcnn_resnet50_fpn_v2 matches torchvision end to end on dog.jpg") {
  check_end_to_end(cases_of("faster_rcnn_v2").at(0));
}

TEST_CASE("fasterrcnn_mobilenet_v3_large_fpn matches torchvision end to end on dog.jpg") {
  const Case c = cases_of("faster_rcnn_mobilenet").at(0);
  CHECK(fasterrcnn_defaults("fasterrcnn_mobilenet_v3_large_fpn").rpn_score_thresh == c.params.at("rpn_score_thresh").get<float>());
  check_end_to_end(c);
}

TEST_CASE("fasterrcnn_mobilenet_v3_large_fpn family: three levels and squeeze-excitation keys") {
  const std::string config = std::string(OSPREY_BINARY_DIR) + "/detect_fasterrcnn_mobilenet_family_test.json";
  std::ofstream(config) << R"({"architecture": {"family": "fasterrcnn_mobilenet_v3_large_fpn"}})";
  Graph graph;
  const ModelConfig cfg = read_config(config, &graph);
  std::filesystem::remove(config);
  CHECK(cfg.num_classes == 91);
  std::vector<std::string> names{"0", "1", "pool"};
  for (const char* kind : {"rpn.objectness.", "rpn.deltas."})
    for (int l = 0; l < 3; ++l) names.push_back(cat(kind, l));
  CHECK(graph.output_names == names);
  std::set<std::string> keys, node_names;
  int shared = 0;
  for (const Node& n : graph.nodes) {
    node_names.insert(n.name);
    for (const auto& t : n.tensors) {
      keys.insert(t.key);
      shared += t.key == "rpn.head.cls_logits.weight";
    }
  }
  CHECK(shared == 3);
  CHECK(node_names.size() == graph.nodes.size());
  for (const char* key : {"backbone.body.0.0.weight", "backbone.body.1.block.0.0.weight", "backbone.body.4.block.2.fc1.bias",
                          "backbone.body.15.block.3.1.running_var", "backbone.body.16.1.weight",
                          "backbone.fpn.inner_blocks.1.0.weight", "backbone.fpn.layer_blocks.0.0.bias"})
    CHECK_MESSAGE(keys.count(key) == 1, key);
  CHECK(keys.count("backbone.body.1.block.2.0.weight") == 0);  // no expansion in the first block
  const FasterRcnnArch arch = fasterrcnn_defaults("fasterrcnn_mobilenet_v3_large_fpn");
  CHECK(arch.anchors_per_location() == 15);
  CHECK(arch.pooled_levels == 2);
}

TEST_CASE("fasterrcnn_resnet50_fpn_v2 family: BatchNorm FPN and box head keys and two shared RPN convs") {
  const std::string config = std::string(OSPREY_BINARY_DIR) + "/detect_fasterrcnn_v2_family_test.json";
  std::ofstream(config) << R"({"architecture": {"family": "fasterrcnn_resnet50_fpn_v2"}})";
  Graph graph;
  const ModelConfig cfg = read_config(config, &graph);
  std::filesystem::remove(config);
  CHECK(cfg.num_classes == 91);
  int conv0 = 0, conv1 = 0, fpn_bn = 0;
  std::set<std::string> node_names;
  for (const Node& n : graph.nodes) {
    node_names.insert(n.name);
    for (const auto& t : n.tensors) {
      conv0 += t.key == "rpn.head.conv.0.0.weight";
      conv1 += t.key == "rpn.head.conv.1.0.weight";
      fpn_bn += t.key.rfind("backbone.fpn.", 0) == 0 && t.role == "running_var";
      CHECK(t.key != "backbone.fpn.inner_blocks.0.0.bias");
    }
  }
  CHECK(conv0 == 5);
  CHECK(conv1 == 5);
  CHECK(fpn_bn == 8);
  CHECK(node_names.size() == graph.nodes.size());

  const FasterRcnnArch arch = fasterrcnn_defaults("fasterrcnn_resnet50_fpn_v2");
  const Graph head = fasterrcnn_box_head_graph(arch);
  std::vector<std::string> keys;
  for (const Node& n : head.nodes)
    for (const auto& t : n.tensors) keys.push_back(t.key);
  CHECK(std::count(keys.begin(), keys.end(), "roi_heads.box_head.3.1.running_mean") == 1);
  CHECK(std::count(keys.begin(), keys.end(), "roi_heads.box_head.5.weight") == 1);
  CHECK(std::count(keys.begin(), keys.end(), "roi_heads.box_head.0.0.bias") == 0);
  CHECK(std::count(keys.begin(), keys.end(), "roi_heads.box_head.fc6.weight") == 0);
}

TEST_CASE("fasterrcnn_resnet50_fpn family: outputs and shared RPN head weights") {
  const std::string config = std::string(OSPREY_BINARY_DIR) + "/detect_fasterrcnn_family_test.json";
  std::ofstream(config) << R"({"architecture": {"family": "fasterrcnn_resnet50_fpn"}})";
  Graph graph;
  const ModelConfig cfg = read_config(config, &graph);
  std::filesystem::remove(config);
  CHECK(cfg.num_classes == 91);
  std::vector<std::string> names{"0", "1", "2", "3", "pool"};
  for (const char* kind : {"rpn.objectness.", "rpn.deltas."})
    for (int l = 0; l < 5; ++l) names.push_back(cat(kind, l));
  CHECK(graph.output_names == names);
  int shared = 0;
  std::set<std::string> node_names;
  for (const Node& n : graph.nodes) {
    node_names.insert(n.name);
    for (const auto& t : n.tensors) shared += t.key == "rpn.head.conv.0.0.weight";
  }
  CHECK(shared == 5);
  CHECK(node_names.size() == graph.nodes.size());
  CHECK(graph.ignored_key_prefixes == std::vector<std::string>{"roi_heads."});
}
