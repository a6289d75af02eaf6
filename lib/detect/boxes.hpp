// Boxes and the operations on sets of them: area, IoU, clipping, filtering, NMS.
//
// The box contract, for everything in lib/detect (as torchvision.ops):
//   - A box is (x1, y1, x2, y2) in pixels of the image it refers to, x2 >= x1 and y2 >= y1
//     expected but not required; width = x2 - x1 and height = y2 - y1 (no +1: a box from
//     10 to 20 is 10 wide). Pixel centres are at integer + 0.5 where that matters (RoIAlign
//     with aligned = true).
//   - Functions returning indices return int64 positions into the input, in decreasing
//     order of score; equal scores keep their input order (stable: lower index first).
//     Filters that have no score (remove_small_boxes) return increasing indices.
//   - NMS suppresses a box when its IoU with a kept, higher-ranked box is strictly greater
//     than the threshold. IoU of two zero-area boxes is 0/0 = NaN, which suppresses nothing.
//   - Arithmetic is float32 in torchvision's order of operations, so kept indices are the
//     same as torchvision's, not merely close.
// Arguments are validated first; a violation throws std::invalid_argument saying
// "expected X, got Y".
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/tensor.hpp"

namespace osprey::detect {

struct Box {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
};

// [N, 4] tensor <-> boxes.
std::vector<Box> boxes_from_tensor(const Tensor& boxes);
Tensor boxes_to_tensor(std::span<const Box> boxes);

// (x2 - x1) * (y2 - y1); negative for inverted boxes, as torchvision.
float box_area(const Box& box);
std::vector<float> box_area(std::span<const Box> boxes);

// IoU matrix [N, M] (row-major in the returned Tensor): inter / (area_a + area_b - inter).
Tensor box_iou(std::span<const Box> a, std::span<const Box> b);

// Coordinates clamped to [0, width] (x) and [0, height] (y).
std::vector<Box> clip_boxes_to_image(std::span<const Box> boxes, int64_t height, int64_t width);

// Indices (increasing) of the boxes whose width and height are both >= min_size.
std::vector<int64_t> remove_small_boxes(std::span<const Box> boxes, float min_size);

// Greedy NMS: indices of the kept boxes, by decreasing score (ties: lower index first).
// torchvision.ops.nms. NaN scores rank above all others (as torch.sort).
std::vector<int64_t> nms(std::span<const Box> boxes, std::span<const float> scores, double iou_threshold);

// How batched_nms keeps classes apart. Both give the same kept set up to float rounding:
// the offset trick moves boxes by class_id * (max coordinate + 1), which rounds their
// coordinates (and is wrong for boxes with negative coordinates); the per-class loop does not.
enum class BatchedNmsMethod {
  Auto,              // as torchvision: CoordinateOffset up to 1000 boxes, PerClass above
  PerClass,          // NMS per class, then all kept sorted by score (stable)
  CoordinateOffset,  // one NMS over class-offset boxes
};

// NMS within each class (boxes of different classes never suppress each other).
// torchvision.ops.batched_nms with method Auto. Order: decreasing score, ties by lower index.
std::vector<int64_t> batched_nms(std::span<const Box> boxes, std::span<const float> scores,
                                 std::span<const int64_t> class_ids, double iou_threshold,
                                 BatchedNmsMethod method = BatchedNmsMethod::Auto);

// Soft-NMS (Bodla, Singh, Chellappa, Davis, "Soft-NMS -- Improving Object Detection With One
// Line of Code", ICCV 2017, Algorithm 1). Repeatedly take the highest current score M (ties:
// lower index), then rescore every remaining box b by
//   linear:   s *= 1 - IoU(M, b)               if IoU(M, b) >= iou_threshold (paper's N_t)
//   gaussian: s *= exp(-IoU(M, b)^2 / sigma)   for every b
// A box whose current score falls below score_threshold is dropped (never taken).
// IoU is computed in double; a zero union gives IoU 0 here (not NaN).
enum class SoftNmsMethod { Linear, Gaussian };

struct SoftNmsParams {
  SoftNmsMethod method = SoftNmsMethod::Gaussian;
  float sigma = 0.5f;             // gaussian only (paper: 0.5)
  float iou_threshold = 0.3f;     // linear only (paper's N_t)
  float score_threshold = 0.001f;
};

struct SoftNmsResult {
  std::vector<int64_t> keep;  // in the order taken (non-increasing updated score)
  std::vector<float> scores;  // each kept box's score when it was taken
};

SoftNmsResult soft_nms(std::span<const Box> boxes, std::span<const float> scores, const SoftNmsParams& params);

}  // namespace osprey::detect
