// torchvision.models.detection.transform.GeneralizedRCNNTransform at inference: each image
// (float32 [3, H, W], RGB in [0, 1]) is normalised, (x - mean) / std per channel, then resized
// bilinearly so its shorter side becomes min_size unless the longer side would exceed
// max_size; the images are padded with zeros (bottom, right) into one batch whose height and
// width are multiples of size_divisible. Detections come back to the original sizes with
// resize_boxes.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "core/tensor.hpp"
#include "detect/boxes.hpp"
#include "detect/roi_ops.hpp"

namespace osprey::detect {

struct TransformParams {
  int min_size = 800;
  int max_size = 1333;
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};
  int size_divisible = 32;
};

// The size after resizing, as torchvision 0.14 computes it: in float32,
// scale = min(min_size * (1 / min(H, W)), max_size * (1 / max(H, W))) (torch evaluates
// `scalar / tensor` as reciprocal times scalar); then F.interpolate with
// recompute_scale_factor=True takes floor(double(size) * double(scale)) per axis.
ImageSize resized_size(ImageSize image, int min_size, int max_size);

// torch.nn.functional.interpolate(mode="bilinear", align_corners=False) of [C, H, W] to
// [C, out_h, out_w], with the scale recomputed from the sizes (float32 in / out): source
// coordinate max((dst + 0.5) * in / out - 0.5, 0) (in double, as torch 1.13's CPU kernel
// evaluates it), truncated to the lower neighbour, the upper one clamped to the last row /
// column; weights float32, rows interpolated first, then the two rows blended.
Tensor resize_bilinear(const Tensor& image, int64_t out_h, int64_t out_w);

struct ImageBatch {
  Tensor tensor;                        // [N, 3, H_pad, W_pad]
  std::vector<ImageSize> image_sizes;   // each image's size after resizing (before padding)
  std::vector<ImageSize> original_sizes;
};

ImageBatch transform_images(std::span<const Tensor> images, const TransformParams& params = {});

// transform.resize_boxes: coordinates scaled by float32(to) / float32(from) per axis.
std::vector<Box> resize_boxes(std::span<const Box> boxes, ImageSize from, ImageSize to);

}  // namespace osprey::detect
