#include "detect/default_boxes.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "core/error.hpp"

namespace osprey::detect {

std::vector<double> default_box_scales(size_t maps, double min_ratio, double max_ratio) {
  if (maps == 0) throw std::invalid_argument("default_box_scales: expected at least one feature map, got 0");
  if (maps == 1) return {min_ratio, max_ratio};
  std::vector<double> scales;
  const double range = max_ratio - min_ratio;
  for (size_t k = 0; k < maps; ++k) scales.push_back(min_ratio + range * static_cast<double>(k) / (static_cast<double>(maps) - 1.0));
  scales.push_back(1.0);
  return scales;
}

DefaultBoxGenerator::DefaultBoxGenerator(DefaultBoxParams params) : params_(std::move(params)) {
  const size_t k = params_.aspect_ratios.size();
  if (k == 0) throw std::invalid_argument("DefaultBoxGenerator: expected aspect ratios for at least one map, got none");
  if (params_.scales.empty()) params_.scales = default_box_scales(k, params_.min_ratio, params_.max_ratio);
  if (params_.scales.size() != k + 1)
    throw std::invalid_argument(cat("DefaultBoxGenerator: expected ", k + 1, " scales (one per map and one more), got ",
                                    params_.scales.size()));
  if (!params_.steps.empty() && params_.steps.size() != k)
    throw std::invalid_argument(cat("DefaultBoxGenerator: expected ", k, " steps (one per map), got ", params_.steps.size()));
  for (double s : params_.scales)
    if (!(s > 0)) throw std::invalid_argument(cat("DefaultBoxGenerator: expected positive scales, got ", s));
  for (double s : params_.steps)
    if (!(s > 0)) throw std::invalid_argument(cat("DefaultBoxGenerator: expected positive steps, got ", s));
  // _generate_wh_pairs: double arithmetic, rounded to float32 by torch.as_tensor, then
  // clamped in float32.
  for (size_t m = 0; m < k; ++m) {
    const double s = params_.scales[m];
    const double s_prime = std::sqrt(params_.scales[m] * params_.scales[m + 1]);
    std::vector<std::array<double, 2>> pairs{{s, s}, {s_prime, s_prime}};
    for (double ar : params_.aspect_ratios[m]) {
      if (!(ar > 0)) throw std::invalid_argument(cat("DefaultBoxGenerator: expected positive aspect ratios, got ", ar));
      const double root = std::sqrt(ar);
      const double w = s * root, h = s / root;
      pairs.push_back({w, h});
      pairs.push_back({h, w});
    }
    std::vector<std::array<float, 2>> wh;
    for (const auto& [w, h] : pairs) {
      float fw = static_cast<float>(w), fh = static_cast<float>(h);
      if (params_.clip) fw = std::clamp(fw, 0.0f, 1.0f), fh = std::clamp(fh, 0.0f, 1.0f);
      wh.push_back({fw, fh});
    }
    wh_.push_back(std::move(wh));
  }
}

int64_t DefaultBoxGenerator::boxes_per_location(size_t map) const {
  return 2 + 2 * static_cast<int64_t>(params_.aspect_ratios.at(map).size());
}

std::vector<CenterBox> DefaultBoxGenerator::normalised(ImageSize image, std::span<const GridSize> grids) const {
  if (grids.size() != maps())
    throw std::invalid_argument(cat("DefaultBoxGenerator: expected ", maps(), " feature map sizes, got ", grids.size()));
  std::vector<CenterBox> out;
  for (size_t m = 0; m < grids.size(); ++m) {
    const GridSize g = grids[m];
    // torch divides the float32 centres by a Python number, which it rounds to float32.
    float fx, fy;
    if (params_.steps.empty()) {
      fx = static_cast<float>(g.width), fy = static_cast<float>(g.height);
    } else {
      fx = static_cast<float>(static_cast<double>(image.width) / params_.steps[m]);
      fy = static_cast<float>(static_cast<double>(image.height) / params_.steps[m]);
    }
    for (int64_t y = 0; y < g.height; ++y) {
      const float cy = (static_cast<float>(y) + 0.5f) / fy;
      for (int64_t x = 0; x < g.width; ++x) {
        const float cx = (static_cast<float>(x) + 0.5f) / fx;
        for (const auto& [w, h] : wh_[m]) out.push_back({cx, cy, w, h});
      }
    }
  }
  return out;
}

std::vector<Box> DefaultBoxGenerator::generate(ImageSize image, std::span<const GridSize> grids) const {
  const std::vector<CenterBox> centres = normalised(image, grids);
  const auto iw = static_cast<float>(image.width), ih = static_cast<float>(image.height);
  std::vector<Box> out;
  out.reserve(centres.size());
  for (const CenterBox& c : centres) {
    const float hw = 0.5f * c.w, hh = 0.5f * c.h;
    out.push_back({(c.cx - hw) * iw, (c.cy - hh) * ih, (c.cx + hw) * iw, (c.cy + hh) * ih});
  }
  return out;
}

}  // namespace osprey::detect
