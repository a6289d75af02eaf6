// Faster R-CNN detectors as two layer graphs with the detector's state_dict names: the image
// graph (backbone + RPN head, families "fasterrcnn_resnet50_fpn", "fasterrcnn_resnet50_fpn_v2",
// "fasterrcnn_mobilenet_v3_large_fpn" and "fasterrcnn_vgg16") and
// the box head graph run on pooled RoI features. Together they bind the whole state_dict
// strictly: each graph declares its own keys and ignores the other's prefixes.
#pragma once

#include <string>
#include <vector>

#include "engine/graph.hpp"

namespace osprey {

class ObjectReader;

// Names of fasterrcnn_resnet50_fpn's image graph outputs: the FPN levels ("0".."3", "pool"),
// then per level l "rpn.objectness.<l>" [N, A, H, W] and "rpn.deltas.<l>" [N, 4A, H, W]
// (RPNHead.forward). fasterrcnn_vgg16 has one level: "0", "rpn.objectness.0", "rpn.deltas.0";
// fasterrcnn_mobilenet_v3_large_fpn three: "0", "1", "pool" (all at strides 32, 32, 64).
inline constexpr int kFpnLevels = 5;

// What lib/detect needs to know of a Faster R-CNN family besides its graphs.
struct FasterRcnnArch {
  enum class Pooler {
    MultiScaleRoiAlign,  // torchvision's MultiScaleRoIAlign (7x7, sampling ratio 2) over the first pooled_levels
    RoiPool,             // Fast R-CNN's RoI max pooling on level '0' at spatial_scale
  };
  int num_classes = 91;            // COCO's 91 category ids, background 0 included
  int out_channels = 256;          // feature channels (FPN: 256; VGG16 C5: 512)
  int feature_levels = kFpnLevels; // feature maps the image graph outputs (the RPN's levels)
  int pooled_levels = 4;           // the first ones the RoI heads pool from
  // AnchorGenerator(sizes, aspect_ratios): one list of each per feature level; every level
  // must have the same number of anchors (the RPN head is shared).
  std::vector<std::vector<float>> anchor_sizes{{32}, {64}, {128}, {256}, {512}};
  std::vector<std::vector<float>> aspect_ratios{5, {0.5f, 1.0f, 2.0f}};
  int representation_size = 1024; // TwoMLPHead (fc6 / fc7), or FastRCNNConvFCHead's one Linear
  // fasterrcnn_resnet50_fpn_v2 (Li et al. 2021): RPNHead(conv_depth=2), FPN blocks with
  // BatchNorm2d and FastRCNNConvFCHead: box_head_convs x (3x3 conv out_channels without bias,
  // BatchNorm2d, ReLU), flatten, one Linear(representation_size) + ReLU instead of TwoMLPHead.
  int rpn_conv_depth = 1;
  bool fpn_norm = false;
  int box_head_convs = 0;
  int pool_size = 7;               // pooled RoI size
  Pooler pooler = Pooler::MultiScaleRoiAlign;
  float spatial_scale = 1.0f / 16; // RoiPool only
  int min_size = 800, max_size = 1333;  // GeneralizedRCNNTransform
  // RegionProposalNetwork(score_thresh): proposals with sigmoid(objectness) below it are
  // dropped (fasterrcnn_mobilenet_v3_large_fpn: 0.05).
  float rpn_score_thresh = 0.0f;
  // Mask R-CNN families (maskrcnn.hpp): the state_dict also holds the mask branch
  // ("roi_heads.mask_head.", "roi_heads.mask_predictor."), bound by the mask head graph.
  bool has_mask_head = false;

  int anchors_per_location() const {
    return static_cast<int>(anchor_sizes.at(0).size() * aspect_ratios.at(0).size());
  }
};

// The defaults of a family ("fasterrcnn_resnet50_fpn": the FPN detector above;
// "fasterrcnn_resnet50_fpn_v2": the same with rpn_conv_depth 2, fpn_norm, box_head_convs 4;
// "fasterrcnn_vgg16": 512-channel C5 at stride 16, anchors sizes 128, 256, 512 x ratios
// 0.5, 1, 2, RoI pooling 7x7 at 1/16, fc6 / fc7 of 4096, 21 classes, 600 / 1000;
// "fasterrcnn_mobilenet_v3_large_fpn": three levels ('0', '1', 'pool') of 15 anchors (sizes
// 32..512 x ratios 0.5, 1, 2 on every level), RoIAlign over '0' and '1', rpn_score_thresh
// 0.05; "maskrcnn_resnet50_fpn" / "_v2": those of fasterrcnn_resnet50_fpn / _v2 with
// has_mask_head); throws std::invalid_argument for other families.
FasterRcnnArch fasterrcnn_defaults(const std::string& family);

// The defaults overridden by the architecture object's detector keys: num_classes,
// anchor_sizes and aspect_ratios (lists of lists, one per level), min_size, max_size,
// rpn_score_thresh.
FasterRcnnArch read_fasterrcnn_arch(ObjectReader& arch, const std::string& family);

// The detector settings of a config file whose family is a Faster R-CNN one.
FasterRcnnArch fasterrcnn_arch_of_config(const std::string& config_path);

// The box head: input [K, out_channels, pool, pool] (the pooled RoIs), TwoMLPHead (flatten,
// fc6, ReLU, fc7, ReLU) and FastRCNNPredictor; outputs "class_logits" [K, num_classes] and
// "box_regression" [K, 4 * num_classes]. Keys "roi_heads.box_head.fc6/fc7",
// "roi_heads.box_predictor.cls_score/bbox_pred". With box_head_convs > 0 the head is
// FastRCNNConvFCHead instead: "roi_heads.box_head.<i>.0" (conv) and ".1" (BatchNorm2d, eps
// 1e-5) for i < box_head_convs, then flatten and "roi_heads.box_head.<box_head_convs + 1>"
// (Linear + ReLU). Weights of the backbone and RPN
// ("backbone.", "rpn.") are ignored when binding, and with has_mask_head the mask
// branch's ("roi_heads.mask_").
Graph fasterrcnn_box_head_graph(const FasterRcnnArch& arch);

}  // namespace osprey
