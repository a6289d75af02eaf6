// BlazeFace face detector: anchors, decode and the detector pipeline; see blazeface.hpp.
#include "detect/blazeface.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/error.hpp"
#include "detect/stretched_input.hpp"
#include "model/json_reader.hpp"
#include "model/model.hpp"

namespace osprey::detect {

std::vector<std::array<float, 2>> blazeface_anchors(int size, std::span<const int> strides, std::span<const int> anchors_per_cell) {
  if (size < 1 || strides.size() != anchors_per_cell.size())
    throw std::invalid_argument(cat("blazeface_anchors: expected a positive size and one anchor count per stride, got size ", size, ", ",
                                    strides.size(), " strides and ", anchors_per_cell.size(), " counts"));
  std::vector<std::array<float, 2>> anchors;
  for (size_t l = 0; l < strides.size(); ++l) {
    const int stride = strides[l];
    if (stride < 1 || anchors_per_cell[l] < 1)
      throw std::invalid_argument(cat("blazeface_anchors: expected positive strides and counts, got ", stride, " and ", anchors_per_cell[l]));
    const int cells = (size + stride - 1) / stride;
    for (int gy = 0; gy < cells; ++gy)
      for (int gx = 0; gx < cells; ++gx)
        for (int n = 0; n < anchors_per_cell[l]; ++n)
          anchors.push_back({static_cast<float>(stride) * (static_cast<float>(gx) + 0.5f),
                             static_cast<float>(stride) * (static_cast<float>(gy) + 0.5f)});
  }
  return anchors;
}

Detections blazeface_decode(std::span<const float> logits, std::span<const float> regressions,
                            std::span<const std::array<float, 2>> anchors, const SelectionParams& selection) {
  const size_t count = anchors.size();
  if (logits.size() != count || regressions.size() != count * kBlazeFaceRegressions)
    throw std::invalid_argument(cat("blazeface_decode: expected ", count, " logits and ", count * kBlazeFaceRegressions,
                                    " regressions for ", count, " anchors, got ", logits.size(), " and ", regressions.size()));
  std::vector<Box> boxes;
  std::vector<float> scores;
  std::vector<size_t> source;  // candidate -> anchor
  for (size_t a = 0; a < count; ++a) {
    const float score = 1.0f / (1.0f + std::exp(-logits[a]));
    if (!(score > selection.score_thresh)) continue;
    const float* r = regressions.data() + a * kBlazeFaceRegressions;
    const float cx = r[0] + anchors[a][0], cy = r[1] + anchors[a][1], hw = r[2] / 2, hh = r[3] / 2;
    boxes.push_back({cx - hw, cy - hh, cx + hw, cy + hh});
    scores.push_back(score);
    source.push_back(a);
  }
  // One class: per-class and agnostic NMS are the same. Indices are kept so each face
  // gets its own keypoints.
  std::vector<int64_t> keep;
  std::vector<float> kept_scores;
  if (selection.suppression == Suppression::Soft) {
    const SoftNmsResult r = soft_nms(boxes, scores, selection.soft);
    for (size_t k = 0; k < r.keep.size(); ++k)
      if (r.scores[k] > selection.score_thresh) keep.push_back(r.keep[k]), kept_scores.push_back(r.scores[k]);
  } else {
    keep = nms(boxes, scores, selection.iou_thresh);
    for (int64_t k : keep) kept_scores.push_back(scores[static_cast<size_t>(k)]);
  }
  if (selection.max_detections >= 0 && static_cast<int64_t>(keep.size()) > selection.max_detections)
    keep.resize(static_cast<size_t>(selection.max_detections));
  Detections out;
  for (size_t k = 0; k < keep.size(); ++k) {
    const size_t c = static_cast<size_t>(keep[k]), a = source[c];
    out.boxes.push_back(boxes[c]);
    out.scores.push_back(kept_scores[k]);
    out.labels.push_back(0);
    const float* r = regressions.data() + a * kBlazeFaceRegressions;
    std::vector<Keypoint> points;
    for (int p = 0; p < kBlazeFaceKeypoints; ++p) points.push_back({r[4 + 2 * p] + anchors[a][0], r[5 + 2 * p] + anchors[a][1]});
    out.keypoints.push_back(std::move(points));
  }
  return out;
}

BlazeFace::BlazeFace(std::unique_ptr<Model> model, const BlazeFaceParams& params, int size)
    : model_(std::move(model)), params_(params), size_(size) {
  if (params_.strides.empty()) params_.strides = {size / 16, size / 8};
  anchors_ = blazeface_anchors(size_, params_.strides, params_.anchors_per_cell);
}

BlazeFace::~BlazeFace() = default;

std::unique_ptr<BlazeFace> BlazeFace::load(const std::string& config, const BlazeFaceParams& params, const LoadOptions& overrides) {
  std::unique_ptr<Model> model = Model::load(config, overrides);
  const InputSpec& in = model->config().input;
  if (in.height != in.width || in.channel_count() != 3)
    throw ModelError(cat(config, ": input: BlazeFace takes a square RGB input, got ", in.height, "x", in.width, " with ",
                         in.channel_count(), " channels"));
  if (params.strides.empty() && in.height % 16 != 0)
    throw ModelError(cat(config, ": input.size: the default strides (size/16, size/8) need a multiple of 16, got ", in.height));
  if (params.strides.size() && params.strides.size() != params.anchors_per_cell.size())
    throw ModelError(cat(config, ": detector: ", params.strides.size(), " strides for ", params.anchors_per_cell.size(), " anchors_per_cell"));
  return std::unique_ptr<BlazeFace>(new BlazeFace(std::move(model), params, in.height));
}

const ModelConfig& BlazeFace::config() const { return model_->config(); }

// load checked that the input is size_ x size_ with 3 channels.
Tensor BlazeFace::network_input(const Tensor& image) const { return stretched_input(image, config().input); }

std::vector<Detections> BlazeFace::detect(std::span<const Tensor> images) {
  std::vector<Detections> result;
  for (const Tensor& image : images) {
    // One image per pass: the converted graph's reshapes fix the batch at 1.
    const std::vector<Tensor> out = model_->run(network_input(image));
    const std::string& where = config().path;
    if (out.size() != 2 * params_.strides.size())
      throw ModelError(cat(where, ": BlazeFace needs ", 2 * params_.strides.size(),
                           " outputs (per anchor level: logits [1, A, 1], then regressions [1, A, 16]), the model returns ", out.size()));
    std::vector<float> logits, regressions;
    for (size_t l = 0; l < params_.strides.size(); ++l) {
      const Tensor &s = out[2 * l], &r = out[2 * l + 1];
      if (s.shape.size() != 3 || s.shape[2] != 1 || r.shape.size() != 3 || r.shape[2] != kBlazeFaceRegressions || r.shape[1] != s.shape[1])
        throw ModelError(cat(where, ": anchor level ", l, ": expected logits [1, A, 1] and regressions [1, A, 16], got ",
                             to_string(s.shape), " and ", to_string(r.shape)));
      logits.insert(logits.end(), s.data.begin(), s.data.end());
      regressions.insert(regressions.end(), r.data.begin(), r.data.end());
    }
    if (logits.size() != anchors_.size())
      throw ModelError(cat(where, ": the outputs hold ", logits.size(), " anchors, the detector's strides and anchors_per_cell make ",
                           anchors_.size()));
    Detections d = blazeface_decode(logits, regressions, anchors_, params_.selection);
    const float sx = static_cast<float>(image.shape[2]) / static_cast<float>(size_);
    const float sy = static_cast<float>(image.shape[1]) / static_cast<float>(size_);
    const float w = static_cast<float>(image.shape[2]), h = static_cast<float>(image.shape[1]);
    for (Box& b : d.boxes)
      b = {std::clamp(b.x1 * sx, 0.0f, w), std::clamp(b.y1 * sy, 0.0f, h), std::clamp(b.x2 * sx, 0.0f, w), std::clamp(b.y2 * sy, 0.0f, h)};
    for (auto& points : d.keypoints)
      for (Keypoint& p : points) p = {p.x * sx, p.y * sy};
    result.push_back(std::move(d));
  }
  return result;
}

// The detector registry's entry (detect/detector.cpp).
std::unique_ptr<Detector> load_blazeface_detector(const std::string& config, const std::string& weights, const DetectorOptions& options) {
  if (!weights.empty()) throw ModelError(cat(config, ": a TF.js detector carries its weights; --weights does not apply"));
  BlazeFaceParams p;
  read_detector_object(config, [&](ObjectReader& d) {
    if (d.has("strides")) p.strides = d.integers("strides");
    if (d.has("anchors_per_cell")) p.anchors_per_cell = d.integers("anchors_per_cell");
    p.selection.score_thresh = static_cast<float>(d.number("score_thresh", p.selection.score_thresh));
    p.selection.iou_thresh = d.number("iou_thresh", p.selection.iou_thresh);
    p.selection.max_detections = d.integer("max_detections", static_cast<int>(p.selection.max_detections));
    for (int v : p.strides)
      if (v < 1) d.fail("strides", cat("expected positive strides, got ", v));
    for (int v : p.anchors_per_cell)
      if (v < 1) d.fail("anchors_per_cell", cat("expected positive counts, got ", v));
    if (p.selection.max_detections < 1) d.fail("max_detections", cat("expected a positive count, got ", p.selection.max_detections));
  });
  p.selection = options.apply(p.selection);
  return BlazeFace::load(config, p, options.load);
}

}  // namespace osprey::detect
