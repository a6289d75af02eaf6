// Mask R-CNN (He, Gkioxari, Dollar, Girshick, "Mask R-CNN", 2017) as torchvision 0.14's
// MaskRCNN runs it at inference: Faster R-CNN's detections (a FasterRcnn owned here), then
// the mask branch of RoIHeads on the final boxes in resized-image pixels
// (MultiScaleRoIAlign 14x14, sampling ratio 2, FPN levels '0'..'3'; MaskRCNNHeads and
// MaskRCNNPredictor as one layer graph, model/families/maskrcnn.hpp), maskrcnn_inference
// (sigmoid, each detection's own class channel) and transform.postprocess's
// paste_masks_in_image into the original image (paste_masks.hpp). Detections carry binary
// masks: probability > mask_threshold (0.5, torchvision users' convention).
// Families "maskrcnn_resnet50_fpn" and "maskrcnn_resnet50_fpn_v2"; detector kind "mask_rcnn".
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "detect/detector.hpp"
#include "detect/faster_rcnn.hpp"
#include "model/families/maskrcnn.hpp"

namespace osprey {
class Executor;
}

namespace osprey::detect {

struct MaskRcnnParams {
  FasterRcnnParams rcnn;
  float mask_threshold = 0.5f;  // a pixel belongs to the instance when its probability is above it
};

class MaskRcnn : public Detector {
 public:
  // `config`: a model config whose family is maskrcnn_resnet50_fpn or _v2 (its optional
  // "detector" object: {"kind": "mask_rcnn", "mask_threshold": 0.5}, which overrides
  // params.mask_threshold); `weights` overrides its weights file when not empty.
  // `overrides` as for FasterRcnn::load.
  static std::unique_ptr<MaskRcnn> load(const std::string& config, const std::string& weights = "",
                                        const MaskRcnnParams& params = {}, const LoadOptions& overrides = {});
  ~MaskRcnn();

  // What detect() computed on the way, for inspection and tests.
  struct Trace {
    FasterRcnn::Trace rcnn;
    std::vector<Tensor> mask_logits;  // per image [K, num_classes, 28, 28]: MaskRCNNPredictor's output
    std::vector<Tensor> mask_probs;   // per image [K, 28, 28]: maskrcnn_inference
    std::vector<Tensor> pasted;       // per image [K, H, W]: paste_masks_in_image, float probabilities
  };

  std::vector<Detections> detect(std::span<const Tensor> images) override { return detect(images, nullptr); }
  std::vector<Detections> detect(std::span<const Tensor> images, Trace* trace);
  // Fast R-CNN's given proposals (see FasterRcnn), then the masks of the detections.
  bool accepts_proposals() const override { return true; }
  std::vector<Detections> detect(std::span<const Tensor> images, std::span<const std::vector<Box>> proposals) override {
    return detect(images, proposals, nullptr);
  }
  std::vector<Detections> detect(std::span<const Tensor> images, std::span<const std::vector<Box>> proposals, Trace* trace);

  const ModelConfig& config() const override { return rcnn_->config(); }
  const FasterRcnn& rcnn() const { return *rcnn_; }
  const MaskRcnnParams& params() const { return params_; }

 private:
  MaskRcnn(std::unique_ptr<FasterRcnn> rcnn, std::unique_ptr<Executor> mask_head, const MaskHeadArch& arch,
           const MaskRcnnParams& params);
  void add_masks(std::vector<Detections>& detections, FasterRcnn::Trace& rcnn, Trace* trace);

  std::unique_ptr<FasterRcnn> rcnn_;
  std::unique_ptr<Executor> mask_head_;
  MaskHeadArch arch_;
  MaskRcnnParams params_;
};

}  // namespace osprey::detect
