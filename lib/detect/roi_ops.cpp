#include "detect/roi_ops.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <stdexcept>
#include <string>

#include "core/error.hpp"

namespace osprey::detect {

namespace {

std::string shape_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

struct FeatureMap {
  const float* data;
  int64_t batch, channels, height, width;
};

FeatureMap feature_map(const Tensor& features, const char* what) {
  if (features.shape.size() != 4)
    throw std::invalid_argument(cat("expected ", what, " of shape [N, C, H, W], got ", shape_string(features.shape)));
  return {features.data.data(), features.shape[0], features.shape[1], features.shape[2], features.shape[3]};
}

// Rows of (batch_index, x1, y1, x2, y2); batch indices are truncated to int (as torchvision)
// and must name an image of the batch.
void check_rois(const Tensor& rois, int64_t batch) {
  if (rois.shape.size() != 2 || rois.shape[1] != 5)
    throw std::invalid_argument(cat("expected rois of shape [K, 5], got ", shape_string(rois.shape)));
  for (int64_t k = 0; k < rois.shape[0]; ++k) {
    const float b = rois.data[static_cast<size_t>(5 * k)];
    if (!(b > -1.0f && b < static_cast<float>(batch)))
      throw std::invalid_argument(cat("expected roi batch indices in [0, ", batch, "), got ", b, " in roi ", k));
  }
}

void check_output_size(int64_t h, int64_t w) {
  if (h <= 0 || w <= 0) throw std::invalid_argument(cat("expected an output size > 0, got ", h, "x", w));
}

// Bilinear sample of one point: four positions in the plane and their weights.
struct Sample {
  int64_t pos1, pos2, pos3, pos4;
  float w1, w2, w3, w4;
};

// torchvision's pre_calc_for_bilinear_interpolate: a sample outside [-1, H] x [-1, W] (or at
// a NaN position) has zero weights; otherwise the position is clamped into the map.
Sample bilinear_sample(int64_t height, int64_t width, float y, float x) {
  if (!(y >= -1.0f && y <= static_cast<float>(height) && x >= -1.0f && x <= static_cast<float>(width)))
    return {0, 0, 0, 0, 0.0f, 0.0f, 0.0f, 0.0f};
  if (y <= 0) y = 0;
  if (x <= 0) x = 0;
  int64_t y_low = static_cast<int64_t>(y), x_low = static_cast<int64_t>(x);
  int64_t y_high, x_high;
  if (y_low >= height - 1) {
    y_high = y_low = height - 1;
    y = static_cast<float>(y_low);
  } else {
    y_high = y_low + 1;
  }
  if (x_low >= width - 1) {
    x_high = x_low = width - 1;
    x = static_cast<float>(x_low);
  } else {
    x_high = x_low + 1;
  }
  const float ly = y - static_cast<float>(y_low), lx = x - static_cast<float>(x_low);
  const float hy = 1.0f - ly, hx = 1.0f - lx;
  return {y_low * width + x_low, y_low * width + x_high, y_high * width + x_low, y_high * width + x_high,
          hy * hx, hy * lx, ly * hx, ly * lx};
}

// RoIAlign of one RoI (box already in image pixels) on one feature map: writes C * oh * ow.
void align_one(const FeatureMap& f, int64_t batch_index, const float* box, const RoiAlignParams& p, float* out,
               std::vector<Sample>& samples) {
  const float scale = p.spatial_scale;
  const float offset = p.aligned ? 0.5f : 0.0f;
  const float start_w = box[0] * scale - offset;
  const float start_h = box[1] * scale - offset;
  const float end_w = box[2] * scale - offset;
  const float end_h = box[3] * scale - offset;
  float roi_w = end_w - start_w, roi_h = end_h - start_h;
  if (!p.aligned) {  // malformed RoIs count as 1x1
    roi_w = std::max(roi_w, 1.0f);
    roi_h = std::max(roi_h, 1.0f);
  }
  const int64_t oh = p.output_h, ow = p.output_w;
  const float bin_h = roi_h / static_cast<float>(oh);
  const float bin_w = roi_w / static_cast<float>(ow);
  // Adaptive grid: ceil(roi size / output size). torchvision gives a zero output for an empty
  // or negative grid (an inverted box with aligned = true); so does this.
  auto grid = [&](float roi_size, int64_t out_size) -> int64_t {
    if (p.sampling_ratio > 0) return p.sampling_ratio;
    const float g = std::ceil(roi_size / static_cast<float>(out_size));
    return g > 0 ? static_cast<int64_t>(std::min(g, 1e6f)) : 0;
  };
  const int64_t grid_h = grid(roi_h, oh), grid_w = grid(roi_w, ow);
  const float count = static_cast<float>(std::max<int64_t>(grid_h * grid_w, 1));

  samples.resize(static_cast<size_t>(oh * ow * grid_h * grid_w));
  size_t n = 0;
  for (int64_t ph = 0; ph < oh; ++ph)
    for (int64_t pw = 0; pw < ow; ++pw)
      for (int64_t iy = 0; iy < grid_h; ++iy) {
        const float y = start_h + static_cast<float>(ph) * bin_h +
                        static_cast<float>(iy + 0.5f) * bin_h / static_cast<float>(grid_h);
        for (int64_t ix = 0; ix < grid_w; ++ix) {
          const float x = start_w + static_cast<float>(pw) * bin_w +
                          static_cast<float>(ix + 0.5f) * bin_w / static_cast<float>(grid_w);
          samples[n++] = bilinear_sample(f.height, f.width, y, x);
        }
      }

  const int64_t per_bin = grid_h * grid_w;
  for (int64_t c = 0; c < f.channels; ++c) {
    const float* plane = f.data + (batch_index * f.channels + c) * f.height * f.width;
    const Sample* s = samples.data();
    for (int64_t bin = 0; bin < oh * ow; ++bin) {
      float value = 0.0f;
      for (int64_t k = 0; k < per_bin; ++k, ++s)
        value += s->w1 * plane[s->pos1] + s->w2 * plane[s->pos2] + s->w3 * plane[s->pos3] + s->w4 * plane[s->pos4];
      out[c * oh * ow + bin] = value / count;
    }
  }
}

}  // namespace

Tensor roi_align(const Tensor& features, const Tensor& rois, const RoiAlignParams& params) {
  const FeatureMap f = feature_map(features, "features");
  check_rois(rois, f.batch);
  check_output_size(params.output_h, params.output_w);
  const int64_t k_rois = rois.shape[0];
  const int64_t per_roi = f.channels * params.output_h * params.output_w;
  std::vector<float> out(static_cast<size_t>(k_rois * per_roi), 0.0f);
#pragma omp parallel
  {
    std::vector<Sample> samples;
#pragma omp for schedule(dynamic, 4)
    for (int64_t k = 0; k < k_rois; ++k) {
      const float* roi = rois.data.data() + 5 * k;
      align_one(f, static_cast<int64_t>(roi[0]), roi + 1, params, out.data() + k * per_roi, samples);
    }
  }
  return Tensor({k_rois, f.channels, params.output_h, params.output_w}, std::move(out));
}

Tensor roi_pool(const Tensor& features, const Tensor& rois, int64_t output_h, int64_t output_w, float spatial_scale) {
  const FeatureMap f = feature_map(features, "features");
  check_rois(rois, f.batch);
  check_output_size(output_h, output_w);
  const int64_t k_rois = rois.shape[0];
  const int64_t per_roi = f.channels * output_h * output_w;
  std::vector<float> out(static_cast<size_t>(k_rois * per_roi), 0.0f);
#pragma omp parallel for schedule(dynamic, 4)
  for (int64_t k = 0; k < k_rois; ++k) {
    const float* roi = rois.data.data() + 5 * k;
    const int64_t batch_index = static_cast<int64_t>(roi[0]);
    const int64_t start_w = static_cast<int64_t>(std::round(roi[1] * spatial_scale));
    const int64_t start_h = static_cast<int64_t>(std::round(roi[2] * spatial_scale));
    const int64_t end_w = static_cast<int64_t>(std::round(roi[3] * spatial_scale));
    const int64_t end_h = static_cast<int64_t>(std::round(roi[4] * spatial_scale));
    const int64_t roi_w = std::max<int64_t>(end_w - start_w + 1, 1);
    const int64_t roi_h = std::max<int64_t>(end_h - start_h + 1, 1);
    const float bin_h = static_cast<float>(roi_h) / static_cast<float>(output_h);
    const float bin_w = static_cast<float>(roi_w) / static_cast<float>(output_w);
    float* dst = out.data() + k * per_roi;
    for (int64_t ph = 0; ph < output_h; ++ph) {
      for (int64_t pw = 0; pw < output_w; ++pw) {
        auto clip = [](int64_t v, int64_t hi) { return std::min(std::max<int64_t>(v, 0), hi); };
        const int64_t h0 = clip(static_cast<int64_t>(std::floor(static_cast<float>(ph) * bin_h)) + start_h, f.height);
        const int64_t h1 = clip(static_cast<int64_t>(std::ceil(static_cast<float>(ph + 1) * bin_h)) + start_h, f.height);
        const int64_t w0 = clip(static_cast<int64_t>(std::floor(static_cast<float>(pw) * bin_w)) + start_w, f.width);
        const int64_t w1 = clip(static_cast<int64_t>(std::ceil(static_cast<float>(pw + 1) * bin_w)) + start_w, f.width);
        const bool empty = h1 <= h0 || w1 <= w0;
        for (int64_t c = 0; c < f.channels; ++c) {
          const float* plane = f.data + (batch_index * f.channels + c) * f.height * f.width;
          float best = empty ? 0.0f : -FLT_MAX;
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) best = std::max(best, plane[h * f.width + w]);
          dst[(c * output_h + ph) * output_w + pw] = best;
        }
      }
    }
  }
  return Tensor({k_rois, f.channels, output_h, output_w}, std::move(out));
}

int64_t LevelMapper::level(const Box& box) const {
  const float s = std::sqrt(box_area(box));
  const float k = std::floor(static_cast<float>(canonical_level) + std::log2(s / static_cast<float>(canonical_scale)) + eps);
  if (std::isnan(k)) return -1;  // inverted box (negative area): torchvision pools it from no level
  return static_cast<int64_t>(std::clamp(k, static_cast<float>(k_min), static_cast<float>(k_max))) - k_min;
}

std::vector<int64_t> LevelMapper::operator()(std::span<const Box> boxes) const {
  std::vector<int64_t> out(boxes.size());
  for (size_t i = 0; i < boxes.size(); ++i) out[i] = level(boxes[i]);
  return out;
}

float infer_scale(int64_t feature_h, int64_t image_h) {
  if (feature_h <= 0 || image_h <= 0)
    throw std::invalid_argument(cat("expected feature and image heights > 0, got ", feature_h, " and ", image_h));
  const float approx = static_cast<float>(static_cast<double>(feature_h) / static_cast<double>(image_h));
  return std::ldexp(1.0f, static_cast<int>(std::nearbyint(std::log2(approx))));
}

Tensor multiscale_roi_align(std::span<const Tensor> features, const Tensor& rois, std::span<const ImageSize> image_sizes,
                            const MultiScaleRoiAlignParams& params) {
  if (features.empty()) throw std::invalid_argument("expected at least one feature map, got none");
  if (image_sizes.empty()) throw std::invalid_argument("expected at least one image size, got none");
  std::vector<FeatureMap> maps;
  for (const Tensor& t : features) {
    maps.push_back(feature_map(t, "pyramid features"));
    if (maps.back().batch != maps[0].batch || maps.back().channels != maps[0].channels)
      throw std::invalid_argument(cat("expected pyramid features of shape [", maps[0].batch, ", ", maps[0].channels,
                                      ", H, W], got ", shape_string(t.shape)));
  }
  check_rois(rois, maps[0].batch);
  check_output_size(params.output_h, params.output_w);

  int64_t max_h = 0;
  for (const ImageSize& s : image_sizes) max_h = std::max(max_h, s.height);
  std::vector<RoiAlignParams> level_params(maps.size());
  for (size_t l = 0; l < maps.size(); ++l)
    level_params[l] = {params.output_h, params.output_w, infer_scale(maps[l].height, max_h), params.sampling_ratio, false};
  LevelMapper mapper;
  mapper.k_min = static_cast<int>(-std::log2(level_params.front().spatial_scale));
  mapper.k_max = static_cast<int>(-std::log2(level_params.back().spatial_scale));
  mapper.canonical_scale = params.canonical_scale;
  mapper.canonical_level = params.canonical_level;

  const int64_t k_rois = rois.shape[0];
  const int64_t per_roi = maps[0].channels * params.output_h * params.output_w;
  std::vector<float> out(static_cast<size_t>(k_rois * per_roi), 0.0f);
#pragma omp parallel
  {
    std::vector<Sample> samples;
#pragma omp for schedule(dynamic, 4)
    for (int64_t k = 0; k < k_rois; ++k) {
      const float* roi = rois.data.data() + 5 * k;
      const int64_t level = maps.size() == 1 ? 0 : mapper.level({roi[1], roi[2], roi[3], roi[4]});
      if (level < 0 || level >= static_cast<int64_t>(maps.size())) continue;  // stays zero, as torchvision
      align_one(maps[static_cast<size_t>(level)], static_cast<int64_t>(roi[0]), roi + 1,
                level_params[static_cast<size_t>(level)], out.data() + k * per_roi, samples);
    }
  }
  return Tensor({k_rois, maps[0].channels, params.output_h, params.output_w}, std::move(out));
}

}  // namespace osprey::detect
