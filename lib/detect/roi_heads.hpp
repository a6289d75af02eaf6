// The box branch of torchvision's RoIHeads at inference
// (torchvision.models.detection.roi_heads): proposals pooled by the RoI extractor
// (MultiScaleRoIAlign 7x7, sampling ratio 2, from the FPN levels '0'..'3'; or Fast R-CNN's
// RoI max pooling on one level), the box head (TwoMLPHead + FastRCNNPredictor, a layer graph
// run by an Executor), then postprocess_detections.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/tensor.hpp"
#include "detect/boxes.hpp"
#include "detect/detections.hpp"
#include "detect/roi_ops.hpp"

namespace osprey {
class Executor;
struct Graph;
}  // namespace osprey

namespace osprey::detect {

struct BoxHeadParams {
  float score_thresh = 0.05f;
  double nms_thresh = 0.5;
  int64_t detections_per_img = 100;
  std::array<float, 4> weights{10.0f, 10.0f, 5.0f, 5.0f};  // BoxCoder of the box head
  float min_size = 1e-2f;                                  // remove_small_boxes
  using Suppression = detect::Suppression;
  Suppression suppression = Suppression::PerClass;  // see select_detections
  SoftNmsParams soft;
};

// postprocess_detections for one image: `class_logits` [K, C] and `box_regression`
// [K, 4C] of its K proposals. Softmax over classes, per-class decoding against the
// proposal, clipping to the image, background dropped, every (proposal, class) pair with
// score > score_thresh a candidate (proposal-major, class-minor, as torchvision flattens
// them), boxes smaller than min_size dropped, NMS per class, the best detections_per_img.
Detections postprocess_detections(const Tensor& class_logits, const Tensor& box_regression, std::span<const Box> proposals,
                                  ImageSize image, const BoxHeadParams& params = {});

// How RoIs are pooled from the features given to RoiHeads.
struct RoiExtractor {
  enum class Kind {
    MultiScaleRoiAlign,  // multiscale_roi_align over all the given levels (`align`)
    RoiPool,             // roi_pool on the single given level, output_h x output_w at spatial_scale
  } kind = Kind::MultiScaleRoiAlign;
  MultiScaleRoiAlignParams align;
  int64_t output_h = 7, output_w = 7;
  float spatial_scale = 1.0f / 16;
};

// The RoI heads with their box head graph (osprey::fasterrcnn_box_head_graph's outputs:
// class logits, box regression). RoIs are run through the graph in chunks of `chunk` rows
// (the last one zero-padded), so the executor plans once whatever the proposal count.
class RoiHeads {
 public:
  RoiHeads(std::shared_ptr<const Graph> box_head, const BoxHeadParams& params = {}, int64_t chunk = 1000,
           const RoiExtractor& extractor = {});
  ~RoiHeads();
  RoiHeads(RoiHeads&&) noexcept;
  RoiHeads& operator=(RoiHeads&&) noexcept;

  struct Raw {
    Tensor class_logits;    // [sum K, C]
    Tensor box_regression;  // [sum K, 4C]
  };
  // Pooling and the box head: `features` are the levels to pool from [N, C, H_l, W_l] (FPN:
  // '0'..'3'; RoiPool: exactly one),
  // `image_sizes` the resized (unpadded) sizes.
  Raw box_head(std::span<const Tensor> features, std::span<const std::vector<Box>> proposals,
               std::span<const ImageSize> image_sizes);
  std::vector<Detections> operator()(std::span<const Tensor> features, std::span<const std::vector<Box>> proposals,
                                     std::span<const ImageSize> image_sizes);

  const BoxHeadParams& params() const { return params_; }

 private:
  std::unique_ptr<Executor> executor_;
  BoxHeadParams params_;
  int64_t chunk_;
  RoiExtractor extractor_;
};

}  // namespace osprey::detect
