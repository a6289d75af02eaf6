// Faster R-CNN (Ren, He, Girshick, Sun, "Faster R-CNN", 2015) as torchvision's FasterRCNN
// runs it at inference (GeneralizedRCNN.forward): transform -> backbone -> RPN -> RoI heads
// -> boxes mapped back to the original sizes. Two families: fasterrcnn_resnet50_fpn (Lin et
// al., "Feature Pyramid Networks", 2017: five levels, MultiScaleRoIAlign) and
// fasterrcnn_vgg16 (the paper's: VGG16 C5, 9 anchors, RoI pooling, fc6 / fc7), plus
// fasterrcnn_resnet50_fpn_v2 (Li et al. 2021: BatchNorm FPN, two-conv RPN head, conv box
// head) and fasterrcnn_mobilenet_v3_large_fpn (MobileNetV3-Large, two stride-32 FPN levels
// and 'pool', 15 anchors per location, RPN score threshold 0.05); what differs (levels, anchors, RoI extractor, heads, transform sizes) comes from
// osprey::FasterRcnnArch.
// The layers run on the engine: the image graph (backbone and RPN head) and the box head
// graph, both bound from one safetensors file with the detector's state_dict keys.
// detect() with given proposals is Fast R-CNN (Girshick 2015): the RPN's proposals are not
// computed, the RoI heads run on the given boxes.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "detect/anchors.hpp"
#include "detect/detector.hpp"
#include "detect/roi_heads.hpp"
#include "detect/rpn.hpp"
#include "detect/transform.hpp"
#include "model/families/fasterrcnn.hpp"

namespace osprey {
class Model;
}

namespace osprey::detect {

struct FasterRcnnParams {
  // min_size / max_size of 0 take the config's (FasterRcnnArch::min_size / max_size).
  TransformParams transform{.min_size = 0, .max_size = 0};
  // rpn.score_thresh < 0 takes the config's (FasterRcnnArch::rpn_score_thresh).
  RpnParams rpn{.score_thresh = -1.0f};
  BoxHeadParams box;
};

class FasterRcnn : public Detector {
 public:
  // `config`: a model config whose architecture family is fasterrcnn_resnet50_fpn,
  // fasterrcnn_resnet50_fpn_v2, fasterrcnn_mobilenet_v3_large_fpn or fasterrcnn_vgg16;
  // `weights` overrides its weights file when not empty; `overrides` (the tools' --labels)
  // reach Model::load ("input" keys are not used: the architecture sizes and normalises).
  static std::unique_ptr<FasterRcnn> load(const std::string& config, const std::string& weights = "",
                                          const FasterRcnnParams& params = {}, const LoadOptions& overrides = {});
  ~FasterRcnn();

  // What detect() computed on the way, for inspection and tests.
  struct Trace {
    ImageBatch batch;
    std::vector<Proposals> proposals;
    // The levels the RoI heads pooled from ([N, C, H_l, W_l]) and the detections before
    // they were mapped back to the original sizes (Mask R-CNN's mask branch runs on both).
    std::vector<Tensor> features;
    std::vector<Detections> resized;
  };

  // `images`: float32 [3, H, W], RGB in [0, 1]. Boxes are in each image's own pixels.
  std::vector<Detections> detect(std::span<const Tensor> images) override { return detect(images, nullptr); }
  std::vector<Detections> detect(std::span<const Tensor> images, Trace* trace);
  // Fast R-CNN: the RoI heads on `proposals` (one list per image, boxes in that image's own
  // pixels; resized with the image as torchvision resizes target boxes) instead of the
  // RPN's. trace->proposals holds them after resizing (scores empty).
  bool accepts_proposals() const override { return true; }
  std::vector<Detections> detect(std::span<const Tensor> images, std::span<const std::vector<Box>> proposals) override {
    return detect(images, proposals, nullptr);
  }
  std::vector<Detections> detect(std::span<const Tensor> images, std::span<const std::vector<Box>> proposals, Trace* trace);

  const FasterRcnnParams& params() const { return params_; }
  const Model& model() const { return *model_; }
  const ModelConfig& config() const override;
  const FasterRcnnArch& arch() const { return arch_; }

 private:
  FasterRcnn(std::unique_ptr<Model> model, RoiHeads roi_heads, const FasterRcnnArch& arch, const FasterRcnnParams& params);
  std::vector<Detections> run(std::span<const Tensor> images, const std::span<const std::vector<Box>>* given, Trace* trace);

  std::unique_ptr<Model> model_;  // image graph: backbone + RPN head
  RoiHeads roi_heads_;            // box head graph
  FasterRcnnArch arch_;
  AnchorGenerator anchors_;
  FasterRcnnParams params_;
};

}  // namespace osprey::detect
