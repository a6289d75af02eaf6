// Letterbox resizing (Ultralytics' LetterBox / scale_boxes, Darknet's letterbox_image /
// resize_image / correct_yolo_boxes); see letterbox.hpp for the two conventions.
#include "detect/letterbox.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "detect/transform.hpp"

namespace osprey::detect {

namespace {

// Python's round() on a double: halves go to the even neighbour (the default rounding mode).
int64_t python_round(double v) { return static_cast<int64_t>(std::nearbyint(v)); }

void check_image(const Tensor& image, int64_t height, int64_t width, const char* who) {
  if (image.shape.size() != 3 || image.shape[1] <= 0 || image.shape[2] <= 0)
    throw std::invalid_argument(std::string(who) + ": expected a non-empty [C, H, W] image, got shape " + to_string(image.shape));
  if (height <= 0 || width <= 0)
    throw std::invalid_argument(std::string(who) + ": expected a positive output size, got " + std::to_string(height) + "x" +
                                std::to_string(width));
}

// `src` [C, h, w] copied into `dst` [C, H, W] at (left, top).
void embed(const Tensor& src, Tensor& dst, int64_t top, int64_t left) {
  const int64_t c = src.shape[0], h = src.shape[1], w = src.shape[2];
  const int64_t H = dst.shape[1], W = dst.shape[2];
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t y = 0; y < h; ++y)
      std::copy_n(src.data.begin() + (ch * h + y) * w, w, dst.data.begin() + (ch * H + y + top) * W + left);
}

LetterboxedImage letterbox_ultralytics(const Tensor& image, int64_t height, int64_t width, float pad_value) {
  const int64_t c = image.shape[0], h = image.shape[1], w = image.shape[2];
  const double r = std::min(static_cast<double>(height) / static_cast<double>(h), static_cast<double>(width) / static_cast<double>(w));
  const int64_t new_w = python_round(static_cast<double>(w) * r), new_h = python_round(static_cast<double>(h) * r);
  const double dw = static_cast<double>(width - new_w) / 2, dh = static_cast<double>(height - new_h) / 2;
  const int64_t top = python_round(dh - 0.1), left = python_round(dw - 0.1);
  // cv2.resize(INTER_LINEAR) on float input computes torch's bilinear formula (source
  // (dst + 0.5) * in / out - 0.5, clamped at 0, upper neighbour clamped to the last pixel),
  // which resize_bilinear implements; on 8-bit input OpenCV rounds its weights to 11 bits.
  const Tensor resized = (new_h == h && new_w == w) ? image : resize_bilinear(image, new_h, new_w);
  LetterboxedImage out;
  // round(dh - 0.1) + round(dh + 0.1) == 2 dh for the half-integer dh that occur, so the
  // padded image is exactly height x width.
  out.image = Tensor({c, height, width}, std::vector<float>(static_cast<size_t>(c * height * width), pad_value));
  embed(resized, out.image, top, left);
  // scale_boxes recomputes gain and pads from the two shapes.
  out.box.scale = out.box.scale_y = static_cast<float>(r);
  out.box.pad_left = static_cast<float>(python_round((static_cast<double>(width) - static_cast<double>(w) * r) / 2 - 0.1));
  out.box.pad_top = static_cast<float>(python_round((static_cast<double>(height) - static_cast<double>(h) * r) / 2 - 0.1));
  out.box.image_height = h;
  out.box.image_width = w;
  return out;
}

LetterboxedImage letterbox_darknet(const Tensor& image, int64_t height, int64_t width, float pad_value) {
  const int64_t c = image.shape[0], h = image.shape[1], w = image.shape[2];
  int64_t new_w = w, new_h = h;
  // Darknet compares the two ratios in float32.
  if (static_cast<float>(width) / static_cast<float>(w) < static_cast<float>(height) / static_cast<float>(h)) {
    new_w = width;
    new_h = (h * width) / w;
  } else {
    new_h = height;
    new_w = (w * height) / h;
  }
  const Tensor resized = resize_darknet(image, new_h, new_w);
  LetterboxedImage out;
  out.image = Tensor({c, height, width}, std::vector<float>(static_cast<size_t>(c * height * width), pad_value));
  // embed_image drops what falls outside (set_pixel ignores it); new sizes never exceed the canvas.
  embed(resized, out.image, (height - new_h) / 2, (width - new_w) / 2);
  // correct_yolo_boxes: float pads, per-axis scales.
  out.box.scale = static_cast<float>(new_w) / static_cast<float>(w);
  out.box.scale_y = static_cast<float>(new_h) / static_cast<float>(h);
  out.box.pad_left = static_cast<float>(width - new_w) / 2.0f;
  out.box.pad_top = static_cast<float>(height - new_h) / 2.0f;
  out.box.image_height = h;
  out.box.image_width = w;
  return out;
}

}  // namespace

Tensor resize_darknet(const Tensor& image, int64_t out_h, int64_t out_w) {
  check_image(image, out_h, out_w, "resize_darknet");
  const int64_t c = image.shape[0], h = image.shape[1], w = image.shape[2];
  // (in - 1) / (out - 1) in float32; an output of one pixel samples the first source pixel
  // (Darknet divides by zero there).
  const float w_scale = out_w > 1 ? static_cast<float>(w - 1) / static_cast<float>(out_w - 1) : 0.0f;
  const float h_scale = out_h > 1 ? static_cast<float>(h - 1) / static_cast<float>(out_h - 1) : 0.0f;
  // Pass 1: every source row resampled to out_w columns; the last column is the source's last.
  Tensor part({c, h, out_w});
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t r = 0; r < h; ++r) {
      const float* src = image.data.data() + (ch * h + r) * w;
      float* dst = part.data.data() + (ch * h + r) * out_w;
      for (int64_t x = 0; x < out_w; ++x) {
        if (x == out_w - 1 || w == 1) {
          dst[x] = src[w - 1];
        } else {
          const float sx = static_cast<float>(x) * w_scale;
          const auto ix = static_cast<int64_t>(sx);
          const float dx = sx - static_cast<float>(ix);
          dst[x] = (1 - dx) * src[ix] + dx * src[ix + 1];
        }
      }
    }
  // Pass 2: rows blended; the last output row (or a one-row source) takes (1 - dy) of its
  // row alone, as Darknet skips the second term there.
  Tensor out({c, out_h, out_w});
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t r = 0; r < out_h; ++r) {
      const float sy = static_cast<float>(r) * h_scale;
      const auto iy = static_cast<int64_t>(sy);
      const float dy = sy - static_cast<float>(iy);
      const float* p0 = part.data.data() + (ch * h + iy) * out_w;
      float* dst = out.data.data() + (ch * out_h + r) * out_w;
      for (int64_t x = 0; x < out_w; ++x) dst[x] = (1 - dy) * p0[x];
      if (r == out_h - 1 || h == 1) continue;
      const float* p1 = p0 + out_w;
      for (int64_t x = 0; x < out_w; ++x) dst[x] += dy * p1[x];
    }
  return out;
}

LetterboxedImage letterbox(const Tensor& image, int64_t height, int64_t width, LetterboxStyle style, float pad_value) {
  check_image(image, height, width, "letterbox");
  return style == LetterboxStyle::Ultralytics ? letterbox_ultralytics(image, height, width, pad_value)
                                              : letterbox_darknet(image, height, width, pad_value);
}

Box Letterbox::to_image(const Box& b) const {
  const auto w = static_cast<float>(image_width), h = static_cast<float>(image_height);
  Box out{(b.x1 - pad_left) / scale, (b.y1 - pad_top) / scale_y, (b.x2 - pad_left) / scale, (b.y2 - pad_top) / scale_y};
  // clip_boxes: torch.clamp(0, shape), NaN stays NaN.
  auto clamp = [](float v, float hi) { return v < 0 ? 0.0f : (v > hi ? hi : v); };
  return {clamp(out.x1, w), clamp(out.y1, h), clamp(out.x2, w), clamp(out.y2, h)};
}

std::vector<Box> Letterbox::to_image(std::span<const Box> boxes) const {
  std::vector<Box> out;
  out.reserve(boxes.size());
  for (const Box& b : boxes) out.push_back(to_image(b));
  return out;
}

}  // namespace osprey::detect
