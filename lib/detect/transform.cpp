#include "detect/transform.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace osprey::detect {

ImageSize resized_size(ImageSize image, int min_size, int max_size) {
  if (image.height <= 0 || image.width <= 0)
    throw std::invalid_argument("resized_size: expected a non-empty image, got " + std::to_string(image.height) + "x" +
                                std::to_string(image.width));
  const float lo = static_cast<float>(std::min(image.height, image.width));
  const float hi = static_cast<float>(std::max(image.height, image.width));
  const float scale = std::min((1.0f / lo) * static_cast<float>(min_size), (1.0f / hi) * static_cast<float>(max_size));
  const double s = scale;  // scale.item()
  return {static_cast<int64_t>(std::floor(static_cast<double>(image.height) * s)),
          static_cast<int64_t>(std::floor(static_cast<double>(image.width) * s))};
}

namespace {

struct Taps {
  std::vector<int64_t> i0, i1;
  std::vector<float> w0, w1;
};

// ATen's compute_source_index_and_lambda (upsample, align_corners = false, no scale given).
Taps linear_taps(int64_t in, int64_t out) {
  Taps t;
  t.i0.resize(out), t.i1.resize(out), t.w0.resize(out), t.w1.resize(out);
  const float ratio = static_cast<float>(in) / static_cast<float>(out);
  for (int64_t d = 0; d < out; ++d) {
    if (in == out) {
      t.i0[d] = t.i1[d] = d, t.w0[d] = 1.0f, t.w1[d] = 0.0f;
      continue;
    }
    // The float32 ratio, the source coordinate and its fraction in double (measured against
    // torch 1.13: a float32 coordinate is off by up to 3e-6 of the pixel range).
    const double real = std::max(static_cast<double>(ratio) * (static_cast<double>(d) + 0.5) - 0.5, 0.0);
    const auto i0 = static_cast<int64_t>(real);
    t.i0[d] = i0;
    t.i1[d] = i0 + (i0 < in - 1 ? 1 : 0);
    t.w1[d] = static_cast<float>(std::min(std::max(real - static_cast<double>(i0), 0.0), 1.0));
    t.w0[d] = 1.0f - t.w1[d];
  }
  return t;
}

}  // namespace

Tensor resize_bilinear(const Tensor& image, int64_t out_h, int64_t out_w) {
  if (image.shape.size() != 3) throw std::invalid_argument("resize_bilinear: expected [C, H, W], got rank " + std::to_string(image.shape.size()));
  if (out_h <= 0 || out_w <= 0) throw std::invalid_argument("resize_bilinear: expected a positive output size");
  const int64_t c = image.shape[0], h = image.shape[1], w = image.shape[2];
  const Taps ty = linear_taps(h, out_h), tx = linear_taps(w, out_w);
  Tensor out({c, out_h, out_w}, std::vector<float>(static_cast<size_t>(c * out_h * out_w)));
#pragma omp parallel for collapse(2)
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t y = 0; y < out_h; ++y) {
      const float* r0 = image.data.data() + (ch * h + ty.i0[y]) * w;
      const float* r1 = image.data.data() + (ch * h + ty.i1[y]) * w;
      float* o = out.data.data() + (ch * out_h + y) * out_w;
      for (int64_t x = 0; x < out_w; ++x) {
        const float top = r0[tx.i0[x]] * tx.w0[x] + r0[tx.i1[x]] * tx.w1[x];
        const float bottom = r1[tx.i0[x]] * tx.w0[x] + r1[tx.i1[x]] * tx.w1[x];
        o[x] = top * ty.w0[y] + bottom * ty.w1[y];
      }
    }
  return out;
}

ImageBatch transform_images(std::span<const Tensor> images, const TransformParams& params) {
  if (images.empty()) throw std::invalid_argument("transform_images: expected at least one image, got 0");
  ImageBatch batch;
  std::vector<Tensor> resized;
  int64_t max_h = 0, max_w = 0;
  for (const Tensor& image : images) {
    if (image.shape.size() != 3 || image.shape[0] != 3)
      throw std::invalid_argument("transform_images: expected [3, H, W] images");
    const int64_t h = image.shape[1], w = image.shape[2];
    Tensor normalised = image;
    for (int64_t ch = 0; ch < 3; ++ch) {
      float* p = normalised.data.data() + ch * h * w;
      for (int64_t i = 0; i < h * w; ++i) p[i] = (p[i] - params.mean[ch]) / params.std[ch];
    }
    const ImageSize size = resized_size({h, w}, params.min_size, params.max_size);
    resized.push_back(resize_bilinear(normalised, size.height, size.width));
    batch.original_sizes.push_back({h, w});
    batch.image_sizes.push_back(size);
    max_h = std::max(max_h, size.height);
    max_w = std::max(max_w, size.width);
  }
  const int64_t d = params.size_divisible;
  const int64_t ph = (max_h + d - 1) / d * d, pw = (max_w + d - 1) / d * d;
  const auto n = static_cast<int64_t>(images.size());
  batch.tensor = Tensor({n, 3, ph, pw}, std::vector<float>(static_cast<size_t>(n * 3 * ph * pw), 0.0f));
  for (int64_t i = 0; i < n; ++i) {
    const Tensor& r = resized[i];
    const int64_t h = r.shape[1], w = r.shape[2];
    for (int64_t ch = 0; ch < 3; ++ch)
      for (int64_t y = 0; y < h; ++y)
        std::copy_n(r.data.data() + (ch * h + y) * w, w, batch.tensor.data.data() + ((i * 3 + ch) * ph + y) * pw);
  }
  return batch;
}

std::vector<Box> resize_boxes(std::span<const Box> boxes, ImageSize from, ImageSize to) {
  const float rh = static_cast<float>(to.height) / static_cast<float>(from.height);
  const float rw = static_cast<float>(to.width) / static_cast<float>(from.width);
  std::vector<Box> out;
  out.reserve(boxes.size());
  for (const Box& b : boxes) out.push_back({b.x1 * rw, b.y1 * rh, b.x2 * rw, b.y2 * rh});
  return out;
}

}  // namespace osprey::detect
