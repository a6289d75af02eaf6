// Region proposals of torchvision's RegionProposalNetwork at inference
// (torchvision.models.detection.rpn, filter_proposals): per image,
//   1. per level, the pre_nms_top_n anchors with the highest objectness logits (top-k on
//      logits, in decreasing order; levels concatenated),
//   2. their deltas decoded against the anchors (BoxCoder weights 1, 1, 1, 1),
//   3. objectness sigmoid, boxes clipped to the image size (resized, unpadded),
//   4. boxes smaller than min_size dropped, then scores below score_thresh (>=: kept),
//   5. NMS within each level (batched NMS, iou nms_thresh),
//   6. the first post_nms_top_n kept, by decreasing score.
// Head outputs are laid out as RPNHead gives them: objectness [N, A, H, W] and deltas
// [N, 4A, H, W] per level, flattened to anchor order (y, x, a) as the anchor generator's.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/tensor.hpp"
#include "detect/boxes.hpp"
#include "detect/roi_ops.hpp"

namespace osprey::detect {

struct RpnParams {
  int64_t pre_nms_top_n = 1000;   // per level (testing)
  int64_t post_nms_top_n = 1000;  // per image (testing)
  double nms_thresh = 0.7;
  float score_thresh = 0.0f;
  float min_size = 1e-3f;
};

struct Proposals {
  std::vector<Box> boxes;
  std::vector<float> scores;  // sigmoid(objectness), decreasing
};

// `anchors`: one image's anchors, all levels concatenated (AnchorGenerator::generate on the
// padded batch size); the same for every image of the batch.
std::vector<Proposals> rpn_proposals(std::span<const Tensor> objectness, std::span<const Tensor> deltas,
                                     std::span<const Box> anchors, std::span<const ImageSize> image_sizes,
                                     const RpnParams& params = {});

}  // namespace osprey::detect
