// Letterbox resizing, as single-shot detectors feed images to fixed-size networks: the image
// is scaled to fit the network input keeping its aspect ratio, and the rest is filled with
// a constant grey. Two conventions exist and both are needed:
//   - Ultralytics (YOLOv5 / v8 `LetterBox`, auto=False, scaleup=True): r = min(H / h, W / w),
//     unpadded size (round(w r), round(h r)), padding split left/right and top/bottom as
//     round(d / 2 - 0.1) / round(d / 2 + 0.1), bilinear resize, pad value 114 / 255.
//   - Darknet (letterbox_image): new size (w r, h r) truncated to int, padding
//     (W - new_w) / 2 left and (H - new_h) / 2 top (integer division), pad value 0.5.
// Boxes found in the network input are mapped back by undoing the padding and the scale
// (Ultralytics' scale_boxes), then clipped to the image.
#pragma once

#include <span>
#include <vector>

#include "core/tensor.hpp"
#include "detect/boxes.hpp"

namespace osprey::detect {

enum class LetterboxStyle { Ultralytics, Darknet };

struct Letterbox {
  float scale = 1;             // network pixels per image pixel
  float pad_left = 0, pad_top = 0;
  int64_t image_height = 0, image_width = 0;  // the original image

  // A box in network-input pixels -> the original image's pixels, clipped to it.
  Box to_image(const Box& box) const;
  std::vector<Box> to_image(std::span<const Box> boxes) const;
};

struct LetterboxedImage {
  Tensor image;  // float32 [3, height, width]
  Letterbox box;
};

// `image`: float32 [3, H, W] (any value range; `pad_value` in the same range).
LetterboxedImage letterbox(const Tensor& image, int64_t height, int64_t width, LetterboxStyle style, float pad_value);

}  // namespace osprey::detect
