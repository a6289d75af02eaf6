// Faster R-CNN with a ResNet-50-FPN backbone (Ren, He, Girshick, Sun, "Faster R-CNN",
// 2015; Lin et al., "Feature Pyramid Networks", 2017) as torchvision's
// fasterrcnn_resnet50_fpn runs it at inference (GeneralizedRCNN.forward):
// transform -> backbone -> RPN -> RoI heads -> boxes mapped back to the original sizes.
// The layers run on the engine: the image graph (family "fasterrcnn_resnet50_fpn":
// backbone and RPN head) and the box head graph, both bound from one safetensors file with
// the detector's state_dict keys.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "detect/anchors.hpp"
#include "detect/roi_heads.hpp"
#include "detect/rpn.hpp"
#include "detect/transform.hpp"

namespace osprey {
class Model;
}

namespace osprey::detect {

struct FasterRcnnParams {
  TransformParams transform;
  RpnParams rpn;
  BoxHeadParams box;
};

class FasterRcnn {
 public:
  // `config`: a model config whose architecture family is fasterrcnn_resnet50_fpn;
  // `weights` overrides its weights file when not empty.
  static std::unique_ptr<FasterRcnn> load(const std::string& config, const std::string& weights = "",
                                          const FasterRcnnParams& params = {});
  ~FasterRcnn();

  // What detect() computed on the way, for inspection and tests.
  struct Trace {
    ImageBatch batch;
    std::vector<Proposals> proposals;
  };

  // `images`: float32 [3, H, W], RGB in [0, 1]. Boxes are in each image's own pixels.
  std::vector<Detections> detect(std::span<const Tensor> images, Trace* trace = nullptr);

  const FasterRcnnParams& params() const { return params_; }
  const Model& model() const { return *model_; }

 private:
  FasterRcnn(std::unique_ptr<Model> model, RoiHeads roi_heads, const FasterRcnnParams& params);

  std::unique_ptr<Model> model_;  // image graph: backbone + RPN head
  RoiHeads roi_heads_;            // box head graph
  AnchorGenerator anchors_;
  FasterRcnnParams params_;
};

}  // namespace osprey::detect
