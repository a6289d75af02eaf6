// Box operations and NMS against torchvision.ops (references: make_detect_references.py).
// Kept indices must be identical, order included (ties: lower index first, as torchvision's
// stable sort); values within 1e-5 relative (|err| / max(|ref|, 1)). Soft-NMS is checked
// against the reference script's direct implementation of the paper's formulas.
#include <chrono>
#include <numeric>
#include <stdexcept>

#include "detect/boxes.hpp"
#include "references.hpp"

using namespace osprey;
using namespace osprey::detect;
using namespace osprey::detect::test;

namespace {

// torchvision's per-class batched_nms (used above 1000 boxes) orders the kept boxes with
// torch.sort, which is not stable: equal scores may come in any order. So where scores tie:
// the same set, the same scores in the same order, and Osprey's ties in index order.
void check_same_but_ties(const std::vector<int64_t>& keep, const std::vector<int64_t>& want,
                         const std::vector<float>& scores) {
  auto sorted_keep = keep, sorted_want = want;
  std::sort(sorted_keep.begin(), sorted_keep.end());
  std::sort(sorted_want.begin(), sorted_want.end());
  CHECK(sorted_keep == sorted_want);
  REQUIRE(keep.size() == want.size());
  for (size_t i = 0; i < keep.size(); ++i) CHECK(scores[size_t(keep[i])] == scores[size_t(want[i])]);
  for (size_t i = 1; i < keep.size(); ++i)
    if (scores[size_t(keep[i])] == scores[size_t(keep[i - 1])]) CHECK(keep[i] > keep[i - 1]);
}

}  // namespace

TEST_CASE("box_iou and box_area match torchvision") {
  for (const Case& c : cases_of("box_iou")) {
    CAPTURE(c.name);
    const Tensor want = c.array("iou");
    const Tensor got = box_iou(c.boxes("a"), c.boxes("b"));
    CHECK(got.shape == want.shape);
    const double err = max_relative_error(got.data, want.data);
    MESSAGE(c.name, ": max relative error ", err);
    CHECK(err >= 0);
    CHECK(err <= 1e-5);
  }
  for (const Case& c : cases_of("box_area")) {
    const double err = max_relative_error(box_area(c.boxes("boxes")), c.floats("area"));
    CHECK(err >= 0);
    CHECK(err <= 1e-5);
  }
}

TEST_CASE("clip_boxes_to_image and remove_small_boxes match torchvision") {
  for (const Case& c : cases_of("clip")) {
    CAPTURE(c.name);
    const auto got = clip_boxes_to_image(c.boxes("boxes"), c.params["height"], c.params["width"]);
    CHECK(flatten(got) == c.floats("clipped"));  // clamping is exact
  }
  for (const Case& c : cases_of("remove_small")) {
    CAPTURE(c.name);
    CHECK(remove_small_boxes(c.boxes("boxes"), c.params["min_size"].get<float>()) == c.indices("keep"));
  }
}

TEST_CASE("nms keeps the same indices as torchvision") {
  for (const Case& c : cases_of("nms")) {
    CAPTURE(c.name);
    const auto boxes = c.boxes("boxes");
    const auto scores = c.floats("scores");
    const auto t0 = std::chrono::steady_clock::now();
    const auto keep = nms(boxes, scores, c.params["iou_threshold"].get<double>());
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    MESSAGE(c.name, ": ", boxes.size(), " boxes, ", keep.size(), " kept, ", ms, " ms");
    CHECK(keep == c.indices("keep"));
  }
}

TEST_CASE("nms on 20k overlapping boxes is fast") {
  for (const Case& c : cases_of("nms")) {
    if (c.name.rfind("nms_20k", 0) != 0) continue;
    const auto boxes = c.boxes("boxes");
    const auto scores = c.floats("scores");
    const double iou = c.params["iou_threshold"].get<double>();
    double best = 1e9;
    for (int rep = 0; rep < 5; ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      const auto keep = nms(boxes, scores, iou);
      best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      CHECK(keep.size() == c.indices("keep").size());
    }
    MESSAGE(c.name, ": best of 5 ", best, " ms");
    CHECK(best < 500.0);  // loose: a shared 2-core machine; typical is far below
  }
}

TEST_CASE("batched_nms keeps the same indices as torchvision") {
  for (const Case& c : cases_of("batched_nms")) {
    CAPTURE(c.name);
    const auto boxes = c.boxes("boxes");
    const auto scores = c.floats("scores");
    const auto ids = c.indices("ids");
    const double iou = c.params["iou_threshold"].get<double>();
    const auto keep = batched_nms(boxes, scores, ids, iou);
    const auto want = c.indices("keep");
    MESSAGE(c.name, ": ", boxes.size(), " boxes, ", keep.size(), " kept");
    if (!c.params["unstable_ties"].get<bool>())
      CHECK(keep == want);
    else
      check_same_but_ties(keep, want, scores);
    // The method torchvision did not choose for this size, against its own implementation.
    if (c.has("keep_per_class"))  // (these scores have ties)
      check_same_but_ties(batched_nms(boxes, scores, ids, iou, BatchedNmsMethod::PerClass), c.indices("keep_per_class"),
                          scores);
    if (c.has("keep_offset"))
      CHECK(batched_nms(boxes, scores, ids, iou, BatchedNmsMethod::CoordinateOffset) == c.indices("keep_offset"));
  }
}

TEST_CASE("soft_nms matches the paper's formulas") {
  for (const Case& c : cases_of("soft_nms")) {
    CAPTURE(c.name);
    SoftNmsParams p;
    p.method = c.params["method"] == "linear" ? SoftNmsMethod::Linear : SoftNmsMethod::Gaussian;
    p.sigma = c.params["sigma"].get<float>();
    p.iou_threshold = c.params["iou_threshold"].get<float>();
    p.score_threshold = c.params["score_threshold"].get<float>();
    const auto result = soft_nms(c.boxes("boxes"), c.floats("scores"), p);
    CHECK(result.keep == c.indices("keep"));
    const double err = max_relative_error(result.scores, c.floats("kept_scores"));
    MESSAGE(c.name, ": ", result.keep.size(), " kept, max relative score error ", err);
    CHECK(err >= 0);
    CHECK(err <= 1e-5);
  }
}

TEST_CASE("nms hand-computed cases") {
  // IoU of [0,0,10,10] and [5,0,15,10] is 50 / 150 = 1/3: suppressed above 0.3, kept at 1/3
  // itself (strictly greater suppresses) and above.
  const std::vector<Box> boxes = {{0, 0, 10, 10}, {5, 0, 15, 10}, {20, 20, 30, 30}};
  const std::vector<float> scores = {0.9f, 0.8f, 0.95f};
  CHECK(nms(boxes, scores, 0.3) == std::vector<int64_t>{2, 0});
  CHECK(nms(boxes, scores, 1.0 / 3.0 + 1e-6) == std::vector<int64_t>{2, 0, 1});
  CHECK(nms(boxes, scores, 0.5) == std::vector<int64_t>{2, 0, 1});
  // Equal scores: the lower index wins and comes first.
  const std::vector<Box> same = {{0, 0, 10, 10}, {1, 0, 11, 10}, {0, 0, 10, 10}};
  CHECK(nms(same, std::vector<float>{0.5f, 0.5f, 0.5f}, 0.5) == std::vector<int64_t>{0});
  CHECK(nms(same, std::vector<float>{0.5f, 0.5f, 0.5f}, 0.95) == std::vector<int64_t>{0, 1});
  // Different classes never suppress each other.
  CHECK(batched_nms(same, std::vector<float>{0.5f, 0.6f, 0.5f}, std::vector<int64_t>{0, 1, 0}, 0.5) ==
        std::vector<int64_t>{1, 0});
  CHECK(nms({}, {}, 0.5).empty());
  // box_iou: 1/3 and 0, and NaN for two zero-area boxes (0 / 0, as torchvision).
  const Tensor iou = box_iou(boxes, std::vector<Box>{{5, 0, 15, 10}});
  CHECK(iou.shape == Shape{3, 1});
  CHECK(iou.data[0] == doctest::Approx(1.0 / 3.0));
  CHECK(iou.data[2] == 0.0f);
  CHECK(std::isnan(box_iou(std::vector<Box>{{1, 1, 1, 1}}, std::vector<Box>{{1, 1, 1, 1}}).data[0]));
}

TEST_CASE("soft_nms hand-computed cases") {
  // Two boxes with IoU 1/3 (see above) and a far one.
  const std::vector<Box> boxes = {{0, 0, 10, 10}, {5, 0, 15, 10}, {20, 20, 30, 30}};
  const std::vector<float> scores = {0.9f, 0.8f, 0.7f};
  SoftNmsParams linear{SoftNmsMethod::Linear, 0.5f, 0.3f, 0.001f};
  auto r = soft_nms(boxes, scores, linear);
  // 0.8 * (1 - 1/3) = 0.5333 falls below the untouched 0.7.
  CHECK(r.keep == std::vector<int64_t>{0, 2, 1});
  CHECK(r.scores[2] == doctest::Approx(0.8 * 2.0 / 3.0));
  linear.iou_threshold = 0.5f;  // IoU below N_t: unchanged
  r = soft_nms(boxes, scores, linear);
  CHECK(r.keep == std::vector<int64_t>{0, 1, 2});
  CHECK(r.scores[1] == doctest::Approx(0.8));
  SoftNmsParams gaussian{SoftNmsMethod::Gaussian, 0.5f, 0.3f, 0.001f};
  r = soft_nms(boxes, scores, gaussian);  // 0.8 * exp(-(1/9) / 0.5) = 0.64 < 0.7
  CHECK(r.keep == std::vector<int64_t>{0, 2, 1});
  CHECK(r.scores[2] == doctest::Approx(0.8 * std::exp(-(1.0 / 9.0) / 0.5)));
  gaussian.score_threshold = 0.75f;  // the rescored box drops out, the far one too
  r = soft_nms(boxes, scores, gaussian);
  CHECK(r.keep == std::vector<int64_t>{0});
}

TEST_CASE("box operations reject malformed arguments") {
  const std::vector<Box> boxes(3);
  CHECK_THROWS_AS(nms(boxes, std::vector<float>(2), 0.5), std::invalid_argument);
  CHECK_THROWS_AS(batched_nms(boxes, std::vector<float>(3), std::vector<int64_t>(4), 0.5), std::invalid_argument);
  CHECK_THROWS_AS(boxes_from_tensor(Tensor({2, 5}, std::vector<float>(10))), std::invalid_argument);
  SoftNmsParams bad;
  bad.sigma = 0;
  CHECK_THROWS_AS(soft_nms(boxes, std::vector<float>(3, 0.5f), bad), std::invalid_argument);
  try {
    nms(boxes, std::vector<float>(2), 0.5);
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()) == "expected one score per box (3), got 2");
  }
}
