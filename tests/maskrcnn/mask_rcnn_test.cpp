// Mask R-CNN (maskrcnn_resnet50_fpn and _v2) against torchvision 0.14 end to end on seeded
// weights (make_maskrcnn_references.py): darknet's dog.jpg as a float tensor at min_size 320
// / max_size 533. Detections as in the Faster R-CNN parity test (same labels, boxes within
// 0.01 px, scores within 1e-4); maskrcnn_inference's 28 x 28 probabilities within 1e-4;
// the pasted float masks within 1e-4 wherever both paste at the same integer box; the binary
// masks (> 0.5) with IoU >= 0.99 against torchvision's for every detection. Then the detector
// registry: kind "mask_rcnn" from a shipped config, strict "detector" object.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "detect/detector.hpp"
#include "detect/mask_rcnn.hpp"
#include "detect/paste_masks.hpp"
#include "model/model.hpp"
#include "references.hpp"

using namespace osprey;
using namespace osprey::detect;
using namespace osprey::detect::test;

namespace {

namespace fs = std::filesystem;

// A config file for the duration of a test.
struct TempConfig {
  fs::path path;
  explicit TempConfig(const nlohmann::json& doc, const std::string& tag = "")
      : path(fs::temp_directory_path() / cat("osprey_mask_rcnn_", getpid(), tag, ".json")) {
    std::ofstream(path) << doc.dump(1);
  }
  ~TempConfig() { fs::remove(path); }
};

nlohmann::json config_of(const MaskCase& c) {
  nlohmann::json doc;
  doc["name"] = c.params.at("family").get<std::string>() + "_test";
  doc["architecture"] = {{"family", c.params.at("family")},     {"bn_eps", c.params.at("bn_eps")},
                         {"num_classes", c.params.at("num_classes")}, {"min_size", c.params.at("min_size")},
                         {"max_size", c.params.at("max_size")}};
  return doc;
}

void check_parity(const MaskCase& c) {
  const TempConfig config(config_of(c));
  auto detector = MaskRcnn::load(config.path.string(), c.path("weights"));
  const Tensor image = c.array("image0");
  MaskRcnn::Trace trace;
  const std::vector<Detections> got = detector->detect(std::span<const Tensor>(&image, 1), &trace);
  REQUIRE(got.size() == 1);
  const Detections& d = got[0];
  const std::vector<Box> want_boxes = c.boxes("boxes0");
  const Tensor want_scores = c.array("scores0"), want_labels = c.array("labels0");
  REQUIRE(d.size() == want_boxes.size());
  REQUIRE(d.size() > 10);
  double box_err = 0, score_err = 0;
  bool labels_equal = true;
  for (size_t i = 0; i < d.size(); ++i) {
    const Box &a = d.boxes[i], &b = want_boxes[i];
    box_err = std::max({box_err, double(std::abs(a.x1 - b.x1)), double(std::abs(a.y1 - b.y1)), double(std::abs(a.x2 - b.x2)),
                        double(std::abs(a.y2 - b.y2))});
    score_err = std::max(score_err, double(std::abs(d.scores[i] - want_scores.data[i])));
    labels_equal &= d.labels[i] == static_cast<int64_t>(want_labels.data[i]);
  }
  // maskrcnn_inference's probabilities.
  const Tensor want_probs = c.array("mask_probs0");
  REQUIRE(trace.mask_probs.size() == 1);
  REQUIRE(trace.mask_probs[0].shape == want_probs.shape);
  double prob_err = 0;
  for (size_t i = 0; i < want_probs.data.size(); ++i)
    prob_err = std::max(prob_err, std::abs(double(trace.mask_probs[0].data[i]) - double(want_probs.data[i])));
  // Pasted masks: float probabilities and binary IoU per detection.
  const Tensor want_masks = c.array("masks0");
  REQUIRE(trace.pasted.size() == 1);
  REQUIRE(trace.pasted[0].shape == want_masks.shape);
  REQUIRE(d.masks.size() == d.size());
  const int64_t h = image.shape[1], w = image.shape[2], plane = h * w;
  double pasted_err = 0, worst_iou = 1;
  int64_t same_box = 0, foreground = 0;
  for (size_t i = 0; i < d.size(); ++i) {
    const InstanceMask& m = d.masks[i];
    REQUIRE(m.height == h);
    REQUIRE(m.width == w);
    const float* got_p = trace.pasted[0].data.data() + static_cast<int64_t>(i) * plane;
    const float* want_p = want_masks.data.data() + static_cast<int64_t>(i) * plane;
    int64_t inter = 0, uni = 0;
    for (int64_t j = 0; j < plane; ++j) {
      const bool a = m.data[static_cast<size_t>(j)] != 0, b = want_p[j] > 0.5f;
      CHECK_MESSAGE(a == (got_p[j] > 0.5f), "binary mask and float probabilities disagree");
      inter += a && b;
      uni += a || b;
    }
    foreground += inter;
    const double iou = uni ? double(inter) / double(uni) : 1.0;
    worst_iou = std::min(worst_iou, iou);
    CHECK_MESSAGE(iou >= 0.99, "detection ", i, ": mask IoU ", iou);
    // The float masks are compared where both sides paste at the same integer box (a box
    // within 0.01 px of torchvision's may still round to a different pixel).
    const PixelBox ours = expand_box(d.boxes[i], 16.0f / 14.0f), theirs = expand_box(want_boxes[i], 16.0f / 14.0f);
    if (ours.x1 == theirs.x1 && ours.y1 == theirs.y1 && ours.x2 == theirs.x2 && ours.y2 == theirs.y2) {
      ++same_box;
      for (int64_t j = 0; j < plane; ++j) pasted_err = std::max(pasted_err, std::abs(double(got_p[j]) - double(want_p[j])));
    }
  }
  MESSAGE(c.name, ": ", d.size(), " detections, max box error ", box_err, " px, max score error ", score_err,
          ", 28x28 probabilities max error ", prob_err, ", pasted probabilities max error ", pasted_err, " (", same_box, " of ",
          d.size(), " at the same integer box), worst mask IoU ", worst_iou, " (", foreground, " foreground pixels)");
  CHECK(labels_equal);
  CHECK(box_err <= 0.01);
  CHECK(score_err <= 1e-4);
  CHECK(prob_err <= 1e-4);
  CHECK(pasted_err <= 1e-4);
  CHECK(same_box >= static_cast<int64_t>(d.size()) - 2);
  CHECK(foreground > 0);
}

const MaskCase& case_named(const std::string& name) {
  static const std::vector<MaskCase> cases = mask_cases_of("mask_rcnn");
  for (const MaskCase& c : cases)
    if (c.name == name) return c;
  FAIL("no reference case ", name);
  return cases.front();
}

}  // namespace

TEST_CASE("maskrcnn_resnet50_fpn matches torchvision end to end") { check_parity(case_named("maskrcnn_resnet50_fpn")); }

TEST_CASE("maskrcnn_resnet50_fpn_v2 matches torchvision end to end") { check_parity(case_named("maskrcnn_resnet50_fpn_v2")); }

TEST_CASE("load_detector runs the shipped maskrcnn config as kind mask_rcnn") {
  const MaskCase& c = case_named("maskrcnn_resnet50_fpn");
  DetectorOptions options;
  options.max_detections = 5;
  auto detector = load_detector(std::string(OSPREY_SOURCE_DIR) + "/configs/maskrcnn_resnet50_fpn.json", c.path("weights"), options);
  REQUIRE(dynamic_cast<MaskRcnn*>(detector.get()) != nullptr);
  CHECK(detector->config().labels.size() == 91);
  const Tensor image = c.array("image0");
  const std::vector<Detections> got = detector->detect(std::span<const Tensor>(&image, 1));
  REQUIRE(got.size() == 1);
  CHECK(got[0].size() == 5);
  REQUIRE(got[0].masks.size() == got[0].size());
  for (const InstanceMask& m : got[0].masks) {
    CHECK(m.height == image.shape[1]);
    CHECK(m.width == image.shape[2]);
    CHECK(std::all_of(m.data.begin(), m.data.end(), [](uint8_t v) { return v <= 1; }));
  }
}

TEST_CASE("mask_rcnn configs are read strictly") {
  const MaskCase& c = case_named("maskrcnn_resnet50_fpn");
  nlohmann::json doc = config_of(c);
  doc["detector"] = {{"kind", "mask_rcnn"}, {"mask_threshold", 0.5}, {"mask_treshold", 0.3}};
  {
    const TempConfig config(doc, "_typo");
    CHECK_THROWS_AS(load_detector(config.path.string(), c.path("weights")), ModelError);
  }
  doc["detector"] = {{"kind", "mask_rcnn"}, {"mask_threshold", 1.5}};
  {
    const TempConfig config(doc, "_range");
    CHECK_THROWS_AS(load_detector(config.path.string(), c.path("weights")), ModelError);
  }
  // A Faster R-CNN family is not a Mask R-CNN, and Mask R-CNN weights do not fit a Faster R-CNN config.
  doc.erase("detector");
  doc["architecture"]["family"] = "fasterrcnn_resnet50_fpn";
  {
    const TempConfig config(doc, "_faster");
    CHECK_THROWS_AS(MaskRcnn::load(config.path.string(), c.path("weights")), ModelError);
    CHECK_THROWS_AS(load_detector(config.path.string(), c.path("weights")), ModelError);
  }
}

namespace {

// The top-left h x w of a [3, H, W] image.
Tensor crop(const Tensor& image, int64_t h, int64_t w) {
  Tensor out({3, h, w});
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < h; ++y)
      std::copy_n(image.data.begin() + (c * image.shape[1] + y) * image.shape[2], w, out.data.begin() + (c * h + y) * w);
  return out;
}

double mask_iou(const InstanceMask& a, const InstanceMask& b) {
  int64_t inter = 0, uni = 0;
  for (size_t i = 0; i < a.data.size(); ++i) {
    inter += a.data[i] && b.data[i];
    uni += a.data[i] || b.data[i];
  }
  return uni ? double(inter) / double(uni) : 1.0;
}

}  // namespace

TEST_CASE("mask_rcnn pastes each image of a batch into its own size") {
  const MaskCase& c = case_named("maskrcnn_resnet50_fpn");
  const TempConfig config(config_of(c), "_batch");
  auto detector = MaskRcnn::load(config.path.string(), c.path("weights"));
  const Tensor dog = c.array("image0");
  const std::vector<Tensor> images{dog, crop(dog, 301, 397)};
  const std::vector<Detections> batch = detector->detect(images);
  const std::vector<Detections> alone = detector->detect(std::span<const Tensor>(&images[1], 1));
  REQUIRE(batch.size() == 2);
  REQUIRE(alone.size() == 1);
  // The first image as in the parity test; the second as when it runs alone (the batch only
  // pads it with more zeros).
  CHECK(batch[0].size() == c.params.at("detections").at(0).get<size_t>());
  REQUIRE(batch[1].size() == alone[0].size());
  REQUIRE(batch[1].size() > 0);
  double worst = 1;
  for (size_t i = 0; i < alone[0].size(); ++i) {
    CHECK(batch[1].masks[i].height == 301);
    CHECK(batch[1].masks[i].width == 397);
    worst = std::min(worst, mask_iou(batch[1].masks[i], alone[0].masks[i]));
  }
  MESSAGE("second image: ", alone[0].size(), " detections, worst mask IoU batched vs alone ", worst);
  CHECK(worst >= 0.99);
}

TEST_CASE("mask_rcnn without detections gives no masks") {
  const MaskCase& c = case_named("maskrcnn_resnet50_fpn");
  const TempConfig config(config_of(c), "_none");
  DetectorOptions options;
  options.score_thresh = 1.0f;  // softmax scores never exceed it
  auto detector = load_detector(config.path.string(), c.path("weights"), options);
  const Tensor dog = c.array("image0");
  const std::vector<Detections> got = detector->detect(std::span<const Tensor>(&dog, 1));
  REQUIRE(got.size() == 1);
  CHECK(got[0].size() == 0);
  CHECK(got[0].masks.empty());
}
