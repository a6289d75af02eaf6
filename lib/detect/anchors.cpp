#include "detect/anchors.hpp"

#include <array>
#include <cmath>
#include <stdexcept>

#include "core/error.hpp"

namespace osprey::detect {

std::vector<Box> shift_anchors(std::span<const Box> cell_anchors, GridSize grid, int64_t stride_h, int64_t stride_w) {
  if (grid.height < 0 || grid.width < 0)
    throw std::invalid_argument(cat("expected a non-negative grid size, got ", grid.height, "x", grid.width));
  std::vector<Box> out;
  out.reserve(static_cast<size_t>(grid.height * grid.width) * cell_anchors.size());
  for (int64_t y = 0; y < grid.height; ++y) {
    const float sy = static_cast<float>(y * stride_h);
    for (int64_t x = 0; x < grid.width; ++x) {
      const float sx = static_cast<float>(x * stride_w);
      for (const Box& a : cell_anchors) out.push_back({sx + a.x1, sy + a.y1, sx + a.x2, sy + a.y2});
    }
  }
  return out;
}

std::vector<Box> torchvision_cell_anchors(std::span<const float> sizes, std::span<const float> aspect_ratios) {
  std::vector<Box> out;
  for (float ratio : aspect_ratios) {
    if (!(ratio > 0)) throw std::invalid_argument(cat("expected aspect ratios > 0, got ", ratio));
    const float h_ratio = std::sqrt(ratio);
    const float w_ratio = 1.0f / h_ratio;
    for (float size : sizes) {
      const float w = w_ratio * size, h = h_ratio * size;
      // round half to even (torch.round) in the default rounding mode
      out.push_back({std::nearbyint(-w / 2), std::nearbyint(-h / 2), std::nearbyint(w / 2), std::nearbyint(h / 2)});
    }
  }
  return out;
}

AnchorGenerator::AnchorGenerator(std::vector<std::vector<float>> sizes, std::vector<std::vector<float>> aspect_ratios) {
  if (sizes.size() != aspect_ratios.size())
    throw std::invalid_argument(
        cat("expected one list of aspect ratios per level (", sizes.size(), "), got ", aspect_ratios.size()));
  for (size_t l = 0; l < sizes.size(); ++l) cell_anchors_.push_back(torchvision_cell_anchors(sizes[l], aspect_ratios[l]));
}

std::vector<Box> AnchorGenerator::generate(GridSize image, std::span<const GridSize> feature_maps) const {
  if (feature_maps.size() != cell_anchors_.size())
    throw std::invalid_argument(cat("expected ", cell_anchors_.size(), " feature maps (one per anchor level), got ",
                                    feature_maps.size()));
  std::vector<Box> out;
  for (size_t l = 0; l < feature_maps.size(); ++l) {
    const GridSize grid = feature_maps[l];
    if (grid.height <= 0 || grid.width <= 0)
      throw std::invalid_argument(cat("expected a non-empty feature map at level ", l, ", got ", grid.height, "x", grid.width));
    const auto level = shift_anchors(cell_anchors_[l], grid, image.height / grid.height, image.width / grid.width);
    out.insert(out.end(), level.begin(), level.end());
  }
  return out;
}

std::vector<Box> faster_rcnn_cell_anchors(float base_size, std::span<const float> ratios, std::span<const float> scales) {
  // py-faster-rcnn's _whctrs / _mkanchors, "+1" convention, double precision.
  struct WhCtr {
    double w, h, cx, cy;
  };
  auto whctr = [](double x1, double y1, double x2, double y2) {
    const double w = x2 - x1 + 1, h = y2 - y1 + 1;
    return WhCtr{w, h, x1 + 0.5 * (w - 1), y1 + 0.5 * (h - 1)};
  };
  auto make = [](double w, double h, double cx, double cy) {
    return std::array<double, 4>{cx - 0.5 * (w - 1), cy - 0.5 * (h - 1), cx + 0.5 * (w - 1), cy + 0.5 * (h - 1)};
  };
  const WhCtr base = whctr(0, 0, base_size - 1.0, base_size - 1.0);
  std::vector<Box> out;
  for (float ratio : ratios) {
    if (!(ratio > 0)) throw std::invalid_argument(cat("expected anchor ratios > 0, got ", ratio));
    const double ws = std::nearbyint(std::sqrt(base.w * base.h / ratio));
    const double hs = std::nearbyint(ws * ratio);
    const auto r = make(ws, hs, base.cx, base.cy);
    const WhCtr c = whctr(r[0], r[1], r[2], r[3]);
    for (float scale : scales) {
      const auto a = make(c.w * scale, c.h * scale, c.cx, c.cy);
      out.push_back({static_cast<float>(a[0]), static_cast<float>(a[1]), static_cast<float>(a[2]), static_cast<float>(a[3])});
    }
  }
  return out;
}

std::vector<Box> faster_rcnn_anchors(GridSize grid, int64_t stride) {
  return shift_anchors(faster_rcnn_cell_anchors(), grid, stride, stride);
}

}  // namespace osprey::detect
