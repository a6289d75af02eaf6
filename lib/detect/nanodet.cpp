#include "detect/nanodet.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/error.hpp"
#include "model/json_reader.hpp"
#include "model/model.hpp"

namespace osprey::detect {

Candidates nanodet_candidates(std::span<const Tensor> scores, std::span<const Tensor> distributions, int64_t input_h,
                              int64_t input_w, const NanoDetParams& params) {
  const size_t levels = params.strides.size();
  if (scores.size() != levels || distributions.size() != levels)
    throw std::invalid_argument(cat("expected ", levels, " score and distribution tensors, got ", scores.size(), " and ", distributions.size()));
  const int64_t bins = params.reg_max + 1;
  Candidates out;
  std::vector<float> prob(static_cast<size_t>(bins));
  for (size_t l = 0; l < levels; ++l) {
    const Tensor& s = scores[l];
    const Tensor& d = distributions[l];
    const int64_t classes = s.shape.back();
    const int64_t cells = s.size() / classes;
    const int stride = params.strides[l];
    const int64_t grid_w = (input_w + stride - 1) / stride;
    if (d.size() != cells * 4 * bins || cells != grid_w * ((input_h + stride - 1) / stride))
      throw std::invalid_argument(cat("expected level ", l, " with ", grid_w, " columns and ", 4 * bins, " distribution values per cell, got scores ",
                                      to_string(s.shape), " and distributions ", to_string(d.shape)));
    for (int64_t i = 0; i < cells; ++i) {
      const float* cs = s.data.data() + i * classes;
      float best = 0;
      for (int64_t c = 0; c < classes; ++c) best = std::max(best, cs[c]);
      if (!(best > params.select.score_thresh)) continue;
      // Side distances: softmax over the bins, expectation of the bin index, times the stride.
      float side[4];
      for (int k = 0; k < 4; ++k) {
        const float* logits = d.data.data() + (i * 4 + k) * bins;
        const float top = *std::max_element(logits, logits + bins);
        float sum = 0, expect = 0;
        for (int64_t b = 0; b < bins; ++b) {
          prob[static_cast<size_t>(b)] = std::exp(logits[b] - top);
          sum += prob[static_cast<size_t>(b)];
        }
        for (int64_t b = 0; b < bins; ++b) expect += prob[static_cast<size_t>(b)] / sum * static_cast<float>(b);
        side[k] = expect * static_cast<float>(stride);
      }
      const float cx = (static_cast<float>(i % grid_w) + 0.5f) * static_cast<float>(stride);
      const float cy = (static_cast<float>(i / grid_w) + 0.5f) * static_cast<float>(stride);
      Box box{std::clamp(cx - side[0], 0.0f, static_cast<float>(input_w)), std::clamp(cy - side[1], 0.0f, static_cast<float>(input_h)),
              std::clamp(cx + side[2], 0.0f, static_cast<float>(input_w)), std::clamp(cy + side[3], 0.0f, static_cast<float>(input_h))};
      for (int64_t c = 0; c < classes; ++c) {
        if (!(cs[c] > params.select.score_thresh)) continue;
        out.boxes.push_back(box);
        out.scores.push_back(cs[c]);
        out.labels.push_back(c);
      }
    }
  }
  return out;
}

Detections select_and_rescale(Candidates c, int64_t input_h, int64_t input_w, int64_t image_h, int64_t image_w,
                              const SelectionParams& select) {
  Detections d = select_detections(c.boxes, c.scores, c.labels, select);
  const float sx = static_cast<float>(image_w) / static_cast<float>(input_w);
  const float sy = static_cast<float>(image_h) / static_cast<float>(input_h);
  for (Box& b : d.boxes) b = {b.x1 * sx, b.y1 * sy, b.x2 * sx, b.y2 * sy};
  d.boxes = clip_boxes_to_image(d.boxes, image_h, image_w);
  return d;
}

NanoDet::NanoDet(std::unique_ptr<Model> model, NanoDetParams params) : model_(std::move(model)), params_(std::move(params)) {}
NanoDet::~NanoDet() = default;

const ModelConfig& NanoDet::config() const { return model_->config(); }

std::vector<Detections> NanoDet::detect(std::span<const Tensor> images) {
  const InputSpec& spec = model_->config().input;
  std::vector<Detections> result;
  for (const Tensor& image : images) {
    // One image per forward pass: the graph's reshapes are folded for a batch of one.
    const std::vector<Tensor> out = model_->run(stretched_input(image, spec));
    const size_t levels = params_.strides.size();
    if (out.size() != 2 * levels)
      throw ModelError(cat(model_->config().path, ": NanoDet needs ", 2 * levels, " outputs (scores, then distributions per level), the model has ", out.size()));
    Candidates c = nanodet_candidates(std::span(out).first(levels), std::span(out).subspan(levels), spec.height, spec.width, params_);
    result.push_back(select_and_rescale(std::move(c), spec.height, spec.width, image.shape[1], image.shape[2], params_.select));
  }
  return result;
}

// The detector registry's entry (detect/detector.cpp). Keys of the config's "detector":
// strides, reg_max, score_thresh, iou_thresh, max_detections.
std::unique_ptr<Detector> load_nanodet_detector(const std::string& config, const std::string& weights, const DetectorOptions& options) {
  if (!weights.empty()) throw ModelError(cat(config, ": a TF.js detector carries its weights; --weights does not apply"));
  NanoDetParams p;
  read_detector_object(config, [&](ObjectReader& d) {
    if (d.has("strides")) p.strides = d.integers("strides");
    p.reg_max = d.integer("reg_max", p.reg_max);
    p.select.score_thresh = static_cast<float>(d.number("score_thresh", p.select.score_thresh));
    p.select.iou_thresh = d.number("iou_thresh", p.select.iou_thresh);
    p.select.max_detections = d.integer("max_detections", static_cast<int>(p.select.max_detections));
    if (p.strides.empty()) d.fail("strides", "expected at least one stride");
    for (int s : p.strides)
      if (s <= 0) d.fail("strides", cat("expected positive strides, got ", s));
    if (p.reg_max < 1) d.fail("reg_max", cat("expected at least 1, got ", p.reg_max));
    if (p.select.max_detections < 1) d.fail("max_detections", cat("expected a positive count, got ", p.select.max_detections));
  });
  p.select = options.apply(p.select);
  return std::make_unique<NanoDet>(Model::load(config, options.load), std::move(p));
}

}  // namespace osprey::detect
