// Letterbox resizing, as single-shot detectors feed images to fixed-size networks: the image
// is scaled to fit the network input keeping its aspect ratio, and the rest is filled with
// a constant grey. Two conventions exist and both are needed:
//   - Ultralytics (ultralytics/data/augment.py `LetterBox`, auto=False, scaleup=True):
//     r = min(H / h, W / w) in double, unpadded size (round(w r), round(h r)) (Python's
//     round: halves to even), padding split left/right and top/bottom as
//     round(d / 2 - 0.1) / round(d / 2 + 0.1), cv2.resize INTER_LINEAR when the size
//     changes, pad value 114 / 255.
//   - Darknet (src/image.c letterbox_image): the limiting side becomes the network's, the
//     other (side * W) / w in integer arithmetic; Darknet's own two-pass bilinear
//     resize_image (corner-aligned: source = dst * (in - 1) / (out - 1)); placed at
//     ((W - new_w) / 2, (H - new_h) / 2) (integer division) on a canvas of 0.5.
// Boxes found in the network input are mapped back by undoing the padding and the scale,
// then clipped to the image: Ultralytics' scale_boxes (ultralytics/utils/ops.py: gain and
// integer pads recomputed from the two shapes), Darknet's correct_yolo_boxes (float pads
// (W - new_w) / 2.0, per-axis scales new_w / w and new_h / h).
#pragma once

#include <span>
#include <vector>

#include "core/tensor.hpp"
#include "detect/boxes.hpp"

namespace osprey::detect {

enum class LetterboxStyle { Ultralytics, Darknet };

struct Letterbox {
  float scale = 1;             // network pixels per image pixel (x; and y for Ultralytics)
  float scale_y = 1;           // y: equal to scale but for Darknet (new_h / h)
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

// Darknet's resize_image of [C, H, W] to [C, out_h, out_w]: each row resampled along x,
// then rows blended, source coordinate dst * (in - 1) / (out - 1) in float32.
Tensor resize_darknet(const Tensor& image, int64_t out_h, int64_t out_w);

// `image`: float32 [C, H, W] (any value range; `pad_value` in the same range; Ultralytics
// pads 114 / 255 on [0, 1] images, Darknet 0.5). Throws std::invalid_argument for an empty
// image or output size.
LetterboxedImage letterbox(const Tensor& image, int64_t height, int64_t width, LetterboxStyle style, float pad_value);

}  // namespace osprey::detect
