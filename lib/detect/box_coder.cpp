#include "detect/box_coder.hpp"

#include <algorithm>
#include <stdexcept>

#include "core/error.hpp"

namespace osprey::detect {

BoxCoder::BoxCoder(std::array<float, 4> weights, float bbox_xform_clip) : weights_(weights), clip_(bbox_xform_clip) {
  for (float w : weights)
    if (!(w > 0)) throw std::invalid_argument(cat("expected box coder weights > 0, got ", w));
}

std::vector<BoxDelta> BoxCoder::encode(std::span<const Box> boxes, std::span<const Box> references) const {
  if (boxes.size() != references.size())
    throw std::invalid_argument(
        cat("expected one reference box per box (", boxes.size(), "), got ", references.size()));
  const auto [wx, wy, ww, wh] = weights_;
  std::vector<BoxDelta> out(boxes.size());
  for (size_t i = 0; i < boxes.size(); ++i) {
    const Box& r = references[i];
    const Box& g = boxes[i];
    const float ref_w = r.x2 - r.x1, ref_h = r.y2 - r.y1;
    const float ref_cx = r.x1 + 0.5f * ref_w, ref_cy = r.y1 + 0.5f * ref_h;
    const float gt_w = g.x2 - g.x1, gt_h = g.y2 - g.y1;
    const float gt_cx = g.x1 + 0.5f * gt_w, gt_cy = g.y1 + 0.5f * gt_h;
    out[i].dx = wx * (gt_cx - ref_cx) / ref_w;
    out[i].dy = wy * (gt_cy - ref_cy) / ref_h;
    out[i].dw = ww * std::log(gt_w / ref_w);
    out[i].dh = wh * std::log(gt_h / ref_h);
  }
  return out;
}

std::vector<Box> BoxCoder::decode(std::span<const BoxDelta> deltas, std::span<const Box> references) const {
  if (references.empty()) {
    if (!deltas.empty()) throw std::invalid_argument(cat("expected no box deltas for no reference boxes, got ", deltas.size()));
    return {};
  }
  if (deltas.size() % references.size() != 0)
    throw std::invalid_argument(cat("expected a multiple of ", references.size(), " box deltas (K per reference box), got ",
                                    deltas.size()));
  const size_t per_box = deltas.size() / references.size();
  const auto [wx, wy, ww, wh] = weights_;
  std::vector<Box> out(deltas.size());
  for (size_t i = 0; i < references.size(); ++i) {
    const Box& r = references[i];
    const float width = r.x2 - r.x1, height = r.y2 - r.y1;
    const float ctr_x = r.x1 + 0.5f * width, ctr_y = r.y1 + 0.5f * height;
    for (size_t k = 0; k < per_box; ++k) {
      const BoxDelta& d = deltas[i * per_box + k];
      const float dx = d.dx / wx, dy = d.dy / wy;
      // torch.clamp(max=clip): NaN stays NaN
      const float dw = std::isnan(d.dw / ww) ? d.dw / ww : std::min(d.dw / ww, clip_);
      const float dh = std::isnan(d.dh / wh) ? d.dh / wh : std::min(d.dh / wh, clip_);
      const float pred_ctr_x = dx * width + ctr_x;
      const float pred_ctr_y = dy * height + ctr_y;
      const float half_w = 0.5f * (std::exp(dw) * width);
      const float half_h = 0.5f * (std::exp(dh) * height);
      out[i * per_box + k] = {pred_ctr_x - half_w, pred_ctr_y - half_h, pred_ctr_x + half_w, pred_ctr_y + half_h};
    }
  }
  return out;
}

}  // namespace osprey::detect
