#include "detect/ssd.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "core/error.hpp"
#include "detect/box_coder.hpp"
#include "detect/softmax_rows.hpp"
#include "detect/transform.hpp"
#include "model/model.hpp"

namespace osprey::detect {

namespace {

// GeneralizedRCNNTransform with fixed_size: (x - mean) / std per channel in float32, then
// F.interpolate to exactly height x width (bilinear, align_corners=False); no padding.
Tensor fixed_size_batch(std::span<const Tensor> images, const SsdArch& a) {
  const int64_t n = static_cast<int64_t>(images.size()), h = a.height, w = a.width;
  Tensor batch({n, 3, h, w}, std::vector<float>(static_cast<size_t>(n * 3 * h * w)));
  for (int64_t i = 0; i < n; ++i) {
    const Tensor& image = images[static_cast<size_t>(i)];
    if (image.shape.size() != 3 || image.shape[0] != 3)
      throw std::invalid_argument(cat("Ssd: expected [3, H, W] images, got ", to_string(image.shape)));
    Tensor normalised = image;
    const int64_t plane = image.shape[1] * image.shape[2];
    for (int64_t c = 0; c < 3; ++c) {
      float* p = normalised.data.data() + c * plane;
      for (int64_t k = 0; k < plane; ++k) p[k] = (p[k] - a.image_mean[c]) / a.image_std[c];
    }
    const Tensor resized = resize_bilinear(normalised, h, w);
    std::copy(resized.data.begin(), resized.data.end(), batch.data.begin() + i * 3 * h * w);
  }
  return batch;
}

// SSDScoringHead's view / permute / reshape: map k's [N, A * columns, H, W] to rows
// (y, x, a) of `columns` values, appended to each image's matrix.
void flatten_head(const Tensor& map, int64_t boxes, int64_t columns, std::vector<std::vector<float>>& rows) {
  const int64_t n = map.shape[0], h = map.shape[2], w = map.shape[3];
  if (map.shape[1] != boxes * columns)
    throw std::logic_error(cat("Ssd: a head map has ", map.shape[1], " channels, expected ", boxes * columns));
  for (int64_t i = 0; i < n; ++i) {
    auto& out = rows[static_cast<size_t>(i)];
    const float* src = map.data.data() + i * boxes * columns * h * w;
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x)
        for (int64_t a = 0; a < boxes; ++a)
          for (int64_t c = 0; c < columns; ++c) out.push_back(src[((a * columns + c) * h + y) * w + x]);
  }
}

// SSD.postprocess_detections for one image (boxes in network-input pixels).
Detections postprocess(const std::vector<float>& logits, const std::vector<float>& regression, std::span<const Box> priors,
                       const SsdArch& a, const SelectionParams& select) {
  const int64_t classes = a.num_classes;
  const std::vector<float> scores = softmax_rows(logits, classes);
  std::vector<BoxDelta> codes(priors.size());
  for (size_t i = 0; i < priors.size(); ++i)
    codes[i] = {regression[4 * i], regression[4 * i + 1], regression[4 * i + 2], regression[4 * i + 3]};
  const std::vector<Box> decoded = clip_boxes_to_image(BoxCoder(a.box_weights).decode(codes, priors), a.height, a.width);

  std::vector<Box> boxes;
  std::vector<float> kept_scores;
  std::vector<int64_t> labels;
  std::vector<int64_t> idx;
  for (int64_t label = 1; label < classes; ++label) {
    idx.clear();
    for (size_t i = 0; i < priors.size(); ++i)
      if (scores[i * classes + label] > select.score_thresh) idx.push_back(static_cast<int64_t>(i));
    // score.topk(min(topk_candidates, count)): the best by decreasing score.
    const auto take = std::min<size_t>(idx.size(), static_cast<size_t>(a.topk_candidates));
    auto by_score = [&](int64_t p, int64_t q) { return scores[p * classes + label] > scores[q * classes + label]; };
    std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(take), idx.end(), by_score);
    std::stable_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(take), by_score);
    for (size_t k = 0; k < take; ++k) {
      boxes.push_back(decoded[static_cast<size_t>(idx[k])]);
      kept_scores.push_back(scores[idx[k] * classes + label]);
      labels.push_back(label);
    }
  }
  return select_detections(boxes, kept_scores, labels, select);
}

}  // namespace

DefaultBoxParams default_box_params(const SsdArch& a) {
  DefaultBoxParams p;
  p.aspect_ratios = a.aspect_ratios;
  p.scales = a.scales;
  p.min_ratio = a.min_ratio;
  p.max_ratio = a.max_ratio;
  p.steps = a.steps;
  p.clip = a.clip;
  return p;
}

Ssd::Ssd(std::unique_ptr<Model> model, const SsdArch& arch, const SelectionParams& select)
    : model_(std::move(model)), arch_(arch), boxes_(default_box_params(arch)), select_(select) {}

Ssd::~Ssd() = default;

std::unique_ptr<Ssd> Ssd::load(const std::string& config, const std::string& weights, const DetectorOptions& options) {
  LoadOptions load = options.load;  // --labels ("input" keys are refused: the architecture sizes and normalises)
  if (!weights.empty()) load.weights = weights;
  std::unique_ptr<Model> model = Model::load(config, load);
  const SsdArch arch = ssd_arch_of_config(config);
  SelectionParams select;
  select.score_thresh = arch.score_thresh;
  select.iou_thresh = arch.nms_thresh;
  select.max_detections = arch.detections_per_img;
  select = options.apply(select);
  try {
    return std::unique_ptr<Ssd>(new Ssd(std::move(model), arch, select));
  } catch (const std::invalid_argument& e) {
    throw ModelError(cat(config, ": detector: ", e.what()));
  }
}

std::vector<Detections> Ssd::detect(std::span<const Tensor> images, Trace* trace) {
  if (images.empty()) return {};
  Tensor batch = fixed_size_batch(images, arch_);
  const std::vector<Tensor> out = model_->run(batch);
  const size_t maps = arch_.maps();
  if (out.size() != 2 * maps) throw std::logic_error(cat("Ssd: the graph has ", out.size(), " outputs, expected ", 2 * maps));
  const size_t n = images.size();
  std::vector<std::vector<float>> logits(n), regression(n);
  std::vector<GridSize> grids;
  for (size_t k = 0; k < maps; ++k) {
    const int64_t boxes = boxes_.boxes_per_location(k);
    flatten_head(out[k], boxes, arch_.num_classes, logits);
    flatten_head(out[maps + k], boxes, 4, regression);
    grids.push_back({out[k].shape[2], out[k].shape[3]});
  }
  const std::vector<Box> priors = boxes_.generate({arch_.height, arch_.width}, grids);
  std::vector<Detections> detections;
  for (size_t i = 0; i < n; ++i) {
    Detections d = postprocess(logits[i], regression[i], priors, arch_, select_);
    d.boxes = resize_boxes(d.boxes, {arch_.height, arch_.width}, {images[i].shape[1], images[i].shape[2]});
    detections.push_back(std::move(d));
  }
  if (trace) {
    trace->batch = std::move(batch);
    trace->grids = grids;
    trace->priors = priors;
    const auto anchors = static_cast<int64_t>(priors.size());
    trace->cls_logits.clear();
    trace->bbox_regression.clear();
    for (size_t i = 0; i < n; ++i) {
      trace->cls_logits.emplace_back(Shape{anchors, arch_.num_classes}, std::move(logits[i]));
      trace->bbox_regression.emplace_back(Shape{anchors, 4}, std::move(regression[i]));
    }
  }
  return detections;
}

const ModelConfig& Ssd::config() const { return model_->config(); }

// The detector registry's entry (detect/detector.cpp).
std::unique_ptr<Detector> load_ssd_detector(const std::string& config, const std::string& weights,
                                            const DetectorOptions& options) {
  return Ssd::load(config, weights, options);
}

}  // namespace osprey::detect
