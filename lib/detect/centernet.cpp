#include "detect/centernet.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "core/error.hpp"
#include "model/json_reader.hpp"
#include "model/model.hpp"

namespace osprey::detect {

Candidates centernet_candidates(const Tensor& heatmap, const Tensor& sizes, const CenterNetParams& params) {
  const Shape& hs = heatmap.shape;
  if (hs.size() < 3) throw std::invalid_argument(cat("expected a heatmap [1, H, W, C], got ", to_string(hs)));
  const int64_t h = hs[hs.size() - 3], w = hs[hs.size() - 2], classes = hs.back();
  if (heatmap.size() != h * w * classes || sizes.size() != h * w * 4)
    throw std::invalid_argument(cat("expected one image's heatmap and sizes [1, H, W, 4], got ", to_string(hs), " and ", to_string(sizes.shape)));
  const float* heat = heatmap.data.data();
  // Peaks: equal to the maximum of their 3x3 neighbourhood (cells outside the map do not count).
  std::vector<int64_t> peaks;
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t c = 0; c < classes; ++c) {
        const float v = heat[(y * w + x) * classes + c];
        bool peak = true;
        for (int64_t dy = -1; dy <= 1 && peak; ++dy)
          for (int64_t dx = -1; dx <= 1 && peak; ++dx) {
            const int64_t yy = y + dy, xx = x + dx;
            if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
            peak = heat[(yy * w + xx) * classes + c] <= v;
          }
        if (peak) peaks.push_back((y * w + x) * classes + c);
      }
  // Non-peaks score 0 in the graph's TopK; they only enter when fewer than top_k peaks exist,
  // and a threshold above 0 drops them, so ranking the peaks alone gives the same boxes.
  const size_t k = std::min(peaks.size(), static_cast<size_t>(std::max(params.top_k, 0)));
  std::partial_sort(peaks.begin(), peaks.begin() + static_cast<std::ptrdiff_t>(k), peaks.end(), [&](int64_t a, int64_t b) {
    return heat[a] > heat[b] || (heat[a] == heat[b] && a < b);
  });
  Candidates out;
  const float s = static_cast<float>(params.stride);
  for (size_t i = 0; i < k; ++i) {
    const int64_t idx = peaks[i];
    const float score = heat[idx];
    if (!(score > params.select.score_thresh)) continue;
    const int64_t cell = idx / classes, c = idx % classes;
    const float x = static_cast<float>(cell % w) * s, y = static_cast<float>(cell / w) * s;
    const float* d = sizes.data.data() + cell * 4;
    out.boxes.push_back({x - d[0], y - d[1], x + d[2], y + d[3]});
    out.scores.push_back(score);
    out.labels.push_back(c);
  }
  return out;
}

CenterNet::CenterNet(std::unique_ptr<Model> model, CenterNetParams params) : model_(std::move(model)), params_(std::move(params)) {}
CenterNet::~CenterNet() = default;

const ModelConfig& CenterNet::config() const { return model_->config(); }

std::vector<Detections> CenterNet::detect(std::span<const Tensor> images) {
  const InputSpec& spec = model_->config().input;
  std::vector<Detections> result;
  for (const Tensor& image : images) {
    const std::vector<Tensor> out = model_->run(stretched_input(image, spec));
    if (out.size() != 2)
      throw ModelError(cat(model_->config().path, ": CenterNet needs 2 outputs (heatmap, sizes), the model has ", out.size()));
    Candidates c = centernet_candidates(out[0], out[1], params_);
    result.push_back(select_and_rescale(std::move(c), spec.height, spec.width, image.shape[1], image.shape[2], params_.select));
  }
  return result;
}

// The detector registry's entry (detect/detector.cpp). Keys of the config's "detector":
// stride, top_k, score_thresh, iou_thresh, max_detections, agnostic.
std::unique_ptr<Detector> load_centernet_detector(const std::string& config, const std::string& weights, const DetectorOptions& options) {
  if (!weights.empty()) throw ModelError(cat(config, ": a TF.js detector carries its weights; --weights does not apply"));
  CenterNetParams p;
  read_detector_object(config, [&](ObjectReader& d) {
    p.stride = d.integer("stride", p.stride);
    p.top_k = d.integer("top_k", p.top_k);
    p.select.score_thresh = static_cast<float>(d.number("score_thresh", p.select.score_thresh));
    p.select.iou_thresh = d.number("iou_thresh", p.select.iou_thresh);
    p.select.max_detections = d.integer("max_detections", static_cast<int>(p.select.max_detections));
    if (!d.boolean("agnostic", true)) p.select.suppression = Suppression::PerClass;
    if (p.stride <= 0) d.fail("stride", cat("expected a positive stride, got ", p.stride));
    if (p.top_k < 1) d.fail("top_k", cat("expected a positive count, got ", p.top_k));
    if (p.select.max_detections < 1) d.fail("max_detections", cat("expected a positive count, got ", p.select.max_detections));
  });
  p.select = options.apply(p.select);
  return std::make_unique<CenterNet>(Model::load(config, options.load), std::move(p));
}

}  // namespace osprey::detect
