// Family "fasterrcnn_resnet50_fpn": torchvision.models.detection.fasterrcnn_resnet50_fpn up
// to the RPN head (the image graph); family "fasterrcnn_vgg16": Ren et al. 2015's VGG16
// detector as tools/reference_models.fasterrcnn_vgg16 composes it (C5 = VGG16 `features`
// without the last max pool, keys "backbone.features.<i>", one RPN level, 9 anchors). The
// box head is a second graph
// (fasterrcnn_box_head_graph) and the rest of the detector (anchors, proposals, RoI
// pooling, postprocessing, resizing) is lib/detect's.
//
// Hyperparameters: num_classes (91), bn_eps (0: the FrozenBatchNorm2d eps torchvision sets
// when it loads its COCO weights, overwrite_eps(model, 0.0)).
// Outputs: "0", "1", "2", "3", "pool" (FPN, strides 4 to 64), then "rpn.objectness.<l>" and
// "rpn.deltas.<l>" for l = 0..4. RPNHead's layers are shared by the five levels: each level
// has its own nodes ("rpn.head.conv.0.0/<l>", ...) declaring the same weight keys.
#include "model/families/fasterrcnn.hpp"

#include <stdexcept>

#include "core/error.hpp"
#include "model/families/family.hpp"
#include "model/families/resnet.hpp"
#include "model/json_reader.hpp"

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

std::vector<std::vector<float>> read_lists(ObjectReader& arch, const std::string& key, size_t levels) {
  const auto& v = arch.raw(key);
  std::vector<std::vector<float>> out;
  if (!v.is_array() || v.size() != levels) arch.fail(key, cat("expected a list of ", levels, " lists of numbers (one per level)"));
  for (const auto& level : v) {
    if (!level.is_array() || level.empty()) arch.fail(key, "expected non-empty lists of numbers");
    out.emplace_back();
    for (const auto& x : level) {
      if (!x.is_number() || !(x.get<double>() > 0)) arch.fail(key, "expected positive numbers");
      out.back().push_back(x.get<float>());
    }
  }
  return out;
}

// The input spec the transform implies (for inspection; detect::transform_images resizes).
InputSpec detector_input(const FasterRcnnArch& fr) {
  InputSpec input;
  input.height = fr.min_size;
  input.width = fr.max_size;
  input.resize = ResizeMode::Stretch;
  input.resize_shorter = fr.min_size;
  return input;
}

}  // namespace

FasterRcnnArch fasterrcnn_defaults(const std::string& family) {
  FasterRcnnArch fr;
  if (family == "fasterrcnn_resnet50_fpn") return fr;
  if (family != "fasterrcnn_vgg16") throw std::invalid_argument(cat("'", family, "' is not a Faster R-CNN family"));
  fr.num_classes = 21;  // PASCAL VOC with background
  fr.out_channels = 512;
  fr.feature_levels = fr.pooled_levels = 1;
  fr.anchor_sizes = {{128, 256, 512}};
  fr.aspect_ratios = {{0.5f, 1.0f, 2.0f}};
  fr.representation_size = 4096;
  fr.pooler = FasterRcnnArch::Pooler::RoiPool;
  fr.spatial_scale = 1.0f / 16;
  fr.min_size = 600;
  fr.max_size = 1000;
  return fr;
}

FasterRcnnArch read_fasterrcnn_arch(ObjectReader& arch, const std::string& family) {
  FasterRcnnArch fr = fasterrcnn_defaults(family);
  fr.num_classes = arch.integer("num_classes", fr.num_classes);
  if (fr.num_classes < 2) arch.fail("num_classes", "must be at least 2 (background and one class)");
  const size_t levels = static_cast<size_t>(fr.feature_levels);
  if (arch.has("anchor_sizes")) fr.anchor_sizes = read_lists(arch, "anchor_sizes", levels);
  if (arch.has("aspect_ratios")) fr.aspect_ratios = read_lists(arch, "aspect_ratios", levels);
  for (size_t l = 0; l < levels; ++l)
    if (fr.anchor_sizes[l].size() * fr.aspect_ratios[l].size() != static_cast<size_t>(fr.anchors_per_location()))
      arch.fail("anchor_sizes", "every level needs the same number of anchors (sizes x aspect ratios): the RPN head is shared");
  fr.min_size = arch.integer("min_size", fr.min_size);
  fr.max_size = arch.integer("max_size", fr.max_size);
  if (fr.min_size <= 0 || fr.max_size <= 0) arch.fail("min_size", "min_size and max_size must be positive");
  return fr;
}

FasterRcnnArch fasterrcnn_arch_of_config(const std::string& config_path) {
  const nlohmann::json doc = read_json_file(config_path);
  ObjectReader top(doc, config_path);
  ObjectReader arch = top.object("architecture");
  const std::string family = arch.string("family", "");
  try {
    return read_fasterrcnn_arch(arch, family);
  } catch (const std::invalid_argument&) {
    arch.fail("family", cat("'", family, "' is not a Faster R-CNN family (fasterrcnn_resnet50_fpn, fasterrcnn_vgg16)"));
  }
}

FamilyModel build_fasterrcnn_resnet50_fpn(ObjectReader& arch) {
  const FasterRcnnArch fr = read_fasterrcnn_arch(arch, "fasterrcnn_resnet50_fpn");
  ResNetArch resnet = read_resnet_arch(arch, 50);
  const double eps = arch.number("bn_eps", 0.0);
  if (!(eps >= 0)) arch.fail("bn_eps", "must not be negative");
  resnet.bn_eps = static_cast<float>(eps);

  GraphBuilder b(3);
  const std::array<int, 5> levels = resnet_fpn_backbone(b, b.input(), resnet, fr.out_channels);
  static const char* const names[] = {"0", "1", "2", "3", "pool"};
  for (int i = 0; i < kFpnLevels; ++i) b.output(levels[i], names[i]);
  std::vector<std::array<int, 2>> heads;
  for (int i = 0; i < kFpnLevels; ++i) heads.push_back(rpn_head(b, levels[i], fr.out_channels, fr.anchors_per_location(), i));
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
  return {std::move(graph), detector_input(fr), fr.num_classes};
}

FamilyModel build_fasterrcnn_vgg16(ObjectReader& arch) {
  const FasterRcnnArch fr = read_fasterrcnn_arch(arch, "fasterrcnn_vgg16");
  GraphBuilder b(3);
  const int c5 = vgg_features(b, b.input(), 16, false, "backbone.features.", false);
  b.output(c5, "0");
  const auto [logits, deltas] = rpn_head(b, c5, fr.out_channels, fr.anchors_per_location(), 0);
  b.output(logits, "rpn.objectness.0");
  b.output(deltas, "rpn.deltas.0");
  b.ignore_keys("roi_heads.");  // the box head graph's
  return {b.finish(), detector_input(fr), fr.num_classes};
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
