#include "detect/detections.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>

namespace osprey::detect {

namespace {

// Soft-NMS within each class; returns indices by decreasing decayed score and leaves the
// decayed scores in `scores`.
std::vector<int64_t> soft_nms_per_class(std::span<const Box> boxes, std::vector<float>& scores, std::span<const int64_t> labels,
                                        const SelectionParams& params) {
  std::map<int64_t, std::vector<int64_t>> by_class;
  for (size_t i = 0; i < labels.size(); ++i) by_class[labels[i]].push_back(static_cast<int64_t>(i));
  std::vector<std::pair<float, int64_t>> kept;
  for (const auto& [label, members] : by_class) {
    std::vector<Box> b;
    std::vector<float> s;
    for (int64_t i : members) b.push_back(boxes[i]), s.push_back(scores[i]);
    const SoftNmsResult r = soft_nms(b, s, params.soft);
    for (size_t k = 0; k < r.keep.size(); ++k)
      if (r.scores[k] > params.score_thresh) kept.emplace_back(r.scores[k], members[r.keep[k]]);
  }
  std::stable_sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<int64_t> order;
  for (const auto& [score, i] : kept) {
    scores[i] = score;
    order.push_back(i);
  }
  return order;
}

}  // namespace

Detections select_detections(std::span<const Box> boxes, std::span<const float> scores, std::span<const int64_t> labels,
                             const SelectionParams& params) {
  if (scores.size() != boxes.size() || labels.size() != boxes.size())
    throw std::invalid_argument("select_detections: expected as many scores and labels as boxes, got " +
                                std::to_string(boxes.size()) + " boxes, " + std::to_string(scores.size()) + " scores, " +
                                std::to_string(labels.size()) + " labels");
  std::vector<float> s(scores.begin(), scores.end());
  std::vector<int64_t> keep;
  switch (params.suppression) {
    case Suppression::PerClass: keep = batched_nms(boxes, s, labels, params.iou_thresh); break;
    case Suppression::Agnostic: keep = nms(boxes, s, params.iou_thresh); break;
    case Suppression::Soft: keep = soft_nms_per_class(boxes, s, labels, params); break;
  }
  if (params.max_detections >= 0 && static_cast<int64_t>(keep.size()) > params.max_detections)
    keep.resize(static_cast<size_t>(params.max_detections));
  Detections out;
  for (int64_t i : keep) {
    out.boxes.push_back(boxes[i]);
    out.scores.push_back(s[i]);
    out.labels.push_back(labels[i]);
  }
  return out;
}

}  // namespace osprey::detect
