// torchvision's fasterrcnn_resnet50_fpn as two layer graphs with the detector's state_dict
// names: the image graph (backbone + RPN head, family "fasterrcnn_resnet50_fpn") and the
// box head graph run on pooled RoI features. Together they bind the whole state_dict
// strictly: each graph declares its own keys and ignores the other's prefixes.
#pragma once

#include "engine/graph.hpp"

namespace osprey {

struct FasterRcnnArch {
  int num_classes = 91;            // COCO's 91 category ids, background 0 included
  int out_channels = 256;          // FPN channels
  int anchors_per_location = 3;    // aspect ratios 0.5, 1, 2 with one size per level
  int representation_size = 1024;  // TwoMLPHead
  int pool_size = 7;               // MultiScaleRoIAlign output
};

// Names of the image graph's outputs: the FPN levels ("0".."3", "pool"), then per level l
// "rpn.objectness.<l>" [N, A, H, W] and "rpn.deltas.<l>" [N, 4A, H, W] (RPNHead.forward).
inline constexpr int kFpnLevels = 5;

// The box head: input [K, out_channels, pool, pool] (MultiScaleRoIAlign's output),
// TwoMLPHead (flatten, fc6, ReLU, fc7, ReLU) and FastRCNNPredictor; outputs
// "class_logits" [K, num_classes] and "box_regression" [K, 4 * num_classes]. Keys
// "roi_heads.box_head.fc6/fc7", "roi_heads.box_predictor.cls_score/bbox_pred"; weights of
// the backbone and RPN ("backbone.", "rpn.") are ignored when binding.
Graph fasterrcnn_box_head_graph(const FasterRcnnArch& arch);

}  // namespace osprey
