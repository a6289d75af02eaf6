// Mask R-CNN (He, Gkioxari, Dollar, Girshick, "Mask R-CNN", 2017) as torchvision 0.14 builds
// it (torchvision.models.detection.mask_rcnn): families "maskrcnn_resnet50_fpn" and
// "maskrcnn_resnet50_fpn_v2". Their image graph and box head are those of
// fasterrcnn_resnet50_fpn / _v2 (fasterrcnn.hpp, same state_dict keys); this file adds the
// mask head graph run on the 14x14 RoIAlign features of the final detections:
// MaskRCNNHeads ("roi_heads.mask_head.<i>.0": four 3x3 convs of 256 with ReLU, dilation 1;
// v2: no conv bias, BatchNorm2d "roi_heads.mask_head.<i>.1") and MaskRCNNPredictor
// ("roi_heads.mask_predictor.conv5_mask": ConvTranspose2d 2x2 stride 2, ReLU,
// "roi_heads.mask_predictor.mask_fcn_logits": 1x1 conv to num_classes).
#pragma once

#include <string>

#include "engine/graph.hpp"
#include "model/families/fasterrcnn.hpp"

namespace osprey {

class SafetensorsFile;

struct MaskHeadArch {
  int in_channels = 256;    // FPN channels
  int num_classes = 91;
  int layers = 4;           // MaskRCNNHeads: [256, 256, 256, 256]
  int layer_channels = 256;
  int dim_reduced = 256;    // MaskRCNNPredictor's ConvTranspose2d output
  bool norm = false;        // v2: BatchNorm2d after each conv, convs without bias
  int pool_size = 14;       // MultiScaleRoIAlign(output_size=14, sampling_ratio=2)
};

bool is_maskrcnn_family(const std::string& family);

// The mask head of a Mask R-CNN family whose detector settings are `fr`; throws
// std::invalid_argument for other families.
MaskHeadArch maskrcnn_mask_head_arch(const std::string& family, const FasterRcnnArch& fr);

// Input "mask_features" [K, in_channels, pool, pool]; output "mask_logits"
// [K, num_classes, 2 pool, 2 pool]. Keys of the backbone, the RPN and the box head are
// ignored when binding. Bind with bind_mask_head_weights (the transposed convolution's
// weight is stored as torch's [in, out, kh, kw]).
Graph maskrcnn_mask_head_graph(const MaskHeadArch& arch);

// bind_weights, then the ConvTranspose2d weight reordered to the engine's [out, in, kh, kw].
void bind_mask_head_weights(Graph& graph, const SafetensorsFile& file);

}  // namespace osprey
