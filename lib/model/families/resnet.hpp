// ResNet pieces shared by the classifier family (resnet.cpp) and the detection backbones
// (resnet_fpn.cpp), built as torchvision.models.resnet builds them, with its state_dict
// names ("conv1", "bn1", "layer1.0.conv1", ...) under a caller-given prefix.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "model/families/family.hpp"

namespace osprey {

struct ResNetArch {
  bool bottleneck = true;
  std::array<int, 4> blocks{3, 4, 6, 3};  // blocks per stage (layer1..layer4)
  int groups = 1;                          // ResNeXt
  int width_per_group = 64;                // wide ResNets
  float bn_eps = 1e-5f;                    // of every BatchNorm2d (or FrozenBatchNorm2d)
  // torchvision's replace_stride_with_dilation for layer2..layer4: the stage keeps its
  // input's stride and dilates its 3x3 convs instead (FCN / DeepLab: [false, true, true]).
  std::array<bool, 3> dilate{false, false, false};
};

// The architecture of ResNet-`depth` (18, 34, 50, 101, 152) with `groups` and
// `width_per_group` read from `arch`; fails on "depth" or "groups" when they do not fit.
ResNetArch read_resnet_arch(ObjectReader& arch, int depth);

// The stem (conv1, bn1, relu, maxpool) and the four stages from `x`, node names prefixed
// by `prefix`. Returns the outputs of layer1..layer4 (strides 4, 8, 16, 32 without dilation).
std::array<int, 4> resnet_body(GraphBuilder& b, int x, const ResNetArch& arch, const std::string& prefix = "");

// torchvision's BackboneWithFPN over resnet_body with FrozenBatchNorm2d (arch.bn_eps),
// all four stages returned, out_channels per level and LastLevelMaxPool, as
// fasterrcnn_resnet50_fpn builds it; names "<prefix>body.*" and "<prefix>fpn.*".
// Returns the levels in torchvision's order: '0', '1', '2', '3' (strides 4 to 32), 'pool' (64).
// `fpn_norm`: FeaturePyramidNetwork(norm_layer=BatchNorm2d) as fasterrcnn_resnet50_fpn_v2
// builds it: the inner / layer blocks are Conv2dNormActivation with a conv without bias
// ("<block>.<i>.0") and a BatchNorm2d ("<block>.<i>.1", eps 1e-5).
// torchvision's FeaturePyramidNetwork over `inputs` (strides increasing) with
// LastLevelMaxPool, names "<fpn_prefix>inner_blocks.<i>.0", "<fpn_prefix>layer_blocks.<i>.0"
// (and ".1" BatchNorm2d with `fpn_norm`, the convs then without bias). Returns one level per
// input, then 'pool'.
std::vector<int> feature_pyramid(GraphBuilder& b, const std::vector<int>& inputs, int out_channels,
                                 const std::string& fpn_prefix, bool fpn_norm = false);

std::array<int, 5> resnet_fpn_backbone(GraphBuilder& b, int x, const ResNetArch& arch, int out_channels,
                                       const std::string& prefix = "backbone.", bool fpn_norm = false);

}  // namespace osprey
