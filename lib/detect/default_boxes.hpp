// SSD's default boxes (Liu et al., "SSD: Single Shot MultiBox Detector", 2016, sec. 2.2) as
// torchvision.models.detection.anchor_utils.DefaultBoxGenerator computes them in float32.
// Map k of K has scale s_k and, per location, the boxes (in this order): s_k x s_k,
// s'_k x s'_k with s'_k = sqrt(s_k * s_{k+1}), then for each aspect ratio a the pair
// (s_k sqrt(a), s_k / sqrt(a)) and its transpose. Centres are ((x + 0.5) / f_x, (y + 0.5) /
// f_y) with f = image size / step when steps are given, else the map's own size. With clip,
// widths and heights are clamped to [0, 1] (centres are not). Locations are row-major over
// the map, the boxes of one location together, maps in order.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "detect/anchors.hpp"
#include "detect/boxes.hpp"
#include "detect/roi_ops.hpp"

namespace osprey::detect {

struct DefaultBoxParams {
  std::vector<std::vector<double>> aspect_ratios;  // one list per feature map
  // K + 1 scales (relative to the image side); when empty they come from min_ratio and
  // max_ratio, evenly spaced over the K maps plus a last one of 1.
  std::vector<double> scales;
  double min_ratio = 0.15, max_ratio = 0.9;
  std::vector<double> steps;  // empty, or one per map (pixels per location)
  bool clip = true;
};

// DefaultBoxGenerator's scales for `maps` feature maps: min + (max - min) * k / (maps - 1)
// for k < maps, then 1.0 (one map: [min, max]); in double, in its order of operations.
std::vector<double> default_box_scales(size_t maps, double min_ratio, double max_ratio);

// A default box in normalised (cx, cy, w, h), as _grid_default_boxes returns it.
struct CenterBox {
  float cx = 0, cy = 0, w = 0, h = 0;
};

class DefaultBoxGenerator {
 public:
  // Throws std::invalid_argument when the lists do not fit (scales other than K + 1, steps
  // other than K, a non-positive ratio, scale or step).
  explicit DefaultBoxGenerator(DefaultBoxParams params);

  size_t maps() const { return params_.aspect_ratios.size(); }
  // 2 + 2 * (aspect ratios of the map): the head's boxes per location.
  int64_t boxes_per_location(size_t map) const;
  const std::vector<double>& scales() const { return params_.scales; }
  const DefaultBoxParams& params() const { return params_; }

  // All default boxes for these map sizes (one per map) on an image of `image` pixels.
  std::vector<CenterBox> normalised(ImageSize image, std::span<const GridSize> grids) const;
  // The same as (x1, y1, x2, y2) pixels: (c - wh / 2) * image size, as forward() converts them.
  std::vector<Box> generate(ImageSize image, std::span<const GridSize> grids) const;

 private:
  DefaultBoxParams params_;
  std::vector<std::vector<std::array<float, 2>>> wh_;  // per map: (w, h) per box of a location
};

}  // namespace osprey::detect
