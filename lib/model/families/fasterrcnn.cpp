// Family "fasterrcnn_resnet50_fpn": torchvision.models.detection.fasterrcnn_resnet50_fpn up
// to the RPN head (the image graph); family "fasterrcnn_resnet50_fpn_v2": torchvision's
// fasterrcnn_resnet50_fpn_v2 (Li et al. 2021: BatchNorm2d body (bn_eps default 1e-5), FPN
// blocks with BatchNorm2d, RPNHead with two 3x3 convs, FastRCNNConvFCHead box head); family "fasterrcnn_vgg16": Ren et al. 2015's VGG16
// detector as tools/reference_models.fasterrcnn_vgg16 composes it (C5 = VGG16 `features`
// without the last max pool, keys "backbone.features.<i>", one RPN level, 9 anchors). The
// box head is a second graph
// (fasterrcnn_box_head_graph) and the rest of the detector (anchors, proposals, RoI
// pooling, postprocessing, resizing) is lib/detect's.
// Family "fasterrcnn_mobilenet_v3_large_fpn": torchvision's (MobileNetV3-Large `features`
// as "backbone.body.<i>" with BatchNorm2d (bn_eps default 1e-5: torchvision passes
// norm_layer=BatchNorm2d, or FrozenBatchNorm2d with its COCO weights, both eps 1e-5, not
// MobileNetV3's own 0.001), _mobilenet_extractor returning features 13 and 16 as '0' and '1'
// (both stride 32), FPN of 256 channels with LastLevelMaxPool, 15 anchors per location,
// rpn_score_thresh 0.05). Outputs "0", "1", "pool", then the RPN head's per level.
//
// Hyperparameters: num_classes (91), bn_eps (0: the FrozenBatchNorm2d eps torchvision sets
// when it loads its COCO weights, overwrite_eps(model, 0.0)).
// Outputs: "0", "1", "2", "3", "pool" (FPN, strides 4 to 64), then "rpn.objectness.<l>" and
// "rpn.deltas.<l>" for l = 0..4. RPNHead's layers are shared by the five levels: each level
// has its own nodes ("rpn.head.conv.0.0/<l>", ...) declaring the same weight keys.
#include "model/families/fasterrcnn.hpp"

#include <algorithm>
#include <stdexcept>

#include "core/error.hpp"
#include "model/families/family.hpp"
#include "model/families/mobilenet_v3.hpp"
#include "model/families/resnet.hpp"
#include "model/json_reader.hpp"

namespace osprey {

namespace {

// RPNHead on one level: conv_depth Conv2dNormActivation (3x3 conv + ReLU, no norm), then the
// 1x1 objectness and box-delta convs. The nodes are named by their weight keys (shared by
// the levels); `shared` collects them so that the caller can make the names unique.
std::array<int, 2> rpn_head(GraphBuilder& b, int x, int channels, int anchors, int level, int conv_depth,
                            std::vector<int>& shared) {
  const std::string suffix = cat("/", level);
  int t = x;
  for (int i = 0; i < conv_depth; ++i) {
    shared.push_back(b.conv(cat("rpn.head.conv.", i, ".0"), t, {channels, {3, 3}, {1, 1}, {1, 1}, 1, {1, 1}, true}));
    t = b.relu(cat("rpn.head.conv.", i, ".2", suffix), shared.back());
  }
  const int logits = b.conv("rpn.head.cls_logits", t, {anchors, {1, 1}, {1, 1}, {0, 0}, 1, {1, 1}, true});
  const int deltas = b.conv("rpn.head.bbox_pred", t, {anchors * 4, {1, 1}, {1, 1}, {0, 0}, 1, {1, 1}, true});
  shared.push_back(logits);
  shared.push_back(deltas);
  return {logits, deltas};
}

// Appends "/<level>" to the names of the shared RPN head nodes of each level.
void suffix_shared_nodes(Graph& graph, const std::vector<std::vector<int>>& shared) {
  for (size_t l = 0; l < shared.size(); ++l)
    for (int id : shared[l]) graph.nodes[static_cast<size_t>(id)].name += cat("/", l);
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
  if (family == "maskrcnn_resnet50_fpn" || family == "maskrcnn_resnet50_fpn_v2") {
    fr = fasterrcnn_defaults(family == "maskrcnn_resnet50_fpn" ? "fasterrcnn_resnet50_fpn" : "fasterrcnn_resnet50_fpn_v2");
    fr.has_mask_head = true;
    return fr;
  }
  if (family == "fasterrcnn_resnet50_fpn_v2") {
    fr.rpn_conv_depth = 2;
    fr.fpn_norm = true;
    fr.box_head_convs = 4;
    return fr;
  }
  if (family == "fasterrcnn_mobilenet_v3_large_fpn") {
    fr.feature_levels = 3;
    fr.pooled_levels = 2;
    fr.anchor_sizes = std::vector<std::vector<float>>(3, {32, 64, 128, 256, 512});
    fr.aspect_ratios = std::vector<std::vector<float>>(3, {0.5f, 1.0f, 2.0f});
    fr.rpn_score_thresh = 0.05f;
    return fr;
  }
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
  const double thresh = arch.number("rpn_score_thresh", fr.rpn_score_thresh);
  if (!(thresh >= 0 && thresh <= 1)) arch.fail("rpn_score_thresh", "must be in [0, 1]");
  fr.rpn_score_thresh = static_cast<float>(thresh);
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
    arch.fail("family", cat("'", family, "' is not a Faster R-CNN family (fasterrcnn_resnet50_fpn, fasterrcnn_resnet50_fpn_v2, fasterrcnn_mobilenet_v3_large_fpn, fasterrcnn_vgg16, maskrcnn_resnet50_fpn, maskrcnn_resnet50_fpn_v2)"));
  }
}

namespace {

// fasterrcnn_resnet50_fpn and _v2: `default_eps` is the body's BatchNorm eps unless the
// config sets bn_eps (v1: FrozenBatchNorm2d with eps 0 as torchvision loads its COCO
// weights; v2: BatchNorm2d, 1e-5).
FamilyModel build_resnet50_fpn_detector(ObjectReader& arch, const std::string& family, double default_eps) {
  const FasterRcnnArch fr = read_fasterrcnn_arch(arch, family);
  ResNetArch resnet = read_resnet_arch(arch, 50);
  const double eps = arch.number("bn_eps", default_eps);
  if (!(eps >= 0)) arch.fail("bn_eps", "must not be negative");
  resnet.bn_eps = static_cast<float>(eps);

  GraphBuilder b(3);
  const std::array<int, 5> levels = resnet_fpn_backbone(b, b.input(), resnet, fr.out_channels, "backbone.", fr.fpn_norm);
  static const char* const names[] = {"0", "1", "2", "3", "pool"};
  for (int i = 0; i < kFpnLevels; ++i) b.output(levels[i], names[i]);
  std::vector<std::array<int, 2>> heads;
  std::vector<std::vector<int>> shared(kFpnLevels);
  for (int i = 0; i < kFpnLevels; ++i)
    heads.push_back(rpn_head(b, levels[i], fr.out_channels, fr.anchors_per_location(), i, fr.rpn_conv_depth, shared[i]));
  for (int i = 0; i < kFpnLevels; ++i) b.output(heads[i][0], cat("rpn.objectness.", i));
  for (int i = 0; i < kFpnLevels; ++i) b.output(heads[i][1], cat("rpn.deltas.", i));
  b.ignore_keys("roi_heads.");  // the box head graph's
  Graph graph = b.finish();
  // Node names must be unique; the weight keys stay shared.
  suffix_shared_nodes(graph, shared);

  // GeneralizedRCNNTransform normalises RGB in [0, 1] with ImageNet mean and std and
  // resizes (shorter side 800, longer at most 1333); detect::transform_images does that.
  return {std::move(graph), detector_input(fr), fr.num_classes};
}

}  // namespace

FamilyModel build_fasterrcnn_resnet50_fpn(ObjectReader& arch) {
  return build_resnet50_fpn_detector(arch, "fasterrcnn_resnet50_fpn", 0.0);
}

FamilyModel build_fasterrcnn_resnet50_fpn_v2(ObjectReader& arch) {
  return build_resnet50_fpn_detector(arch, "fasterrcnn_resnet50_fpn_v2", 1e-5);
}

FamilyModel build_fasterrcnn_mobilenet_v3_large_fpn(ObjectReader& arch) {
  const FasterRcnnArch fr = read_fasterrcnn_arch(arch, "fasterrcnn_mobilenet_v3_large_fpn");
  const double eps = arch.number("bn_eps", 1e-5);
  if (!(eps >= 0)) arch.fail("bn_eps", "must not be negative");
  GraphBuilder b(3);
  const MobileNetV3Features body =
      mobilenet_v3_large_features(b, b.input(), {static_cast<float>(eps), false, mobilenet_v3_names("backbone.body.")});
  const std::array<int, 2> c{body.outputs[13], body.outputs[16]};
  const std::vector<int> levels = feature_pyramid(b, {c[0], c[1]}, fr.out_channels, "backbone.fpn.", false);
  static const char* const names[] = {"0", "1", "pool"};
  for (int l = 0; l < 3; ++l) b.output(levels[static_cast<size_t>(l)], names[l]);
  std::vector<std::array<int, 2>> heads;
  std::vector<std::vector<int>> shared(3);
  for (int l = 0; l < 3; ++l)
    heads.push_back(rpn_head(b, levels[static_cast<size_t>(l)], fr.out_channels, fr.anchors_per_location(), l,
                             fr.rpn_conv_depth, shared[static_cast<size_t>(l)]));
  for (int l = 0; l < 3; ++l) b.output(heads[static_cast<size_t>(l)][0], cat("rpn.objectness.", l));
  for (int l = 0; l < 3; ++l) b.output(heads[static_cast<size_t>(l)][1], cat("rpn.deltas.", l));
  b.ignore_keys("roi_heads.");  // the box head graph's
  Graph graph = b.finish();
  suffix_shared_nodes(graph, shared);
  return {std::move(graph), detector_input(fr), fr.num_classes};
}

FamilyModel build_fasterrcnn_vgg16(ObjectReader& arch) {
  const FasterRcnnArch fr = read_fasterrcnn_arch(arch, "fasterrcnn_vgg16");
  GraphBuilder b(3);
  const int c5 = vgg_features(b, b.input(), 16, false, "backbone.features.", false);
  b.output(c5, "0");
  std::vector<int> shared;
  const auto [logits, deltas] = rpn_head(b, c5, fr.out_channels, fr.anchors_per_location(), 0, fr.rpn_conv_depth, shared);
  b.output(logits, "rpn.objectness.0");
  b.output(deltas, "rpn.deltas.0");
  b.ignore_keys("roi_heads.");  // the box head graph's
  return {b.finish(), detector_input(fr), fr.num_classes};
}

Graph fasterrcnn_box_head_graph(const FasterRcnnArch& arch) {
  GraphBuilder b(arch.out_channels, "box_features");
  const int in = arch.out_channels * arch.pool_size * arch.pool_size;
  int x = b.input();
  if (arch.box_head_convs > 0) {
    // FastRCNNConvFCHead: Conv2dNormActivation blocks, Flatten, Linear + ReLU (one Sequential).
    const int n = arch.box_head_convs;
    for (int i = 0; i < n; ++i) {
      const std::string name = cat("roi_heads.box_head.", i);
      x = b.conv(name + ".0", x, {arch.out_channels, {3, 3}, {1, 1}, {1, 1}, 1, {1, 1}, false});
      x = b.relu(name + ".2", b.batch_norm(name + ".1", x, 1e-5f));
    }
    x = b.flatten(cat("roi_heads.box_head.", n), x);
    x = b.relu(cat("roi_heads.box_head.", n + 2), b.linear(cat("roi_heads.box_head.", n + 1), x, in, arch.representation_size));
  } else {
    x = b.flatten("roi_heads.box_head.flatten", x);
    x = b.relu("roi_heads.box_head.relu6", b.linear("roi_heads.box_head.fc6", x, in, arch.representation_size));
    x = b.relu("roi_heads.box_head.relu7",
               b.linear("roi_heads.box_head.fc7", x, arch.representation_size, arch.representation_size));
  }
  b.output(b.linear("roi_heads.box_predictor.cls_score", x, arch.representation_size, arch.num_classes), "class_logits");
  b.output(b.linear("roi_heads.box_predictor.bbox_pred", x, arch.representation_size, 4 * arch.num_classes),
           "box_regression");
  b.ignore_keys("backbone.");
  b.ignore_keys("rpn.");
  if (arch.has_mask_head) b.ignore_keys("roi_heads.mask_");  // the mask head graph's
  return b.finish();
}

}  // namespace osprey
