// SSD detectors (Liu et al., "SSD: Single Shot MultiBox Detector", 2016) as torchvision's
// models.detection.SSD runs them at inference: GeneralizedRCNNTransform with a fixed size
// (normalise, stretch bilinearly to height x width), the network (lib/model/families/ssd:
// ssd300_vgg16, ssd512_vgg16, ssdlite320_mobilenet_v3_large), the head maps flattened to
// [anchors, classes] and [anchors, 4] (location-major, the boxes of a location together,
// maps in order), DefaultBoxGenerator priors, BoxCoder (10, 10, 5, 5) decoding, boxes
// clipped to the network input; then postprocess_detections: softmax, per class (background
// 0 excluded) the scores above score_thresh, their topk_candidates best, batched NMS,
// detections_per_img; finally boxes mapped back to each image's own size.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "detect/default_boxes.hpp"
#include "detect/detector.hpp"
#include "detect/roi_ops.hpp"
#include "model/families/ssd.hpp"

namespace osprey {
class Model;
}

namespace osprey::detect {

class Ssd : public Detector {
 public:
  // `config`: a model config of an SSD family; `weights` overrides its weights file when not
  // empty. `options` replace the config's thresholds (score, NMS IoU, detections per image,
  // suppression kind).
  static std::unique_ptr<Ssd> load(const std::string& config, const std::string& weights = "",
                                   const DetectorOptions& options = {});
  ~Ssd();

  // What detect() computed on the way, for inspection and tests.
  struct Trace {
    Tensor batch;                        // [N, 3, height, width], normalised and resized
    std::vector<GridSize> grids;         // feature map sizes
    std::vector<Box> priors;             // default boxes in network-input pixels
    std::vector<Tensor> cls_logits;      // per image [anchors, classes]
    std::vector<Tensor> bbox_regression; // per image [anchors, 4]
  };

  // `images`: float32 [3, H, W], RGB in [0, 1]. Boxes are in each image's own pixels.
  std::vector<Detections> detect(std::span<const Tensor> images) override { return detect(images, nullptr); }
  std::vector<Detections> detect(std::span<const Tensor> images, Trace* trace);

  const ModelConfig& config() const override;
  const SsdArch& arch() const { return arch_; }
  const DefaultBoxGenerator& default_boxes() const { return boxes_; }
  const SelectionParams& selection() const { return select_; }

 private:
  Ssd(std::unique_ptr<Model> model, const SsdArch& arch, const SelectionParams& select);

  std::unique_ptr<Model> model_;
  SsdArch arch_;
  DefaultBoxGenerator boxes_;
  SelectionParams select_;  // score_thresh also filters candidates before the top-k
};

// The DefaultBoxGenerator settings of an SSD config.
DefaultBoxParams default_box_params(const SsdArch& arch);

}  // namespace osprey::detect
