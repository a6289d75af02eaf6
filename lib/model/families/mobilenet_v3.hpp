// MobileNetV3-Large's `features` (Howard et al., "Searching for MobileNetV3", 2019) as
// torchvision.models.mobilenetv3 builds them, shared by the detectors that use it as a body
// (fasterrcnn_mobilenet_v3_large_fpn, ssdlite320_mobilenet_v3_large). features[0] is the
// stem (3x3 s2 conv, BatchNorm, hardswish), features[1..15] the InvertedResidual blocks
// (expand 1x1, depthwise, SqueezeExcitation with ReLU and hardsigmoid, linear 1x1
// projection; residual when stride 1 and in == out), features[16] the 1x1 conv to 6x the
// last block's channels (hardswish). Module names come from the caller, since detectors
// regroup the modules (SSDlite splits features[13] after its expansion).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "model/graph_builder.hpp"

namespace osprey {

// The module path of features[feature], or of its block's sub-module `sub` (the index in
// InvertedResidual.block) when sub >= 0.
using MobileNetNaming = std::function<std::string(int feature, int sub)>;

// torchvision's own names: "<prefix><i>" and "<prefix><i>.block.<j>".
MobileNetNaming mobilenet_v3_names(const std::string& prefix);

struct MobileNetV3Options {
  float bn_eps = 0.001f;
  // reduced_tail: the last three blocks and the last conv at half width (160 -> 80, 960 ->
  // 480), as ssdlite320_mobilenet_v3_large builds it without ImageNet backbone weights.
  bool reduced_tail = false;
  MobileNetNaming name;
};

struct MobileNetV3Features {
  std::vector<int> outputs;     // the value of features[i], i = 0..16
  std::vector<int> expansions;  // the expansion conv's value of block i (-1: none, or not a block)
};

MobileNetV3Features mobilenet_v3_large_features(GraphBuilder& b, int x, const MobileNetV3Options& options);

// torchvision's _make_divisible(v, divisor).
int make_divisible(double v, int divisor = 8);

}  // namespace osprey
