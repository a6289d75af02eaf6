// Family "fasterrcnn_resnet50_fpn": torchvision.models.detection.fasterrcnn_resnet50_fpn up
// to the RPN head (the image graph); the box head is a second graph
// (fasterrcnn_box_head_graph) and the rest of the detector (anchors, proposals, RoI
// pooling, postprocessing, resizing) is lib/detect's.
//
// Hyperparameters: num_classes (91), bn_eps (0: the FrozenBatchNorm2d eps torchvision sets
// when it loads its COCO weights, overwrite_eps(model, 0.0)).
// Outputs: "0", "1", "2", "3", "pool" (FPN, strides 4 to 64), then "rpn.objectness.<l>" and
// "rpn.deltas.<l>" for l = 0..4. RPNHead's layers are shared by the five levels: each level
// has its own nodes ("rpn.head.conv.0.0/<l>", ...) declaring the same weight keys.
#include "model/families/fasterrcnn.hpp"

#include "core/error.hpp"
#include "model/families/resnet.hpp"

namespace osprey {

namespace {

// RPNHead on one level: Conv2dNormActivation (3x3 conv + ReLU, no norm), then the 1x1
// objectness and box-delta convs.
std::array<int, 2> rpn_head(GraphBuilder& b, int x, int channels, int anchors, int level) {
  const std::string suffix = cat("/", level);
  const int conv = b.conv("rpn.head.conv.0.0", x, {channels, {3, 3}, {1, 1}, {1, 1}, 1, {1, 1}, true});
  const int t = b.relu("rpn.head.conv.0.2" + suffix, conv);
  const int logits = b.conv("rpn.head.cls_logits", t, {anchors, {1, 1}, {1, 1}, {0, 0}, 1, {1, 1}, true});
  const int deltas = b.conv("rpn.head.bbox_pred", t, {anchors * 4, {1, 1}, {1, 1}, {0, 0}, 1, {1, 1}, true});
  return {logits, deltas};
}

}  // namespace

FamilyModel build_fasterrcnn_resnet50_fpn(ObjectReader& arch) {
  FasterRcnnArch fr;
  fr.num_classes = arch.integer("num_classes", fr.num_classes);
  if (fr.num_classes < 2) arch.fail("num_classes", "must be at least 2 (background and one class)");
  ResNetArch resnet = read_resnet_arch(arch, 50);
  const double eps = arch.number("bn_eps", 0.0);
  if (!(eps >= 0)) arch.fail("bn_eps", "must not be negative");
  resnet.bn_eps = static_cast<float>(eps);

  GraphBuilder b(3);
  const std::array<int, 5> levels = resnet_fpn_backbone(b, b.input(), resnet, fr.out_channels);
  static const char* const names[] = {"0", "1", "2", "3", "pool"};
  for (int i = 0; i < kFpnLevels; ++i) b.output(levels[i], names[i]);
  std::vector<std::array<int, 2>> heads;
  for (int i = 0; i < kFpnLevels; ++i) heads.push_back(rpn_head(b, levels[i], fr.out_channels, fr.anchors_per_location, i));
  for (int i = 0; i < kFpnLevels; ++i) b.output(heads[i][0], cat("rpn.objectness.", i));
  for (int i = 0; i < kFpnLevels; ++i) b.output(heads[i][1], cat("rpn.deltas.", i));
  b.ignore_keys("roi_heads.");  // the box head graph's
  Graph graph = b.finish();
  // Node names must be unique; the weight keys stay shared.
  for (int i = 0; i < kFpnLevels; ++i) {
    graph.nodes[heads[i][0]].name += cat("/", i);
    graph.nodes[heads[i][1]].name += cat("/", i);
    graph.nodes[graph.nodes[graph.nodes[heads[i][0]].inputs[0]].inputs[0]].name += cat("/", i);
  }

  // GeneralizedRCNNTransform normalises RGB in [0, 1] with ImageNet mean and std and
  // resizes (shorter side 800, longer at most 1333); detect::transform_images does that.
  InputSpec input;
  input.height = 800;
  input.width = 1333;
  input.resize = ResizeMode::Stretch;
  input.resize_shorter = 800;
  return {std::move(graph), input, fr.num_classes};
}

Graph fasterrcnn_box_head_graph(const FasterRcnnArch& arch) {
  GraphBuilder b(arch.out_channels, "box_features");
  const int in = arch.out_channels * arch.pool_size * arch.pool_size;
  int x = b.flatten("roi_heads.box_head.flatten", b.input());
  x = b.relu("roi_heads.box_head.relu6", b.linear("roi_heads.box_head.fc6", x, in, arch.representation_size));
  x = b.relu("roi_heads.box_head.relu7",
             b.linear("roi_heads.box_head.fc7", x, arch.representation_size, arch.representation_size));
  b.output(b.linear("roi_heads.box_predictor.cls_score", x, arch.representation_size, arch.num_classes), "class_logits");
  b.output(b.linear("roi_heads.box_predictor.bbox_pred", x, arch.representation_size, 4 * arch.num_classes),
           "box_regression");
  b.ignore_keys("backbone.");
  b.ignore_keys("rpn.");
  return b.finish();
}

}  // namespace osprey
