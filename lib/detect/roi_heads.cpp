#include "detect/roi_heads.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <string>

#include "detect/box_coder.hpp"
#include "detect/softmax_rows.hpp"
#include "engine/executor.hpp"

namespace osprey::detect {

namespace {

Tensor rows(const Tensor& t, int64_t first, int64_t count) {
  const int64_t width = t.shape.at(1);
  return Tensor({count, width}, std::vector<float>(t.data.begin() + first * width, t.data.begin() + (first + count) * width));
}

}  // namespace

Detections postprocess_detections(const Tensor& class_logits, const Tensor& box_regression, std::span<const Box> proposals,
                                  ImageSize image, const BoxHeadParams& params) {
  const auto k = static_cast<int64_t>(proposals.size());
  if (class_logits.shape.size() != 2 || class_logits.shape[0] != k || class_logits.shape[1] < 2)
    throw std::invalid_argument("postprocess_detections: expected class logits [" + std::to_string(k) + ", C >= 2]");
  const int64_t c = class_logits.shape[1];
  if (box_regression.shape != Shape{k, 4 * c})
    throw std::invalid_argument("postprocess_detections: expected box regression [" + std::to_string(k) + ", " +
                                std::to_string(4 * c) + "]");

  const std::vector<float> scores = softmax_rows(class_logits.data, c);  // F.softmax(class_logits, -1)
  std::vector<BoxDelta> codes(static_cast<size_t>(k * c));
  for (int64_t i = 0; i < k * c; ++i) {
    const float* d = box_regression.data.data() + i * 4;
    codes[i] = {d[0], d[1], d[2], d[3]};
  }
  const std::vector<Box> decoded =
      clip_boxes_to_image(BoxCoder(params.weights).decode(codes, proposals), image.height, image.width);

  std::vector<Box> boxes;
  std::vector<float> cand_scores;
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 1; j < c; ++j) {
      const float s = scores[i * c + j];
      if (!(s > params.score_thresh)) continue;
      boxes.push_back(decoded[i * c + j]);
      cand_scores.push_back(s);
      labels.push_back(j);
    }
  std::vector<Box> b2;
  std::vector<float> s2;
  std::vector<int64_t> l2;
  for (int64_t i : remove_small_boxes(boxes, params.min_size)) {
    b2.push_back(boxes[i]);
    s2.push_back(cand_scores[i]);
    l2.push_back(labels[i]);
  }
  SelectionParams select;
  select.score_thresh = params.score_thresh;
  select.iou_thresh = params.nms_thresh;
  select.max_detections = params.detections_per_img;
  select.suppression = params.suppression;
  select.soft = params.soft;
  return select_detections(b2, s2, l2, select);
}

RoiHeads::RoiHeads(std::shared_ptr<const Graph> box_head, const BoxHeadParams& params, int64_t chunk,
                   const RoiExtractor& extractor)
    : executor_(std::make_unique<Executor>(std::move(box_head))), params_(params), chunk_(chunk), extractor_(extractor) {
  if (chunk_ <= 0) throw std::invalid_argument("RoiHeads: expected a positive chunk size, got " + std::to_string(chunk));
}

RoiHeads::~RoiHeads() = default;
RoiHeads::RoiHeads(RoiHeads&&) noexcept = default;
RoiHeads& RoiHeads::operator=(RoiHeads&&) noexcept = default;

RoiHeads::Raw RoiHeads::box_head(std::span<const Tensor> features, std::span<const std::vector<Box>> proposals,
                                 std::span<const ImageSize> image_sizes) {
  if (proposals.size() != image_sizes.size())
    throw std::invalid_argument("RoiHeads: expected one proposal list per image, got " + std::to_string(proposals.size()) +
                                " for " + std::to_string(image_sizes.size()));
  int64_t total = 0;
  for (const auto& p : proposals) total += static_cast<int64_t>(p.size());
  std::vector<float> roi_data;
  roi_data.reserve(static_cast<size_t>(total * 5));
  for (size_t n = 0; n < proposals.size(); ++n)
    for (const Box& b : proposals[n]) roi_data.insert(roi_data.end(), {static_cast<float>(n), b.x1, b.y1, b.x2, b.y2});
  Tensor rois({total, 5}, std::move(roi_data));
  Tensor pooled;
  if (extractor_.kind == RoiExtractor::Kind::RoiPool) {
    if (features.size() != 1)
      throw std::invalid_argument("RoiHeads: RoI pooling takes one feature level, got " + std::to_string(features.size()));
    pooled = roi_pool(features[0], rois, extractor_.output_h, extractor_.output_w, extractor_.spatial_scale);
  } else {
    pooled = multiscale_roi_align(features, rois, image_sizes, extractor_.align);
  }

  Raw raw;
  const int64_t per_roi = total ? static_cast<int64_t>(pooled.data.size()) / total : 0;
  std::vector<float> logits, regression;
  int64_t classes = 0;
  for (int64_t first = 0; first < total; first += chunk_) {
    const int64_t count = std::min(chunk_, total - first);
    Tensor in({chunk_, pooled.shape[1], pooled.shape[2], pooled.shape[3]});
    std::copy_n(pooled.data.begin() + first * per_roi, count * per_roi, in.data.begin());
    const std::vector<Tensor> out = executor_->run(in);
    if (out.size() != 2) throw std::logic_error("RoiHeads: the box head graph must have two outputs");
    classes = out[0].shape.at(1);
    logits.insert(logits.end(), out[0].data.begin(), out[0].data.begin() + count * classes);
    regression.insert(regression.end(), out[1].data.begin(), out[1].data.begin() + count * 4 * classes);
  }
  raw.class_logits = Tensor({total, classes}, std::move(logits));
  raw.box_regression = Tensor({total, 4 * classes}, std::move(regression));
  return raw;
}

std::vector<Detections> RoiHeads::operator()(std::span<const Tensor> features, std::span<const std::vector<Box>> proposals,
                                             std::span<const ImageSize> image_sizes) {
  const Raw raw = box_head(features, proposals, image_sizes);
  std::vector<Detections> out;
  int64_t first = 0;
  for (size_t n = 0; n < proposals.size(); ++n) {
    const auto k = static_cast<int64_t>(proposals[n].size());
    if (k == 0) {
      out.emplace_back();
      continue;
    }
    out.push_back(postprocess_detections(rows(raw.class_logits, first, k), rows(raw.box_regression, first, k), proposals[n],
                                         image_sizes[n], params_));
    first += k;
  }
  return out;
}

}  // namespace osprey::detect
