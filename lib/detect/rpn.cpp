#include "detect/rpn.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

#include "detect/box_coder.hpp"

namespace osprey::detect {

namespace {

[[noreturn]] void fail(const std::string& what) { throw std::invalid_argument("rpn_proposals: " + what); }

}  // namespace

std::vector<Proposals> rpn_proposals(std::span<const Tensor> objectness, std::span<const Tensor> deltas,
                                     std::span<const Box> anchors, std::span<const ImageSize> image_sizes,
                                     const RpnParams& params) {
  if (objectness.size() != deltas.size() || objectness.empty())
    fail("expected as many delta maps as objectness maps (at least one), got " + std::to_string(objectness.size()) + " and " +
         std::to_string(deltas.size()));
  const auto num_images = static_cast<int64_t>(image_sizes.size());
  int64_t total = 0;
  for (size_t l = 0; l < objectness.size(); ++l) {
    const Shape& o = objectness[l].shape;
    const Shape& d = deltas[l].shape;
    if (o.size() != 4 || d.size() != 4 || o[0] != num_images || d[0] != num_images || d[1] != 4 * o[1] || d[2] != o[2] ||
        d[3] != o[3])
      fail("expected objectness [N, A, H, W] and deltas [N, 4A, H, W] for " + std::to_string(num_images) + " images at level " +
           std::to_string(l));
    total += o[1] * o[2] * o[3];
  }
  if (static_cast<int64_t>(anchors.size()) != total)
    fail("expected " + std::to_string(total) + " anchors, got " + std::to_string(anchors.size()));

  const BoxCoder coder({1.0f, 1.0f, 1.0f, 1.0f});
  std::vector<Proposals> result(static_cast<size_t>(num_images));
  for (int64_t n = 0; n < num_images; ++n) {
    std::vector<Box> boxes;
    std::vector<float> logits;
    std::vector<int64_t> levels;
    int64_t offset = 0;
    for (size_t l = 0; l < objectness.size(); ++l) {
      const int64_t a = objectness[l].shape[1], h = objectness[l].shape[2], w = objectness[l].shape[3];
      const int64_t count = a * h * w, hw = h * w;
      const float* obj = objectness[l].data.data() + n * count;
      const float* del = deltas[l].data.data() + n * 4 * count;
      // anchor index (y * w + x) * a + k  <->  objectness [k, y, x], deltas [k * 4 + j, y, x]
      auto logit = [&](int64_t i) { return obj[(i % a) * hw + i / a]; };
      std::vector<int64_t> order(static_cast<size_t>(count));
      std::iota(order.begin(), order.end(), 0);
      const int64_t k = std::min(params.pre_nms_top_n, count);
      std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t i, int64_t j) {
        const float si = logit(i), sj = logit(j);
        return si > sj || (si == sj && i < j);
      });
      std::vector<BoxDelta> codes;
      std::vector<Box> refs;
      for (int64_t r = 0; r < k; ++r) {
        const int64_t i = order[r];
        const int64_t cell = i / a, anchor = i % a;
        const float* dp = del + anchor * 4 * hw + cell;
        codes.push_back({dp[0], dp[hw], dp[2 * hw], dp[3 * hw]});
        refs.push_back(anchors[offset + i]);
        logits.push_back(logit(i));
        levels.push_back(static_cast<int64_t>(l));
      }
      const std::vector<Box> decoded = coder.decode(codes, refs);
      boxes.insert(boxes.end(), decoded.begin(), decoded.end());
      offset += count;
    }
    const ImageSize size = image_sizes[n];
    boxes = clip_boxes_to_image(boxes, size.height, size.width);
    std::vector<float> scores(logits.size());
    for (size_t i = 0; i < logits.size(); ++i) scores[i] = 1.0f / (1.0f + std::exp(-logits[i]));

    std::vector<Box> kept_boxes;
    std::vector<float> kept_scores;
    std::vector<int64_t> kept_levels;
    for (int64_t i : remove_small_boxes(boxes, params.min_size)) {
      if (!(scores[i] >= params.score_thresh)) continue;
      kept_boxes.push_back(boxes[i]);
      kept_scores.push_back(scores[i]);
      kept_levels.push_back(levels[i]);
    }
    std::vector<int64_t> keep = batched_nms(kept_boxes, kept_scores, kept_levels, params.nms_thresh);
    if (static_cast<int64_t>(keep.size()) > params.post_nms_top_n) keep.resize(static_cast<size_t>(params.post_nms_top_n));
    Proposals& p = result[n];
    for (int64_t i : keep) {
      p.boxes.push_back(kept_boxes[i]);
      p.scores.push_back(kept_scores[i]);
    }
  }
  return result;
}

}  // namespace osprey::detect
