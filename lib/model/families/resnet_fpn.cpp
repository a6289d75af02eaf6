// The ResNet-FPN backbone of torchvision's Faster R-CNN (fasterrcnn_resnet50_fpn):
// torchvision.models.detection.backbone_utils.resnet_fpn_backbone, i.e. BackboneWithFPN
// over a ResNet with FrozenBatchNorm2d returning layer1..layer4, a FeaturePyramidNetwork
// (torchvision.ops.feature_pyramid_network) and LastLevelMaxPool. Names follow the
// detector's state_dict: "backbone.body.<resnet names>", "backbone.fpn.inner_blocks.<i>.0",
// "backbone.fpn.layer_blocks.<i>.0" (Conv2dNormActivation without norm: a biased conv at
// index 0). Trainable layers only matter for training.
//
// Hyperparameters: depth (50), groups (1), width_per_group (64), bn_eps (1e-5, the
// FrozenBatchNorm2d default; torchvision's COCO weights are loaded with overwrite_eps(0.0),
// so configs for them set 0), out_channels (256).
// Outputs, in torchvision's order: "0", "1", "2", "3" (strides 4, 8, 16, 32), "pool" (64).
#include "core/error.hpp"
#include "model/families/resnet.hpp"

namespace osprey {

std::vector<int> feature_pyramid(GraphBuilder& b, const std::vector<int>& c, int out_channels, const std::string& fpn,
                                 bool fpn_norm) {
  // Conv2dNormActivation(activation_layer=None): a biased conv, or conv without bias + BN.
  auto block = [&](const std::string& name, int in, int k) {
    const int y = b.conv(name + ".0", in, {out_channels, {k, k}, {1, 1}, {k / 2, k / 2}, 1, {1, 1}, !fpn_norm});
    return fpn_norm ? b.batch_norm(name + ".1", y, 1e-5f) : y;
  };
  auto inner = [&](int i, int in) { return block(cat(fpn, "inner_blocks.", i), in, 1); };
  auto layer = [&](int i, int in) { return block(cat(fpn, "layer_blocks.", i), in, 3); };
  // FeaturePyramidNetwork.forward: the top level, then top-down with lateral connections.
  const int top = static_cast<int>(c.size()) - 1;
  std::vector<int> results(c.size() + 1);
  int last_inner = inner(top, c[top]);
  results[top] = layer(top, last_inner);
  for (int i = top - 1; i >= 0; --i) {
    const int lateral = inner(i, c[i]);
    // F.interpolate(last_inner, size=lateral.shape[-2:], mode="nearest"); the lateral 1x1
    // conv keeps its input's size, so the size is read from c[i]: then the lateral conv has
    // the add as its only consumer and accumulates into the upsampled map (sum post-op).
    const int top_down = b.upsample_nearest_like(cat(fpn, "top_down.", i), last_inner, c[i]);
    last_inner = b.add(cat(fpn, "merge.", i), lateral, top_down);
    results[i] = layer(i, last_inner);
  }
  // LastLevelMaxPool: F.max_pool2d(results[-1], kernel 1, stride 2, padding 0).
  results[top + 1] = b.max_pool(fpn + "extra_blocks", results[top], {1, 1}, {2, 2});
  return results;
}

std::array<int, 5> resnet_fpn_backbone(GraphBuilder& b, int x, const ResNetArch& arch, int out_channels,
                                       const std::string& prefix, bool fpn_norm) {
  const std::array<int, 4> c = resnet_body(b, x, arch, prefix + "body.");
  const std::vector<int> r = feature_pyramid(b, {c.begin(), c.end()}, out_channels, prefix + "fpn.", fpn_norm);
  return {r[0], r[1], r[2], r[3], r[4]};
}

FamilyModel build_resnet_fpn(ObjectReader& arch) {
  const int depth = arch.integer("depth", 50);
  ResNetArch resnet = read_resnet_arch(arch, depth);
  const double eps = arch.number("bn_eps", 1e-5);
  if (!(eps >= 0)) arch.fail("bn_eps", "must not be negative");
  resnet.bn_eps = static_cast<float>(eps);
  const int out_channels = arch.integer("out_channels", 256);
  if (out_channels <= 0) arch.fail("out_channels", "must be positive");

  GraphBuilder b(3);
  const std::array<int, 5> levels = resnet_fpn_backbone(b, b.input(), resnet, out_channels);
  static const char* const names[] = {"0", "1", "2", "3", "pool"};
  for (int i = 0; i < 5; ++i) b.output(levels[i], names[i]);

  // GeneralizedRCNNTransform normalises RGB in [0, 1] with ImageNet mean and std; its
  // resize (shorter side 800, longer at most 1333) belongs to the detector: here the
  // image is stretched to the configured size.
  InputSpec input;
  input.height = input.width = 800;
  input.resize = ResizeMode::Stretch;
  input.resize_shorter = 800;
  return {b.finish(), input, 0};
}

}  // namespace osprey
