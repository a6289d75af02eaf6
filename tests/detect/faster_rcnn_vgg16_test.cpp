// Faster R-CNN with VGG16 (Ren et al. 2015; family fasterrcnn_vgg16, configs/fasterrcnn_vgg16.json)
// against tools/reference_models.fasterrcnn_vgg16 on torchvision 0.14, seeded weights
// (make_detect_references.py, DIR/vgg16/): end to end on dog.jpg (float tensor input) at
// min_size 384 / max_size 640 with 300 proposals, and Fast R-CNN (the same heads on given
// proposals, no RPN) against torchvision's roi_heads on the same proposals.
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.hpp"
#include "detect/faster_rcnn.hpp"
#include "engine/graph.hpp"
#include "model/model.hpp"
#include "references.hpp"

using namespace osprey;
using namespace osprey::detect;
using namespace osprey::detect::test;

namespace {

const std::string kConfig = std::string(OSPREY_SOURCE_DIR) + "/configs/fasterrcnn_vgg16.json";

std::vector<Box> boxes_of(const Tensor& t) { return t.data.empty() ? std::vector<Box>{} : boxes_from_tensor(t); }

// One detector for the cases of this file (loading binds ~540 MB of weights).
FasterRcnn& vgg16_detector(const Case& c) {
  static std::unique_ptr<FasterRcnn> detector = [&] {
    FasterRcnnParams params;
    params.transform.min_size = c.params.at("min_size");
    params.transform.max_size = c.params.at("max_size");
    params.rpn.post_nms_top_n = c.params.at("post_nms_top_n");
    return FasterRcnn::load(kConfig, std::string(OSPREY_DETECT_REFS) + "/" + c.params.at("weights").get<std::string>(), params);
  }();
  return *detector;
}

void check_detections(const Detections& d, const Case& c) {
  const std::vector<Box> want = boxes_of(c.array("boxes0"));
  CHECK(d.boxes.size() == c.params.at("detections").at(0).get<size_t>());
  REQUIRE(d.boxes.size() == want.size());
  const double box_err = max_abs_error(flatten(d.boxes), flatten(want));
  const double score_err = max_abs_error(d.scores, c.floats("scores0"));
  const bool labels_equal = d.labels == c.indices("labels0");
  MESSAGE(c.name, ": ", d.boxes.size(), " detections, max box error ", box_err, " px, max score error ", score_err, ", labels ",
          std::string(labels_equal ? "equal" : "DIFFER"));
  CHECK(labels_equal);
  CHECK(box_err <= 0.01);
  CHECK(score_err <= 1e-4);
}

}  // namespace

TEST_CASE("fasterrcnn_vgg16 family: C5 backbone and one RPN level with 9 anchors") {
  Graph graph;
  const ModelConfig cfg = read_config(kConfig, &graph);
  CHECK(cfg.task == "detect");
  CHECK(cfg.num_classes == 21);
  REQUIRE(cfg.labels.size() == 21);
  CHECK(cfg.labels.front() == "__background__");
  CHECK(cfg.labels.back() == "tvmonitor");
  CHECK(graph.output_names == std::vector<std::string>{"0", "rpn.objectness.0", "rpn.deltas.0"});
  std::set<std::string> keys;
  for (const Node& n : graph.nodes)
    for (const auto& t : n.tensors) keys.insert(t.key);
  CHECK(keys.count("backbone.features.28.weight") == 1);  // conv5_3
  CHECK(keys.count("backbone.features.30.weight") == 0);  // no classifier-side layers
  CHECK(keys.count("rpn.head.cls_logits.weight") == 1);
  CHECK(graph.ignored_key_prefixes == std::vector<std::string>{"roi_heads."});
  const FasterRcnnArch arch = fasterrcnn_arch_of_config(kConfig);
  CHECK(arch.anchors_per_location() == 9);
  CHECK(arch.min_size == 600);
  CHECK(arch.max_size == 1000);
  CHECK(arch.pooler == FasterRcnnArch::Pooler::RoiPool);
  const Graph head = fasterrcnn_box_head_graph(arch);
  CHECK(head.output_names == std::vector<std::string>{"class_logits", "box_regression"});
}

TEST_CASE("fasterrcnn_vgg16 matches torchvision end to end on dog.jpg") {
  const Case c = cases_of("faster_rcnn_vgg16").at(0);
  FasterRcnn& detector = vgg16_detector(c);
  const Tensor image = c.array("image0");
  FasterRcnn::Trace trace;
  const std::vector<Detections> got = detector.detect(std::span<const Tensor>(&image, 1), &trace);
  const Tensor batch = c.array("batch");
  REQUIRE(trace.batch.tensor.shape == batch.shape);
  CHECK(max_abs_error(trace.batch.tensor.data, batch.data) <= 1e-5);
  // Proposals: the same boxes by decreasing score (near-equal scores may swap).
  const std::vector<Box> want = boxes_of(c.array("proposals0"));
  const std::vector<float> want_scores = c.floats("proposal_scores0");
  const Proposals& p = trace.proposals.at(0);
  REQUIRE(p.boxes.size() == want.size());
  int64_t differ = 0;
  double worst = 0, score_err = 0;
  for (size_t j = 0; j < want.size(); ++j) {
    score_err = std::max(score_err, double(std::abs(p.scores[j] - want_scores[j])));
    const double e = max_abs_error(flatten({p.boxes[j]}), flatten({want[j]}));
    if (e > 0.01) ++differ;
    else worst = std::max(worst, e);
  }
  MESSAGE(want.size(), " proposals, ", differ, " differ by more than 0.01 px (swapped near-ties); max box error of the rest ",
          worst, " px, max score error ", score_err);
  CHECK(differ <= 4);
  CHECK(score_err <= 1e-4);
  REQUIRE(got.size() == 1);
  check_detections(got[0], c);
}

TEST_CASE("fast rcnn with VGG16: the heads on given proposals match torchvision's roi_heads") {
  const Case c = cases_of("fast_rcnn_vgg16").at(0);
  FasterRcnn& detector = vgg16_detector(c);
  const Tensor image = c.array("image0");
  const std::vector<std::vector<Box>> given{boxes_of(c.array("given0"))};
  FasterRcnn::Trace trace;
  const std::vector<Detections> got = detector.detect(std::span<const Tensor>(&image, 1), given, &trace);
  CHECK(trace.proposals.at(0).boxes.size() == given[0].size());
  CHECK(trace.proposals.at(0).scores.empty());
  REQUIRE(got.size() == 1);
  check_detections(got[0], c);
  CHECK_THROWS_AS(detector.detect(std::span<const Tensor>(&image, 1), std::span<const std::vector<Box>>{}), std::invalid_argument);
}

TEST_CASE("osprey-detect --proposals runs fast rcnn with the VGG16 config") {
  namespace fs = std::filesystem;
  const Case c = cases_of("fast_rcnn_vgg16").at(0);
  const fs::path dir = fs::path(OSPREY_BINARY_DIR) / "detect_cli" / "proposals";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string photos = std::string(OSPREY_SOURCE_DIR) + "/assets/photos/darknet";
  std::ofstream(dir / "proposals.json") << R"({"dog.jpg": [[100, 100, 400, 500], [120, 80, 600, 400], [0, 0, 768, 576], [300, 50, 700, 250]]})";
  std::ofstream(dir / "bad.json") << R"({"dog.jpg": [[1, 2, 3]]})";
  auto run = [&](const std::string& args) {
    const std::string cmd = std::string(OSPREY_DETECT) + " -m '" + kConfig + "' --weights '" + OSPREY_DETECT_REFS + "/" +
                            c.params.at("weights").get<std::string>() + "' --threads 2 " + args + " >'" +
                            (dir / "out.jsonl").string() + "' 2>'" + (dir / "err.txt").string() + "'";
    const int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  // dog.jpg has proposals, person.jpg none: one result, one error line.
  CHECK(run("'" + photos + "/dog.jpg' '" + photos + "/person.jpg' --proposals '" + (dir / "proposals.json").string() + "'") == 1);
  std::ifstream in(dir / "out.jsonl");
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["model"] == "fasterrcnn_vgg16");
  REQUIRE(lines[0].contains("detections"));
  CHECK(!lines[0]["detections"].empty());
  for (const auto& d : lines[0]["detections"]) {
    CHECK(d["box"][2].get<double>() <= 768);
    CHECK(d["box"][3].get<double>() <= 576);
    CHECK(d["label"] != "__background__");
  }
  CHECK(lines[1].contains("error"));
  CHECK(run("'" + photos + "/dog.jpg' --proposals '" + (dir / "bad.json").string() + "'") == 2);
}
