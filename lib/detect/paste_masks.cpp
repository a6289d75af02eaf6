#include "detect/paste_masks.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "core/error.hpp"
#include "detect/transform.hpp"

namespace osprey::detect {

namespace {

// Python's slice [start:stop] on a sequence of length n: negative bounds count from the end,
// then both are clamped to [0, n]. Returns {first, length}.
std::pair<int64_t, int64_t> python_slice(int64_t start, int64_t stop, int64_t n) {
  auto norm = [n](int64_t i) { return i < 0 ? std::max<int64_t>(i + n, 0) : std::min(i, n); };
  const int64_t a = norm(start), b = norm(stop);
  return {a, std::max<int64_t>(b - a, 0)};
}

}  // namespace

PixelBox expand_box(const Box& box, float scale) {
  float w_half = (box.x2 - box.x1) * 0.5f;
  float h_half = (box.y2 - box.y1) * 0.5f;
  const float x_c = (box.x2 + box.x1) * 0.5f;
  const float y_c = (box.y2 + box.y1) * 0.5f;
  w_half *= scale;
  h_half *= scale;
  return {static_cast<int64_t>(x_c - w_half), static_cast<int64_t>(y_c - h_half), static_cast<int64_t>(x_c + w_half),
          static_cast<int64_t>(y_c + h_half)};
}

Tensor paste_mask_in_image(std::span<const float> mask, int64_t m, const Box& box, ImageSize image, int padding) {
  if (m <= 0 || static_cast<int64_t>(mask.size()) != m * m)
    throw std::invalid_argument(cat("paste_mask_in_image: expected an M x M mask, got ", mask.size(), " values for M = ", m));
  if (padding < 0) throw std::invalid_argument(cat("paste_mask_in_image: expected padding >= 0, got ", padding));
  if (image.height <= 0 || image.width <= 0)
    throw std::invalid_argument(cat("paste_mask_in_image: expected a non-empty image, got ", image.height, "x", image.width));
  // expand_masks: zero padding, and the box scale that keeps the mask's pixels where they were.
  const int64_t padded = m + 2 * padding;
  Tensor src({1, padded, padded});
  for (int64_t y = 0; y < m; ++y)
    std::copy_n(mask.data() + y * m, m, src.data.data() + (y + padding) * padded + padding);
  const auto scale = static_cast<float>(static_cast<double>(padded) / static_cast<double>(m));
  const PixelBox b = expand_box(box, scale);

  const int64_t w = std::max<int64_t>(b.x2 - b.x1 + 1, 1);
  const int64_t h = std::max<int64_t>(b.y2 - b.y1 + 1, 1);
  // im_mask[y0:y1, x0:x1] = resized[y0 - by1 : y1 - by1, x0 - bx1 : x1 - bx1] with Python's
  // slice rules on both sides, and torch's broadcasting of a length-1 source.
  const int64_t x0 = std::max<int64_t>(b.x1, 0), x1 = std::min<int64_t>(b.x2 + 1, image.width);
  const int64_t y0 = std::max<int64_t>(b.y1, 0), y1 = std::min<int64_t>(b.y2 + 1, image.height);
  const auto [dy, dh] = python_slice(y0, y1, image.height);
  const auto [dx, dw] = python_slice(x0, x1, image.width);
  const auto [sy, sh] = python_slice(y0 - b.y1, y1 - b.y1, h);
  const auto [sx, sw] = python_slice(x0 - b.x1, x1 - b.x1, w);
  if ((sh != dh && sh != 1) || (sw != dw && sw != 1))
    throw std::invalid_argument(cat("paste_mask_in_image: box [", box.x1, ", ", box.y1, ", ", box.x2, ", ", box.y2,
                                    "] does not overlap the ", image.height, "x", image.width, " image as torchvision requires"));
  Tensor out({image.height, image.width});
  if (dh == 0 || dw == 0) return out;
  const Tensor resized = resize_bilinear(src, h, w);
  for (int64_t y = 0; y < dh; ++y) {
    const float* row = resized.data.data() + (sy + (sh == 1 ? 0 : y)) * w + sx;
    float* o = out.data.data() + (dy + y) * image.width + dx;
    if (sw == 1)
      std::fill_n(o, dw, row[0]);
    else
      std::copy_n(row, dw, o);
  }
  return out;
}

Tensor paste_masks_in_image(const Tensor& masks, std::span<const Box> boxes, ImageSize image, int padding) {
  const size_t rank = masks.shape.size();
  if (!(rank == 3 || (rank == 4 && masks.shape[1] == 1)) || masks.shape[rank - 1] != masks.shape[rank - 2])
    throw std::invalid_argument(cat("paste_masks_in_image: expected masks [K, M, M] or [K, 1, M, M], got ", to_string(masks.shape)));
  const int64_t k = masks.shape[0], m = masks.shape[rank - 1];
  if (static_cast<int64_t>(boxes.size()) != k)
    throw std::invalid_argument(cat("paste_masks_in_image: expected ", k, " boxes, got ", boxes.size()));
  Tensor out({k, image.height, image.width});
  const int64_t plane = image.height * image.width;
  for (int64_t i = 0; i < k; ++i) {
    const Tensor one = paste_mask_in_image(std::span<const float>(masks.data.data() + i * m * m, static_cast<size_t>(m * m)), m,
                                           boxes[static_cast<size_t>(i)], image, padding);
    std::copy(one.data.begin(), one.data.end(), out.data.begin() + i * plane);
  }
  return out;
}

}  // namespace osprey::detect
