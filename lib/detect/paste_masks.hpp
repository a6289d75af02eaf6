// Pasting Mask R-CNN's fixed-size mask probabilities into the image, as torchvision 0.14's
// paste_masks_in_image does at eval (torchvision.models.detection.roi_heads: expand_masks,
// expand_boxes, paste_mask_in_image; not the ONNX-tracing variant): each M x M mask is
// zero-padded by `padding` on every side, its box scaled about its centre by
// (M + 2 padding) / M and truncated to integer pixels, the padded mask resized bilinearly
// (align_corners=False) to the box's (x2 - x1 + 1) x (y2 - y1 + 1) pixels and copied into a
// zero image, clipped to it.
#pragma once

#include <cstdint>
#include <span>

#include "core/tensor.hpp"
#include "detect/boxes.hpp"
#include "detect/roi_ops.hpp"

namespace osprey::detect {

// An integer box (inclusive corner pixels, as torchvision's int64 boxes).
struct PixelBox {
  int64_t x1 = 0, y1 = 0, x2 = 0, y2 = 0;
};

// expand_boxes(box, scale).to(int64) in float32: half sizes and centre, the half sizes times
// float32(scale), truncation toward zero.
PixelBox expand_box(const Box& box, float scale);

// One mask, `mask` [M, M] (row-major), into a [height, width] float image. Boxes whose
// expanded pixels miss the image so that torchvision's slice assignment would fail (shapes
// that do not broadcast) throw std::invalid_argument; detections never do (their boxes are
// clipped to the image).
Tensor paste_mask_in_image(std::span<const float> mask, int64_t m, const Box& box, ImageSize image, int padding = 1);

// paste_masks_in_image: `masks` [K, M, M] or [K, 1, M, M], one box each (image pixels) ->
// [K, height, width].
Tensor paste_masks_in_image(const Tensor& masks, std::span<const Box> boxes, ImageSize image, int padding = 1);

}  // namespace osprey::detect
