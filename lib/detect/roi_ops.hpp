// Region-of-interest pooling on a float32 NCHW feature map (osprey::Tensor, plain layout).
//
// RoIs are a [K, 5] tensor of (batch_index, x1, y1, x2, y2) rows, boxes in image pixels
// (the box contract of detect/boxes.hpp); spatial_scale maps them onto the feature map
// (1 / stride). Outputs are [K, C, output_h, output_w]. The semantics are torchvision's CPU
// kernels (torchvision/csrc/ops/cpu/roi_align_kernel.cpp, roi_pool_kernel.cpp), including
// their arithmetic order in float32; RoIs are processed in parallel (OpenMP).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/tensor.hpp"
#include "detect/boxes.hpp"

namespace osprey::detect {

// RoIAlign (He et al., "Mask R-CNN", 2017). Each output bin averages
// sampling_ratio x sampling_ratio bilinear samples at the centres of a regular sub-grid
// (adaptive when sampling_ratio <= 0: ceil(roi size / output size) per axis).
//   aligned = false: box corners are scaled as they are, a RoI is at least 1x1 feature pixel
//                    (the original Detectron behaviour);
//   aligned = true:  half a pixel is subtracted after scaling, so sample positions line up
//                    with pixel centres (Detectron2's ROIAlignV2); no minimum size.
// Boundary rules: a sample beyond [-1, H] x [-1, W] contributes 0 (it still counts in the
// average); coordinates in [-1, 0] are clamped to 0, beyond H - 1 / W - 1 to the last row /
// column (no interpolation with padding).
struct RoiAlignParams {
  int64_t output_h = 7, output_w = 7;
  float spatial_scale = 1.0f;
  int sampling_ratio = -1;
  bool aligned = false;
};

Tensor roi_align(const Tensor& features, const Tensor& rois, const RoiAlignParams& params);

// RoIPool (Girshick, "Fast R-CNN", 2015): box corners scaled and rounded (half away from
// zero) to feature pixels, the RoI (at least 1x1, corners inclusive) split into
// output_h x output_w bins with floor / ceil edges, clipped to the map, max over each bin;
// an empty bin gives 0.
Tensor roi_pool(const Tensor& features, const Tensor& rois, int64_t output_h, int64_t output_w, float spatial_scale);

// FPN level of a box (Lin et al., "Feature Pyramid Networks", 2017, eq. 1):
//   k = floor(canonical_level + log2(sqrt(area) / canonical_scale) + eps), clamped to
//   [k_min, k_max]; float32 as torchvision.ops.poolers.LevelMapper. Returns k - k_min
// (the position in the list of pyramid features).
struct LevelMapper {
  int k_min = 2, k_max = 5;
  int canonical_scale = 224;
  int canonical_level = 4;
  float eps = 1e-6f;

  int64_t level(const Box& box) const;
  std::vector<int64_t> operator()(std::span<const Box> boxes) const;
};

struct ImageSize {
  int64_t height = 0, width = 0;
};

// Scale of a feature map relative to the image: 2^round(log2(feature_h / image_h)), from the
// heights only (torchvision's _infer_scale; round half to even).
float infer_scale(int64_t feature_h, int64_t image_h);

struct MultiScaleRoiAlignParams {
  int64_t output_h = 7, output_w = 7;
  int sampling_ratio = 2;
  int canonical_scale = 224;
  int canonical_level = 4;
};

// torchvision.ops.MultiScaleRoIAlign: `features` are the pyramid levels used for pooling,
// finest first (e.g. P2..P5), [N, C, H_l, W_l] each; `image_sizes` the sizes of the N images
// before the network (the largest height and width over them is the reference). Each
// level's spatial scale is infer_scale(H_l, max height); k_min / k_max are -log2 of the first
// and last scales; each RoI is pooled (aligned = false) from the level LevelMapper assigns to
// its box. One level: every RoI from it, no mapping. torchvision caches the scales at the
// first call; here they are inferred on every call (the same for a fixed image size).
Tensor multiscale_roi_align(std::span<const Tensor> features, const Tensor& rois, std::span<const ImageSize> image_sizes,
                            const MultiScaleRoiAlignParams& params);

}  // namespace osprey::detect
