// Box regression coding of Faster R-CNN (Girshick, "Fast R-CNN", 2015, eq. 6-9):
// a box is coded relative to a reference box (an anchor or a proposal) as
//   dx = wx * (cx - ref_cx) / ref_w,   dy = wy * (cy - ref_cy) / ref_h,
//   dw = ww * log(w / ref_w),          dh = wh * log(h / ref_h),
// with w = x2 - x1 (no +1) and cx = x1 + 0.5 * w. Decoding inverts this after clamping
// dw / wx and dh / wh to at most bbox_xform_clip (log(1000 / 16)), so exp() cannot
// overflow. torchvision.models.detection._utils.BoxCoder, in its float32 order of
// operations. Typical weights: (1, 1, 1, 1) for the RPN, (10, 10, 5, 5) for the box head.
#pragma once

#include <array>
#include <cmath>
#include <span>
#include <vector>

#include "detect/boxes.hpp"

namespace osprey::detect {

struct BoxDelta {
  float dx = 0, dy = 0, dw = 0, dh = 0;
};

class BoxCoder {
 public:
  static inline const float kDefaultClip = static_cast<float>(std::log(1000.0 / 16.0));

  explicit BoxCoder(std::array<float, 4> weights, float bbox_xform_clip = kDefaultClip);

  // Codes of `boxes` (ground truth) relative to `references` (anchors / proposals), one each.
  std::vector<BoxDelta> encode(std::span<const Box> boxes, std::span<const Box> references) const;

  // Boxes from codes. `deltas` holds K codes per reference box, row-major [N, K] (K = 1 for
  // the RPN, the class count for a per-class box head); the result is [N, K] boxes likewise.
  std::vector<Box> decode(std::span<const BoxDelta> deltas, std::span<const Box> references) const;

  const std::array<float, 4>& weights() const { return weights_; }
  float bbox_xform_clip() const { return clip_; }

 private:
  std::array<float, 4> weights_;
  float clip_;
};

}  // namespace osprey::detect
