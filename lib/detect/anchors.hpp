// Anchor (prior box) generators for region proposal networks. An anchor set is computed
// once per level as "cell anchors" centred on the origin, then shifted to every feature-map
// position (row-major over the map, all cell anchors of a position together: index =
// (y * grid_w + x) * A + a, as torchvision and py-faster-rcnn order them).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "detect/boxes.hpp"

namespace osprey::detect {

struct GridSize {
  int64_t height = 0, width = 0;
};

// Cell anchors shifted over a grid: position (y, x) adds (x * stride_w, y * stride_h) to
// both corners (the cell anchors are centred on the top-left corner of each stride cell).
std::vector<Box> shift_anchors(std::span<const Box> cell_anchors, GridSize grid, int64_t stride_h, int64_t stride_w);

// torchvision.models.detection.anchor_utils.AnchorGenerator. Level l has
// sizes[l].size() * aspect_ratios[l].size() anchors per position, ratio-major: for each
// aspect ratio r (= height / width), for each size s:
//   h = sqrt(r) * s, w = s / sqrt(r), anchor = round((-w, -h, w, h) / 2)
// in float32, round half to even (torch.round). The stride of a level is
// image size // feature size, per axis (integer division).
class AnchorGenerator {
 public:
  // One list of sizes and one of aspect ratios per feature level.
  AnchorGenerator(std::vector<std::vector<float>> sizes, std::vector<std::vector<float>> aspect_ratios);

  size_t num_levels() const { return cell_anchors_.size(); }
  size_t num_anchors_per_location(size_t level) const { return cell_anchors_.at(level).size(); }
  const std::vector<Box>& cell_anchors(size_t level) const { return cell_anchors_.at(level); }

  // Anchors of all levels, concatenated level after level, for an image (the padded batch
  // tensor's size, as torchvision) whose feature maps have the given sizes.
  std::vector<Box> generate(GridSize image, std::span<const GridSize> feature_maps) const;

 private:
  std::vector<std::vector<Box>> cell_anchors_;
};

// torchvision's cell anchors for one level (see AnchorGenerator).
std::vector<Box> torchvision_cell_anchors(std::span<const float> sizes, std::span<const float> aspect_ratios);

inline constexpr float kFasterRcnnRatios[] = {0.5f, 1.0f, 2.0f};
inline constexpr float kFasterRcnnScales[] = {8.0f, 16.0f, 32.0f};

// The original Faster R-CNN anchors (Ren et al. 2015; py-faster-rcnn
// lib/rpn/generate_anchors.py), which use the "+1" pixel convention: a box
// (x1, y1, x2, y2) covers pixels x1..x2 inclusive, width = x2 - x1 + 1, centre
// x1 + 0.5 * (width - 1). Starting from the base box (0, 0, base_size - 1, base_size - 1):
//   for each ratio r (= height / width):  w = round(sqrt(base_size^2 / r)), h = round(w * r)
//   for each scale s:                     (w * s, h * s) around the base centre
//   anchor = (cx - 0.5 (W - 1), cy - 0.5 (H - 1), cx + 0.5 (W - 1), cy + 0.5 (H - 1))
// rounding half to even (np.round), computed in double; ratio-major, then scale.
// Defaults give the 9 anchors at stride 16, e.g. (-84, -40, 99, 55) first.
// The returned boxes keep the +1 convention (width = x2 - x1 + 1).
std::vector<Box> faster_rcnn_cell_anchors(float base_size = 16, std::span<const float> ratios = kFasterRcnnRatios,
                                          std::span<const float> scales = kFasterRcnnScales);

// Faster R-CNN's anchors over a feature map of stride 16 (py-faster-rcnn proposal_layer:
// shift = (x * stride, y * stride)), +1 convention as above.
std::vector<Box> faster_rcnn_anchors(GridSize grid, int64_t stride = 16);

}  // namespace osprey::detect
