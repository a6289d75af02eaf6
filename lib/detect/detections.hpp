// What a detector finds in one image, and the final selection every detector shares:
// candidates above a score threshold -> overlap suppression (per class, across classes, or
// soft) -> the best max_detections.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "detect/boxes.hpp"

namespace osprey::detect {

// A binary mask at the size of the image it belongs to: row-major, one byte per pixel, 0 or 1.
struct InstanceMask {
  int64_t height = 0, width = 0;
  std::vector<uint8_t> data;
};

struct Keypoint {
  float x = 0, y = 0;  // image pixels
};

struct Detections {
  std::vector<Box> boxes;
  std::vector<float> scores;    // decreasing
  std::vector<int64_t> labels;  // class ids: indices into the model's labels
  std::vector<InstanceMask> masks;                // instance segmentation: one per box, else empty
  std::vector<std::vector<Keypoint>> keypoints;   // landmark detectors: one list per box, else empty

  size_t size() const { return boxes.size(); }
};

// How overlapping detections are suppressed: NMS per class (torchvision, Darknet,
// Ultralytics' default), NMS across classes, or per class with soft-NMS (Bodla et al. 2017:
// scores decay instead of dropping to 0; decayed scores must stay above score_thresh).
enum class Suppression { PerClass, Agnostic, Soft };

struct SelectionParams {
  float score_thresh = 0.05f;  // soft-NMS: decayed scores must stay strictly above it
  double iou_thresh = 0.5;
  int64_t max_detections = 100;
  Suppression suppression = Suppression::PerClass;
  SoftNmsParams soft;
};

// Suppression over candidates (already filtered by score), then the best max_detections by
// decreasing (possibly decayed) score. Hard NMS is batched_nms / nms (ties: lower index
// first), so the kept set and order are torchvision's.
Detections select_detections(std::span<const Box> boxes, std::span<const float> scores, std::span<const int64_t> labels,
                             const SelectionParams& params);

}  // namespace osprey::detect
